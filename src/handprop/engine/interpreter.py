"""The plain-Python interpreter: values, local partials and adjoints, per sample.

For each equation `target = expression` it computes the target's value and, by reverse mode over the
expression's small tree, the local partial derivative d target / d name for every name the expression
reads (a name read twice gets the sum, as micrograd's +=). A multi-output op (softmax) at the top of an
equation gives each target's partials through its Jacobian. Then, in reverse equation order, the adjoint
of every name: dL/dname = sum over the nodes n that read it of dL/dn * dn/dname. It keeps everything;
the worked derivation reads it.

It runs the program that core/fusion.py rewrites (ln y of a softmax output from the logits), and hands
back a trace of the program as written. Worked out by hand (rounding) or with a modified op table (a
student's mistake), it runs the program as written: ln of the rounded y, the chain rule as a person
applies it.

A batch is one pass per sample; the batch loss is the mean of the per-sample losses, so its gradient is
the mean of the per-sample gradients.
"""

from __future__ import annotations

import math
from ..core.frozen import dataclass, field

from ..core.errors import HandpropError
from ..core.fusion import Fused, fuse, unfused_trace
from ..core.ops import OPS
from ..core.program import Apply, Const, Equation, Program, Ref
from ..core.rounding import hand_round


@dataclass(frozen=True)
class SampleTrace:
    """Everything the engine computed for one sample (at one set of parameter values)."""

    values: dict  # name -> value, for parameters, data and nodes
    partials: dict  # target -> {name: d target / d name}
    adjoints: dict  # name -> d loss_k / d name, loss_k this sample's loss
    logs: dict = field(default_factory=dict)  # a softmax output -> ln of it, as computed from the logits (the
    #                                            log-softmax), where the loss reads its log: finite even where
    #                                            the output itself underflows to 0


class _Evaluation:
    """One equation's expression, evaluated, with each subexpression's value kept for the reverse pass."""

    def __init__(self, env: dict, fail, ops: dict):
        self.env = env
        self.ops = ops
        self.fail = fail
        self.cache: dict[int, tuple] = {}  # id(expr) -> (value, argument values)

    def value(self, expr) -> float:
        if isinstance(expr, Const):
            return expr.value
        if isinstance(expr, Ref):
            return self.env[expr.name]
        args = tuple(self.value(a) for a in expr.args)
        out = self.apply(expr, args)
        self.cache[id(expr)] = (out, args)
        return out

    def apply(self, expr: Apply, args: tuple):
        op = self.ops[expr.op]
        settings = dict(expr.params)
        if op.domain is not None:
            problem = op.domain(*args, **settings)
            if problem:
                raise self.fail(problem)
        try:
            out = op.forward(*args, **settings)
        except OverflowError:
            raise self.fail(f"{op.name} of {', '.join(map(repr, args))} overflows") from None
        except (ValueError, ZeroDivisionError) as exc:
            raise self.fail(f"{op.name} of {', '.join(map(repr, args))} failed: {exc}") from None
        for v in out if isinstance(out, tuple) else (out,):
            if not math.isfinite(v):
                raise self.fail(f"{op.name} of {', '.join(map(repr, args))} overflows")
        return out

    def local_partials(self, expr, out, args: tuple) -> tuple:
        try:
            return self.ops[expr.op].partials(*args, out, **dict(expr.params))
        except (ZeroDivisionError, OverflowError, ValueError):
            raise self.fail(f"the derivative of {expr.op} at {', '.join(map(repr, args))} is not finite") from None

    def backprop(self, expr, seed: float, into: dict) -> None:
        """Add seed * d expr / d name into `into` for every name under expr."""
        if isinstance(expr, Ref):
            into[expr.name] = into.get(expr.name, 0.0) + seed
            return
        if isinstance(expr, Const):
            return
        out, args = self.cache[id(expr)]
        for arg, partial in zip(expr.args, self.local_partials(expr, out, args)):
            if isinstance(arg, Const):
                continue
            if not math.isfinite(partial):
                raise self.fail(f"the derivative of {expr.op} at {', '.join(map(repr, args))} is not finite")
            self.backprop(arg, seed * partial, into)


@dataclass
class EquationResult:
    outs: tuple  # the targets' values
    rows: list  # per target, {name: local partial}
    arguments: list  # multi-output ops only: per argument, {name: d argument / d name}


