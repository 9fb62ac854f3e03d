"""How long a problem beyond the limits takes to be refused: under a second, whatever its size.

The cases an outside audit found refused only after the work (or never): a network of 100,000 inputs
into 9 ReLU units (900,019 parameters; 15 s and 805 MB before), 1,000 layers of 31 units (991,040
parameters; 10 s and 879 MB), a data file of 100,000 columns without the target column the network asks for
(12 s; in fact minutes), and `verify` of a 200-200-1 network, whose finite differences would take hours.
Each runs as its own process (`handprop COMMAND FILE`), as a user runs it, beside the homework
(`handprop`, the reference), rounds interleaved; the medians count.

Target: every refusal's median under 1 s, with exit status 2 and one line on standard error.

    python benchmarks/bench_limits.py [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 1.0


def files(folder: Path) -> dict:
    """name -> (command, problem file), written into folder."""
    def layered(inputs: int, layers: list, data: str) -> str:
        hidden = ", ".join(f'{{units = {u}, activation = "{a}"}}' for u, a in layers)
        return (f'[network]\ninputs = {inputs}\nlayers = [{hidden}]\nloss = "mse"\n[parameters]\n'
                f'init = "he_uniform"\n[data]\n{data}\n[optimizer]\nlr = 0.1\n')

    def inline(inputs: int) -> str:
        return "x = [" + ", ".join(["0.5"] * inputs) + "]\nt = [0.0]"

    (folder / "wide.csv").write_text(",".join([f"x{k}" for k in range(1, 100_001)] + ["t1"]) + "\n"
                                     + ",".join(["0.5"] * 100_001) + "\n")
    texts = {
        "100000-inputs": layered(100_000, [(9, "relu"), (1, "identity")], inline(100_000)),
        "1000-layers": layered(31, [(31, "relu")] * 999 + [(1, "identity")], inline(31)),
        "100000-columns": layered(100_000, [(8, "relu"), (2, "identity")], 'file = "wide.csv"'),
        "verify-200-200-1": layered(200, [(200, "tanh"), (1, "identity")], inline(200)),
    }
    for name, text in texts.items():
        (folder / f"{name}.toml").write_text(text)
    cases = {f"{command} {name}": (command, folder / f"{name}.toml")
             for name in ("100000-inputs", "1000-layers", "100000-columns") for command in ("solve", "explain",
                                                                                             "diagram", "verify")}
    cases["verify verify-200-200-1"] = ("verify", folder / "verify-200-200-1.toml")
    return cases


def run(arguments: list) -> tuple[float, int, str]:
    """(seconds, exit status, standard error)."""
    start = time.perf_counter()
    done = subprocess.run(arguments, capture_output=True, text=True)
    return time.perf_counter() - start, done.returncode, done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    handprop = shutil.which("handprop", path=str(Path(sys.executable).parent)) or shutil.which("handprop")
    if handprop is None:
        print("no handprop command found", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        cases = files(Path(folder))
        times: dict[str, list] = {"homework": []}
        checks = {}
        for _ in range(args.rounds):
            for name, (command, path) in cases.items():
                seconds, status, err = run([handprop, command, str(path)])
                times.setdefault(name, []).append(seconds)
                checks[name] = (status, err.strip())
            seconds, status, _ = run([handprop])
            times["homework"].append(seconds)
    reference = statistics.median(times["homework"])
    rows = []
    for name, measured in times.items():
        if name == "homework":
            continue
        status, err = checks[name]
        median = statistics.median(measured)
        ok = median < TARGET_SECONDS and status == 2 and len(err.splitlines()) == 1
        rows.append({"case": name, "seconds": median, "ratio_to_homework": median / reference, "status": status,
                     "message": err[:120], "ok": ok})
    if args.json:
        print(json.dumps({"homework_seconds": reference, "rows": rows, "python": platform.python_version()},
                         indent=2))
    else:
        print(f"reference: handprop (the homework) {reference:.3f} s")
        print(f"{'case':32} {'seconds':>8} {'x homework':>10}  verdict  message")
        for r in rows:
            print(f"{r['case']:32} {r['seconds']:>8.3f} {r['ratio_to_homework']:>10.2f}  "
                  f"{'PASS' if r['ok'] else 'FAIL':7}  {r['message'][:70]}")
        print(f"every refusal under {TARGET_SECONDS} s, exit 2, one line: "
              f"{'PASS' if all(r['ok'] for r in rows) else 'FAIL'}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
