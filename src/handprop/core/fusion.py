"""The one rewrite of a program: the log of a softmax output is taken from the logits.

Where an equation takes ln y_i of an output of a multi-output op whose entry names a log op (softmax's is
log_softmax), the rewrite computes those logs once, from the same arguments, as hidden nodes right after
that op's equation, and the log reads them: ln y_i = o_i - logsumexp(o), exact where y_i itself rounds to
0 (logits of +-1000), and the gradient that reaches the logits is dL/do_j = a_j - y_j sum_i a_i (a the
gradients of the logs), with no division by y. It is how torch's cross_entropy takes the logits.

The engines run the rewritten program: the interpreter, the compiled path, the torch oracle; the NumPy
engine takes its fused kernel where `fused_logs` finds the rewrite applies. The worked solution reads the
original program, and `unfused_trace` maps a trace of the rewritten one back to it: a partial with
respect to ln y_i becomes one with respect to y_i, divided by y_i, and so does a gradient.
"""

from __future__ import annotations

import math
from .frozen import replace

from .ops import OPS, apply
from .program import Apply, Equation, Expr, Program, Ref

LOG = "log"  # the op whose argument, a softmax output, the rewrite looks for


class Fused:
    """A program as rewritten, and its hidden nodes. (A plain class: dataclasses cost start-up time.)"""

    def __init__(self, program: Program, logs: dict):
        self.program = program  # the rewritten program (the original itself when nothing is rewritten)
        self.logs = logs  # hidden node -> the output it is the log of


def hidden_name(output: str) -> str:
    """The hidden node that holds ln of an output: a name no equation can write (it has brackets)."""
    return f"ln({output})"


def _logged(expr: Expr, found: set) -> None:
    """The names y such that ln(y) appears in expr."""
    if isinstance(expr, Apply):
        if expr.op == LOG and isinstance(expr.args[0], Ref):
            found.add(expr.args[0].name)
        for arg in expr.args:
            _logged(arg, found)


def _rewritten(expr: Expr, logs: dict) -> Expr:
    if not isinstance(expr, Apply):
        return expr
    if expr.op == LOG and isinstance(expr.args[0], Ref) and expr.args[0].name in logs:
        return Ref(logs[expr.args[0].name])
    args = tuple(_rewritten(arg, logs) for arg in expr.args)
    return expr if args == expr.args else replace(expr, args=args)


def fused_logs(program: Program) -> dict:
    """output -> its hidden log node, for every output of a log-fusing op that an equation takes the log of.

    >>> from handprop import load
    >>> fused_logs(load("homework").program)
    {'y1': 'ln(y1)', 'y2': 'ln(y2)'}
    """
    taken: set = set()
    for eq in program.equations:
        _logged(eq.expr, taken)
    logs = {}
    for eq in program.equations:
        if isinstance(eq.expr, Apply) and OPS[eq.expr.op].log_op is not None:
            logs.update({y: hidden_name(y) for y in eq.targets if y in taken})
    return logs


def fuse(program: Program) -> Fused:
    """The program with each log of a softmax output read from its hidden log node.

    >>> from handprop import load
    >>> fused = fuse(load("homework").program)
    >>> [eq.label for eq in fused.program.equations][-3:]
    ['y1, y2', 'ln(y1), ln(y2)', 'L']
    """
    logs = fused_logs(program)
    if not logs:
        return Fused(program, {})
    equations = []
    for eq in program.equations:
        equations.append(replace(eq, expr=_rewritten(eq.expr, logs)))
        if any(y in logs for y in eq.targets):
            op = OPS[eq.expr.op]
            equations.append(Equation(tuple(hidden_name(y) for y in eq.targets),
                                      apply(op.log_op, eq.expr.args, **dict(eq.expr.params)), eq.line))
    return Fused(replace(program, equations=tuple(equations)), {hidden: y for y, hidden in logs.items()})


def _divided(c: float, y: float) -> float:
    """c / y, where c / 0 is infinite (0 / 0 is 0: a term that contributes nothing)."""
    if y != 0:
        return c / y
    return 0.0 if c == 0 else math.copysign(math.inf, c)


def unfused_trace(values: dict, partials: dict, adjoints: dict, logs: dict) -> tuple[dict, dict, dict]:
    """A trace of the rewritten program as one of the original: the hidden nodes gone, a partial or gradient
    with respect to ln y moved to y (divided by y: d ln y / dy = 1/y). dL/dy is truly infinite where y is 0."""
    shown = {name: value for name, value in values.items() if name not in logs}

    def moved(row: dict) -> dict:
        if not any(name in logs for name in row):
            return row
        out: dict = {}
        for name, partial in row.items():
            key = logs.get(name, name)
            term = _divided(partial, shown[key]) if name in logs else partial
            out[key] = out.get(key, 0.0) + term
        return out

    rows = {target: moved(row) for target, row in partials.items() if target not in logs}
    gradients = {name: value for name, value in adjoints.items() if name not in logs}
    for hidden, y in logs.items():
        if hidden in adjoints:
            gradients[y] = gradients.get(y, 0.0) + _divided(adjoints[hidden], shown[y])
    return shown, rows, gradients
