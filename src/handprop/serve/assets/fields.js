// handprop serve: the Fields tab, drawn from the answers' groups of fields; each change is handed to `edit`.
"use strict";
window.handpropFields = function (form, edit, editing) {
  let shape = null;

  function fieldElement(id) {
    return form.querySelector(`[data-field="${CSS.escape(id)}"]`);
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
      element.addEventListener("click", () => edit(field.id, "", 0, true));
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

  function render(groups) {
    const next = JSON.stringify(groups, (key, value) => (key === "value" ? undefined : value));  // all but values
    const focused = document.activeElement && document.activeElement.dataset && document.activeElement.dataset.field;
    if (next === shape) {  // the same fields: new values, except where the user is typing
      const all = groups.flatMap((g) => (g.fields || []).concat((g.tables || []).flatMap((t) => t.rows.flatMap((r) => r.cells))));
      for (const field of all) {
        const element = field && fieldElement(field.id);
        if (!element || field.id === focused || editing(field.id)) continue;
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

  return { render, element: fieldElement };
};
