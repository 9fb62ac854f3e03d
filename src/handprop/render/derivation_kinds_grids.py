"""The pieces of a network of layer kinds' worked solution: its layers as the program holds them, grids as
matrices, and sums over many positions written short.

A layer's nodes are found by the names the stack gives them (docs/layer-kinds.md): layer n's outputs
`{prefix}{n}[...]` (z1, p2, h4), `a{n}[...]` after an activation, the last layer's `o[...]` and `y[...]`; its
equations are the program's, in order, from the layer before's last to its own last. Where a name is not
found, `layers_of` says so (None) and the worked solution is the generic one, node by node.
"""

from __future__ import annotations

import re
from ..core.frozen import dataclass

from ..core.functions import LONG_SUM
from ..problem.kinds import KINDS
from ..problem.kinds.base import grid_names
from ..problem.layered import NO_ACTIVATION
from .mathtex import name_latex
from .matrices import bmatrix, side_limit

# The kinds written as a course writes them; any other kind's nodes are written one by one (the generic form).
KNOWN = ("conv1d", "conv2d", "maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d", "flatten", "dense",
         "rnn", "lstm", "gru", "layernorm", "dropout", "attention")


@dataclass(frozen=True)
class KindsLayer:
    """Layer `number` of the stack with its node names, each tuple in C order."""

    number: int
    layer: object  # the StackLayer
    inputs: tuple  # the grid it reads (the layer before's post, or the input x)
    pre: tuple  # its outputs before the activation (a flatten's: its inputs, listed as a vector)
    post: tuple  # after the activation (pre, when it has none)
    equations: tuple  # its own equations, in the program's order
    tensors: tuple  # its parameter tensors (kinds.base.Tensor)
    last: bool

    @property
    def type(self) -> str:
        return self.layer.type

    @property
    def known(self) -> bool:
        return self.layer.type in KNOWN

    @property
    def activated(self) -> bool:
        return self.layer.activation != NO_ACTIVATION


def window_of(eq) -> tuple:
    """The entries a pooling equation reads: its op's arguments, or the one entry of a window of one."""
    return eq.expr.args if hasattr(eq.expr, "args") else (eq.expr,)


def by_maximum(kind: str) -> bool:
    """Whether a pooling layer's kind takes each window's largest entry (its op), rather than its mean."""
    return getattr(KINDS[kind], "op", None) is not None


def layers_of(problem) -> list[KindsLayer] | None:
    """The stack's layers with their names and equations, or None where the program's names are not the ones
    the stack gives (a kind that names its nodes otherwise): the generic form then writes the solution."""
    stack, program = problem.stack, problem.program
    position = {target: i for i, eq in enumerate(program.equations) for target in eq.targets}
    inputs, start, found = tuple(stack.inputs), 0, []
    for n, layer in enumerate(stack.layers, 1):
        kind = KINDS.get(layer.type)
        if kind is None:
            return None
        last = n == len(stack.layers)
        activated = layer.activation != NO_ACTIVATION
        if layer.type == "flatten":
            pre = post = inputs
            end = start
        elif hasattr(kind, "states"):  # a recurrent layer's output is its hidden states themselves (h{n}[t,j])
            steps, hidden = layer.shape_in[0], layer.setting("hidden")
            first = steps if layer.setting("return") == "last" else 1
            pre = post = tuple(f"h{n}[{t},{j}]" for t in range(first, steps + 1) for j in range(1, hidden + 1))
            if any(name not in position for name in post):
                return None
            end = max(position[name] for name in post) + 1
        else:
            pre = grid_names(("o" if activated else "y") if last else f"{kind.prefix}{n}", layer.shape_out)
            post = grid_names("y" if last else f"a{n}", layer.shape_out) if activated else pre
            if any(name not in position for name in pre + post):
                return None
            end = max(position[name] for name in post) + 1
            if end <= start:
                return None
        found.append(KindsLayer(n, layer, inputs, pre, post, program.equations[start:end],
                                tuple(kind.tensors(layer, n)), last))
        start, inputs = end, post
    if start != len(program.equations) - 1 or program.equations[start].target != program.loss:
        return None
    return found


