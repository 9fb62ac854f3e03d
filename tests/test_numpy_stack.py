"""The NumPy engine of layer kinds against the scalar engine: loss, every gradient and the parameters after 1, 3 and
10 steps of each optimizer, to 1e-12 in float64; float32 near float64; ties in max-pooling windows; the choice of
engine and `handprop train --engine numpy`."""

from __future__ import annotations

import json
import math
import random
from itertools import product

import pytest

from conftest import SETTINGS, write, trained_on_both_engines
from handprop.core.errors import HandpropError
from handprop.engine.choice import make_engine
from handprop.engine.interpreter import run_batch
from handprop.engine.scalar import ScalarEngine
from handprop.problem.spec import from_dict

np = pytest.importorskip("numpy")
from handprop.engine.numpy_stack import NumpyStackEngine  # noqa: E402  (needs NumPy)

REL = 1e-12
OPTIMIZERS = [{"name": "sgd", "lr": 0.1}, {"name": "sgd", "lr": 0.05, "momentum": 0.9},
              {"name": "adam", "lr": 0.01}, {"name": "rmsprop", "lr": 0.01}, {"name": "adagrad", "lr": 0.1}]
HIDDEN = ["relu", "leaky_relu", "tanh", "sigmoid", "elu", "gelu", "softplus", "silu", "identity"]
# (output activation, loss): each loss with an output that keeps it in its domain
HEADS = [("softmax", "cross_entropy"), ("sigmoid", "cross_entropy"), ("sigmoid", "binary_cross_entropy"),
         ("identity", "mse"), ("tanh", "half_sse")]
SHAPES = ["conv2d", "conv1d", "pool_first", "grid_output"]


def nested(values, shape):
    """values (an iterator) as a nested list of the shape, in C order."""
    if not shape:
        return next(values)
    return [nested(values, shape[1:]) for _ in range(shape[0])]


def _activation(rng, name=None) -> dict:
    name = name or rng.choice(HIDDEN)
    return {"activation": name, **SETTINGS.get(name, {})}


def random_stack(shape: str, head: str, loss: str, batch: int, optimizer: dict, *, seed: int) -> dict:
    """A random network of layer kinds, drawn from random.Random(seed): each shape's own layers, sizes, strides
    and paddings, hidden activations, the head and its loss, parameters drawn by init "uniform" (biases too), inputs
    in [-2, 2] and targets that fit the output (one-hot for softmax; 0, 1 or 0.3 for sigmoid; else in [-1, 1])."""
    rng = random.Random(seed)
    outputs = rng.choice([2, 3])
    dense_head = {"units": outputs, **_activation(rng, head)}
    if shape == "conv2d":  # conv2d with stride and padding, max-pooling, dense
        input_shape = [rng.choice([1, 2]), rng.randint(5, 7), rng.randint(5, 7)]
        layers = [{"type": "conv2d", "channels": rng.choice([2, 3]), "kernel": rng.choice([2, 3, [2, 3]]),
                   "stride": rng.choice([1, 2, [2, 1]]), "padding": rng.choice([0, 1, [1, 0]]), **_activation(rng)},
                  {"type": "maxpool2d", "kernel": 2, "stride": rng.choice([1, 2])},
                  {"type": "flatten"}, {"units": 3, **_activation(rng)}, dense_head]
    elif shape == "conv1d":  # conv1d twice, average then max-pooling with overlapping windows
        input_shape = [2, rng.randint(8, 11)]
        layers = [{"type": "conv1d", "channels": 3, "kernel": 3, "stride": 2, "padding": 1, **_activation(rng)},
                  {"type": "avgpool1d", "kernel": 2, "stride": 1},
                  {"type": "conv1d", "channels": 2, "kernel": 2, "bias": "none", **_activation(rng)},
                  {"type": "maxpool1d", "kernel": 2, "stride": 1}, {"type": "flatten"}, dense_head]
    elif shape == "pool_first":  # a pool on the inputs, a padding wider than the kernel's reach, a pool of 3
        input_shape = [2, 6, 6]
        layers = [{"type": "avgpool2d", "kernel": 2, "stride": 1},
                  {"type": "conv2d", "channels": 2, "kernel": 2, "padding": 2, "bias": False, **_activation(rng)},
                  {"type": "maxpool2d", "kernel": 3, "stride": 2}, {"type": "flatten"}, dense_head]
    else:  # a convolution as the output layer: the loss over a grid (flattened in C order)
        input_shape = [1, 4, 4]
        layers = [{"type": "conv2d", "channels": 2, "kernel": 2, "padding": 1, **_activation(rng)},
                  {"type": "maxpool2d", "kernel": 2},
                  {"type": "conv2d", "channels": 2, "kernel": 1, **_activation(rng, head)}]  # (2, 2, 2)
    raw = {"network": {"input_shape": input_shape, "layers": layers, "loss": loss},
           "parameters": {"init": "uniform", "seed": seed}, "optimizer": optimizer}
    out_shape = (2, 2, 2) if shape == "grid_output" else (outputs,)
    count = math.prod(out_shape)
    if head == "softmax":
        targets = [[1.0 if j == k else 0.0 for j in range(count)] for k in [rng.randrange(count) for _ in range(batch)]]
    elif head == "sigmoid":
        targets = [[rng.choice([0.0, 1.0, 0.3]) for _ in range(count)] for _ in range(batch)]
    else:
        targets = [[rng.uniform(-1, 1) for _ in range(count)] for _ in range(batch)]
    raw["data"] = {"x": [nested(iter(lambda: rng.uniform(-2, 2), None), input_shape) for _ in range(batch)],
                   "t": [nested(iter(row), out_shape) for row in targets]}
    return raw


