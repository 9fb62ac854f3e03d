"""Training-speed benchmark: one training step of handprop against PyTorch (and micrograd), one thread each.

One step is forward, loss, backward and a plain SGD update, from the same initial weights on the same
data, through each tool's ordinary public API. Cases and targets (reference time / handprop time):

    a  the homework (2-3-2, ReLU, softmax, cross-entropy), batch 1, on handprop's automatic engine
       choice (the compiled scalar path): >= 20x PyTorch autograd (float64), >= 10x micrograd
    b  32 -> ten ReLU layers of 32 -> 10 softmax cross-entropy, batch 16, NumPy engine, float64: >= 3x PyTorch
    c  784 -> 128 ReLU -> 10 softmax cross-entropy, batch 64 from 1,024 samples, NumPy engine, in float64
       and in float32: >= 1.2x PyTorch in each
    d  memory: the resident size of handprop.training.train on case c does not grow from step 1,000 to
       step 10,000 (growth < 1 MB)
    e  the homework through `handprop train`, whole processes: the marginal cost of a step (the time of
       N2 steps minus that of N1 steps, over N2 - N1, so start-up cancels) at most 1.5x that of a
       straight-line plain-Python step written like the homework's own code (run the same way), and at least
       30x faster than PyTorch's leanest autograd loop (tensor ops, backward, an in-place update; float64);
       with, in-process, where a step's time goes (the engine's step, train()'s loop, the progress bar)

Every contender runs in this one process with one thread: OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and
MKL_NUM_THREADS are set to 1 before NumPy or PyTorch is imported, and torch.set_num_threads(1). The
contenders of a case run in blocks of about 50 ms, interleaved and in a rotating order, repeated; the
verdict compares medians of the per-step times. OPENBLAS_CORETYPE is left as the environment has it;
the report names the OpenBLAS kernel that NumPy runs.

Usage (from the repository root, in an environment with handprop, numpy, torch and micrograd):

    python benchmarks/bench_training.py                 # every case, table and verdict
    python benchmarks/bench_training.py --repeats 31 --json
    python benchmarks/bench_training.py --cases a,b

Exit status: 0 every target met; 1 a target missed; 2 the benchmark could not run (a tool missing,
or the contenders disagree on the loss, which would make the timings meaningless).
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # before NumPy and PyTorch load their thread pools

import argparse  # noqa: E402
import ctypes  # noqa: E402
import datetime  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from micrograd.engine import Value

    import handprop
    from handprop.problem import layered
    from handprop.engine.choice import make_engine
    from handprop.problem.spec import from_dict
    from handprop.training import train
except ImportError as missing:
    print(f"bench_training: {missing}; install with: pip install . numpy torch==2.13.0 micrograd", file=sys.stderr)
    sys.exit(2)

torch.set_num_threads(1)

BLOCK_SECONDS = 0.05  # one timed block of steps: long against the clock, short against a disturbance
MEMORY_STEPS = (1_000, 10_000)
MEMORY_GROWTH_MB = 1.0
LOSS_AGREEMENT = {"float64": 1e-10, "float32": 1e-4}  # relative, first two steps' losses
MARGINAL_STEPS = (1_000, 201_000)  # case e: the two step counts whose difference is timed
MARGINAL_ROUNDS = 7  # case e: rounds of the four processes (at most --repeats)

# Case e's reference: one step of the homework written as its own code writes it (Relu, Softmax and
# CrossEntropy as lambdas, e**x, the chain rule spelled out per weight, GD per parameter), as a script
# run the way `handprop train` is run: `python SCRIPT STEPS` prints the loss of its last step.
HAND_WRITTEN = """
import math, sys

e = math.e
Relu = lambda x: x if x > 0 else 0
dRelu = lambda x: 1 if x > 0 else 0
Softmax = lambda x1, x2: (e**x1 / (e**x1 + e**x2), e**x2 / (e**x1 + e**x2))
CrossEntropy = lambda x1, x2, y1, y2: -y1*math.log(x1) - y2*math.log(x2)


