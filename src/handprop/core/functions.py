"""The scalar functions behind the op table's entries (ops.py), where a lambda would not read well: each
forward and its partials as torch.nn.functional computes them in float64 (ATen's CPU kernels), the
softmax family, the domains, and torch's constants.
"""

from __future__ import annotations

import math
import struct

from .algebra import ONE, mul, neg, sub

def exp_or_inf(x: float) -> float:
    """e^x, infinite where it overflows (as C's exp: torch's kernels divide by it or take log1p of it)."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def sigmoid(x: float) -> float:
    # Split by sign so that exp never overflows.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


SOFTPLUS_THRESHOLD = 20.0  # torch.nn.functional.softplus's default: x itself above it


def softplus(x: float) -> float:
    return x if x > SOFTPLUS_THRESHOLD else math.log1p(math.exp(x))


def pow_real(x: float, y: float) -> float:
    out = x**y
    if isinstance(out, complex):
        raise ValueError("a negative number to a non-integer power")
    return float(out)


def pow_partials(x: float, y: float, out: float) -> tuple:
    d_base = y * x ** (y - 1) if y != 0 else 0.0
    # d/dy x^y = x^y ln x; only defined for x > 0 (0 at x = 0, as torch).
    d_exponent = out * math.log(x) if x > 0 else 0.0 if x == 0 else math.nan
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


def log_softmax(*xs: float) -> tuple:
    """ln of each softmax output, o_i - logsumexp(o): exact where the output itself rounds to 0."""
    top = max(xs)
    log_total = top + math.log(math.fsum(math.exp(x - top) for x in xs))
    return tuple(x - log_total for x in xs)


def softmax_jacobian(ys: tuple) -> tuple:
    """dy_i/do_j = y_i (delta_ij - y_j), row i for output i."""
    n = len(ys)
    return tuple(tuple(ys[i] * ((1.0 if i == j else 0.0) - ys[j]) for j in range(n)) for i in range(n))


def log_softmax_jacobian(*args) -> tuple:
    """d ln y_i / d o_j = delta_ij - y_j."""
    ys = softmax(*args[:-1])
    n = len(ys)
    return tuple(tuple((1.0 if i == j else 0.0) - ys[j] for j in range(n)) for i in range(n))


def softmax_symbols(outs: tuple, i: int, j: int):
    """dy_i/do_j = y_i(delta_ij - y_j): y_i(1 - y_i) on the diagonal, -y_i y_j off it."""
    if i == j:
        return mul(outs[i], sub(ONE, outs[i]))
    first, second = sorted((i, j))
    return neg(mul(outs[first], outs[second]))


LONG_SUM = 16  # terms a written-out sum shows in full; a longer one, its first two, a cdots and its last


def summed_latex(terms: list, joiner: str = " + ") -> str:
    """Terms joined; a long sum summarised as its first two terms, a cdots and its last, so that a line (and a
    document that writes such a sum once per output) stays short.

    >>> summed_latex(["a", "b", "c"]), summed_latex([f"x_{{{k}}}" for k in range(1, 18)])
    ('a + b + c', 'x_{1} + x_{2} + \\\\cdots + x_{17}')
    """
    if len(terms) > LONG_SUM:
        terms = [*terms[:2], r"\cdots", terms[-1]]
    return joiner.join(terms)


def softmax_latex(args: list, i: int) -> str:
    exps = [f"e^{{{a}}}" for a in args]
    return rf"\frac{{{exps[i]}}}{{{summed_latex(exps)}}}"


# -- more activations, each as torch.nn.functional computes it in float64 (ATen's CPU kernels) -------------

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805  # torch's constants, as doubles
SELU_NEGATIVE = SELU_ALPHA * SELU_SCALE  # torch's negcoef, the product taken in double
SQRT1_2, TWO_OVER_SQRT_PI, SQRT2 = 0.70710678118654752440, 1.12837916709551257390, 1.41421356237309504880
GELU_PDF = TWO_OVER_SQRT_PI * SQRT1_2 * 0.5  # 1/sqrt(2 pi), as torch multiplies it out
GELU_TANH_BETA, GELU_TANH_KAPPA = SQRT2 * TWO_OVER_SQRT_PI * 0.5, 0.044715  # sqrt(2/pi), and the cubic's factor
HARDSIGMOID_SLOPE = 0.1666666716337204  # torch's one_sixth is 1.0f / 6.0f, a float: its derivative is that float


def celu(x: float, alpha: float) -> float:
    return x if x >= 0 else math.expm1(x * (1.0 / alpha)) * alpha  # torch's celu: elu with input scale 1/alpha


def celu_partials(x: float, out: float, alpha: float) -> tuple:
    # torch differentiates it with the input scale 1/alpha taken from alpha rounded to single precision
    inverse = 1.0 / struct.unpack("f", struct.pack("f", alpha))[0]
    return (1.0 if x > 0 else inverse * alpha * math.exp(x * inverse),)


def gelu(x: float, approximate: str) -> float:
    if approximate == "tanh":
        inner = GELU_TANH_BETA * (x + GELU_TANH_KAPPA * (x * x * x))
        return 0.5 * x * (1.0 + math.tanh(inner))
    return x * 0.5 * (1.0 + math.erf(x * SQRT1_2))


def gelu_partials(x: float, out: float, approximate: str) -> tuple:
    if approximate == "tanh":
        x_squared = x * x
        tanh_inner = math.tanh(GELU_TANH_BETA * (x + GELU_TANH_KAPPA * (x_squared * x)))
        inner_derivative = GELU_TANH_BETA * (1.0 + 3.0 * GELU_TANH_KAPPA * x_squared)
        # 1 - t^2 as (1 - t)(1 + t), as torch: exact where t is near -1 (x below -4)
        return (0.5 * (1.0 + tanh_inner) + 0.5 * x * ((1.0 - tanh_inner) * (1.0 + tanh_inner)) * inner_derivative,)
    cdf = 0.5 * (1.0 + math.erf(x * SQRT1_2))
    return (cdf + x * (GELU_PDF * math.exp(x * x * -0.5)),)


def silu(x: float) -> float:
    return x / (1.0 + exp_or_inf(-x))


def silu_partials(x: float, out: float) -> tuple:
    sigmoid = 1.0 / (1.0 + exp_or_inf(-x))
    return (sigmoid * (1.0 + x * (1.0 - sigmoid)),)


def mish(x: float) -> float:
    return x * math.tanh(math.log1p(exp_or_inf(x)))


def mish_partials(x: float, out: float) -> tuple:
    sigmoid = 1.0 / (1.0 + exp_or_inf(-x))
    tanh_softplus = math.tanh(math.log1p(exp_or_inf(x)))
    return (tanh_softplus + x * sigmoid * (1.0 - tanh_softplus * tanh_softplus),)


def softsign_partials(x: float, out: float) -> tuple:
    # torch's softsign is x / (|x| + 1), differentiated by autograd: the quotient's two terms, summed.
    below = abs(x) + 1.0
    sign = 1.0 if x > 0 else -1.0 if x < 0 else 0.0
    return (1.0 / below + -((x / below) / below) * sign,)


def hardtanh_order(min_val: float, max_val: float) -> tuple | None:
    if min_val < max_val:
        return None
    return f"min_val {min_val:g} is not below max_val {max_val:g}", "min_val < max_val, as torch.nn.Hardtanh"


def logsigmoid(x: float) -> float:
    return min(x, 0.0) - math.log1p(math.exp(-abs(x)))


def logsigmoid_partials(x: float, out: float) -> tuple:
    below = math.exp(-abs(x))  # torch's buffer
    return ((1.0 - below / (1.0 + below)) if x < 0 else below / (1.0 + below),)


def positive(x: float) -> str | None:
    return None if x > 0 else f"log of {x!r} (a positive argument)"


def non_negative_sqrt(x: float) -> str | None:
    if x < 0:
        return f"sqrt of {x!r} (a non-negative argument)"
    if x == 0:
        return "sqrt at 0, where its derivative is infinite (a positive argument)"
    return None


def nonzero_divisor(x: float, y: float) -> str | None:
    return None if y != 0 else f"division of {x!r} by zero (a non-zero divisor)"


def pow_domain(x: float, y: float) -> str | None:
    if x == 0 and y < 0:
        return f"0 to the negative power {y!r} (a non-zero base)"
    if x < 0 and y != int(y):
        return f"{x!r} to the non-integer power {y!r} (a non-negative base)"
    return None


def at_zero(**settings) -> tuple:
    return (0.0,)


# Binary cross-entropy of one probability, as torch.nn.functional.binary_cross_entropy takes it: each log
# clamped at -100 (so a probability of exactly 0 or 1 gives a finite loss), and the gradient
# (y - t) / max(y (1 - y), 1e-12).
BCE_LOG_FLOOR = -100.0
BCE_EPSILON = 9.999999960041972e-13  # torch's EPSILON = 1e-12 is a C float: this is that float, as a double


def clamped_log(x: float) -> float:
    """max(ln x, -100), with ln 0 taken as -100."""
    return max(math.log(x), BCE_LOG_FLOOR) if x > 0 else BCE_LOG_FLOOR


def clamped_log_complement(y: float) -> float:
    """max(ln(1 - y), -100), as torch's log1p(-y), with ln 0 taken as -100."""
    return max(math.log1p(-y), BCE_LOG_FLOOR) if y < 1 else BCE_LOG_FLOOR