def run(engine, problem, steps: int) -> tuple:
    """Losses and gradients at each step's start, and the parameters after steps 1, 3 and 10 (those reached)."""
    optimizer = engine.make_optimizer(problem.optimizer)
    losses, gradients, after = [], [], {}
    for step in range(1, steps + 1):
        losses.append(engine.loss_and_gradients())
        gradients.append(engine.gradients())
        engine.step(optimizer)
        if step in (1, 3, 10):
            after[step] = engine.parameters()
    return losses, gradients, after


def assert_close(fast: dict, slow: dict, rel: float, what: str) -> None:
    """Each value within rel of the scalar one, or of the largest of them (a gradient that cancels to nearly 0)."""
    assert list(fast) == list(slow), what
    scale = max(abs(v) for v in slow.values())
    for name, value in slow.items():
        assert fast[name] == pytest.approx(value, rel=rel, abs=rel * scale), f"{what}: {name}"


def assert_engines_agree(problem, steps: int = 10) -> None:
    losses, gradients, after = run(ScalarEngine(problem), problem, steps)
    fast_losses, fast_gradients, fast_after = run(NumpyStackEngine(problem), problem, steps)
    assert fast_losses == pytest.approx(losses, rel=REL)
    for step, (fast, slow) in enumerate(zip(fast_gradients, gradients), 1):
        assert_close(fast, slow, REL, f"gradient at step {step}")
    for step, parameters in after.items():
        assert_close(fast_after[step], parameters, REL, f"parameters after step {step}")


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: o["name"] + ("+momentum" if "momentum" in o else ""))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("head, loss", HEADS)
def test_the_numpy_engine_takes_the_scalar_engines_steps(shape, head, loss, optimizer):
    seed = SHAPES.index(shape) * 100 + HEADS.index((head, loss)) * 10 + OPTIMIZERS.index(optimizer)
    batch = seed % 5 + 1  # 1 to 5 samples
    assert_engines_agree(from_dict(random_stack(shape, head, loss, batch, optimizer, seed=seed)))


@pytest.mark.parametrize("hidden", HIDDEN + ["selu", "celu", "mish", "softsign", "hardtanh", "hardsigmoid",
                                             "logsigmoid"])
