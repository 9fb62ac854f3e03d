"""Startup-speed benchmark: `handprop` on the homework against `import numpy`.

Target: `handprop` (no arguments: it prints the homework's Result table), timed
as a whole process, has a median wall time at most 0.50 times the median of
`python -c "import numpy"` measured in the same run. The small-problem path
imports no NumPy, and output libraries load only when used.

Every other command's start-up is reported too (no target): each command run
once on the homework (its smallest real job; serve and site with --help), in
interleaved rounds with `import numpy` again, its ratio, the modules it loads,
and a check that it loads its own command's module only (no other command's
cli module, no API layer).

Absolute times depend on the machine, its load and its disk cache, so this
script compares ratios: every command runs once per round, the rounds
interleave the commands (rotating their order), and each command's median is
divided by the median of `import numpy` from the same rounds.

It also runs `python -X importtime -m handprop` and checks that no imported
module is NumPy (or another heavy library the default path must not load),
and reports the number of modules imported and the costliest ones.

Usage (from the repository root, in an environment where handprop and numpy
are installed):

    python benchmarks/bench_startup.py              # 30 rounds, table and verdict
    python benchmarks/bench_startup.py --rounds 60 --json
    python benchmarks/bench_startup.py --command-rounds 0   # the homework's start-up only

Exit status: 0 the target is met and no forbidden module is imported;
1 either check fails; 2 the benchmark could not run (handprop or numpy missing,
a command failed).

Standard library only; NumPy must be importable by this interpreter, since
`sys.executable -c "import numpy"` is the reference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_RATIO = 0.50
DISTURBED_GAP = 0.10  # |median ratio - minimum ratio| beyond which the run is reported as disturbed

# Modules the default path (`handprop` on the homework, table output) must not
# import: NumPy by the target; the others are output or format libraries that
# load only when a command uses them.
FORBIDDEN_MODULES = ("numpy", "rich", "matplotlib", "latex2mathml", "torch", "yaml")


def find_handprop() -> str | None:
    """The `handprop` console script beside this interpreter, else on PATH."""
    bin_dir = Path(sys.executable).parent  # not resolved: a venv's python is a symlink out of the venv
    for name in ("handprop", "handprop.exe"):
        candidate = bin_dir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("handprop")


def run_once(argv: list[str], cwd: str | None = None) -> float:
    """Wall time of one whole process, in seconds; raises if it fails."""
    start = time.perf_counter()
    completed = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               cwd=cwd)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        message = completed.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["(no message)"]
        raise RuntimeError(f"{' '.join(argv)} exited with {completed.returncode}: {message[0]}")
    return elapsed


def time_interleaved(commands: dict[str, list[str]], *, rounds: int, warmup: int,
                     cwd: str | None = None) -> dict[str, list[float]]:
    """Run every command once per round, rotating the order each round; times in seconds."""
    names = list(commands)
    for _ in range(warmup):
        for name in names:
            run_once(commands[name], cwd)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)  # no command always runs first, or always after the same one
        for name in names[shift:] + names[:shift]:
            times[name].append(run_once(commands[name], cwd))
    return times


def command_jobs(folder: str) -> dict[str, list[str]]:
    """Each command's smallest real job on the homework (arguments after `handprop`), its files in `folder`."""
    answers = os.path.join(folder, "answers.csv")
    with open(answers, "w", encoding="utf-8") as stream:
        stream.write("name,value\nout1,0.53\nloss,0.64\n")
    return {
        "solve": ["solve", "homework", "--nodes"],
        "explain": ["explain", "homework", "-o", os.path.join(folder, "h.md")],
        "diagram": ["diagram", "homework", "-o", os.path.join(folder, "h.svg")],
        "train": ["train", "homework", "--steps", "100"],
        "verify": ["verify", "homework"],
        "exercise": ["exercise", "--seed", "1", "-o", os.path.join(folder, "sheets")],
        "grade": ["grade", "homework", answers],
        "export": ["export", "homework", "--to", "python", "-o", os.path.join(folder, "h.py")],
        "examples": ["examples"],
        "completion": ["completion", "bash"],
        "serve": ["serve", "--help"],
        "site": ["site", "--help"],
    }


