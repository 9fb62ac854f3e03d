"""[optimizer], checked: the optimizer's name, learning rate, steps and every setting torch.optim gives it."""

from __future__ import annotations

from ..core.errors import HandpropError, one_of
from ..core.optim import OPTIMIZERS, OptimizerConfig
from .checks import Checker

MAX_STEPS = 10_000_000


def optimizer_config(table: dict, label: str) -> OptimizerConfig:
    """Validate an [optimizer] section.

    >>> optimizer_config({"name": "adam", "lr": 0.01, "betas": [0.8, 0.9]}, "hw.toml").option("betas")
    (0.8, 0.9)
    """
    check = Checker(label)
    name = check.text(table.get("name", "sgd"), "optimizer.name")
    if name not in OPTIMIZERS:
        raise HandpropError(label, "optimizer.name", f"unknown optimizer '{name}'", one_of(OPTIMIZERS, name))
    defaults = OPTIMIZERS[name]
    check.keys(table, "optimizer", ("name", "lr", "steps") + tuple(defaults))
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
    return OptimizerConfig(name, lr, steps, options)
