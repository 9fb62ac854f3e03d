"""[optimizer], checked: the optimizer's name, learning rate, steps and every setting torch.optim gives it."""

from __future__ import annotations

from ..core.errors import HandpropError, one_of
from ..core.optim import OPTIMIZERS, OptimizerConfig
from .checks import Checker

MAX_STEPS = 10_000_000


def optimizer_config(table: dict | None, label: str, parameters=()) -> OptimizerConfig:
    """Validate an [optimizer] section; None (no section) is a gradient-only question, which takes no step.
    `parameters` are the problem's, which `frozen` names (or matches with glob patterns such as "b*").

    >>> optimizer_config({"name": "adam", "lr": 0.01, "betas": [0.8, 0.9]}, "hw.toml").option("betas")
    (0.8, 0.9)
    >>> optimizer_config({"lr": 0.5, "frozen": ["b*"]}, "hw.toml", ["w1", "w2", "b1", "b2"]).frozen
    ('b1', 'b2')
    """
    if table is None:
        return OptimizerConfig("sgd", 0.0, 1, dict(OPTIMIZERS["sgd"]), given=False)
    check = Checker(label)
    name = check.text(table.get("name", "sgd"), "optimizer.name")
    if name not in OPTIMIZERS:
        raise HandpropError(label, "optimizer.name", f"unknown optimizer '{name}'", one_of(OPTIMIZERS, name))
    defaults = OPTIMIZERS[name]
    check.keys(table, "optimizer", ("name", "lr", "steps", "frozen") + tuple(defaults))
    frozen = _frozen(check, table.get("frozen", []), list(parameters))
    if "lr" not in table:
        raise HandpropError(label, "optimizer.lr", "missing", "the learning rate, a number such as 0.5")
    lr = check.number(table["lr"], "optimizer.lr")
    if lr < 0:
        raise HandpropError(label, "optimizer.lr", f"is {lr!r}", "a learning rate of 0 or more")
    steps = check.integer(table.get("steps", 1), "optimizer.steps", 1, MAX_STEPS)
    options = {}
    for key, default in defaults.items():
        if key not in table:
            options[key] = default
            continue
        where = f"optimizer.{key}"
        value = table[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise check.fail(where, f"is {value!r}", "true or false")
            options[key] = value
        elif isinstance(default, tuple):
            pair = check.vector(value, where, 2)
            if not all(0 <= b < 1 for b in pair):
                raise check.fail(where, f"is {value!r}", "two numbers from 0 up to (not including) 1")
            options[key] = tuple(pair)
        else:
            number = check.number(value, where)
            if number < 0 or (key in ("alpha", "momentum", "dampening") and number > 1):
                raise check.fail(where, f"is {number!r}", "from 0 to 1" if key in ("alpha", "momentum", "dampening")
                                 else "0 or more")
            options[key] = number
    if name == "sgd" and options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
        raise check.fail("optimizer.nesterov", "Nesterov momentum needs momentum > 0 and dampening = 0",
                         "as torch.optim.SGD requires")
    return OptimizerConfig(name, lr, steps, options, frozen)


def _frozen(check: Checker, value, parameters: list) -> tuple:
    """The parameters `frozen` names, in the problem's order: each entry a name or a glob pattern ("b*",
    "W1[*"), which must match at least one parameter."""
    import fnmatch

    where = "optimizer.frozen"
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, list):
        raise check.fail(where, f"is {value!r:.60}", 'a list of parameter names or patterns, such as ["b1", "b*"]')
    chosen: set = set()
    for index, entry in enumerate(entries, 1):
        pattern = check.text(entry, f"{where}: entry {index}")
        matched = [p for p in parameters if p == pattern] or (
            [p for p in parameters if fnmatch.fnmatchcase(p, pattern)] if any(c in pattern for c in "*?[") else [])
        if not matched:
            raise check.fail(f"{where}: entry {index}", f"'{pattern}' names no parameter",
                             one_of(parameters, pattern))
        chosen.update(matched)
    return tuple(p for p in parameters if p in chosen)
