"""Check a solved problem's numbers against two independent oracles: finite differences and PyTorch.

Finite differences. Each parameter's gradient (the interpreter's, at the initial parameters, of the batch's
mean loss) is compared with the central difference (L(θ + h) - L(θ - h)) / 2h of the interpreter's forward
pass. The step h = ε^(1/3) max(1, |θ|) (ε the float64 machine epsilon, so h ≈ 6e-6) balances the truncation
error h² L'''/6 against the rounding error ε L / h (Nocedal & Wright, Numerical Optimization, §8.1).

Kinks. Central differences assume L is smooth around θ. The loss is also evaluated at θ ± 2h; for a smooth
L the four one-sided slopes between the five points change by about the same amount from one to the next
(h L''). If those changes differ by more than rounding and truncation explain, L has a kink (an op's
corner, relu's or abs's at 0, say) within the step, and a gradient that disagrees with the finite difference by no more
than the kink explains is reported as a kink, not a failure.

PyTorch. When torch is installed, the same program is evaluated in float64 with autograd (pytorch/oracle.py),
and torch.optim takes the optimizer's steps; the loss, the gradients and the parameters after the steps must
agree. Some computations amplify rounding far beyond 1e-10 (a saturated sigmoid's 1 - y, a tiny gradient
that Adam or RMSprop scale up to a full step): torch runs twice more with every op's result given a random
error of a few units in the last place, and a disagreement within AMPLIFIED times the distance those runs
move is rounding, not an error of either. Where they move a value by more than CHAOTIC of itself (a
step that follows the sign of a gradient that is 0 up to rounding), no two implementations need agree
on it, and it is not held to PyTorch.

Errors are relative, |a - b| / max(|a|, |b|, floor), the floor being FLOOR times the size of the quantities of
its kind (the loss and the largest gradient for gradients, the largest parameter for updates), and at least
FLOOR: a value a thousand times smaller than its peers is held to an absolute error instead.
"""

from __future__ import annotations

import math
import sys
from .core.frozen import dataclass
from itertools import pairwise

from .core.errors import HandpropError, check_problem, check_whole
from .core.optim import OptimizerConfig
from .problem.spec import Problem
from .engine.compiled import compile_program
from .solver import solve

TOLERANCE = 1e-6  # finite differences: their own error is about 1e-10 of the loss, so 1e-6 is a margin
TORCH_TOLERANCE = 1e-10  # the same arithmetic in another order: rounding only, amplified by a few steps
STEP = sys.float_info.epsilon ** (1 / 3)  # ≈ 6.06e-6, the step that minimises the central difference's error
FLOOR = 1e-3  # of the largest quantity of a kind: below it an error is measured absolutely
KINK_RELATIVE = 1e-6  # slopes' changes that differ by more than this (of the slopes' size) mean a kink
ROUNDING = 1e3 * sys.float_info.epsilon  # relative rounding error allowed in one evaluation of the loss
AMPLIFIED = 10  # a disagreement within this many times the jittered runs' spread is rounding
CHAOTIC = 1e-6  # a value that rounding alone moves by more than this (relative) is not compared
# Every parameter is differenced over every sample, 2 to 4 losses each: parameters^2 x samples multiply-adds.
# 30,000,000 takes about 10 s (a 50-50-2 network, 2,652 parameters, on 1 sample: 7,000,000, 2 s).
MAX_DIFFERENCED = 30_000_000
TORCH_MISSING = "torch not installed: PyTorch check skipped (pip install 'handprop[torch]')"
KINK = "kink: not differentiable within the step"
ROUNDED = "agrees with PyTorch to within the rounding the computation amplifies"
UNRESOLVED = "not held to PyTorch: rounding alone moves it by"  # and how much
UNDEFINED = "the loss is not defined within the step: no finite difference"
ONE_SIDED = "one-sided difference: the loss is not defined on the other side"