def channels(shape: tuple) -> list[tuple[int, int, int]]:
    """Each channel of a grid as a matrix: (its first entry's flat index, rows, columns); (C, H, W) as C
    matrices H x W, (C, L) as C rows of L, a vector (N,) as one column."""
    if len(shape) == 1:
        return [(0, shape[0], 1)]
    rows, columns = (shape[1], shape[2]) if len(shape) == 3 else (1, shape[-1])
    return [(c * rows * columns, rows, columns) for c in range(shape[0])]


def grid_matrix(names: tuple, start: int, rows: int, columns: int, entry, decimals: int) -> str:
    """One channel's entries as a bmatrix, entry(name) giving each; a side longer than a line holds summarised."""
    return bmatrix(rows, columns, lambda i, j: entry(names[start + i * columns + j]), side_limit(decimals))


def grid_symbol(name: str, channel: int | None = None) -> str:
    """A grid's symbol from one of its names, as a capital: z1[1,2,3] -> Z^{[1]}, x[1,1,1] -> X; with its
    channel (1-based) as a subscript."""
    base, layer = re.fullmatch(r"([A-Za-z]+?)(\d*)\[.*", name).groups()
    symbol = base.upper() if len(base) == 1 else rf"\mathit{{{base}}}"
    symbol += f"^{{[{layer}]}}" if layer else ""
    return symbol + (f"_{{{channel}}}" if channel is not None else "")


def letter(name: str) -> str:
    """A grid's entries' symbol without the index: x[1,1,1] -> x, a1[1,2,3] -> a^{[1]}."""
    return name_latex(name).rsplit("_{", 1)[0]


def position(var: str, offset, stride: int, padding: int) -> str:
    """The input's index under output index var and kernel index offset (both 1-based): s(var - 1) + offset - pad;
    a number offset folded into the constant.

    >>> position("p", "i", 1, 0), position("q", "j", 2, 1), position("p", 2, 1, 0), position("q", 1, 2, 1)
    ('p + i - 1', '2(q - 1) + j - 1', 'p + 1', '2(q - 1)')
    """
    if isinstance(offset, int):
        constant = offset - 1 - padding if stride == 1 else offset - padding
        head = var if stride == 1 else f"{stride}({var} - 1)"
        return head + (f" + {constant}" if constant > 0 else f" - {-constant}" if constant < 0 else "")
    if stride == 1:
        return f"{var} + {offset} - {1 + padding}"
    return f"{stride}({var} - 1) + {offset}" + (f" - {padding}" if padding else "")


def index_of(name: str) -> str:
    """A grid name's index as written: z1[1,2,3] -> 1,2,3."""
    return name[name.index("[") + 1:-1]


def delta(name: str, number: int) -> str:
    """delta^{[n]} at a node's index: the gradient of layer n's output before its activation."""
    return rf"\delta^{{[{number}]}}_{{{index_of(name)}}}"


def written_sum(terms: list[tuple[str, str, bool]]) -> tuple[str, str]:
    """A sum in symbols and with the numbers, each term (symbols, numbers, whether it is 0 with the numbers
    in). Up to LONG_SUM terms in full; a longer one as the scalar form writes it: in symbols its first two,
    a cdots and its last; with the numbers, the zero terms folded into one brace that counts them and the
    rest, if still long, as its first two, a cdots and its last."""
    if not terms:
        return "0", "0"
    if len(terms) <= LONG_SUM:
        return " + ".join(t[0] for t in terms), " + ".join(t[1] for t in terms)
    symbols = " + ".join([terms[0][0], terms[1][0], r"\cdots", terms[-1][0]])
    nonzero = [t[1] for t in terms if not t[2]]
    zeros = len(terms) - len(nonzero)
    if len(nonzero) > LONG_SUM:
        nonzero = [*nonzero[:2], r"\cdots", nonzero[-1]]
    numbers = " + ".join(nonzero)
    if zeros:
        brace = rf"\underbrace{{0 + \cdots + 0}}_{{{zeros}\ \text{{terms}}}}" if zeros > 1 else "0"
        numbers = f"{numbers} + {brace}" if numbers else brace
    return symbols, numbers


def listed(items: list[str]) -> str:
    """Items separated by commas, a long list as its first two, a cdots and its last."""
    if len(items) > LONG_SUM:
        items = [*items[:2], r"\cdots", items[-1]]
    return ", ".join(items)
