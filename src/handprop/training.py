"""Many steps: full-batch steps, or mini-batches over epochs, deterministic for a seed.

Each step is forward, loss, backward and the optimizer's update on one batch. Every `every` steps (and
at the last) the loss over the whole data set and, for classification, the accuracy are logged. A loss,
gradient or parameter that stops being finite ends the run with an error that names the step (and the
parameter) and keeps the last good parameters.
"""

from __future__ import annotations

import math
import random
from functools import partial
from .core.frozen import dataclass, field

from .engine.choice import make_engine
from .core.errors import HandpropError, check_choice, check_problem, check_whole
from .engine import DTYPES, ENGINES


@dataclass(frozen=True)
class LogEntry:
    step: int  # steps taken when logged
    loss: float  # over the whole data set, at the parameters after that step
    accuracy: float | None


@dataclass
class TrainingResult:
    initial: dict  # name -> value before training
    final: dict  # name -> value after the last step
    losses: list  # per step: the batch's loss before that step's update
    log: list = field(default_factory=list)  # of LogEntry
    engine: str = "scalar"
    epochs: int | None = None
    stopped: str | None = None  # why the run stopped early (the error's line), its steps then those before it

    @property
    def steps(self) -> int:
        return len(self.losses)


class TrainingDiverged(HandpropError):
    """The loss stopped being finite; carries the run so far, whose last parameters are still good."""

    def __init__(self, result: TrainingResult, file: str | None, where: str, why: str, expected: str | None = None):
        super().__init__(file, where, f"training stopped: {why}",
                         f"{expected or 'a smaller learning rate, or other initial parameters'}; the last good "
                         "parameters are written out")
        self.result = result


_OVERFLOW = "inputs and parameters whose products stay below 1e308, the largest float"


def schedule(samples: int, *, steps: int | None, epochs: int | None, batch_size: int | None, shuffle: bool,
             seed: int):
    """The rows of each step: None for the whole data set, else a list of sample indices.

    >>> [list(r) for r in schedule(4, steps=None, epochs=2, batch_size=2, shuffle=False, seed=0)]
    [[0, 1], [2, 3], [0, 1], [2, 3]]
    """
    if whole_batches(samples, batch_size, shuffle):
        for _ in range(steps if steps is not None else (epochs or 1)):
            yield None
        return
    rng = random.Random(seed)
    order = list(range(samples))
    taken = 0
    epoch = 0
    while True:
        if epochs is not None and steps is None and epoch == epochs:
            return
        if shuffle:
            rng.shuffle(order)
        for start in range(0, samples, batch_size):
            if steps is not None and taken == steps:
                return
            yield order[start:start + batch_size]
            taken += 1
        epoch += 1


def whole_batches(samples: int, batch_size: int | None, shuffle: bool) -> bool:
    """Whether every step of the schedule is on the whole data set."""
    return batch_size is None or batch_size >= samples and not shuffle


