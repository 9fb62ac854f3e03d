"""Problem -> Solution: run the engine, take the optimizer's steps, make the records.

The interpreter (engine/interpreter.py) works the first step out in full, keeping every value, local
partial and adjoint for the worked solution; the optimizer's step 1 is taken on those gradients and its
state kept. Further steps go to the engine that takes many steps fastest (engine/choice.py): full-batch
steps, each recorded in the history. The Problem (problem/spec.py) is read, not imported: its notebook
view solves it.
"""

from __future__ import annotations

import math

from .core.errors import HandpropError, check_choice, check_decimals, check_problem, check_whole
from .engine import DTYPES, ENGINES
from .problem.optimizer_form import MAX_STEPS
from .core.ops import OPS
from .core.optim import Optimizer, optimizer_step
from .records import NodeRecord, ParameterRecord, Solution, StepRecord
from .core.rounding import hand_round
from .engine.interpreter import run_batch

HISTORY_VALUES = 2_000_000  # beyond this many parameter values over all steps, the history keeps losses only
# Worked out in full, a problem costs the interpreter about 30 us per parameter (or operation) and sample: beyond
# this product it would take minutes, and `train` (which takes its steps on a faster engine) is the tool.
MAX_WORKED = 200_000
# A many-step solution keeps every step's gradients, outputs and optimizer state up to this many parameter x
# step x sample values (each step's outputs cost a forward pass); beyond, each step's loss and parameters.
FULL_HISTORY = 200_000


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
    check_problem(problem)
    check_whole(steps, "steps", 1, MAX_STEPS)
    check_choice(engine, ENGINES, "engine")
    check_choice(dtype, DTYPES, "dtype")
    check_decimals(round_intermediate, "round_intermediate")
    steps = problem.optimizer.steps if steps is None else steps
    source = problem.source
    check_worked(problem)
    program = problem.program
    if round_intermediate is not None:
        check_worked(problem, steps)
        return _solve_by_hand(problem, steps, round_intermediate)
    loss, gradients, traces = _at_step(steps > 1 and "step 1", run_batch, program, problem.parameters,
                                       problem.data, problem.batch_size, source=source)
    _check_gradients(source, 1, loss, gradients)
    optimizer = Optimizer(problem.optimizer)
    current = optimizer_step(optimizer, problem.parameters, gradients)
    _check_step(source, 1, current, optimizer)
    # Step 1 as the interpreter works it out, with the optimizer's own quantities (momentum, m, v, m_hat, ...)
    # for the worked solution.
    first = StepRecord(loss, current, _named_state(optimizer, current), dict(gradients), _outputs(program, traces))
    if steps > 1:
        # The engine takes every step from the initial parameters; its gradients are the interpreter's (to
        # rounding), and the tests hold the two to 1e-12.
        from .engine.choice import make_engine  # only for many steps: not on the one-step path

        machine = make_engine(problem, engine=engine, dtype=dtype, steps=steps)
        machine_optimizer = machine.make_optimizer(problem.optimizer)
        keep = len(current) * steps <= HISTORY_VALUES
        full = len(current) * steps * problem.batch_size <= FULL_HISTORY
        history = []
        for step in range(steps):
            step_loss = machine.loss_and_gradients(None)
            step_gradients = machine.gradients() if full else {}
            step_outputs = _rows(machine.outputs()) if full else ()
            machine.step(machine_optimizer)
            _check_machine(source, step + 1, step_loss, machine, machine_optimizer)
            state = machine.optimizer_state(machine_optimizer) if full else {}
            history.append(StepRecord(step_loss, machine.parameters() if keep or step == 0 else {}, state,
                                      step_gradients, step_outputs))
        history[0] = StepRecord(loss, history[0].parameters, first.state, first.gradients, first.outputs)
        current = machine.parameters()
        loss_after = machine.loss_and_gradients(None)
        _check_machine(source, steps + 1, loss_after, None)
        outputs_after = _rows(machine.outputs())
    else:
        history = [first]
        loss_after, _, after = _at_step("after step 1", run_batch, program, current, problem.data,
                                        problem.batch_size, source=source, backward=False)
        _check_gradients(source, 2, loss_after, {})
        outputs_after = _outputs(program, after)
    return _records(problem, loss, loss_after, gradients, current, traces, history, outputs_after=outputs_after)


