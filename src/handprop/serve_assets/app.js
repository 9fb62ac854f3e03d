// handprop serve: the editor posts the text; the server works it out and answers with HTML pieces.
"use strict";
(function () {
  const initial = JSON.parse(document.getElementById("initial").textContent);
  const $ = (id) => document.getElementById(id);
  const text = $("text"), lr = $("lr"), decimals = $("decimals"), error = $("error"), status = $("status");
  let source = { text: initial.text, kind: initial.kind, label: initial.label, canSave: initial.can_save };
  let asked = 0, timer = null, biasUnits = {};

  function request() {
    return { text: text.value, kind: source.kind, label: source.label, lr: lr.value.trim(), decimals: decimals.value,
             by_hand: $("by-hand").checked };
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
    biasUnits = answer.bias_units || {};
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
    timer = setTimeout(solve, 60);
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
    const section = document.getElementById(`param-${slug(parameter)}`);
    if (section) {
      section.classList.add("path");
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
  for (const button of document.querySelectorAll("button[data-download]")) {
    button.addEventListener("click", () => {
      const form = $("explain-form"), values = request();
      form.action = `/api/${button.dataset.download}`;
      for (const name of Object.keys(values)) if (form.elements[name]) form.elements[name].value = values[name];
      form.submit();
    });
  }
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
