"""The LSTM kernel's float32 path (its gates o, i, f, g as one call of tanh, Kernel.half_tanh) near float64 on a
network of the benchmark's shape with large pre-activations, every return mode and bias; float64 keeps the op
table's own sigmoid (its agreement with the scalar engine is test_numpy_stack_sequence's)."""

from __future__ import annotations

import pytest
from test_numpy_stack import OPTIMIZERS, assert_close, run

from handprop.problem.spec import from_dict

np = pytest.importorskip("numpy")
from handprop.engine.numpy_stack import NumpyStackEngine


def lstm_problem(ret: str, bias: str, scale: float, seed: int = 5) -> dict:
    rng = np.random.default_rng(seed)
    T, F, H, B = 6, 3, 5, 4
    params = {}
    for name, shape in (("Wi", (H, F)), ("Wh", (H, H)), ("bi", (H,)), ("bh", (H,))):
        if bias == "none" and name.startswith("b"):
            continue
        for gate in "ifgo":
            params[f"{name}{gate}1"] = (rng.uniform(-scale, scale, shape)).tolist()
    units = H if ret == "last" else T * H
    layers = [{"type": "lstm", "hidden": H, "return": ret, "bias": bias}]
    if ret == "all":
        layers.append({"type": "flatten"})
    layers.append({"units": 3, "activation": "softmax"})
    head = len(layers)
    params.update({f"W{head}": rng.uniform(-0.5, 0.5, (3, units)).tolist(),
                   f"b{head}": rng.uniform(-0.5, 0.5, 3).tolist()})
    x = rng.uniform(-1, 1, (B, T, F))
    t = np.eye(3)[rng.integers(0, 3, B)]
    return {"network": {"input_shape": [T, F], "loss": "cross_entropy", "layers": layers},
            "parameters": params, "data": {"x": x.tolist(), "t": t.tolist()}, "optimizer": OPTIMIZERS[0]}


def test_float32_takes_one_tanh_and_float64_the_op_tables_sigmoid():
    problem = from_dict(lstm_problem("last", "per_unit", 0.5))
    assert NumpyStackEngine(problem, dtype="float32")._layers[0].kernel.half_tanh
    assert not NumpyStackEngine(problem)._layers[0].kernel.half_tanh


@pytest.mark.parametrize("ret", ["last", "all"])
@pytest.mark.parametrize("bias", ["per_unit", "none"])
@pytest.mark.parametrize("scale", [0.5, 6.0])  # 6: gates saturated, pre-activations far from 0
def test_float32_lstm_is_near_float64(ret, bias, scale):
    problem = from_dict(lstm_problem(ret, bias, scale))
    losses, gradients, after = run(NumpyStackEngine(problem), problem, 3)
    single_losses, single_gradients, single_after = run(NumpyStackEngine(problem, dtype="float32"), problem, 3)
    assert single_losses == pytest.approx(losses, rel=1e-4)
    largest = max(abs(v) for v in gradients[0].values())
    for name, value in gradients[0].items():
        assert single_gradients[0][name] == pytest.approx(value, rel=1e-3, abs=1e-5 * largest), name
    assert_close(single_after[3], after[3], 1e-4, "parameters after step 3")
