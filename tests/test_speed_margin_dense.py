"""The NumPy engine's per-batch-size plans (each layer's arrays looked up once) and its bias gradients as one
product: the scalar engine's answers for every bias kind, and for more batch sizes than the buffers keep."""

from __future__ import annotations

import pytest

from conftest import random_network
from handprop.engine.scalar import ScalarEngine
from handprop.problem.spec import from_dict

np = pytest.importorskip("numpy")
from handprop.engine.numpy_batches import SIZES_KEPT  # noqa: E402
from handprop.engine.numpy_engine import NumpyEngine  # noqa: E402

REL = 1e-12


def assert_gradients_agree(fast, slow, rows) -> None:
    assert fast.loss_and_gradients(rows) == pytest.approx(slow.loss_and_gradients(rows), rel=REL)
    expected = slow.gradients()
    largest = max(abs(v) for v in expected.values())
    for name, value in fast.gradients().items():
        assert value == pytest.approx(expected[name], rel=REL, abs=REL * largest), name


@pytest.mark.parametrize("bias", ["per_unit", "shared", "none"])
def test_every_bias_kind_agrees_with_the_scalar_engine(bias):
    raw = random_network([3, 4, 4, 2], "relu", "softmax", "cross_entropy", 5, seed=3)
    for layer in raw["network"]["layers"][:2]:
        layer["bias"] = bias
    if bias != "per_unit":
        for n in (1, 2):
            raw["parameters"].pop(f"b{n}", None)
            raw["parameters"].update({f"b{n}": 0.1} if bias == "shared" else {})
    problem = from_dict(raw)
    assert_gradients_agree(NumpyEngine(problem), ScalarEngine(problem), None)


def test_more_batch_sizes_than_kept():
    problem = from_dict(random_network([3, 5, 5, 2], "relu", "softmax", "cross_entropy", 8, seed=4))
    fast, slow = NumpyEngine(problem), ScalarEngine(problem)
    for size in [*range(1, SIZES_KEPT + 3), 1, 2, 8]:
        assert_gradients_agree(fast, slow, list(range(size)))