def GD(p, grad, lr=0.5):
    return p - lr*grad


def make_step(params, x1, x2, t1, t2):
    def step():
        w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, b1, b2, b3, b4, b5 = params
        h1 = w1*x1 + w2*x2 + b1
        h2 = w3*x1 + w4*x2 + b2
        h3 = w5*x1 + w6*x2 + b3
        a1 = Relu(h1)
        a2 = Relu(h2)
        a3 = Relu(h3)
        o1 = w7*a1 + w8*a2 + w9*a3 + b4
        o2 = w10*a1 + w11*a2 + w12*a3 + b5
        y1, y2 = Softmax(o1, o2)
        loss = CrossEntropy(y1, y2, t1, t2)
        dL_o1 = (-t1/y1) * (y1*(1-y1)) + (-t2/y2) * (-y1*y2)
        dL_o2 = (-t1/y1) * (-y1*y2) + (-t2/y2) * (y2*(1-y2))
        dL_w7 = dL_o1 * a1
        dL_w8 = dL_o1 * a2
        dL_w9 = dL_o1 * a3
        dL_b4 = dL_o1 * 1
        dL_w10 = dL_o2 * a1
        dL_w11 = dL_o2 * a2
        dL_w12 = dL_o2 * a3
        dL_b5 = dL_o2 * 1
        dL_w1 = (dL_o1 * w7 + dL_o2 * w10) * dRelu(h1) * x1
        dL_w2 = (dL_o1 * w7 + dL_o2 * w10) * dRelu(h1) * x2
        dL_b1 = (dL_o1 * w7 + dL_o2 * w10) * dRelu(h1) * 1
        dL_w3 = (dL_o1 * w8 + dL_o2 * w11) * dRelu(h2) * x1
        dL_w4 = (dL_o1 * w8 + dL_o2 * w11) * dRelu(h2) * x2
        dL_b2 = (dL_o1 * w8 + dL_o2 * w11) * dRelu(h2) * 1
        dL_w5 = (dL_o1 * w9 + dL_o2 * w12) * dRelu(h3) * x1
        dL_w6 = (dL_o1 * w9 + dL_o2 * w12) * dRelu(h3) * x2
        dL_b3 = (dL_o1 * w9 + dL_o2 * w12) * dRelu(h3) * 1
        params[:] = [GD(w1, dL_w1), GD(w2, dL_w2), GD(w3, dL_w3), GD(w4, dL_w4), GD(w5, dL_w5), GD(w6, dL_w6),
                     GD(w7, dL_w7), GD(w8, dL_w8), GD(w9, dL_w9), GD(w10, dL_w10), GD(w11, dL_w11),
                     GD(w12, dL_w12), GD(b1, dL_b1), GD(b2, dL_b2), GD(b3, dL_b3), GD(b4, dL_b4), GD(b5, dL_b5)]
        return loss
    return step


if __name__ == "__main__":
    step = make_step([0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4, 0.3, 0.3, 0.3, 0.7, 0.7],
                     0.26, 0.33, 1, 0)
    for _ in range(int(sys.argv[1])):
        loss = step()
    print(loss)
