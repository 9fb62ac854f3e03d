"""How quickly the static site (`handprop site`) shows the homework, and works a change out in the browser.

Builds the site with a bundled Pyodide (--pyodide DIR, or $HANDPROP_PYODIDE: an unpacked npm package pyodide of
the pinned version), serves it with `python -m http.server` on 127.0.0.1, and drives the system's Chromium with
Playwright, each load in a fresh browser context (nothing cached):

- first table: from the start of navigation until the homework's Result table is on the page (target: 3 s);
- Python ready: until the browser's Python (Pyodide, in the page's worker) has started and worked the homework
  out once itself (its imports done), so that it can answer an edit; with where the worker's start went
  (Pyodide's own start, unpacking the wheels, importing the bridge, that first solve);
- first recompute: the first change of w1 after Python is ready, in each load (through the worker, as below);
- recompute: a change of w1 worked out by the browser's Python, timed in the page from the request to its
  answer through the worker (as bench_serve.py times serve's round trip; target: 150 ms), and the whole edit:
  from typing into w1's field until the new table is drawn (the page's 60 ms pause for typing included).

    python benchmarks/bench_site.py [--pyodide DIR] [--loads 5] [--changes 40] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from handprop.problem.files import example_path

CHROMIUM = "/usr/bin/chromium"
FIRST_TABLE_TARGET = 3.0  # seconds: from a local server, navigation to the homework's table
RECOMPUTE_TARGET = 0.150  # seconds: a change of the homework, worked out in the browser


RECOMPUTE = """async ([text, values]) => {
    const times = [];
    for (const value of values) {
        const started = performance.now();
        const answer = await window.handpropTransport.call("solve", { text, kind: "toml", label: "homework",
            decimals: "", by_hand: false, edits: [{ field: "parameter.w1", value }] });
        if (!answer.ok) throw new Error(answer.error);
        times.push((performance.now() - started) / 1000);
    }
    return times; }"""  # each change of w1 through the page's transport to the worker and back, timed in the page


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"median": statistics.median(times), "p90": ordered[int(0.9 * (len(ordered) - 1))], "max": ordered[-1]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyodide", default=os.environ.get("HANDPROP_PYODIDE"),
                        help="an unpacked npm package pyodide (default: $HANDPROP_PYODIDE)")
    parser.add_argument("--loads", type=int, default=5, help="page loads (default: 5)")
    parser.add_argument("--changes", type=int, default=40, help="changes of w1 (default: 40)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if not args.pyodide:
        raise SystemExit("bench_site.py needs Pyodide: --pyodide DIR or HANDPROP_PYODIDE (npm pack pyodide@VERSION)")
    from playwright.sync_api import sync_playwright

    text = example_path("homework").read_text(encoding="utf-8")
    folder = Path(tempfile.mkdtemp(prefix="handprop-site-")) / "public"
    subprocess.run([sys.executable, "-m", "handprop", "site", "-o", str(folder), "--pyodide", args.pyodide],
                   check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    time.sleep(0.5)
    firsts, readies, first_recomputes, round_trips, edits = [], [], [], [], []
    stages = {"pyodide": [], "wheels": [], "bridge": [], "first_solve": []}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            version = browser.version
            for _ in range(args.loads):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.goto(url, wait_until="commit")
                page.wait_for_selector("#table table", timeout=60_000)
                firsts.append(page.evaluate("performance.now()") / 1000)  # since the navigation started
                page.wait_for_function("window.handpropSiteState().answered > 0", timeout=120_000, polling=10)
                readies.append(page.evaluate("performance.now()") / 1000)
                timings = page.evaluate("window.handpropSiteState().timings")
                for key in ("pyodide", "wheels", "bridge"):
                    stages[key].append(timings[key])
                stages["first_solve"].append(timings["task"])
                first_recomputes.append(page.evaluate(RECOMPUTE, [text, ["0.123"]])[0])
                context.close()
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(url)
            page.wait_for_function("window.handpropSiteState().answered > 0", timeout=120_000)
            values = [f"{0.1 + k / 1000:.3f}" for k in range(1, args.changes + 1)]
            round_trips = page.evaluate(RECOMPUTE, [text, values])
            for value in [f"{0.2 + k / 1000:.3f}" for k in range(1, 10)]:  # none ending in 0, as the text writes it
                page.fill('[data-field="parameter.w1"]', value)
                started = page.evaluate("performance.now()")
                page.wait_for_function("(v) => document.getElementById('text').value.includes('w = [' + v) && "
                                       "document.getElementById('status').textContent === 'up to date'",
                                       arg=value, polling=5)
                edits.append((page.evaluate("performance.now()") - started) / 1000)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)

    results = {"machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
               "chromium": version, "first_table_s": summary(firsts), "python_ready_s": summary(readies),
               "first_recompute_s": summary(first_recomputes),
               "python_start_s": {key: summary(values) for key, values in stages.items()},
               "recompute_s": summary(round_trips), "edit_to_table_s": summary(edits),
               "targets_s": {"first_table": FIRST_TABLE_TARGET, "recompute": RECOMPUTE_TARGET}}
    passed = (results["first_table_s"]["median"] <= FIRST_TABLE_TARGET
              and results["recompute_s"]["median"] <= RECOMPUTE_TARGET)
    results["verdict"] = "PASS" if passed else "FAIL"
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"machine: {results['machine']}; Chromium {version}; {args.loads} loads, {args.changes} changes")
        rows = [("first table", results["first_table_s"], "s"), ("Python ready", results["python_ready_s"], "s")]
        rows += [(f"  {name}", results["python_start_s"][key], "s") for key, name in (
            ("pyodide", "Pyodide"), ("wheels", "wheels"), ("bridge", "bridge"), ("first_solve", "first solve"))]
        rows += [("1st recompute", results["first_recompute_s"], "ms"), ("recompute", results["recompute_s"], "ms"),
                 ("edit to table", results["edit_to_table_s"], "ms")]
        for label, s, unit in rows:
            scale = 1 if unit == "s" else 1000
            print(f"{label:14s} median {scale * s['median']:7.2f} {unit:2s}  90th percentile {scale * s['p90']:7.2f} "
                  f"{unit:2s}  max {scale * s['max']:7.2f} {unit}")
        print(f"targets: first table in at most {FIRST_TABLE_TARGET:g} s, a recompute in at most "
              f"{1000 * RECOMPUTE_TARGET:.0f} ms (medians): {results['verdict']}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
