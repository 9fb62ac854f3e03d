// handprop serve: the editor posts the text; the server works it out and answers with HTML pieces.
"use strict";
(function () {
  const initial = JSON.parse(document.getElementById("initial").textContent);
  const $ = (id) => document.getElementById(id);
  const text = $("text"), lr = $("lr"), decimals = $("decimals"), error = $("error"), status = $("status");
  let source = { text: initial.text, kind: initial.kind, label: initial.label, canSave: initial.can_save };
  let asked = 0, timer = null;

  function request() {
    return { text: text.value, kind: source.kind, label: source.label, lr: lr.value.trim(), decimals: decimals.value };
  }

  async function post(url, body) {
    const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                        body: JSON.stringify(body) });
    try {
      return await response.json();
    } catch (e) {
      return { ok: false, error: `the server answered ${response.status}` };
    }
  }

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
    document.body.classList.toggle("stale", Boolean(message));
  }

  async function solve() {
    const mine = ++asked;
    status.textContent = "working…";
    let answer;
    try {
      answer = await post("/api/solve", request());
    } catch (e) {
      answer = { ok: false, error: "the server cannot be reached" };
    }
    if (mine !== asked) return;  // a later edit has been sent meanwhile
    if (!answer.ok) {
      showError(answer.error);
      status.textContent = "error; the last good solution is shown";
      return;
    }
    showError("");
    $("diagram").innerHTML = answer.diagram;
    $("table").innerHTML = answer.table;
    $("worked").innerHTML = answer.html;
    $("title").textContent = answer.title;
    document.title = `${answer.title} · handprop`;
    lr.placeholder = String(answer.lr);
    status.textContent = "up to date";
  }

  function later() {
    clearTimeout(timer);
    status.textContent = "editing…";
    timer = setTimeout(solve, 300);
  }

  function load(from) {
    source = from;
    text.value = from.text;
    lr.value = "";
    $("save").hidden = !from.canSave;
    solve();
  }

  function download(name, content, type) {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([content], { type }));
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

  text.addEventListener("input", later);
  lr.addEventListener("input", later);
  decimals.addEventListener("change", solve);
  $("reset").addEventListener("click", () => load(source));
  $("step").addEventListener("click", async () => {
    const answer = await post("/api/step", request());
    if (!answer.ok) { showError(answer.error); return; }
    text.value = answer.text;
    solve();
  });
  $("save").addEventListener("click", async () => {
    const answer = await post("/api/save", { text: text.value });
    status.textContent = answer.ok ? `saved to ${answer.saved}` : "";
    if (!answer.ok) showError(answer.error);
  });
  $("download").addEventListener("click", () => download(fileName(), text.value, "text/plain"));
  $("download-html").addEventListener("click", () => {
    const form = $("explain-form"), values = request();
    for (const name of Object.keys(values)) form.elements[name].value = values[name];
    form.submit();
  });
  $("example").addEventListener("change", async (event) => {
    const name = event.target.value;
    if (!name) { load({ ...initial, canSave: initial.can_save }); return; }
    const answer = await fetch(`/api/examples/${encodeURIComponent(name)}`).then((r) => r.json());
    if (answer.ok) load({ text: answer.text, kind: answer.kind, label: answer.label, canSave: false });
    else showError(answer.error);
  });

  fetch("/api/examples").then((r) => r.json()).then((answer) => {
    for (const example of answer.examples || []) {
      const option = document.createElement("option");
      option.value = example.name;
      option.textContent = `${example.name} — ${example.title}`;
      $("example").appendChild(option);
    }
  });
  load(source);
})();
