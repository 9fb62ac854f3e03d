"""How long `explain` takes as networks grow: under 2 s at 1,000 parameters, and linear in their number.

Builds layered networks of 8 inputs, one ReLU hidden layer and 2 softmax outputs, with the hidden
layer's width chosen to give about 125 to 2,000 parameters; solves each and writes its worked solution
in each format, timing the median of a few runs. Linear growth shows as a steady time per parameter.

    python benchmarks/bench_explain.py [--formats markdown,latex,html] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time

from handprop import solve
from handprop.problem.spec import from_dict
from handprop.render import explain

TARGET_SECONDS = 2.0  # at about 1,000 parameters
LINEAR_SLACK = 2.0  # time per parameter at the largest size may be at most this many times the smallest's


def problem(hidden: int, inputs: int = 8, outputs: int = 2):
    rng = random.Random(hidden)
    weights = inputs * hidden + hidden * outputs
    return from_dict({
        "network": {"inputs": inputs, "layers": [{"units": hidden, "activation": "relu"},
                                                 {"units": outputs, "activation": "softmax"}],
                    "loss": "cross_entropy"},
        "parameters": {"w": [rng.uniform(-1, 1) for _ in range(weights)], "b": [0.1] * (hidden + outputs)},
        "data": {"x": [rng.uniform(-1, 1) for _ in range(inputs)], "t": [1, 0]},
        "optimizer": {"lr": 0.1},
    })


def measure(fmt: str, hidden: int, repeat: int) -> dict:
    p = problem(hidden)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        explain(solve(p), format=fmt)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    count = len(p.parameters)
    return {"format": fmt, "parameters": count, "seconds": seconds, "us_per_parameter": 1e6 * seconds / count}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--formats", default="markdown,latex,html")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [measure(fmt, hidden, args.repeat) for fmt in args.formats.split(",")
            for hidden in (12, 25, 50, 100, 200)]
    verdicts = []
    for fmt in args.formats.split(","):
        mine = [r for r in rows if r["format"] == fmt]
        at_thousand = min(mine, key=lambda r: abs(r["parameters"] - 1000))
        growth = mine[-1]["us_per_parameter"] / mine[0]["us_per_parameter"]
        ok = at_thousand["seconds"] < TARGET_SECONDS and growth <= LINEAR_SLACK
        verdicts.append((fmt, at_thousand, growth, ok))
    if args.json:
        print(json.dumps({"rows": rows, "python": platform.python_version()}, indent=2))
    else:
        print(f"{'format':9} {'parameters':>10} {'seconds':>8} {'us/param':>9}")
        for r in rows:
            print(f"{r['format']:9} {r['parameters']:>10} {r['seconds']:>8.3f} {r['us_per_parameter']:>9.1f}")
        for fmt, at_thousand, growth, ok in verdicts:
            print(f"{fmt}: {at_thousand['parameters']} parameters in {at_thousand['seconds']:.3f} s "
                  f"(target < {TARGET_SECONDS} s); time per parameter grows x{growth:.2f} from the smallest to "
                  f"the largest (target <= x{LINEAR_SLACK}): {'PASS' if ok else 'FAIL'}")
    return 0 if all(v[3] for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
