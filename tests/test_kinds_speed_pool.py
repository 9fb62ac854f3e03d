"""Max-pooling's disjoint windows on the NumPy engine of layer kinds (written straight into dL/dx): ties go to the
first largest, as the scalar engine, whether the windows cover the grid (stride = kernel, sizes divisible), leave a
rim (sizes not divisible) or leave gaps (stride above the kernel); and an LSTM in float32 near float64."""

from __future__ import annotations

import random

import pytest

from handprop.engine.scalar import ScalarEngine
from handprop.problem.spec import from_dict

np = pytest.importorskip("numpy")
from handprop.engine.numpy_stack import NumpyStackEngine  # noqa: E402  (needs NumPy)


def tied(side: int, kernel: int, stride: int) -> dict:
    """Integer inputs and a kernel of halves: the convolution's values are exact and tie often, relu gives zeros."""
    rng = random.Random(side * 10 + stride)
    conv = side - 1
    pooled = 2 * ((conv - kernel) // stride + 1) ** 2
    return {"network": {"input_shape": [1, side, side], "loss": "half_sse", "layers": [
        {"type": "conv2d", "channels": 2, "kernel": 2, "activation": "relu"},
        {"type": "maxpool2d", "kernel": kernel, "stride": stride}, {"type": "flatten"}, {"units": 2}]},
        "parameters": {"K1": [[[[0.5, 0.5], [0.0, 0.5]]], [[[1.0, 0.0], [0.0, 1.0]]]], "b1": [0.0, -1.0],
                       "W4": [[rng.uniform(-1, 1) for _ in range(pooled)] for _ in range(2)], "b4": [0.1, -0.2]},
        "data": {"x": [[[[rng.choice([0, 1, 2]) for _ in range(side)] for _ in range(side)]] for _ in range(3)],
                 "t": [[0.5, -0.5]] * 3},
        "optimizer": {"name": "sgd", "lr": 0.05}}


@pytest.mark.parametrize("side, kernel, stride", [(5, 2, 2), (6, 2, 2), (7, 2, 3), (7, 3, 3)])
def test_disjoint_max_pooling_windows_agree_with_the_scalar_engine(side, kernel, stride):
    problem = from_dict(tied(side, kernel, stride))
    scalar, fast = ScalarEngine(problem), NumpyStackEngine(problem)
    optimizer, fast_optimizer = scalar.make_optimizer(problem.optimizer), fast.make_optimizer(problem.optimizer)
    for _ in range(3):
        assert fast.loss_and_gradients() == pytest.approx(scalar.loss_and_gradients(), rel=1e-12)
        slow = scalar.gradients()
        largest = max(abs(v) for v in slow.values())
        for name, value in fast.gradients().items():
            assert value == pytest.approx(slow[name], rel=1e-12, abs=1e-12 * largest), name
        scalar.step(optimizer)
        fast.step(fast_optimizer)


def test_an_lstm_in_float32_is_near_float64():
    rng = random.Random(4)
    steps, features, hidden = 5, 3, 4
    parameters = {}
    for side, width in (("i", features), ("h", hidden)):
        for gate in "ifgo":
            parameters[f"W{side}{gate}1"] = [[rng.uniform(-0.5, 0.5) for _ in range(width)] for _ in range(hidden)]
    for side in "ih":
        for gate in "ifgo":
            parameters[f"b{side}{gate}1"] = [rng.uniform(-0.5, 0.5) for _ in range(hidden)]
    problem = from_dict({"network": {"input_shape": [steps, features], "loss": "mse", "layers": [
        {"type": "lstm", "hidden": hidden, "return": "all"}, {"type": "flatten"}, {"units": 2}]},
        "parameters": {**parameters, "W3": [[rng.uniform(-0.5, 0.5) for _ in range(steps * hidden)]
                                            for _ in range(2)], "b3": [0.0, 0.1]},
        "data": {"x": [[[rng.uniform(-1, 1) for _ in range(features)] for _ in range(steps)] for _ in range(6)],
                 "t": [[0.2, -0.3]] * 6}})
    wide, narrow = NumpyStackEngine(problem), NumpyStackEngine(problem, dtype="float32")
    assert narrow.loss_and_gradients() == pytest.approx(wide.loss_and_gradients(), rel=1e-5)
    exact = wide.gradients()
    largest = max(abs(v) for v in exact.values())
    for name, value in narrow.gradients().items():
        assert value == pytest.approx(exact[name], rel=1e-4, abs=1e-5 * largest), name
