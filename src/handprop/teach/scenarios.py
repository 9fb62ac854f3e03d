"""Mistakes that need a recomputation: the interpreter run with one modification, a whole answer set out.

Mistakes in an op's derivative, from DERIVATIVE_MISTAKES (by op): ReLU's derivative taken the wrong way
round, for one unit or as 1 for every inactive unit (a modified op table: the unit's equation calls a relu
whose derivative is flipped); the softmax differentiated without its cross terms (a softmax whose Jacobian
keeps its diagonal). Then the targets swapped (modified data); the
already-updated weights used in the backward pass (each equation's local partials taken at the updated
parameters as soon as no other equation reads them). Each works on the program's equations and the
engine's traces, so it holds for any layered network and the equations form alike.
"""

from __future__ import annotations

import re
from ..core.frozen import replace

from ..core.errors import HandpropError
from .names import Quantity
from .mistakes import Scenario
from ..core.ops import OPS
from ..core.optim import Optimizer
from ..core.program import Apply, Equation, Ref, names_in
from ..core.rounding import hand_round
from ..engine.interpreter import evaluate_equation, run_batch

MAX_SWAPPED_TARGETS = 6  # pairs of targets tried; a hand-sized problem has two or three


def _rounder(places: int | None):
    return (lambda v: v) if places is None else (lambda v: hand_round(v, places))


def one_step(problem, gradients: dict, places: int | None = None) -> dict:
    """The parameters after one optimizer step on the given gradients (rounded by hand if places)."""
    optimizer = Optimizer(problem.optimizer)
    optimizer.begin_step()
    r = _rounder(places)
    return {name: r(optimizer.update(name, value, gradients[name])) for name, value in problem.parameters.items()}


def _answer_set(problem, program, data, traces, gradients, loss, places, ops=None, updated=None,
                adjoints=None) -> dict:
    """The answers of a recomputation: node values and gradients per sample, gradients, the update."""
    batch = problem.batch_size
    r = _rounder(places)
    adjoints = [t.adjoints for t in traces] if adjoints is None else adjoints
    values = {Quantity("loss"): loss}
    for k, trace in enumerate(traces):
        for node in program.nodes:
            values[Quantity("value", node, k)] = trace.values[node]
            values[Quantity("node_gradient", node, k)] = r(adjoints[k][node] / batch)
    for name, gradient in gradients.items():
        values[Quantity("gradient", name)] = gradient
    if problem.optimizer.steps == 1:  # a mistake's update is one step's: longer runs are not worked by hand
        updated = one_step(problem, gradients, places) if updated is None else updated
        values.update({Quantity("updated", name): value for name, value in updated.items()})
        values[Quantity("loss_after")] = run_batch(program, updated, data, batch, source=problem.source,
                                                   backward=False, rounding=places, ops=ops)[0]
    return values


def _recompute(problem, *, program=None, data=None, ops=None, places=None) -> dict | None:
    program = problem.program if program is None else program
    data = problem.data if data is None else data
    try:
        loss, gradients, traces = run_batch(program, problem.parameters, data, problem.batch_size,
                                            source=problem.source, rounding=places, ops=ops)
        return _answer_set(problem, program, data, traces, gradients, loss, places, ops)
    except HandpropError:
        return None  # the mistake's numbers do not exist (a log of 0, say): it explains nothing here


def _flipped_relu(x: float, out: float) -> tuple:
    return (0.0 if x > 0 else 1.0,)


def _diagonal_softmax(*args) -> tuple:
    ys = args[-1]
    return tuple(tuple(ys[i] * (1.0 - ys[i]) if i == j else 0.0 for j in range(len(ys))) for i in range(len(ys)))


