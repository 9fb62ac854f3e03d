// handprop serve: step-through. The server sends the walk (serve/walk.py): the forward pass equation by
// equation, then the backward pass node by node, each step with the diagram's node and edge ids to mark and
// the worked solution's element to show. Play / Pause, Next, Previous and the ← / → keys move along it.
"use strict";
window.handpropSteps = function (bar, diagram, worked, figure) {
  const PERIOD = 800;  // ms between two steps while playing
  bar.innerHTML = '<button type="button" data-walk="previous" title="Previous step (←)">◀ Previous</button>'
    + '<button type="button" data-walk="play" title="Play the steps one after another">▶ Play</button>'
    + '<button type="button" data-walk="next" title="Next step (→)">Next ▶</button>'
    + '<span class="walk-caption" aria-live="polite"></span>';
  const button = (name) => bar.querySelector(`[data-walk="${name}"]`);
  const caption = bar.querySelector(".walk-caption");
  let steps = [], at = -1, timer = null;

  function clear() {
    for (const marked of document.querySelectorAll(".walk")) marked.classList.remove("walk");
  }

  function counts(step) {
    const phase = steps.filter((s) => s.phase === step.phase);
    return `${step.phase} ${phase.indexOf(step) + 1} of ${phase.length}`;
  }

  function show() {
    clear();
    button("previous").disabled = at <= 0;
    button("next").disabled = at >= steps.length - 1;
    button("play").disabled = !steps.length;
    button("play").textContent = timer ? "⏸ Pause" : "▶ Play";
    if (at < 0) { caption.textContent = steps.length ? `${steps.length} steps: forward, then backward` : ""; return; }
    const step = steps[at];
    caption.textContent = `${counts(step)}: ${step.text}`;
    const svg = diagram.querySelector("svg");
    if (svg) {
      for (const g of svg.querySelectorAll("g[data-node], g[data-edge]")) {
        if (step.shapes.includes(g.dataset.node) || step.edges.includes(g.dataset.edge)) g.classList.add("walk");
      }
    }
    const target = document.getElementById(step.anchor);
    if (target && worked.contains(target)) {
      target.classList.add("walk");
      target.style.scrollMarginTop = `${figure.getBoundingClientRect().height + 8}px`;  // below the sticky diagram
      target.scrollIntoView({ block: "start" });
    }
  }

  function go(to) {
    if (!steps.length) return;
    at = Math.max(0, Math.min(steps.length - 1, to));
    show();
  }

  function stop() {
    clearInterval(timer);
    timer = null;
  }

  function play() {
    if (timer) { stop(); show(); return; }
    if (at >= steps.length - 1) at = -1;  // at the end, Play starts again
    timer = setInterval(() => {
      go(at + 1);
      if (at >= steps.length - 1) { stop(); show(); }
    }, PERIOD);
    go(at + 1);
  }

  button("previous").addEventListener("click", () => { stop(); go(at - 1); });
  button("next").addEventListener("click", () => { stop(); go(at + 1); });
  button("play").addEventListener("click", play);
  document.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    if (event.ctrlKey || event.metaKey || event.altKey || event.shiftKey) return;
    const focus = document.activeElement;
    if (focus && (focus.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(focus.tagName))) return;
    if (!steps.length) return;
    event.preventDefault();
    stop();
    go(at + (event.key === "ArrowRight" ? 1 : -1));
  });

  show();
  // A new solution (after an edit, a step, undo or a load) starts the walk again.
  return {
    reset(walk) { stop(); steps = walk || []; at = -1; clear(); show(); },
    state() { return { at, length: steps.length, playing: Boolean(timer), step: steps[at] || null }; },
  };
};