def bce(y: float, t: float) -> float:
    return -(t * clamped_log(y) + (1.0 - t) * clamped_log_complement(y))


def bce_partials(y: float, t: float, out: float) -> tuple:
    return ((y - t) / max(y * (1.0 - y), BCE_EPSILON), clamped_log_complement(y) - clamped_log(y))


def probability(y: float, t: float) -> str | None:
    """Where binary cross-entropy is defined: y a probability, and its target t one too (torch's
    binary_cross_entropy refuses a target outside [0, 1])."""
    if not 0.0 <= y <= 1.0:
        return f"binary cross-entropy of {y!r} (a probability from 0 to 1)"
    if not 0.0 <= t <= 1.0:
        return f"binary cross-entropy with the target {t!r} (a target from 0 to 1)"
    return None


# -- the largest and the smallest of several numbers, and a number clamped between two ---------------------

def largest(*xs: float) -> float:
    return max(xs)


def smallest(*xs: float) -> float:
    return min(xs)


def shares(*xs_and_out: float) -> tuple:
    """d out / d x_i of max(x_1, ..., x_n) or min(...), out given last: 1 for the argument equal to out, 0 for
    the others; arguments tied with it share the 1 equally (1/2 each for two), as torch.amax and torch.amin
    (and torch.maximum, torch.minimum for two) divide the gradient by the number of ties.

    >>> shares(1.0, 3.0, 3.0, 3.0), shares(2.0, -1.0, 2.0)
    ((0.0, 0.5, 0.5), (1.0, 0.0))
    """
    *xs, out = xs_and_out
    tied = sum(1 for x in xs if x == out)
    return tuple(1.0 / tied if x == out else 0.0 for x in xs)