@dataclass(frozen=True)
class ParameterCheck:
    """One parameter's gradient and update, with each oracle's value and the relative error to it."""

    name: str
    gradient: float  # handprop's dL/dθ at the initial parameters
    step: float  # h of the finite difference
    finite_difference: float | None  # None where the loss is not defined within the step
    finite_difference_error: float | None
    torch_gradient: float | None  # None when the PyTorch check was not made
    torch_gradient_error: float | None
    updated: float  # handprop's value after the steps
    torch_updated: float | None
    torch_update_error: float | None
    gradient_rounding: float | None  # how far torch's gradient moves when its rounding is jittered
    update_rounding: float | None  # the same for the updated value
    status: str  # "ok", "fail" or "kink"
    failed: tuple  # the checks above their tolerance: "finite difference", "torch gradient", "torch update"
    note: str  # a kink, a one-sided or missing finite difference, an agreement within rounding; else ""
    severity: float  # the largest error over its tolerance (kinks leave finite differences out): worst first


@dataclass(frozen=True)
class Verification:
    title: str
    source: str
    batch_size: int
    optimizer: OptimizerConfig
    steps: int
    tolerance: float  # finite differences, relative
    torch_tolerance: float  # gradients and updates against PyTorch, relative
    loss: float  # handprop's, at the initial parameters
    torch_loss: float | None
    torch_loss_error: float | None
    loss_rounding: float | None  # how far torch's loss moves when its rounding is jittered
    torch_version: str | None  # None when the PyTorch check was not made
    torch_skipped: str | None  # why it was not made
    checks: tuple  # of ParameterCheck, in the problem's order

    @property
    def loss_failed(self) -> bool:
        if self.torch_loss_error is None:
            return False
        floor = FLOOR * max(1.0, abs(self.loss))
        allowance = _allowance(self.loss_rounding, self.loss, self.torch_loss, floor)
        return allowance <= AMPLIFIED * CHAOTIC and not self.torch_loss_error <= self.torch_tolerance + allowance

    @property
    def failures(self) -> list:
        return [check for check in self.checks if check.status == "fail"]

    @property
    def kinks(self) -> list:
        return [check for check in self.checks if check.status == "kink"]

    @property
    def unresolved(self) -> list:
        return [check for check in self.checks if check.note.startswith(UNRESOLVED)]

    @property
    def passed(self) -> bool:
        return not self.failures and not self.loss_failed

    def worst(self) -> list:
        """The checks, worst first: failures, kinks, those not held to PyTorch, then the rest, each by severity
        (the problem's order among equals)."""
        def rank(check) -> int:
            return {"fail": 0, "kink": 1}.get(check.status, 2 if check.note.startswith(UNRESOLVED) else 3)

        return sorted(self.checks, key=lambda check: (rank(check), -check.severity))


def relative_error(a: float, b: float, floor: float) -> float:
    """|a - b| / max(|a|, |b|, floor); infinite if one is not finite and they differ.

    >>> round(relative_error(1.0, 1.000001, 1e-3), 12), relative_error(1e-12, 0.0, 1e-3)
    (9.99999e-07, 1e-09)
    """
    if not (math.isfinite(a) and math.isfinite(b)):
        return 0.0 if a == b else math.inf
    return abs(a - b) / max(abs(a), abs(b), floor)


@dataclass(frozen=True)
class _Difference:
    step: float
    value: float | None  # the finite difference
    spread: float | None  # how unevenly the one-sided slopes change: a kink's size, or None
    threshold: float  # the spread a smooth loss stays below
    note: str


