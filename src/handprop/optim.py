"""Optimizers: the [optimizer] section and the parameter update.

sgd: theta' = theta - lr * dL/dtheta, the homework's gradient-descent step and
torch.optim.SGD with its defaults (no momentum, no weight decay).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks import Checker
from .errors import HandpropError, one_of

MAX_STEPS = 100_000  # a hand-sized run; the training issue's engine takes longer ones


@dataclass(frozen=True)
class OptimizerConfig:
    name: str = "sgd"
    lr: float = 0.1
    steps: int = 1  # full-batch steps taken from the initial parameters
    options: dict = field(default_factory=dict)  # optimizer-specific settings beyond lr


# name -> the keys its section may hold besides name, lr and steps
OPTIMIZERS = {"sgd": ()}


def optimizer_config(table: dict, label: str) -> OptimizerConfig:
    """Validate an [optimizer] section.

    >>> optimizer_config({"name": "sgd", "lr": 0.5}, "hw.toml").lr
    0.5
    """
    check = Checker(label)
    name = check.text(table.get("name", "sgd"), "optimizer.name")
    if name not in OPTIMIZERS:
        raise HandpropError(label, "optimizer.name", f"unknown optimizer '{name}'", one_of(OPTIMIZERS, name))
    check.keys(table, "optimizer", ("name", "lr", "steps") + OPTIMIZERS[name])
    if "lr" not in table:
        raise HandpropError(label, "optimizer.lr", "missing", "the learning rate, a number such as 0.5")
    lr = check.number(table["lr"], "optimizer.lr")
    if lr < 0:
        raise HandpropError(label, "optimizer.lr", f"is {lr!r}", "a learning rate of 0 or more")
    steps = check.integer(table.get("steps", 1), "optimizer.steps", 1, MAX_STEPS)
    return OptimizerConfig(name, lr, steps)


def sgd_step(values: dict, gradients: dict, config: OptimizerConfig) -> dict:
    """One gradient-descent step: theta' = theta - lr * dL/dtheta.

    >>> sgd_step({"w1": 0.1}, {"w1": 0.04}, OptimizerConfig(lr=0.5))
    {'w1': 0.08}
    """
    return {name: value - config.lr * gradients[name] for name, value in values.items()}
