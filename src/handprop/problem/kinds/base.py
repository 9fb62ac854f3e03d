"""What every layer kind shares: grids of names, parameter tensors, a layer of the stack, and the Kind protocol.

A value of a network of layer kinds is a grid: a shape, as PyTorch's (C, H, W) for an image, and one node name
per entry in C order, each indexed from 1 (`x[1,2,3]`: channel 1, row 2, column 3). A parameter is a tensor in
PyTorch's layout (a convolution's kernel K1[o,c,i,j] is nn.Conv2d's weight[o-1, c-1, i-1, j-1]).
"""

from __future__ import annotations

import math
from ...core.frozen import dataclass
from itertools import product

from ...core.program import Apply, Const, Equation, Expr, Ref
from ..layered import NO_ACTIVATION, total  # total: a sum as the dense layers write it, a long one pairwise


def grid_names(prefix: str, shape: tuple) -> tuple:
    """Every entry's name, in C order, 1-based.

    >>> grid_names("x", (1, 2, 2))
    ('x[1,1,1]', 'x[1,1,2]', 'x[1,2,1]', 'x[1,2,2]')
    """
    return tuple(f"{prefix}[{','.join(map(str, index))}]" for index in product(*(range(1, n + 1) for n in shape)))


def describe_shape(shape: tuple) -> str:
    """(1, 4, 4), as a layer's shape is written in messages."""
    return "(" + ", ".join(map(str, shape)) + ")"


@dataclass(frozen=True)
class Grid:
    """A value of the network: its shape, and one node name per entry in C order."""

    shape: tuple
    names: tuple

    def at(self, *index: int) -> str:
        """The name at a 0-based index."""
        flat = 0
        for size, i in zip(self.shape, index):
            flat = flat * size + i
        return self.names[flat]

    def ref(self, *index: int) -> Ref:
        return Ref(self.at(*index))


@dataclass(frozen=True)
class Tensor:
    """A parameter tensor: its name (K1, b1, W3), shape, and fans (for the initialisers, as torch.nn.init)."""

    name: str
    shape: tuple
    fan_in: int
    fan_out: int
    bias: bool = False

    @property
    def names(self) -> tuple:
        return grid_names(self.name, self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def grid(self) -> Grid:
        return Grid(self.shape, self.names)


@dataclass(frozen=True)
class TorchModule:
    """A PyTorch module a layer is made of, as text (no torch here): its class in torch.nn, the keyword arguments
    it is made with, and each of its tensors as (attribute, shape, handprop's names in C order)."""

    name: str
    arguments: dict
    tensors: tuple = ()


@dataclass(frozen=True)
class StackLayer:
    """One layer of a network of layer kinds: its type, its checked settings, the shapes it takes and gives,
    and the activation applied to its outputs (identity: none)."""

    type: str
    settings: tuple  # ((key, value), ...), each checked
    shape_in: tuple
    shape_out: tuple
    activation: str = "identity"
    params: tuple = ()  # the activation's settings, as the op table orders them

    def setting(self, key: str):
        return dict(self.settings)[key]


class Kind:
    """A layer kind: the keys it reads, the shape it gives, its parameter tensors, and its lowering to equations.

    read(check, entry, where, shape) -> (settings dict, output shape), every key checked (a one-line error
    naming the layer); tensors(layer, n) -> its parameters; lower(layer, n, x, parameters, prefix) -> (equations,
    the output grid named `prefix[...]`); terms(layer) -> how many products and sums its equations hold
    (checked against the limits before any is written)."""

    name = ""
    keys: tuple = ()  # its own keys, besides type (and activation and its settings, where it takes one)
    activation = False  # whether it takes an activation
    prefix = "h"  # its output nodes' letter: h2[j], z1[o,p,q]
    words = ""  # in the worked solution's description of the network

    def read(self, check, entry: dict, where: str, shape: tuple) -> tuple[dict, tuple]:
        raise NotImplementedError

    def data_keys(self, layer: StackLayer, n: int) -> tuple:
        """The [data] keys this layer reads besides x and t (a dropout's mask, a recurrent layer's initial
        state), named with its number; none by default."""
        return ()

    def data_names(self, layer: StackLayer, n: int) -> tuple:
        """The data nodes those keys give, one value per sample each (the program's data, after the inputs)."""
        return ()

    def read_data(self, check, layer: StackLayer, n: int, table: dict, samples: int) -> dict:
        """Its data nodes' values from [data], checked: name -> one value per sample (a default where a key is
        optional and not given)."""
        return {}

    def tensors(self, layer: StackLayer, n: int) -> list[Tensor]:
        return []

    def lower(self, layer: StackLayer, n: int, x: Grid, parameters: dict, prefix: str) -> tuple[list, Grid]:
        raise NotImplementedError

    def terms(self, layer: StackLayer) -> int:
        return math.prod(layer.shape_out)

    def torch_modules(self, layer: StackLayer, n: int) -> list:
        """The PyTorch modules that compute the layer (TorchModule), before its activation; None where it has
        no nn.Sequential counterpart yet (to_torch and export --to torch then refuse it in one line)."""
        return None


def read_activation(check, entry: dict, where: str) -> tuple[str, tuple]:
    """A layer's activation (identity when none is named) and its settings, checked: (name, settings)."""
    from ...core.errors import one_of
    from ...core.ops import ACTIVATIONS, OPS

    name = check.text(entry.get("activation", NO_ACTIVATION), f"{where}: activation")
    if name not in ACTIVATIONS:
        raise check.fail(f"{where}: activation", f"unknown activation '{name}'", one_of(ACTIVATIONS, name))
    given = {key: value for key, value in entry.items() if key in {p.name for p in OPS[name].params}}
    return name, check.op_settings(OPS[name], given, where)


def times(a: str, b: str) -> Expr:
    return Apply("mul", (Ref(a), Ref(b)))


def mean_of(terms: list[Expr], count: int) -> Expr:
    """Their sum divided by the count, as torch's average pooling divides the window's sum."""
    return Apply("div", (total(terms), Const(float(count))))


def equation(name: str, expr: Expr) -> Equation:
    return Equation((name,), expr)