def train(problem, *, steps: int | None = None, epochs: int | None = None, engine: str = "auto",
          dtype: str = "float64", every: int | None = None, progress=None) -> TrainingResult:
    """Train the problem's network; steps or epochs from the arguments, else from the problem.

    >>> from handprop import load
    >>> result = train(load("homework"), steps=3)
    >>> result.steps, result.losses[0] > result.losses[-1]
    (3, True)
    """
    check_problem(problem)
    for value, where in ((steps, "steps"), (epochs, "epochs"), (every, "every")):
        check_whole(value, where, 1)
    check_choice(engine, ENGINES, "engine")
    check_choice(dtype, DTYPES, "dtype")
    settings = problem.training
    epochs = epochs if epochs is not None else (None if steps is not None else settings.epochs)
    batch = settings.batch_size
    if steps is None and epochs is None:
        steps = problem.optimizer.steps
    samples = problem.batch_size
    total = steps if steps is not None else epochs * math.ceil(samples / (batch or samples))
    machine = make_engine(problem, engine=engine, dtype=dtype, steps=total, batch=batch)
    optimizer = machine.make_optimizer(problem.optimizer)
    every = every or max(1, total // 10)
    result = TrainingResult(machine.parameters(), machine.parameters(), [], engine=machine.name, epochs=epochs)
    snapshot = getattr(machine, "snapshot", machine.parameters)
    restore = getattr(machine, "parameters_of", lambda saved: saved)
    good, good_steps = snapshot(), 0  # the last parameters whose loss was finite, and the steps that made them

    def stop(step: int, why: str, where: str | None = None, expected: str | None = None):
        result.final = restore(good() if callable(good) else good)  # a function: the fused steps' (below)
        del result.losses[good_steps:]
        result.log = [entry for entry in result.log if entry.step <= good_steps]
        error = TrainingDiverged(result, problem.source, f"step {step}" + (f", {where}" if where else ""), why,
                                 expected)
        result.stopped = error.line()
        return error

    def log(step: int) -> None:
        """The loss over the whole data set (and the accuracy) after `step` steps, which is step + 1's to fail."""
        try:
            full = machine.loss_and_gradients(None)
        except HandpropError as exc:
            raise stop(step + 1, exc.what, exc.where) from None
        except (ArithmeticError, ValueError) as exc:
            raise stop(step + 1, f"the arithmetic failed ({exc})") from None
        if not math.isfinite(full):
            raise stop(step + 1, f"the loss became {full!r}")
        result.log.append(LogEntry(step, full, machine.accuracy(None)))

    # Plain gradient descent on the scalar engine: on the whole data, steps in one compiled loop up to the next
    # log (and each hundredth of the run, for a progress bar); on batches, one compiled function per step. Each
    # says when anything was not finite; the separate calls below then take that step again and name what.
    plain = optimizer.config.is_plain_sgd
    loop = getattr(machine, "sgd_steps", None) if plain and whole_batches(samples, batch, settings.shuffle) else None
    fused = getattr(machine, "sgd_step", None) if plain else None
    done = 0
    if loop is not None:
        mark = max(1, total // 100)
        while done < total:
            size = min(total, (done // every + 1) * every, (done // mark + 1) * mark) - done
            start = snapshot()
            taken = loop(size, optimizer, result.losses)
            if taken:
                good, good_steps = partial(machine.replay, start, taken - 1), done + taken - 1
            end = done + taken  # the log and the progress bar in the order steps taken one by one would give
            if progress is not None:
                for step in range(done + 1, end):
                    progress(step, total, result.losses[step - 1])
            if taken == size and (end % every == 0 or end == total):
                log(end)
            if progress is not None and taken:
                progress(end, total, result.losses[end - 1])
            done = end
            if taken < size:
                break  # the next step is not finite somewhere: taken below, one call at a time
    for step, rows in enumerate(schedule(samples, steps=total - done if loop is not None else steps,
                                         epochs=None if loop is not None else epochs, batch_size=batch,
                                         shuffle=settings.shuffle, seed=settings.seed), done + 1):
        if fused is not None:
            before = snapshot()
            loss = fused(rows, optimizer)
        else:
            loss = None
        if loss is not None:
            good, good_steps = before, step - 1
        else:
            try:
                loss = machine.loss_and_gradients(rows)
            except HandpropError as exc:
                raise stop(step, exc.what, exc.where) from None
            except (ArithmeticError, ValueError) as exc:
                raise stop(step, f"the arithmetic failed ({exc})") from None
            if not math.isfinite(loss):
                raise stop(step, f"the loss became {loss!r}")
            good, good_steps = snapshot(), step - 1
            machine.step(optimizer)
            bad = machine.first_non_finite()  # a gradient that overflowed, or a step that did
            if bad is not None:
                what, name, value = bad
                reason = optimizer.non_finite() if what == "value" else None
                if reason is not None:
                    raise stop(step, reason[1], f"parameter {name}", reason[2])
                raise stop(step, f"its {what} became {value!r}", f"parameter {name}",
                           _OVERFLOW if what == "gradient" and step == 1 else None)
        result.losses.append(loss)
        if step % every == 0 or step == total:
            log(step)
        if progress is not None:
            progress(step, total, loss)
    result.final = machine.parameters()
    return result
