// handprop site: the page's Python, in a Web Worker so that the page never waits on it. It starts Pyodide,
// unpacks the site's wheels (handprop and the pure-Python packages its first task needs) into its
// site-packages, and answers each of the page's tasks with handprop.site.bridge.answer: serve/tasks.py's
// TASKS, as `handprop serve` runs them. A package only some problems need (PyYAML, for YAML files) is fetched
// and unpacked the first time Python imports it. A task that runs too long is stopped by the page, which ends
// this worker.
"use strict";
let answer = null;

function fetchWheel(url) {
  return fetch(url).then((response) => {
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response.arrayBuffer();
  });
}

async function start(config) {
  const began = performance.now();
  // The wheels download while Pyodide's script loads and its runtime starts: both are under way before
  // importScripts blocks this thread.
  const wheels = config.wheels.map(fetchWheel);
  importScripts(config.pyodide + "pyodide.js");
  const pyodide = await loadPyodide({ indexURL: config.pyodide, fullStdLib: false });
  const booted = performance.now();
  for (const buffer of await Promise.all(wheels)) pyodide.unpackArchive(buffer, "wheel");
  // A wheel Python imports on demand: fetched by a synchronous request, which a worker may make (the task
  // that imports it waits for it anyway).
  const load = (url) => {
    const request = new XMLHttpRequest();
    request.open("GET", url, false);
    request.responseType = "arraybuffer";
    request.send();
    if (request.status !== 200) throw new Error(`${url}: ${request.status}`);
    pyodide.unpackArchive(request.response, "wheel");
  };
  const unpacked = performance.now();
  const bridge = pyodide.pyimport("handprop.site.bridge");
  bridge.on_demand(pyodide.toPy(config.onDemand || {}), load);
  answer = bridge.answer;
  const seconds = (from, to) => Math.round(to - from) / 1000;
  return { pyodide: seconds(began, booted), wheels: seconds(booted, unpacked), bridge: seconds(unpacked, performance.now()) };
}

self.onmessage = async (event) => {
  const message = event.data;
  if (message.start) {
    try {
      const timings = await start(message.start);
      self.postMessage({ ready: true, timings });
    } catch (error) {
      self.postMessage({ failed: String((error && error.message) || error).split("\n")[0] });
    }
    return;
  }
  const began = performance.now();
  const result = answer(message.task, message.data);
  self.postMessage({ id: message.id, answer: result, seconds: Math.round(performance.now() - began) / 1000 });
};