def _finite_difference(loss_at, values: dict, name: str, loss: float, floor: float, accept) -> _Difference:
    """The central difference; the points θ ± 2h too (for a one-sided difference, or a kink's test) only
    when it is missing or `accept` rejects it."""
    theta = values[name]
    h = STEP * max(1.0, abs(theta))
    # A step the computer represents exactly; taken downwards from a parameter within h of the largest float.
    h = (theta + h) - theta if math.isfinite(theta + h) else theta - (theta - h)
    f = {0: loss}

    def at(k: int) -> float | None:
        if k not in f:
            shifted = dict(values)
            shifted[name] = theta + k * h
            # None outside the loss's domain (a log's argument below 0, say), and beyond the largest float
            f[k] = loss_at(shifted) if math.isfinite(shifted[name]) else None
        return f[k]

    if at(1) is not None and at(-1) is not None:
        value = (f[1] - f[-1]) / (2 * h)
        if accept(value):
            return _Difference(h, value, None, math.inf, "")
        note = ""
    elif at(1) is not None and at(2) is not None:
        value, note = (-3 * loss + 4 * f[1] - f[2]) / (2 * h), ONE_SIDED  # second order, as the central one
    elif at(-1) is not None and at(-2) is not None:
        value, note = (3 * loss - 4 * f[-1] + f[-2]) / (2 * h), ONE_SIDED
    else:
        value, note = None, UNDEFINED
    spread, threshold = None, math.inf
    if None not in (at(-2), at(-1), at(1), at(2)):
        slopes = [(f[k + 1] - f[k]) / h for k in (-2, -1, 0, 1)]  # on [θ-2h, θ-h], ..., [θ+h, θ+2h]
        changes = [b - a for a, b in pairwise(slopes)]  # each about h L'' where L is smooth
        spread = max(changes) - min(changes)
        noise = ROUNDING * max(abs(v) for v in f.values()) / h
        threshold = max(KINK_RELATIVE * max(max(abs(s) for s in slopes), floor), noise)
    return _Difference(h, value, spread, threshold, note)


def _loss_function(problem: Problem):
    """values -> the mean loss over the data, on the compiled path (a tenth of the interpreter's time); None
    where the loss is not defined (a log's argument below 0, say)."""
    run = compile_program(problem.program)
    names = problem.program.parameters
    columns = [problem.data[name] for name in problem.program.data]
    rows = list(zip(*columns)) if columns else [()] * problem.batch_size

    def loss_at(values: dict) -> float | None:
        try:
            value = run([values[name] for name in names], rows)[0]
        except (ArithmeticError, ValueError):
            return None
        return value if math.isfinite(value) else None

    return loss_at


