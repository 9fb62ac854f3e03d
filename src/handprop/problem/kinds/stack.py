"""A network of layer kinds (a stack): its input shape, layers and loss, and its lowering to one Program.

Names, all 1-based and in PyTorch's layouts: the input x[c,i,j] (its shape's indices: x[c,l] for [C, L], x[t,f]
for a sequence); layer n's parameters by its kind (K{n}[o,c,i,j] and b{n}[o] for a convolution, W{n}[j,k] and
b{n}[j] for a dense layer); its outputs z{n}[...] (a convolution), p{n}[...] (a pool), h{n}[j] (dense), and a{n}[...]
after an activation; the last layer's o[...] and, after its activation, y[...]; the targets t1, t2, ... (t[...] for
an output grid).

A network with a layer whose kind couples the samples of a batch (batch-norm: `couples`) is lowered over its whole
batch as one program (`batch` samples): every node of a sample carries the sample first among its indices (x[s,c,i,j],
z1[s,o,p,q], h3[s,j], o[s,j], y[s,j], the targets t[s,j], a dropout's mask2[s,j]), each sample's loss is L[s] and the
program's loss L is their mean, as torch's mean over the batch; the problem's data is then one sample holding them
all. The parameters' names do not change. A network whose kinds do not couple is lowered per sample, as before.
"""

from __future__ import annotations

import math
import re
from ...core.frozen import dataclass

from ...core.program import Apply, Equation, Program, Ref
from ..layered import LOSSES, NO_ACTIVATION
from . import KINDS
from .base import Grid, StackLayer, Tensor, grid_names, mean_of

# What a network of layer kinds may write out, counted from its shapes before any equation is made: products
# and sums of one sample (a convolution's positions x channels x kernel).
MAX_TERMS = 2_000_000


@dataclass(frozen=True)
class Stack:
    input_shape: tuple
    layers: tuple  # of StackLayer
    loss: str
    batch: int = 0  # a coupled network's samples, lowered as one program; 0: lowered per sample

    @property
    def coupled(self) -> bool:
        """Whether a layer couples the samples of a batch (batch-norm), so that the whole batch is one program."""
        return any(getattr(KINDS[layer.type], "couples", False) for layer in self.layers)

    @property
    def inputs(self) -> tuple:
        return grid_names("x", self.input_shape)

    @property
    def layer_data(self) -> tuple:
        """The data nodes the layers read besides the inputs and targets (Kind.data_names), in layer order."""
        return tuple(name for n, layer in enumerate(self.layers, 1) for name in KINDS[layer.type].data_names(layer, n))

    @property
    def output_shape(self) -> tuple:
        return self.layers[-1].shape_out

    @property
    def targets(self) -> tuple:
        shape = self.output_shape
        if len(shape) == 1:
            return tuple(f"t{j}" for j in range(1, shape[0] + 1))
        return grid_names("t", shape)

    def tensors(self) -> list[Tensor]:
        """Every parameter tensor, layer by layer, each as PyTorch's state_dict orders them (weight, bias)."""
        return [tensor for n, layer in enumerate(self.layers, 1) for tensor in KINDS[layer.type].tensors(layer, n)]

    def parameter_order(self) -> list[str]:
        return [name for tensor in self.tensors() for name in tensor.names]

    @property
    def parameter_count(self) -> int:
        return sum(tensor.size for tensor in self.tensors())

    @property
    def terms(self) -> int:
        """How many products and sums one sample's equations hold, from the shapes alone."""
        return sum(KINDS[layer.type].terms(layer) + math.prod(layer.shape_out) for layer in self.layers)

    def sample_targets(self, s: int) -> tuple:
        """Sample s's targets (1-based) in a coupled network: t[s,j] (t[s,...] for an output grid)."""
        return tuple(f"t[{s},{j}]" for j in range(1, self.output_shape[0] + 1)) if len(self.output_shape) == 1 \
            else tuple(in_sample(name, s) for name in self.targets)

    def batch_data(self) -> tuple:
        """A coupled network's data names: every sample's inputs, then layer data, then targets."""
        samples = range(1, self.batch + 1)
        return (tuple(in_sample(name, s) for s in samples for name in self.inputs)
                + tuple(in_sample(name, s) for s in samples for name in self.layer_data)
                + tuple(name for s in samples for name in self.sample_targets(s)))

    def batched(self, data: dict) -> dict:
        """Per-sample data (name -> one value per sample) as a coupled network's: one sample holding them all."""
        found = {}
        for names, named in ((self.inputs, in_sample), (self.layer_data, in_sample)):
            for s in range(1, self.batch + 1):
                found.update((named(name, s), (data[name][s - 1],)) for name in names)
        for s in range(1, self.batch + 1):
            found.update((mine, (data[name][s - 1],)) for name, mine in zip(self.targets, self.sample_targets(s)))
        return {name: found[name] for name in self.batch_data()}


