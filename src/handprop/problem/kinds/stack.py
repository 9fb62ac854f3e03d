"""A network of layer kinds (a stack): its input shape, layers and loss, and its lowering to one Program.

Names, all 1-based and in PyTorch's layouts: the input x[c,i,j] (its shape's indices: x[c,l] for [C, L], x[t,f]
for a sequence); layer n's parameters by its kind (K{n}[o,c,i,j] and b{n}[o] for a convolution, W{n}[j,k] and
b{n}[j] for a dense layer); its outputs z{n}[...] (a convolution), p{n}[...] (a pool), h{n}[j] (dense), and a{n}[...]
after an activation; the last layer's o[...] and, after its activation, y[...]; the targets t1, t2, ... (t[...] for
an output grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...core.program import Apply, Equation, Program, Ref
from ..layered import LOSSES
from . import KINDS
from .base import Grid, StackLayer, Tensor, grid_names

# What a network of layer kinds may write out, counted from its shapes before any equation is made: products
# and sums of one sample (a convolution's positions x channels x kernel).
MAX_TERMS = 2_000_000


@dataclass(frozen=True)
class Stack:
    input_shape: tuple
    layers: tuple  # of StackLayer
    loss: str

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


def lower(stack: Stack) -> Program:
    """The stack's equations, layer by layer, then the loss over its outputs (flattened, in C order)."""
    from ...core.ops import OPS

    equations: list[Equation] = []
    x = Grid(stack.input_shape, stack.inputs)
    tensors = {tensor.name: tensor.grid() for tensor in stack.tensors()}
    for n, layer in enumerate(stack.layers, 1):
        kind = KINDS[layer.type]
        last = n == len(stack.layers)
        activated = layer.activation != "identity"
        made, x = kind.lower(layer, n, x, tensors, ("o" if activated else "y") if last else f"{kind.prefix}{n}")
        equations += made
        if activated:
            after = Grid(x.shape, grid_names("y" if last else f"a{n}", x.shape))
            if OPS[layer.activation].multi_output:
                equations.append(Equation(after.names, Apply(layer.activation, tuple(Ref(name) for name in x.names),
                                                             layer.params)))
            else:
                equations += [Equation((a,), Apply(layer.activation, (Ref(h),), layer.params))
                              for h, a in zip(x.names, after.names)]
            x = after
    outputs = list(x.names)
    equations.append(Equation(("L",), LOSSES[stack.loss].build(outputs, list(stack.targets))))
    return Program(tuple(equations), tuple(stack.parameter_order()),
                   tuple(stack.inputs) + stack.layer_data + stack.targets, "L", tuple(outputs))
