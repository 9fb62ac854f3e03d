// handprop serve: "Check my answers". The Result table's unknowns (the outputs, the loss, each parameter's
// gradient and updated value) become inputs, the answers and the worked solution stay hidden until asked,
// and each typed answer is marked as `handprop grade` marks it (the check task), a moment after typing.
"use strict";
window.handpropAnswers = function (table, worked, request, call) {
  const MARKS = { correct: "\u2713", wrong: "\u2717", carried_forward: "\u21b3", not_a_number: "\u2717" };
  const typed = new Map();  // answer name -> text typed, kept across new tables
  let checking = false, revealed = false, timer = null, sent = 0;

  const bar = document.createElement("div");
  bar.className = "answers-bar row";
  bar.innerHTML = '<label><input id="check-answers" type="checkbox"> Check my answers</label>' +
    '<button id="reveal-answers" type="button" hidden>Show the answers</button>';
  table.before(bar);
  const box = bar.querySelector("#check-answers"), reveal = bar.querySelector("#reveal-answers");

  // The name `grade` knows a cell by: out1, loss, loss', dL/dw1, w1'.
  function nameOf(row, column) {
    if (column === "initial") return row;
    return column === "gradient" ? `dL/d${row}` : `${row}'`;
  }

  function cells() {  // [cell, name, shown text] for each unknown of the table
    const found = [];
    const head = Array.from(table.querySelectorAll("thead th"), (th) => th.textContent.trim().toLowerCase());
    for (const tr of table.querySelectorAll("tbody tr")) {
      const code = tr.cells[0] && tr.cells[0].querySelector("code");
      if (!code) continue;
      const row = code.textContent;
      // A parameter's row has a gradient: its initial value is given. Other rows (outputs, loss) are all asked.
      const parameter = tr.cells[2] && (tr.cells[2].dataset.shown || tr.cells[2].textContent).trim() !== "";
      for (let i = 1; i < tr.cells.length; i++) {
        const cell = tr.cells[i];
        const shown = cell.dataset.shown !== undefined ? cell.dataset.shown : cell.textContent;
        if (!shown.trim() || (parameter && head[i] === "initial")) continue;
        found.push([cell, nameOf(row, head[i]), shown]);
      }
    }
    return found;
  }

  function layout() {  // the table as the server drew it, with inputs in place of the unknowns when checking
    document.body.classList.toggle("checking", checking);
    document.body.classList.toggle("answers-revealed", checking && revealed);
    reveal.hidden = !checking;
    reveal.textContent = revealed ? "Hide the answers" : "Show the answers";
    for (const [cell, name, shown] of cells()) {
      cell.dataset.shown = shown;
      if (!checking) { cell.textContent = shown; continue; }
      cell.textContent = "";
      const input = document.createElement("input");
      input.className = "answer";
      input.dataset.answer = name;
      input.setAttribute("aria-label", name);
      input.size = 8;
      input.value = typed.get(name) || "";
      const mark = document.createElement("span");
      mark.className = "mark";
      mark.setAttribute("aria-live", "polite");
      const expected = document.createElement("span");
      expected.className = "expected";
      expected.textContent = shown;
      expected.hidden = !revealed;
      cell.append(input, mark, expected);
    }
    worked.hidden = checking && !revealed;
    const diagram = document.getElementById("diagram");  // its values are answers too
    if (diagram) diagram.hidden = checking && !revealed;
    if (worked.previousElementSibling && worked.previousElementSibling.tagName === "H2") {
      worked.previousElementSibling.hidden = worked.hidden;
    }
    if (checking) check();
  }

  async function check() {
    clearTimeout(timer);
    const number = ++sent;
    const answers = {};
    for (const [name, value] of typed) if (value.trim()) answers[name] = value;
    const inputs = Array.from(table.querySelectorAll("input.answer"));
    if (!Object.keys(answers).length) { for (const input of inputs) mark(input, null); return; }
    const answer = await call("check", { ...request(), answers, reveal: revealed });
    if (number !== sent || !checking) return;  // a newer check is on its way
    for (const input of inputs) mark(input, answer.ok ? answer.answers[input.dataset.answer] : null, answer.error);
  }

  function mark(input, result, error) {
    const span = input.nextElementSibling;
    const text = error ? error : !result ? "" : result.status === "carried_forward"
      ? `carried forward from ${result.follows_from.join(", ")}` : result.mistake || "";
    span.className = `mark ${result ? result.status : ""}`;
    span.textContent = error ? "" : result ? `${MARKS[result.status]}${text ? " " + text : ""}` : "";
    span.title = text;
    input.classList.toggle("wrong-answer", Boolean(result) && result.status !== "correct");
  }

  table.addEventListener("input", (event) => {
    const input = event.target.closest("input.answer");
    if (!input) return;
    typed.set(input.dataset.answer, input.value);
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  });
  table.addEventListener("click", (event) => {  // typing in a cell is not a click on its row's parameter
    if (event.target.closest("input.answer")) event.stopPropagation();
  }, true);
  box.addEventListener("change", () => { checking = box.checked; revealed = false; layout(); });
  reveal.addEventListener("click", () => { revealed = !revealed; layout(); });

  return { shown: layout };  // app.js calls it after each new table
};
