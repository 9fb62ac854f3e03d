// handprop serve: the editor posts the text; the server works it out and answers with HTML pieces.
"use strict";
(function () {
  const initial = JSON.parse(document.getElementById("initial").textContent);
  const $ = (id) => document.getElementById(id);
  const text = $("text"), decimals = $("decimals"), error = $("error"), status = $("status"), form = $("fields");
  let source = { text: initial.text, kind: initial.kind, label: initial.label, canSave: initial.can_save };
  let timer = null, biasUnits = {}, shape = null;
  // Edits are sent one request at a time, each on the text the last answer gave, so none is lost.
  let pending = [], busy = false, again = false;

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

  function fieldElement(id) {
    return form.querySelector(`[data-field="${CSS.escape(id)}"]`);
  }

  // An error goes just under the field it came from (its row or its table), else under the buttons.
  function showError(message, field) {
    for (const old of form.querySelectorAll(".invalid")) old.classList.remove("invalid");
    for (const old of form.querySelectorAll(".field-error")) old.remove();
    const element = message && field && fieldElement(field);
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
    renderFields(answer.fields);
  }

  async function solve() {
    clearTimeout(timer);
    if (busy) { again = true; return; }
    busy = true;
    status.textContent = "working…";
    const edits = pending;
    pending = [];
    const answer = await post("/api/solve", { ...request(), edits });
    busy = false;
    if (edits.length && typeof answer.text === "string") text.value = answer.text;
    if (again || pending.length) { again = false; solve(); return; }  // newer edits: show their answer
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

  function edit(field, value, delay) {
    pending = pending.filter((e) => e.field !== field);
    pending.push({ field, value });
    later(delay);
  }

  // The Fields tab: drawn from the answer's groups; drawn anew only when its shape changes, so that
  // the field being typed in keeps its place, caret and text.
  function control(field) {
    let element;
    if (field.type === "choice") {
      element = document.createElement("select");
      for (const option of field.options) element.add(new Option(option, option));
      element.value = field.value;
      element.addEventListener("change", () => edit(field.id, element.value, 0));
    } else if (field.type === "switch") {
      element = document.createElement("input");
      element.type = "checkbox";
      element.checked = field.value === "true";
      element.addEventListener("change", () => edit(field.id, String(element.checked), 0));
    } else if (field.type === "action") {
      element = document.createElement("button");
      element.type = "button";
      element.textContent = field.label;
      element.addEventListener("click", () => edit(field.id, "", 0));
    } else {
      element = document.createElement("input");
      element.type = "text";
      element.inputMode = field.type === "integer" ? "numeric" : "decimal";
      element.value = field.value;
      element.size = field.type === "integer" ? 4 : 7;
      element.addEventListener("input", () => edit(field.id, element.value));
    }
    element.dataset.field = field.id;
    if (field.title) element.title = field.title;
    element.setAttribute("aria-label", field.label);
    return element;
  }

  function labelled(field) {
    if (field.type === "action") return control(field);
    const label = document.createElement("label");
    label.className = "field";
    const name = document.createElement("span");
    name.textContent = field.label;
    label.append(name, control(field));
    return label;
  }

  function grid(table) {
    const element = document.createElement("table");
    element.createCaption().textContent = table.caption;
    const head = element.createTHead().insertRow();
    head.appendChild(document.createElement("th"));
    for (const column of table.columns) {
      const th = document.createElement("th");
      th.textContent = column;
      head.appendChild(th);
    }
    const body = element.createTBody();
    for (const row of table.rows) {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = row.label;
      tr.appendChild(th);
      // A cell is named by its column (a data name, a setting), or else by its own label (w1 in column x1).
      row.cells.forEach((cell, i) => {
        const td = tr.insertCell();
        if (cell) td.appendChild(cell.label === table.columns[i] ? control(cell) : labelled(cell));
      });
    }
    return element;
  }

  function renderFields(groups) {
    const next = JSON.stringify(groups, (key, value) => (key === "value" ? undefined : value));  // all but values
    const focused = document.activeElement && document.activeElement.dataset && document.activeElement.dataset.field;
    if (next === shape) {  // the same fields: new values, except where the user is typing
      const all = groups.flatMap((g) => (g.fields || []).concat((g.tables || []).flatMap((t) => t.rows.flatMap((r) => r.cells))));
      for (const field of all) {
        const element = field && fieldElement(field.id);
        if (!element || field.id === focused || pending.some((e) => e.field === field.id)) continue;
        if (field.type === "switch") element.checked = field.value === "true";
        else if (field.type !== "action") element.value = field.value;
      }
      return;
    }
    shape = next;
    form.replaceChildren(...groups.map((group) => {
      const set = document.createElement("fieldset");
      const legend = document.createElement("legend");
      legend.textContent = group.title;
      set.appendChild(legend);
      if (group.note) {
        const note = document.createElement("p");
        note.className = "note";
        note.textContent = group.note;
        set.appendChild(note);
      }
      if (group.fields) {
        const row = document.createElement("div");
        row.className = "row";
        row.append(...group.fields.map(labelled));
        set.appendChild(row);
      }
      for (const table of group.tables || []) set.appendChild(grid(table));
      return set;
    }));
    const again = focused && fieldElement(focused);
    if (again) again.focus();
  }

  async function settle() {  // until every edit made so far has its answer
    while (busy || pending.length) await new Promise((done) => setTimeout(done, 20));
  }

  function load(from) {
    source = from;
    text.value = from.text;
    pending = [];
    $("save").hidden = !from.canSave;
    solve();
  }

  function tab(name) {
    for (const [button, panel] of [["tab-fields", "fields"], ["tab-text", "text-panel"]]) {
      $(button).setAttribute("aria-selected", String(panel.startsWith(name)));
      $(panel).hidden = !panel.startsWith(name);
    }
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
    const field = fieldElement(`parameter.${parameter}`);
    if (field) field.classList.add("path");
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
  text.addEventListener("input", () => later());
  decimals.addEventListener("change", solve);
  $("tab-fields").addEventListener("click", () => tab("fields"));
  $("tab-text").addEventListener("click", () => tab("text"));
  $("reset").addEventListener("click", () => load(source));
  $("step").addEventListener("click", async () => {
    await settle();
    const answer = await post("/api/step", request());
    if (!answer.ok) { showError(answer.error); status.textContent = "error"; return; }
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
