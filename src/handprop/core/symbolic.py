"""Local derivatives in symbols, and the fully expanded chain rule, for the worked solution.

symbolic_partials(eq) gives, for each target of an equation, d target / d name
as an expression, by one reverse pass over the expression tree with each op's
symbolic partials from the op table (so h1 = w1*x1 + w2*x2 + b1 gives
dh1/dw1 = x1, and y1, y2 = softmax(o1, o2) gives dy1/do2 = -y1 y2).

expanded_adjoints(program) writes dL/dnode out in full, as the homework does:
dL/dw1 = {[-t1(1 - y1) + t2 y1] w7 + [t1 y2 - t2(1 - y2)] w10} u(h1) x1. A
product cancels a factor that stands in both its numerator and denominator
((-t1/y1) y1(1 - y1) = -t1(1 - y1)); sums stay grouped, as brackets.

Numbers never come from here: the engine computes them. The tests evaluate these
expressions and compare them with the engine's partials.
"""

from __future__ import annotations

from collections.abc import Mapping

from .algebra import ONE, ZERO, add, const, div, mul, neg, size
from .fusion import LOG
from .ops import OPS
from .program import Apply, Const, Equation, Expr, Program, Ref, names_in


def _reverse(expr: Expr, seed: Expr, out: Expr, into: dict) -> None:
    """Add seed * d expr / d name into `into` for each name; out is expr's own value as written."""
    if isinstance(expr, Ref):
        into[expr.name] = add(into[expr.name], seed) if expr.name in into else seed
        return
    if isinstance(expr, Const):
        return
    partials = OPS[expr.op].symbols(expr.args, out, expr.params)
    for arg, partial in zip(expr.args, partials):
        if isinstance(arg, Const):
            continue
        _reverse(arg, mul(seed, partial), arg, into)


class JacobianRow(Mapping):
    """d y_i / d name for the i-th output of a multi-output op (a softmax), each worked out when first asked:
    every output reads every argument, so all rows at once would take the square of the op's width. It holds
    no step function: the op table writes such a Jacobian in the outputs themselves (y_i(1 - y_i), -y_i y_j).
    """

    def __init__(self, op: str, outs: tuple, i: int, readers: dict):
        self._op, self._outs, self._i = op, outs, i
        self._readers = readers  # name -> [(j, d argument_j / d name)], shared by the equation's rows
        self._made: dict = {}

    def __getitem__(self, name: str) -> Expr:
        if name not in self._made:
            total = None
            for j, d_arg in self._readers[name]:
                term = mul(OPS[self._op].jacobian_symbols(self._outs, self._i, j), d_arg)
                total = term if total is None else add(total, term)
            self._made[name] = total
        return self._made[name]

    def __iter__(self):
        return iter(self._readers)

    def __len__(self) -> int:
        return len(self._readers)


def symbolic_partials(eq: Equation) -> dict:
    """{target: {name: d target / d name}} for every name the equation reads (a multi-output op's rows as
    JacobianRows, made entry by entry when read)."""
    expr = eq.expr
    if isinstance(expr, Apply) and OPS[expr.op].multi_output:
        outs = tuple(Ref(t) for t in eq.targets)
        readers: dict = {}
        for j, arg in enumerate(expr.args):
            into: dict = {}
            _reverse(arg, ONE, arg, into)
            for name, d_arg in into.items():
                readers.setdefault(name, []).append((j, d_arg))
        return {target: JacobianRow(expr.op, outs, i, readers) for i, target in enumerate(eq.targets)}
    into = {}
    _reverse(expr, ONE, Ref(eq.target), into)
    return {eq.target: {name: into.get(name, ZERO) for name in names_in(expr)}}


# -- the expanded chain rule -------------------------------------------------------------------

def _factors(expr: Expr) -> tuple[float, list, list]:
    """expr as sign * (numerator factors) / (denominator factors); sums and functions are single factors."""
    if isinstance(expr, Const):
        return expr.value, [], []
    if isinstance(expr, Apply) and expr.op == "neg":
        sign, top, bottom = _factors(expr.args[0])
        return -sign, top, bottom
    if isinstance(expr, Apply) and expr.op == "mul":
        s1, t1, b1 = _factors(expr.args[0])
        s2, t2, b2 = _factors(expr.args[1])
        return s1 * s2, t1 + t2, b1 + b2
    if isinstance(expr, Apply) and expr.op == "div":
        s1, t1, b1 = _factors(expr.args[0])
        s2, t2, b2 = _factors(expr.args[1])
        if s2 == 0:
            return s1, t1 + b2, b1 + [expr.args[1]]
        return s1 / s2, t1 + b2, b1 + t2
    return 1.0, [expr], []


