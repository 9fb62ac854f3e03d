"""The engines that take many steps: the scalar engine's compiled fast path, the NumPy engine, and the
choice between them.

Both offer one interface (parameters, set_parameters, loss_and_gradients, gradients, make_optimizer,
step, outputs, accuracy); the interpreter in scalar.py stays the reference that records every value for
the worked solution. `auto` keeps a small problem on the scalar path (NumPy's import alone costs more
than the work) and otherwise times a few steps of each engine and keeps the faster.
"""

from __future__ import annotations

import time

from .compiled import compile_program
from ..core.errors import HandpropError
from ..core.optim import Optimizer
from .interpreter import run_batch

ENGINES = ("auto", "scalar", "numpy")
DTYPES = ("float64", "float32")
SMALL_WORK = 20_000  # parameters x samples x steps below which the scalar path is taken without timing


class ScalarEngine:
    """The compiled scalar path over a problem's data: any Program, layered or equations."""

    name = "scalar"

    def __init__(self, problem):
        self.problem = problem
        self.program = problem.program
        self.names = list(self.program.parameters)
        self.values = [problem.parameters[n] for n in self.names]
        self.rows = list(zip(*[problem.data[n] for n in self.program.data]))
        self.run = compile_program(self.program)
        self.grads = [0.0] * len(self.names)

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
            loss, self.grads = self.run(self.values, self._rows(rows))
        except (ArithmeticError, ValueError):
            # The interpreter names the node and the sample where the arithmetic failed.
            self._explain_failure(rows)
            raise
        return loss

    def _explain_failure(self, rows) -> None:
        data = self.problem.data if rows is None else {n: tuple(v[i] for i in rows) for n, v in self.problem.data.items()}
        size = len(next(iter(data.values()))) if data else 1
        run_batch(self.program, self.parameters(), data, size, source=self.problem.source)

    def gradients(self) -> dict:
        return dict(zip(self.names, self.grads))

    def make_optimizer(self, config) -> Optimizer:
        return Optimizer(config)

    def step(self, optimizer: Optimizer) -> None:
        optimizer.begin_step()
        if optimizer.config.is_plain_sgd:
            lr = optimizer.config.lr  # theta - lr g, the same arithmetic as Optimizer._sgd, without its lookups
            self.values = [v - lr * g for v, g in zip(self.values, self.grads)]
            return
        self.values = [optimizer.update(n, v, g) for n, v, g in zip(self.names, self.values, self.grads)]

    def outputs(self, rows=None) -> list:
        data = self.problem.data if rows is None else {n: tuple(v[i] for i in rows) for n, v in self.problem.data.items()}
        size = len(next(iter(data.values()))) if data else 1
        _, _, traces = run_batch(self.program, self.parameters(), data, size, backward=False)
        return [[t.values[o] for o in self.program.outputs] for t in traces]

    def accuracy(self, rows=None) -> float | None:
        kind = classification(self.problem)
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


def classification(problem) -> str | None:
    """'categorical' (argmax), 'binary' (one sigmoid output) or None (regression, or an equations problem)."""
    network = problem.network
    if network is None:
        return None
    last = network.layers[-1]
    if network.loss == "cross_entropy" and (last.activation == "softmax" or last.units > 1):
        return "categorical"
    if network.loss == "binary_cross_entropy" and last.units == 1:
        return "binary"
    return None


def _numpy_engine(problem, dtype: str):
    try:
        from .numpy_engine import NumpyEngine
    except ImportError:
        raise HandpropError(None, "--engine numpy", "NumPy is not installed", "pip install numpy") from None
    engine = NumpyEngine(problem, dtype=dtype)
    engine.name = "numpy"
    return engine


def make_engine(problem, *, engine: str = "auto", dtype: str = "float64", steps: int = 1, batch: int | None = None):
    """The engine to take many steps with, as `engine` says; `auto` by size, then by measured speed."""
    if engine == "scalar":
        if dtype != "float64":
            raise HandpropError(None, "--dtype", f"the scalar engine computes in Python floats, not {dtype}",
                                "--engine numpy for float32")
        return ScalarEngine(problem)
    if engine == "numpy" or (engine == "auto" and dtype != "float64"):
        if problem.network is None:
            raise HandpropError(None, "--engine numpy", "the NumPy engine takes layered networks only",
                                "--engine scalar (or auto) for an equations problem")
        return _numpy_engine(problem, dtype)
    work = len(problem.parameters) * (batch or problem.batch_size) * steps
    if problem.network is None or work < SMALL_WORK:
        return ScalarEngine(problem)
    try:
        candidates = [ScalarEngine(problem), _numpy_engine(problem, dtype)]
    except HandpropError:
        return ScalarEngine(problem)
    rows = None if batch is None else list(range(min(batch, problem.batch_size)))
    timings = []
    for candidate in candidates:
        candidate.loss_and_gradients(rows)  # warm: buffers made, caches filled
        start = time.perf_counter()
        for _ in range(5):
            candidate.loss_and_gradients(rows)
        timings.append(time.perf_counter() - start)
    return candidates[timings.index(min(timings))]