def evaluate_equation(eq: Equation, env: dict, fail, *, partials: bool = True,
                      ops: dict | None = None) -> EquationResult:
    """Values of the equation's targets and, per target, {name: local partial}.

    ops, when given, replaces the op table (a modified derivative, as the grader's mistakes need).
    """
    ops = OPS if ops is None else ops
    evaluation = _Evaluation(env, fail, ops)
    expr = eq.expr
    if isinstance(expr, Apply) and ops[expr.op].multi_output:
        args = tuple(evaluation.value(a) for a in expr.args)
        outs = evaluation.apply(expr, args)
        if not partials:
            return EquationResult(outs, [], [])
        arguments = []
        for arg in expr.args:
            into: dict = {}
            evaluation.backprop(arg, 1.0, into)
            arguments.append(into)
        jacobian = evaluation.local_partials(expr, outs, args)  # (n_out, n_in)
        rows = []
        for row in jacobian:
            combined: dict = {}
            for d_out_d_arg, into in zip(row, arguments):
                for name, value in into.items():
                    combined[name] = combined.get(name, 0.0) + d_out_d_arg * value
            rows.append(combined)
        return EquationResult(outs, rows, arguments)
    out = evaluation.value(expr)
    if not partials:
        return EquationResult((out,), [], [])
    into = {}
    evaluation.backprop(expr, 1.0, into)
    return EquationResult((out,), [into], [])


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
    mistake). Either way the program runs as written; else it runs as core/fusion.py rewrites it.

    >>> from handprop.problem.equations import parse_equations
    >>> p = parse_equations("L = (w*x - t)**2", parameters=["w"], data=["x", "t"])
    >>> run_sample(p, {"w": 2.0, "x": 3.0, "t": 1.0}).adjoints["w"]
    30.0
    """
    return _sample(_computed(program, rounding, ops), inputs, source, sample, batch_size, backward, rounding, ops)


def _computed(program: Program, rounding: int | None, ops: dict | None) -> Fused:
    """The program the interpreter runs: as written by hand or with a modified op table, else fused."""
    return fuse(program) if rounding is None and ops is None else Fused(program, {})


def _sample(fused: Fused, inputs: dict, source, sample, batch_size, backward, rounding, ops) -> SampleTrace:
    computed = fused.program
    values = dict(inputs)
    partials: dict = {}
    results = []
    for eq in computed.equations:
        result = evaluate_equation(eq, values, _failure(source, eq, sample, batch_size), partials=backward, ops=ops)
        if rounding is not None:
            result = _rounded(result, rounding)
        results.append(result)
        for target, value in zip(eq.targets, result.outs):
            values[target] = value
        for target, row in zip(eq.targets, result.rows):
            partials[target] = row
    adjoints = _reverse(computed, values, results, rounding) if backward else {}
    if backward:
        _check_gradients(computed, adjoints, source, sample, batch_size)
    logs = {}
    if fused.logs:
        logs = {y: values[hidden] for hidden, y in fused.logs.items()}
        values, partials, adjoints = unfused_trace(values, partials, adjoints, fused.logs)
    return SampleTrace(values, partials, adjoints, logs)


def _check_gradients(program: Program, adjoints: dict, source, sample: int, batch_size: int) -> None:
    """Every node's and parameter's gradient is a number: one that overflowed stops here, named (an input of
    1e154 squared, say), rather than being shown, or stepped with, as an answer."""
    for name in (*program.nodes, *program.parameters):
        value = adjoints[name]
        if not math.isfinite(value):
            kind = "parameter" if name in program.parameters else "node"
            where = f"{kind} {name}" + (f", sample {sample + 1}" if batch_size > 1 else "")
            raise HandpropError(source, where, f"its gradient dL/d{name} is {value!r}: the arithmetic overflowed",
                                "inputs and parameters whose products stay below 1e308, the largest float")


def _rounded(result: EquationResult, places: int) -> EquationResult:
    rows = [{name: hand_round(v, places) for name, v in row.items()} for row in result.rows]
    return EquationResult(tuple(hand_round(v, places) for v in result.outs), rows, [])


def _reverse(program: Program, values: dict, results: list, places: int | None) -> dict:
    """dL/dname for every name, from the loss back: each node's adjoint times its local partials. By hand
    (places given), each adjoint is rounded before it is used (a softmax's through its Jacobian, entry by
    entry)."""
    def rounded(value: float) -> float:
        return value if places is None else hand_round(value, places)

    adjoints = dict.fromkeys(values, 0.0)
    adjoints[program.loss] = 1.0
    for eq, result in zip(reversed(program.equations), reversed(results)):
        for target, row in zip(eq.targets, result.rows):
            upstream = adjoints[target] = rounded(adjoints[target])
            if upstream == 0.0:
                continue  # nothing flows back through a node the loss does not reach
            for name, local_partial in row.items():
                adjoints[name] += rounded(upstream * local_partial)
    return {name: rounded(value) for name, value in adjoints.items()}


def _mean(values: list) -> float:
    """The mean of the samples' values, their sum taken exactly (math.fsum); a sum beyond the largest float is
    infinite, as torch's is, for the callers' checks to report in one line.

    >>> _mean([0.1, 0.2, 0.3]), _mean([1e308, 1e308])
    (0.19999999999999998, inf)
    """
    try:
        return math.fsum(values) / len(values)
    except OverflowError:  # "intermediate overflow in fsum"
        return sum(values) / len(values)


def run_batch(program: Program, parameters: dict, data: dict, batch_size: int, *, source: str | None = None,
              backward: bool = True, rounding: int | None = None,
              ops: dict | None = None) -> tuple[float, dict, list]:
    """Mean loss, its gradient with respect to each parameter, and the per-sample traces (ops: as run_sample)."""
    fused = _computed(program, rounding, ops)
    traces = []
    for k in range(batch_size):
        inputs = dict(parameters)
        inputs.update({name: values[k] for name, values in data.items()})
        traces.append(_sample(fused, inputs, source, k, batch_size, backward, rounding, ops))
    loss = _mean([t.values[program.loss] for t in traces])
    gradients = {}
    if backward:
        gradients = {name: _mean([t.adjoints[name] for t in traces]) for name in parameters}
    if rounding is not None:
        loss = hand_round(loss, rounding)
        gradients = {name: hand_round(g, rounding) for name, g in gradients.items()}
    return loss, gradients, traces