def _outputs(program, traces) -> tuple:
    """Per sample, the output values of a run's traces."""
    return tuple(tuple(t.values[name] for name in program.outputs) for t in traces)


def _rows(outputs) -> tuple:
    """An engine's outputs (a list of lists, or a NumPy matrix) as a tuple of tuples of floats."""
    return tuple(tuple(float(value) for value in row) for row in (outputs.tolist() if hasattr(outputs, "tolist")
                                                                 else outputs))


def _named_state(optimizer: Optimizer, parameters: dict) -> dict:
    """name -> the optimizer's quantities for that parameter after the last step (none for a frozen one)."""
    return {name: dict(optimizer.state[name]) for name in parameters if name in optimizer.state}


def _at_step(step: str | bool, work, *args, **keywords):
    """work(*args, **keywords), its errors placed at the step when one is named ("step 1", "after step 1")."""
    try:
        return work(*args, **keywords)
    except HandpropError as exc:
        if not step:
            raise
        raise HandpropError(exc.file, f"{step}, {exc.where}" if exc.where else step, exc.what,
                            exc.expected) from None


def check_worked(problem: "Problem", steps: int = 1) -> None:
    """Refuse, before any work, a problem too large to work out in full (every value, partial and adjoint of
    every sample kept): samples x parameters (a layered network, counted without writing it out) or samples x
    operations (equations), with a multi-output op's N x N Jacobian counted, beyond MAX_WORKED. By hand (steps
    given), every step is worked out in full, so steps x that is held to MAX_WORKED."""
    if problem.network is not None:
        size, what = len(problem.parameters), "parameters"
        widths = [layer.units for layer in problem.network.layers if OPS[layer.activation].multi_output]
    else:
        size, what = max(len(problem.parameters), problem.program.operations), "operations"
        widths = [len(eq.targets) for eq in problem.program.equations if len(eq.targets) > 1]
    # A softmax of N outputs keeps N x N local partials (its Jacobian) for every sample.
    if any(width * width > size for width in widths):
        size, what = size + sum(width * width for width in widths), f"{what} and softmax partials"
    work = size * problem.batch_size
    if work > MAX_WORKED:
        raise HandpropError(problem.source, None, f"too large to work out in full: {size:,} {what} x "
                            f"{problem.batch_size:,} samples = {work:,}",
                            f"at most {MAX_WORKED:,}; `handprop train` takes the steps of larger problems")
    if steps > 1 and work * steps > MAX_WORKED:
        raise HandpropError(problem.source, None, f"too many steps to work out by hand: {work:,} values x "
                            f"{steps:,} steps = {work * steps:,}",
                            f"at most {MAX_WORKED:,}: fewer steps (--steps), or without rounding by hand")


def _check_step(source: str, step: int, parameters: dict, optimizer: Optimizer) -> None:
    """Every parameter after the step, and the optimizer's every quantity, is a number; the first that is not
    stops the solution, named, rather than being shown as an answer."""
    for name, value in parameters.items():
        if not math.isfinite(value):
            _refuse(source, f"step {step}, parameter {name}", f"it became {value!r}", optimizer)
    reason = optimizer.non_finite()
    if reason is not None:
        _refuse(source, f"step {step}, parameter {reason[0]}", reason[1], optimizer)


def _check_gradients(source: str, step: int, loss: float, gradients: dict) -> None:
    """The mean loss at the start of a step and the gradients of its batch are numbers (a sum over the samples
    can pass the largest float where each sample's does not)."""
    expected = _SMALLER if step > 1 else "smaller values: the numbers outgrew what a float holds"
    if not math.isfinite(loss):
        raise HandpropError(source, f"step {step}", f"the loss is {loss!r}", expected)
    for name, gradient in gradients.items():
        if not math.isfinite(gradient):
            raise HandpropError(source, f"step {step}, parameter {name}", f"its gradient is {gradient!r}", expected)