"""


# --- problems: a layered network as handprop reads it, and the same weights as matrices

def layered_problem(widths: list[int], *, samples: int, lr: float, seed: int, batch_size: int | None = None):
    """ReLU hidden layers, softmax cross-entropy; weights as torch.nn.Linear draws them, one-hot targets."""
    rng = np.random.default_rng(seed)
    parameters = {}
    for n in range(1, len(widths)):
        bound = 1 / math.sqrt(widths[n - 1])
        parameters[f"W{n}"] = rng.uniform(-bound, bound, (widths[n], widths[n - 1])).tolist()
        parameters[f"b{n}"] = rng.uniform(-bound, bound, widths[n]).tolist()
    classes = rng.integers(0, widths[-1], samples)
    data = {"x": rng.uniform(0, 1, (samples, widths[0])).tolist(), "t": np.eye(widths[-1])[classes].tolist()}
    if batch_size is not None:
        data["batch_size"] = batch_size
    layers = [{"units": w, "activation": "relu"} for w in widths[1:-1]]
    layers.append({"units": widths[-1], "activation": "softmax"})
    return from_dict({"network": {"inputs": widths[0], "layers": layers, "loss": "cross_entropy", "naming": "layered"},
                      "parameters": parameters, "data": data, "optimizer": {"lr": lr}})


def matrices(problem) -> tuple[list, list, list, list]:
    """(weights per layer as row lists, biases per layer, x rows, t rows) from a layered problem."""
    network, values, data = problem.network, problem.parameters, problem.data
    weights = [[[values[name] for name in row] for row in rows] for rows in layered.weight_rows(network)]
    biases = [[values[name] for name in names] for names in layered.bias_names(network)]
    x = [list(row) for row in zip(*(data[name] for name in network.inputs))]
    t = [list(row) for row in zip(*(data[name] for name in network.targets))]
    return weights, biases, x, t


# --- the contenders: each a function that takes one step and returns that step's loss

def handprop_stepper(problem, *, engine: str, dtype: str = "float64", batch: int | None = None):
    """handprop's step through make_engine, loss_and_gradients and step; and the engine's name."""
    machine = make_engine(problem, engine=engine, dtype=dtype)
    optimizer = machine.make_optimizer(problem.optimizer)
    samples = problem.batch_size
    count = 0

    def step() -> float:
        nonlocal count
        rows = None
        if batch is not None:
            start = (count % (samples // batch)) * batch
            rows = slice(start, start + batch)  # the same contiguous batches as torch's
        count += 1
        loss = machine.loss_and_gradients(rows)
        machine.step(optimizer)
        return loss

    return step, machine.name


def torch_stepper(problem, *, dtype: str = "float64", batch: int | None = None):
    """PyTorch autograd: nn.Sequential of Linear and ReLU, F.cross_entropy on the logits, optim.SGD."""
    weights, biases, x_rows, t_rows = matrices(problem)
    kind = getattr(torch, dtype)
    modules = []
    for n, (w, b) in enumerate(zip(weights, biases)):
        linear = torch.nn.Linear(len(w[0]), len(w), dtype=kind)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(w, dtype=kind))
            linear.bias.copy_(torch.tensor(b, dtype=kind))
        modules.append(linear)
        if n < len(weights) - 1:
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    optimizer = torch.optim.SGD(model.parameters(), lr=problem.optimizer.lr)
    x, t = torch.tensor(x_rows, dtype=kind), torch.tensor(t_rows, dtype=kind)
    samples = len(x_rows)
    count = 0

    def step() -> float:
        nonlocal count
        xb, tb = x, t
        if batch is not None:
            start = (count % (samples // batch)) * batch
            xb, tb = x[start:start + batch], t[start:start + batch]  # views, as handprop's slices
        count += 1
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), tb)  # logits and probability targets, mean over the batch
        loss.backward()
        optimizer.step()
        return loss.item()  # the step's loss as a Python float, as handprop returns it

    return step


def _exp(v: Value) -> Value:
    # micrograd 0.1.0 has no exp or log: the same pattern as its own ops, forward beside backward.
    out = Value(math.exp(v.data), (v,), "exp")

    def _backward():
        v.grad += out.data * out.grad
    out._backward = _backward
    return out


def _log(v: Value) -> Value:
    out = Value(math.log(v.data), (v,), "log")

    def _backward():
        v.grad += out.grad / v.data
    out._backward = _backward
    return out


def micrograd_stepper(problem):
    """The same network, one scalar Value per weight; softmax cross-entropy in Value ops; manual SGD."""
    weights, biases, x_rows, t_rows = matrices(problem)
    W = [[[Value(w) for w in row] for row in layer] for layer in weights]
    b = [[Value(v) for v in layer] for layer in biases]
    parameters = [p for layer in W for row in layer for p in row] + [p for layer in b for p in layer]
    lr = problem.optimizer.lr

    def step() -> float:
        for p in parameters:
            p.grad = 0
        total = 0
        for x, t in zip(x_rows, t_rows):
            a = x
            for n, (rows, bias) in enumerate(zip(W, b)):
                h = [sum((w * ai for w, ai in zip(row, a)), b_j) for row, b_j in zip(rows, bias)]
                a = [hj.relu() for hj in h] if n < len(W) - 1 else h
            e = [_exp(o) for o in a]
            s = sum(e)
            total = total - sum(tj * _log(ej / s) for tj, ej in zip(t, e))
        loss = total * (1.0 / len(x_rows))
        loss.backward()
        for p in parameters:
            p.data -= lr * p.grad
        return loss.data

    return step


def torch_lean_stepper(problem):
    """PyTorch's leanest autograd loop for a 2-layer network of one sample: tensors that require gradients,
    matrix-vector products, relu, log_softmax, backward, and an in-place update under no_grad."""
    weights, biases, x_rows, t_rows = matrices(problem)
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for pair in zip(weights, biases) for v in pair]
    w1, b1, w2, b2 = params
    x, t = torch.tensor(x_rows[0], dtype=torch.float64), torch.tensor(t_rows[0], dtype=torch.float64)
    lr = problem.optimizer.lr

    def step() -> float:
        loss = -(t * torch.log_softmax(w2 @ torch.relu(w1 @ x + b1) + b2, 0)).sum()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        return loss.item()

    return step


def hand_written_stepper(problem):
    """The hand-written step of HAND_WRITTEN, in this process (for the agreement check and the profile)."""
    space: dict = {}
    exec(compile(HAND_WRITTEN, "<hand-written homework step>", "exec"), space)  # noqa: S102 - our own text
    weights, biases, x_rows, t_rows = matrices(problem)
    params = [w for row in weights[0] for w in row] + [w for row in weights[1] for w in row] + biases[0] + biases[1]
    return space["make_step"](params, *x_rows[0], *t_rows[0])


# --- timing

def calibrate(step) -> int:
    """Steps per block of about BLOCK_SECONDS (after a short warm-up)."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < BLOCK_SECONDS / 2 or count < 3:
        step()
        count += 1
    return max(1, round(count * BLOCK_SECONDS / elapsed))