def first_largest(*xs: float) -> float:
    """The largest of a pooling window's values, scanned in order (a later value must be larger to win)."""
    best = xs[0]
    for x in xs[1:]:
        if x > best:
            best = x
    return best


def to_first(*xs_and_out: float) -> tuple:
    """d out / d x_i of a max-pooling window, out given last: 1 for the first argument equal to out, 0 for the
    others, ties included: torch's max-pooling routes the whole gradient to the first largest in the window.

    >>> to_first(1.0, 3.0, 3.0, 3.0), to_first(2.0, -1.0, 0.5, 2.0)
    ((0.0, 1.0, 0.0), (1.0, 0.0, 0.0))
    """
    *xs, out = xs_and_out
    first = xs.index(out)
    return tuple(1.0 if i == first else 0.0 for i in range(len(xs)))


# Its settings are torch.clamp's min and max, which would hide the built-in functions: read as keywords.
def clamp(x: float, **bounds: float) -> float:
    return bounds["min"] if x < bounds["min"] else bounds["max"] if x > bounds["max"] else x


def clamp_partials(x: float, out: float, **bounds: float) -> tuple:
    # 1 from min to max, the bounds included: torch.clamp passes the gradient where min <= x <= max
    return (1.0 if bounds["min"] <= x <= bounds["max"] else 0.0,)


def clamp_order(**bounds: float) -> tuple | None:
    if bounds["min"] <= bounds["max"]:
        return None
    return f"clamp's min {bounds['min']:g} is above its max {bounds['max']:g}", "min at most max"
