"""The matrix form of convolutions and pooling in a network of layer kinds (derivation_matrix_kinds_grids.py puts
them with the other kinds):

    conv       Z = K X~ + b 1^T over the unfolded patches X~ (im2col: one column per output position, one
               row per kernel entry), dL/dK = delta X~^T, dL/dX~ = K^T delta folded back (col2im) into dL/dX
    pooling    the windows unfolded as columns (A~), P their largest entry or their mean; the gradient routed
               back by the matrix of each window's local partials, then folded back into the grid

Every number is a record; a product is written with its factors and the recorded result.
"""

from __future__ import annotations

from itertools import product

from .derivation_backward import chain
from .derivation_kinds_grids import KindsLayer, by_maximum
from .document import Math, Paragraph
from .mathtex import name_latex
from .matrices import transposed
from .numbers import given


class ConvPoolMatrices:
    """Mixed into MatrixKinds: uses its trace, matrix, laid, tensor, grids, delta_chain, symbol_of."""

    # -- convolution ----------------------------------------------------------------------------

    def conv_geometry(self, layer: KindsLayer):
        """(rows of X~ as (channel, kernel offset), columns as output positions, entry(row, column) -> the input
        name under it or None in the padding)."""
        settings = dict(layer.layer.settings)
        kernel, stride, padding = settings["kernel"], settings["stride"], settings["padding"]
        shape_in, shape_out = layer.layer.shape_in, layer.layer.shape_out
        sizes, outs = shape_in[1:], shape_out[1:]
        rows = [(c, off) for c in range(shape_in[0]) for off in product(*(range(k) for k in kernel))]
        columns = list(product(*(range(o) for o in outs)))
        plane = 1
        for size in sizes:
            plane *= size

        def name(r: int, col: int):
            c, off = rows[r]
            at = [s * p + i - pad for s, p, i, pad in zip(stride, columns[col], off, padding)]
            if any(not 0 <= a < size for a, size in zip(at, sizes)):
                return None
            flat = 0
            for a, size in zip(at, sizes):
                flat = flat * size + a
            return layer.inputs[c * plane + flat]
        return rows, columns, name

    def patches(self, layer: KindsLayer, transpose: bool = False, names: bool = False) -> str:
        rows, columns, name = self.conv_geometry(layer)

        def entry(r, col):
            found = name(r, col)
            if found is None:
                return "0"
            return name_latex(found) if names else self.n(self.trace.values[found])
        if transpose:
            return self.matrix(len(columns), len(rows), lambda i, j: entry(j, i))
        return self.matrix(len(rows), len(columns), entry)

    def conv_forward(self, layer: KindsLayer) -> list:
        n = layer.number
        rows, columns, _ = self.conv_geometry(layer)
        channels_out = layer.layer.shape_out[0]
        kernel, bias = layer.tensors[0], (layer.tensors[1] if len(layer.tensors) > 1 else None)
        x, z = self.symbol_of(layer.inputs), self.symbol_of(layer.pre)
        patches = rf"\tilde{{{x}}}^{{[{n}]}}" if "^" not in x else rf"\tilde{{{x.split('^')[0]}}}^{{[{n}]}}"
        self_k = f"K^{{[{n}]}}"
        blocks: list = [Paragraph(("The input's patches unfolded (im2col): ", Math(patches), f" has a column for "
                                   f"each of the {len(columns)} output positions (row by row) and a row for each of "
                                   f"the {len(rows)} entries under the kernel (channel, then kernel row, then column), "
                                   "0 where the kernel lies on the padding:")),
                        chain(patches, [self.patches(layer, names=True), self.patches(layer)], f"mk{n}-patches"),
                        Paragraph(("The kernel as a matrix, ", Math(self_k), ", one row per output channel ("
                                   f"{channels_out}), its entries in the same order; the convolution is then one "
                                   "product, the bias added to every column:",)),
                        chain(z, [f"{self_k} {patches}" + (rf" + b^{{[{n}]}} \mathbf{{1}}^\top" if bias else ""),
                                  f"{self.tensor(kernel)} {self.patches(layer)}" +
                                  (rf" + {self.tensor(bias)} \mathbf{{1}}^\top" if bias else ""),
                                  self.laid(layer.pre, channels_out, len(columns))], f"mk{n}-pre"),
                        Paragraph(("Row ", Math("o"), " of ", Math(z), " is feature map ", Math("o"),
                                   ", its positions row by row.",))]
        return blocks + self.activation_forward(layer, z, self.symbol_of(layer.post), channels_out, len(columns))

    def conv_backward(self, layer: KindsLayer) -> list:
        n = layer.number
        rows, columns, _ = self.conv_geometry(layer)
        channels_out = layer.layer.shape_out[0]
        kernel, bias = layer.tensors[0], (layer.tensors[1] if len(layer.tensors) > 1 else None)
        x = self.symbol_of(layer.inputs)
        patches = rf"\tilde{{{x.split('^')[0]}}}^{{[{n}]}}"
        delta = rf"\delta^{{[{n}]}}"
        deltas = self.laid(layer.pre, channels_out, len(columns), "adjoints")
        blocks = self.delta_chain(layer, channels_out, len(columns))
        blocks.append(Paragraph(("Every position used the same kernel, so its gradient sums over the columns, one "
                                 "product:",)))
        blocks.append(chain(self.gradient_of(f"K^{{[{n}]}}"), [
            rf"{delta} {transposed(patches)}", f"{deltas} {self.patches(layer, transpose=True)}",
            self.tensor(kernel, record="adjoints")], f"mk{n}-dK"))
        if bias:
            blocks.append(chain(self.gradient_of(f"b^{{[{n}]}}"), [
                rf"{delta} \mathbf{{1}}", self.tensor(bias, record="adjoints")], f"mk{n}-db"))
        if self.writes_input(layer):
            blocks.append(Paragraph(("The patches' gradient is ", Math(rf"K^{{[{n}]\top}} {delta}"), "; folded back "
                                     "(col2im), each input entry gathers the entries of the columns it was copied "
                                     "into:",)))
            blocks.append(chain(self.gradient_of(patches), [
                rf"K^{{[{n}]\top}} {delta}", f"{self.tensor(kernel, transpose=True)} {deltas}"], f"mk{n}-dpatches"))
            blocks += self.grids(x, layer.inputs, layer.layer.shape_in, "adjoints", f"mk{n}-dX")
        return blocks

    # -- pooling -----------------------------------------------------------------------------------

    def windows(self, layer: KindsLayer):
        """(window offsets, entry(offset row, output column) -> the input name), the columns being the outputs
        in C order."""
        settings = dict(layer.layer.settings)
        kernel, stride = settings["kernel"], settings["stride"]
        shape_in, shape_out = layer.layer.shape_in, layer.layer.shape_out
        sizes, outs = shape_in[1:], shape_out[1:]
        offsets = list(product(*(range(k) for k in kernel)))
        positions = [(c, p) for c in range(shape_out[0]) for p in product(*(range(o) for o in outs))]
        plane = 1
        for size in sizes:
            plane *= size

        def name(r: int, col: int) -> str:
            c, p = positions[col]
            flat = 0
            for s, q, i, size in zip(stride, p, offsets[r], sizes):
                flat = flat * size + s * q + i
            return layer.inputs[c * plane + flat]
        return offsets, name

    def pool_forward(self, layer: KindsLayer) -> list:
        n = layer.number
        offsets, name = self.windows(layer)
        outputs = len(layer.pre)
        a, p = self.symbol_of(layer.inputs), self.symbol_of(layer.pre)
        unfolded = rf"\tilde{{{a.split('^')[0]}}}^{{[{n}]}}"
        blocks: list = [Paragraph(("Each window unfolded as a column of ", Math(unfolded), f" (one per output, "
                                   f"{outputs}, channel by channel), a row per place in the window ({len(offsets)}):",)),
                        chain(unfolded, [self.matrix(len(offsets), outputs, lambda i, j: name_latex(name(i, j))),
                                         self.matrix(len(offsets), outputs,
                                                     lambda i, j: self.n(self.trace.values[name(i, j)]))],
                              f"mk{n}-windows")]
        row = self.laid(layer.pre, 1, outputs)
        if by_maximum(layer.type):
            blocks.append(Paragraph(("The pooled outputs, each column's largest entry, as a row:",)))
            blocks.append(chain(rf"\operatorname{{vec}}({p})^\top", [rf"\max_{{\text{{column}}}} {unfolded}", row],
                                f"mk{n}-pre"))
        else:
            blocks.append(Paragraph(("The pooled outputs, each column's mean, as a row:",)))
            blocks.append(chain(rf"\operatorname{{vec}}({p})^\top", [
                rf"\frac{{1}}{{{len(offsets)}}} \mathbf{{1}}^\top {unfolded}", row], f"mk{n}-pre"))
        blocks.append(Paragraph(("Put back in the grid's shape:",)))
        return blocks + self.grids(p, layer.pre, layer.layer.shape_out, "values", f"mk{n}-grid")

    def pool_backward(self, layer: KindsLayer) -> list:
        n = layer.number
        offsets, name = self.windows(layer)
        outputs = len(layer.pre)
        a, p = self.symbol_of(layer.inputs), self.symbol_of(layer.pre)
        unfolded = rf"\tilde{{{a.split('^')[0]}}}^{{[{n}]}}"
        deltas = self.laid(layer.pre, 1, outputs, "adjoints")
        blocks: list = [chain(rf"\delta^{{[{n}]\top}}", [rf"\left({self.gradient_of(p)}\right)^\top", deltas], f"mk{n}-delta")]
        if by_maximum(layer.type):
            def routed(i: int, j: int) -> str:
                partials = self.trace.partials.get(layer.pre[j], {})
                return given(partials.get(name(i, j), 1.0 if len(offsets) == 1 else 0.0))
            blocks.append(Paragraph(("Each column's largest entry takes its output's gradient and the others "
                                     "none: the routing matrix ", Math("R"), " holds each window's local partials "
                                     "(1 at the largest, the first where tied, as PyTorch):",)))
            blocks.append(chain("R", [self.matrix(len(offsets), outputs, routed)], f"mk{n}-routing"))
            blocks.append(chain(self.gradient_of(unfolded), [rf"R \odot \left(\mathbf{{1}} \delta^{{[{n}]\top}}"
                                                             r"\right)"]))
        else:
            blocks.append(Paragraph(("Each window's entries share its output's gradient equally:",)))
            blocks.append(chain(self.gradient_of(unfolded), [
                rf"\frac{{1}}{{{len(offsets)}}} \mathbf{{1}} \delta^{{[{n}]\top}}"]))
        blocks.append(Paragraph(("Folded back into the grid (col2im), an entry in several windows gathering their "
                                 "shares:",)))
        blocks += self.grids(a, layer.inputs, layer.layer.shape_in, "adjoints", f"mk{n}-dA")
        return blocks
