"""How the renderers' time grows with the problem: linearly, up to the limits of what is worked out in full.

Three families of problems, each at sizes that double:

- `dense`: 8 inputs, one ReLU hidden layer, 2 softmax outputs, about 130 to 2,200 parameters. Target: under
  2 s at about 1,000 parameters.
- `softmax`: 1 input into an N-way softmax with cross-entropy, N = 55 to 440 (a softmax of N outputs keeps
  N x N partials, so 440 is near the limit of what `solve` works out in full: 200,000).
- `diagram`: an equations chain h0 = w*x, h_i = h_{i-1}*0.5 + x (x read by every line), 300 to 2,400 lines
  (2,400 lines draw 4,800 boxes; the limit is 5,000), drawn as SVG by `handprop diagram`'s renderer.

Each size is solved once and rendered `--repeat` times (the median counts). Linear growth shows as a steady
time per unit of size (parameter, softmax output, line): the verdict asks, for every family and format, that
the time per unit at the largest size be at most twice that at the smallest. Before the long sums were
summarised and a widely read leaf drawn again beside its readers, the softmax grew as the square of N (N =
1,000: 54 s) and the chain as its square (2,000 lines: 54 s, a 32 MB SVG).

    python benchmarks/bench_explain.py [--families dense,softmax,diagram] [--formats markdown,latex,html]
                                       [--repeat 3] [--json]
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
from handprop.render import diagram, explain

TARGET_SECONDS = 2.0  # dense, at about 1,000 parameters
LINEAR_SLACK = 2.0  # time per unit at the largest size may be at most this many times the smallest's


def dense(hidden: int, inputs: int = 8, outputs: int = 2):
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


def softmax(width: int):
    targets = [0.0] * width
    targets[width // 2] = 1.0
    return from_dict({"network": {"inputs": 1, "layers": [{"units": width, "activation": "softmax"}],
                                  "loss": "cross_entropy"},
                      "parameters": {"init": "he_uniform"}, "data": {"x": [0.5], "t": targets},
                      "optimizer": {"lr": 0.1}})


def chain(lines: int):
    body = "\n".join(f"h{i} = h{i - 1}*0.5 + x" for i in range(1, lines))
    return from_dict({"network": {"equations": f"h0 = w*x\n{body}\nL = (h{lines - 1} - t)**2"},
                      "parameters": {"w": 0.1}, "data": {"x": 0.5, "t": 0.0}, "optimizer": {"lr": 0.1}})


# family -> (problem maker, sizes, unit, formats it is rendered in, renderer)
FAMILIES = {
    "dense": (dense, (12, 25, 50, 100, 200), "parameter", None, explain),
    "softmax": (softmax, (55, 110, 220, 440), "output", None, explain),
    "diagram": (chain, (300, 600, 1200, 2400), "line", ("svg",), lambda solution, format: diagram(solution)),
}


def measure(family: str, size: int, formats: list, repeat: int) -> list:
    make, _, unit, own_formats, render = FAMILIES[family]
    problem = make(size)
    units = len(problem.parameters) if family == "dense" else size
    solution = solve(problem)
    rows = []
    for fmt in own_formats or formats:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            text = render(solution, format=fmt)
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        rows.append({"family": family, "format": fmt, "size": units, "unit": unit, "seconds": seconds,
                     "characters": len(text), "us_per_unit": 1e6 * seconds / units})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="dense,softmax,diagram")
    parser.add_argument("--formats", default="markdown,latex,html")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    formats = args.formats.split(",")
    rows = [row for family in args.families.split(",") for size in FAMILIES[family][1]
            for row in measure(family, size, formats, args.repeat)]
    verdicts = []
    for family in args.families.split(","):
        for fmt in dict.fromkeys(r["format"] for r in rows if r["family"] == family):
            mine = [r for r in rows if r["family"] == family and r["format"] == fmt]
            growth = mine[-1]["us_per_unit"] / mine[0]["us_per_unit"]
            ok = growth <= LINEAR_SLACK
            note = ""
            if family == "dense":
                at_thousand = min(mine, key=lambda r: abs(r["size"] - 1000))
                ok = ok and at_thousand["seconds"] < TARGET_SECONDS
                note = f"{at_thousand['size']} parameters in {at_thousand['seconds']:.3f} s (target < {TARGET_SECONDS} s); "
            verdicts.append((family, fmt, growth, note, ok))
    if args.json:
        print(json.dumps({"rows": rows, "python": platform.python_version()}, indent=2))
    else:
        print(f"{'family':8} {'format':9} {'size':>6} {'unit':9} {'seconds':>8} {'characters':>11} {'us/unit':>9}")
        for r in rows:
            print(f"{r['family']:8} {r['format']:9} {r['size']:>6} {r['unit']:9} {r['seconds']:>8.3f} "
                  f"{r['characters']:>11} {r['us_per_unit']:>9.1f}")
        for family, fmt, growth, note, ok in verdicts:
            print(f"{family} {fmt}: {note}time per {FAMILIES[family][2]} grows x{growth:.2f} from the smallest to "
                  f"the largest (target <= x{LINEAR_SLACK}): {'PASS' if ok else 'FAIL'}")
    return 0 if all(v[-1] for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
