"""The closed table of operations: everything about an op that is not one backend's own, in one entry.

An entry holds the op's arity, its forward value, its local partial derivatives (numbers, and in symbols
for the worked solution), its settings (op parameters: name, default, allowed range), where it is not
differentiable (kinks) and where it is not defined (domain), its LaTeX, and the words people read for it
in the worked solution, the diagram and the problem sheet. Settings reach the functions as keywords:
forward(x, alpha=0.01). An op whose derivative has no tidy formula in other ops gets a derivative op
of its own, made here from its entry (relu' is written u(h) and shown by its value).

The backends keep their own form of some rules, one table each keyed by op name: inline code for the
compiled path (engine/compiled.py, which calls these functions for an op it has no code for), the NumPy
kernels (engine/numpy_kernels.py) and the torch functions and modules (pytorch/ops.py). A test fails when
a backend or a renderer lacks an op of this table.

Conventions follow PyTorch (torch.nn.functional, float64 CPU kernels) wherever a choice exists, down to
the order of operations where rounding could tell two orders apart: relu'(0) = 0 (as the homework's step
function u(0) = 0), leaky_relu'(0) = alpha, abs'(0) = 0, softplus(x) = x above 20, elu'(0) = alpha,
hardtanh' and hardsigmoid' 0 at their corners, gelu exact (erf) unless approximate = "tanh".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .algebra import ONE, ZERO, add, call, const, div, mul, neg, power, sub
from .program import Apply


@dataclass(frozen=True)
class Param:
    """One setting of an op (an op parameter): a number in an allowed range, or one of a few words."""

    name: str
    default: float | str
    meaning: str  # what it is, in a few words
    low: float | None = None  # allowed range, None for unbounded; low itself excluded when open_low
    high: float | None = None
    open_low: bool = False
    choices: tuple = ()  # for a setting given in words

    @property
    def expected(self) -> str:
        if self.choices:
            return "one of: " + ", ".join(repr(c) for c in self.choices)
        if self.low is None and self.high is None:
            return "a finite number"
        if self.high is None:
            return f"a number {'above' if self.open_low else 'of at least'} {self.low:g}"
        return f"a number from {self.low:g} to {self.high:g}"

    def problem(self, value) -> str | None:
        """Why a value (already a float or a str) is not allowed, or None."""
        if self.choices:
            return None if value in self.choices else f"is {value!r}"
        if isinstance(value, str) or not math.isfinite(value):
            return f"is {value!r}"
        if self.low is not None and (value < self.low or (self.open_low and value == self.low)):
            return f"is {value:g}"
        if self.high is not None and value > self.high:
            return f"is {value:g}"
        return None


@dataclass(frozen=True)
class Op:
    name: str
    arity: int  # number of arguments; 0 means "one or more" (softmax)
    forward: Callable  # forward(*args, **settings): the value (a tuple of them for a multi-output op)
    partials: Callable  # partials(*args, out, **settings): d out / d arg_i (multi-output: the Jacobian's rows)
    latex: str | Callable  # {0}, {1}: the arguments; {args}: all of them, bracketed; {alpha}: a setting's value;
    #                         or a function of the settings that gives such a template
    words: str  # its name in prose: the worked solution, the diagram, the problem sheet
    params: tuple = ()  # of Param: its settings, in the order positional values fill them
    check: Callable | None = None  # check(**settings): why settings are not allowed together, or None
    # d out / d arg_i in symbols, from the argument expressions and the output's (the node's own name at the
    # top of an equation, so da/dh = a(1 - a)); None: the op's derivative op, written with `derivative`.
    symbolic: Callable | None = None
    derivative: str | None = None  # the derivative op's LaTeX: u{args} for relu
    note: str = ""  # the convention a worked solution states where the op is used; $...$ is mathematics
    domain: Callable | None = None  # domain(*args, **settings): why the arguments are outside it, or None
    kinks: Callable = lambda **settings: ()  # where the op is not differentiable, for its settings
    precedence: int = 100  # for printing: higher binds tighter (Python's: + - 10, * / 20, unary - 30, ** 40)
    infix: str = ""  # an arithmetic operator's symbol: the grammar of equations
    multi_output: bool = False  # one output per argument (softmax)
    jacobian_symbols: Callable | None = None  # multi-output: d out_i / d arg_j in symbols, from the outputs
    output_latex: Callable | None = None  # multi-output: the i-th output's formula, from the arguments' LaTeX
    log_op: str | None = None  # multi-output: the op that gives the logs of its outputs from the same arguments
    callable: bool = False  # may be called by name in equations
    activation: bool = False  # may be a layer's activation
    activation_words: str = ""  # "with ..." in a network's description, when not its words
    inactive_below: float | None = None  # a unit whose argument is at or below this is "inactive" (relu)
    probability: bool = False  # its outputs are probabilities, from 0 to 1
    derivative_of: str | None = None  # a derivative op's op: written as a function, shown by its value

    def symbols(self, args: tuple, out, settings: tuple) -> tuple:
        """The local partials in symbols (a derivative op's application where the op has no formula)."""
        if self.symbolic is not None:
            return self.symbolic(*args, out, **dict(settings))
        return (Apply(self.name + "'", tuple(args), settings),)

    def settings(self, given: dict) -> tuple:
        """The op's settings as Apply holds them: (name, value) for every parameter, defaults filled in."""
        return tuple((p.name, given.get(p.name, p.default)) for p in self.params)


OPS: dict[str, Op] = {}


def _add(op: Op) -> None:
    OPS[op.name] = op
    if op.derivative is not None:  # relu -> relu', written u(h); its own derivative is never needed
        OPS[op.name + "'"] = Op(
            op.name + "'", 1, lambda x, _op=op, **s: _op.partials(x, _op.forward(x, **s), **s)[0],
            lambda x, out, **s: (0.0,), op.derivative, f"the derivative of {op.words}", op.params,
            symbolic=lambda x, out, **s: (ZERO,), derivative_of=op.name)


def settings_problem(op: Op, given: dict) -> tuple[str | None, str, str] | None:
    """Why settings given to an op (name -> number or word) do not suit it, as (the setting, what is wrong,
    what was expected); None when they do.

    >>> settings_problem(OPS["relu"], {"alpha": 0.1})
    ('alpha', 'alpha given for relu', 'relu takes no settings')
    >>> settings_problem(OPS["leaky_relu"], {"beta": 0.1})
    ('beta', "leaky_relu has no setting 'beta'", 'one of: alpha')
    """
    declared = {p.name: p for p in op.params}
    for name, value in given.items():
        if not declared:
            return name, f"{name} given for {op.name}", f"{op.name} takes no settings"
        if name not in declared:
            return name, f"{op.name} has no setting {name!r}", "one of: " + ", ".join(declared)
        param = declared[name]
        if param.choices and not isinstance(value, str) or not param.choices and (
                isinstance(value, (bool, str)) or not isinstance(value, (int, float))):
            return name, f"{op.name}'s {name} is {value!r}", param.expected
        problem = param.problem(value if param.choices else float(value))
        if problem:
            return name, f"{op.name}'s {name} {problem}", param.expected
    if op.check is not None:
        problem = op.check(**dict(op.settings(given)))
        if problem:
            return None, problem[0], problem[1]
    return None


def apply(name: str, args: tuple, **given) -> Apply:
    """An op applied to arguments, its settings (defaults filled in) in the table's order.

    >>> from handprop.core.program import Ref
    >>> apply("leaky_relu", (Ref("h1"),), alpha=0.2)
    Apply(op='leaky_relu', args=(Ref(name='h1'),), params=(('alpha', 0.2),))
    """
    return Apply(name, tuple(args), OPS[name].settings(given))


def _exp(x: float) -> float:
    """e^x, infinite where it overflows (as C's exp: torch's kernels divide by it or take log1p of it)."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _sigmoid(x: float) -> float:
    # Split by sign so that exp never overflows.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


SOFTPLUS_THRESHOLD = 20.0  # torch.nn.functional.softplus's default: x itself above it


def _softplus(x: float) -> float:
    return x if x > SOFTPLUS_THRESHOLD else math.log1p(math.exp(x))


def _pow(x: float, y: float) -> float:
    out = x**y
    if isinstance(out, complex):
        raise ValueError("a negative number to a non-integer power")
    return float(out)


def _pow_partials(x: float, y: float, out: float) -> tuple:
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


def _log_softmax_jacobian(*args) -> tuple:
    """d ln y_i / d o_j = delta_ij - y_j."""
    ys = softmax(*args[:-1])
    n = len(ys)
    return tuple(tuple((1.0 if i == j else 0.0) - ys[j] for j in range(n)) for i in range(n))


def _softmax_symbols(outs: tuple, i: int, j: int):
    """dy_i/do_j = y_i(delta_ij - y_j): y_i(1 - y_i) on the diagonal, -y_i y_j off it."""
    if i == j:
        return mul(outs[i], sub(ONE, outs[i]))
    first, second = sorted((i, j))
    return neg(mul(outs[first], outs[second]))


def _softmax_latex(args: list, i: int) -> str:
    exps = [f"e^{{{a}}}" for a in args]
    return rf"\frac{{{exps[i]}}}{{{' + '.join(exps)}}}"


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


def _at_zero(**settings) -> tuple:
    return (0.0,)


# Arithmetic: the grammar of equations.
_add(Op("add", 2, lambda x, y: x + y, lambda x, y, out: (1.0, 1.0), "{0} + {1}", "plus", infix="+", precedence=10,
        symbolic=lambda x, y, out: (ONE, ONE)))
_add(Op("sub", 2, lambda x, y: x - y, lambda x, y, out: (1.0, -1.0), "{0} - {1}", "minus", infix="-", precedence=10,
        symbolic=lambda x, y, out: (ONE, const(-1))))
_add(Op("mul", 2, lambda x, y: x * y, lambda x, y, out: (y, x), "{0} {1}", "times", infix="*", precedence=20,
        symbolic=lambda x, y, out: (y, x)))
_add(Op("div", 2, lambda x, y: x / y, lambda x, y, out: (1.0 / y, -x / (y * y)), r"\frac{{{0}}}{{{1}}}",
        "divided by", infix="/", domain=_nonzero_divisor, precedence=20,
        symbolic=lambda x, y, out: (div(ONE, y), neg(div(x, power(y, const(2)))))))
_add(Op("neg", 1, lambda x: -x, lambda x, out: (-1.0,), "-{0}", "minus", infix="-", precedence=30,
        symbolic=lambda x, out: (const(-1),)))
_add(Op("pow", 2, _pow, _pow_partials, "{0}^{{{1}}}", "to the power", infix="**", domain=_pow_domain, precedence=40,
        symbolic=lambda x, y, out: (mul(y, power(x, sub(y, ONE))), mul(out, call("log", x)))))

# Functions and activations, as equations call them and layers use them.
_add(Op("identity", 1, lambda x: x, lambda x, out: (1.0,), "{0}", "identity", activation=True,
        activation_words="no activation (identity)",
        symbolic=lambda x, out: (ONE,)))
_add(Op("relu", 1, lambda x: x if x > 0 else 0.0, lambda x, out: (1.0 if x > 0 else 0.0,),
        r"\operatorname{{ReLU}}{args}", "ReLU", callable=True, activation=True, derivative="u{args}",
        note=r"ReLU's derivative is the step function $u(h) = 1 \text{ if } h > 0, \text{ else } 0$ "
             "(also at $h = 0$).",
        kinks=_at_zero, inactive_below=0.0))
_add(Op("leaky_relu", 1, lambda x, alpha: x if x > 0 else alpha * x,
        lambda x, out, alpha: (1.0 if x > 0 else alpha,), r"\operatorname{{LeakyReLU}}_{{{alpha}}}{args}",
        "leaky ReLU", (Param("alpha", 0.01, "the slope below 0"),), callable=True, activation=True,
        derivative="u_{{{alpha}}}{args}",
        note=r"Leaky ReLU's derivative is $u_{\alpha}(h) = 1 \text{ if } h > 0, \text{ else } \alpha$.",
        kinks=_at_zero, inactive_below=0.0))
_add(Op("sigmoid", 1, _sigmoid, lambda x, out: (out * (1.0 - out),), r"\sigma{args}", "sigmoid",
        callable=True, activation=True, probability=True,
        symbolic=lambda x, out: (mul(out, sub(ONE, out)),)))
_add(Op("tanh", 1, math.tanh, lambda x, out: (1.0 - out * out,), r"\tanh{args}", "tanh", callable=True,
        activation=True, symbolic=lambda x, out: (sub(ONE, power(out, const(2))),)))
_add(Op("softplus", 1, _softplus, lambda x, out: (1.0 if x > SOFTPLUS_THRESHOLD else _sigmoid(x),),
        r"\operatorname{{softplus}}{args}", "softplus", callable=True, activation=True,
        symbolic=lambda x, out: (call("sigmoid", x),)))
_add(Op("elu", 1, lambda x, alpha: x if x > 0 else (math.exp(x) - 1.0) * alpha,
        lambda x, out, alpha: (1.0 if x > 0 else alpha * math.exp(x),),  # alpha at 0, as torch's x <= 0 branch
        r"\operatorname{{ELU}}_{{{alpha}}}{args}", "ELU", (Param("alpha", 1.0, "-alpha is its value far below 0"),),
        callable=True, activation=True, derivative=r"\operatorname{{ELU}}'_{{{alpha}}}{args}",
        note=r"ELU's derivative is $\operatorname{ELU}'_{\alpha}(h) = 1 \text{ if } h > 0, \text{ else } \alpha e^{h}$ "
             r"(also at $h = 0$, as PyTorch).",
        kinks=lambda alpha: (0.0,) if alpha != 1 else ()))
_add(Op("exp", 1, math.exp, lambda x, out: (out,), "e^{{{0}}}", "the exponential", callable=True,
        symbolic=lambda x, out: (out,)))
_add(Op("log", 1, math.log, lambda x, out: (1.0 / x,), r"\ln{args}", "the natural logarithm", callable=True,
        domain=_positive, symbolic=lambda x, out: (div(ONE, x),)))
_add(Op("sqrt", 1, math.sqrt, lambda x, out: (0.5 / out,), r"\sqrt{{{0}}}", "the square root", callable=True,
        domain=_non_negative_sqrt,
        symbolic=lambda x, out: (div(ONE, mul(const(2), out)),)))
_add(Op("abs", 1, abs, lambda x, out: ((1.0 if x > 0 else -1.0 if x < 0 else 0.0),), r"\left|{0}\right|",
        "the absolute value", callable=True, derivative=r"\operatorname{{sign}}{args}", kinks=_at_zero))
_add(Op("softmax", 0, softmax, lambda *args: softmax_jacobian(args[-1]), r"\operatorname{{softmax}}{args}",
        "softmax", callable=True, activation=True, multi_output=True, probability=True, log_op="log_softmax",
        jacobian_symbols=_softmax_symbols, output_latex=_softmax_latex,
        note=r"Softmax's derivatives form its Jacobian: $\frac{\partial y_i}{\partial o_j} = y_i(\delta_{ij} - y_j)$"
             r", that is $y_i(1 - y_i)$ when $i = j$ and $-y_i y_j$ otherwise."))
# ln of softmax outputs from the logits: the one rewrite of a program (core/fusion.py) puts it where an
# equation takes the log of a softmax output, as torch's cross_entropy takes the logits.
_add(Op("log_softmax", 0, log_softmax, _log_softmax_jacobian, r"\ln \operatorname{{softmax}}{args}", "log-softmax",
        multi_output=True, jacobian_symbols=lambda outs, i, j: sub(ONE if i == j else ZERO, call("exp", outs[j])),
        output_latex=lambda args, i: rf"\ln {_softmax_latex(args, i)}"))

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


_add(Op("bce", 2, _bce, _bce_partials, r"\operatorname{{bce}}{args}", "binary cross-entropy", callable=True,
        domain=_probability,
        symbolic=lambda y, t, out: (div(sub(y, t), mul(y, sub(ONE, y))),
                                    sub(call("log", sub(ONE, y)), call("log", y)))))

# What a user may call by name in an equation, and what a layer may use as activation.
FUNCTIONS = tuple(name for name, op in OPS.items() if op.callable)
ACTIVATIONS = tuple(name for name, op in OPS.items() if op.activation)
