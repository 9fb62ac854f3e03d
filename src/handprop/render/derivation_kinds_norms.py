"""Layer normalisation and dropout in a network of layer kinds' worked solution, as a course writes them
(problem/kinds/norms.py names the nodes: mu, d, var, rstd, xhat per group of entries that share statistics).

Forward, group by group: mu = (1/N) sum x, sigma^2 = (1/N) sum (x - mu)^2 (biased), xhat = (x - mu) / sqrt(sigma^2 +
eps), y = gamma xhat + beta. Backward, the standard derivation through the variance and the mean:

    dL/dxhat = dL/dy (.) gamma          dL/dsigma^2 = sum dL/dxhat (x - mu) (-1/2) (sigma^2 + eps)^(-3/2)
    dL/dmu = -sum dL/dxhat / sqrt(sigma^2 + eps) + dL/dsigma^2 (-2/N) sum (x - mu)      (the last sum is 0)
    dL/dx = dL/dxhat / sqrt(sigma^2 + eps) + dL/dsigma^2 2 (x - mu) / N + dL/dmu / N
    dL/dgamma = sum dL/dy xhat,   dL/dbeta = sum dL/dy      (over the groups)

Dropout: m = x (.) mask / (1 - p), its gradient dL/dx = dL/dm (.) mask / (1 - p). Every number is a record's.
"""

from __future__ import annotations

from .derivation_backward import bracketed, chain
from .derivation_kinds_grids import written_sum
from .document import Math, Paragraph
from .mathtex import name_latex
from .matrices import bmatrix, side_limit


