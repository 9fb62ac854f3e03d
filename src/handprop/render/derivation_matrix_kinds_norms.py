"""A layer norm's backward pass and dropout in matrix form, a row per token (derivation_matrix_kinds_more.py writes
the layer norm's forward pass).

    layernorm  dL/dX^ = dL/dN (.) 1 gamma^T; per row, the variance's term through r = 1/sqrt(sigma^2 + eps),
               dL/dr = (dL/dX^ (.) D) 1 and dL/dsigma^2 = dL/dr (.) dr/dsigma^2; the deviations D = X - mu 1^T,
               dL/dD = dL/dX^ (.) r 1^T + (2/N) (dL/dsigma^2 1^T) (.) D; the mean's term dL/dmu = -dL/dD 1;
               dL/dX = dL/dD + (1/N) dL/dmu 1^T; dL/dgamma^T = 1^T (dL/dN (.) X^), dL/dbeta^T = 1^T dL/dN
    dropout    Y = X (.) M / (1 - p), M the given mask;  dL/dX = dL/dY (.) M / (1 - p)

The deviations, the statistics and r are nodes of the program (problem/kinds/norms.py), so each line ends on a
record; a product is written with its factors.
"""

from __future__ import annotations

import math

from ..problem.kinds import KINDS
from .derivation_backward import chain
from .derivation_kinds_grids import KindsLayer
from .document import Math, Paragraph


def _renamed(names, base: str) -> list[str]:
    """The same entries of another node: n2[1,3] -> xhat2[1,3] with base "xhat2"."""
    return [base + name[name.index("["):] for name in names]


def _rows(shape: tuple) -> tuple[int, int]:
    """A grid laid out as a matrix: its last axis the columns, the others the rows (a vector as one column)."""
    if len(shape) == 1:
        return shape[0], 1
    return math.prod(shape[:-1]), shape[-1]