def time_interleaved(steps: dict, repeats: int) -> dict[str, list[float]]:
    """Per contender, µs per step of each block; one block each per round, in a rotating order."""
    sizes = {name: calibrate(step) for name, step in steps.items()}
    names = list(steps)
    timings: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            step, size = steps[name], sizes[name]
            start = time.perf_counter()
            for _ in range(size):
                step()
            timings[name].append((time.perf_counter() - start) / size * 1e6)
    return timings


def check_agreement(case: str, steps: dict, dtype: str) -> None:
    """The first two steps' losses agree: the same weights, data, batches and update."""
    losses = {name: [step(), step()] for name, step in steps.items()}
    first = next(iter(losses.values()))
    for name, pair in losses.items():
        if any(not math.isclose(a, b, rel_tol=LOSS_AGREEMENT[dtype]) for a, b in zip(pair, first)):
            print(f"bench_training: case {case}: losses disagree ({losses}); the timings would mean nothing",
                  file=sys.stderr)
            sys.exit(2)


def speed_case(case: str, label: str, steps: dict, targets: dict, repeats: int, dtype: str) -> list[dict]:
    """Check the contenders agree, time them, and compare each reference with handprop."""
    check_agreement(case, steps, dtype)
    timings = time_interleaved(steps, repeats)
    ours = statistics.median(timings["handprop"])
    rows = []
    for reference, target in targets.items():
        theirs = statistics.median(timings[reference])
        ratio = theirs / ours
        rows.append({"case": case, "label": f"{label}, vs {reference}", "short": f"{dtype} vs {reference}",
                     "handprop_us": ours, "reference": reference,
                     "reference_us": theirs, "ratio": ratio, "target": target, "pass": ratio >= target,
                     "min_ratio": min(timings[reference]) / min(timings["handprop"]),
                     "handprop_timings_us": timings["handprop"], "reference_timings_us": timings[reference]})
    return rows


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_case(problem) -> dict:
    """Resident size during handprop.training.train on case c, after 1,000 and after 10,000 steps."""
    seen: dict[int, float] = {}

    def progress(step: int, total: int, loss: float) -> None:
        if step == 1 or step in MEMORY_STEPS:
            seen[step] = resident_mb()

    before = resident_mb()
    start = time.perf_counter()
    result = train(problem, steps=MEMORY_STEPS[-1], engine="numpy", progress=progress)
    seconds = time.perf_counter() - start
    growth = seen[MEMORY_STEPS[-1]] - seen[MEMORY_STEPS[0]]
    return {"case": "d", "label": "resident size in train() on c (float64), step 1,000 -> 10,000",
            "rss_mb": seen, "rss_mb_before": before, "growth_mb": growth, "target_mb": MEMORY_GROWTH_MB,
            "pass": growth < MEMORY_GROWTH_MB,
            "us_per_step": seconds / MEMORY_STEPS[-1] * 1e6, "engine": result.engine,
            "final_loss": result.log[-1].loss}


