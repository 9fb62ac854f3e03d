"""The matrix form's pieces: each layer's names and symbols, and matrices in LaTeX (bmatrix), a long side
summarised so that a wide layer stays legible.

A side of more entries than a line has room for shows its first ones, a \\cdots (\\vdots down a column)
and its last, as the scalar form writes a long sum as its first terms, \\cdots and its last
(core/functions.py's LONG_SUM). Every factor of a product is cut at the same places (the cut depends only
on a side's length, never on whether it is a row or a column), so W x still reads column by row.
"""

from __future__ import annotations

from ..core.frozen import dataclass
from typing import Callable

from ..core.ops import OPS
from ..problem.layered import bias_names, unit_names, weight_rows

WIDEST = 8  # entries a side shows at most
NARROWEST = 3  # and at least: a longer side is then its first, the dots and its last
LINE = 453  # a printed line, in points (the LaTeX document's 6.3 in)


def side_limit(decimals: int) -> int:
    """How many entries a side shows in full at these decimals: the widest line, two matrices side by side and
    a vector (W X + b for a batch, W - gamma G), then about fits a printed line, a number at 11 pt with its
    sign and column space taking some 27 + 5.5 d points (measured on pdflatex's output).

    >>> side_limit(0), side_limit(2), side_limit(4), side_limit(10)
    (7, 5, 4, 3)
    """
    number = 27 + 5.5 * decimals
    return max(NARROWEST, min(WIDEST, int((LINE / number - 1) / 2)))


def shown(length: int, most: int = WIDEST) -> list[int | None]:
    """The indices a side of `length` entries shows, None where the dots stand: all of them up to `most`,
    else the first most - 2, the dots and the last (a column of dots is narrower than one of numbers).

    >>> shown(3), shown(10), shown(10, 4)
    ([0, 1, 2], [0, 1, 2, 3, 4, 5, None, 9], [0, 1, None, 9])
    """
    if length <= most:
        return list(range(length))
    return [*range(most - 2), None, length - 1]


def bmatrix(rows: int, columns: int, entry: Callable[[int, int], str], most: int = WIDEST) -> str:
    r"""A rows x columns matrix whose (i, j) entry is entry(i, j) (0-based), as a bmatrix, a side of more
    than `most` entries summarised; only the entries shown are asked for.

    >>> bmatrix(2, 2, lambda i, j: str(2 * i + j))
    '\\begin{bmatrix} 0 & 1 \\\\ 2 & 3 \\end{bmatrix}'
    >>> bmatrix(1, 10, lambda i, j: str(j + 1), most=4)[15:-13]
    ' 1 & 2 & \\cdots & 10 '
    """
    lines = []
    for i in shown(rows, most):
        cells = []
        for j in shown(columns, most):
            if i is None:
                cells.append(r"\ddots" if j is None else r"\vdots")
            else:
                cells.append(r"\cdots" if j is None else entry(i, j))
        lines.append(" & ".join(cells))
    return r"\begin{bmatrix} " + r" \\ ".join(lines) + r" \end{bmatrix}"


def names_listed(names: list[str], most: int = WIDEST) -> str:
    r"""Names in a row, as a column vector's transpose: (h_{1}, h_{2})^\top; a long list summarised.

    >>> names_listed(["h_{1}", "h_{2}"])
    '(h_{1}, h_{2})^\\top'
    """
    shown_names = [r"\ldots" if i is None else names[i] for i in shown(len(names), most)]
    return "(" + ", ".join(shown_names) + r")^\top"


def transposed(symbol: str) -> str:
    r"""A symbol with a transpose: W^{[2]} -> W^{[2]\top} (no double superscript), x -> x^\top.

    >>> transposed("W^{[2]}"), transposed("x")
    ('W^{[2]\\top}', 'x^\\top')
    """
    if symbol.endswith("}") and "^{" in symbol:
        return symbol[:-1] + r"\top}"
    return symbol + r"^\top"


def primed(symbol: str) -> str:
    r"""A symbol after the update: W^{[1]} -> W^{[1]\prime}, b -> b'.

    >>> primed("W^{[1]}"), primed("b")
    ('W^{[1]\\prime}', "b'")
    """
    if symbol.endswith("}") and "^{" in symbol:
        return symbol[:-1] + r"\prime}"
    return symbol + "'"


def sampled(symbol: str, k: int) -> str:
    r"""A vector's symbol for sample k: y -> y^{(1)}, \delta^{[2]} -> \delta^{[2](3)}.

    >>> sampled("y", 1), sampled(r"\delta^{[2]}", 3)
    ('y^{(1)}', '\\delta^{[2](3)}')
    """
    if symbol.endswith("}") and "^{" in symbol:
        return symbol[:-1] + f"({k})}}"
    return symbol + f"^{{({k})}}"


@dataclass(frozen=True)
class MatrixLayer:
    """One dense layer's names, and its symbols in the matrix form."""

    number: int  # 1-based
    weights: list  # rows of weight names: a row per unit, a column per input
    biases: list  # one per unit; or one, added to every unit; or none
    pre: list  # pre-activation nodes, h1, h2, ... (o1, o2, ... in the output layer)
    post: list  # activations, a1, a2, ... (y1, y2, ...)
    inputs: list  # the names the layer reads: the inputs, or the layer below's activations
    activation: str
    params: tuple  # the activation's settings
    output: bool
    symbols: dict  # "in", "pre", "post", "delta", "W", "b": LaTeX (capitals for a batch's matrices)
    shared_bias: bool = False  # one bias added to every unit: b is a number, not a vector


def matrix_layers(network, batch: bool) -> list[MatrixLayer]:
    """The network's layers, with the names problem/layered.py gives them."""
    layers = []
    inputs, input_symbol = list(network.inputs), "X" if batch else "x"
    rows, biases, units = weight_rows(network), bias_names(network), unit_names(network)
    for number, layer in enumerate(network.layers, start=1):
        output = number == len(network.layers)
        mark = "" if output else f"^{{[{number}]}}"
        pre, post = ("o", "y") if output else ("h", "a")
        if batch:
            pre, post = pre.upper(), post.upper()
        symbols = {"in": input_symbol, "pre": pre + mark, "post": post + mark, "W": f"W^{{[{number}]}}",
                   "b": f"b^{{[{number}]}}", "delta": (r"\Delta" if batch else r"\delta") + f"^{{[{number}]}}"}
        pairs, layer_biases = units[number - 1], biases[number - 1]
        # one name for every unit (bias = "shared"); a one-unit layer's own bias is a vector of one
        shared = len(layer_biases) == 1 and (len(pairs) > 1 or getattr(layer, "bias", None) == "shared")
        layers.append(MatrixLayer(number, rows[number - 1], layer_biases, [h for h, _ in pairs],
                                  [a for _, a in pairs], inputs, layer.activation, layer.params, output, symbols,
                                  shared))
        inputs, input_symbol = layers[-1].post, symbols["post"]
    return layers


def applied(activation: str, params: tuple, argument: str) -> str:
    """The activation applied to an argument in LaTeX, as the op table writes it: ReLU(h^{[1]})."""
    op = OPS[activation]
    template = op.latex(**dict(params)) if callable(op.latex) else op.latex
    settings = {name: value if isinstance(value, str) else f"{value:g}" for name, value in params}
    tall = any(mark in argument for mark in ("^", r"\begin", r"\frac"))
    wrapped = rf"\left({argument}\right)" if tall else f"({argument})"
    return template.format(argument, args=wrapped, **settings)