class NormWriting:
    """Mixed into the kinds builder (derivation_kinds.py): uses its g, trace, n, loss, node, writes_input."""

    def row_of(self, names, gradient: bool = False) -> str:
        source = self.trace.adjoints if gradient else self.trace.values
        return bmatrix(1, len(names), lambda i, j: self.n(source[names[j]]), side_limit(self.g.decimals))

    def norm_groups(self, layer) -> list[tuple[str, list[int]]]:
        """Each group's index (as mu{n}[g] names it) and its entries' positions in the layer's grid."""
        shape = layer.layer.shape_in
        lead = len(shape) - layer.layer.setting("axes")
        size = 1
        for k in shape[lead:]:
            size *= k
        count = len(layer.inputs) // size
        found = []
        for g in range(count):
            index = ",".join(str(int(i) + 1) for i in _unravel(g, shape[:lead])) or "1"
            found.append((index, list(range(g * size, (g + 1) * size))))
        return found

    def suffix(self, layer, position: int) -> str:
        return layer.inputs[position][layer.inputs[position].index("[") + 1:-1]

    def norm_statistics(self, g: str, xs: list, ds: list, xhat: list, mu: str, var: str, rstd: str,
                        row=None) -> list:
        """One group's mean, biased variance and xhat, its entries' inputs xs, deviations ds and xhat named; row(names)
        lays the entries out (a row, unless given)."""
        N, row = len(xs), row or self.row_of
        symbols, numbers = written_sum([(name_latex(x), bracketed(self.n(self.trace.values[x])), False) for x in xs])
        _, squares = written_sum([("", f"{bracketed(self.n(self.trace.values[d]))}^2", False) for d in ds])
        return [chain(rf"\mu_{{{g}}}", [rf"\frac{{1}}{{{N}}} \left({symbols}\right)",
                                        rf"\frac{{1}}{{{N}}} \left({numbers}\right)", self.n(self.trace.values[mu])]),
                chain(rf"\sigma^2_{{{g}}}", [rf"\frac{{1}}{{{N}}} \sum (x - \mu_{{{g}}})^2",
                                             rf"\frac{{1}}{{{N}}} \left({squares}\right)",
                                             self.n(self.trace.values[var])]),
                chain(rf"\hat{{x}}_{{{g}}}", [rf"\frac{{x - \mu_{{{g}}}}}{{\sqrt{{\sigma^2_{{{g}}} + \epsilon}}}}",
                                              rf"{row(ds)} \cdot {self.n(self.trace.values[rstd])}", row(xhat)])]

    def layernorm_forward(self, layer) -> list:
        n = layer.number
        eps = layer.layer.setting("eps")
        affine = layer.layer.setting("affine")
        blocks: list = [Paragraph(("Each token (each group of entries over the normalised axes) is normalised with its "
                                   "own mean and biased variance, ", Math(rf"\epsilon = {eps:g}"), ":"))]
        for g, positions in self.norm_groups(layer):
            xs = [layer.inputs[p] for p in positions]
            ds = [f"d{n}[{self.suffix(layer, p)}]" for p in positions]
            xhat = [f"xhat{n}[{self.suffix(layer, p)}]" for p in positions] if affine else \
                [layer.pre[p] for p in positions]
            blocks += self.norm_statistics(g, xs, ds, xhat, f"mu{n}[{g}]", f"var{n}[{g}]", f"rstd{n}[{g}]")
            if affine:
                gamma = [name for t in layer.tensors if t.name.startswith("gamma") for name in t.names]
                beta = [name for t in layer.tensors if t.name.startswith("beta") for name in t.names]
                blocks.append(chain(rf"y_{{{g}}}", [rf"\gamma \odot \hat{{x}}_{{{g}}} + \beta",
                                                    rf"{self.row_of(gamma)} \odot {self.row_of(xhat)} + "
                                                    rf"{self.row_of(beta)}",
                                                    self.row_of([layer.pre[p] for p in positions])]))
        return blocks

    def layernorm_backward(self, layer) -> list:
        n = layer.number
        affine = layer.layer.setting("affine")
        loss = name_latex(self.loss)
        d = lambda symbol: rf"\frac{{\partial {loss}}}{{\partial {symbol}}}"  # noqa: E731
        blocks: list = self.output_backward(layer)
        blocks.append(Paragraph(("Back through the normalisation, group by group: through ", Math(r"\hat{x}"),
                                 ", then the variance and the mean (each entry also moved them):",)))
        gamma = [name for t in layer.tensors if t.name.startswith("gamma") for name in t.names]
        for g, positions in self.norm_groups(layer):
            ys = [layer.pre[p] for p in positions]
            ds = [f"d{n}[{self.suffix(layer, p)}]" for p in positions]
            xhat = [f"xhat{n}[{self.suffix(layer, p)}]" for p in positions] if affine else ys
            mu, var, rstd = f"mu{n}[{g}]", f"var{n}[{g}]", f"rstd{n}[{g}]"
            blocks.append(chain(d(rf"y_{{{g}}}"), [self.row_of(ys, gradient=True)]))
            if affine:
                blocks.append(chain(d(rf"\hat{{x}}_{{{g}}}"), [
                    rf"{d(f'y_{{{g}}}')} \odot \gamma", rf"{self.row_of(ys, gradient=True)} \odot {self.row_of(gamma)}",
                    self.row_of(xhat, gradient=True)]))
            blocks += self.norm_group_backward(g, [layer.inputs[p] for p in positions], xhat, ds, mu, var, rstd,
                                               self.writes_input(layer))
        if affine:
            blocks += self.affine_gradients(layer, "groups")
        return blocks

    def affine_gradients(self, layer, over: str) -> list:
        """dL/dgamma = sum dL/dy xhat and dL/dbeta = sum dL/dy, each with every term (over: what they sum over)."""
        trace = self.trace
        loss = name_latex(self.loss)
        d = lambda symbol: rf"\frac{{\partial {loss}}}{{\partial {symbol}}}"  # noqa: E731
        dgamma, dbeta, dy = d(r"\gamma"), d(r"\beta"), d("y")
        blocks: list = [Paragraph((f"The scale and the shift, summed over the {over}: ",
                                   Math(rf"{dgamma} = \sum {dy} \odot \hat{{x}}"), ", ",
                                   Math(rf"{dbeta} = \sum {dy}"), ":"))]
        for tensor in layer.tensors:
            for name in tensor.names:
                readers = [m for m in self.g.readers.get(name, ()) if m in trace.partials]
                scale = tensor.name.startswith("gamma")
                terms = [(rf"{d(name_latex(m))}" + (rf" \hat{{x}}" if scale else ""),
                          bracketed(self.n(trace.adjoints[m])) + (rf" \cdot {bracketed(self.n(trace.partials[m][name]))}"
                                                                  if scale else ""),
                          trace.adjoints[m] == 0) for m in readers]
                symbols, numbers = written_sum(terms)
                blocks.append(chain(d(name_latex(name)), [numbers, self.n(trace.adjoints[name])]))
        return blocks

    def norm_group_backward(self, g: str, xs: list, xhat: list, ds: list, mu: str, var: str, rstd: str,
                            writes_input: bool) -> list:
        """One group's dL/dsigma^2, dL/dmu and (with writes_input) each entry's dL/dx, by the standard derivation;
        xs the entries' inputs, xhat and ds their xhat (with its gradient found) and deviations."""
        trace, N = self.trace, len(xs)
        loss = name_latex(self.loss)
        d = lambda symbol: rf"\frac{{\partial {loss}}}{{\partial {symbol}}}"  # noqa: E731
        dxe, dvar, dmu, dx = d(r"\hat{x}_e"), d(r"\sigma^2"), d(r"\mu"), d("x_e")
        blocks: list = []
        _, products = written_sum([("", rf"{bracketed(self.n(trace.adjoints[h]))} \cdot "
                                    rf"{bracketed(self.n(trace.values[e]))}", False) for h, e in zip(xhat, ds)])
        blocks.append(chain(d(rf"\sigma^2_{{{g}}}"), [
            rf"\sum_e {dxe} (x_e - \mu) \cdot \left(-\tfrac{{1}}{{2}}\right)(\sigma^2 + \epsilon)^{{-3/2}}",
            rf"\left({products}\right) \cdot {bracketed(self.n(trace.partials[rstd][var]))}",
            self.n(trace.adjoints[var])]))
        _, grads = written_sum([("", bracketed(self.n(trace.adjoints[h])), False) for h in xhat])
        blocks.append(chain(d(rf"\mu_{{{g}}}"), [
            rf"-\frac{{1}}{{\sqrt{{\sigma^2 + \epsilon}}}} \sum_e {dxe} + {dvar} "
            rf"\cdot \left(-\tfrac{{2}}{{{N}}}\right) \sum_e (x_e - \mu)",
            rf"-{self.n(trace.values[rstd])} \cdot \left({grads}\right) + {bracketed(self.n(trace.adjoints[var]))}"
            r" \cdot 0", self.n(trace.adjoints[mu])]))
        if writes_input:
            blocks.append(Paragraph(("and each entry's input gradient, ",
                                     Math(rf"{dx} = {dxe} \frac{{1}}{{\sqrt{{\sigma^2 + "
                                          rf"\epsilon}}}} + {dvar} \frac{{2 (x_e - \mu)}}{{{N}}} + "
                                          rf"{dmu} \frac{{1}}{{{N}}}"), ":")))
            for x, h, e in zip(xs, xhat, ds):
                blocks.append(chain(d(name_latex(x)), [
                    rf"{bracketed(self.n(trace.adjoints[h]))} \cdot {self.n(trace.values[rstd])} + "
                    rf"{bracketed(self.n(trace.adjoints[var]))} \cdot \frac{{2 \cdot "
                    rf"{bracketed(self.n(trace.values[e]))}}}{{{N}}} + "
                    rf"\frac{{{self.n(trace.adjoints[mu])}}}{{{N}}}", self.n(trace.adjoints[x])]))
        return blocks

    def dropout_forward(self, layer) -> list:
        n = layer.number
        p = layer.layer.setting("p")
        masks = [f"mask{n}[{self.suffix(layer, k)}]" for k in range(len(layer.inputs))]
        return [Paragraph(("Each entry is kept (mask 1) or dropped (mask 0), and the kept ones scaled by ",
                           Math(rf"1 / (1 - p) = 1 / {1 - p:g}"), " so that the mean is unchanged:")),
                chain(rf"m^{{[{n}]}}", [rf"x \odot \mathrm{{mask}} / (1 - p)",
                                        rf"{self.row_of(layer.inputs)} \odot {self.row_of(masks)} / {1 - p:g}",
                                        self.row_of(layer.pre)])]

    def dropout_backward(self, layer) -> list:
        n = layer.number
        p = layer.layer.setting("p")
        masks = [f"mask{n}[{self.suffix(layer, k)}]" for k in range(len(layer.inputs))]
        blocks: list = self.output_backward(layer)
        if not self.writes_input(layer):
            return blocks
        loss = name_latex(self.loss)
        return blocks + [Paragraph(("The gradient passes through the kept entries only, scaled as they were:",)),
                         chain(rf"\frac{{\partial {loss}}}{{\partial x}}", [
                             rf"\frac{{\partial {loss}}}{{\partial m^{{[{n}]}}}} \odot \mathrm{{mask}} / (1 - p)",
                             rf"{self.row_of(layer.pre, True)} \odot {self.row_of(masks)} / {1 - p:g}",
                             self.row_of(layer.inputs, True)])]


def _unravel(flat: int, shape: tuple) -> list[int]:
    index = []
    for size in reversed(shape):
        index.append(flat % size)
        flat //= size
    return list(reversed(index))
