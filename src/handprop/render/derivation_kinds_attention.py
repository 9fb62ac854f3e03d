"""Self-attention in a network of layer kinds' worked solution, as a course writes it, in matrices with the
numbers put in (problem/kinds/attention.py names the nodes; Vaswani et al. 2017, section 3.2).

Forward: Q = X W_q^T + b_q^T, K and V alike; per head h (its d = E / H columns) the scores S_h = Q_h K_h^T / sqrt(d),
the weights A_h = softmax of each row of S_h (a causal layer's entries past the query are -inf, their weights 0),
the context C_h = A_h V_h, the heads side by side; Z = C W_o^T + b_o^T, with the residual X + Z.

Backward: dL/dW_o = (dL/dZ)^T C, dL/dC = dL/dZ W_o; per head dL/dA_h = dL/dC_h V_h^T, dL/dV_h = A_h^T dL/dC_h; each row
of the scores through the softmax's Jacobian, dL/ds = alpha (.) (dL/dalpha - sum_u alpha_u dL/dalpha_u); dL/dQ_h =
dL/dS_h K_h / sqrt(d), dL/dK_h = dL/dS_h^T Q_h / sqrt(d); dL/dW_q = (dL/dQ)^T X and dL/db_q = dL/dQ's column sums,
likewise k and v. Every matrix's entries are the records' values and adjoints; nothing is computed here.
"""

from __future__ import annotations

from .derivation_backward import bracketed, chain
from .document import Math, Paragraph
from .mathtex import name_latex
from .matrices import bmatrix, side_limit


