"""Layer-kinds benchmark: one training step of small networks of layer kinds on handprop's NumPy engine against
PyTorch, one thread.

The networks, each ending in a dense layer of 10 with softmax and cross-entropy (from the logits), plain SGD:

    cnn        a 1x28x28 input -> conv2d 8 channels 3x3 -> ReLU -> max-pool 2 -> flatten -> dense 10, batch 32
    rnn        a sequence of 20 steps of 8 features -> rnn 32 tanh units (the last state) -> dense 10, batch 16
    lstm       the same sequence -> lstm 32 units (the last state) -> dense 10, batch 16
    attention  8 tokens of 32 features -> self-attention, 4 heads, with its residual -> layernorm -> flatten ->
               dense 10, batch 16

One step is forward, loss, backward and the update, from the same initial weights on the same data, in float64 and
in float32:

    handprop   make_engine(engine="numpy") (engine/numpy_stack.py): loss_and_gradients, then step
    torch      the same modules (Conv2d, RNN, LSTM, MultiheadAttention, LayerNorm, Linear), F.cross_entropy,
               optim.SGD, autograd

The targets: every case, in both dtypes, at least as fast as PyTorch (the ratio torch time / handprop time of the
medians >= 1.0), and handprop's resident size flat over 10,000 steps of each (its growth, measured in-process from
/proc/self/statm after 1,000 steps of warm-up and after 10,000 more, under 2 MB). It reuses bench_training.py's
timing (interleaved blocks of about 50 ms, in a rotating order, medians) and its machine report, so it needs the
same packages (numpy, torch==2.13.0, micrograd).

Usage (from the repository root):

    python benchmarks/bench_kinds.py                # table
    python benchmarks/bench_kinds.py --repeats 31 --json
    python benchmarks/bench_kinds.py --cases rnn lstm
    python benchmarks/bench_kinds.py --memory-steps 0   # the speed only

Exit status: 0 every target met; 1 a target missed; 2 the benchmark could not run (a tool missing, or the two
disagree on the loss).
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
    from bench_training import BLOCK_SECONDS, check_agreement, machine, resident_mb, time_interleaved

    from handprop.engine.choice import make_engine
    from handprop.problem.spec import from_dict
except ImportError as missing:
    print(f"bench_kinds: {missing}; install with: pip install . numpy torch==2.13.0 micrograd", file=sys.stderr)
    sys.exit(2)

torch.set_num_threads(1)

SIDE, CHANNELS, KERNEL, POOL, CLASSES, BATCH = 28, 8, 3, 2, 10, 32
LR = 0.01
TARGET = 1.0  # torch time / handprop time, each case and dtype
WARM_UP_STEPS, MEMORY_GROWTH_MB = 1_000, 2.0


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


SEQUENCE, FEATURES, HIDDEN, SEQUENCE_BATCH = 20, 8, 32, 16
TOKENS, WIDTH, HEADS = 8, 32, 4


def _sequence_data(seed: int, shape: tuple):
    rng = np.random.default_rng(seed + 1)
    return rng.uniform(-1, 1, (SEQUENCE_BATCH, *shape)), np.eye(CLASSES)[rng.integers(0, CLASSES, SEQUENCE_BATCH)]


def _tensor(t) -> np.ndarray:
    return t.detach().double().numpy()


def recurrent_case(kind: str, seed: int = 3):
    """handprop's problem for an rnn or lstm of 32 units then dense 10, and a torch stepper factory; the weights
    torch's own initialisation draws (in float64), read into handprop's per-gate tensors."""
    torch.manual_seed(seed)
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM}[kind](FEATURES, HIDDEN, batch_first=True,
                                                                dtype=torch.float64)
    linear = torch.nn.Linear(HIDDEN, CLASSES, dtype=torch.float64)
    gates = "h" if kind == "rnn" else "ifgo"
    parameters = {}
    for attribute, name in (("weight_ih_l0", "Wi"), ("weight_hh_l0", "Wh"), ("bias_ih_l0", "bi"),
                            ("bias_hh_l0", "bh")):
        for gate, block in zip(gates, np.split(_tensor(getattr(module, attribute)), len(gates))):
            parameters[f"{name}{gate}1"] = block.tolist()
    parameters.update(W2=_tensor(linear.weight).tolist(), b2=_tensor(linear.bias).tolist())
    x, t = _sequence_data(seed, (SEQUENCE, FEATURES))
    problem = from_dict({"network": {"input_shape": [SEQUENCE, FEATURES], "loss": "cross_entropy", "layers": [
        {"type": kind, "hidden": HIDDEN}, {"units": CLASSES, "activation": "softmax"}]},
        "parameters": parameters, "data": {"x": x.tolist(), "t": t.tolist()}, "optimizer": {"lr": LR}})
    state = {name: value.clone() for name, value in [*module.state_dict().items(),
                                                     *(("linear." + k, v) for k, v in linear.state_dict().items())]}

    def torch_step(dtype: str):
        kind_ = getattr(torch, dtype)
        rnn = type(module)(FEATURES, HIDDEN, batch_first=True, dtype=kind_)
        head = torch.nn.Linear(HIDDEN, CLASSES, dtype=kind_)
        rnn.load_state_dict({k: v.to(kind_) for k, v in state.items() if not k.startswith("linear.")})
        head.load_state_dict({k[7:]: v.to(kind_) for k, v in state.items() if k.startswith("linear.")})
        optimizer = torch.optim.SGD([*rnn.parameters(), *head.parameters()], lr=LR)
        xb, tb = torch.tensor(x, dtype=kind_), torch.tensor(t, dtype=kind_)

        def step() -> float:
            optimizer.zero_grad()
            out, _ = rnn(xb)
            loss = F.cross_entropy(head(out[:, -1]), tb)
            loss.backward()
            optimizer.step()
            return loss.item()

        return step

    return problem, torch_step


def attention_case(seed: int = 3):
    """8 tokens of 32 -> self-attention (4 heads, biases, residual) -> layernorm -> flatten -> dense 10."""
    torch.manual_seed(seed)
    attention = torch.nn.MultiheadAttention(WIDTH, HEADS, batch_first=True, dtype=torch.float64)
    norm = torch.nn.LayerNorm(WIDTH, dtype=torch.float64)
    linear = torch.nn.Linear(TOKENS * WIDTH, CLASSES, dtype=torch.float64)
    parameters = {}
    for letter, block in zip("qkv", np.split(_tensor(attention.in_proj_weight), 3)):
        parameters[f"W{letter}1"] = block.tolist()
    for letter, block in zip("qkv", np.split(_tensor(attention.in_proj_bias), 3)):
        parameters[f"b{letter}1"] = block.tolist()
    parameters.update(Wo1=_tensor(attention.out_proj.weight).tolist(), bo1=_tensor(attention.out_proj.bias).tolist(),
                      gamma2=_tensor(norm.weight).tolist(), beta2=_tensor(norm.bias).tolist(),
                      W4=_tensor(linear.weight).tolist(), b4=_tensor(linear.bias).tolist())
    x, t = _sequence_data(seed, (TOKENS, WIDTH))
    problem = from_dict({"network": {"input_shape": [TOKENS, WIDTH], "loss": "cross_entropy", "layers": [
        {"type": "attention", "heads": HEADS, "residual": True}, {"type": "layernorm"}, {"type": "flatten"},
        {"units": CLASSES, "activation": "softmax"}]},
        "parameters": parameters, "data": {"x": x.tolist(), "t": t.tolist()}, "optimizer": {"lr": LR}})
    model = torch.nn.ModuleDict({"attention": attention, "norm": norm, "linear": linear})
    state = {k: v.clone() for k, v in model.state_dict().items()}

    def torch_step(dtype: str):
        kind_ = getattr(torch, dtype)
        mine = torch.nn.ModuleDict({"attention": torch.nn.MultiheadAttention(WIDTH, HEADS, batch_first=True,
                                                                             dtype=kind_),
                                    "norm": torch.nn.LayerNorm(WIDTH, dtype=kind_),
                                    "linear": torch.nn.Linear(TOKENS * WIDTH, CLASSES, dtype=kind_)})
        mine.load_state_dict({k: v.to(kind_) for k, v in state.items()})
        optimizer = torch.optim.SGD(mine.parameters(), lr=LR)
        xb, tb = torch.tensor(x, dtype=kind_), torch.tensor(t, dtype=kind_)

        def step() -> float:
            optimizer.zero_grad()
            attended = mine["attention"](xb, xb, xb, need_weights=False)[0] + xb
            loss = F.cross_entropy(mine["linear"](mine["norm"](attended).flatten(1)), tb)
            loss.backward()
            optimizer.step()
            return loss.item()

        return step

    return problem, torch_step


def cnn_case():
    problem, values, x, t = problem_and_tensors()
    return problem, lambda dtype: torch_stepper(values, x, t, dtype)


CASES = {
    "cnn": ("1x28x28 -> conv 8@3x3 relu -> maxpool 2 -> flatten -> dense 10 softmax-CE, batch 32", cnn_case),
    "rnn": (f"{SEQUENCE}x{FEATURES} -> rnn {HIDDEN} tanh (last) -> dense 10 softmax-CE, batch {SEQUENCE_BATCH}",
            lambda: recurrent_case("rnn")),
    "lstm": (f"{SEQUENCE}x{FEATURES} -> lstm {HIDDEN} (last) -> dense 10 softmax-CE, batch {SEQUENCE_BATCH}",
             lambda: recurrent_case("lstm")),
    "attention": ((f"{TOKENS}x{WIDTH} -> attention {HEADS} heads + residual -> layernorm -> flatten -> dense 10 "
                   f"softmax-CE, batch {SEQUENCE_BATCH}"), attention_case),
}


def memory_growth(step, steps: int) -> dict:
    """handprop's resident size (MB) after WARM_UP_STEPS steps and after `steps` more, in this process."""
    for _ in range(WARM_UP_STEPS):
        step()
    before = resident_mb()
    for _ in range(steps):
        step()
    after = resident_mb()
    return {"rss_mb_warm": before, "rss_mb_after": after, "growth_mb": after - before,
            "pass": after - before < MEMORY_GROWTH_MB}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="interleaved rounds per dtype (default 21)")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES), help="the networks to time")
    parser.add_argument("--memory-steps", type=int, default=10_000,
                        help="steps of each case for the resident-size check, after 1,000 of warm-up (0: none)")
    parser.add_argument("--json", action="store_true", help="print the results, with every timing, as JSON")
    args = parser.parse_args()
    rows = []
    for case in args.cases:
        label, make = CASES[case]
        problem, torch_step = make()
        for dtype in ("float64", "float32"):
            ours, engine = handprop_stepper(problem, dtype)
            steps = {"handprop": ours, "torch": torch_step(dtype)}
            check_agreement(f"{case} {dtype}", steps, dtype)
            timings = time_interleaved(steps, args.repeats)
            mine, theirs = statistics.median(timings["handprop"]), statistics.median(timings["torch"])
            memory = memory_growth(ours, args.memory_steps) if args.memory_steps else None
            rows.append({"case": case, "label": label, "dtype": dtype, "engine": engine, "handprop_us": mine,
                         "torch_us": theirs, "ratio": theirs / mine, "target": TARGET, "pass": theirs / mine >= TARGET,
                         "min_ratio": min(timings["torch"]) / min(timings["handprop"]), "memory": memory,
                         "handprop_timings_us": timings["handprop"], "torch_timings_us": timings["torch"]})
    info = machine()
    passed = all(r["pass"] and (r["memory"] is None or r["memory"]["pass"]) for r in rows)
    if args.json:
        print(json.dumps({"machine": info, "repeats": args.repeats, "block_seconds": BLOCK_SECONDS,
                          "memory_steps": args.memory_steps, "speed": rows, "pass": passed}, indent=2))
        return 0 if passed else 1
    print(f"{info['date']}; {info['cpus']} CPUs, {info['cpu']}; Python {info['python']}")
    print(f"NumPy {info['numpy']} (OpenBLAS kernel {info['numpy_blas_kernel']}); torch {info['torch']} "
          f"({info['torch_threads']} thread)")
    print(f"one thread each; medians of {args.repeats} interleaved blocks of about {BLOCK_SECONDS * 1000:.0f} ms; "
          "one step each (forward, loss, backward, SGD update)\n")
    for case in args.cases:
        print(f"{case}: {CASES[case][0]}")
    growth = f"RSS growth over {args.memory_steps:,} steps" if args.memory_steps else ""
    print(f"\n{'case':<10} {'dtype':<8} {'handprop us':>11} {'torch us':>9} {'torch / handprop':>16} "
          f"{'(fastest blocks)':>17}  speed  {growth}")
    print(f"{'-' * 10} {'-' * 8} {'-' * 11} {'-' * 9} {'-' * 16} {'-' * 17}  -----  {'-' * len(growth)}")
    for r in rows:
        memory = r["memory"]
        grew = (f"{memory['growth_mb']:+.2f} MB ({memory['rss_mb_warm']:.1f} -> {memory['rss_mb_after']:.1f})  "
                f"{'PASS' if memory['pass'] else 'FAIL'}") if memory else ""
        print(f"{r['case']:<10} {r['dtype']:<8} {r['handprop_us']:>11.1f} {r['torch_us']:>9.1f} "
              f"{r['ratio']:>15.2f}x {r['min_ratio']:>16.2f}x  {'PASS' if r['pass'] else 'FAIL'}   {grew}")
    print(f"\ntargets: torch / handprop >= {TARGET:g}x for every case and dtype (medians)"
          + (f"; resident-size growth under {MEMORY_GROWTH_MB:g} MB over {args.memory_steps:,} steps after "
             f"{WARM_UP_STEPS:,} of warm-up" if args.memory_steps else ""))
    print(f"all targets met: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
