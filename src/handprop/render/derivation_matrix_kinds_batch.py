"""The matrix form of a network with batch-norm: the whole batch as one matrix (derivation_kinds_batch.py finds the
layers over the batch, batch_layers; its course-style form is the one this replaces a layer at a time).

    batchnorm  X with a row per sample (and position, for a grid) and a column per channel (M rows);
               mu = (1/M) X^T 1,  D = X - 1 mu^T,  sigma^2 = (1/M) (D (.) D)^T 1 (the biased variance),
               r = 1/sqrt(sigma^2 + eps),  X^ = D (.) 1 r^T,  N = X^ (.) 1 gamma^T + 1 beta^T;
               backward dL/dgamma = (dL/dN (.) X^)^T 1, dL/dbeta = (dL/dN)^T 1, dL/dX^ = dL/dN (.) 1 gamma^T,
               dL/dr = (dL/dX^ (.) D)^T 1, dL/dsigma^2 = dL/dr (.) dr/dsigma^2 (recorded),
               dL/dD = dL/dX^ (.) 1 r^T + (2/M) (1 dL/dsigma^2^T) (.) D, dL/dmu = -(dL/dD)^T 1,
               dL/dX = dL/dD + (1/M) 1 dL/dmu^T; the running statistics after the step as vectors
    dense      H = A W^T + 1 b^T over the batch (a row per sample), its activation (the matrix form's own);
               dL/dW = Delta^T A, dL/db = Delta^T 1, dL/dA = Delta W
    flatten    each sample's grid in C order as its row

A layer of another kind keeps its course-style subsection. The loss per sample is the course-style form's, then
their mean as a product. Every number is a record; a product is written with its factors and the recorded result.
"""

from __future__ import annotations

import math

from ..problem.kinds import KINDS
from ..problem.kinds.norms import BatchNorm
from .derivation_backward import chain
from .derivation_kinds_batch import BatchLayer, batch_layers, running_intro
from .derivation_matrix_kinds_more import MatrixKindsMore
from .derivation_matrix_kinds_update import KindsUpdate
from .document import Document, Math, Paragraph, Section
from .matrices import bmatrix, transposed
from .numbers import given

__all__ = ["MatrixKindsBatch", "batch_layers"]


def _renamed(names, base: str) -> list[str]:
    """The same entries of another node: n1[2,1] -> d1[2,1] with base "d1"."""
    return [base + name[name.index("["):] for name in names]


