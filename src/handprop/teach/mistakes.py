"""Common mistakes: their catalogue, and the ones that act on one answer.

The catalogue (MISTAKES) lists every mistake the grader looks for, in the order they are tried. The local
ones are here: the gradient's sign flipped, the update added instead of subtracted, the learning rate
left out or applied twice, the parameter not updated, the wrong input in a product, a neighbour's value.
Those that need a recomputation of the whole problem are in scenarios.py. Both read the
program's structure (its equations and parameters), so they hold for any layered network and for the
equations form. Descriptions are in symbols; the renderers show the numbers.
"""

from __future__ import annotations

import math
import re
from ..core.frozen import dataclass, replace

from .names import Quantity, label
from ..core.program import Apply, Ref, names_in

# In the order they are tried: the first that reproduces a number is its most likely cause.
MISTAKES = {
    "sign_flipped": "the gradient's sign flipped",
    "update_added": "the update added instead of subtracted: θ' = θ + γ·dL/dθ",
    "lr_left_out": "the learning rate left out: θ' = θ − dL/dθ",
    "lr_twice": "the learning rate applied twice: θ' = θ − γ²·dL/dθ",
    "step_twice": "the step taken twice: θ' = θ − 2γ·dL/dθ",
    "not_updated": "the parameter left as it was: θ' = θ",
    "relu_derivative": "ReLU's derivative taken as 1 for an inactive unit, or as 0 for an active one",
    "wrong_factor": "the wrong input or activation in a product: dL/dw1 = dL/dh1·x2 instead of ·x1",
    "updated_weights_in_backward": "the already-updated weights used in the backward pass",
    "softmax_no_cross_terms": "the softmax derivative without its cross terms: dL/do_j = dL/dy_j·y_j(1 − y_j) only",
    "targets_swapped": "the targets swapped: t1 and t2 exchanged",
    "neighbour": "a neighbour's value: the numbering mixed up (w_(i−1) or w_(i+1) for w_i)",
}
ORDER = {key: rank for rank, key in enumerate(MISTAKES)}


@dataclass(frozen=True)
class Candidate:
    """A number some mistake produces for one answer."""

    value: float
    mistake: str  # a key of MISTAKES
    text: str  # what was done, for this answer


@dataclass(frozen=True)
class Scenario:
    """The whole answer set of a student who makes one mistake (and no other)."""

    mistake: str
    text: str
    values: dict  # Quantity -> value


def answer_values(solution) -> dict:
    """Every answer a student can give, from a Solution: Quantity -> value.

    >>> from handprop import load, solve
    >>> round(answer_values(solve(load("homework")))[Quantity("gradient", "w7")], 4)
    -0.2331
    """
    program = solution.problem.program
    values = {Quantity("loss"): solution.loss, Quantity("loss_after"): solution.loss_after}
    for k, trace in enumerate(solution.traces):
        for node in (*program.data, *program.nodes):
            if node not in program.data:  # a data value is given, not an answer; its gradient is one
                values[Quantity("value", node, k)] = trace.values[node]
            gradient = solution.nodes[node].gradients[k]
            if gradient is not None:  # None: no finite number (an underflowed softmax output's), no answer
                values[Quantity("node_gradient", node, k)] = gradient
    for name, record in solution.parameters.items():
        values[Quantity("gradient", name)] = record.gradient
        values[Quantity("updated", name)] = record.updated
    return values


def _neighbours(name: str, names: list[str]) -> list[str]:
    """The names just before and after in the list that share the letters before the first digit."""
    def prefix(text: str) -> str:
        return re.match(r"[^\d]*", text).group(0)

    if name not in names:
        return []
    i = names.index(name)
    return [names[j] for j in (i - 1, i + 1) if 0 <= j < len(names) and prefix(names[j]) == prefix(name)]


