// handprop serve: the decision boundary of a 2-input classification problem, drawn as SVG from the solve
// answer's coarse grid of predicted classes (tasks.boundary_part), with the data's points on it.
"use strict";
window.handpropBoundary = function (slot, grid) {
  const SVG = "http://www.w3.org/2000/svg";
  const AREAS = ["#cfe3f6", "#fbdcc4", "#d5efd0", "#eadcf3"];  // each class's plane, light
  const POINTS = ["#1f5f9e", "#b34d0b", "#2e7d32", "#6a3d9a"];  // its points, dark
  slot.textContent = "";
  slot.hidden = !grid;
  if (!grid) return;
  const size = 320, pad = 34;
  const { x, y } = grid;
  const dx = (x[x.length - 1] - x[0]) / (x.length - 1), dy = (y[y.length - 1] - y[0]) / (y.length - 1);
  const left = x[0] - dx / 2, right = x[x.length - 1] + dx / 2, low = y[0] - dy / 2, high = y[y.length - 1] + dy / 2;
  const px = (v) => pad + (v - left) / (right - left) * size;
  const py = (v) => pad + (high - v) / (high - low) * size;  // the second input grows upwards
  const make = (name, attributes, parent) => {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    parent.appendChild(element);
    return element;
  };
  const svg = make("svg", { viewBox: `0 0 ${size + 2 * pad + 130} ${size + 2 * pad}`, role: "img",
                            class: "boundary" }, slot);
  make("title", {}, svg).textContent = `Decision boundary after ${grid.steps} step${grid.steps === 1 ? "" : "s"}`;
  const cells = make("g", { "data-boundary": "cells" }, svg);
  const w = size / x.length, h = size / y.length;
  grid.predicted.forEach((row, i) => row.forEach((predicted, j) => {
    make("rect", { x: (px(x[j]) - w / 2).toFixed(2), y: (py(y[i]) - h / 2).toFixed(2), width: (w + 0.3).toFixed(2),
                   height: (h + 0.3).toFixed(2), fill: AREAS[predicted % AREAS.length],
                   "fill-opacity": (0.45 + 0.55 * grid.confidence[i][j]).toFixed(2), "data-class": predicted }, cells);
  }));
  make("rect", { x: pad, y: pad, width: size, height: size, fill: "none", stroke: "#888" }, svg);
  const points = make("g", { "data-boundary": "points" }, svg);
  grid.points.forEach(([a, b], k) => {
    const label = grid.labels[k];
    make("circle", { cx: px(a).toFixed(2), cy: py(b).toFixed(2), r: 4, fill: POINTS[label % POINTS.length],
                     stroke: "#fff", "stroke-width": 1, "data-class": label }, points);
  });
  const text = (content, attributes) => { make("text", attributes, svg).textContent = content; };
  text(grid.inputs[0], { x: pad + size / 2, y: size + 2 * pad - 8, "text-anchor": "middle" });
  text(grid.inputs[1], { x: 12, y: pad + size / 2, "text-anchor": "middle",
                         transform: `rotate(-90 12 ${pad + size / 2})` });
  text(left.toFixed(1), { x: pad, y: size + pad + 14, "text-anchor": "middle", class: "tick" });
  text(right.toFixed(1), { x: pad + size, y: size + pad + 14, "text-anchor": "middle", class: "tick" });
  text(low.toFixed(1), { x: pad - 4, y: pad + size, "text-anchor": "end", class: "tick" });
  text(high.toFixed(1), { x: pad - 4, y: pad + 8, "text-anchor": "end", class: "tick" });
  grid.classes.forEach((name, c) => {
    const top = pad + 10 + c * 22;
    make("rect", { x: size + pad + 14, y: top - 9, width: 12, height: 12, fill: AREAS[c % AREAS.length],
                   stroke: POINTS[c % POINTS.length] }, svg);
    text(name, { x: size + pad + 32, y: top + 1 });
  });
  text(`after ${grid.steps} step${grid.steps === 1 ? "" : "s"}`, { x: size + pad + 14, y: pad + 10 + grid.classes.length * 22 + 8,
                                                                     class: "tick" });
};
