"""Layer-kinds benchmark: one training step of a small CNN on handprop's NumPy engine against PyTorch, one thread.

The network: a 1x28x28 input -> conv2d 8 channels 3x3 -> ReLU -> max-pool 2 -> flatten -> dense 10, softmax and
cross-entropy (from the logits), batch 32, plain SGD. One step is forward, loss, backward and the update, from the
same initial weights on the same data, in float64 and in float32:

    handprop   make_engine(engine="numpy") (engine/numpy_stack.py): loss_and_gradients, then step
    torch      nn.Sequential(Conv2d, ReLU, MaxPool2d, Flatten, Linear), F.cross_entropy, optim.SGD, autograd

No target yet: the script prints each median and the ratio torch time / handprop time (above 1: handprop is
faster), as bench_training.py does. It reuses bench_training.py's timing (interleaved blocks of about 50 ms, in a
rotating order, medians) and its machine report, so it needs the same packages (numpy, torch==2.13.0, micrograd).

Usage (from the repository root):

    python benchmarks/bench_kinds.py                # table
    python benchmarks/bench_kinds.py --repeats 31 --json

Exit status: 0 measured; 2 the benchmark could not run (a tool missing, or the two disagree on the loss).
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # before NumPy and PyTorch load their thread pools

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from bench_training import BLOCK_SECONDS, check_agreement, machine, time_interleaved

    from handprop.engine.choice import make_engine
    from handprop.problem.spec import from_dict
except ImportError as missing:
    print(f"bench_kinds: {missing}; install with: pip install . numpy torch==2.13.0 micrograd", file=sys.stderr)
    sys.exit(2)

torch.set_num_threads(1)

SIDE, CHANNELS, KERNEL, POOL, CLASSES, BATCH = 28, 8, 3, 2, 10, 32
LR = 0.01


def weights(seed: int) -> dict:
    """K1 (8, 1, 3, 3), b1 (8,), W4 (10, 8 x 13 x 13), b4 (10,), drawn as torch's layers draw them:
    U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    rng = np.random.default_rng(seed)
    pooled = CHANNELS * ((SIDE - KERNEL + 1) // POOL) ** 2
    bound_conv, bound_dense = 1 / math.sqrt(KERNEL * KERNEL), 1 / math.sqrt(pooled)
    return {"K1": rng.uniform(-bound_conv, bound_conv, (CHANNELS, 1, KERNEL, KERNEL)),
            "b1": rng.uniform(-bound_conv, bound_conv, CHANNELS),
            "W4": rng.uniform(-bound_dense, bound_dense, (CLASSES, pooled)),
            "b4": rng.uniform(-bound_dense, bound_dense, CLASSES)}


def problem_and_tensors(seed: int = 3):
    """handprop's problem, and the same weights and data as arrays."""
    rng = np.random.default_rng(seed + 1)
    x = rng.uniform(0, 1, (BATCH, 1, SIDE, SIDE))
    t = np.eye(CLASSES)[rng.integers(0, CLASSES, BATCH)]
    values = weights(seed)
    problem = from_dict({"network": {"input_shape": [1, SIDE, SIDE], "loss": "cross_entropy", "layers": [
        {"type": "conv2d", "channels": CHANNELS, "kernel": KERNEL, "activation": "relu"},
        {"type": "maxpool2d", "kernel": POOL}, {"type": "flatten"}, {"units": CLASSES, "activation": "softmax"}]},
        "parameters": {name: array.tolist() for name, array in values.items()},
        "data": {"x": x.tolist(), "t": t.tolist()}, "optimizer": {"lr": LR}})
    return problem, values, x, t


def handprop_stepper(problem, dtype: str):
    machine = make_engine(problem, engine="numpy", dtype=dtype)
    optimizer = machine.make_optimizer(problem.optimizer)

    def step() -> float:
        loss = machine.loss_and_gradients(None)
        machine.step(optimizer)
        return loss

    return step, type(machine).__name__


def torch_stepper(values: dict, x, t, dtype: str):
    kind = getattr(torch, dtype)
    conv = torch.nn.Conv2d(1, CHANNELS, KERNEL, dtype=kind)
    linear = torch.nn.Linear(values["W4"].shape[1], CLASSES, dtype=kind)
    with torch.no_grad():
        for parameter, name in ((conv.weight, "K1"), (conv.bias, "b1"), (linear.weight, "W4"), (linear.bias, "b4")):
            parameter.copy_(torch.tensor(values[name], dtype=kind))
    model = torch.nn.Sequential(conv, torch.nn.ReLU(), torch.nn.MaxPool2d(POOL), torch.nn.Flatten(), linear)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    xb, tb = torch.tensor(x, dtype=kind), torch.tensor(t, dtype=kind)

    def step() -> float:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), tb)  # logits and probability targets, mean over the batch
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="interleaved rounds per dtype (default 21)")
    parser.add_argument("--json", action="store_true", help="print the results, with every timing, as JSON")
    args = parser.parse_args()
    problem, values, x, t = problem_and_tensors()
    rows = []
    for dtype in ("float64", "float32"):
        ours, engine = handprop_stepper(problem, dtype)
        steps = {"handprop": ours, "torch": torch_stepper(values, x, t, dtype)}
        check_agreement(f"cnn {dtype}", steps, dtype)
        timings = time_interleaved(steps, args.repeats)
        mine, theirs = statistics.median(timings["handprop"]), statistics.median(timings["torch"])
        rows.append({"dtype": dtype, "engine": engine, "handprop_us": mine, "torch_us": theirs,
                     "ratio": theirs / mine, "min_ratio": min(timings["torch"]) / min(timings["handprop"]),
                     "handprop_timings_us": timings["handprop"], "torch_timings_us": timings["torch"]})
    info = machine()
    if args.json:
        print(json.dumps({"machine": info, "repeats": args.repeats, "block_seconds": BLOCK_SECONDS, "speed": rows},
                         indent=2))
        return 0
    print(f"{info['date']}; {info['cpus']} CPUs, {info['cpu']}; Python {info['python']}")
    print(f"NumPy {info['numpy']} (OpenBLAS kernel {info['numpy_blas_kernel']}); torch {info['torch']} "
          f"({info['torch_threads']} thread)")
    print(f"one thread each; medians of {args.repeats} interleaved blocks of about {BLOCK_SECONDS * 1000:.0f} ms\n")
    print(f"1x{SIDE}x{SIDE} -> conv {CHANNELS}@{KERNEL}x{KERNEL} relu -> maxpool {POOL} -> flatten -> dense "
          f"{CLASSES} softmax-CE, batch {BATCH}, SGD: one step\n")
    print(f"{'dtype':<8} {'handprop us':>11} {'torch us':>9} {'torch / handprop':>16} {'(fastest blocks)':>17}")
    print(f"{'-' * 8} {'-' * 11} {'-' * 9} {'-' * 16} {'-' * 17}")
    for r in rows:
        print(f"{r['dtype']:<8} {r['handprop_us']:>11.1f} {r['torch_us']:>9.1f} {r['ratio']:>15.2f}x "
              f"{r['min_ratio']:>16.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
