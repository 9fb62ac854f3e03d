"""The scalar engine: the compiled path (compiled.py) over a problem's data, for any Program.

It takes many steps of a small network faster than NumPy could (whose import alone costs more than the
work); where the compiled arithmetic fails (an overflow, a log of 0), the interpreter runs the same
batch to name the node and the sample.
"""

from __future__ import annotations

import math

from ..core.optim import Optimizer
from .compiled import compile_program, compile_sgd_steps
from .interpreter import run_batch


class ScalarEngine:
    """The compiled scalar path over a problem's data: any Program, layered or equations."""

    name = "scalar"

    def __init__(self, problem):
        self.problem = problem
        self.program = problem.program
        self.names = list(self.program.parameters)
        self.values = [problem.parameters[n] for n in self.names]
        columns = [problem.data[n] for n in self.program.data]
        # A problem without data (a pure function such as (w - 3)**2) is one sample of nothing.
        self.rows = list(zip(*columns)) if columns else [()] * problem.batch_size
        self.run = compile_program(self.program)
        self._grads = [0.0] * len(self.names)
        self._sgd = None  # (lr, the program compiled with its update): sgd_step's function, made when first used
        self._sgd_steps = None  # (lr, the program compiled as a loop of such steps): sgd_steps's
        self._stepped = None  # (the values before the last fused step, or a function giving them, and its rows)

    @property
    def grads(self) -> list:
        """The gradients of the last loss_and_gradients, or of the last fused step (worked out when asked for)."""
        if self._stepped is not None:
            values, rows = self._stepped
            self._stepped, self._grads = None, self.run(values() if callable(values) else values, rows)[1]
        return self._grads

    def parameters(self) -> dict:
        return dict(zip(self.names, self.values))

    def set_parameters(self, values: dict) -> None:
        self.values = [values[n] for n in self.names]

    def snapshot(self) -> list:
        return self.values  # never changed in place: each step makes a new list

    def parameters_of(self, saved: list) -> dict:
        return dict(zip(self.names, saved))

    def _rows(self, rows) -> list:
        return self.rows if rows is None else [self.rows[i] for i in rows]

    def loss_and_gradients(self, rows=None) -> float:
        try:
            self._stepped = None
            loss, self._grads = self.run(self.values, self._rows(rows))
        except (ArithmeticError, ValueError):
            # The interpreter names the node and the sample where the arithmetic failed.
            self._explain_failure(rows)
            raise
        return loss

    def _explain_failure(self, rows) -> None:
        data = self.problem.data if rows is None else {n: tuple(v[i] for i in rows) for n, v in self.problem.data.items()}
        size = len(next(iter(data.values()))) if data else 1
        run_batch(self.program, self.parameters(), data, size, source=self.problem.source)

    def first_non_finite(self) -> tuple | None:
        """The first gradient or parameter that is not a finite number, as (what, name, value); None if all are.

        One sum per list finds an infinity or a NaN anywhere in it at the cost of one pass (a sum of finite
        values that overflows is looked into too, and found finite)."""
        for what, values in (("gradient", self.grads), ("value", self.values)):
            if not math.isfinite(sum(values)):
                for name, value in zip(self.names, values):
                    if not math.isfinite(value):
                        return what, name, value
        return None

    def gradients(self) -> dict:
        return dict(zip(self.names, self.grads))

    def make_optimizer(self, config) -> Optimizer:
        return Optimizer(config)

    def sgd_step(self, rows, optimizer: Optimizer) -> float | None:
        """One step of plain gradient descent as one compiled function (forward, loss, backward and the update,
        the same arithmetic as loss_and_gradients then step): its loss, the parameters updated. None, with
        nothing changed, where the loss or a parameter would not be a finite number (or the arithmetic fails):
        loss_and_gradients and step then take the step and say where."""
        lr = optimizer.config.lr
        if self._sgd is None or self._sgd[0] != lr:
            self._sgd = (lr, compile_program(self.program, sgd_lr=lr))
        batch = self._rows(rows)
        try:
            loss, values = self._sgd[1](self.values, batch)
        except (ArithmeticError, ValueError):
            return None
        if not (math.isfinite(loss) and math.isfinite(sum(values))):
            return None
        optimizer.begin_step()
        self._stepped = (self.values, batch)
        self.values = values
        return loss

    def sgd_steps(self, count: int, optimizer: Optimizer, losses: list) -> int:
        """Up to `count` steps of plain gradient descent on all the data, one compiled loop (sgd_step's arithmetic
        step after step): each step's loss appended to `losses`, the parameters updated. It stops before a step
        whose loss or parameters would not be finite numbers, or whose arithmetic fails, for loss_and_gradients
        and step to take and name; returns the steps taken."""
        lr = optimizer.config.lr
        if self._sgd_steps is None or self._sgd_steps[0] != lr:
            self._sgd_steps = (lr, compile_sgd_steps(self.program, lr, one_sample=len(self.rows) == 1))
        start, before = self.values, len(losses)
        try:
            values = self._sgd_steps[1](start, self.rows, count, losses)
        except (ArithmeticError, ValueError):
            values = None
        taken = len(losses) - before
        if values is None:
            values = self.replay(start, taken)  # the steps before the one that failed, again
        if taken:
            optimizer.begin_step(taken)
            self._stepped = (lambda: self.replay(start, taken - 1), self.rows)
            self.values = values
        return taken

    def replay(self, start: list, count: int) -> list:
        """The parameters after `count` of sgd_steps's steps from `start`: the same arithmetic again, nothing kept."""
        return self._sgd_steps[1](start, self.rows, count, [])

    def step(self, optimizer: Optimizer) -> None:
        optimizer.begin_step()
        if optimizer.config.is_plain_sgd:
            lr = optimizer.config.lr  # theta - lr g, the same arithmetic as Optimizer._sgd, without its lookups
            self.values = [v - lr * g for v, g in zip(self.values, self.grads)]
            return
        frozen = optimizer.config.frozen
        self.values = [v if n in frozen else optimizer.update(n, v, g)
                       for n, v, g in zip(self.names, self.values, self.grads)]

    def optimizer_state(self, optimizer: Optimizer) -> dict:
        """name -> the optimizer's quantities for that parameter after the last step (none for a frozen one)."""
        return {name: dict(optimizer.state[name]) for name in self.names if name in optimizer.state}

    def outputs(self, rows=None) -> list:
        data = self.problem.data if rows is None else {n: tuple(v[i] for i in rows) for n, v in self.problem.data.items()}
        size = len(next(iter(data.values()))) if data else 1
        _, _, traces = run_batch(self.program, self.parameters(), data, size, backward=False)
        return [[t.values[o] for o in self.program.outputs] for t in traces]

    def accuracy(self, rows=None) -> float | None:
        kind = self.problem.network.classification if self.problem.network is not None else None
        if kind is None:
            return None
        indices = range(len(self.rows)) if rows is None else rows
        targets = self.problem.network.targets
        hits = 0
        for i, y in zip(indices, self.outputs(rows)):
            t = [self.problem.data[name][i] for name in targets]
            if kind == "binary":
                hits += (y[0] > 0.5) == (t[0] > 0.5)
            else:
                hits += max(range(len(y)), key=y.__getitem__) == max(range(len(t)), key=t.__getitem__)
        return hits / len(indices)
