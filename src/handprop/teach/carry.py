"""Error carried forward: each answer recomputed from the student's own upstream answers.

A forward value from the student's values of what its equation reads; a node's gradient from the
student's gradients of the nodes that read it (program.readers()), times the local partials taken at the
student's values; a parameter's gradient likewise; an updated parameter from the student's gradient; the
loss after the update from the student's updated parameters. Where the student gave no answer for an
upstream quantity, it is recomputed from their answers further up, so a chain of unanswered steps still
carries their numbers. An answer that is wrong only because an upstream answer was wrong, and right
given that answer, follows from it: the teacher can give partial credit.
"""

from __future__ import annotations

import math

from ..core.errors import HandpropError
from .names import Quantity
from .scenarios import one_step
from ..core.ops import OPS
from ..core.program import Apply, Ref, names_in
from ..engine.interpreter import evaluate_equation, run_batch


class StudentWork:
    """The student's answers, and every quantity as it follows from them."""

    def __init__(self, problem, given: dict):
        self.problem = problem
        self.program = program = problem.program
        self.given = given  # Quantity -> value, as written
        self.by_target = {t: eq for eq in program.equations for t in eq.targets}
        self.readers = program.readers()
        self.nodes = set(program.nodes)
        self.rows: list = []  # per sample, target -> {name: local partial} at the student's values
        self.recomputed: dict = {}  # Quantity -> value from the student's upstream answers
        self.implied: dict = {}  # Quantity -> the student's answer, else the recomputed value
        try:
            self._work()
        except (HandpropError, ArithmeticError, ValueError):
            # The student's numbers leave the functions' domains (a log of a negative y): nothing follows.
            self.recomputed = {}

    def _take(self, quantity: Quantity, value: float) -> float:
        self.recomputed[quantity] = value
        chosen = self.given.get(quantity, value)
        self.implied[quantity] = chosen
        return chosen

    def _work(self) -> None:
        problem, program = self.problem, self.program
        batch = problem.batch_size
        gradients = dict.fromkeys(program.parameters, 0.0)

        def fail(what: str) -> HandpropError:
            return HandpropError(problem.source, None, what)

        for k in range(batch):
            env = dict(problem.parameters)
            env.update(problem.sample(k))
            rows: dict = {}
            for eq in program.equations:
                result = evaluate_equation(eq, env, fail, ops=OPS)
                for target, value in zip(eq.targets, result.outs):
                    env[target] = self._take(Quantity("value", target, k), value)
                rows.update(self._rows(eq, result, env))
            self.rows.append(rows)
            adjoints = dict.fromkeys(env, 0.0)
            adjoints[program.loss] = 1.0 / batch  # node gradients are of the batch's mean loss
            for eq in reversed(program.equations):
                for target in eq.targets:
                    upstream = self._take(Quantity("node_gradient", target, k), adjoints[target])
                    for name, local_partial in rows[target].items():
                        if name in gradients:
                            gradients[name] += upstream * local_partial
                        else:
                            adjoints[name] += upstream * local_partial
        losses = [self.implied[Quantity("value", program.loss, k)] for k in range(batch)]
        self._take(Quantity("loss"), math.fsum(losses) / batch)
        chosen = {name: self._take(Quantity("gradient", name), g) for name, g in gradients.items()}
        if problem.optimizer.steps == 1:
            updated = {name: self._take(Quantity("updated", name), v) for name, v in one_step(problem, chosen).items()}
            loss_after = run_batch(program, updated, problem.data, batch, source=problem.source, backward=False)[0]
            self._take(Quantity("loss_after"), loss_after)

    def _rows(self, eq, result, env: dict) -> dict:
        """Local partials per target, taken at the student's values: an activation's derivative from their
        activation (a(1 - a) of their a), the softmax's from their y."""
        expr = eq.expr
        rows = dict(zip(eq.targets, result.rows))
        answered = any(Quantity("value", t, k) in self.given for t in eq.targets
                       for k in range(self.problem.batch_size))
        if not answered or not isinstance(expr, Apply) or any(isinstance(a, Apply) for a in expr.args):
            return rows
        op = OPS[expr.op]
        args = tuple(env[a.name] if isinstance(a, Ref) else a.value for a in expr.args)
        if op.multi_output and result.arguments:
            outs = tuple(env[t] for t in eq.targets)
            jacobian = op.partials(*args, outs, **dict(expr.params))
            for i, target in enumerate(eq.targets):
                row: dict = {}
                for d_out, into in zip(jacobian[i], result.arguments):
                    for name, value in into.items():
                        row[name] = row.get(name, 0.0) + d_out * value
                rows[target] = row
        elif not op.multi_output:
            partials = op.partials(*args, env[eq.target], **dict(expr.params))
            rows[eq.target] = {a.name: p for a, p in zip(expr.args, partials) if isinstance(a, Ref)}
        return rows

    def links(self, quantity: Quantity) -> list[tuple[Quantity, float]]:
        """The quantities this one is computed from, one step up, each with how much this one moves per unit
        it moves (|local partial|; for a factor in a product, the gradient it multiplies). A quantity it does
        not move with (t2 = 0 in -t2 ln y2) is no link."""
        program, kind, k = self.program, quantity.kind, quantity.sample
        batch = self.problem.batch_size
        if kind == "value":
            partials = self.rows[k].get(quantity.name, {}) if k < len(self.rows) else {}
            return [(Quantity("value", m, k), abs(partials.get(m, 0.0))) for m in
                    names_in(self.by_target[quantity.name].expr) if m in self.nodes and partials.get(m, 1.0) != 0]
        if kind == "loss":
            return [(Quantity("value", program.loss, j), 1.0 / batch) for j in range(batch)]
        if kind == "updated":
            return [(Quantity("gradient", quantity.name), self.problem.optimizer.lr)]
        if kind == "loss_after":
            return [(Quantity("updated", p), 0.0) for p in program.parameters]
        found = []
        for reader in dict.fromkeys(self.readers.get(quantity.name, ())):
            eq = self.by_target[reader]
            for j in ([k] if kind == "node_gradient" else range(batch)):
                partial = self.rows[j].get(reader, {}).get(quantity.name, 0.0) if j < len(self.rows) else 0.0
                upstream = abs(self.implied.get(Quantity("node_gradient", reader, j), 0.0))
                found.append((Quantity("node_gradient", reader, j), abs(partial)))
                if upstream:
                    found += [(Quantity("value", m, j), upstream) for m in list(names_in(eq.expr)) + list(eq.targets)
                              if m in self.nodes]
        return found

    def upstream_answers(self, quantity: Quantity) -> list[Quantity]:
        """The nearest answered quantities upstream: through the unanswered ones, to the answered ones."""
        found: dict = {}
        seen: set = set()
        stack = [q for q, _ in self.links(quantity)]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in self.given:
                found[current] = None
            else:
                stack.extend(q for q, _ in self.links(current))
        return sorted(found)

    def slack(self, quantity: Quantity, tolerances: dict, depth: int = 0) -> float:
        """How far the recomputed value may move because the answers it starts from were rounded: each
        answered upstream quantity's tolerance carried along the links (to first order)."""
        if depth > 50:  # a hand-sized network is a few steps deep
            return 0.0
        total = 0.0
        for upstream, weight in self.links(quantity):
            if not weight:
                continue
            if upstream in self.given:
                total += weight * tolerances.get(upstream, 0.0)
            else:
                total += weight * self.slack(upstream, tolerances, depth + 1)
        return total
