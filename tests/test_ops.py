"""The op table, one line per op: forward against its definition, partials against finite differences,
and the kinks spelled out. Settings are keywords: leaky_relu(x, alpha=0.1)."""

from __future__ import annotations

import math

import pytest

from handprop.core.functions import log_softmax, softmax
from handprop.core.ops import ACTIVATIONS, FUNCTIONS, OPS

# op, arguments, settings, expected forward value (from the definition, written independently)
FORWARD = [
    ("add", (1.5, -2.0), {}, -0.5),
    ("sub", (1.5, -2.0), {}, 3.5),
    ("mul", (1.5, -2.0), {}, -3.0),
    ("div", (1.5, -2.0), {}, -0.75),
    ("neg", (1.5,), {}, -1.5),
    ("pow", (1.5, 2.0), {}, 2.25),
    ("pow", (-2.0, 3.0), {}, -8.0),
    ("identity", (0.7,), {}, 0.7),
    ("relu", (0.7,), {}, 0.7),
    ("relu", (-0.7,), {}, 0.0),
    ("relu", (0.0,), {}, 0.0),
    ("leaky_relu", (-2.0,), {"alpha": 0.1}, -0.2),
    ("leaky_relu", (2.0,), {"alpha": 0.1}, 2.0),
    ("sigmoid", (0.3,), {}, 1 / (1 + math.exp(-0.3))),
    ("sigmoid", (-800.0,), {}, 0.0),
    ("sigmoid", (800.0,), {}, 1.0),
    ("tanh", (0.3,), {}, (math.exp(0.6) - 1) / (math.exp(0.6) + 1)),
    ("softplus", (0.3,), {}, math.log(1 + math.exp(0.3))),
    ("softplus", (25.0,), {}, 25.0),
    ("softplus", (-800.0,), {}, 0.0),
    ("elu", (0.7,), {"alpha": 1.0}, 0.7),
    ("elu", (-0.7,), {"alpha": 0.5}, 0.5 * (math.exp(-0.7) - 1)),
    ("elu", (-800.0,), {"alpha": 0.5}, -0.5),
    ("selu", (0.7,), {}, 1.0507009873554805 * 0.7),
    ("selu", (-0.7,), {}, 1.0507009873554805 * 1.6732632423543772 * (math.exp(-0.7) - 1)),
    ("celu", (0.7,), {"alpha": 0.5}, 0.7),
    ("celu", (-0.7,), {"alpha": 0.5}, 0.5 * (math.exp(-0.7 / 0.5) - 1)),
    ("gelu", (0.7,), {"approximate": "none"}, 0.7 * 0.5 * (1 + math.erf(0.7 / math.sqrt(2)))),
    ("gelu", (-0.7,), {"approximate": "tanh"},
     0.5 * -0.7 * (1 + math.tanh(math.sqrt(2 / math.pi) * (-0.7 + 0.044715 * (-0.7) ** 3)))),
    ("silu", (0.7,), {}, 0.7 / (1 + math.exp(-0.7))),
    ("silu", (-800.0,), {}, 0.0),
    ("mish", (0.7,), {}, 0.7 * math.tanh(math.log(1 + math.exp(0.7)))),
    ("mish", (800.0,), {}, 800.0),
    ("softsign", (-3.0,), {}, -0.75),
    ("hardtanh", (0.7,), {"min_val": -1.0, "max_val": 1.0}, 0.7),
    ("hardtanh", (-2.0,), {"min_val": -1.0, "max_val": 1.0}, -1.0),
    ("hardtanh", (3.0,), {"min_val": -0.5, "max_val": 2.0}, 2.0),
    ("hardsigmoid", (0.6,), {}, 0.6),
    ("hardsigmoid", (-4.0,), {}, 0.0),
    ("hardsigmoid", (4.0,), {}, 1.0),
    ("logsigmoid", (0.7,), {}, math.log(1 / (1 + math.exp(-0.7)))),
    ("logsigmoid", (-800.0,), {}, -800.0),
    ("exp", (0.3,), {}, math.e ** 0.3),
    ("log", (2.0,), {}, 0.6931471805599453),
    ("sqrt", (2.25,), {}, 1.5),
    ("abs", (-0.3,), {}, 0.3),
    ("bce", (0.8, 1.0), {}, -math.log(0.8)),
    ("bce", (0.8, 0.0), {}, -math.log(0.2)),
    ("bce", (0.0, 1.0), {}, 100.0),  # torch clamps each log at -100: a certain, wrong answer costs 100
    ("bce", (1.0, 1.0), {}, 0.0),
    ("max", (0.3, -2.0), {}, 0.3),
    ("max", (0.3, -2.0, 1.5), {}, 1.5),
    ("maxpool", (0.3, -2.0, 1.5, 1.5), {}, 1.5),  # a pooling window's largest
    ("min", (0.3, -2.0), {}, -2.0),
    ("min", (0.3, -2.0, 1.5), {}, -2.0),
    ("clamp", (0.3,), {"min": 0.0, "max": 1.0}, 0.3),
    ("clamp", (-0.3,), {"min": 0.0, "max": 1.0}, 0.0),
    ("clamp", (1.3,), {"min": 0.0, "max": 1.0}, 1.0),
    # The derivative ops a worked solution writes as functions: u(h), u_alpha(h), sign(h).
    ("relu'", (0.2,), {}, 1.0),
    ("relu'", (0.0,), {}, 0.0),
    ("leaky_relu'", (-0.2,), {"alpha": 0.1}, 0.1),
    ("leaky_relu'", (0.2,), {"alpha": 0.1}, 1.0),
    ("abs'", (-0.2,), {}, -1.0),
    ("abs'", (0.0,), {}, 0.0),
    ("elu'", (0.0,), {"alpha": 0.5}, 0.5),
    ("elu'", (-1.0,), {"alpha": 0.5}, 0.5 * math.exp(-1.0)),
    ("selu'", (0.0,), {}, 1.0507009873554805 * 1.6732632423543772),
    ("celu'", (0.0,), {"alpha": 0.5}, 1.0),
    ("gelu'", (0.0,), {"approximate": "none"}, 0.5),
    ("gelu'", (0.0,), {"approximate": "tanh"}, 0.5),
    ("hardtanh'", (0.5,), {"min_val": -1.0, "max_val": 1.0}, 1.0),
    ("hardtanh'", (1.0,), {"min_val": -1.0, "max_val": 1.0}, 0.0),
    ("hardsigmoid'", (0.0,), {}, 0.1666666716337204),
    ("max'", (0.3, -2.0), {}, 1.0),  # d/dx_1 max(x_1, ...): its first argument is the one it is taken for
    ("max'", (-2.0, 0.3), {}, 0.0),
    ("max'", (0.3, 0.3, -2.0), {}, 0.5),
    ("min'", (-2.0, 0.3, -2.0), {}, 0.5),
    ("maxpool'", (0.3, 0.3, -2.0), {}, 1.0),  # tied: the first takes the whole gradient, as torch's max-pooling
    ("maxpool'", (0.3, 0.5), {}, 0.0),
    ("clamp'", (1.0,), {"min": 0.0, "max": 1.0}, 1.0),
    ("clamp'", (1.5,), {"min": 0.0, "max": 1.0}, 0.0),
]

