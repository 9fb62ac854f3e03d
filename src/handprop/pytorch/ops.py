"""The op table's PyTorch forms, keyed by op name: the function the float64 oracle evaluates an op with
(oracle.py), and the nn module a layer's activation is to and from torch (interop.py, script.py).

Each function takes tensors and the op's settings as keywords, as the op table's forward does, and keeps
PyTorch's own conventions, which are handprop's: relu'(0) = 0, leaky_relu'(0) = alpha, softplus with
beta 1 and threshold 20, max and min sharing the gradient among ties, clamp's derivative 1 at its bounds. The
op table's derivative ops (relu' written u(h)) are only ever written out in a worked solution, never run, and
have no torch form. A test fails when an op of the table that a program can hold has no function here, or an
activation no module.
"""

from __future__ import annotations

from ..core.frozen import dataclass, field


@dataclass(frozen=True)
class Module:
    """An activation's nn module: its class, which attribute holds each op setting, and what else it has."""

    name: str  # the class in torch.nn
    settings: dict = field(default_factory=dict)  # op setting -> the module's attribute
    fixed: dict = field(default_factory=dict)  # attribute -> the value(s) handprop's op has: read back, checked
    build: dict = field(default_factory=dict)  # attribute -> value it is made with, beyond the settings


# None: no module at all (nn.Identity, or nothing, after a Linear layer).
MODULES = {
    "identity": None,
    "relu": Module("ReLU"),
    "leaky_relu": Module("LeakyReLU", {"alpha": "negative_slope"}),
    "sigmoid": Module("Sigmoid"),
    "tanh": Module("Tanh"),
    "softplus": Module("Softplus", fixed={"beta": (1.0,), "threshold": (20.0,)}),
    "elu": Module("ELU", {"alpha": "alpha"}),
    "selu": Module("SELU"),
    "celu": Module("CELU", {"alpha": "alpha"}),
    "gelu": Module("GELU", {"approximate": "approximate"}),
    "silu": Module("SiLU"),
    "mish": Module("Mish"),
    "softsign": Module("Softsign"),
    "hardtanh": Module("Hardtanh", {"min_val": "min_val", "max_val": "max_val"}),
    "hardsigmoid": Module("Hardsigmoid"),
    "logsigmoid": Module("LogSigmoid"),
    "softmax": Module("Softmax", fixed={"dim": (-1, 1)}, build={"dim": -1}),
}


def functions(torch) -> dict:
    """op name -> its torch function, for every op of the table a program can hold.

    >>> import torch
    >>> functions(torch)["leaky_relu"](torch.tensor(-2.0, dtype=torch.float64), alpha=0.1).item()
    -0.2
    """
    F = torch.nn.functional

    def stacked(function):  # a multi-output op over the last dimension: one tensor per output
        return lambda *xs: tuple(function(torch.stack(torch.broadcast_tensors(*xs), dim=-1), dim=-1).unbind(-1))

    return {
        "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "neg": torch.neg, "pow": torch.pow,
        "identity": lambda x: x,
        "relu": torch.relu,
        "leaky_relu": lambda x, alpha: F.leaky_relu(x, negative_slope=alpha),
        "sigmoid": torch.sigmoid, "tanh": torch.tanh,
        "softplus": F.softplus,  # beta 1, threshold 20: x itself above 20
        "elu": lambda x, alpha: F.elu(x, alpha=alpha),  # alpha e^x at and below 0
        "selu": F.selu, "celu": lambda x, alpha: F.celu(x, alpha=alpha),
        "gelu": lambda x, approximate: F.gelu(x, approximate=approximate),
        "silu": F.silu, "mish": F.mish, "softsign": F.softsign,
        "hardtanh": lambda x, min_val, max_val: F.hardtanh(x, min_val=min_val, max_val=max_val),  # 0 at the corners
        "hardsigmoid": F.hardsigmoid, "logsigmoid": F.logsigmoid,
        "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs,
        "softmax": stacked(torch.softmax), "log_softmax": stacked(torch.log_softmax),
        "bce": lambda y, t: _binary_cross_entropy(torch, y, t),
        # the largest and smallest over the arguments stacked: tied arguments share the gradient equally, as
        # torch.maximum and torch.minimum (1/2 each) for two
        "max": lambda *xs: torch.amax(torch.stack(torch.broadcast_tensors(*xs), dim=-1), dim=-1),
        # the first largest, as max-pooling: torch.max over a dimension returns (and differentiates) the first
        "maxpool": lambda *xs: torch.max(torch.stack(torch.broadcast_tensors(*xs), dim=-1), dim=-1).values,
        "min": lambda *xs: torch.amin(torch.stack(torch.broadcast_tensors(*xs), dim=-1), dim=-1),
        "clamp": lambda x, **bounds: torch.clamp(x, bounds["min"], bounds["max"]),  # gradient 1 at the bounds
    }


def _binary_cross_entropy(torch, y, t):
    """torch's binary cross-entropy per sample: each log clamped at -100."""
    y, t = torch.broadcast_tensors(y, t)
    if t.requires_grad:
        # torch's own has no derivative for its target; the same formula, written out.
        return -(t * torch.clamp(torch.log(y), min=-100.0) + (1 - t) * torch.clamp(torch.log1p(-y), min=-100.0))
    return torch.nn.functional.binary_cross_entropy(y, t, reduction="none")


@dataclass(frozen=True)
class Loss:
    """A layered network's loss in a PyTorch script: the batch mean over `output` (the model's) and `T`."""

    code: str
    logits: str | None = None  # the code when the model gives logits: its loss then takes the output activation


LOSSES = {
    "cross_entropy": Loss("(-(T * torch.log(output)).sum(dim=1)).mean()",
                          logits="torch.nn.functional.cross_entropy(output, T)"),
    "binary_cross_entropy": Loss("torch.nn.functional.binary_cross_entropy(output, T)"),
    "mse": Loss("torch.nn.functional.mse_loss(output, T)"),
    "half_sse": Loss("(0.5 * ((output - T) ** 2).sum(dim=1)).mean()"),
}
