"""A Program evaluated by PyTorch in float64: the independent oracle that `verify` holds handprop to.

The interpreter here walks the program's equations as handprop's does (engine/interpreter.py, the
program as core/fusion.py rewrites it), but each op is its torch function (pytorch/ops.py) and autograd,
not the op table's partials, gives the gradients. Values are tensors of shape
(batch,) for names that depend on the data and 0-dim for the rest, so one pass serves the whole batch and
broadcasting's backward sums each parameter's gradient over the samples. The loss is the batch mean, as
handprop's. torch.optim then takes the optimizer's full-batch steps, one 0-dim tensor per parameter.

How closely two implementations can agree depends on the computation: a saturated sigmoid's 1 - y, or a
gradient that RMSprop scales from 1e-11 up to a full step, carries rounding error far above 1e-10. The same
run with a random error of a few units in the last place in every value and gradient (_Jitter, after Monte
Carlo arithmetic: Parker, Monte Carlo Arithmetic, 1997) shows how far rounding alone moves the answers
(rounding_spread).

torch is imported by these functions only, never when handprop is imported.
"""

from __future__ import annotations

import sys
from ..core.frozen import dataclass

from ..core.fusion import fuse
from ..core.ops import OPS
from ..core.program import Apply, Const, Program
from .ops import functions


class NoTorchCounterpart(NotImplementedError):
    """An op or optimizer of handprop's that this module has no torch function for."""


def torch_ops() -> dict:
    """op name -> its torch function (pytorch/ops.py), for every op of the table a program can hold.

    >>> from handprop.core.ops import OPS
    >>> sorted(torch_ops()) == sorted(name for name, op in OPS.items() if op.derivative_of is None)
    True
    """
    import torch

    return functions(torch)


class _Interpreter:
    def __init__(self, torch, ops: dict, jitter=None):
        self.torch = torch
        self.ops = ops
        self.jitter = jitter or (lambda value: value)  # applied to every op's result (a _Jitter, or none)
        self.values: dict = {}

    def value(self, expr, node: str):
        if isinstance(expr, Apply):
            if isinstance(self.jitter, _Jitter) and expr.op in _Jitter.FROM_OUTPUT:
                return self.jitter.from_output(expr.op, self.function(expr, node), self.value(expr.args[0], node))
            return self.jitter(self.result(expr, node))
        if isinstance(expr, Const):
            return self.torch.tensor(expr.value, dtype=self.torch.float64)
        return self.values[expr.name]

    def function(self, expr, node: str):
        function = self.ops.get(expr.op)
        if function is None or OPS.get(expr.op) is None:
            raise NoTorchCounterpart(f"node {node}: op '{expr.op}' has no PyTorch counterpart in "
                                     "handprop.pytorch.ops (add it to functions)")
        return function

    def result(self, expr, node: str):
        return self.function(expr, node)(*(self.value(arg, node) for arg in expr.args), **dict(expr.params))

    def equation(self, eq) -> None:
        expr = eq.expr
        if isinstance(expr, Apply) and OPS.get(expr.op) is not None and OPS[expr.op].multi_output:
            function = self.function(expr, eq.label)
            args = [self.value(arg, eq.label) for arg in expr.args]
            if isinstance(self.jitter, _Jitter) and expr.op in _Jitter.FROM_OUTPUT:
                outputs = self.jitter.multi_from_output(expr.op, args)
            else:
                outputs = tuple(self.jitter(out) for out in function(*args, **dict(expr.params)))
            self.values.update(zip(eq.targets, outputs))
            return
        self.values[eq.target] = self.value(expr, eq.label)


def torch_values(program: Program, parameters: dict, data: dict, *, jitter=None) -> dict:
    """Every name's value as a tensor: parameters (tensors) and data (tensors of shape (batch,)) in.

    >>> import torch
    >>> from handprop.problem.equations import parse_equations
    >>> p = parse_equations("L = (w*x - t)**2", parameters=["w"], data=["x", "t"])
    >>> t64 = lambda v: torch.tensor(v, dtype=torch.float64)
    >>> torch_values(p, {"w": t64(2.0)}, {"x": t64([3.0]), "t": t64([1.0])})["L"].tolist()
    [25.0]
    """
    import torch

    interpreter = _Interpreter(torch, torch_ops(), jitter)
    interpreter.values.update(parameters)
    interpreter.values.update(data)
    for eq in fuse(program).program.equations:  # ln y of a softmax output from the logits, as handprop's
        interpreter.equation(eq)
    return interpreter.values


