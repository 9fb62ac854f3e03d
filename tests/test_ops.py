"""The op table, one line per op: forward against its definition, partials against finite differences,
and the kinks spelled out."""

from __future__ import annotations

import math

import pytest

from handprop.core.ops import ACTIVATIONS, FUNCTIONS, OPS, softmax

# op, arguments, expected forward value (from the definition, written independently)
FORWARD = [
    ("add", (1.5, -2.0), -0.5),
    ("sub", (1.5, -2.0), 3.5),
    ("mul", (1.5, -2.0), -3.0),
    ("div", (1.5, -2.0), -0.75),
    ("neg", (1.5,), -1.5),
    ("pow", (1.5, 2.0), 2.25),
    ("pow", (-2.0, 3.0), -8.0),
    ("identity", (0.7,), 0.7),
    ("relu", (0.7,), 0.7),
    ("relu", (-0.7,), 0.0),
    ("relu", (0.0,), 0.0),
    ("leaky_relu", (-2.0, 0.1), -0.2),
    ("leaky_relu", (2.0, 0.1), 2.0),
    ("sigmoid", (0.3,), 1 / (1 + math.exp(-0.3))),
    ("sigmoid", (-800.0,), 0.0),
    ("sigmoid", (800.0,), 1.0),
    ("tanh", (0.3,), (math.exp(0.6) - 1) / (math.exp(0.6) + 1)),
    ("softplus", (0.3,), math.log(1 + math.exp(0.3))),
    ("softplus", (25.0,), 25.0),
    ("softplus", (-800.0,), 0.0),
    ("exp", (0.3,), math.e ** 0.3),
    ("log", (2.0,), 0.6931471805599453),
    ("sqrt", (2.25,), 1.5),
    ("abs", (-0.3,), 0.3),
    ("bce", (0.8, 1.0), -math.log(0.8)),
    ("bce", (0.8, 0.0), -math.log(0.2)),
    ("bce", (0.0, 1.0), 100.0),  # torch clamps each log at -100: a certain, wrong answer costs 100
    ("bce", (1.0, 1.0), 0.0),
    # The derivatives written as functions in a worked solution.
    ("step", (0.2,), 1.0),
    ("step", (0.0,), 0.0),
    ("leaky_step", (-0.2, 0.1), 0.1),
    ("leaky_step", (0.2, 0.1), 1.0),
    ("sign", (-0.2,), -1.0),
    ("sign", (0.0,), 0.0),
]

# op, arguments, expected partials at a kink (the conventions, as the homework and torch)
KINKS = [
    ("relu", (0.0,), (0.0,)),
    ("leaky_relu", (0.0, 0.1), (0.1, 0.0)),
    ("abs", (0.0,), (0.0,)),
    ("softplus", (20.5,), (1.0,)),
    ("bce", (0.0, 1.0), (-1 / 9.999999960041972e-13, 100.0)),  # torch: (y - t) / max(y (1 - y), float32(1e-12))
]

# op, points where partials are compared with central differences
SMOOTH = [
    ("add", (0.3, -1.2)), ("sub", (0.3, -1.2)), ("mul", (0.3, -1.2)), ("div", (0.3, -1.2)), ("neg", (0.3,)),
    ("pow", (1.3, 2.5)), ("pow", (-1.3, 3.0)), ("identity", (0.3,)), ("relu", (0.3,)), ("relu", (-0.3,)),
    ("leaky_relu", (0.3, 0.2)), ("leaky_relu", (-0.3, 0.2)), ("sigmoid", (0.3,)), ("sigmoid", (-4.0,)),
    ("tanh", (0.3,)), ("tanh", (-2.0,)), ("softplus", (0.3,)), ("softplus", (-5.0,)), ("exp", (0.3,)),
    ("log", (0.3,)), ("sqrt", (0.3,)), ("abs", (0.3,)), ("abs", (-0.3,)), ("bce", (0.3, 0.7)), ("bce", (0.9, 0.0)),
]


@pytest.mark.parametrize("name, args, expected", FORWARD)
def test_forward(name, args, expected):
    assert OPS[name].forward(*args) == pytest.approx(expected, rel=1e-15, abs=1e-300)


@pytest.mark.parametrize("name, args, expected", KINKS)
def test_partials_at_kinks(name, args, expected):
    op = OPS[name]
    assert op.partials(*args, op.forward(*args)) == expected


@pytest.mark.parametrize("name, args", SMOOTH)
def test_partials_against_central_differences(name, args):
    op = OPS[name]
    partials = op.partials(*args, op.forward(*args))
    # leaky_relu's alpha is a constant, never differentiated; a negative base's power is defined
    # only at integer exponents, so there only the base's partial has a meaning.
    checked = 1 if name == "leaky_relu" or (name == "pow" and args[0] < 0) else len(args)
    for i in range(checked):
        step = 1e-6 * max(1.0, abs(args[i]))
        up = list(args)
        down = list(args)
        up[i] += step
        down[i] -= step
        numeric = (op.forward(*up) - op.forward(*down)) / (2 * step)
        assert partials[i] == pytest.approx(numeric, rel=1e-7, abs=1e-9), (name, i)


def test_softmax_value_and_jacobian():
    ys = softmax(1.0, 2.0, -0.5)
    total = math.exp(1.0) + math.exp(2.0) + math.exp(-0.5)
    assert ys == pytest.approx((math.exp(1.0) / total, math.exp(2.0) / total, math.exp(-0.5) / total), rel=1e-15)
    jacobian = OPS["softmax"].partials(1.0, 2.0, -0.5, ys)
    for i in range(3):
        for j in range(3):
            step = 1e-6
            up = [1.0, 2.0, -0.5]
            down = list(up)
            up[j] += step
            down[j] -= step
            numeric = (softmax(*up)[i] - softmax(*down)[i]) / (2 * step)
            assert jacobian[i][j] == pytest.approx(numeric, rel=1e-7, abs=1e-10)


def test_softmax_is_stable_for_large_logits():
    assert softmax(1000.0, 0.0) == (1.0, 0.0)
    assert softmax(-1000.0, -1000.0) == (0.5, 0.5)


def test_the_table_is_closed_and_complete():
    assert set(FUNCTIONS) <= set(OPS) and set(ACTIVATIONS) <= set(OPS)
    tested = {name for name, *_ in FORWARD} | {name for name, _ in SMOOTH}
    assert set(OPS) - {"softmax"} <= tested
    for op in OPS.values():
        assert op.text and op.latex and op.name
