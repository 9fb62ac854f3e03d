"""How the renderers' time grows with the problem: linearly, in every size the limits allow.

Five families of problems, each at sizes that double, up to near their limits:

- `dense`: 8 inputs, one ReLU hidden layer, 2 softmax outputs, about 130 to 2,200 parameters. Target: the worked
  solution, the HTML page included, in at most 0.5 s at about 1,000 parameters.
- `softmax`: 1 input into an N-way softmax with cross-entropy, N = 55 to 440 (a softmax of N outputs keeps
  N x N partials, so 440 is near the limit of what `solve` works out in full: 200,000).
- `chain`: an equations chain h0 = w*x, h_i = h_{i-1}*0.5 + x (x read by every line), 300 to 2,400 lines
  (2,400 lines draw 4,800 boxes; the diagram's limit is 5,000).
- `conv`: a 1 x N x N image, a conv2d of two 3x3 kernels (ReLU), flattened into 2 softmax outputs; the unit is a
  position of the feature map, (N - 2)^2 = 16 to 4,096 (N = 66: 16,400 parameters).
- `rnn`: a sequence of T numbers read by two tanh units (backpropagation through time), T = 25 to 400.

Each is rendered as the worked solution (markdown, latex, html), the diagram (svg: the chain and the layer
kinds) and the page's recompute (page: `handprop.serve.tasks.solve_answer` on the problem's TOML text, what the
page asks for on each edit: parsed, checked, solved, and the diagram, table, HTML worked solution and
step-through drawn). Each size is solved once and rendered `--repeat` times from scratch (the MathML caches
emptied, as in a new process; the median counts). Linear growth shows as a steady time per unit of size: the
verdict asks, for every family and format, that the time per unit at the largest size be at most twice that at
the smallest.

    python benchmarks/bench_explain.py [--families dense,softmax,chain,conv,rnn]
                                       [--formats markdown,latex,html,svg,page] [--repeat 3] [--json]
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
from handprop.render import diagram, explain, explain_html, mathml
from handprop.serve.tasks import solve_answer

TARGET_SECONDS = 0.5  # dense, its worked solution in each format, at about 1,000 parameters
LINEAR_SLACK = 2.0  # time per unit at the largest size may be at most this many times the smallest's


def dense(hidden: int, inputs: int = 8, outputs: int = 2) -> dict:
    rng = random.Random(hidden)
    weights = inputs * hidden + hidden * outputs
    return {
        "network": {"inputs": inputs, "layers": [{"units": hidden, "activation": "relu"},
                                                 {"units": outputs, "activation": "softmax"}],
                    "loss": "cross_entropy"},
        "parameters": {"w": [rng.uniform(-1, 1) for _ in range(weights)], "b": [0.1] * (hidden + outputs)},
        "data": {"x": [rng.uniform(-1, 1) for _ in range(inputs)], "t": [1, 0]},
        "optimizer": {"lr": 0.1},
    }


def softmax(width: int) -> dict:
    targets = [0.0] * width
    targets[width // 2] = 1.0
    return {"network": {"inputs": 1, "layers": [{"units": width, "activation": "softmax"}], "loss": "cross_entropy"},
            "parameters": {"init": "he_uniform"}, "data": {"x": [0.5], "t": targets}, "optimizer": {"lr": 0.1}}


def chain(lines: int) -> dict:
    body = "\n".join(f"h{i} = h{i - 1}*0.5 + x" for i in range(1, lines))
    return {"network": {"equations": f"h0 = w*x\n{body}\nL = (h{lines - 1} - t)**2"},
            "parameters": {"w": 0.1}, "data": {"x": 0.5, "t": 0.0}, "optimizer": {"lr": 0.1}}


def conv(side: int) -> dict:
    """A side x side image through two 3x3 kernels (ReLU), flattened into 2 softmax outputs."""
    rng = random.Random(side)
    return {"network": {"input_shape": [1, side, side],
                        "layers": [{"type": "conv2d", "channels": 2, "kernel": 3, "activation": "relu"},
                                   {"type": "flatten"}, {"units": 2, "activation": "softmax"}],
                        "loss": "cross_entropy"},
            "parameters": {"init": "he_uniform", "seed": 1},
            "data": {"x": [[[round(rng.uniform(-1, 1), 2) for _ in range(side)] for _ in range(side)]], "t": [1, 0]},
            "optimizer": {"lr": 0.1}}


def rnn(steps: int) -> dict:
    """A sequence of `steps` numbers read by two tanh units, the last state compared with two targets."""
    rng = random.Random(steps)
    return {"network": {"input_shape": [steps, 1],
                        "layers": [{"type": "rnn", "hidden": 2, "nonlinearity": "tanh", "return": "last"}],
                        "loss": "half_sse"},
            "parameters": {"init": "he_uniform", "seed": 1},
            "data": {"x": [[round(rng.uniform(-1, 1), 2)] for _ in range(steps)], "t": [0.5, -0.5]},
            "optimizer": {"lr": 0.1}}


def toml_text(spec: dict) -> str:
    """The spec as a TOML file (the page reads text): tables of keys, JSON-like arrays and inline tables."""
    def value(v):
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, str):
            return json.dumps(v)
        return repr(v)
    return "\n".join(f"[{table}]\n" + "\n".join(f"{k} = {value(v)}" for k, v in body.items()) + "\n"
                     for table, body in spec.items())


def _page(solution, format, text):
    """What the page does on each edit: the text parsed and checked, solved, and every part drawn."""
    answer = solve_answer({"text": text, "kind": "toml"})
    assert answer["ok"], answer.get("error")
    return "".join(str(answer.get(part, "")) for part in ("diagram", "table", "explain", "walk"))


EXPLAIN = ("markdown", "latex", "html")
# family -> (problem maker, sizes, unit, unit count from (size, problem), formats)
FAMILIES = {
    "dense": (dense, (12, 25, 50, 100, 200), "parameter", lambda n, p: len(p.parameters), EXPLAIN + ("page",)),
    "softmax": (softmax, (55, 110, 220, 440), "output", lambda n, p: n, EXPLAIN + ("page",)),
    "chain": (chain, (300, 600, 1200, 2400), "line", lambda n, p: n, EXPLAIN + ("svg", "page")),
    "conv": (conv, (6, 10, 18, 34, 66), "position", lambda n, p: (n - 2) ** 2, EXPLAIN + ("svg", "page")),
    "rnn": (rnn, (25, 50, 100, 200, 400), "step", lambda n, p: n, EXPLAIN + ("svg", "page")),
}


def render(solution, fmt: str, text: str) -> str:
    """One rendering from scratch, as a fresh process would make it: the MathML caches emptied first."""
    explain_html._mathml.cache_clear()
    mathml._shape.cache_clear()
    if fmt == "page":
        return _page(solution, fmt, text)
    if fmt == "svg":
        return diagram(solution)
    return explain(solution, format=fmt)


def measure(family: str, size: int, formats: list, repeat: int) -> list:
    make, _, unit, count, own_formats = FAMILIES[family]
    spec = make(size)
    text = toml_text(spec)
    problem = from_dict(spec)
    units = count(size, problem)
    solution = solve(problem)
    rows = []
    for fmt in [f for f in own_formats if f in formats]:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            output = render(solution, fmt, text)
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        rows.append({"family": family, "format": fmt, "size": units, "unit": unit, "seconds": seconds,
                     "characters": len(output), "us_per_unit": 1e6 * seconds / units})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--formats", default="markdown,latex,html,svg,page")
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
            if family == "dense" and fmt in EXPLAIN:
                at_thousand = min(mine, key=lambda r: abs(r["size"] - 1000))
                ok = ok and at_thousand["seconds"] <= TARGET_SECONDS
                note = f"{at_thousand['size']} parameters in {at_thousand['seconds']:.3f} s (target <= {TARGET_SECONDS} s); "
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