def local_candidates(quantity: Quantity, reference: dict, problem, *, student_gradient: float | None = None
                     ) -> list[Candidate]:
    """Numbers the local mistakes give for one answer, from a reference answer set (full or by hand)."""
    found: list[Candidate] = []
    kind, name = quantity.kind, quantity.name
    shown = label(quantity, problem)
    if kind in ("gradient", "node_gradient") and quantity in reference:
        found.append(Candidate(-reference[quantity], "sign_flipped", f"the gradient's sign flipped: −({shown})"))
    if kind == "updated" and problem.optimizer.is_plain_sgd and problem.optimizer.steps == 1:
        theta, lr = problem.parameters[name], problem.optimizer.lr
        gradients = [(reference[Quantity("gradient", name)], "")]
        if student_gradient is not None:
            gradients.append((student_gradient, " (with your dL/d" + name + ")"))
        for g, whose in gradients:
            found += [Candidate(theta + lr * g, "update_added", f"{shown} = {name} + γ·dL/d{name}: the update "
                                                               f"added instead of subtracted{whose}"),
                      Candidate(theta - g, "lr_left_out", f"{shown} = {name} − dL/d{name}: the learning rate "
                                                          f"left out{whose}"),
                      Candidate(theta - lr * lr * g, "lr_twice", f"{shown} = {name} − γ²·dL/d{name}: the learning "
                                                                 f"rate applied twice{whose}"),
                      Candidate(theta - 2 * lr * g, "step_twice", f"{shown} = {name} − 2γ·dL/d{name}: the step "
                                                                  f"taken twice{whose}")]
        found.append(Candidate(theta, "not_updated", f"{shown} = {name}: the parameter left as it was"))
    if kind == "gradient":
        found += _wrong_factor(name, reference, problem)
    program = problem.program
    names = list(program.parameters) if kind in ("gradient", "updated") else list(program.nodes)
    for other in _neighbours(name, names):
        neighbour = replace(quantity, name=other)
        if neighbour in reference:
            found.append(Candidate(reference[neighbour], "neighbour",
                                   f"{label(neighbour, problem)} written for {shown}: the numbering mixed up"))
    return found


def _factor(expr, parameter: str) -> str | None:
    """The name that multiplies the parameter in the expression (x1 in w1*x1), if there is one."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Apply):
            if node.op == "mul" and len(node.args) == 2:
                a, b = node.args
                if isinstance(a, Ref) and a.name == parameter and isinstance(b, Ref):
                    return b.name
                if isinstance(b, Ref) and b.name == parameter and isinstance(a, Ref):
                    return a.name
            stack.extend(node.args)
    return None


def _wrong_factor(parameter: str, reference: dict, problem) -> list[Candidate]:
    """dL/dθ = dL/dn · z with z another input of the node n that reads θ, instead of its own factor."""
    program = problem.program
    readers = [eq for eq in program.equations if parameter in names_in(eq.expr)]
    if len(readers) != 1 or len(readers[0].targets) != 1:
        return []
    eq = readers[0]
    node = eq.target
    own = _factor(eq.expr, parameter)
    found = []
    for other in names_in(eq.expr):
        if other in program.parameters or other == own:
            continue
        total = 0.0
        for k in range(problem.batch_size):
            value = problem.data[other][k] if other in problem.data else reference[Quantity("value", other, k)]
            total += reference[Quantity("node_gradient", node, k)] * value
        right = f"dL/d{node}·{own}" if own else f"dL/d{node}"
        found.append(Candidate(total, "wrong_factor", f"dL/d{parameter} = dL/d{node}·{other} instead of {right}: "
                                                      "the wrong input in the product"))
    return found


def differs(candidate: float, expected: float, tolerance: float) -> bool:
    """Whether a mistake's number is told apart from the right one at the answer's precision: more than half
    the tolerance away (0.0157 against 0.0123 is, at 2 decimals: 0.02 and 0.01)."""
    return math.isfinite(candidate) and abs(candidate - expected) > tolerance / 2
