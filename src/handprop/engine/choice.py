"""The choice of the engine that takes many steps: the scalar engine (scalar.py) or the NumPy engine.

Both offer one interface, protocol.Engine; the interpreter (interpreter.py) stays the reference that
records every value for the worked solution. `auto` keeps a small problem on the scalar path (NumPy's
import alone costs more than the work) and otherwise times a few steps of each engine and keeps the
faster. A network of layer kinds has its own NumPy engine (numpy_stack.py); one holding a kind it does not
compute stays on the scalar engine under `auto`, and `--engine numpy` names the kind.
"""

from __future__ import annotations

import time

from ..core.errors import HandpropError
from ..problem.layered import MAX_WRITTEN
from .protocol import Engine
from .scalar import ScalarEngine

SMALL_WORK = 20_000  # parameters x samples x steps below which the scalar path is taken without timing


def _numpy_engine(problem, dtype: str):
    """The dense NumPy engine, or for a network of layer kinds the one of numpy_stack.py (which refuses, naming it,
    a kind it does not compute)."""
    try:
        if problem.stack is not None:
            from .numpy_stack import NumpyStackEngine as NumpyEngine
        else:
            from .numpy_engine import NumpyEngine
    except ImportError:
        raise HandpropError(None, "--engine numpy", "NumPy is not installed", "pip install numpy") from None
    engine = NumpyEngine(problem, dtype=dtype)
    engine.name = "numpy"
    return engine


def make_engine(problem, *, engine: str = "auto", dtype: str = "float64", steps: int = 1,
                batch: int | None = None) -> Engine:
    """The engine to take many steps with, as `engine` says; `auto` by size, then by measured speed."""
    if engine == "scalar":
        if dtype != "float64":
            raise HandpropError(None, "--dtype", f"the scalar engine computes in Python floats, not {dtype}",
                                "--engine numpy for float32")
        return ScalarEngine(problem)
    if engine == "numpy" or (engine == "auto" and dtype != "float64"):
        if problem.network is None and problem.stack is None:
            raise HandpropError(None, "--engine numpy", "the NumPy engine takes layered networks only",
                                "--engine scalar (or auto) for an equations problem")
        return _numpy_engine(problem, dtype)
    work = len(problem.parameters) * (batch or problem.batch_size) * steps
    if (problem.network is None and problem.stack is None) or work < SMALL_WORK:
        return ScalarEngine(problem)
    if len(problem.parameters) > MAX_WRITTEN:  # too large to write out as equations: NumPy's, untimed
        try:
            return _numpy_engine(problem, dtype)
        except HandpropError:
            if problem.stack is None:
                raise
            return ScalarEngine(problem)  # a layer kind the NumPy engine does not compute
    try:
        candidates = [ScalarEngine(problem), _numpy_engine(problem, dtype)]
    except HandpropError:  # no NumPy, or a layer kind the NumPy engine does not compute
        return ScalarEngine(problem)
    rows = None if batch is None else list(range(min(batch, problem.batch_size)))
    timings = [measured_seconds(candidate, rows) for candidate in candidates]
    return candidates[timings.index(min(timings))]


def measured_seconds(engine: Engine, rows) -> float:
    """What five passes of loss and gradients take on the engine, after one that fills its caches."""
    engine.loss_and_gradients(rows)
    start = time.perf_counter()
    for _ in range(5):
        engine.loss_and_gradients(rows)
    return time.perf_counter() - start