def in_sample(name: str, s: int) -> str:
    """A node's name in sample s (1-based) of a coupled network: the sample first among its indices.

    >>> in_sample("x[1,2,3]", 4), in_sample("L", 2)
    ('x[4,1,2,3]', 'L[2]')
    """
    match = re.fullmatch(r"(.*?)\[(.*)\]", name)
    return f"{match.group(1)}[{s},{match.group(2)}]" if match else f"{name}[{s}]"


def lower(stack: Stack) -> Program:
    """The stack's equations, layer by layer, then the loss over its outputs (flattened, in C order); a coupled
    network's over its whole batch (lower_batch)."""
    if stack.batch:
        return lower_batch(stack)
    equations: list[Equation] = []
    x = Grid(stack.input_shape, stack.inputs)
    tensors = {tensor.name: tensor.grid() for tensor in stack.tensors()}
    for n, layer in enumerate(stack.layers, 1):
        kind = KINDS[layer.type]
        last = n == len(stack.layers)
        activated = layer.activation != NO_ACTIVATION
        made, x = kind.lower(layer, n, x, tensors, ("o" if activated else "y") if last else f"{kind.prefix}{n}")
        equations += made
        if activated:
            after = Grid(x.shape, grid_names("y" if last else f"a{n}", x.shape))
            equations += _activated(layer, x, after)
            x = after
    outputs = list(x.names)
    equations.append(Equation(("L",), LOSSES[stack.loss].build(outputs, list(stack.targets))))
    return Program(tuple(equations), tuple(stack.parameter_order()),
                   tuple(stack.inputs) + stack.layer_data + stack.targets, "L", tuple(outputs))


def _activated(layer: StackLayer, x: Grid, after: Grid) -> list[Equation]:
    from ...core.ops import OPS

    if OPS[layer.activation].multi_output:
        return [Equation(after.names, Apply(layer.activation, tuple(Ref(name) for name in x.names), layer.params))]
    return [Equation((a,), Apply(layer.activation, (Ref(h),), layer.params)) for h, a in zip(x.names, after.names)]


def _renamed(expr, names: dict):
    if isinstance(expr, Ref):
        return Ref(names.get(expr.name, expr.name))
    if isinstance(expr, Apply):
        return Apply(expr.op, tuple(_renamed(arg, names) for arg in expr.args), expr.params)
    return expr


def _in_sample(made: list, out: Grid, data: tuple, s: int) -> tuple[list, Grid]:
    """One sample's equations of a layer that does not couple samples, each node and data name it writes or
    reads as sample s's (the inputs it reads are already named so)."""
    names = {name: in_sample(name, s) for eq in made for name in eq.targets}
    names.update((name, in_sample(name, s)) for name in data)
    equations = [Equation(tuple(names[t] for t in eq.targets), _renamed(eq.expr, names)) for eq in made]
    return equations, Grid(out.shape, tuple(names.get(name, name) for name in out.names))


def lower_batch(stack: Stack) -> Program:
    """A coupled network over its whole batch: layer by layer, each kind that does not couple lowered sample by
    sample with the sample's index put in its names, a coupling kind over every sample at once (lower_batch);
    each sample's loss L[s], and L their mean."""
    samples = range(1, stack.batch + 1)
    equations: list[Equation] = []
    xs = [Grid(stack.input_shape, tuple(in_sample(name, s) for name in stack.inputs)) for s in samples]
    tensors = {tensor.name: tensor.grid() for tensor in stack.tensors()}
    for n, layer in enumerate(stack.layers, 1):
        kind = KINDS[layer.type]
        last = n == len(stack.layers)
        activated = layer.activation != NO_ACTIVATION
        prefix = ("o" if activated else "y") if last else f"{kind.prefix}{n}"
        if getattr(kind, "couples", False):
            made, xs = kind.lower_batch(layer, n, xs, tensors, [[in_sample(name, s) for name in
                                                                 grid_names(prefix, layer.shape_out)] for s in samples])
            equations += made
        else:
            data = kind.data_names(layer, n)
            outs = []
            for s, x in zip(samples, xs):
                made, out = kind.lower(layer, n, x, tensors, prefix)
                made, out = _in_sample(made, out, data, s)
                equations += made
                outs.append(out)
            xs = outs
        if activated:
            afters = [Grid(x.shape, tuple(in_sample(name, s) for name in grid_names("y" if last else f"a{n}", x.shape)))
                      for s, x in zip(samples, xs)]
            for x, after in zip(xs, afters):
                equations += _activated(layer, x, after)
            xs = afters
    losses = [f"L[{s}]" for s in samples]
    for s, x, name in zip(samples, xs, losses):
        equations.append(Equation((name,), LOSSES[stack.loss].build(list(x.names), list(stack.sample_targets(s)))))
    equations.append(Equation(("L",), mean_of([Ref(name) for name in losses], stack.batch)))
    outputs = tuple(name for x in xs for name in x.names)
    return Program(tuple(equations), tuple(stack.parameter_order()), stack.batch_data(), "L", outputs)
