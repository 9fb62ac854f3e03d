"""The closed table of operations: everything about an op that is not one backend's own, in one entry.

An entry holds the op's arity, its forward value, its local partial derivatives (numbers, and in symbols
for the worked solution), its settings (op parameters: name, default, allowed range), where it is not
differentiable (kinks) and where it is not defined (domain), its LaTeX, and the words people read for it
in the worked solution, the diagram and the problem sheet. Settings reach the functions as keywords:
forward(x, alpha=0.01). An op whose derivative has no tidy formula in other ops gets a derivative op
of its own, made here from its entry (relu' is written u(h) and shown by its value). The longer
functions the entries name live in functions.py.

The backends keep their own form of some rules, one table each keyed by op name: inline code for the
compiled path (engine/compiled.py, which calls these functions for an op it has no code for), the NumPy
kernels (engine/numpy_kernels.py) and the torch functions and modules (pytorch/ops.py). A test fails when
a backend or a renderer lacks an op of this table.

Conventions follow PyTorch (torch.nn.functional, float64 CPU kernels) wherever a choice exists, down to
the order of operations where rounding could tell two orders apart: relu'(0) = 0 (as the homework's step
function u(0) = 0), leaky_relu'(0) = alpha, abs'(0) = 0, softplus(x) = x above 20, elu'(0) = alpha,
hardtanh' and hardsigmoid' 0 at their corners, gelu exact (erf) unless approximate = "tanh"; max and min
share their derivative equally among tied arguments (1/2 each for two, as torch.maximum and torch.amax), and
clamp's is 1 at its bounds (as torch.clamp, where hardtanh's is 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .algebra import ONE, ZERO, add, call, const, div, mul, neg, power, sub
from .functions import (at_zero, bce, bce_partials, celu, celu_partials, clamp, clamp_order, clamp_partials,
                        first_largest, gelu, gelu_partials, HARDSIGMOID_SLOPE, hardtanh_order, largest, log_softmax,
                        log_softmax_jacobian, logsigmoid, logsigmoid_partials, mish, mish_partials, non_negative_sqrt,
                        nonzero_divisor, positive, pow_domain, pow_partials, pow_real, probability, SELU_NEGATIVE,
                        SELU_SCALE, shares, sigmoid, silu, silu_partials, smallest, softmax, softmax_jacobian,
                        softmax_latex, softmax_symbols, softplus, SOFTPLUS_THRESHOLD, softsign_partials, to_first)
from .program import Apply


class Param:
    """One setting of an op (an op parameter): a number in an allowed range, or one of a few words."""

    def __init__(self, name: str, default: float | str | None, meaning: str, *, low: float | None = None,
                 high: float | None = None, open_low: bool = False, choices: tuple = (), required: bool = False):
        self.name = name
        self.default = default  # None for a required setting
        self.required = required  # no default: always given (clamp's bounds)
        self.meaning = meaning  # what it is, in a few words
        self.low, self.high = low, high  # allowed range, None for unbounded
        self.open_low = open_low  # low itself excluded
        self.choices = choices  # for a setting given in words

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


def _no_kinks(**settings) -> tuple:
    return ()


class Op:
    """One entry of the table. (A plain class, not a dataclass: the table is built at every start, and a
    dataclass of this many fields costs a millisecond and a half to make.)"""

    def __init__(self, name: str, arity: int, forward: Callable, partials: Callable, latex: str | Callable,
                 words: str, params: tuple = (), *, check: Callable | None = None, symbolic: Callable | None = None,
                 derivative: str | Callable | None = None, note: str = "", domain: Callable | None = None,
                 kinks: Callable = _no_kinks, precedence: int = 100, infix: str = "", multi_output: bool = False,
                 jacobian_symbols: Callable | None = None, output_latex: Callable | None = None,
                 log_op: str | None = None, callable: bool = False, activation: bool = False,
                 activation_words: str = "", inactive_below: float | None = None, probability: bool = False,
                 derivative_of: str | None = None, at_least: int = 1, aliases: tuple = ()):
        self.name = name
        self.arity = arity  # number of arguments; 0 means any number, at_least of them (softmax, max)
        self.at_least = at_least
        self.forward = forward  # forward(*args, **settings): the value (a tuple of them for a multi-output op)
        self.partials = partials  # partials(*args, out, **settings): d out / d arg_i (multi-output: the Jacobian)
        # {0}, {1}: the arguments; {args}: all of them, bracketed; {alpha}: a setting's value; or a function of
        # the settings that gives such a template
        self.latex = latex
        self.words = words  # its name in prose: the worked solution, the diagram, the problem sheet
        self.params = params  # of Param: its settings, in the order positional values fill them
        self.check = check  # check(**settings): why settings are not allowed together, or None
        # d out / d arg_i in symbols, from the argument expressions and the output's (the node's own name at the
        # top of an equation, so da/dh = a(1 - a)); None: the op's derivative op, written with `derivative`.
        self.symbolic = symbolic
        self.derivative = derivative  # the derivative op's LaTeX: u{args} for relu
        self.note = note  # the convention a worked solution states where the op is used; $...$ is mathematics
        self.domain = domain  # domain(*args, **settings): why the arguments are outside it, or None
        # kinks(**settings): where a central difference sees a kink: the derivative jumps (relu at 0), or the
        # second derivative does (elu with alpha 1, celu, softsign at 0), which a difference of step h sees as an
        # error of about h/4 of the slope, more than verify's tolerance of 1e-6 allows.
        self.kinks = kinks
        self.precedence = precedence  # for printing: higher binds tighter (Python's: + - 10, * / 20, - 30, ** 40)
        self.infix = infix  # an arithmetic operator's symbol: the grammar of equations
        self.multi_output = multi_output  # one output per argument (softmax)
        self.jacobian_symbols = jacobian_symbols  # multi-output: d out_i / d arg_j in symbols, from the outputs
        self.output_latex = output_latex  # multi-output: the i-th output's formula, from the arguments' LaTeX
        self.log_op = log_op  # multi-output: the op that gives the logs of its outputs from the same arguments
        self.callable = callable  # may be called by name in equations
        self.activation = activation  # may be a layer's activation
        self.activation_words = activation_words  # "with ..." in a network's description, when not its words
        self.inactive_below = inactive_below  # a unit whose argument is at or below this is "inactive" (relu)
        self.probability = probability  # its outputs are probabilities, from 0 to 1
        self.derivative_of = derivative_of  # a derivative op's op: written as a function, shown by its value
        self.aliases = aliases  # other names people call it by (maximum for max): suggested when written

    def replace(self, **changes) -> "Op":
        """A copy with some fields changed (a derivative taken wrongly, to reproduce a student's mistake)."""
        copy = object.__new__(Op)
        copy.__dict__.update(self.__dict__, **changes)
        return copy

    def symbols(self, args: tuple, out, settings: tuple) -> tuple:
        """The local partials in symbols (a derivative op's application where the op has no formula)."""
        if self.symbolic is not None:
            return self.symbolic(*args, out, **dict(settings))
        if self.arity == 1:
            return (Apply(self.name + "'", tuple(args), settings),)
        # An op of any number of arguments (max, min: symmetric in them): d out / d x_i is its derivative op, the
        # derivative in its first argument, with x_i written first: d/db max(a, b, c) is partial_1 max(b, a, c).
        return tuple(Apply(self.name + "'", (arg, *args[:i], *args[i + 1:]), settings) for i, arg in enumerate(args))

    def settings(self, given: dict) -> tuple:
        """The op's settings as Apply holds them: (name, value) for every parameter, defaults filled in."""
        return tuple((p.name, given.get(p.name, p.default)) for p in self.params)


OPS: dict[str, Op] = {}


def _add(op: Op) -> None:
    OPS[op.name] = op
    if op.derivative is not None and op.arity == 1:  # relu -> relu', written u(h); its own derivative is never needed
        OPS[op.name + "'"] = Op(
            op.name + "'", 1, lambda x, _op=op, **s: _op.partials(x, _op.forward(x, **s), **s)[0],
            lambda x, out, **s: (0.0,), op.derivative, f"the derivative of {op.words}", op.params,
            symbolic=lambda x, out, **s: (ZERO,), derivative_of=op.name)
    elif op.derivative is not None:  # max -> max', d/dx_1 max(x_1, ..., x_n): partial_1 max
        OPS[op.name + "'"] = Op(
            op.name + "'", 0, lambda *xs, _op=op, **s: _op.partials(*xs, _op.forward(*xs, **s), **s)[0],
            lambda *xs_and_out, **s: (0.0,) * (len(xs_and_out) - 1), op.derivative,
            f"the derivative of {op.words}", op.params, at_least=op.at_least,
            symbolic=lambda *xs_and_out, **s: (ZERO,) * (len(xs_and_out) - 1), derivative_of=op.name)


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
    missing = [p.name for p in op.params if p.required and p.name not in given]
    if missing:
        return missing[0], f"{op.name} without its {' and '.join(missing)}", usage(op)
    if op.check is not None:
        problem = op.check(**dict(op.settings(given)))
        if problem:
            return None, problem[0], problem[1]
    return None


def usage(op: Op) -> str:
    """How an equation calls the op: its arguments, then its settings (a default shown where it has one).

    >>> usage(OPS["elu"]), usage(OPS["max"]), usage(OPS["clamp"])
    ('elu(x, alpha=1.0)', 'max(x, y, ...)', 'clamp(x, min, max)')
    """
    arguments = ["x", "y", "z"][:op.arity] if op.arity else ["x", "y"][:op.at_least] + ["..."]
    settings = [p.name if p.required else f"{p.name}={p.default!r}" for p in op.params]
    return f"{op.name}({', '.join(arguments + settings)})"


def apply(name: str, args: tuple, **given) -> Apply:
    """An op applied to arguments, its settings (defaults filled in) in the table's order.

    >>> from handprop.core.program import Ref
    >>> apply("leaky_relu", (Ref("h1"),), alpha=0.2)
    Apply(op='leaky_relu', args=(Ref(name='h1'),), params=(('alpha', 0.2),))
    """
    return Apply(name, tuple(args), OPS[name].settings(given))


# Arithmetic: the grammar of equations.
_add(Op("add", 2, lambda x, y: x + y, lambda x, y, out: (1.0, 1.0), "{0} + {1}", "plus", infix="+", precedence=10,
        symbolic=lambda x, y, out: (ONE, ONE)))
_add(Op("sub", 2, lambda x, y: x - y, lambda x, y, out: (1.0, -1.0), "{0} - {1}", "minus", infix="-", precedence=10,
        symbolic=lambda x, y, out: (ONE, const(-1))))
_add(Op("mul", 2, lambda x, y: x * y, lambda x, y, out: (y, x), "{0} {1}", "times", infix="*", precedence=20,
        symbolic=lambda x, y, out: (y, x)))
_add(Op("div", 2, lambda x, y: x / y, lambda x, y, out: (1.0 / y, -x / (y * y)), r"\frac{{{0}}}{{{1}}}",
        "divided by", infix="/", domain=nonzero_divisor, precedence=20,
        symbolic=lambda x, y, out: (div(ONE, y), neg(div(x, power(y, const(2)))))))
_add(Op("neg", 1, lambda x: -x, lambda x, out: (-1.0,), "-{0}", "minus", infix="-", precedence=30,
        symbolic=lambda x, out: (const(-1),)))
_add(Op("pow", 2, pow_real, pow_partials, "{0}^{{{1}}}", "to the power", infix="**", domain=pow_domain, precedence=40,
        symbolic=lambda x, y, out: (mul(y, power(x, sub(y, ONE))), mul(out, call("log", x)))))

# Functions and activations, as equations call them and layers use them.
_add(Op("identity", 1, lambda x: x, lambda x, out: (1.0,), "{0}", "identity", activation=True,
        activation_words="no activation (identity)",
        symbolic=lambda x, out: (ONE,)))
_add(Op("relu", 1, lambda x: x if x > 0 else 0.0, lambda x, out: (1.0 if x > 0 else 0.0,),
        r"\operatorname{{ReLU}}{args}", "ReLU", callable=True, activation=True, derivative="u{args}",
        note=r"ReLU's derivative is the step function $u(h) = 1 \text{ if } h > 0, \text{ else } 0$ "
             "(also at $h = 0$).",
        kinks=at_zero, inactive_below=0.0))
_add(Op("leaky_relu", 1, lambda x, alpha: x if x > 0 else alpha * x,
        lambda x, out, alpha: (1.0 if x > 0 else alpha,), r"\operatorname{{LeakyReLU}}_{{{alpha}}}{args}",
        "leaky ReLU", (Param("alpha", 0.01, "the slope below 0"),), callable=True, activation=True,
        derivative="u_{{{alpha}}}{args}",
        note=r"Leaky ReLU's derivative is $u_{\alpha}(h) = 1 \text{ if } h > 0, \text{ else } \alpha$.",
        kinks=at_zero, inactive_below=0.0))
_add(Op("sigmoid", 1, sigmoid, lambda x, out: (out * (1.0 - out),), r"\sigma{args}", "sigmoid",
        callable=True, activation=True, probability=True, aliases=("logistic", "expit"),
        symbolic=lambda x, out: (mul(out, sub(ONE, out)),)))
# tanh' = 1 - y^2, taken as (1 - y)(1 + y), as torch: exact where y is near -1 or 1 (a saturated unit)
_add(Op("tanh", 1, math.tanh, lambda x, out: ((1.0 - out) * (1.0 + out),), r"\tanh{args}", "tanh", callable=True,
        activation=True, symbolic=lambda x, out: (sub(ONE, power(out, const(2))),)))
_add(Op("softplus", 1, softplus, lambda x, out: (1.0 if x > SOFTPLUS_THRESHOLD else sigmoid(x),),
        r"\operatorname{{softplus}}{args}", "softplus", callable=True, activation=True,
        symbolic=lambda x, out: (call("sigmoid", x),)))
_add(Op("elu", 1, lambda x, alpha: x if x >= 0 else math.expm1(x) * alpha,
        lambda x, out, alpha: (1.0 if x > 0 else alpha * math.exp(x),),  # alpha at 0, as torch's x <= 0 branch
        r"\operatorname{{ELU}}_{{{alpha}}}{args}", "ELU", (Param("alpha", 1.0, "-alpha is its value far below 0"),),
        callable=True, activation=True, derivative=r"\operatorname{{ELU}}'_{{{alpha}}}{args}",
        note=r"ELU's derivative is $\operatorname{ELU}'_{\alpha}(h) = 1 \text{ if } h > 0, \text{ else } \alpha e^{h}$ "
             r"(also at $h = 0$, as PyTorch).",
        kinks=at_zero))  # the derivative jumps at 0 unless alpha is 1; even then the second derivative does
_add(Op("selu", 1, lambda x: x * SELU_SCALE if x >= 0 else math.expm1(x) * SELU_NEGATIVE,
        lambda x, out: (SELU_SCALE if x > 0 else SELU_NEGATIVE * math.exp(x),), r"\operatorname{{SELU}}{args}",
        "SELU", callable=True, activation=True, derivative=r"\operatorname{{SELU}}'{args}",
        note=r"SELU's derivative is $\operatorname{SELU}'(h) = \lambda \text{ if } h > 0, "
             r"\text{ else } \lambda\alpha e^{h}$, "
             r"with $\lambda = 1.0507\ldots$ and $\alpha = 1.6733\ldots$ ($\lambda\alpha$ at $h = 0$, as PyTorch).",
        kinks=at_zero))
_add(Op("celu", 1, celu, celu_partials, r"\operatorname{{CELU}}_{{{alpha}}}{args}", "CELU",
        (Param("alpha", 1.0, "-alpha is its value far below 0", low=0.0, open_low=True),), callable=True,
        activation=True, derivative=r"\operatorname{{CELU}}'_{{{alpha}}}{args}",
        note=r"CELU's derivative is $\operatorname{CELU}'_{\alpha}(h) = 1 \text{ if } h > 0, "
             r"\text{ else } e^{h/\alpha}$.",
        kinks=at_zero))  # continuous derivative, but its second derivative jumps at 0
_add(Op("gelu", 1, gelu, gelu_partials,
        lambda approximate: r"\operatorname{{GELU}}{args}" if approximate == "none"
        else r"\operatorname{{GELU}}_{{\tanh}}{args}", "GELU",
        (Param("approximate", "none", "the exact form with erf, or PyTorch's tanh approximation",
               choices=("none", "tanh")),),
        callable=True, activation=True,
        derivative=lambda approximate: r"\operatorname{{GELU}}'{args}" if approximate == "none"
        else r"\operatorname{{GELU}}'_{{\tanh}}{args}",
        note=r"GELU's derivative is $\operatorname{GELU}'(h) = \Phi(h) + h\,\varphi(h)$, $\Phi$ and $\varphi$ the "
             r"standard normal distribution's cumulative distribution and density; its tanh approximation is "
             r"differentiated as written, "
             r"$\frac{1}{2}h\left(1 + \tanh\left(\sqrt{2/\pi}(h + 0.044715 h^3)\right)\right)$."))
_add(Op("silu", 1, silu, silu_partials, r"\operatorname{{SiLU}}{args}", "SiLU", callable=True, activation=True,
        aliases=("swish",),
        symbolic=lambda x, out: (mul(call("sigmoid", x), add(ONE, mul(x, sub(ONE, call("sigmoid", x))))),)))
_add(Op("mish", 1, mish, mish_partials, r"\operatorname{{Mish}}{args}", "Mish", callable=True, activation=True,
        symbolic=lambda x, out: (add(call("tanh", call("softplus", x)), mul(mul(x, call("sigmoid", x)), sub(
            ONE, power(call("tanh", call("softplus", x)), const(2))))),)))
_add(Op("softsign", 1, lambda x: x / (abs(x) + 1.0), softsign_partials, r"\operatorname{{softsign}}{args}",
        "softsign", callable=True, activation=True, kinks=at_zero,  # its second derivative jumps at 0
        symbolic=lambda x, out: (div(ONE, power(add(ONE, call("abs", x)), const(2))),)))
_add(Op("hardtanh", 1, lambda x, min_val, max_val: min(max(x, min_val), max_val),
        lambda x, out, min_val, max_val: (0.0 if x <= min_val or x >= max_val else 1.0,),
        r"\operatorname{{HardTanh}}_{{{min_val}, {max_val}}}{args}", "HardTanh",
        (Param("min_val", -1.0, "its value at and below it"), Param("max_val", 1.0, "its value at and above it")),
        check=hardtanh_order, callable=True, activation=True,
        derivative=r"\operatorname{{HardTanh}}'_{{{min_val}, {max_val}}}{args}",
        note=r"HardTanh's derivative is 1 where $\mathit{min} < h < \mathit{max}$, else 0 (also at the corners, as "
             "PyTorch).",
        kinks=lambda min_val, max_val: (min_val, max_val)))
_add(Op("hardsigmoid", 1, lambda x: min(max(x + 3.0, 0.0), 6.0) / 6.0,
        lambda x, out: (HARDSIGMOID_SLOPE if -3.0 < x < 3.0 else 0.0,), r"\operatorname{{HardSigmoid}}{args}",
        "HardSigmoid", callable=True, activation=True, probability=True,
        derivative=r"\operatorname{{HardSigmoid}}'{args}",
        note=r"HardSigmoid's derivative is $\frac{1}{6}$ where $-3 < h < 3$, else 0 (also at the corners); PyTorch "
             r"takes $\frac{1}{6}$ in single precision, $0.1666666716$, and so does handprop.",
        kinks=lambda: (-3.0, 3.0)))
_add(Op("logsigmoid", 1, logsigmoid, logsigmoid_partials, r"\ln \sigma{args}", "log-sigmoid", callable=True,
        activation=True, symbolic=lambda x, out: (call("sigmoid", neg(x)),)))
_add(Op("exp", 1, math.exp, lambda x, out: (out,), "e^{{{0}}}", "the exponential", callable=True,
        aliases=("exponential",),
        symbolic=lambda x, out: (out,)))
_add(Op("log", 1, math.log, lambda x, out: (1.0 / x,), r"\ln{args}", "the natural logarithm", callable=True,
        aliases=("ln", "log_e"),
        domain=positive, symbolic=lambda x, out: (div(ONE, x),)))
_add(Op("sqrt", 1, math.sqrt, lambda x, out: (0.5 / out,), r"\sqrt{{{0}}}", "the square root", callable=True,
        domain=non_negative_sqrt,
        symbolic=lambda x, out: (div(ONE, mul(const(2), out)),)))
_add(Op("abs", 1, abs, lambda x, out: ((1.0 if x > 0 else -1.0 if x < 0 else 0.0),), r"\left|{0}\right|",
        "the absolute value", callable=True, derivative=r"\operatorname{{sign}}{args}", kinks=at_zero,
        aliases=("absolute", "fabs")))
_add(Op("softmax", 0, softmax, lambda *args: softmax_jacobian(args[-1]), r"\operatorname{{softmax}}{args}",
        "softmax", callable=True, activation=True, multi_output=True, probability=True, log_op="log_softmax",
        jacobian_symbols=softmax_symbols, output_latex=softmax_latex,
        note=r"Softmax's derivatives form its Jacobian: $\frac{\partial y_i}{\partial o_j} = y_i(\delta_{ij} - y_j)$"
             r", that is $y_i(1 - y_i)$ when $i = j$ and $-y_i y_j$ otherwise."))
# ln of softmax outputs from the logits: the one rewrite of a program (core/fusion.py) puts it where an
# equation takes the log of a softmax output, as torch's cross_entropy takes the logits.
_add(Op("log_softmax", 0, log_softmax, log_softmax_jacobian, r"\ln \operatorname{{softmax}}{args}", "log-softmax",
        multi_output=True, jacobian_symbols=lambda outs, i, j: sub(ONE if i == j else ZERO, call("exp", outs[j])),
        output_latex=lambda args, i: rf"\ln {softmax_latex(args, i)}"))

_add(Op("bce", 2, bce, bce_partials, r"\operatorname{{bce}}{args}", "binary cross-entropy", callable=True,
        domain=probability, aliases=("binary_cross_entropy",),
        symbolic=lambda y, t, out: (div(sub(y, t), mul(y, sub(ONE, y))),
                                    sub(call("log", sub(ONE, y)), call("log", y)))))

# The largest and the smallest of two or more numbers, and a number clamped between two: micrograd-style code's
# functions. The bounds of clamp are settings (numbers written out), as torch.clamp's min and max.
_add(Op("max", 0, largest, shares, r"\max{args}", "the maximum", callable=True, at_least=2,
        derivative=r"\partial_{{1}} \max{args}", aliases=("maximum", "amax", "fmax"),
        note=r"The derivative of $\max$ with respect to its first argument, $\partial_{1} \max(a, b, \ldots)$ (the "
             r"argument it is taken for written first), is 1 where $a$ is the largest argument and 0 elsewhere; "
             r"arguments tied for the largest share it equally ($\frac{1}{2}$ each for two), as PyTorch."))
# Max-pooling's window: torch routes the gradient to the first largest value (MaxPool1d/2d), not shared as max's.
_add(Op("maxpool", 0, first_largest, to_first, r"\max{args}", "the maximum of a pooling window", at_least=2,
        derivative=r"\partial_{{1}} \max{args}",
        note=r"Max-pooling passes each window's gradient to its largest entry, the first in reading order where "
             r"entries tie, as PyTorch's MaxPool1d and MaxPool2d; the others get 0."))
_add(Op("min", 0, smallest, shares, r"\min{args}", "the minimum", callable=True, at_least=2,
        derivative=r"\partial_{{1}} \min{args}", aliases=("minimum", "amin", "fmin"),
        note=r"The derivative of $\min$ with respect to its first argument, $\partial_{1} \min(a, b, \ldots)$ (the "
             r"argument it is taken for written first), is 1 where $a$ is the smallest argument and 0 elsewhere; "
             r"arguments tied for the smallest share it equally ($\frac{1}{2}$ each for two), as PyTorch."))
_add(Op("clamp", 1, clamp, clamp_partials, r"\operatorname{{clamp}}_{{[{min}, {max}]}}{args}", "clamp",
        (Param("min", None, "its value at and below it", required=True),
         Param("max", None, "its value at and above it", required=True)),
        check=clamp_order, callable=True, derivative=r"\operatorname{{clamp}}'_{{[{min}, {max}]}}{args}",
        aliases=("clip",),
        note=r"clamp's derivative is 1 where $\mathit{min} \le h \le \mathit{max}$, the bounds included (as "
             r"PyTorch's clamp; HardTanh's is 0 at its corners), else 0.",
        kinks=lambda **bounds: (bounds["min"], bounds["max"])))

# What a user may call by name in an equation, and what a layer may use as activation.
FUNCTIONS = tuple(name for name, op in OPS.items() if op.callable)
ACTIVATIONS = tuple(name for name, op in OPS.items() if op.activation)
# Other names people write for a function (maximum, ln, clip): an unknown function suggests the one they mean.
ALIASES = {alias: name for name in FUNCTIONS for alias in OPS[name].aliases}
