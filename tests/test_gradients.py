"""Every activation and every loss: the engine's gradients against central finite differences of the loss."""

from __future__ import annotations

import math

import pytest

import handprop
from conftest import random_network
from handprop.problem.layered import LOSSES
from handprop.core.ops import ACTIVATIONS
from handprop.problem.spec import from_dict
from handprop.engine.interpreter import run_batch


def network(activation: str, loss: str, *, hidden: int = 3, batch: int = 2, seed: int = 0) -> dict:
    # Output activations that keep each loss in its domain.
    output = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss, "identity")
    return random_network([2, hidden, 2], activation, output, loss, batch, seed=seed, naming="sequential",
                          optimizer={"lr": 0.1})


def finite_difference(problem, name: str, step: float = 1e-6) -> float:
    def loss_at(delta: float) -> float:
        values = dict(problem.parameters)
        values[name] += delta
        return run_batch(problem.program, values, problem.data, problem.batch_size, backward=False)[0]

    return (loss_at(step) - loss_at(-step)) / (2 * step)


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("activation", [a for a in ACTIVATIONS])
def test_gradients_match_finite_differences(activation, loss):
    problem = from_dict(network(activation, loss))
    solution = handprop.solve(problem)
    for name, record in solution.parameters.items():
        numeric = finite_difference(problem, name)
        assert record.gradient == pytest.approx(numeric, rel=1e-6, abs=1e-8), name
        assert record.updated == problem.parameters[name] - 0.1 * record.gradient


def test_equations_with_every_function_match_finite_differences():
    text = """
u = w1*x + w2
v = exp(u/4) + sqrt(abs(u) + 1) + log(softplus(u) + 1)
a = tanh(v) * sigmoid(u) + leaky_relu(u, 0.2) - relu(-u) + w3**2 / (1 + w1**2)
p1, p2 = softmax(a, w3*u)
L = -t*log(p1) - (1 - t)*log(p2) + (a - w1)**2
"""
    raw = {"network": {"equations": text}, "parameters": {"w1": 0.3, "w2": -0.4, "w3": 0.7},
           "data": {"x": [0.5, -1.5, 2.0], "t": [1, 0, 1]}, "optimizer": {"lr": 0.1}}
    problem = from_dict(raw)
    solution = handprop.solve(problem)
    for name, record in solution.parameters.items():
        assert record.gradient == pytest.approx(finite_difference(problem, name), rel=1e-6), name


def test_shared_weight_sums_both_paths():
    problem = handprop.load("shared_weight")
    solution = handprop.solve(problem)
    assert solution.parameters["w"].gradient == pytest.approx(finite_difference(problem, "w"), rel=1e-7)


def test_several_steps_repeat_the_update():
    raw = network("tanh", "mse", batch=3)
    one = handprop.solve(from_dict(raw))
    raw["optimizer"]["steps"] = 2
    two = handprop.solve(from_dict(raw))
    raw["parameters"] = {"w": [one.parameters[f"w{i}"].updated for i in range(1, 13)],
                         "b": [one.parameters[f"b{i}"].updated for i in range(1, 6)]}
    raw["optimizer"]["steps"] = 1
    from_one = handprop.solve(from_dict(raw))
    for name, record in two.parameters.items():
        assert record.gradient == one.parameters[name].gradient  # reported at the initial parameters
        assert record.updated == pytest.approx(from_one.parameters[name].updated, rel=1e-15)
    assert two.loss_after == pytest.approx(from_one.loss_after, rel=1e-15)


def test_cross_entropy_of_a_softmax_is_computed_from_the_logits():
    # With logits 0 and -800, y2 rounds to 0.0 in floating point, yet ln y2 = -800 exactly: the loss is
    # taken as torch's cross_entropy takes it, o_i - logsumexp(o), not as ln of a rounded probability.
    text = "o1 = w*x\no2 = w*x - 800\ny1, y2 = softmax(o1, o2)\nL = -t1*log(y1) - t2*log(y2)"
    raw = {"network": {"equations": text}, "parameters": {"w": 1.0}, "data": {"x": 0.5, "t1": 0.0, "t2": 1.0},
           "optimizer": {"lr": 0.1}}
    problem = from_dict(raw)
    assert run_batch(problem.program, problem.parameters, problem.data, 1, backward=False)[0] == 800.0


@pytest.mark.parametrize("engine", ["interpreter", "compiled"])
def test_cross_entropy_of_logits_of_plus_minus_1000_is_exact(engine):
    # o1 = 1000, o2 = -1000: y2 is 0.0 in floating point, ln y2 = -2000 exactly, and dL/do = y - t.
    text = "o1 = w*x\no2 = -w*x\ny1, y2 = softmax(o1, o2)\nL = -t1*log(y1) - t2*log(y2)"
    problem = from_dict({"network": {"equations": text}, "parameters": {"w": 1000.0},
                         "data": {"x": 1.0, "t1": 0.0, "t2": 1.0}, "optimizer": {"lr": 0.1}})
    if engine == "interpreter":
        solution = handprop.solve(problem)
        assert solution.loss == 2000.0
        assert solution.nodes["o1"].gradients == (1.0,) and solution.nodes["o2"].gradients == (-1.0,)
        gradient = solution.parameters["w"].gradient
        # dL/dy2 = -t2/y2 with y2 = 0 is no finite number: recorded as None (never shown as one), while the
        # trace keeps the float's -inf and the log that the engine took from the logits.
        assert solution.nodes["y2"].gradients == (None,)
        assert solution.traces[0].adjoints["y2"] == -math.inf and solution.traces[0].logs["y2"] == -2000.0
    else:
        from handprop.engine.compiled import compile_program

        loss, (gradient,) = compile_program(problem.program)([1000.0], [(1.0, 0.0, 1.0)])
        assert loss == 2000.0
    assert gradient == 2.0  # dL/dw = dL/do1 * x - dL/do2 * x = 1 + 1
