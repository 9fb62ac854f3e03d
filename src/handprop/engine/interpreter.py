"""The plain-Python interpreter: values, local partials and adjoints, per sample.

For each equation `target = expression` it computes the target's value and,
by reverse mode over the expression's small tree, the local partial derivative
d target / d name for every name the expression reads (a name read twice gets
the sum, as micrograd's +=). Then, in reverse equation order, the adjoint of
every name: dL/dname = sum over the nodes n that read it of dL/dn * dn/dname.
It keeps everything; the worked derivation reads it.

A batch is one pass per sample; the batch loss is the mean of the per-sample
losses, so its gradient is the mean of the per-sample gradients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..core.errors import HandpropError
from ..core.rounding import hand_round
from ..core.ops import OPS
from ..core.program import Apply, Const, Equation, Program, Ref


@dataclass(frozen=True)
class SampleTrace:
    """Everything the engine computed for one sample (at one set of parameter values)."""

    values: dict  # name -> value, for parameters, data and nodes
    partials: dict  # target -> {name: d target / d name}
    adjoints: dict  # name -> d loss_k / d name, loss_k this sample's loss


class _Evaluation:
    """One equation's expression, evaluated, with each subexpression's value kept for the reverse pass."""

    def __init__(self, env: dict, fail, log_probabilities: dict, ops: dict = OPS):
        self.env = env
        self.ops = ops
        self.fail = fail
        self.log_probabilities = log_probabilities  # softmax output name -> its log, from the logits
        self.cache: dict[int, tuple] = {}  # id(expr) -> (value, argument values)
        # softmax output name -> c, where this expression's derivative holds c / y through ln y. Kept apart,
        # so that c / y times dy/do = c (delta - y) stays exact when y rounds to 0 (logits of +-1000).
        self.logs: dict[str, float] = {}

    def value(self, expr) -> float:
        if isinstance(expr, Const):
            return expr.value
        if isinstance(expr, Ref):
            return self.env[expr.name]
        args = tuple(self.value(a) for a in expr.args)
        if expr.op == "log" and isinstance(expr.args[0], Ref) and expr.args[0].name in self.log_probabilities:
            # ln y of a softmax output: o_i - logsumexp(o), exact even where y rounds to 0 (as torch's
            # cross_entropy on logits).
            out = self.log_probabilities[expr.args[0].name]
        else:
            out = self.apply(expr.op, args)
        self.cache[id(expr)] = (out, args)
        return out

    def apply(self, name: str, args: tuple):
        op = self.ops[name]
        if op.domain is not None:
            problem = op.domain(*args)
            if problem:
                raise self.fail(problem)
        try:
            out = op.forward(*args)
        except OverflowError:
            raise self.fail(f"{op.name} of {', '.join(map(repr, args))} overflows") from None
        except (ValueError, ZeroDivisionError) as exc:
            raise self.fail(f"{op.name} of {', '.join(map(repr, args))} failed: {exc}") from None
        for v in out if isinstance(out, tuple) else (out,):
            if not math.isfinite(v):
                raise self.fail(f"{op.name} of {', '.join(map(repr, args))} overflows")
        return out

    def backprop(self, expr, seed: float, into: dict) -> None:
        """Add seed * d expr / d name into `into` for every name under expr."""
        if isinstance(expr, Ref):
            into[expr.name] = into.get(expr.name, 0.0) + seed
            return
        if isinstance(expr, Const):
            return
        if expr.op == "log" and isinstance(expr.args[0], Ref) and expr.args[0].name in self.log_probabilities:
            name = expr.args[0].name
            self.logs[name] = self.logs.get(name, 0.0) + seed
            return
        out, args = self.cache[id(expr)]
        try:
            partials = self.ops[expr.op].partials(*args, out)
        except (ZeroDivisionError, OverflowError, ValueError):
            raise self.fail(f"the derivative of {expr.op} at {', '.join(map(repr, args))} is not finite") from None
        for arg, partial in zip(expr.args, partials):
            if isinstance(arg, Const):
                continue
            if not math.isfinite(partial):
                raise self.fail(f"the derivative of {expr.op} at {', '.join(map(repr, args))} is not finite")
            self.backprop(arg, seed * partial, into)


def _log_softmax(args: tuple) -> list[float]:
    top = max(args)
    log_total = top + math.log(math.fsum(math.exp(a - top) for a in args))
    return [a - log_total for a in args]


@dataclass
class EquationResult:
    outs: tuple  # the targets' values
    rows: list  # per target, {name: local partial} (a softmax output's ln y part included)
    regular: list  # per target, {name: local partial} without the ln y parts
    logs: list  # per target, {softmax output: c}, its ln y parts: c / y
    arguments: list  # softmax only: per argument, {name: d argument / d name}


def _divide(c: float, y: float) -> float:
    """c / y, where c / 0 is infinite (0 / 0 is 0: a term that contributes nothing)."""
    if y != 0:
        return c / y
    return 0.0 if c == 0 else math.copysign(math.inf, c)


def evaluate_equation(eq: Equation, env: dict, fail, *, partials: bool = True,
                      log_probabilities: dict | None = None, ops: dict | None = None) -> EquationResult:
    """Values of the equation's targets and, per target, {name: local partial}.

    log_probabilities collects, for softmax outputs, their logarithms computed from the logits. ops, when
    given, replaces the op table (a modified derivative, as the grader's mistakes need).
    """
    log_probabilities = {} if log_probabilities is None else log_probabilities
    ops = OPS if ops is None else ops
    evaluation = _Evaluation(env, fail, log_probabilities, ops)
    expr = eq.expr
    if isinstance(expr, Apply) and ops[expr.op].multi_output:
        args = tuple(evaluation.value(a) for a in expr.args)
        outs = evaluation.apply(expr.op, args)
        if expr.op == "softmax":
            log_probabilities.update(zip(eq.targets, _log_softmax(args)))
        if not partials:
            return EquationResult(outs, [], [], [], [])
        arguments = []
        for arg in expr.args:
            into: dict = {}
            evaluation.backprop(arg, 1.0, into)
            arguments.append(into)
        jacobian = ops[expr.op].partials(*args, outs)  # (n_out, n_in)
        rows = []
        for row in jacobian:
            combined: dict = {}
            for d_out_d_arg, into in zip(row, arguments):
                for name, value in into.items():
                    combined[name] = combined.get(name, 0.0) + d_out_d_arg * value
            rows.append(combined)
        return EquationResult(outs, rows, rows, [{} for _ in rows], arguments)
    out = evaluation.value(expr)
    if not partials:
        return EquationResult((out,), [], [], [], [])
    into = {}
    evaluation.backprop(expr, 1.0, into)
    shown = dict(into)
    for name, c in evaluation.logs.items():
        shown[name] = shown.get(name, 0.0) + _divide(c, env[name])
    return EquationResult((out,), [shown], [into], [dict(evaluation.logs)], [])


def _failure(source: str | None, eq: Equation, sample: int, batch_size: int):
    def fail(what: str) -> HandpropError:
        where = f"node {eq.label}"
        if eq.line is not None:
            where += f" (line {eq.line})"
        if batch_size > 1:
            where += f", sample {sample + 1}"
        return HandpropError(source, where, what, None)

    return fail


def run_sample(program: Program, inputs: dict, *, source: str | None = None, sample: int = 0,
               batch_size: int = 1, backward: bool = True, rounding: int | None = None,
               ops: dict | None = None) -> SampleTrace:
    """Forward (and reverse) pass of one sample; inputs hold parameter and data values.

    With rounding, every node's value, every local partial and every adjoint is rounded to that many
    decimals before it is used, as by hand (and ln y of a softmax output is ln of the rounded y).
    With ops, a modified op table is used (say, a derivative taken wrongly, to reproduce a student's
    mistake); the chain rule then runs plainly over the local partials, as by hand.

    >>> from handprop.problem.equations import parse_equations
    >>> p = parse_equations("L = (w*x - t)**2", parameters=["w"], data=["x", "t"])
    >>> run_sample(p, {"w": 2.0, "x": 3.0, "t": 1.0}).adjoints["w"]
    30.0
    """
    values = dict(inputs)
    partials: dict = {}
    results = []
    log_probabilities: dict = {}
    plain = rounding is not None or ops is not None  # the chain rule as written, over the local partials
    for eq in program.equations:
        fail = _failure(source, eq, sample, batch_size)
        result = evaluate_equation(eq, values, fail, partials=backward,
                                   log_probabilities=None if plain else log_probabilities, ops=ops)
        if rounding is not None:
            result = _rounded(result, rounding)
        results.append(result)
        for target, value in zip(eq.targets, result.outs):
            values[target] = value
        for target, row in zip(eq.targets, result.rows):
            partials[target] = row
    adjoints: dict = {}
    if backward:
        if not plain:
            adjoints = _reverse(program, values, results, set(log_probabilities))
        else:
            adjoints = _reverse_by_hand(program, values, results, rounding)
    return SampleTrace(values, partials, adjoints)


def _rounded(result: EquationResult, places: int) -> EquationResult:
    rows = [{name: hand_round(v, places) for name, v in row.items()} for row in result.rows]
    return EquationResult(tuple(hand_round(v, places) for v in result.outs), rows, rows,
                          [{} for _ in rows], [])


def _reverse_by_hand(program: Program, values: dict, results: list, places: int | None) -> dict:
    """The chain rule as a person applies it: each adjoint rounded before it is used (the softmax through
    its Jacobian, entry by entry); places None: nothing rounded."""
    def rounded(value: float) -> float:
        return value if places is None else hand_round(value, places)

    adjoints = {name: 0.0 for name in values}
    adjoints[program.loss] = 1.0
    for eq, result in zip(reversed(program.equations), reversed(results)):
        for target, row in zip(eq.targets, result.rows):
            upstream = adjoints[target] = rounded(adjoints[target])
            for name, local_partial in row.items():
                adjoints[name] += rounded(upstream * local_partial)
    return {name: rounded(value) for name, value in adjoints.items()}


def _reverse(program: Program, values: dict, results: list, softmax_outputs: set) -> dict:
    """dL/dname for every name, from the loss back: each node's adjoint times its local partials.

    A softmax output y's adjoint is gathered as dL/dy * y (its ln y parts as their coefficients), and its
    logits get y_j (a_j / y_j - sum_i a_i) written as a_j - y_j sum_i a_i: exact even where y is 0.
    """
    adjoints = {name: 0.0 for name in values}
    adjoints[program.loss] = 1.0
    scaled: dict = {}  # softmax output -> dL/dy * y

    def add(name: str, amount: float) -> None:
        if name in softmax_outputs:
            scaled[name] = scaled.get(name, 0.0) + amount * values[name]
        else:
            adjoints[name] += amount

    for eq, result in zip(reversed(program.equations), reversed(results)):
        if result.arguments:
            a = [scaled.get(y, 0.0) for y in eq.targets]
            total = math.fsum(a)
            for y, a_y in zip(eq.targets, a):
                adjoints[y] = _divide(a_y, values[y])
            for a_j, y, into in zip(a, eq.targets, result.arguments):
                weight = a_j - values[y] * total
                for name, local_partial in into.items():
                    add(name, weight * local_partial)
            continue
        for target, regular, logs in zip(eq.targets, result.regular, result.logs):
            upstream = adjoints[target]
            for name, local_partial in regular.items():
                add(name, upstream * local_partial)
            for name, c in logs.items():
                scaled[name] = scaled.get(name, 0.0) + upstream * c
    return adjoints


def run_batch(program: Program, parameters: dict, data: dict, batch_size: int, *, source: str | None = None,
              backward: bool = True, rounding: int | None = None,
              ops: dict | None = None) -> tuple[float, dict, list]:
    """Mean loss, its gradient with respect to each parameter, and the per-sample traces (ops: as run_sample)."""
    traces = []
    for k in range(batch_size):
        inputs = dict(parameters)
        inputs.update({name: values[k] for name, values in data.items()})
        traces.append(run_sample(program, inputs, source=source, sample=k, batch_size=batch_size,
                                 backward=backward, rounding=rounding, ops=ops))
    loss = math.fsum(t.values[program.loss] for t in traces) / batch_size
    gradients = {}
    if backward:
        gradients = {name: math.fsum(t.adjoints[name] for t in traces) / batch_size for name in parameters}
    if rounding is not None:
        loss = hand_round(loss, rounding)
        gradients = {name: hand_round(g, rounding) for name, g in gradients.items()}
    return loss, gradients, traces