class AttentionWriting:
    """Mixed into the kinds builder (derivation_kinds.py): uses its g, trace, n, loss, node, writes_input."""

    def grid_of(self, name, rows: int, columns: int, gradient: bool = False, missing: str = "0") -> str:
        """A matrix whose (i, j) entry is name(i, j)'s value (or its gradient); a name the program does not hold
        (a causal layer's masked entry) shows `missing`."""
        trace = self.trace
        source = trace.adjoints if gradient else trace.values

        def entry(i, j):
            found = name(i, j)
            return self.n(source[found]) if found in source else missing
        return bmatrix(rows, columns, entry, side_limit(self.g.decimals))

    def attention_names(self, layer) -> dict:
        n = layer.number
        steps, features = layer.layer.shape_in
        named = {letter: (lambda t, i, letter=letter: f"{letter}{n}[{t + 1},{i + 1}]") for letter in "qkvcm"}
        named["x"] = lambda t, i: layer.inputs[t * features + i]
        named["z"] = lambda t, i: layer.pre[t * features + i]
        for letter in ("W", "Wq", "Wk", "Wv", "Wo"):
            named[letter] = lambda i, j, letter=letter: f"{letter}{n}[{i + 1},{j + 1}]"
        return named

    def attention_settings(self, layer) -> tuple:
        """(n, T, E, heads, residual, bias, causal, the width of a head, the layer's names by letter)."""
        steps, features = layer.layer.shape_in
        setting = layer.layer.setting
        heads = setting("heads")
        return (layer.number, steps, features, heads, setting("residual"), setting("bias"), setting("causal"),
                features // heads, self.attention_names(layer))

    def attention_forward(self, layer) -> list:
        n, T, E, heads, residual, bias, causal, width, named = self.attention_settings(layer)
        blocks: list = [Paragraph((f"The input X holds the {T} tokens as rows of {E} features. Each token's query, "
                                   "key and value are linear maps of it (nn.Linear on each row):",))]
        for letter in "qkv":
            W = f"W^{{[{n}]}}_{{{letter}}}"
            b = f"b^{{[{n}]}}_{{{letter}}}"
            symbols = f"X {{{W}}}^\\top" + (f" + {{{b}}}^\\top" if bias else "")
            numbers = (f"{self.grid_of(named['x'], T, E)} {self.grid_of(named['W' + letter], E, E)}^\\top" +
                       (" + " + bmatrix(1, E, lambda i, j: self.n(self.trace.values[f"b{letter}{n}[{j + 1}]"]),
                                        side_limit(self.g.decimals)) + "^\\top" if bias else ""))
            blocks.append(chain(letter.upper(), [symbols, numbers, self.grid_of(named[letter], T, E)]))
        scale = r" / \sqrt{%d}" % width if width > 1 else ""
        words = (f" Each head sees {width} of the {E} features (head h its columns (h - 1)·{width} + 1 … h·{width})."
                 if heads > 1 else "")
        blocks.append(Paragraph((f"The scores: each query against every key{' up to its own (causal: a later key scores' if causal else ''}",
                                 Math(r"-\infty") if causal else "", ", weight 0)" if causal else "",
                                 ", the dot product" + (" divided by " if width > 1 else ""),
                                 Math(rf"\sqrt{{d}} = \sqrt{{{width}}}") if width > 1 else "", "." + words)))
        for h in range(heads):
            own = range(h * width, (h + 1) * width)
            sub = f"_{{{h + 1}}}" if heads > 1 else ""

            def cut(letter, h=h):
                return lambda t, i: named[letter](t, h * width + i)
            score = lambda t, u, h=h: f"s{n}[{h + 1},{t + 1},{u + 1}]"  # noqa: E731
            weight = lambda t, u, h=h: f"alpha{n}[{h + 1},{t + 1},{u + 1}]"  # noqa: E731
            blocks.append(chain(f"S{sub}", [f"Q{sub} K{sub}^\\top{scale}",
                                            f"{self.grid_of(cut('q'), T, width)} "
                                            f"{self.grid_of(cut('k'), T, width)}^\\top{scale}",
                                            self.grid_of(score, T, T, missing=r"-\infty")]))
            blocks.append(Paragraph(("The weights: the softmax of each row, ",
                                     Math(r"\alpha_{t,u} = e^{s_{t,u}} / \sum_{u'} e^{s_{t,u'}}"),
                                     ", each row summing to 1:")))
            for t in range(T):
                keys = range(t + 1) if causal else range(T)
                row = ", ".join(self.n(self.trace.values[score(t, u)]) for u in keys)
                values = ", ".join(self.n(self.trace.values[weight(t, u)]) for u in keys)
                blocks.append(chain(rf"\alpha{sub.replace('_', '^')}_{{{t + 1},:}}", [
                    rf"\operatorname{{softmax}}\left({row}\right)", rf"\left({values}\right)"]))
            blocks.append(chain(f"A{sub}", [self.grid_of(weight, T, T)]))
            blocks.append(chain(f"C{sub}", [f"A{sub} V{sub}", f"{self.grid_of(weight, T, T)} "
                                                               f"{self.grid_of(cut('v'), T, width)}",
                                            self.grid_of(cut("c"), T, width)]))
            del own
        if heads > 1:
            blocks.append(Paragraph(("The heads side by side:",)))
            blocks.append(chain("C", [" ".join(["\\begin{bmatrix}"] + [f"C_{{{h + 1}}}" + (" &" if h < heads - 1
                                                                                            else "")
                                                                     for h in range(heads)] + ["\\end{bmatrix}"]),
                                      self.grid_of(named["c"], T, E)]))
        out = "M" if residual else "Z"
        blocks.append(Paragraph(("The output projection" + (", then the residual connection adds the input:"
                                                            if residual else ":"),)))
        symbols = f"C {{W^{{[{n}]}}_{{o}}}}^\\top" + (f" + {{b^{{[{n}]}}_{{o}}}}^\\top" if bias else "")
        numbers = (f"{self.grid_of(named['c'], T, E)} {self.grid_of(named['Wo'], E, E)}^\\top" +
                   (" + " + bmatrix(1, E, lambda i, j: self.n(self.trace.values[f"bo{n}[{j + 1}]"]),
                                    side_limit(self.g.decimals)) + "^\\top" if bias else ""))
        blocks.append(chain(out, [symbols, numbers, self.grid_of(named["m" if residual else "z"], T, E)]))
        if residual:
            blocks.append(chain("Z", ["X + M", f"{self.grid_of(named['x'], T, E)} + {self.grid_of(named['m'], T, E)}",
                                      self.grid_of(named["z"], T, E)]))
        return blocks

    def attention_backward(self, layer) -> list:
        g, trace = self.g, self.trace
        n, T, E, heads, residual, bias, causal, width, named = self.attention_settings(layer)
        d = lambda symbol: rf"\frac{{\partial {name_latex(self.loss)}}}{{\partial {symbol}}}"  # noqa: E731
        G = lambda name, rows, columns: self.grid_of(name, rows, columns, gradient=True)  # noqa: E731
        V = lambda name, rows, columns: self.grid_of(name, rows, columns)  # noqa: E731
        blocks: list = []
        if layer.last:
            blocks.append(Paragraph(("The loss's derivative with respect to each output:",)))
            blocks += [self.node(name) for name in layer.post]
        blocks.append(chain(d("Z"), [G(named["z"], T, E)]))
        out = "M" if residual else "Z"
        if residual:
            blocks.append(Paragraph(("The residual passes the gradient on unchanged, to M and to X alike:",)))
            blocks.append(chain(d("M"), [d("Z"), G(named["m"], T, E)]))
        o = named["m" if residual else "z"]
        blocks.append(Paragraph(("The output projection's weights and the context's gradient:",)))
        blocks.append(chain(d(f"W^{{[{n}]}}_{{o}}"), [f"\\left({d(out)}\\right)^\\top C",
                                                      f"{G(o, T, E)}^\\top {V(named['c'], T, E)}",
                                                      G(named["Wo"], E, E)]))
        if bias:
            blocks.append(chain(d(f"b^{{[{n}]}}_{{o}}"), [rf"\sum_{{t=1}}^{{{T}}} {d(out)}_{{t,:}}",
                                                          bmatrix(1, E, lambda i, j: self.n(trace.adjoints[f"bo{n}[{j + 1}]"]),
                                                                  side_limit(g.decimals))]))
        blocks.append(chain(d("C"), [f"{d(out)} W^{{[{n}]}}_{{o}}", f"{G(o, T, E)} {V(named['Wo'], E, E)}",
                                     G(named["c"], T, E)]))
        scale = r" / \sqrt{%d}" % width if width > 1 else ""
        for h in range(heads):
            sub = f"_{{{h + 1}}}" if heads > 1 else ""

            def cut(letter, h=h):
                return lambda t, i: named[letter](t, h * width + i)
            score = lambda t, u, h=h: f"s{n}[{h + 1},{t + 1},{u + 1}]"  # noqa: E731
            weight = lambda t, u, h=h: f"alpha{n}[{h + 1},{t + 1},{u + 1}]"  # noqa: E731
            transposed = lambda name: (lambda i, j: name(j, i))  # noqa: E731
            blocks.append(Paragraph((f"Head {h + 1}: the" if heads > 1 else "The", " weights' and the values' gradients "
                                     "from the context's:")))
            blocks.append(chain(d(f"A{sub}"), [f"{d(f'C{sub}')} V{sub}^\\top",
                                               f"{G(cut('c'), T, width)} {V(cut('v'), T, width)}^\\top",
                                               G(weight, T, T)]))
            blocks.append(chain(d(f"V{sub}"), [f"A{sub}^\\top {d(f'C{sub}')}",
                                               f"{V(weight, T, T)}^\\top {G(cut('c'), T, width)}",
                                               G(cut("v"), T, width)]))
            ds, da, dau = d("s_{t,:}"), d(r"\alpha_{t,:}"), d(r"\alpha_{t,u}")
            blocks.append(Paragraph(("Through the softmax, row by row (its Jacobian ",
                                     Math(r"\partial \alpha_u / \partial s_{u'} = \alpha_u (1[u = u'] - \alpha_{u'})"),
                                     "): ", Math(rf"{ds} = \alpha_{{t,:}} \odot \left({da} - \sum_u \alpha_{{t,u}} {dau}\right)"), ",")))
            for t in range(T):
                keys = list(range(t + 1) if causal else range(T))
                alphas = [self.n(trace.values[weight(t, u)]) for u in keys]
                grads = [self.n(trace.adjoints[weight(t, u)]) for u in keys]
                total = " + ".join(rf"{bracketed(a)} \cdot {bracketed(b)}" for a, b in zip(alphas, grads))
                inner = ", ".join(alphas)
                blocks.append(chain(d(rf"s{sub.replace('_', '^')}_{{{t + 1},:}}"), [
                    rf"\left({inner}\right) \odot \left[\left({', '.join(grads)}\right) - \left({total}\right)\right]",
                    rf"\left({', '.join(self.n(trace.adjoints[score(t, u)]) for u in keys)}\right)"]))
            blocks.append(chain(d(f"Q{sub}"), [f"{d(f'S{sub}')} K{sub}{scale}",
                                               f"{G(score, T, T)} {V(cut('k'), T, width)}{scale}",
                                               G(cut("q"), T, width)]))
            blocks.append(chain(d(f"K{sub}"), [f"{d(f'S{sub}')}^\\top Q{sub}{scale}",
                                               f"{G(transposed(score), T, T)} {V(cut('q'), T, width)}{scale}",
                                               G(cut("k"), T, width)]))
        blocks.append(Paragraph(("The projections' weights" + (" and biases" if bias else "") + ":",)))
        for letter in "qkv":
            blocks.append(chain(d(f"W^{{[{n}]}}_{{{letter}}}"), [
                f"\\left({d(letter.upper())}\\right)^\\top X", f"{G(named[letter], T, E)}^\\top {V(named['x'], T, E)}",
                G(named["W" + letter], E, E)]))
            if bias:
                blocks.append(chain(d(f"b^{{[{n}]}}_{{{letter}}}"), [
                    rf"\sum_{{t=1}}^{{{T}}} {d(letter.upper())}_{{t,:}}",
                    bmatrix(1, E, lambda i, j, letter=letter: self.n(trace.adjoints[f"b{letter}{n}[{j + 1}]"]),
                            side_limit(g.decimals))]))
        if self.writes_input(layer):
            parts = [f"{d('Q')} W^{{[{n}]}}_{{q}}", f"{d('K')} W^{{[{n}]}}_{{k}}", f"{d('V')} W^{{[{n}]}}_{{v}}"]
            numbers = [f"{G(named[letter], T, E)} {V(named['W' + letter], E, E)}" for letter in "qkv"]
            if residual:
                parts.append(d("Z"))
                numbers.append(G(named["z"], T, E))
            blocks.append(Paragraph(("The input's gradient: it was read by the three projections" +
                                     (" and the residual" if residual else "") + ":",)))
            blocks.append(chain(d("X"), [" + ".join(parts), " + ".join(numbers), G(named["x"], T, E)]))
        return blocks
