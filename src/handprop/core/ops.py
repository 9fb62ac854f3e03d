"""The closed table of operations.

One entry per op: its name, how many arguments it takes, its forward function,
its local partial derivatives, how it is written in text and in LaTeX, and the
domain it is defined on. The interpreter, the parser, the layered lowering and
the renderers all read this table; adding an activation is adding one entry
here (and its line in the op tests), nowhere else.

Conventions follow PyTorch (torch.nn.functional) wherever a choice exists:
relu'(0) = 0 (as the homework's step function u(0) = 0), leaky_relu'(0) = alpha,
abs'(0) = 0, softplus(x) = x above the threshold 20.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .algebra import ONE, ZERO, call, const, div, mul, neg, power, sub



@dataclass(frozen=True)
class Op:
    name: str
    arity: int  # number of arguments; 0 means "one or more" (softmax)
    forward: Callable[..., float]  # the value, from the argument values
    partials: Callable[..., tuple]  # d out / d arg_i for each i, from the argument values and the output
    text: str  # plain-text template, {0} {1} are the arguments
    latex: str  # LaTeX template
    domain: Callable[..., str | None] | None = None  # returns why the arguments are outside it
    precedence: int = 100  # for printing: higher binds tighter
    multi_output: bool = False  # softmax: one output per argument
    description: str = ""
    # The same partials in symbols, for the worked solution: from the argument expressions and the
    # output's expression (the node's own name at the top of an equation, so da/dh = a(1 - a)).
    symbolic: Callable[..., tuple] | None = None


def _relu(x: float) -> float:
    return x if x > 0 else 0.0


def _sigmoid(x: float) -> float:
    # Split by sign so that exp never overflows.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


_SOFTPLUS_THRESHOLD = 20.0  # torch.nn.functional.softplus default: linear above it


def _softplus(x: float) -> float:
    return x if x > _SOFTPLUS_THRESHOLD else math.log1p(math.exp(x))


def _softplus_partial(x: float) -> float:
    return 1.0 if x > _SOFTPLUS_THRESHOLD else _sigmoid(x)


def _pow(x: float, y: float) -> float:
    out = x**y
    if isinstance(out, complex):
        raise ValueError("a negative number to a non-integer power")
    return float(out)


def _pow_partials(x: float, y: float, out: float) -> tuple:
    d_base = y * x ** (y - 1) if y != 0 else 0.0
    # d/dy x^y = x^y ln x; only defined for x > 0 (0 at x = 0, as torch).
    if x > 0:
        d_exponent = out * math.log(x)
    elif x == 0:
        d_exponent = 0.0
    else:
        d_exponent = math.nan
    return (float(d_base) if not isinstance(d_base, complex) else math.nan, d_exponent)


def softmax(*xs: float) -> tuple:
    """Softmax computed stably (the largest argument subtracted first).

    >>> [round(v, 4) for v in softmax(1.0, 0.0)]
    [0.7311, 0.2689]
    """
    top = max(xs)
    exps = [math.exp(x - top) for x in xs]
    total = math.fsum(exps)
    return tuple(e / total for e in exps)


def softmax_jacobian(ys: tuple) -> tuple:
    """dy_i/do_j = y_i (delta_ij - y_j), row i for output i."""
    n = len(ys)
    return tuple(tuple(ys[i] * ((1.0 if i == j else 0.0) - ys[j]) for j in range(n)) for i in range(n))


def _positive(x: float) -> str | None:
    return None if x > 0 else f"log of {x!r} (a positive argument)"


def _non_negative_sqrt(x: float) -> str | None:
    if x < 0:
        return f"sqrt of {x!r} (a non-negative argument)"
    if x == 0:
        return "sqrt at 0, where its derivative is infinite (a positive argument)"
    return None


def _nonzero_divisor(x: float, y: float) -> str | None:
    return None if y != 0 else f"division of {x!r} by zero (a non-zero divisor)"


def _pow_domain(x: float, y: float) -> str | None:
    if x == 0 and y < 0:
        return f"0 to the negative power {y!r} (a non-zero base)"
    if x < 0 and y != int(y):
        return f"{x!r} to the non-integer power {y!r} (a non-negative base)"
    return None


OPS: dict[str, Op] = {}


def _add(op: Op) -> None:
    OPS[op.name] = op


# Arithmetic. Precedence follows Python's: + - 10, * / 20, unary minus 30, ** 40.
_add(Op("add", 2, lambda x, y: x + y, lambda x, y, out: (1.0, 1.0), "{0} + {1}", "{0} + {1}", precedence=10,
        symbolic=lambda x, y, out: (ONE, ONE)))
_add(Op("sub", 2, lambda x, y: x - y, lambda x, y, out: (1.0, -1.0), "{0} - {1}", "{0} - {1}", precedence=10,
        symbolic=lambda x, y, out: (ONE, const(-1))))
_add(Op("mul", 2, lambda x, y: x * y, lambda x, y, out: (y, x), "{0}*{1}", "{0} {1}", precedence=20,
        symbolic=lambda x, y, out: (y, x)))
_add(Op("div", 2, lambda x, y: x / y, lambda x, y, out: (1.0 / y, -x / (y * y)), "{0}/{1}",
        r"\frac{{{0}}}{{{1}}}", domain=_nonzero_divisor, precedence=20,
        symbolic=lambda x, y, out: (div(ONE, y), neg(div(x, power(y, const(2)))))))
_add(Op("neg", 1, lambda x: -x, lambda x, out: (-1.0,), "-{0}", "-{0}", precedence=30,
        symbolic=lambda x, out: (const(-1),)))
_add(Op("pow", 2, _pow, _pow_partials, "{0}**{1}", "{0}^{{{1}}}", domain=_pow_domain, precedence=40,
        symbolic=lambda x, y, out: (mul(y, power(x, sub(y, ONE))), mul(out, call("log", x)))))

# Functions, as they may be called in equations.
_add(Op("identity", 1, lambda x: x, lambda x, out: (1.0,), "{0}", "{0}",
        description="f(x) = x", symbolic=lambda x, out: (ONE,)))
_add(Op("relu", 1, _relu, lambda x, out: (1.0 if x > 0 else 0.0,), "relu({0})",
        r"\operatorname{{ReLU}}({0})", description="max(0, x); derivative u(x), with u(0) = 0",
        symbolic=lambda x, out: (call("step", x),)))
_add(Op("leaky_relu", 2, lambda x, alpha: x if x > 0 else alpha * x,
        # The slope alpha is a constant, never trained: its partial is not used.
        lambda x, alpha, out: (1.0 if x > 0 else alpha, 0.0),
        "leaky_relu({0}, {1})", r"\operatorname{{LeakyReLU}}_{{{1}}}({0})",
        description="x if x > 0 else alpha*x (alpha default 0.01, as torch)",
        symbolic=lambda x, alpha, out: (call("leaky_step", x, alpha), ZERO)))
_add(Op("sigmoid", 1, _sigmoid, lambda x, out: (out * (1.0 - out),), "sigmoid({0})", r"\sigma({0})",
        description="1/(1 + e^-x)", symbolic=lambda x, out: (mul(out, sub(ONE, out)),)))
_add(Op("tanh", 1, math.tanh, lambda x, out: (1.0 - out * out,), "tanh({0})", r"\tanh({0})",
        description="hyperbolic tangent", symbolic=lambda x, out: (sub(ONE, power(out, const(2))),)))
_add(Op("softplus", 1, _softplus, lambda x, out: (_softplus_partial(x),), "softplus({0})",
        r"\operatorname{{softplus}}({0})", description="ln(1 + e^x), x above 20 (as torch)",
        symbolic=lambda x, out: (call("sigmoid", x),)))
_add(Op("exp", 1, math.exp, lambda x, out: (out,), "exp({0})", r"e^{{{0}}}", description="e^x",
        symbolic=lambda x, out: (out,)))
_add(Op("log", 1, math.log, lambda x, out: (1.0 / x,), "log({0})", r"\ln({0})", domain=_positive,
        description="natural logarithm", symbolic=lambda x, out: (div(ONE, x),)))
_add(Op("sqrt", 1, math.sqrt, lambda x, out: (0.5 / out,), "sqrt({0})", r"\sqrt{{{0}}}",
        domain=_non_negative_sqrt, description="square root", symbolic=lambda x, out: (div(ONE, mul(const(2), out)),)))
_add(Op("abs", 1, abs, lambda x, out: ((1.0 if x > 0 else -1.0 if x < 0 else 0.0),), "abs({0})",
        r"\left|{0}\right|", description="|x|; derivative sign(x), 0 at 0 (as torch)",
        symbolic=lambda x, out: (call("sign", x),)))
_add(Op("softmax", 0, softmax, lambda *args: softmax_jacobian(args[-1]), "softmax({0})",
        r"\operatorname{{softmax}}({0})", multi_output=True,
        description="e^x_i / sum_j e^x_j; returns one output per argument"))

# Binary cross-entropy of one probability, as torch.nn.functional.binary_cross_entropy takes it: each log
# clamped at -100 (so a probability of exactly 0 or 1 gives a finite loss), and the gradient
# (y - t) / max(y (1 - y), 1e-12).
BCE_LOG_FLOOR = -100.0
BCE_EPSILON = 9.999999960041972e-13  # torch's EPSILON = 1e-12 is a C float: this is that float, as a double


def _clamped_log(x: float) -> float:
    """max(ln x, -100), with ln 0 taken as -100."""
    return max(math.log(x), BCE_LOG_FLOOR) if x > 0 else BCE_LOG_FLOOR


def _clamped_log_complement(y: float) -> float:
    """max(ln(1 - y), -100), as torch's log1p(-y), with ln 0 taken as -100."""
    return max(math.log1p(-y), BCE_LOG_FLOOR) if y < 1 else BCE_LOG_FLOOR


