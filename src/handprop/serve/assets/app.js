// handprop serve: the editor sends the text; handprop works it out and answers with HTML pieces. The page's
// tasks (solve, check, step, download) go through one transport: HTTP to `handprop serve` (below), or, in the
// static site (`handprop site`), site.js's, which runs the same Python tasks in the browser.
"use strict";
(function () {
  const initial = JSON.parse(document.getElementById("initial").textContent);
  const $ = (id) => document.getElementById(id);
  const text = $("text"), decimals = $("decimals"), error = $("error"), status = $("status"), form = $("fields");
  let source = { text: initial.text, kind: initial.kind, label: initial.label, canSave: initial.can_save };
  let timer = null, biasUnits = {};
  // Undo/redo: the problem text's states, each with the optimizer's state after the step that made it (kept
  // by the edits after it), sent back with the next "One more step" so Adam's m and v carry on.
  let history = [], at = -1;
  // The server makes field edits on the text. A solve sends the text with every edit not yet in it,
  // those of earlier solves still unanswered included, so none is lost; only the newest solve's answer
  // is shown. Each solve names this page: the server drops this page's older solves still waiting for
  // their turn (answering {superseded: true}), so that after a slow one the newest edit runs next.
  let pending = [], unanswered = [], sent = 0, answered = 0;
  const actions = new WeakSet();  // the edits that add or remove, each done once however many follow
  const pageId = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0"))
    .join("");

  function request() {
    return { text: text.value, kind: source.kind, label: source.label, decimals: decimals.value,
             by_hand: $("by-hand").checked };
  }

  async function post(url, body) {
    let response;
    try {
      response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                    body: JSON.stringify(body) });
    } catch (e) {
      return { ok: false, error: "the server cannot be reached" };
    }
    try {
      return await response.json();
    } catch (e) {
      return { ok: false, error: `the server answered ${response.status}` };
    }
  }

  // The transport: window.handpropTransport when the page is a static site's, else `handprop serve`'s routes.
  const transport = window.handpropTransport || {
    call: (task, body) => post(`/api/${task}`, body),
    save: (body) => post("/api/save", body),
    examples: () => fetch("/api/examples").then((r) => r.json()).then((answer) => answer.examples || []),
    example: (name) => fetch(`/api/examples/${encodeURIComponent(name)}`).then((r) => r.json()),
    // The server takes JSON only (another site's page cannot send it), so a download is fetched, then saved.
    download: async (what, body) => {
      let response;
      try {
        response = await fetch(`/api/${what}`, { method: "POST", headers: { "Content-Type": "application/json" },
                                                body: JSON.stringify(body) });
      } catch (e) {
        return { ok: false, error: "the server cannot be reached" };
      }
      if (!response.ok) {
        return await response.json().catch(() => ({ ok: false, error: `the server answered ${response.status}` }));
      }
      const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
      return { ok: true, name: named ? named[1] : what, blob: await response.blob() };
    },
  };

  // An error goes just under the field it came from (its row or its table), else under the buttons.
  function showError(message, field) {
    for (const old of form.querySelectorAll(".invalid")) old.classList.remove("invalid");
    for (const old of form.querySelectorAll(".field-error")) old.remove();
    const element = message && field && fields.element(field);
    if (element) {
      element.classList.add("invalid");
      const slot = document.createElement("p");
      slot.className = "field-error";
      slot.setAttribute("role", "alert");
      slot.textContent = message;
      element.closest("table, .row").after(slot);
      slot.scrollIntoView({ block: "nearest" });
    }
    error.textContent = message || "";
    error.hidden = !message || Boolean(element);
    document.body.classList.toggle("stale", Boolean(message));
  }

  function show(answer) {
    $("diagram").innerHTML = answer.diagram;
    biasUnits = answer.bias_units || {};
    $("table").innerHTML = answer.table;
    $("worked").innerHTML = answer.html;
    $("title").textContent = answer.title;
    document.title = `${answer.title} · handprop`;
    fields.render(answer.fields);
    window.handpropBoundary($("boundary"), answer.boundary);
    answers.shown();
    walk.reset(answer.walk);  // a new solution starts the step-through again
  }

  async function solve() {
    clearTimeout(timer);
    const number = ++sent;
    // A newer value of a field replaces the one still unanswered where it stands: the failing "abc"
    // the user has since mended is not sent again.
    const edits = unanswered.slice();
    for (const change of pending) {
      const at = actions.has(change) ? -1 : edits.findIndex((e) => e.field === change.field && !actions.has(e));
      if (at >= 0) edits[at] = change; else edits.push(change);
    }
    unanswered = edits;
    pending = [];
    status.textContent = "working…";
    const answer = await transport.call("solve", { ...request(), edits, page: pageId });
    if (number !== sent || answer.superseded) return;  // a newer solve is on its way: its answer counts
    answered = number;
    unanswered = [];
    if (edits.length && typeof answer.text === "string") text.value = answer.text;
    remember(text.value);
    if (!answer.ok) {
      showError(answer.error, answer.field);
      status.textContent = "error; the last good solution is shown";
      return;
    }
    showError("");
    show(answer);
    status.textContent = "up to date";
  }

  function later(delay = 60) {
    clearTimeout(timer);
    status.textContent = "editing…";
    timer = setTimeout(solve, delay);
  }

  function edit(field, value, delay, action = false) {
    const change = { field, value };
    if (action) actions.add(change);
    else pending = pending.filter((e) => e.field !== field);
    pending.push(change);
    later(delay);
  }

  // The fields the user is typing in keep their text when an answer comes.
  const fields = window.handpropFields(form, edit, (id) => pending.some((e) => e.field === id));
  // "Check my answers" (answers.js) turns the table's unknowns into inputs marked as they are typed.
  const answers = window.handpropAnswers($("table"), $("worked"), request, transport.call);
  // Step-through (steps.js): Play / Next / Previous and ←/→ along the walk the server sends with each solution.
  const walk = window.handpropSteps($("walk"), $("diagram"), $("worked"), $("figure"));
  window.handpropWalk = () => walk.state();  // for the tests: the current step

  async function settle() {  // until every edit made so far has its answer
    while (answered !== sent || pending.length) await new Promise((done) => setTimeout(done, 20));
  }

  function load(from) {
    source = from;
    text.value = from.text;
    pending = [];
    unanswered = [];
    history = [];
    at = -1;
    remember(from.text);
    $("save").hidden = !from.canSave;
    solve();
  }

  // A new state of the text (after an answer, a step or a load); the states after the current one are dropped.
  function remember(value, step) {
    const current = history[at];
    if (current && current.text === value && step === undefined) return;
    history = history.slice(0, at + 1);
    history.push({ text: value, step: step === undefined ? (current ? current.step : null) : step });
    at = history.length - 1;
    showHistory();
  }

  function showHistory() {
    $("undo").disabled = at <= 0;
    $("redo").disabled = at >= history.length - 1;
    const step = history[at] && history[at].step;
    $("history").textContent = `state ${at + 1} of ${history.length}` + (step ? ` · after step ${step.t}` : "");
  }

  function travel(by) {  // undo (-1) or redo (+1)
    if (at + by < 0 || at + by >= history.length) return;
    at += by;
    clearTimeout(timer);
    pending = [];
    unanswered = [];
    text.value = history[at].text;
    showHistory();
    solve();
  }

  function tab(name) {
    for (const [button, panel] of [["tab-fields", "fields"], ["tab-text", "text-panel"]]) {
      $(button).setAttribute("aria-selected", String(panel.startsWith(name)));
      $(panel).hidden = !panel.startsWith(name);
    }
  }

  function download(name, blob) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  function fileName() {
    const base = source.label.split(/[\\/]/).pop() || "problem";
    return base.includes(".") ? base : `${base}.${source.kind}`;
  }

  // Clicking a parameter (its edge or label in the diagram, or its row in the table) jumps to its
  // derivation and marks its chain-rule path: its edge and every edge from there on to the loss.
  function slug(name) {
    return name.replace(/[^A-Za-z0-9]+/g, " ").trim().split(" ").join("-");
  }

  function highlight(parameter) {
    const svg = $("diagram").querySelector("svg");
    for (const marked of document.querySelectorAll(".path")) marked.classList.remove("path");
    if (svg) {
      const edges = Array.from(svg.querySelectorAll("g[data-edge]"));
      // The parameter's own edges (a weight's, or a computation graph's leaf), else the unit it sits on.
      const starts = edges.filter((g) => g.dataset.edge === `edge-${parameter}` || g.dataset.source === parameter);
      const frontier = starts.length ? starts.map((g) => g.dataset.target) : (biasUnits[parameter] ? [biasUnits[parameter]] : []);
      const seen = new Set(frontier);
      for (const g of starts) g.classList.add("path");
      while (frontier.length) {
        const node = frontier.pop();
        for (const g of edges) {
          if (g.dataset.source === node) {
            g.classList.add("path");
            if (!seen.has(g.dataset.target)) { seen.add(g.dataset.target); frontier.push(g.dataset.target); }
          }
        }
      }
      const label = svg.querySelector(`g[data-label="edge-${parameter}"]`);
      if (label) label.classList.add("path");
    }
    const field = fields.element(`parameter.${parameter}`);
    if (field) field.classList.add("path");
    const section = document.getElementById(`param-${slug(parameter)}`);
    if (section) {
      section.classList.add("path");
      section.style.scrollMarginTop = `${$("figure").getBoundingClientRect().height + 8}px`;  // below the sticky diagram
      section.scrollIntoView({ block: "start" });
    }
  }

  $("diagram").addEventListener("click", (event) => {
    const group = event.target.closest("g[data-edge], g[data-label]");
    if (group) highlight((group.dataset.edge || group.dataset.label).replace(/^edge-/, ""));
  });
  $("table").addEventListener("click", (event) => {
    const row = event.target.closest("tr");
    const name = row && row.querySelector("code") && row.querySelector("code").textContent;
    if (name) highlight(name);
  });
  $("by-hand").addEventListener("change", solve);
  text.addEventListener("input", () => later());
  decimals.addEventListener("change", solve);
  $("tab-fields").addEventListener("click", () => tab("fields"));
  $("tab-text").addEventListener("click", () => tab("text"));
  $("reset").addEventListener("click", () => load(source));
  $("step").addEventListener("click", async () => {
    await settle();
    const answer = await transport.call("step", { ...request(), state: history[at].step });
    if (!answer.ok) { showError(answer.error); status.textContent = "error"; return; }
    text.value = answer.text;
    remember(answer.text, answer.state);
    solve();
  });
  $("undo").addEventListener("click", () => travel(-1));
  $("redo").addEventListener("click", () => travel(1));
  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || event.key.toLowerCase() !== "z") return;
    event.preventDefault();  // the page's undo, over the text's states, in the fields and the text alike
    travel(event.shiftKey ? 1 : -1);
  });
  window.handpropHistory = () => ({ states: history, at });  // for the tests: each state's text and step state
  $("save").addEventListener("click", async () => {
    const answer = await transport.save({ text: text.value }, fileName());
    status.textContent = answer.ok ? answer.said || `saved to ${answer.saved}` : "";
    if (!answer.ok) showError(answer.error);
  });
  $("download").addEventListener("click", () => download(fileName(), new Blob([text.value], { type: "text/plain" })));
  for (const button of document.querySelectorAll("button[data-download]")) {
    button.addEventListener("click", async () => {
      const answer = await transport.download(button.dataset.download, request());
      if (answer.ok) download(answer.name, answer.blob);
      else showError(answer.error);
    });
  }
  $("example").addEventListener("change", async (event) => {
    const name = event.target.value;
    if (!name) { load({ ...initial, canSave: initial.can_save }); return; }
    const answer = await transport.example(name);
    if (answer.ok) load({ text: answer.text, kind: answer.kind, label: answer.label, canSave: false });
    else showError(answer.error);
  });

  transport.examples().then((examples) => {
    for (const example of examples) {
      const option = document.createElement("option");
      option.value = example.name;
      option.textContent = `${example.name} — ${example.title}`;
      $("example").appendChild(option);
    }
  });
  // The static site opens on a shared link's problem, and opens files and saves them in the browser.
  if (transport.attach) {
    transport.attach({ load, showError, download, current: () => ({ text: text.value, kind: source.kind, label: source.label }),
                       say: (message) => { status.textContent = message; } });
  }
  Promise.resolve(transport.start ? transport.start(source) : source).then(load);
})();