def marginal_case(problem, repeats: int) -> list[dict]:
    """Case e: `handprop train homework --steps N` and the hand-written script as whole processes, four runs a
    round in a rotating order; a step's marginal cost is (time of N2 steps - time of N1 steps) / (N2 - N1)."""
    import subprocess
    import tempfile

    check_agreement("e", {"handprop": handprop_stepper(problem, engine="auto")[0],
                          "hand-written": hand_written_stepper(problem), "torch lean": torch_lean_stepper(problem)},
                    "float64")
    console = os.path.join(os.path.dirname(sys.executable), "handprop")
    command = [console] if os.path.exists(console) else [sys.executable, "-m", "handprop"]
    first, last = MARGINAL_STEPS
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "homework_by_hand.py")
        with open(script, "w", encoding="utf-8") as stream:
            stream.write(HAND_WRITTEN)
        runs = {("handprop", n): [*command, "train", "homework", "--steps", str(n)] for n in MARGINAL_STEPS}
        runs.update({("hand-written", n): [sys.executable, script, str(n)] for n in MARGINAL_STEPS})
        keys = list(runs)
        seconds: dict = {key: [] for key in keys}
        for round_ in range(min(repeats, MARGINAL_ROUNDS) + 1):
            for key in keys[round_ % len(keys):] + keys[:round_ % len(keys)]:
                start = time.perf_counter()
                subprocess.run(runs[key], check=True, stdout=subprocess.DEVNULL, cwd=folder)
                if round_:  # the first round warms the file cache
                    seconds[key].append(time.perf_counter() - start)
    marginal = {name: [(b - a) / (last - first) * 1e6 for a, b in zip(seconds[(name, first)], seconds[(name, last)])]
                for name in ("handprop", "hand-written")}
    ours, hand = statistics.median(marginal["handprop"]), statistics.median(marginal["hand-written"])
    lean = time_interleaved({"torch lean": torch_lean_stepper(problem)}, repeats)["torch lean"]
    theirs = statistics.median(lean)
    label = f"homework through `handprop train` (marginal step, steps {first:,} -> {last:,})"
    return [{"case": "e", "label": f"{label}, vs hand-written Python", "short": "train vs hand-written",
             "handprop_us": ours, "reference": "hand-written", "reference_us": hand, "ratio": hand / ours,
             "target": 1 / 1.5, "pass": ours <= 1.5 * hand, "min_ratio": min(marginal["hand-written"]) / min(
                 marginal["handprop"]), "handprop_timings_us": marginal["handprop"],
             "reference_timings_us": marginal["hand-written"]},
            {"case": "e", "label": f"{label}, vs torch lean loop", "short": "train vs torch lean",
             "handprop_us": ours, "reference": "torch lean", "reference_us": theirs, "ratio": theirs / ours,
             "target": 30.0, "pass": theirs / ours >= 30.0, "min_ratio": min(lean) / min(marginal["handprop"]),
             "handprop_timings_us": marginal["handprop"], "reference_timings_us": lean}]


