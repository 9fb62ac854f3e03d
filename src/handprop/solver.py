"""Problem -> Solution: run the engine, take the optimizer's steps, make the records.

The interpreter (engine/interpreter.py) works the first step out in full, keeping every value, local
partial and adjoint for the worked solution; the optimizer's step 1 is taken on those gradients and its
state kept. Further steps go to the engine that takes many steps fastest (engine/choice.py): full-batch
steps, each recorded in the history. The Problem (problem/spec.py) is read, not imported: its notebook
view solves it.
"""

from __future__ import annotations

from .core.errors import HandpropError
from .core.optim import Optimizer, optimizer_step
from .records import NodeRecord, ParameterRecord, Solution, StepRecord
from .core.rounding import hand_round
from .engine.interpreter import run_batch

HISTORY_VALUES = 2_000_000  # beyond this many parameter values over all steps, the history keeps losses only
# Worked out in full, a problem costs the interpreter about 30 us per parameter and sample: beyond this
# product it would take minutes, and `train` (which takes its steps on a faster engine) is the tool.
MAX_WORKED = 200_000


def solve(problem: "Problem", *, steps: int | None = None, engine: str = "auto", dtype: str = "float64",
          round_intermediate: int | None = None) -> Solution:
    """Work the problem out: forward pass, loss, gradients, and the updated parameters.

    With round_intermediate K, it is worked out as by hand with a calculator: every intermediate value
    (node values, local partials, adjoints, gradients, updated parameters) rounded to K decimals before
    it is used.

    >>> from handprop.problem.spec import load
    >>> s = solve(load("homework"))
    >>> round(s.loss, 2), round(s.parameters["w7"].updated, 2)
    (0.64, 0.22)
    """
    program = problem.program
    steps = problem.optimizer.steps if steps is None else steps
    source = problem.source
    work = len(problem.parameters) * problem.batch_size
    if work > MAX_WORKED:
        raise HandpropError(source, None, f"too large to work out in full: {len(problem.parameters)} parameters x "
                            f"{problem.batch_size} samples = {work}",
                            f"at most {MAX_WORKED}; `handprop train` takes the steps of larger problems")
    if round_intermediate is not None:
        return _solve_by_hand(problem, steps, round_intermediate)
    loss, gradients, traces = run_batch(program, problem.parameters, problem.data, problem.batch_size, source=source)
    optimizer = Optimizer(problem.optimizer)
    current = optimizer_step(optimizer, problem.parameters, gradients)
    # The optimizer's own quantities (momentum, m, v, ...) after step 1, for the worked solution.
    history = [StepRecord(loss, current, {slot: dict(state) for slot, state in optimizer.state.items()})]
    if steps > 1:
        # The engine takes every step from the initial parameters; its gradients are the interpreter's (to
        # rounding), and the tests hold the two to 1e-12.
        from .engine.choice import make_engine  # only for many steps: not on the one-step path

        machine = make_engine(problem, engine=engine, dtype=dtype, steps=steps)
        machine_optimizer = machine.make_optimizer(problem.optimizer)
        keep = len(current) * steps <= HISTORY_VALUES
        history = history[:1]
        for step in range(steps):
            step_loss = machine.loss_and_gradients(None)
            machine.step(machine_optimizer)
            if step == 0:
                history[0] = StepRecord(loss, machine.parameters(), history[0].state)
            else:
                history.append(StepRecord(step_loss, machine.parameters() if keep else {}))
        current = machine.parameters()
        loss_after = machine.loss_and_gradients(None)
    else:
        loss_after, _, _ = run_batch(program, current, problem.data, problem.batch_size, source=source,
                                     backward=False)
    return _records(problem, loss, loss_after, gradients, current, traces, history)


def _solve_by_hand(problem: "Problem", steps: int, places: int) -> Solution:
    """Every step on the interpreter, rounding as a person does (see scalar.run_sample)."""
    program, source = problem.program, problem.source

    def batch(values: dict, backward: bool = True):
        return run_batch(program, values, problem.data, problem.batch_size, source=source, backward=backward,
                         rounding=places)

    loss, gradients, traces = batch(problem.parameters)
    optimizer = Optimizer(problem.optimizer)
    current = {n: hand_round(v, places) for n, v in optimizer_step(optimizer, problem.parameters, gradients).items()}
    history = [StepRecord(loss, current, {slot: dict(state) for slot, state in optimizer.state.items()})]
    for _ in range(steps - 1):
        step_loss, step_gradients, _ = batch(current)
        current = {n: hand_round(v, places) for n, v in optimizer_step(optimizer, current, step_gradients).items()}
        history.append(StepRecord(step_loss, current))
    loss_after = batch(current, backward=False)[0]
    return _records(problem, loss, loss_after, gradients, current, traces, history, places)


def _records(problem, loss, loss_after, gradients, current, traces, history, rounding=None) -> Solution:
    program = problem.program
    batch = problem.batch_size
    def per_batch(adjoint: float) -> float:
        return adjoint / batch if rounding is None else hand_round(adjoint / batch, rounding)

    nodes = {name: NodeRecord(name, tuple(t.values[name] for t in traces),
                              tuple(per_batch(t.adjoints[name]) for t in traces))
             for name in program.nodes}
    parameters = {name: ParameterRecord(name, value, gradients[name], current[name])
                  for name, value in problem.parameters.items()}
    outputs = tuple(tuple(t.values[name] for name in program.outputs) for t in traces)
    return Solution(problem.title, problem, loss, loss_after, program.outputs, outputs, nodes, parameters,
                    tuple(traces), tuple(history), problem.decimals, rounding)
