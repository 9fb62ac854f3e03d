"""How long `handprop serve` takes to answer a change: under 100 ms for the homework.

Starts the app as `handprop serve` does (its worker process, on a free port on 127.0.0.1) and sends it,
over HTTP, the requests the page sends: a change in a field (w1 set to a new value each time) and a
change in the text. Each answer is the whole right-hand side: the diagram, the Result table, the worked
solution as HTML and the fields. Reports the median and the 90th percentile of the round trips, and the
time from the app's start until its worker is ready.

    python benchmarks/bench_serve.py [--changes 40] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import threading
import time
import urllib.request

from handprop.problem.files import example_path
from handprop.serve.app import create_app

TARGET_SECONDS = 0.100  # a change in the homework, answered


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def round_trips(url: str, bodies) -> list[float]:
    times = []
    for body in bodies:
        start = time.perf_counter()
        answer = post(url, body)
        times.append(time.perf_counter() - start)
        if not answer["ok"]:
            raise SystemExit(f"unexpected error: {answer['error']}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=40, help="changes of each kind (default: 40)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    text = example_path("homework").read_text(encoding="utf-8")
    started = time.perf_counter()
    app = create_app(text, label="homework")
    app.extensions["handprop.worker"].start()
    ready = time.perf_counter() - started
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.port}/api/solve"
    try:
        first = round_trips(url, [{"text": text, "label": "homework"}])[0]
        values = [f"{0.1 + k / 1000:.3f}" for k in range(1, args.changes + 1)]
        fields = round_trips(url, [{"text": text, "label": "homework", "edits": [{"field": "parameter.w1", "value": v}]}
                                   for v in values])
        texts = round_trips(url, [{"text": text.replace("w = [0.1, 0.5", f"w = [{v}, 0.5"), "label": "homework"}
                                  for v in values])
    finally:
        server.shutdown()
        app.extensions["handprop.worker"].close()

    def summary(times: list[float]) -> dict:
        ordered = sorted(times)
        return {"median": statistics.median(times), "p90": ordered[int(0.9 * (len(ordered) - 1))],
                "max": ordered[-1]}

    results = {"machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
               "worker_ready_s": ready, "first_answer_s": first, "field_change_s": summary(fields),
               "text_change_s": summary(texts), "target_s": TARGET_SECONDS}
    passed = all(results[k]["p90"] < TARGET_SECONDS for k in ("field_change_s", "text_change_s"))
    results["verdict"] = "PASS" if passed else "FAIL"
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(f"machine: {results['machine']}")
        print(f"worker ready after {ready:.2f} s; first answer {1000 * first:.0f} ms")
        for kind in ("field_change_s", "text_change_s"):
            s = results[kind]
            print(f"{kind[:-2].replace('_', ' '):13s} median {1000 * s['median']:5.1f} ms   90th percentile "
                  f"{1000 * s['p90']:5.1f} ms   max {1000 * s['max']:5.1f} ms")
        print(f"target: a change in the homework answered in under {1000 * TARGET_SECONDS:.0f} ms "
              f"(90th percentile): {results['verdict']}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