# op, arguments, settings, expected partials at a kink (the conventions, as the homework and torch)
KINKS = [
    ("relu", (0.0,), {}, (0.0,)),
    ("leaky_relu", (0.0,), {"alpha": 0.1}, (0.1,)),
    ("abs", (0.0,), {}, (0.0,)),
    ("softplus", (20.5,), {}, (1.0,)),
    ("elu", (0.0,), {"alpha": 0.5}, (0.5,)),  # torch's x <= 0 branch: alpha e^0
    ("selu", (0.0,), {}, (1.0507009873554805 * 1.6732632423543772,)),
    ("hardtanh", (-1.0,), {"min_val": -1.0, "max_val": 1.0}, (0.0,)),  # 0 at both corners, as torch
    ("hardtanh", (1.0,), {"min_val": -1.0, "max_val": 1.0}, (0.0,)),
    ("hardsigmoid", (-3.0,), {}, (0.0,)),
    ("hardsigmoid", (3.0,), {}, (0.0,)),
    ("hardsigmoid", (2.9,), {}, (0.1666666716337204,)),  # torch's 1/6 is a single-precision float
    ("bce", (0.0, 1.0), {}, (-1 / 9.999999960041972e-13, 100.0)),  # torch: (y - t) / max(y (1 - y), float32(1e-12))
    ("max", (0.5, 0.5), {}, (0.5, 0.5)),  # ties share the gradient equally, as torch.maximum
    ("max", (0.5, -1.0, 0.5), {}, (0.5, 0.0, 0.5)),  # ... and as torch.amax
    ("maxpool", (0.5, -1.0, 0.5), {}, (1.0, 0.0, 0.0)),  # max-pooling: the first largest takes it all
    ("maxpool", (-1.0, 0.5, 0.5, 0.5), {}, (0.0, 1.0, 0.0, 0.0)),
    ("max", (0.5, 0.5, 0.5, 0.5), {}, (0.25, 0.25, 0.25, 0.25)),
    ("min", (-0.5, -0.5), {}, (0.5, 0.5)),  # as torch.minimum
    ("min", (2.0, -0.5, -0.5), {}, (0.0, 0.5, 0.5)),
    ("clamp", (0.0,), {"min": 0.0, "max": 1.0}, (1.0,)),  # 1 at both bounds, as torch.clamp (hardtanh's is 0)
    ("clamp", (1.0,), {"min": 0.0, "max": 1.0}, (1.0,)),
    ("clamp", (0.5,), {"min": 0.5, "max": 0.5}, (1.0,)),
]