def verify(problem: Problem, *, steps: int | None = None, tolerance: float = TOLERANCE,
           torch_tolerance: float = TORCH_TOLERANCE, use_torch: bool = True) -> Verification:
    """Check every gradient against finite differences and, when torch is installed, against PyTorch.

    >>> from handprop.problem.spec import load
    >>> report = verify(load("homework"))
    >>> report.passed, len(report.checks), report.checks[0].name
    (True, 17, 'w1')
    """
    check_problem(problem)
    check_whole(steps, "steps", 1)
    for value, option in ((tolerance, "tolerance"), (torch_tolerance, "torch tolerance")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or not math.isfinite(value):
            raise HandpropError(None, option, f"{value!r} is not a tolerance", "a number of 0 or more, such as 1e-6")
    steps = problem.optimizer.steps if steps is None else steps
    count = len(problem.parameters)
    if count * count * problem.batch_size > MAX_DIFFERENCED:
        raise HandpropError(problem.source, None, f"too large to check every gradient by finite differences: "
                            f"{count:,} parameters on {problem.batch_size:,} sample{'s' * (problem.batch_size != 1)},"
                            f" each difference working the whole loss out again",
                            f"parameters^2 x samples at most {MAX_DIFFERENCED:,}, here "
                            f"{count * count * problem.batch_size:,}")
    solution = solve(problem, steps=steps)
    initial = dict(problem.parameters)
    loss_at = _loss_function(problem)
    loss = loss_at(initial)  # as the differences compute it, so that rounding is alike on both sides
    loss = solution.loss if loss is None else loss
    gradients = {name: solution.parameters[name].gradient for name in initial}
    updated = {name: solution.parameters[name].updated for name in initial}
    gradient_floor = FLOOR * max([1.0, abs(loss)] + [abs(g) for g in gradients.values() if math.isfinite(g)])
    update_floor = FLOOR * max([1.0] + [abs(v) for v in list(initial.values()) + list(updated.values())
                                        if math.isfinite(v)])
    reference, spread, skipped = _torch_reference(problem, steps) if use_torch else (None, None, None)

    checks = []
    for name in initial:
        gradient = gradients[name]
        difference = _finite_difference(loss_at, initial, name, loss, gradient_floor,
                                        lambda fd: relative_error(gradient, fd, gradient_floor) <= tolerance)
        failed, note, severity, status, fd_error = [], difference.note, 0.0, "ok", None
        if difference.value is not None:
            fd_error = relative_error(gradient, difference.value, gradient_floor)
            explained = (difference.spread is not None and difference.spread > difference.threshold
                         and abs(gradient - difference.value) <= difference.spread)
            if fd_error <= tolerance or not explained:
                severity = _ratio(fd_error, tolerance)
                if not fd_error <= tolerance:
                    failed.append("finite difference")
            else:
                status, note = "kink", KINK
        torch_values = [None] * 6  # torch's gradient, its error, its rounding; the same for the update
        if reference is not None:
            torch_values = []
            for mine, theirs, rounding, floor, label in (
                    (gradient, reference.gradients[name], spread.gradients[name], gradient_floor, "torch gradient"),
                    (updated[name], reference.updated[name], spread.updated[name], update_floor, "torch update")):
                error = relative_error(mine, theirs, floor)
                allowance = _allowance(rounding, mine, theirs, floor)
                if rounding is not None and not math.isfinite(rounding):
                    # a jittered run went beyond a float: rounding alone decides whether the value is one
                    torch_values += [theirs, error, None]
                    note = note or f"{UNRESOLVED} more than a float holds ({label})"
                    continue
                torch_values += [theirs, error, rounding]
                if allowance > AMPLIFIED * CHAOTIC:
                    note = note or f"{UNRESOLVED} {rounding:.1g} ({label})"
                    continue
                severity = max(severity, _ratio(error, torch_tolerance + allowance))
                if not error <= torch_tolerance + allowance:
                    failed.append(label)
                elif error > torch_tolerance and not note:
                    note = ROUNDED
        if failed:
            status = "fail"
        (torch_gradient, gradient_error, gradient_rounding,
         torch_updated, update_error, update_rounding) = torch_values
        checks.append(ParameterCheck(name, gradient, difference.step, difference.value, fd_error, torch_gradient,
                                     gradient_error, updated[name], torch_updated, update_error, gradient_rounding,
                                     update_rounding, status, tuple(failed), note, severity))
    torch_loss = torch_loss_error = loss_rounding = version = None
    if reference is not None:
        torch_loss, loss_rounding, version = reference.loss, spread.loss, reference.version
        if not math.isfinite(loss_rounding):  # a jittered run's loss went beyond a float: no measure of rounding
            loss_rounding = None
        torch_loss_error = relative_error(loss, torch_loss, FLOOR * max(1.0, abs(loss)))
    return Verification(problem.title, problem.source, problem.batch_size, problem.optimizer, steps, tolerance,
                        torch_tolerance, loss, torch_loss, torch_loss_error, loss_rounding, version, skipped,
                        tuple(checks))


def _allowance(rounding: float | None, a: float, b: float, floor: float) -> float:
    """AMPLIFIED times the jittered runs' spread, in the units of a relative error."""
    if not rounding or not (math.isfinite(a) and math.isfinite(b)):
        return 0.0
    return AMPLIFIED * rounding / max(abs(a), abs(b), floor)


def _ratio(error: float, tolerance: float) -> float:
    if error == 0:
        return 0.0
    return math.inf if tolerance == 0 or not math.isfinite(error) else error / tolerance


def _torch_reference(problem: Problem, steps: int):
    """(torch's result, the spread of its jittered runs, None), or (None, None, why the check was not made)."""
    try:
        import torch  # noqa: F401  (only to learn whether it is installed)
    except ImportError:
        return None, None, TORCH_MISSING
    from .pytorch.oracle import NoTorchCounterpart, rounding_spread, torch_solve

    try:
        result = torch_solve(problem, steps=steps)
    except NoTorchCounterpart as exc:
        return None, None, f"PyTorch check skipped: {exc}"
    return result, rounding_spread(problem, steps=steps, reference=result), None