def _bce(y: float, t: float) -> float:
    return -(t * _clamped_log(y) + (1.0 - t) * _clamped_log_complement(y))


def _bce_partials(y: float, t: float, out: float) -> tuple:
    return ((y - t) / max(y * (1.0 - y), BCE_EPSILON), _clamped_log_complement(y) - _clamped_log(y))


def _probability(y: float, t: float) -> str | None:
    return None if 0.0 <= y <= 1.0 else f"binary cross-entropy of {y!r} (a probability from 0 to 1)"


_add(Op("bce", 2, _bce, _bce_partials, "bce({0}, {1})", r"\operatorname{{BCE}}({0}, {1})", domain=_probability,
        description="-(t ln y + (1 - t) ln(1 - y)), each log clamped at -100 (as torch)",
        symbolic=lambda y, t, out: (div(sub(y, t), mul(y, sub(ONE, y))),
                                    sub(call("log", sub(ONE, y)), call("log", y)))))

# Derivatives that are written as functions of their own in a worked solution; not callable in equations.
_add(Op("step", 1, lambda x: 1.0 if x > 0 else 0.0, lambda x, out: (0.0,), "u({0})", "u({0})",
        description="the step function u(x) = 1 if x > 0 else 0 (relu's derivative)", symbolic=lambda x, out: (ZERO,)))
_add(Op("leaky_step", 2, lambda x, alpha: 1.0 if x > 0 else alpha, lambda x, alpha, out: (0.0, 0.0),
        "u_alpha({0}, {1})", "u_{{{1}}}({0})", description="1 if x > 0 else alpha (leaky_relu's derivative)",
        symbolic=lambda x, alpha, out: (ZERO, ZERO)))
_add(Op("sign", 1, lambda x: 1.0 if x > 0 else -1.0 if x < 0 else 0.0, lambda x, out: (0.0,), "sign({0})",
        r"\operatorname{{sign}}({0})", description="the sign of x, 0 at 0 (abs's derivative)",
        symbolic=lambda x, out: (ZERO,)))

# What a user may call by name in an equation, and what a layer may use as activation.
FUNCTIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "softplus", "exp", "log", "sqrt", "abs", "softmax", "bce")
ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "softmax")
LEAKY_RELU_DEFAULT_ALPHA = 0.01  # torch.nn.LeakyReLU's negative_slope default