# op, arguments, settings: points where partials are compared with central differences
SMOOTH = [
    ("add", (0.3, -1.2), {}), ("sub", (0.3, -1.2), {}), ("mul", (0.3, -1.2), {}), ("div", (0.3, -1.2), {}),
    ("neg", (0.3,), {}), ("pow", (1.3, 2.5), {}), ("pow", (-1.3, 3.0), {}), ("identity", (0.3,), {}),
    ("relu", (0.3,), {}), ("relu", (-0.3,), {}), ("leaky_relu", (0.3,), {"alpha": 0.2}),
    ("leaky_relu", (-0.3,), {"alpha": 0.2}), ("sigmoid", (0.3,), {}), ("sigmoid", (-4.0,), {}), ("tanh", (0.3,), {}),
    ("tanh", (-2.0,), {}), ("softplus", (0.3,), {}), ("softplus", (-5.0,), {}), ("exp", (0.3,), {}),
    ("log", (0.3,), {}), ("sqrt", (0.3,), {}), ("abs", (0.3,), {}), ("abs", (-0.3,), {}), ("bce", (0.3, 0.7), {}),
    ("bce", (0.9, 0.0), {}), ("elu", (0.3,), {"alpha": 0.5}), ("elu", (-0.3,), {"alpha": 0.5}),
    ("selu", (0.3,), {}), ("selu", (-0.3,), {}), ("celu", (-0.3,), {"alpha": 0.5}), ("celu", (0.3,), {"alpha": 2.0}),
    ("gelu", (0.3,), {"approximate": "none"}), ("gelu", (-1.7,), {"approximate": "none"}),
    ("gelu", (0.3,), {"approximate": "tanh"}), ("gelu", (-1.7,), {"approximate": "tanh"}),
    ("silu", (0.3,), {}), ("silu", (-2.5,), {}), ("mish", (0.3,), {}), ("mish", (-2.5,), {}),
    ("softsign", (0.3,), {}), ("softsign", (-2.5,), {}), ("hardtanh", (0.3,), {"min_val": -1.0, "max_val": 1.0}),
    ("hardtanh", (-1.3,), {"min_val": -1.0, "max_val": 1.0}), ("hardsigmoid", (0.3,), {}),
    ("hardsigmoid", (-3.5,), {}), ("logsigmoid", (0.3,), {}), ("logsigmoid", (-2.5,), {}),
    ("maxpool", (0.3, -1.2, 0.7), {}), ("max", (0.3, -1.2), {}), ("max", (0.3, -1.2, 0.7), {}), ("min", (0.3, -1.2), {}), ("min", (0.3, -1.2, 0.7), {}),
    ("clamp", (0.3,), {"min": -1.0, "max": 1.0}), ("clamp", (-1.3,), {"min": -1.0, "max": 1.0}),
    ("clamp", (2.5,), {"min": -1.0, "max": 1.0}),
]