class MatrixKindsBatch(MatrixKindsMore):
    """The matrix form over the whole batch: the program holds every sample (one trace), each layer's names
    sample by sample."""

    def __init__(self, solution, layers: list[BatchLayer], decimals: int, inputs: bool, step: int | None = None):
        super().__init__(solution, layers, decimals, 0, inputs, step)
        self.samples = len(layers[0].samples)

    def writers(self, layer) -> tuple | None:
        if isinstance(KINDS[layer.type], BatchNorm):
            return self.batchnorm_forward, self.batchnorm_backward
        if layer.type == "dense":
            return self.batch_dense_forward, self.batch_dense_backward
        if layer.type == "flatten":
            return self.batch_flatten_forward, self.batch_flatten_backward
        return None

    def rows(self, names, record: str = "values", transpose: bool = False) -> str:
        """Names listed sample by sample as a matrix with a row per sample (or its transpose)."""
        return self.laid(names, self.samples, len(names) // self.samples, record, transpose)

    # -- the document ------------------------------------------------------------------------

    def document(self, course: Document) -> Document:
        sections = []
        for section in course.sections:
            if section.anchor in ("forward", "backward"):
                section = self.replaced(section)
            elif section.anchor == "loss":
                section = Section(section.title, section.anchor, section.blocks + tuple(self.mean_loss()),
                                  section.level, section.in_contents)
            elif section.anchor == "running":
                section = self.running_matrices(section)
            elif section.anchor == "update":
                section = KindsUpdate(self, self.step).update_section()
            sections.append(section)
        form = Paragraph(("Written in matrix form over the whole batch: a layer's values are a matrix with a row "
                          f"per sample (of the {self.samples}), worked out at once as products of matrices with the "
                          "numbers in them; vectors are columns, and ", Math(r"\mathbf{1}"), " is a column of ones.",))
        return Document(course.title, course.summary + (form,), tuple(sections))

    def mean_loss(self) -> list:
        losses = [f"L[{s}]" for s in range(1, self.samples + 1)]
        return [Paragraph(("As a product, with ", Math(r"\ell"), " the column of the samples' losses:",)),
                chain(self.loss, [rf"\frac{{1}}{{{self.samples}}} \mathbf{{1}}^\top \ell",
                                  rf"\frac{{1}}{{{self.samples}}} \mathbf{{1}}^\top {self.column(losses)}",
                                  self.n(self.trace.values[self.loss])], "mk-loss")]

    def output_gradient(self, layer) -> list:
        """The last layer's dL/dY: each sample's loss's recorded local partials, times dL/dL_s = 1/B."""
        names = layer.post
        width = len(names) // self.samples
        trace = self.trace
        local = [trace.partials[f"L[{i // width + 1}]"].get(name) for i, name in enumerate(names)]
        weight = trace.adjoints["L[1]"]
        symbol = self.symbol_of(names)
        if any(v is None for v in local) or any(trace.adjoints[f"L[{s}]"] != weight
                                                for s in range(1, self.samples + 1)):
            return [chain(self.gradient_of(symbol), [self.rows(names, "adjoints")], f"mk{layer.number}-dout")]
        partials = self.matrix(self.samples, width, lambda i, j: self.n(local[i * width + j]))
        return [Paragraph(("The loss's gradient on the outputs, a row per sample: each sample's loss's local "
                           "partials, times ", Math(rf"\partial L / \partial L_s = 1/{self.samples}"), ":",)),
                chain(self.gradient_of(symbol), [rf"\frac{{1}}{{{self.samples}}} \frac{{\partial \ell}}"
                                                 rf"{{\partial {symbol}}}", rf"{self.n(weight)} \cdot {partials}",
                                                 self.rows(names, "adjoints")], f"mk{layer.number}-dout")]

    # -- dense and flatten over the batch ----------------------------------------------------

    def batch_dense_forward(self, layer) -> list:
        n = layer.number
        weights = layer.tensors[0]
        bias = layer.tensors[1] if len(layer.tensors) > 1 else None
        a, h, y = self.symbol_of(layer.inputs), self.symbol_of(layer.pre), self.symbol_of(layer.post)
        symbols = f"{a} W^{{[{n}]\\top}}" + (rf" + \mathbf{{1}} b^{{[{n}]\top}}" if bias else "")
        numbers = f"{self.rows(layer.inputs)} {self.tensor(weights, transpose=True)}" + (
            rf" + \mathbf{{1}} {self.tensor(bias, transpose=True)}" if bias else "")
        blocks: list = [Paragraph(("Every sample and every unit at once: ", Math(a), " has a row per sample, ",
                                   Math(f"W^{{[{n}]}}"), " a row per unit, so ", Math(h),
                                   " has a row per sample and a column per unit.",)),
                        chain(h, [symbols, numbers, self.rows(layer.pre)], f"mk{n}-pre")]
        return blocks + self.activation_forward(layer, h, y, self.samples, len(layer.pre) // self.samples)

    def batch_dense_backward(self, layer) -> list:
        n, units = layer.number, len(layer.pre) // self.samples
        weights = layer.tensors[0]
        bias = layer.tensors[1] if len(layer.tensors) > 1 else None
        delta, a = rf"\delta^{{[{n}]}}", self.symbol_of(layer.inputs)
        blocks = self.output_gradient(layer) if layer.last else []
        blocks += self.delta_chain(layer, self.samples, units)
        blocks.append(Paragraph(("The gradients sum every sample's terms, ", Math(delta), " a row per sample:",)))
        blocks.append(chain(self.gradient_of(f"W^{{[{n}]}}"), [
            rf"{transposed(delta)} {a}", f"{self.rows(layer.pre, 'adjoints', transpose=True)} {self.rows(layer.inputs)}",
            self.tensor(weights, record="adjoints")], f"mk{n}-dW"))
        if bias:
            blocks.append(chain(self.gradient_of(f"b^{{[{n}]}}"), [
                rf"{transposed(delta)} \mathbf{{1}}", rf"{self.rows(layer.pre, 'adjoints', transpose=True)} \mathbf{{1}}",
                self.tensor(bias, record="adjoints")], f"mk{n}-db"))
        if self.writes_input(layer):
            blocks.append(chain(self.gradient_of(a), [
                rf"{delta} W^{{[{n}]}}", f"{self.rows(layer.pre, 'adjoints')} {self.tensor(weights)}",
                self.rows(layer.inputs, "adjoints")], f"mk{n}-dx"))
        return blocks

    def batch_flatten_forward(self, layer) -> list:
        return [Paragraph(("Each sample's grid listed in C order (channel, then position) as its row; no number "
                           "changes:",)),
                chain(rf"\operatorname{{vec}}({self.symbol_of(layer.inputs)})", [self.rows(layer.inputs)],
                      f"mk{layer.number}-vec")]

    def batch_flatten_backward(self, layer) -> list:
        return [Paragraph(("The gradient of each row, put back in its sample's grid (the same numbers):",)),
                chain(self.gradient_of(rf"\operatorname{{vec}}({self.symbol_of(layer.inputs)})"),
                      [self.rows(layer.inputs, "adjoints")], f"mk{layer.number}-dvec")]

    # -- batch normalisation -----------------------------------------------------------------

    def layout(self, layer):
        """The layer's M x C matrices (M = samples x positions): names -> a matrix, and per channel vectors."""
        shape = layer.layer.shape_in
        channels, per, size = shape[0], math.prod(shape[1:]), math.prod(shape)
        n = layer.number

        def grid(names, record: str = "values", transpose: bool = False) -> str:
            table = getattr(self.trace, record)
            at = lambda i, j: self.n(table[names[(i // per) * size + j * per + i % per]])  # noqa: E731
            if transpose:
                return self.matrix(channels, self.samples * per, lambda i, j: at(j, i))
            return self.matrix(self.samples * per, channels, at)

        def vector(base: str, record: str = "values", row: bool = False) -> str:
            names = [f"{base}{n}[{c}]" for c in range(1, channels + 1)]
            return self.laid(names, 1, channels, record) if row else self.column(names, record)

        return grid, vector, self.samples * per

    def batchnorm_forward(self, layer) -> list:
        n, shape = layer.number, layer.layer.shape_in
        grid, vector, m = self.layout(layer)
        x, out = self.symbol_of(layer.inputs), self.symbol_of(layer.pre)
        gamma, beta = (layer.tensors + (None, None))[:2]
        deviations = _renamed(layer.pre, f"d{n}")
        xhat = _renamed(layer.pre, f"xhat{n}") if gamma is not None else list(layer.pre)
        where = (" and position (a channel's positions one after another)" if len(shape) > 1 else "")
        blocks: list = [Paragraph((f"The batch as a matrix with a row per sample{where} and a column per channel, ",
                                   Math(f"M = {m}"), " rows; each channel is normalised with the mean and the biased "
                                   "variance of its column, ", Math(rf"\epsilon = {layer.layer.setting('eps'):g}"),
                                   ":")),
                        chain(x, [grid(layer.inputs)], f"mk{n}-x"),
                        chain(r"\mu", [rf"\frac{{1}}{{{m}}} {transposed(x)} \mathbf{{1}}",
                                       rf"\frac{{1}}{{{m}}} {grid(layer.inputs, transpose=True)} \mathbf{{1}}",
                                       vector("mu")], f"mk{n}-mu"),
                        chain("D", [rf"{x} - \mathbf{{1}} \mu^\top",
                                    rf"{grid(layer.inputs)} - \mathbf{{1}} {vector('mu', row=True)}",
                                    grid(deviations)], f"mk{n}-d"),
                        chain(r"\sigma^2", [rf"\frac{{1}}{{{m}}} (D \odot D)^\top \mathbf{{1}}",
                                            rf"\frac{{1}}{{{m}}} \left({grid(deviations, transpose=True)} "
                                            rf"\odot {grid(deviations, transpose=True)}\right) \mathbf{{1}}",
                                            vector("var")], f"mk{n}-var"),
                        chain("r", [r"1 / \sqrt{\sigma^2 + \epsilon}",
                                    rf"1 / \sqrt{{{vector('var')} + \epsilon}}",
                                    vector("rstd")], f"mk{n}-rstd"),
                        chain(r"\hat X" if gamma is not None else out,
                              [r"D \odot \mathbf{1} r^\top",
                               rf"{grid(deviations)} \odot \mathbf{{1}} {vector('rstd', row=True)}", grid(xhat)],
                              f"mk{n}-xhat")]
        if gamma is not None:
            blocks.append(chain(out, [r"\hat X \odot \mathbf{1} \gamma^\top + \mathbf{1} \beta^\top",
                                      rf"{grid(xhat)} \odot \mathbf{{1}} {self.tensor(gamma, transpose=True)} + "
                                      rf"\mathbf{{1}} {self.tensor(beta, transpose=True)}", grid(layer.pre)],
                                f"mk{n}-pre"))
        if layer.activated:
            if len(shape) > 1:
                blocks.append(Paragraph(("From here a row per sample, its entries in C order (channel, then "
                                         "position).",)))
            blocks += self.activation_forward(layer, out, self.symbol_of(layer.post), self.samples,
                                              len(layer.pre) // self.samples)
        return blocks

    def batchnorm_backward(self, layer) -> list:
        n, shape = layer.number, layer.layer.shape_in
        grid, vector, m = self.layout(layer)
        d = self.gradient_of
        x, out = self.symbol_of(layer.inputs), self.symbol_of(layer.pre)
        gamma, beta = (layer.tensors + (None, None))[:2]
        deviations = _renamed(layer.pre, f"d{n}")
        xhat = _renamed(layer.pre, f"xhat{n}") if gamma is not None else list(layer.pre)
        dxhat = d(r"\hat X") if gamma is not None else d(out)
        d_r = d("r")
        dvar, dmu, dd = d(r"\sigma^2"), d(r"\mu"), d("D")
        blocks: list = self.output_gradient(layer) if layer.last else []
        if layer.activated:
            blocks += self.delta_chain(layer, self.samples, len(layer.pre) // self.samples)
        blocks += [Paragraph(("Laid out again with a row per sample" + (" and position" if len(shape) > 1 else "") +
                              " and a column per channel:",)),
                   chain(d(out), [grid(layer.pre, "adjoints")], f"mk{n}-dy")]
        if gamma is not None:
            blocks += [Paragraph(("The scale and the shift, each a sum down the columns (over the batch" +
                                  (" and the positions" if len(shape) > 1 else "") + "):",)),
                       chain(d(r"\gamma"), [rf"\left({d(out)} \odot \hat X\right)^\top \mathbf{{1}}",
                                            rf"\left({grid(layer.pre, 'adjoints', True)} \odot "
                                            rf"{grid(xhat, transpose=True)}\right) \mathbf{{1}}",
                                            self.tensor(gamma, record="adjoints")], f"mk{n}-dgamma"),
                       chain(d(r"\beta"), [rf"\left({d(out)}\right)^\top \mathbf{{1}}",
                                           rf"{grid(layer.pre, 'adjoints', True)} \mathbf{{1}}",
                                           self.tensor(beta, record="adjoints")], f"mk{n}-dbeta"),
                       chain(d(r"\hat X"), [rf"{d(out)} \odot \mathbf{{1}} \gamma^\top",
                                            rf"{grid(layer.pre, 'adjoints')} \odot \mathbf{{1}} "
                                            rf"{self.tensor(gamma, transpose=True)}", grid(xhat, "adjoints")],
                             f"mk{n}-dxhat")]
        slopes = self.matrix(shape[0], 1, lambda i, j: self.n(self.trace.partials[f"rstd{n}[{i + 1}]"][f"var{n}[{i + 1}]"]))
        blocks += [Paragraph(("Then each channel's statistics, a vector with an entry per channel: through ",
                              Math(r"r = 1/\sqrt{\sigma^2 + \epsilon}"), " the variance's term (",
                              Math(r"\frac{\partial r}{\partial \sigma^2} = -\tfrac{1}{2}(\sigma^2 + \epsilon)^{-3/2}"),
                              ", recorded):")),
                   chain(d("r"), [rf"\left({dxhat} \odot D\right)^\top \mathbf{{1}}",
                                  rf"\left({grid(xhat, 'adjoints', True)} \odot {grid(deviations, transpose=True)}"
                                  r"\right) \mathbf{1}", vector("rstd", "adjoints")], f"mk{n}-drstd"),
                   chain(d(r"\sigma^2"), [rf"{d_r} \odot \frac{{\partial r}}{{\partial \sigma^2}}",
                                          rf"{vector('rstd', 'adjoints')} \odot {slopes}", vector("var", "adjoints")],
                         f"mk{n}-dvar"),
                   Paragraph(("Each deviation is read by ", Math(r"\hat X"), " and by the variance, ",
                              Math(rf"\sigma^2 = \frac{{1}}{{{m}}} (D \odot D)^\top \mathbf{{1}}"), ":")),
                   chain(d("D"), [rf"{dxhat} \odot \mathbf{{1}} r^\top + \frac{{2}}{{{m}}} \left(\mathbf{{1}} "
                                  rf"\left({dvar}\right)^\top\right) \odot D",
                                  # the two matrices as shown above, the vectors with their numbers
                                  rf"{dxhat} \odot \mathbf{{1}} {vector('rstd', row=True)} + \frac{{2}}{{{m}}} "
                                  rf"\left(\mathbf{{1}} {vector('var', 'adjoints', row=True)}\right) \odot D",
                                  grid(deviations, "adjoints")], f"mk{n}-dd"),
                   Paragraph(("The mean's term, and the input's gradient: every entry of a channel, in every sample, "
                              "moved its mean, so each one's gradient holds the whole batch's terms:",)),
                   chain(d(r"\mu"), [rf"-\left({dd}\right)^\top \mathbf{{1}}",
                                     rf"-{grid(deviations, 'adjoints', True)} \mathbf{{1}}", vector("mu", "adjoints")],
                         f"mk{n}-dmu"),
                   chain(d(x), [rf"{dd} + \frac{{1}}{{{m}}} \mathbf{{1}} \left({dmu}\right)^\top",
                                rf"{grid(deviations, 'adjoints')} + \frac{{1}}{{{m}}} \mathbf{{1}} "
                                rf"{vector('mu', 'adjoints', row=True)}", grid(layer.inputs, "adjoints")],
                         f"mk{n}-dx")]
        return blocks

    # -- the running statistics -----------------------------------------------------------------

    def running_matrices(self, section: Section) -> Section:
        blocks: list = [running_intro("M")]
        for layer in self.layers:
            if not isinstance(KINDS[layer.type], BatchNorm):
                continue
            n, m = layer.number, layer.layer.setting("momentum")
            _, vector, count = self.layout(layer)
            old = {key: bmatrix(len(values), 1, lambda i, j, v=values: given(v[i]))
                   for key in ("running_mean", "running_var") for values in [layer.layer.setting(key)]}
            blocks.append(Paragraph((f"Layer {n}: ", Math(f"m = {m:g}"), ", ", Math(f"M = {count}"),
                                     " values per channel; a vector with an entry per channel:")))
            blocks.append(chain(rf"\mu_{{\text{{run}}}}^{{[{n}]\prime}}", [
                rf"m \mu + (1 - m) \mu_{{\text{{run}}}}^{{[{n}]}}",
                rf"{m:g} {vector('mu')} + {1 - m:g} {old['running_mean']}", vector("rmean")], f"mk{n}-rmean"))
            blocks.append(chain(rf"\sigma^{{2\,[{n}]\prime}}_{{\text{{run}}}}", [
                rf"m \frac{{M}}{{M - 1}} \sigma^2 + (1 - m) \sigma^{{2\,[{n}]}}_{{\text{{run}}}}",
                rf"{m:g} \cdot \frac{{{count}}}{{{count - 1}}} {vector('var')} + {1 - m:g} {old['running_var']}",
                vector("rvar")], f"mk{n}-rvar"))
        return Section(section.title, section.anchor, tuple(blocks), section.level, section.in_contents)