def _step_scenarios(problem, op_name: str, reference_traces, places) -> list[Scenario]:
    """A step-function derivative (relu's u(h)) taken the wrong way round, for one unit, or as 1 for every
    inactive unit."""
    program = problem.program
    units = [(i, eq) for i, eq in enumerate(program.equations)
             if isinstance(eq.expr, Apply) and eq.expr.op == op_name]

    def argument(eq) -> str:
        arg = eq.expr.args[0]
        return arg.name if isinstance(arg, Ref) else f"the argument of {eq.target}"

    def active(eq) -> list[bool]:
        arg = eq.expr.args[0]
        return [t.values[arg.name] > 0 if isinstance(arg, Ref) else t.values[eq.target] > 0 for t in reference_traces]

    scenarios = []
    flipped_name = op_name + "_flipped"
    ops = dict(OPS, **{flipped_name: OPS[op_name].replace(name=flipped_name, partials=_flipped_relu)})
    for index, eq in units:
        h, state = argument(eq), active(eq)
        changed = Equation(eq.targets, Apply(flipped_name, eq.expr.args, eq.expr.params), eq.line)
        flipped = replace(program, equations=program.equations[:index] + (changed,) + program.equations[index + 1:])
        if all(state):
            text = f"ReLU's derivative taken as 0 for the active unit {h}: {h} > 0, so u({h}) = 1"
        elif not any(state):
            text = f"ReLU's derivative taken as 1 for the inactive unit {h}: {h} ≤ 0, so u({h}) = 0"
        else:
            text = f"ReLU's derivative u({h}) taken the wrong way round"
        values = _recompute(problem, program=flipped, ops=ops, places=places)
        if values is not None:
            scenarios.append(Scenario("relu_derivative", text, values))
    inactive = [argument(eq) for _, eq in units if not all(active(eq))]
    if len(inactive) > 1:
        always = dict(OPS, **{op_name: OPS[op_name].replace(partials=lambda x, out: (1.0,))})
        values = _recompute(problem, ops=always, places=places)
        if values is not None:
            scenarios.append(Scenario("relu_derivative", "ReLU's derivative taken as 1 for the inactive units "
                                      f"{', '.join(inactive)}: u(h) = 0 where h ≤ 0", values))
    return scenarios


def _target_names(problem) -> list[str]:
    if problem.network is not None:
        return list(problem.network.targets)
    names = [n for n in problem.program.data if re.fullmatch(r"t\d+", n)]
    return sorted(names, key=lambda n: int(n[1:]))


def _swapped_targets(problem, places) -> list[Scenario]:
    targets = _target_names(problem)[:MAX_SWAPPED_TARGETS]
    scenarios = []
    for i, first in enumerate(targets):
        for second in targets[i + 1:]:
            if problem.data[first] == problem.data[second]:
                continue  # swapping equal targets changes nothing
            data = dict(problem.data, **{first: problem.data[second], second: problem.data[first]})
            values = _recompute(problem, data=data, places=places)
            if values is not None:
                scenarios.append(Scenario("targets_swapped", f"{first} and {second} swapped", values))
    return scenarios


