// handprop site: the page's Python, in a Web Worker so that the page never waits on it. It starts Pyodide,
// unpacks the site's wheels (handprop and the pure-Python packages it needs) into its site-packages, and
// answers each of the page's tasks with handprop.site.bridge.answer: serve/tasks.py's TASKS, as
// `handprop serve` runs them. A task that runs too long is stopped by the page, which ends this worker.
"use strict";
let answer = null;

async function start(config) {
  // The wheels download while Pyodide starts.
  const wheels = config.wheels.map((url) => fetch(url).then((response) => {
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    return response.arrayBuffer();
  }));
  importScripts(config.pyodide + "pyodide.js");
  const pyodide = await loadPyodide({ indexURL: config.pyodide, fullStdLib: false });
  for (const buffer of await Promise.all(wheels)) pyodide.unpackArchive(buffer, "wheel");
  answer = pyodide.pyimport("handprop.site.bridge").answer;
}

self.onmessage = async (event) => {
  const message = event.data;
  if (message.start) {
    try {
      await start(message.start);
      self.postMessage({ ready: true });
    } catch (error) {
      self.postMessage({ failed: String((error && error.message) || error).split("\n")[0] });
    }
    return;
  }
  self.postMessage({ id: message.id, answer: answer(message.task, message.data) });
};