def torch_loss(program: Program, parameters: dict, data: dict, batch_size: int, *, jitter=None):
    """The batch's mean loss, a 0-dim tensor that autograd can differentiate."""
    import torch

    loss = torch_values(program, parameters, data, jitter=jitter)[program.loss]
    return torch.broadcast_to(loss, (batch_size,)).mean()


def torch_optimizer(tensors: list, config):
    """The torch.optim optimizer an OptimizerConfig names, with the same settings (the names agree)."""
    import torch

    kinds = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
             "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}
    if config.name not in kinds:
        raise NoTorchCounterpart(f"optimizer '{config.name}' has no torch.optim counterpart in "
                                 "handprop.pytorch.ops")
    options = {key: tuple(value) if isinstance(value, list) else value for key, value in config.options.items()}
    return kinds[config.name](tensors, lr=config.lr, **options)


@dataclass(frozen=True)
class TorchResult:
    loss: float  # at the initial parameters
    gradients: dict  # name -> dL/dθ at the initial parameters
    updated: dict  # name -> value after the steps
    version: str  # torch.__version__


JITTER = 2 * sys.float_info.epsilon  # the relative size of a jittered rounding error


def _autograd_functions(torch):
    class Rounding(torch.autograd.Function):
        """An identity, as autograd sees it, that gives its value one rounding error and its gradient another."""

        @staticmethod
        def forward(ctx, value, forward_error, backward_error):
            ctx.save_for_backward(backward_error)
            return value * (1 - forward_error)

        @staticmethod
        def backward(ctx, gradient):
            (backward_error,) = ctx.saved_tensors
            return gradient * (1 + backward_error), None, None

    class Given(torch.autograd.Function):
        """x -> y with dy/dx = local, both given (computed beforehand)."""

        @staticmethod
        def forward(ctx, x, y, local):
            ctx.save_for_backward(local)
            return y.clone()

        @staticmethod
        def backward(ctx, gradient):
            (local,) = ctx.saved_tensors
            return gradient * local, None, None

    class GivenSoftmax(torch.autograd.Function):
        """logits -> y given (computed beforehand), with softmax's backward taken from y."""

        @staticmethod
        def forward(ctx, logits, y):
            ctx.save_for_backward(y)
            return y.clone()

        @staticmethod
        def backward(ctx, gradient):
            (y,) = ctx.saved_tensors
            return y * (gradient - (gradient * y).sum(dim=-1, keepdim=True)), None

    return Rounding, Given, GivenSoftmax


class _Jitter:
    """Random rounding errors of a few units in the last place, from a seeded generator."""

    def __init__(self, torch, seed: int):
        self.torch = torch
        self.generator = torch.Generator().manual_seed(seed)
        self.rounding, self.given, self.given_softmax = _autograd_functions(torch)

    def uniform(self, shape):  # in [0, 1)
        return self.torch.rand(shape, generator=self.generator, dtype=self.torch.float64)

    def __call__(self, value):
        """value (1 - u), u in [0, JITTER], towards 0 so that every value stays in its op's domain (a probability
        in [0, 1], a logarithm's positive argument); the gradient that flows back through it (1 + v), v in
        [-JITTER, JITTER], so that a sum of terms that cancel moves as its rounding error would."""
        forward_error = self.uniform(value.shape) * JITTER
        backward_error = (self.uniform(value.shape) * 2 - 1) * JITTER
        return self.rounding.apply(value, forward_error, backward_error)

    # Ops whose derivative torch (and handprop) compute from their output: from a saturated output (y near
    # 1) the derivative inherits the output's rounding error many times over, so it is taken from the
    # jittered output here.
    FROM_OUTPUT = {"sigmoid": lambda y: y * (1 - y), "tanh": lambda y: (1 - y) * (1 + y), "softmax": None}

    def from_output(self, op: str, function, x):
        with self.torch.no_grad():
            y = function(x)
            y = y * (1 - self.uniform(y.shape) * JITTER)
            local = self.FROM_OUTPUT[op](y) * (1 + (self.uniform(y.shape) * 2 - 1) * JITTER)
        return self.given.apply(x, y, local)

    def multi_from_output(self, op: str, args: list) -> tuple:
        """softmax, its backward from its jittered output (a saturated y_i's 1 - y_i)."""
        logits = self.torch.stack(self.torch.broadcast_tensors(*args), dim=-1)  # (batch, n) or (n,)
        with self.torch.no_grad():
            y = self.torch.softmax(logits, dim=-1)
            y = y * (1 - self.uniform(y.shape) * JITTER)
        return tuple(self(self.given_softmax.apply(logits, y)).unbind(-1))