def _updated_weights_in_backward(problem, places) -> Scenario | None:
    """The chain rule from the loss back, with each local partial taken at the updated parameters as soon
    as they are known: dL/da1 = dL/do1·w7' + dL/do2·w10' once w7 and w10 are updated."""
    program, batch = problem.program, problem.batch_size
    parameters = problem.parameters
    if problem.optimizer.steps != 1:
        return None
    r = _rounder(places)
    try:
        loss, _, traces = run_batch(program, parameters, problem.data, batch, source=problem.source,
                                    rounding=places)
    except HandpropError:  # pragma: no cover - the problem itself solved
        return None
    readers_left = {p: 0 for p in parameters}
    for eq in program.equations:
        for name in names_in(eq.expr):
            if name in readers_left:
                readers_left[name] += 1
    current = dict(parameters)
    sums = {p: 0.0 for p in parameters}
    gradients: dict = {}
    adjoints = [dict.fromkeys(t.values, 0.0) | {program.loss: 1.0} for t in traces]
    optimizer = Optimizer(problem.optimizer)
    optimizer.begin_step()

    def fail(what: str) -> HandpropError:
        return HandpropError(problem.source, None, what)

    for eq in reversed(program.equations):
        # The parameters' gradients first (their partials are the node values, unchanged), then their update
        # once no other equation reads them, then the partials passed on to the nodes, at the updated values.
        for k, trace in enumerate(traces):
            for target, row in zip(eq.targets, evaluate_equation(eq, trace.values, fail, ops=OPS).rows):
                upstream = adjoints[k][target] = r(adjoints[k][target])
                for name, local_partial in row.items():
                    if name in parameters:
                        sums[name] += r(upstream * r(local_partial))
        for name in sorted(set(names_in(eq.expr)) & set(parameters)):
            readers_left[name] -= 1
            if readers_left[name] == 0:
                gradients[name] = r(sums[name] / batch)
                current[name] = r(optimizer.update(name, parameters[name], gradients[name]))
        for k, trace in enumerate(traces):
            later = evaluate_equation(eq, dict(trace.values, **current), fail, ops=OPS).rows
            for target, row in zip(eq.targets, later):
                for name, local_partial in row.items():
                    if name not in parameters:
                        adjoints[k][name] += r(adjoints[k][target] * r(local_partial))
    values = _answer_set(problem, program, problem.data, traces, {p: gradients.get(p, 0.0) for p in parameters},
                         loss, places, updated={p: current[p] for p in parameters},
                         adjoints=[{name: r(v) for name, v in a.items()} for a in adjoints])
    return Scenario("updated_weights_in_backward", "the already-updated weights used in the backward pass "
                    "(dL/da = Σ dL/do·w' with the new w)", values)


def scenarios(problem, *, places: int | None = None) -> list[Scenario]:
    """Every recomputed mistake for this problem, at full precision or rounded by hand to places.

    >>> from handprop import load
    >>> sorted({s.mistake for s in scenarios(load("homework"))})  # doctest: +NORMALIZE_WHITESPACE
    ['relu_derivative', 'softmax_no_cross_terms', 'targets_swapped', 'updated_weights_in_backward']
    """
    try:
        reference = run_batch(problem.program, problem.parameters, problem.data, problem.batch_size,
                              source=problem.source, rounding=places)[2]
    except HandpropError:  # worked at this precision the numbers do not exist (an output rounded to 0, logged)
        return []
    used = {eq.expr.op for eq in problem.program.equations if isinstance(eq.expr, Apply)}
    makers = [lambda op_name=op_name, mistakes=mistakes: mistakes(problem, op_name, reference, places)
              for op_name, mistakes in DERIVATIVE_MISTAKES.items() if op_name in used]
    makers += [lambda: [scenario for scenario in [_updated_weights_in_backward(problem, places)] if scenario],
               lambda: _swapped_targets(problem, places)]
    found = []
    for make in makers:
        try:
            found += make()
        except HandpropError:  # a mistake whose numbers do not exist at this precision explains nothing here
            continue
    return found


def _no_cross_terms(problem, op_name: str, reference_traces, places) -> list[Scenario]:
    """The softmax differentiated without its cross terms: its Jacobian's diagonal only."""
    ops = dict(OPS, **{op_name: OPS[op_name].replace(partials=_diagonal_softmax)})
    values = _recompute(problem, ops=ops, places=places)
    if values is None:
        return []
    return [Scenario("softmax_no_cross_terms", "the softmax derivative without its cross terms: "
                     "dL/do_j = dL/dy_j·y_j(1 − y_j), leaving out −dL/dy_i·y_i·y_j", values)]


# The mistakes a student makes in an op's derivative, by op: each gives the recomputed answer sets.
DERIVATIVE_MISTAKES = {"relu": _step_scenarios, "softmax": _no_cross_terms}