def test_every_activation_of_a_convolution(hidden):
    raw = random_stack("conv2d", "softmax", "cross_entropy", 3, {"name": "sgd", "lr": 0.2}, seed=7)
    first = raw["network"]["layers"][0]
    raw["network"]["layers"][0] = {key: first[key] for key in ("type", "channels", "kernel", "stride", "padding")}
    raw["network"]["layers"][0].update(_activation(random.Random(0), hidden))
    assert_engines_agree(from_dict(raw), steps=3)


def test_a_mini_batch_of_rows_is_the_scalar_engines():
    problem = from_dict(random_stack("conv2d", "softmax", "cross_entropy", 5, {"name": "adam", "lr": 0.01}, seed=3))
    scalar, fast = ScalarEngine(problem), NumpyStackEngine(problem)
    for rows in ([1, 3], [4], range(2, 5), [0, 1, 2, 3, 4]):
        assert fast.loss_and_gradients(rows) == pytest.approx(scalar.loss_and_gradients(rows), rel=REL)
        assert_close(fast.gradients(), scalar.gradients(), REL, f"rows {rows}")
    assert np.asarray(fast.outputs()) == pytest.approx(np.asarray(scalar.outputs()), rel=REL)


def tie_problem() -> dict:
    """Integer inputs and a kernel of halves: the convolution's values are exact and tie often, and relu gives
    zeros; overlapping max-pooling windows (stride 1) hold those ties."""
    rng = random.Random(11)
    return {"network": {"input_shape": [1, 5, 5], "loss": "half_sse", "layers": [
        {"type": "conv2d", "channels": 2, "kernel": 2, "activation": "relu"},
        {"type": "maxpool2d", "kernel": 2, "stride": 1}, {"type": "flatten"}, {"units": 2}]},
        "parameters": {"K1": [[[[0.5, 0.5], [0.0, 0.5]]], [[[1.0, 0.0], [0.0, 1.0]]]], "b1": [0.0, -1.0],
                       "W4": [[rng.uniform(-1, 1) for _ in range(18)] for _ in range(2)], "b4": [0.1, -0.2]},
        "data": {"x": [[[[rng.choice([0, 1, 2]) for _ in range(5)] for _ in range(5)]] for _ in range(3)],
                 "t": [[0.5, -0.5]] * 3},
        "optimizer": {"name": "sgd", "lr": 0.05}}


def test_ties_in_max_pooling_windows_go_to_the_first_largest_as_the_scalar_engine():
    problem = from_dict(tie_problem())
    # the test holds ties: a window whose largest value appears more than once (from the interpreter's values)
    _, _, traces = run_batch(problem.program, problem.parameters, problem.data, problem.batch_size)
    ties = 0
    for trace, o, p, q in product(traces, range(2), range(3), range(3)):
        window = [trace.values[f"a1[{o + 1},{p + i + 1},{q + j + 1}]"] for i in range(2) for j in range(2)]
        ties += window.count(max(window)) > 1
    assert ties >= 10
    assert_engines_agree(problem)


def test_a_tie_routes_the_gradient_to_the_first_in_reading_order():
    # z = channel 1 of x (a 1x1 kernel [1, 0]); its window [[1, 3], [3, 0]] ties at (1, 2) and (2, 1). L = p^2/2,
    # so dL/dp = 3, and dL/dK[1,2] = 3 x (channel 2 at the first largest, (1, 2)) = 3 x 20 = 60, not 3 x 30.
    problem = from_dict({"network": {"input_shape": [2, 2, 2], "loss": "half_sse", "layers": [
        {"type": "conv2d", "channels": 1, "kernel": 1, "bias": "none"}, {"type": "maxpool2d", "kernel": 2},
        {"type": "flatten"}, {"units": 1, "bias": "none"}]},
        "parameters": {"K1": [[[[1.0]], [[0.0]]]], "W4": [[1.0]]},
        "data": {"x": [[[1, 3], [3, 0]], [[10, 20], [30, 40]]], "t": [0.0]}})
    engine = NumpyStackEngine(problem)
    assert engine.loss_and_gradients() == 4.5
    assert engine.gradients() == {"K1[1,1,1,1]": 9.0, "K1[1,2,1,1]": 60.0, "W4[1,1]": 9.0}
    scalar = ScalarEngine(problem)  # the op maxpool's partials: the same
    scalar.loss_and_gradients()
    assert scalar.gradients() == engine.gradients()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("optimizer", [OPTIMIZERS[1], OPTIMIZERS[2]], ids=["momentum", "adam"])
