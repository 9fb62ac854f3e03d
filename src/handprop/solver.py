"""Problem -> Solution: run the engine, take the optimizer's steps, make the records."""

from __future__ import annotations

from .optim import Optimizer, optimizer_step
from .problem import Problem
from .records import NodeRecord, ParameterRecord, Solution, StepRecord
from .scalar import run_batch


def solve(problem: Problem, *, steps: int | None = None) -> Solution:
    """Work the problem out: forward pass, loss, gradients, and the updated parameters.

    >>> from handprop.problem import load
    >>> s = solve(load("homework"))
    >>> round(s.loss, 2), round(s.parameters["w7"].updated, 2)
    (0.64, 0.22)
    """
    program = problem.program
    steps = problem.optimizer.steps if steps is None else steps
    source = problem.source
    loss, gradients, traces = run_batch(program, problem.parameters, problem.data, problem.batch_size, source=source)
    optimizer = Optimizer(problem.optimizer)
    current = optimizer_step(optimizer, problem.parameters, gradients)
    # The optimizer's own quantities (momentum, m, v, ...) after step 1, for the worked solution.
    history = [StepRecord(loss, current, {slot: dict(state) for slot, state in optimizer.state.items()})]
    for _ in range(steps - 1):
        step_loss, step_gradients, _ = run_batch(program, current, problem.data, problem.batch_size, source=source)
        current = optimizer_step(optimizer, current, step_gradients)
        history.append(StepRecord(step_loss, current))
    loss_after, _, _ = run_batch(program, current, problem.data, problem.batch_size, source=source, backward=False)
    batch = problem.batch_size
    nodes = {name: NodeRecord(name, tuple(t.values[name] for t in traces),
                              tuple(t.adjoints[name] / batch for t in traces))
             for name in program.nodes}
    parameters = {name: ParameterRecord(name, value, gradients[name], current[name])
                  for name, value in problem.parameters.items()}
    outputs = tuple(tuple(t.values[name] for name in program.outputs) for t in traces)
    return Solution(problem.title, problem, loss, loss_after, program.outputs, outputs, nodes, parameters,
                    tuple(traces), tuple(history), problem.decimals)