def where_the_time_goes(problem, repeats: int) -> dict:
    """Case e, in this process: µs per homework step of the engine's step alone, of train()'s loop, and of
    train() with the command line's progress bar (to a string), each the marginal cost between two step
    counts; and the hand-written step's, timed the same way."""
    import io

    from handprop.cli.train import Progress

    machine = make_engine(problem, engine="auto")
    optimizer = machine.make_optimizer(problem.optimizer)
    hand = hand_written_stepper(problem)
    first, last = 1_000, 51_000

    def engine_steps(n):
        for _ in range(n):
            machine.sgd_step(None, optimizer)

    def hand_steps(n):
        for _ in range(n):
            hand()

    contenders = {"hand-written step": hand_steps, "engine step (sgd_step)": engine_steps,
                  "train()": lambda n: train(problem, steps=n),
                  "train() with the progress bar": lambda n: train(problem, steps=n,
                                                                   progress=Progress(stream=io.StringIO()))}
    marginal: dict = {name: [] for name in contenders}
    for round_ in range(min(repeats, MARGINAL_ROUNDS)):
        names = list(contenders)
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            times = []
            for n in (first, last):
                start = time.perf_counter()
                contenders[name](n)
                times.append(time.perf_counter() - start)
            marginal[name].append((times[1] - times[0]) / (last - first) * 1e6)
    return {name: statistics.median(values) for name, values in marginal.items()}


# --- the report

def openblas_kernel() -> str:
    """The OpenBLAS core NumPy runs (what threadpoolctl reports), or '?' when it cannot be asked."""
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("internal_api") == "openblas":
                return f"{pool.get('architecture')} (OpenBLAS {pool.get('version')})"
    except ImportError:
        pass
    folder = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in glob.glob(os.path.join(folder, "*openblas*")):
        library = ctypes.CDLL(path)
        for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
            if hasattr(library, symbol):
                function = getattr(library, symbol)
                function.restype = ctypes.c_char_p
                return function().decode()
    return "?"


def machine() -> dict:
    model = "?"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    except OSError:
        pass
    return {"date": datetime.date.today().isoformat(), "cpus": os.cpu_count(), "cpu": model,
            "python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "handprop": getattr(handprop, "__version__", "?"), "numpy_blas_kernel": openblas_kernel(),
            "torch_threads": torch.get_num_threads(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
            "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE", "(unset)")}


def print_profile(profile: dict | None) -> None:
    if profile:
        print("\ne  where a homework step's time goes, in this process (marginal us per step):")
        for name, us in profile.items():
            print(f"   {name:<32} {us:6.2f}")