def test_float32_is_near_float64(shape, optimizer):
    head, loss = ("identity", "mse") if shape == "grid_output" else ("softmax", "cross_entropy")
    problem = from_dict(random_stack(shape, head, loss, 4, optimizer, seed=21))
    losses, gradients, after = run(NumpyStackEngine(problem), problem, 3)
    single = NumpyStackEngine(problem, dtype="float32")
    assert single.theta.dtype == np.float32
    single_losses, single_gradients, single_after = run(single, problem, 3)
    assert single_losses == pytest.approx(losses, rel=1e-4)
    assert_close(single_gradients[0], gradients[0], 1e-4, "gradient")
    assert_close(single_after[3], after[3], 1e-4, "parameters after step 3")


def test_float32_refuses_a_value_beyond_its_range():
    raw = random_stack("conv1d", "identity", "mse", 2, {"name": "sgd", "lr": 0.1}, seed=5)
    raw["data"]["x"][1][0][2] = 1e39
    with pytest.raises(HandpropError, match=r"x\[1,3\], sample 2.*beyond float32's largest"):
        NumpyStackEngine(from_dict(raw), dtype="float32")
    NumpyStackEngine(from_dict(raw))  # float64 holds it


def test_the_choice_of_engine():
    problem = from_dict(random_stack("conv2d", "softmax", "cross_entropy", 5, {"name": "sgd", "lr": 0.1}, seed=1))
    assert isinstance(make_engine(problem, engine="numpy"), NumpyStackEngine)
    assert isinstance(make_engine(problem, engine="auto", dtype="float32"), NumpyStackEngine)
    assert make_engine(problem, engine="auto", steps=1).name == "scalar"  # small: not timed
    assert make_engine(problem, engine="auto", steps=10_000).name in ("scalar", "numpy")  # timed


def test_a_kind_the_engine_does_not_compute_is_named_and_auto_stays_scalar(monkeypatch):
    from handprop.engine import numpy_stack_kernels

    problem = from_dict(random_stack("conv1d", "identity", "mse", 3, {"name": "sgd", "lr": 0.1}, seed=2))
    monkeypatch.delitem(numpy_stack_kernels.KERNELS, "avgpool1d")  # as a kind it has no kernel for
    with pytest.raises(HandpropError) as error:
        make_engine(problem, engine="numpy")
    assert "avgpool1d" in error.value.what and "layer 2" in error.value.what
    assert "\n" not in str(error.value)
    assert make_engine(problem, engine="auto", steps=100_000).name == "scalar"


def test_the_dense_networks_keep_their_engine():
    from conftest import random_network
    from handprop.engine.numpy_engine import NumpyEngine

    engine = make_engine(from_dict(random_network([3, 4, 2], "relu", "softmax", "cross_entropy", 3)), engine="numpy")
    assert type(engine) is NumpyEngine


@pytest.mark.parametrize("optimizer", [OPTIMIZERS[0], OPTIMIZERS[2]], ids=["sgd", "adam"])
def test_train_on_the_numpy_engine_agrees_with_the_scalar_engine(cli, tmp_path, optimizer):
    raw = random_stack("conv2d", "softmax", "cross_entropy", 4, optimizer, seed=9)
    path = write(tmp_path, "cnn.json", json.dumps(raw))
    scalar, fast = trained_on_both_engines(cli, path, 6)
    assert fast["losses"] == pytest.approx(scalar["losses"], rel=REL)
    assert [entry["loss"] for entry in fast["log"]] == pytest.approx([entry["loss"] for entry in scalar["log"]],
                                                                    rel=REL)
    assert fast.keys() == scalar.keys()
    assert_close({name: value["final"] for name, value in fast["parameters"].items()},
                 {name: value["final"] for name, value in scalar["parameters"].items()}, REL, "final parameters")
