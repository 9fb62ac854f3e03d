"""The update of a network of layer kinds in matrix form: each parameter tensor through the optimizer's step, as
the dense matrix form writes it (derivation_matrix_update.py: W' = W - gamma dL/dW for plain gradient descent;
else the tensor's gradient, the optimizer's quantities and the tensor after the step).

A vector (a bias, gamma, beta) is a column, a weight matrix as it is stored (a row per output), and a kernel
(O, C, ...) a slice at a time, K[o,c] (a row for a one-dimensional kernel). Every number is a record.
"""

from __future__ import annotations

from ..core.frozen import dataclass
from itertools import product

from .derivation_matrix_update import MatrixUpdate
from .derivation_update import UpdateSection
from .mathtex import name_latex


@dataclass(frozen=True)
class _Piece:
    """One matrix of a tensor, as derivation_matrix_update.py's update_blocks reads a layer: its symbol under
    `symbols[key]`, and `number` ending its anchors."""

    symbols: dict
    number: str = ""
    shared_bias: bool = False


def pieces(tensor) -> list[tuple[str, str, list]]:
    """(key, symbol, rows of names) for each matrix a tensor is written as."""
    shape, names = tensor.shape, list(tensor.names)
    symbol = name_latex(names[0]).rsplit("_{", 1)[0]  # W4[1,1] -> W^{[4]}, as the course-style form names it
    if len(shape) == 1:
        return [(tensor.name, symbol, [[name] for name in names])]
    if len(shape) == 2:
        return [(tensor.name, symbol, [names[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])])]
    found = []
    width = shape[-1]
    size = len(names) // (shape[0] * shape[1])
    for at, (o, c) in enumerate(product(range(shape[0]), range(shape[1]))):
        block = names[at * size:(at + 1) * size]
        found.append((f"{tensor.name}-{o + 1}-{c + 1}", rf"{symbol}[{o + 1},{c + 1}]",
                      [block[i:i + width] for i in range(0, size, width)]))
    return found


class KindsUpdate(MatrixUpdate, UpdateSection):
    """The update section of the matrix form of a stack, around its writer (derivation_matrix_kinds*.py), whose
    solution, numbers and matrices it uses."""

    def __init__(self, writer, step: int | None):
        self.writer = writer
        self.step = step
        self.problem = writer.solution.problem
        self.layers = [layer for layer in writer.layers if layer.tensors]

    def __getattr__(self, name: str):
        return getattr(self.writer, name)

    def layer_update(self, layer, k: int) -> list:
        blocks: list = []
        for tensor in layer.tensors:
            for key, symbol, rows in pieces(tensor):
                blocks += self.update_blocks(_Piece({key: symbol}), key, rows, k)
        return blocks
