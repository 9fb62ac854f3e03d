"""The matrix form of the grid kinds and dense layers in a network of layer kinds: each layer's subsection of
the forward and backward passes (derivation_matrix_kinds.py puts them in the document; the convolution and
pooling are in derivation_matrix_kinds_conv.py).

    dense      h = W x + b,   delta = dL/da (.) f'(h),   dL/dW = delta x^T,   dL/dx = W^T delta
    conv       Z = K X~ + b 1^T over the unfolded patches X~ (im2col: one column per output position, one
               row per kernel entry), dL/dK = delta X~^T, dL/dX~ = K^T delta folded back (col2im) into dL/dX
    pooling    the windows unfolded as columns (A~), P their largest entry or their mean; the gradient routed
               back by the matrix of each window's local partials, then folded back into the grid
    flatten    vec(A), and its gradient put back in the grid's shape

Every number is a record (values, local partials, adjoints, gradients): a product is written with its factors
and the recorded result, never computed here.
"""

from __future__ import annotations

from ..core.ops import OPS
from .derivation_backward import chain
from .derivation_kinds_grids import KindsLayer, channels, grid_matrix, grid_symbol
from .derivation_matrix_kinds_conv import ConvPoolMatrices
from .derivation_matrix_kinds_update import KindsUpdate
from .document import Document, Math, Paragraph, Section
from .mathtex import name_latex
from .matrices import applied, bmatrix, side_limit, transposed
from .numbers import fixed


