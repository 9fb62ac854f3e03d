// handprop site: the page of `handprop serve` as a static site. This is its transport (app.js's tasks go to
// the browser's own Python, in a Web Worker: python-worker.js) and what a static page does differently: Save
// downloads the problem file, Open reads a local file (a file picker, or a file dropped on the page), Share
// puts the problem into the page's address (compressed, in the fragment: no server sees it), and the
// downloads are made in the browser. A task running longer than the time limit is stopped by ending the
// worker; a new one starts, and the page goes on.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("site").textContent);
  const PREFIX = "#handprop=1.";  // a share link's fragment: its version, then the problem, deflated, in base64url
  const absolute = (path) => new URL(path, document.baseURI).href;
  let worker = null, ready = false, failed = null, queue = [], current = null, number = 0, page = null;
  // The first problem's answer, worked out when the site was built by the same task: shown at once, while
  // Python starts. Only that very request is answered from it; once Python is up, it works that problem out
  // once, unseen, so that its imports are done and its caches filled before the first edit.
  const prepared = fetch(absolute("start.json")).then((r) => r.json()).catch(() => null);
  let started = false, answered = 0, timings = null;
  // For the tests and the benchmark: the worker's start (seconds: Pyodide's, the wheels', the bridge's import)
  // and how long the worker took over the last answer.
  window.handpropSiteState = () => ({ ready, answered, waiting: queue.length, running: Boolean(current), timings });
  const SAME = ["text", "kind", "label", "decimals", "by_hand"];

  function startWorker() {
    ready = false;
    worker = new Worker(absolute("assets/python-worker.js"));
    worker.onmessage = (event) => {
      const message = event.data;
      if (message.ready) {
        ready = true;
        timings = { ...message.timings };
        if (!queue.length) {
          prepared.then((first) => {
            if (first && !queue.length && !current) queue.push({ id: ++number, task: "solve", data: first.request, done: () => {} });
            next();
          });
        }
      } else if (message.failed) {
        failed = `Python could not be started in this browser: ${message.failed}`;
        for (const waiting of queue.splice(0)) waiting.done({ ok: false, error: failed });
      } else if (current && message.id === current.id) {
        clearTimeout(current.timer);
        const answer = JSON.parse(message.answer);
        if (answer.internal) console.error(answer.internal);
        answered += 1;
        timings = { ...timings, task: message.seconds };
        current.done(answer);
        current = null;
      }
      next();
    };
    const onDemand = Object.fromEntries(Object.entries(config.onDemand || {}).map(([name, url]) => [name, absolute(url)]));
    worker.postMessage({ start: { pyodide: absolute(config.pyodide), wheels: config.wheels.map(absolute), onDemand } });
  }

  function next() {  // the next task to the worker, once it is free
    if (current || !ready || !queue.length) return;
    current = queue.shift();
    current.timer = setTimeout(stop, config.timeLimit * 1000);
    worker.postMessage({ id: current.id, task: current.task, data: JSON.stringify(current.data) });
  }

  function stop() {  // the running task took too long: end its worker, start another
    const stopped = current;
    current = null;
    worker.terminate();
    stopped.done({ ok: false, error: `the computation took longer than ${config.timeLimit} s and was stopped ` +
                   "(a smaller problem or fewer steps; the command line has no limit)" });
    startWorker();
  }

  async function call(task, data) {
    if (task === "solve" && !started) {
      started = true;
      const first = await prepared;
      if (first && SAME.every((key) => first.request[key] === data[key]) && !(data.edits || []).length) return first.answer;
    }
    if (failed) return Promise.resolve({ ok: false, error: failed });
    if (task === "solve") {  // a newer solve replaces the older ones still waiting, as in handprop serve
      for (const waiting of queue.filter((w) => w.task === "solve")) waiting.done({ ok: false, superseded: true });
      queue = queue.filter((w) => w.task !== "solve");
    }
    if (!ready && page) page.say("starting Python in this browser (a few seconds, once)…");
    return new Promise((done) => {
      queue.push({ id: ++number, task, data, done });
      next();
    });
  }

  // --- Share: the problem in the address's fragment ---------------------------------------------------------

  function base64url(bytes) {
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function unbase64url(text) {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  }

  async function piped(bytes, transform) {
    return new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(transform)).arrayBuffer());
  }

  async function shareLink(problem) {
    const json = JSON.stringify({ text: problem.text, kind: problem.kind, label: problem.label });
    const packed = await piped(new TextEncoder().encode(json), new CompressionStream("deflate-raw"));
    return location.href.split("#")[0] + PREFIX + base64url(packed);
  }

  async function shared(fragment) {  // the problem of a share link's fragment; throws when it is not whole
    const bytes = await piped(unbase64url(fragment.slice(PREFIX.length)), new DecompressionStream("deflate-raw"));
    const problem = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    if (!problem || typeof problem.text !== "string" || !Object.values(config.extensions).includes(problem.kind)) {
      throw new Error("not a problem");
    }
    return { text: problem.text, kind: problem.kind, label: String(problem.label || "shared").slice(0, 200), canSave: true };
  }

  // A note above the problem, for what the page did in place of what was asked (a broken link).
  function note(message) {
    let slot = document.getElementById("notice");
    if (!slot) {
      slot = document.createElement("p");
      slot.id = "notice";
      slot.setAttribute("role", "alert");
      document.getElementById("editor").prepend(slot);
    }
    slot.textContent = message;
    slot.hidden = !message;
  }

  async function start(source) {
    const fragment = location.hash;
    if (fragment.startsWith(PREFIX)) {
      try {
        return await shared(fragment);
      } catch (error) {
        note("This link's problem cannot be read: the link is cut short or damaged. The default problem is shown.");
        return source;
      }
    }
    if (fragment.startsWith("#handprop") || fragment.includes("=") || fragment.length > 64) {
      note("This link is not a handprop problem link. The default problem is shown.");
    }
    return source;
  }

  // --- Open: a local file, picked or dropped ----------------------------------------------------------------

  function open(file) {
    const dot = file.name.lastIndexOf(".");
    const suffix = dot > 0 ? file.name.slice(dot).toLowerCase() : "";
    const kind = config.extensions[suffix];
    // The command line's own messages for a file it cannot take.
    if (!kind) {
      page.showError(`${file.name}: unknown file type '${suffix || "(none)"}' (one of: ${Object.keys(config.extensions).join(", ")})`);
      return;
    }
    if (file.size > 1000000) {
      page.showError(`${file.name}: file too large (at most 1000000 bytes)`);
      return;
    }
    file.text().then((text) => {
      note("");
      history.replaceState(null, "", location.href.split("#")[0]);
      page.load({ text, kind, label: file.name, canSave: true });
    });
  }

  function attach(hooks) {
    page = hooks;
    const $ = (id) => document.getElementById(id);
    $("download").hidden = true;  // Save downloads the problem file
    $("example").options[0].textContent = "(as opened)";
    // Another problem chosen: the address no longer names the shared one.
    $("example").addEventListener("change", () => history.replaceState(null, "", location.href.split("#")[0]));
    $("save").title = "Download the problem file";
    const buttons = $("save").parentElement;
    const picker = document.createElement("input");
    picker.type = "file";
    picker.id = "open-file";
    picker.accept = Object.keys(config.extensions).join(",");
    picker.hidden = true;
    picker.addEventListener("change", () => { if (picker.files[0]) open(picker.files[0]); picker.value = ""; });
    const openButton = document.createElement("button");
    openButton.type = "button";
    openButton.id = "open";
    openButton.textContent = "Open…";
    openButton.title = "Open a problem file from this computer (or drop one on the page)";
    openButton.addEventListener("click", () => picker.click());
    const shareButton = document.createElement("button");
    shareButton.type = "button";
    shareButton.id = "share";
    shareButton.textContent = "Share link";
    shareButton.title = "Put the problem into this page's address, to send as a link";
    const link = document.createElement("input");
    link.id = "share-link";
    link.readOnly = true;
    link.hidden = true;
    link.setAttribute("aria-label", "Link to this problem");
    shareButton.addEventListener("click", async () => {
      const url = await shareLink(page.current());
      history.replaceState(null, "", url);
      link.value = url;
      link.hidden = false;
      link.select();
      let copied = false;
      try { await navigator.clipboard.writeText(url); copied = true; } catch (e) { /* shown to copy by hand */ }
      page.say(copied ? "link copied: it holds the whole problem" : "the link holds the whole problem: copy it");
    });
    $("save").before(openButton, picker);
    $("save").after(shareButton);
    buttons.after(link);
    document.addEventListener("dragover", (event) => { event.preventDefault(); document.body.classList.add("dropping"); });
    document.addEventListener("dragleave", () => document.body.classList.remove("dropping"));
    document.addEventListener("drop", (event) => {
      event.preventDefault();
      document.body.classList.remove("dropping");
      const file = event.dataTransfer && event.dataTransfer.files[0];
      if (file) open(file);
    });
  }

  window.handpropTransport = {
    call,
    start,
    attach,
    save: async (body, name) => {
      page.download(name, new Blob([body.text], { type: "text/plain" }));  // the page's own download
      return { ok: true, said: `downloaded ${name}` };
    },
    examples: () => fetch("examples/index.json").then((r) => r.json()).catch(() => []),
    example: async (name) => {
      const entry = (await fetch("examples/index.json").then((r) => r.json())).find((e) => e.name === name);
      if (!entry) return { ok: false, error: `${name}: no such example` };
      const text = await fetch(`examples/${entry.file}`).then((r) => r.text());
      return { ok: true, text, kind: config.extensions[entry.file.slice(entry.file.lastIndexOf("."))], label: entry.file };
    },
    download: async (what, body) => {
      const answer = await call("download", { ...body, what });
      return answer.ok === false ? answer : { ok: true, name: answer.filename, blob: new Blob([answer.content], { type: answer.mimetype }) };
    },
  };
  startWorker();
})();