class NormMatrices:
    """Mixed into the matrix form of a stack: uses its trace, laid, column, tensor, delta_chain and gradient_of."""

    def layernorm_backward(self, layer: KindsLayer) -> list | None:
        n = layer.number
        shape = layer.layer.shape_in
        if len(shape) > 2 or dict(layer.layer.settings).get("axes", 1) != 1:
            return None
        rows, columns = (shape[0], shape[-1]) if len(shape) == 2 else (1, shape[0])
        grid = lambda names, record="values": self.laid(names, rows, columns, record)  # noqa: E731
        vector = lambda base, record="values": self.column(  # noqa: E731
            [f"{base}{n}[{t}]" for t in range(1, rows + 1)], record)
        N = self.symbol_of(layer.pre)
        gamma, beta = (layer.tensors + (None, None))[:2]
        xhat = _renamed(layer.pre, f"xhat{n}") if gamma is not None else list(layer.pre)
        deviations = _renamed(layer.pre, f"d{n}")
        d = self.gradient_of
        dxhat, dvar, dmu = d(r"\hat X"), d(r"\sigma^2"), d(r"\mu")
        blocks: list = self.delta_chain(layer, rows, columns)
        if gamma is not None:
            blocks.append(chain(d(r"\hat X"), [rf"{d(N)} \odot \mathbf{{1}} \gamma^\top",
                                               rf"{grid(layer.pre, 'adjoints')} \odot \mathbf{{1}} "
                                               f"{self.tensor(gamma, transpose=True)}", grid(xhat, "adjoints")],
                                f"mk{n}-dxhat"))
        blocks.append(Paragraph(("Then a row's statistics, an entry per row: through ",
                                 Math(r"r = 1/\sqrt{\sigma^2 + \epsilon}"), " the variance's term (",
                                 Math(r"\frac{\partial r}{\partial \sigma^2} = -\tfrac{1}{2}(\sigma^2 + \epsilon)^{-3/2}"),
                                 ", recorded), with the deviations ", Math(r"D = X - \mu \mathbf{1}^\top"), ":")))
        blocks.append(chain(d("r"), [rf"\left({dxhat} \odot D\right) \mathbf{{1}}",
                                     rf"\left({grid(xhat, 'adjoints')} \odot {grid(deviations)}\right) \mathbf{{1}}",
                                     vector("rstd", "adjoints")], f"mk{n}-drstd"))
        slopes = self.matrix(rows, 1, lambda i, j: self.n(self.trace.partials[f"rstd{n}[{i + 1}]"][f"var{n}[{i + 1}]"]))
        blocks.append(chain(d(r"\sigma^2"), [rf"{d('r')} \odot \frac{{\partial r}}{{\partial \sigma^2}}",
                                             rf"{vector('rstd', 'adjoints')} \odot {slopes}",
                                             vector("var", "adjoints")], f"mk{n}-dvar"))
        blocks.append(Paragraph(("Each deviation is read by ", Math(r"\hat X"), " and by the variance, ",
                                 Math(rf"\sigma^2 = \frac{{1}}{{{columns}}} (D \odot D) \mathbf{{1}}"), ":")))
        blocks.append(chain(d("D"), [
            rf"{dxhat} \odot \left(r \mathbf{{1}}^\top\right) + \frac{{2}}{{{columns}}} \left({dvar} "
            r"\mathbf{1}^\top\right) \odot D",
            # the two grids as shown above, the vectors with their numbers: a line of three grids is too wide
            rf"{dxhat} \odot \left({vector('rstd')} \mathbf{{1}}^\top\right) + \frac{{2}}{{{columns}}} "
            rf"\left({vector('var', 'adjoints')} \mathbf{{1}}^\top\right) \odot D",
            grid(deviations, "adjoints")], f"mk{n}-dd"))
        blocks.append(chain(d(r"\mu"), [rf"-{d('D')} \mathbf{{1}}", rf"-{grid(deviations, 'adjoints')} \mathbf{{1}}",
                                        vector("mu", "adjoints")], f"mk{n}-dmu"))
        if self.writes_input(layer):
            blocks.append(chain(d("X"), [rf"{d('D')} + \frac{{1}}{{{columns}}} {dmu} \mathbf{{1}}^\top",
                                         rf"{grid(deviations, 'adjoints')} + \frac{{1}}{{{columns}}} "
                                         rf"{vector('mu', 'adjoints')} \mathbf{{1}}^\top",
                                         grid(layer.inputs, "adjoints")], f"mk{n}-dx"))
        if gamma is not None:
            blocks.append(Paragraph(("The scale and the shift, each a sum over the rows:",)))
            blocks.append(chain(d(r"\gamma^\top"), [rf"\mathbf{{1}}^\top \left({d(N)} \odot \hat X\right)",
                                                    rf"\mathbf{{1}}^\top \left({grid(layer.pre, 'adjoints')} \odot "
                                                    rf"{grid(xhat)}\right)",
                                                    self.tensor(gamma, transpose=True, record="adjoints")],
                                f"mk{n}-dgamma"))
            blocks.append(chain(d(r"\beta^\top"), [rf"\mathbf{{1}}^\top {d(N)}",
                                                   rf"\mathbf{{1}}^\top {grid(layer.pre, 'adjoints')}",
                                                   self.tensor(beta, transpose=True, record="adjoints")],
                                f"mk{n}-dbeta"))
        return blocks

    # -- dropout -------------------------------------------------------------------------------------

    def dropout_parts(self, layer: KindsLayer):
        rows, columns = _rows(layer.layer.shape_in)
        masks = list(KINDS[layer.type].data_names(layer.layer, layer.number))
        keep = 1 - layer.layer.setting("p")
        return rows, columns, masks, f"{keep:g}"

    def dropout_forward(self, layer: KindsLayer) -> list:
        rows, columns, masks, keep = self.dropout_parts(layer)
        x, y = self.symbol_of(layer.inputs), self.symbol_of(layer.pre)
        grid = lambda names: self.laid(names, rows, columns)  # noqa: E731
        return [Paragraph(("Each entry kept (1 in the mask ", Math("M"), ") or dropped (0), the kept ones scaled by ",
                           Math(rf"1/(1 - p) = 1/{keep}"), " so that the mean is unchanged:")),
                chain(y, [rf"{x} \odot M / (1 - p)", rf"{grid(layer.inputs)} \odot {grid(masks)} / {keep}",
                          grid(layer.pre)], f"mk{layer.number}-pre")]

    def dropout_backward(self, layer: KindsLayer) -> list:
        rows, columns, masks, keep = self.dropout_parts(layer)
        x, y = self.symbol_of(layer.inputs), self.symbol_of(layer.pre)
        grid = lambda names, record="values": self.laid(names, rows, columns, record)  # noqa: E731
        blocks = [chain(self.gradient_of(y), [grid(layer.pre, "adjoints")], f"mk{layer.number}-dy")]
        if self.writes_input(layer):
            blocks.append(Paragraph(("The gradient passes through the kept entries only, scaled as they were:",)))
            blocks.append(chain(self.gradient_of(x), [rf"{self.gradient_of(y)} \odot M / (1 - p)",
                                                      rf"{grid(layer.pre, 'adjoints')} \odot {grid(masks)} / {keep}",
                                                      grid(layer.inputs, "adjoints")], f"mk{layer.number}-dx"))
        return blocks