def print_table(info: dict, rows: list[dict], memory: dict | None, repeats: int) -> None:
    print(f"{info['date']}; {info['cpus']} CPUs, {info['cpu']}; Python {info['python']}")
    print(f"NumPy {info['numpy']} (OpenBLAS kernel {info['numpy_blas_kernel']}, OPENBLAS_CORETYPE "
          f"{info['OPENBLAS_CORETYPE']}, OPENBLAS_L2_SIZE {info['OPENBLAS_L2_SIZE']}); torch {info['torch']} "
          f"({info['torch_threads']} thread); micrograd")
    print(f"one thread each; medians of {repeats} interleaved blocks of about {BLOCK_SECONDS * 1000:.0f} ms "
          "per contender\n")
    width = max(len(r["label"]) for r in rows) if rows else 40
    print(f"{'case':<{width + 3}} {'handprop us':>11} {'reference us':>12} {'ratio':>8} {'target':>8}  result")
    print(f"{'-' * (width + 3)} {'-' * 11} {'-' * 12} {'-' * 8} {'-' * 8}  ------")
    for r in rows:
        target = ">= " + format(r["target"], ".3g") + "x"
        print(f"{r['case']}  {r['label']:<{width}} {r['handprop_us']:>11.2f} {r['reference_us']:>12.2f} "
              f"{r['ratio']:>7.2f}x {target:>8}  {'PASS' if r['pass'] else 'FAIL'}")
    if memory is not None:
        first, last = (memory["rss_mb"][s] for s in MEMORY_STEPS)
        print(f"d  {memory['label']}: {first:.1f} MB -> {last:.1f} MB, growth {memory['growth_mb']:+.2f} MB "
              f"(target < {MEMORY_GROWTH_MB:g} MB)  {'PASS' if memory['pass'] else 'FAIL'}")
        print(f"   (the whole process, with torch and the problems: {memory['rss_mb_before']:.1f} MB before train(), "
              f"{memory['rss_mb'][1]:.1f} MB after step 1; train() took {memory['us_per_step']:.0f} us per step on the "
              f"{memory['engine']} engine, with its snapshots and logging)")
    if rows:
        print("\ninformational, ratio of the fastest blocks: "
              + "; ".join(f"{r['case']} {r['short']} {r['min_ratio']:.2f}x" for r in rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="interleaved rounds per case (default 21)")
    parser.add_argument("--cases", default="a,b,c,d,e", help="which cases, comma-separated (default a,b,c,d,e)")
    parser.add_argument("--json", action="store_true", help="print the results, with every timing, as JSON")
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    rows: list[dict] = []
    if "a" in cases:
        homework = handprop.load("homework")
        ours, engine = handprop_stepper(homework, engine="auto")
        label = f"homework 2-3-2, batch 1 ({engine} engine)"
        rows += speed_case("a", label, {"handprop": ours, "torch": torch_stepper(homework),
                                        "micrograd": micrograd_stepper(homework)},
                           {"torch": 20.0, "micrograd": 10.0}, args.repeats, "float64")
    if "b" in cases:
        deep = layered_problem([32] + [32] * 10 + [10], samples=16, lr=0.01, seed=1)
        ours, _ = handprop_stepper(deep, engine="numpy")
        rows += speed_case("b", "32-(10 x 32 relu)-10, batch 16, float64",
                           {"handprop": ours, "torch": torch_stepper(deep)}, {"torch": 3.0}, args.repeats, "float64")
    wide = layered_problem([784, 128, 10], samples=1024, lr=0.01, seed=2, batch_size=64) if cases & {"c", "d"} else None
    if "c" in cases:
        for dtype in ("float64", "float32"):
            ours, _ = handprop_stepper(wide, engine="numpy", dtype=dtype, batch=64)
            rows += speed_case("c", f"784-128-10, batch 64 of 1,024, {dtype}",
                               {"handprop": ours, "torch": torch_stepper(wide, dtype=dtype, batch=64)},
                               {"torch": 1.2}, args.repeats, dtype)
    memory = memory_case(wide) if "d" in cases else None
    profile = None
    if "e" in cases:
        homework = handprop.load("homework")
        rows += marginal_case(homework, args.repeats)
        profile = where_the_time_goes(homework, args.repeats)
    info = machine()
    passed = all(r["pass"] for r in rows) and (memory is None or memory["pass"])
    if args.json:
        print(json.dumps({"machine": info, "repeats": args.repeats, "block_seconds": BLOCK_SECONDS, "speed": rows,
                          "memory": memory, "profile_us": profile, "pass": passed}, indent=2))
    else:
        print_table(info, rows, memory, args.repeats)
        print_profile(profile)
        print(f"\nall targets met: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