class MatrixKinds(ConvPoolMatrices):
    """The matrix form of each layer: forward(layer) and backward(layer) give a subsection's blocks, or None
    for a kind written in the course-style form."""

    def __init__(self, solution, layers: list[KindsLayer], decimals: int, k: int, inputs: bool,
                 step: int | None = None):
        self.solution, self.layers, self.decimals, self.k, self.inputs = solution, layers, decimals, k, inputs
        self.step = step  # the one step whose update is written; None: as the course-style form, every step kept
        self.trace = solution.traces[k]
        self.batch = solution.batch_size
        self.loss = solution.problem.program.loss
        self.most = side_limit(decimals)

    # -- numbers as matrices -------------------------------------------------------------------

    def n(self, value: float) -> str:
        return fixed(value, self.decimals)

    def matrix(self, rows: int, columns: int, entry) -> str:
        return bmatrix(rows, columns, entry, self.most)

    def laid(self, names, rows: int, columns: int, record: str = "values", transpose: bool = False) -> str:
        """The names' recorded values (or adjoints) laid out row by row as a rows x columns matrix; with
        transpose, that matrix's transpose."""
        table = getattr(self.trace, record)
        if transpose:
            return self.matrix(columns, rows, lambda i, j: self.n(table[names[j * columns + i]]))
        return self.matrix(rows, columns, lambda i, j: self.n(table[names[i * columns + j]]))

    def column(self, names, record: str = "values") -> str:
        return self.laid(names, len(names), 1, record)

    def tensor(self, tensor, transpose: bool = False, record: str = "initial") -> str:
        """A parameter tensor as a matrix (a vector as a column; a kernel (O, C, ...) as O rows), its initial
        values or its gradient for the sample shown (record "adjoints") or the batch's ("gradient")."""
        rows = tensor.shape[0]
        columns = len(tensor.names) // rows
        if record == "adjoints":
            value = lambda name: self.n(self.trace.adjoints[name])
        else:
            value = lambda name: self.n(getattr(self.solution.parameters[name], record))
        if transpose:
            return self.matrix(columns, rows, lambda i, j: value(tensor.names[j * columns + i]))
        return self.matrix(rows, columns, lambda i, j: value(tensor.names[i * columns + j]))

    def grids(self, symbol: str, names, shape: tuple, record: str, anchor: str) -> list:
        """A grid a channel at a time (a vector as one column): symbol_c = [matrix], or with record "adjoints"
        dL/dsymbol_c = [matrix]."""
        table = getattr(self.trace, record)
        found = []
        for c, (start, rows, columns) in enumerate(channels(shape), 1):
            lhs = symbol + (f"_{{{c}}}" if len(shape) > 1 else "")
            lhs = self.gradient_of(lhs) if record == "adjoints" else lhs
            found.append(chain(lhs, [grid_matrix(names, start, rows, columns, lambda name: self.n(table[name]),
                                                 self.decimals)], f"{anchor}-{c}"))
        return found

    def gradient_of(self, symbol: str) -> str:
        return rf"\frac{{\partial {name_latex(self.loss)}}}{{\partial {symbol}}}"

    def writes_input(self, layer: KindsLayer) -> bool:
        return layer.number > 1 or self.inputs

    def batch_means(self, layer: KindsLayer) -> list:
        """With a batch, each tensor's gradient as the batch's mean of the samples' gradients (the records)."""
        if self.batch == 1 or not layer.tensors:
            return []
        blocks: list = [Paragraph((f"The batch's gradients are the means of the {self.batch} samples' gradients:",))]
        for tensor in layer.tensors:
            symbol = self.tensor_symbol(tensor)
            blocks.append(chain(self.gradient_of(symbol), [self.tensor(tensor, record="gradient")],
                                f"mk{layer.number}-mean-{tensor.name}"))
        return blocks

    def tensor_symbol(self, tensor) -> str:
        return name_latex(tensor.name)

    # -- the document ------------------------------------------------------------------------

    def document(self, course: Document) -> Document:
        sections = []
        for section in course.sections:
            if section.anchor in ("forward", "backward"):
                section = self.replaced(section)
            elif section.anchor == "update":
                section = KindsUpdate(self, self.step).update_section()
            sections.append(section)
        which = f" (sample {self.k + 1} of {self.batch}; the others go the same way)" if self.batch > 1 else ""
        form = Paragraph(("Written in matrix form: vectors are columns, a layer's outputs are worked out at once as "
                          f"products of matrices with the numbers in them{which}. A convolution is a product over "
                          "its unfolded patches (one column per output position).",))
        return Document(course.title, course.summary + (form,), tuple(sections))

    def replaced(self, section: Section) -> Section:
        """The course-style forward or backward section with each layer's subsection written in matrices where
        this module writes its kind."""
        forward = section.anchor == "forward"
        blocks = []
        for block in section.blocks:
            number = _layer_number(block, section.anchor)
            if number is not None:
                layer = self.layers[number - 1]
                body = self.forward(layer) if forward else self.backward(layer)
                if body is not None:
                    block = Section(block.title, block.anchor, tuple(body), block.level, block.in_contents)
            blocks.append(block)
        return Section(section.title, section.anchor, tuple(blocks), section.level, section.in_contents)

    def forward(self, layer: KindsLayer) -> list | None:
        writer = self.writers(layer)
        return writer[0](layer) if writer else None

    def backward(self, layer: KindsLayer) -> list | None:
        writer = self.writers(layer)
        if not writer or writer[1] is None:
            return None
        return writer[1](layer) + self.batch_means(layer)

    def writers(self, layer: KindsLayer) -> tuple | None:
        kind = layer.type
        if kind.startswith("conv"):
            return self.conv_forward, self.conv_backward
        if "pool" in kind:
            return self.pool_forward, self.pool_backward
        if kind == "flatten":
            return self.flatten_forward, self.flatten_backward
        if kind == "dense":
            return self.dense_forward, self.dense_backward
        return None

    # -- activation ----------------------------------------------------------------------------

    def activation_forward(self, layer: KindsLayer, pre: str, post: str, rows: int, columns: int) -> list:
        if not layer.activated:
            return []
        op = OPS[layer.layer.activation]
        f = layer.layer.activation
        return [Paragraph((f"The activation, {op.activation_words or op.words}"
                           + (":" if op.multi_output else ", on each entry:"),)),
                chain(post, [applied(f, layer.layer.params, pre),
                             applied(f, layer.layer.params, self.laid(layer.pre, rows, columns)),
                             self.laid(layer.post, rows, columns)], f"mk{layer.number}-post")]

    def delta_chain(self, layer: KindsLayer, rows: int, columns: int) -> list:
        """delta = dL/d(output before the activation): dL/dA (.) f'(Z) for an activation on each entry."""
        n = layer.number
        delta = rf"\delta^{{[{n}]}}"
        adjoints = self.laid(layer.pre, rows, columns, "adjoints")
        if not layer.activated:
            return [chain(delta, [self.gradient_of(self.symbol_of(layer.pre)), adjoints], f"mk{n}-delta")]
        op = OPS[layer.layer.activation]
        post, pre = self.symbol_of(layer.post), self.symbol_of(layer.pre)
        if op.multi_output:
            return [Paragraph((f"Through the {op.words}, whose outputs each depend on every entry, as the loss "
                               "section's chain rule gives:",)),
                    chain(delta, [self.gradient_of(pre), adjoints], f"mk{n}-delta")]
        derivative = self.matrix(rows, columns, lambda i, j: self.n(
            self.trace.partials[layer.post[i * columns + j]][layer.pre[i * columns + j]]))
        return [chain(delta, [rf"{self.gradient_of(post)} \odot f'({pre})",
                              rf"{self.laid(layer.post, rows, columns, 'adjoints')} \odot {derivative}", adjoints],
                      f"mk{n}-delta")]

    def symbol_of(self, names) -> str:
        """The symbol of a layer's grid of nodes, from its first name: z1[1,1,1] -> Z^{[1]}, o[1] -> o."""
        name = names[0]
        if name.count(",") == 0:
            return name_latex(name).rsplit("_{", 1)[0]
        return grid_symbol(name)

    # -- dense -----------------------------------------------------------------------------------

    def dense_forward(self, layer: KindsLayer) -> list:
        n = layer.number
        weights = layer.tensors[0]
        bias = layer.tensors[1] if len(layer.tensors) > 1 else None
        x, h, y = self.symbol_of(layer.inputs), self.symbol_of(layer.pre), self.symbol_of(layer.post)
        x = x if len(layer.inputs[0].split(",")) == 1 else rf"\operatorname{{vec}}({x})"
        symbols = f"W^{{[{n}]}} {x}" + (f" + b^{{[{n}]}}" if bias else "")
        numbers = f"{self.tensor(weights)} {self.column(layer.inputs)}" + (f" + {self.tensor(bias)}" if bias else "")
        blocks: list = [Paragraph(("All units at once, as the dense matrix form: ",
                                   Math(f"W^{{[{n}]}}"), " has a row per unit and a column per input.",)),
                        chain(h, [symbols, numbers, self.column(layer.pre)], f"mk{n}-pre")]
        return blocks + self.activation_forward(layer, h, y, len(layer.pre), 1)

    def dense_backward(self, layer: KindsLayer) -> list:
        n = layer.number
        weights = layer.tensors[0]
        bias = layer.tensors[1] if len(layer.tensors) > 1 else None
        delta = rf"\delta^{{[{n}]}}"
        x = self.symbol_of(layer.inputs)
        x = x if len(layer.inputs[0].split(",")) == 1 else rf"\operatorname{{vec}}({x})"
        blocks = self.delta_chain(layer, len(layer.pre), 1)
        blocks.append(chain(self.gradient_of(f"W^{{[{n}]}}"), [
            rf"{delta} {transposed(x)}",
            f"{self.column(layer.pre, 'adjoints')} {self.laid(layer.inputs, len(layer.inputs), 1, transpose=True)}",
            self.tensor(weights, record="adjoints")], f"mk{n}-dW"))
        if bias:
            blocks.append(chain(self.gradient_of(f"b^{{[{n}]}}"), [delta, self.tensor(bias, record="adjoints")],
                                f"mk{n}-db"))
        if self.writes_input(layer):
            blocks.append(chain(self.gradient_of(x), [
                rf"W^{{[{n}]\top}} {delta}",
                f"{self.tensor(weights, transpose=True)} {self.column(layer.pre, 'adjoints')}",
                self.column(layer.inputs, "adjoints")], f"mk{n}-dx"))
        return blocks

    # -- flatten ----------------------------------------------------------------------------------

    def flatten_forward(self, layer: KindsLayer) -> list:
        shape = layer.layer.shape_in
        a = self.symbol_of(layer.inputs)
        return [Paragraph(("The grid listed in C order (channel, then row, then column) as one column, ",
                           Math(r"\operatorname{vec}"), "; no number changes:")),
                chain(rf"\operatorname{{vec}}({a})", [self.column(layer.inputs)], f"mk{layer.number}-vec")] \
            if len(shape) > 1 else []

    def flatten_backward(self, layer: KindsLayer) -> list:
        a = self.symbol_of(layer.inputs)
        shape = layer.layer.shape_in
        return [Paragraph(("The gradient of the column put back in the grid's shape, ",
                           Math(r"\operatorname{vec}^{-1}"), ":")),
                *self.grids(a, layer.inputs, shape, "adjoints", f"mk{layer.number}-dA")]


def _layer_number(block, section: str) -> int | None:
    """The layer a course-style subsection is of (forward-layer-3 -> 3), or None for any other block."""
    prefix = f"{section}-layer-"
    anchor = getattr(block, "anchor", None)
    if isinstance(block, Section) and anchor and anchor.startswith(prefix) and anchor[len(prefix):].isdigit():
        return int(anchor[len(prefix):])
    return None