def times(x: Expr, y: Expr) -> Expr:
    """x * y with common factors of numerator and denominator cancelled."""
    s1, t1, b1 = _factors(x)
    s2, t2, b2 = _factors(y)
    sign, top, bottom = s1 * s2, t1 + t2, b1 + b2
    if sign == 0:
        return ZERO
    for factor in list(bottom):
        if factor in top:
            top.remove(factor)
            bottom.remove(factor)
    numerator: Expr = const(abs(sign)) if abs(sign) != 1 or not top else ONE
    for factor in top:
        numerator = mul(numerator, factor)
    denominator: Expr = ONE
    for factor in bottom:
        denominator = mul(denominator, factor)
    result = div(numerator, denominator)
    return neg(result) if sign < 0 else result


class ExpansionTooLarge(Exception):
    def __init__(self, name: str, estimate: int):
        super().__init__(name, estimate)
        self.name, self.estimate = name, estimate


def expanded_adjoints(program: Program, partials: dict, *, limit: int) -> dict:
    """dL/dname written out in full for every node and parameter, or ExpansionTooLarge.

    partials is {target: {name: symbolic local partial}}; sizes are estimated before anything is
    built, since a written-out expression grows with every layer it passes through.
    """
    readers = program.readers()
    order = [t for eq in reversed(program.equations) for t in reversed(eq.targets)]
    names = order + [p for p in program.parameters]
    estimate = {program.loss: 1}
    for name in names:
        if name == program.loss:
            continue
        estimate[name] = sum(estimate.get(m, 1) + size(partials[m][name]) + 1 for m in readers.get(name, ()))
        if estimate[name] > limit:
            raise ExpansionTooLarge(name, estimate[name])
    expanded = {program.loss: ONE}
    for name in names:
        if name == program.loss:
            continue
        total = ZERO
        for reader in readers.get(name, ()):
            if reader in expanded:
                total = add(total, times(expanded[reader], partials[reader][name]))
        expanded[name] = total
    return expanded


# -- softmax meets cross-entropy -----------------------------------------------------------------

def _signed_terms(expr: Expr, sign: int = 1):
    if isinstance(expr, Apply) and expr.op in ("add", "sub"):
        yield from _signed_terms(expr.args[0], sign)
        yield from _signed_terms(expr.args[1], sign if expr.op == "add" else -sign)
    elif isinstance(expr, Apply) and expr.op == "neg":
        yield from _signed_terms(expr.args[0], -sign)
    else:
        yield sign, expr


def _target_times_log(sign: int, term: Expr):
    """(t, y) when the term is -t*log(y), else None."""
    if not (isinstance(term, Apply) and term.op == "mul"):
        return None
    for factor, other in (term.args, reversed(term.args)):
        if isinstance(factor, Apply) and factor.op == "neg":
            factor, sign = factor.args[0], -sign
        if (sign < 0 and isinstance(factor, Ref) and isinstance(other, Apply) and other.op == LOG
                and isinstance(other.args[0], Ref)):
            return factor.name, other.args[0].name
    return None


def softmax_cross_entropy(program: Program):
    """(softmax equation, {y: t}) when the loss is -sum t_i ln y_i over one softmax's outputs (an op whose
    logs fuse, core/fusion.py), else None.

    Then dL/do_j = sum_i (-t_i/y_i) y_i(delta_ij - y_j) = y_j sum_i t_i - t_j: y_j - t_j when the
    targets sum to 1.
    """
    loss_eq = next(eq for eq in program.equations if program.loss in eq.targets)
    pairs = {}
    for sign, term in _signed_terms(loss_eq.expr):
        found = _target_times_log(sign, term)
        if found is None or found[0] not in program.data or found[1] in pairs:
            return None
        pairs[found[1]] = found[0]
    for eq in program.equations:
        if isinstance(eq.expr, Apply) and OPS[eq.expr.op].log_op and set(eq.targets) == set(pairs):
            if all(isinstance(a, Ref) for a in eq.expr.args):
                return eq, pairs
    return None