def own_imports(handprop: str, job: list[str], cwd: str) -> dict:
    """The modules a command's job loads (`-X importtime`), and whether it loads its own command's module only."""
    completed = subprocess.run([sys.executable, "-X", "importtime", "-m", "handprop", *job], cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    names = [row["module"] for row in parse_importtime(completed.stderr)]
    command = job[0]
    others = sorted(name for name in names if name.startswith("handprop.cli.")
                    and name not in ("handprop.cli.commands", "handprop.cli.options", "handprop.cli.parser",
                                     f"handprop.cli.{command}"))
    return {"modules": len(names), "handprop_modules": sum(1 for n in names if n.startswith("handprop")),
            "other_commands": others, "api": "handprop.api" in names,
            "numpy": any(n == "numpy" or n.startswith("numpy.") for n in names),
            "torch": any(n == "torch" or n.startswith("torch.") for n in names),
            "own_only": not others and "handprop.api" not in names}


def parse_importtime(stderr: str) -> list[dict]:
    """Rows of `-X importtime` output: module, self_us, cumulative_us, in import order."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line[len("import time:"):].split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue  # the header line
        rows.append({"module": fields[2].strip(), "self_us": int(fields[0]), "cumulative_us": int(fields[1])})
    return rows


def import_profile(handprop_argv: list[str], *, runs: int) -> dict:
    """Modules imported by `python -X importtime -m handprop`, median costs over several runs."""
    module_times: dict[str, dict[str, list[int]]] = {}
    order: list[str] = []
    counts = []
    for _ in range(runs):
        completed = subprocess.run([sys.executable, "-X", "importtime", *handprop_argv],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                   text=True)
        if completed.returncode != 0:
            raise RuntimeError(f"python -X importtime -m handprop exited with {completed.returncode}")
        rows = parse_importtime(completed.stderr)
        counts.append(len(rows))
        for row in rows:
            if row["module"] not in module_times:
                module_times[row["module"]] = {"self_us": [], "cumulative_us": []}
                order.append(row["module"])
            module_times[row["module"]]["self_us"].append(row["self_us"])
            module_times[row["module"]]["cumulative_us"].append(row["cumulative_us"])

    modules = [{"module": name,
                "self_ms": statistics.median(module_times[name]["self_us"]) / 1000,
                "cumulative_ms": statistics.median(module_times[name]["cumulative_us"]) / 1000}
               for name in order]
    forbidden = sorted(name for name in order
                       if any(name == root or name.startswith(root + ".") for root in FORBIDDEN_MODULES))
    return {
        "command": f"{Path(sys.executable).name} -X importtime {' '.join(handprop_argv)}",
        "runs": runs,
        "modules_imported": max(counts),
        "handprop_modules": [name for name in order if name == "handprop" or name.startswith("handprop.")],
        "forbidden_checked": list(FORBIDDEN_MODULES),
        "forbidden_imported": forbidden,
        "numpy_imported": any(name == "numpy" or name.startswith("numpy.") for name in order),
        "top_cumulative": sorted(modules, key=lambda row: row["cumulative_ms"], reverse=True)[:5],
        "top_self": sorted(modules, key=lambda row: row["self_ms"], reverse=True)[:5],
    }


def command_startups(handprop: str, numpy_name: str, numpy_argv: list[str], *, rounds: int) -> list[dict]:
    """Every command's job timed in interleaved rounds with `import numpy`, with its imports."""
    if rounds < 1:
        return []
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        jobs = command_jobs(folder)
        commands = {name: [handprop, *job] for name, job in jobs.items()}
        commands[numpy_name] = numpy_argv
        times = time_interleaved(commands, rounds=rounds, warmup=1, cwd=folder)
        numpy_median = statistics.median(times[numpy_name])
        return [{"command": name, "job": ["handprop", *(a.replace(folder, "DIR") for a in job)], "median_ms": statistics.median(times[name]) * 1000,
                 "ratio": statistics.median(times[name]) / numpy_median, "imports": own_imports(handprop, job, folder)}
                for name, job in jobs.items()]


def machine_description() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"python": platform.python_version(), "implementation": platform.python_implementation(),
            "machine": platform.machine(), "system": platform.system(), "cpu": cpu, "cpus": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds (default: 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default: 3)")
    parser.add_argument("--importtime-runs", type=int, default=5,
                        help="runs of -X importtime whose per-module medians are reported (default: 5)")
    parser.add_argument("--command-rounds", type=int, default=10,
                        help="interleaved rounds of every other command's start-up (default: 10; 0: none)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.warmup < 0 or args.importtime_runs < 1:
        parser.error("--rounds and --importtime-runs must be at least 1, --warmup at least 0")

    handprop = find_handprop()
    if handprop is None:
        print(f"bench_startup: no `handprop` beside {sys.executable} or on PATH; install the project first",
              file=sys.stderr)
        return 2
    if subprocess.run([sys.executable, "-c", "import numpy"], stderr=subprocess.DEVNULL).returncode != 0:
        print(f"bench_startup: numpy is not importable by {sys.executable}; `pip install numpy` there",
              file=sys.stderr)
        return 2

    python = Path(sys.executable).name
    commands = {
        "handprop": [handprop],
        f'{python} -c "import numpy"': [sys.executable, "-c", "import numpy"],
        f"{python} -m handprop": [sys.executable, "-m", "handprop"],
        f'{python} -c "pass"': [sys.executable, "-c", "pass"],
    }
    numpy_name = f'{python} -c "import numpy"'
    try:
        times = time_interleaved(commands, rounds=args.rounds, warmup=args.warmup)
        imports = import_profile(["-m", "handprop"], runs=args.importtime_runs)
        per_command = command_startups(handprop, numpy_name, commands[numpy_name], rounds=args.command_rounds)
    except RuntimeError as error:
        print(f"bench_startup: {error}", file=sys.stderr)
        return 2

    numpy_median = statistics.median(times[numpy_name])
    rows = [{"command": name, "argv": commands[name],
             "median_ms": statistics.median(times[name]) * 1000, "min_ms": min(times[name]) * 1000,
             "ratio": statistics.median(times[name]) / numpy_median,
             "times_ms": [round(seconds * 1000, 2) for seconds in times[name]]}
            for name in commands]
    ratio = rows[0]["ratio"]
    bare = statistics.median(times[f'{python} -c "pass"'])
    # Informational: the cost above a bare interpreter, handprop's against numpy's.
    overhead_ratio = (statistics.median(times["handprop"]) - bare) / (numpy_median - bare)
    # Informational: minimums are the least disturbed by other load on the machine.
    min_ratio = min(times["handprop"]) / min(times[numpy_name])
    ratio_pass = ratio <= TARGET_RATIO
    # When the two disagree, a stretch of the run was disturbed (often only `import numpy`, whose
    # OpenBLAS starts one thread per CPU): the verdict stands as defined, but rerun before trusting it.
    disturbed = abs(ratio - min_ratio) > DISTURBED_GAP
    imports_pass = not imports["forbidden_imported"] and all(row["imports"]["own_only"] for row in per_command)

    if args.json:
        print(json.dumps({
            "rounds": args.rounds, "warmup": args.warmup, "handprop": handprop, "interpreter": sys.executable,
            "machine": machine_description(), "results": rows,
            "ratio": ratio, "target": TARGET_RATIO, "ratio_pass": ratio_pass,
            "min_ratio": min_ratio, "overhead_ratio": overhead_ratio, "disturbed": disturbed,
            "imports": imports, "commands": per_command, "imports_pass": imports_pass,
            "pass": ratio_pass and imports_pass,
        }, indent=2))
        return 0 if ratio_pass and imports_pass else 1

    width = max(len(row["command"]) for row in rows)
    print(f"{args.rounds} interleaved rounds after {args.warmup} warm-up rounds; {sys.executable}")
    print()
    print(f"{'command':<{width}}  {'median ms':>9}  {'min ms':>7}  {'/ numpy':>7}")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 7}  {'-' * 7}")
    for row in rows:
        print(f"{row['command']:<{width}}  {row['median_ms']:9.1f}  {row['min_ms']:7.1f}  {row['ratio']:7.2f}")
    print()
    print(f"informational: minimums, handprop / import numpy = {min_ratio:.2f}; "
          f"above a bare interpreter (medians minus `-c pass`) = {overhead_ratio:.2f}")
    print()
    print(f"{imports['command']}: {imports['modules_imported']} modules imported, "
          f"{len(imports['handprop_modules'])} of them handprop's (medians of {imports['runs']} runs)")
    print("  top 5 by cumulative time:")
    for row in imports["top_cumulative"]:
        print(f"    {row['cumulative_ms']:7.2f} ms  {row['module']}")
    print("  top 5 by self time:")
    for row in imports["top_self"]:
        print(f"    {row['self_ms']:7.2f} ms  {row['module']}")
    if imports_pass:
        print(f"  none of {', '.join(FORBIDDEN_MODULES)} imported: PASS")
    else:
        print(f"  forbidden modules imported: {', '.join(imports['forbidden_imported'])}: FAIL")
    if per_command:
        print()
        print(f"every command's start-up: its smallest job on the homework, {args.command_rounds} interleaved rounds "
              "with `import numpy`")
        print(f"  {'handprop ...':<44}  {'median ms':>9}  {'/ numpy':>7}  {'modules':>7}  own imports only")
        for row in per_command:
            shown = " ".join(row["job"])
            shown = shown if len(shown) <= 44 else shown[:41] + "..."
            own = "yes" if row["imports"]["own_only"] else "NO: " + ", ".join(
                row["imports"]["other_commands"] + (["handprop.api"] if row["imports"]["api"] else []))
            extra = " (loads PyTorch)" if row["imports"]["torch"] else " (loads NumPy)" if row["imports"]["numpy"] else ""
            print(f"  {shown:<44}  {row['median_ms']:9.1f}  {row['ratio']:7.2f}  {row['imports']['modules']:7d}  "
                  f"{own}{extra}")
    print()
    if disturbed:
        print(f"warning: median ratio {ratio:.2f} and minimum ratio {min_ratio:.2f} disagree by more than "
              f"{DISTURBED_GAP:.2f}: part of the run was disturbed; rerun on a quiet machine before trusting it")
    print(f"handprop / import numpy = {ratio:.2f} (target <= {TARGET_RATIO:.2f}): {'PASS' if ratio_pass else 'FAIL'}")
    return 0 if ratio_pass and imports_pass else 1


if __name__ == "__main__":
    sys.exit(main())
