"""The page's "One more step": one optimizer step that carries on from the last one.

The page writes the parameters back rounded (form.stepped_text), so it keeps, between clicks, what the
text cannot hold: the optimizer's state after the step (step count t and each parameter's kept quantities,
torch.optim's: Adam's m and v, a momentum buffer, ...) and each parameter's exact value beside the value
written. A parameter whose text still reads what was written continues from its exact value; one the user
has changed starts from the text. Two clicks are then `steps = 2` (to 1e-12). The state comes back from the
page, so every part of it is checked: anything malformed is one line.

    state = {"optimizer": "adam", "t": 1,
             "parameters": {"w1": {"value": 0.0999..., "written": 0.1, "kept": {"m": ..., "v": ...}}, ...}}
"""

from __future__ import annotations

import math

from ..core.errors import HandpropError
from ..core.optim import TORCH_STATE, Optimizer, optimizer_step

MAX_STATE_STEPS = 10_000_000  # far beyond any number of clicks; a larger t is not the page's


def one_more_step(problem, state: dict | None) -> tuple[dict, dict]:
    """The parameters after one more step from `state` (None: the first step), and the state after it.

    >>> from handprop.problem.spec import load
    >>> problem = load("homework")
    >>> after, state = one_more_step(problem, None)
    >>> round(after["w1"], 4), state["t"]
    (0.0938, 1)
    """
    source = problem.source
    config = problem.optimizer
    start = checked_state(state, problem)
    parameters = dict(problem.parameters)
    optimizer = Optimizer(config)
    if start is not None:
        optimizer.t = start["t"]
        for name, entry in start["parameters"].items():
            if entry["written"] == parameters[name]:  # unchanged since the last step: its exact value
                parameters[name] = entry["value"]
            optimizer.state[name] = dict(entry["kept"])
    from ..engine.interpreter import run_batch  # the engine only when a step is taken

    step = f"step {optimizer.t + 1}"
    try:
        loss, gradients, _ = run_batch(problem.program, parameters, problem.data, problem.batch_size, source=source)
    except HandpropError as error:
        raise HandpropError(error.file, f"{step}, {error.where}" if error.where else step, error.what,
                            error.expected) from None
    bad = next((name for name, g in gradients.items() if not math.isfinite(g)), None)
    if not math.isfinite(loss) or bad is not None:
        raise HandpropError(source, step if bad is None else f"{step}, parameter {bad}",
                            f"the loss is {loss!r}" if bad is None else f"its gradient is {gradients[bad]!r}",
                            "smaller values or a smaller learning rate")
    after = optimizer_step(optimizer, parameters, gradients)
    reason = optimizer.non_finite()
    bad = next((name for name, value in after.items() if not math.isfinite(value)), None)
    if reason is not None or bad is not None:
        where, what, expected = reason if reason is not None else (bad, f"it became {after[bad]!r}", None)
        raise HandpropError(source, f"{step}, parameter {where}", what,
                            expected or "smaller values or a smaller learning rate")
    kept = TORCH_STATE[config.name]
    return after, {"optimizer": config.name, "t": optimizer.t,
                   "parameters": {name: {"value": value, "kept": {k: v for k, v in optimizer.state.get(name, {}).items()
                                                                 if k in kept}}
                                  for name, value in after.items()}}


def checked_state(state, problem) -> dict | None:
    """The state the page sent back, checked: None to start afresh (none sent, another optimizer's, or
    another network's).

    >>> from handprop.problem.spec import load
    >>> checked_state({"optimizer": "sgd", "t": "x", "parameters": {}}, load("homework"))
    Traceback (most recent call last):
    handprop.core.errors.HandpropError: step state: t 'x' is not a whole number of steps (1 to 10,000,000)
    """
    if state is None:
        return None

    def refuse(what: str, expected: str):
        raise HandpropError(None, "step state", what, expected)

    if not isinstance(state, dict) or set(state) != {"optimizer", "t", "parameters"}:
        refuse("is not the state a step answered", "{optimizer, t, parameters}, or none to start afresh")
    if state["optimizer"] != problem.optimizer.name:  # the optimizer was changed: its state is not this one's
        if not isinstance(state["optimizer"], str):
            refuse("its optimizer is not a name", "the optimizer's name, such as adam")
        return None
    t = state["t"]
    if isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= MAX_STATE_STEPS:
        refuse(f"t '{str(t)[:20]}' is not a whole number of steps", f"1 to {MAX_STATE_STEPS:,}")
    entries = state["parameters"]
    if not isinstance(entries, dict):
        refuse("its parameters are not an object", "{name: {value, written, kept}}")
    if set(entries) != set(problem.parameters):  # the network was reshaped since: a new start, as a new file's
        return None
    kept = set(TORCH_STATE[problem.optimizer.name])
    for name, entry in entries.items():
        if not isinstance(entry, dict) or set(entry) != {"value", "written", "kept"} or not isinstance(entry["kept"], dict):
            refuse(f"parameter {name[:40]} is not {{value, written, kept}}", "the entry a step answered")
        numbers = [entry["value"], entry["written"], *entry["kept"].values()]
        if not set(entry["kept"]) <= kept or not all(_finite(n) for n in numbers):
            refuse(f"parameter {name[:40]} holds something other than numbers it keeps",
                   f"finite numbers: value, written and {', '.join(sorted(kept)) or 'nothing'} kept")
    return {"t": t, "parameters": {name: {"value": float(e["value"]), "written": float(e["written"]),
                                          "kept": {k: float(v) for k, v in e["kept"].items()}}
                                   for name, e in entries.items()}}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