def _check_machine(source: str, step: int, loss: float, machine, optimizer: Optimizer | None = None) -> None:
    """The engine's loss at the start of a step, and its parameters and gradients after it, are numbers."""
    if not math.isfinite(loss):
        raise HandpropError(source, f"step {step}", f"the loss is {loss!r}", _SMALLER)
    bad = machine.first_non_finite() if machine is not None else None
    if bad is not None:
        what, name, value = bad
        if what == "gradient":
            raise HandpropError(source, f"step {step}, parameter {name}", f"its gradient became {value!r}", _SMALLER)
        _refuse(source, f"step {step}, parameter {name}", f"its value became {value!r}", optimizer)


def _refuse(source: str, where: str, what: str, optimizer: Optimizer | None):
    """The error for a value that stopped being a number, with the optimizer's reason where it has one."""
    reason = optimizer.non_finite() if optimizer is not None else None
    if reason is not None:
        what, expected = reason[1], reason[2] or _SMALLER
    else:
        expected = _SMALLER
    raise HandpropError(source, where, what, expected)


_SMALLER = "a smaller learning rate, or other values: the numbers outgrew what a float holds"


def _solve_by_hand(problem: "Problem", steps: int, places: int) -> Solution:
    """Every step on the interpreter, rounding as a person does (see engine/interpreter.py's run_sample)."""
    program, source = problem.program, problem.source

    def batch(values: dict, step: str | bool, backward: bool = True):
        return _at_step(step, run_batch, program, values, problem.data, problem.batch_size, source=source,
                        backward=backward, rounding=places)

    loss, gradients, traces = batch(problem.parameters, steps > 1 and "step 1")
    _check_gradients(source, 1, loss, gradients)
    optimizer = Optimizer(problem.optimizer)
    current = {n: hand_round(v, places) for n, v in optimizer_step(optimizer, problem.parameters, gradients).items()}
    _check_step(source, 1, current, optimizer)
    history = [StepRecord(loss, current, _named_state(optimizer, current), dict(gradients), _outputs(program, traces))]
    for step in range(2, steps + 1):
        step_loss, step_gradients, step_traces = batch(current, f"step {step}")
        _check_gradients(source, step, step_loss, step_gradients)
        current = {n: hand_round(v, places) for n, v in optimizer_step(optimizer, current, step_gradients).items()}
        _check_step(source, step, current, optimizer)
        history.append(StepRecord(step_loss, current, _named_state(optimizer, current), dict(step_gradients),
                                  _outputs(program, step_traces)))
    loss_after, _, after = batch(current, f"after step {steps}", backward=False)
    _check_gradients(source, steps + 1, loss_after, {})
    return _records(problem, loss, loss_after, gradients, current, traces, history, places,
                    outputs_after=_outputs(program, after))


def _records(problem, loss, loss_after, gradients, current, traces, history, rounding=None, *,
             outputs_after: tuple = ()) -> Solution:
    program = problem.program
    batch = problem.batch_size
    def per_batch(adjoint: float) -> float | None:
        if not math.isfinite(adjoint):
            # dL/dy of a softmax output that underflowed to 0 (its log read from the logits): the loss's
            # gradient reaches the logit directly, and this one is no number a float holds.
            return None
        return adjoint / batch if rounding is None else hand_round(adjoint / batch, rounding)

    # Every data value (inputs, targets, constants) is a node too, with its gradient: dL/dx.
    nodes = {name: NodeRecord(name, tuple(t.values[name] for t in traces),
                              tuple(per_batch(t.adjoints.get(name, 0.0)) for t in traces))
             for name in (*program.data, *program.nodes)}
    parameters = {name: ParameterRecord(name, value, gradients[name], current[name])
                  for name, value in problem.parameters.items()}
    return Solution(problem.title, problem, loss, loss_after, program.outputs, _outputs(program, traces), nodes,
                    parameters, tuple(traces), tuple(history), problem.decimals, rounding, outputs_after)