@pytest.mark.parametrize("name, args, settings, expected", FORWARD)
def test_forward(name, args, settings, expected):
    assert OPS[name].forward(*args, **settings) == pytest.approx(expected, rel=1e-15, abs=1e-300)


@pytest.mark.parametrize("name, args, settings, expected", KINKS)
def test_partials_at_kinks(name, args, settings, expected):
    op = OPS[name]
    assert op.partials(*args, op.forward(*args, **settings), **settings) == expected


@pytest.mark.parametrize("name, args, settings", SMOOTH)
def test_partials_against_central_differences(name, args, settings):
    op = OPS[name]
    partials = op.partials(*args, op.forward(*args, **settings), **settings)
    # A negative base's power is defined only at integer exponents: there only the base's partial has a meaning.
    checked = 1 if name == "pow" and args[0] < 0 else len(args)
    for i in range(checked):
        step = 1e-6 * max(1.0, abs(args[i]))
        up = list(args)
        down = list(args)
        up[i] += step
        down[i] -= step
        numeric = (op.forward(*up, **settings) - op.forward(*down, **settings)) / (2 * step)
        assert partials[i] == pytest.approx(numeric, rel=1e-7, abs=1e-9), (name, i)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_multi_output_value_and_jacobian(name):
    op = OPS[name]
    outs = op.forward(1.0, 2.0, -0.5)
    total = math.exp(1.0) + math.exp(2.0) + math.exp(-0.5)
    shares = (math.exp(1.0) / total, math.exp(2.0) / total, math.exp(-0.5) / total)
    expected = shares if name == "softmax" else tuple(math.log(s) for s in shares)
    assert outs == pytest.approx(expected, rel=1e-15)
    jacobian = op.partials(1.0, 2.0, -0.5, outs)
    for i in range(3):
        for j in range(3):
            step = 1e-6
            up = [1.0, 2.0, -0.5]
            down = list(up)
            up[j] += step
            down[j] -= step
            numeric = (op.forward(*up)[i] - op.forward(*down)[i]) / (2 * step)
            assert jacobian[i][j] == pytest.approx(numeric, rel=1e-7, abs=1e-10)


def test_softmax_is_stable_for_large_logits():
    assert softmax(1000.0, 0.0) == (1.0, 0.0)
    assert softmax(-1000.0, -1000.0) == (0.5, 0.5)
    assert log_softmax(1000.0, -1000.0) == (0.0, -2000.0)  # where the second output itself is 0.0


def test_the_table_is_closed_and_complete():
    assert set(FUNCTIONS) <= set(OPS) and set(ACTIVATIONS) <= set(OPS)
    tested = {name for name, *_ in FORWARD} | {name for name, *_ in SMOOTH}
    assert set(OPS) - {"softmax", "log_softmax"} <= tested
    for op in OPS.values():
        assert op.name and op.words and op.latex
        # only a multi-output op (softmax) or an op of two or more arguments (max) takes any number of them
        assert op.arity > 0 or op.multi_output or op.at_least >= 2
        if op.multi_output:  # the worked solution writes its Jacobian and each output's formula
            assert op.jacobian_symbols and op.output_latex
        else:  # ... and every other op's derivative: in symbols, or as a derivative op of its own
            assert (op.symbolic is None) == (op.derivative is not None)
            assert op.derivative is None or op.name + "'" in OPS