def torch_solve(problem, *, steps: int | None = None, jitter: int | None = None) -> TorchResult:
    """The problem solved by PyTorch: loss, gradients by autograd, parameters after torch.optim's steps.

    With a jitter seed, every op's result, the gradient flowing back through it, and the parameters after
    each step are given a random error of a few units in the last place, as Monte Carlo arithmetic does: how
    far the answers move shows how much rounding the computation amplifies.

    >>> r = torch_solve(__import__("handprop").load("homework"))
    >>> round(r.loss, 4), round(r.updated["w7"], 4)
    (0.644, 0.2166)
    """
    import torch

    steps = problem.optimizer.steps if steps is None else steps
    perturb = _Jitter(torch, jitter) if jitter is not None else None
    program = problem.program
    names = list(program.parameters)

    tensors = [torch.tensor(problem.parameters[name], dtype=torch.float64, requires_grad=True) for name in names]
    parameters = dict(zip(names, tensors))
    data = {name: torch.tensor(values, dtype=torch.float64) for name, values in problem.data.items()}
    frozen = set(problem.optimizer.frozen)  # left out of the optimizer, as handprop leaves them
    trained = [tensor for name, tensor in parameters.items() if name not in frozen]
    optimizer = torch_optimizer(trained, problem.optimizer) if trained else None
    loss = gradients = None
    for step in range(steps):
        for tensor in tensors:
            tensor.grad = None
        value = torch_loss(program, parameters, data, problem.batch_size, jitter=perturb)
        value.backward()
        if step == 0:
            loss = value.item()
            # A parameter the loss does not reach gets no gradient from autograd: it is 0.
            gradients = {name: 0.0 if t.grad is None else t.grad.item() for name, t in parameters.items()}
        if optimizer is not None:
            optimizer.step()
        if perturb:
            with torch.no_grad():
                for tensor in tensors:
                    tensor.copy_(perturb(tensor))
    updated = {name: t.item() for name, t in parameters.items()}
    return TorchResult(loss, gradients, updated, torch.__version__)


def rounding_spread(problem, *, steps: int | None = None, reference: TorchResult | None = None,
                    seeds: tuple = (1, 2)) -> TorchResult:
    """How far the loss, each gradient and each updated parameter move when rounding is jittered: the
    largest distance from the plain run over the seeds. No implementation can be trusted closer than this.

    >>> spread = rounding_spread(__import__("handprop").load("homework"))
    >>> spread.loss < 1e-14 and max(spread.updated.values()) < 1e-14
    True
    """
    reference = reference or torch_solve(problem, steps=steps)
    loss, gradients, updated = 0.0, dict.fromkeys(reference.gradients, 0.0), dict.fromkeys(reference.updated, 0.0)
    for seed in seeds:
        moved = torch_solve(problem, steps=steps, jitter=seed)
        loss = max(loss, abs(moved.loss - reference.loss))
        for name in gradients:
            gradients[name] = max(gradients[name], abs(moved.gradients[name] - reference.gradients[name]))
            updated[name] = max(updated[name], abs(moved.updated[name] - reference.updated[name]))
    return TorchResult(loss, gradients, updated, reference.version)
