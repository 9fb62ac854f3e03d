"""The matrix form of a recurrent layer and of self-attention in a network of layer kinds, and of a layer norm's
forward pass (derivation_matrix_kinds_grids.py writes the grid kinds and dense layers).

    rnn        h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) a step at a time, BPTT as
               dL/dW_hh = sum_t delta_t h_{t-1}^T with delta_t = dL/dh_t (.) f'(.) (the recorded local partial)
    lstm, gru  the gates stacked as PyTorch's (i, f, g, o; r, z and then n), then the states; backpropagation
               through time in derivation_matrix_kinds_gated.py
    attention  Q = X W_q^T + 1 b_q^T, K, V; per head S = Q K^T / sqrt(d), A = softmax of each row, C = A V; the
               out-projection (and the residual); backward dL/dW_o = G^T C, dL/dC = G W_o, dL/dA = dL/dC V^T,
               through each softmax row dL/dS = A (.) (dL/dA - rowsum(dL/dA (.) A) 1^T), dL/dQ = dL/dS K / sqrt(d),
               dL/dK = dL/dS^T Q / sqrt(d), dL/dV = A^T dL/dC, dL/dW_q = dL/dQ^T X
    layernorm  mu, sigma^2 and 1/sqrt(sigma^2 + eps) a row (token) at a time as vectors, X^ = (X - mu 1^T) (.)
               (r 1^T), N = X^ (.) 1 gamma^T + 1 beta^T; its backward pass, and dropout, in
               derivation_matrix_kinds_norms.py

A layer whose backward pass is not written here keeps its course-style subsection there. Every number is a
record; a product is written with its factors and the recorded result.
"""

from __future__ import annotations

from ..core.ops import OPS
from ..problem.kinds import KINDS
from ..problem.kinds.recurrent import GATE_ACTIVATIONS
from .derivation_backward import chain
from .derivation_kinds_grids import KindsLayer
from .derivation_matrix_kinds_gated import GatedBackward
from .derivation_matrix_kinds_grids import MatrixKinds
from .derivation_matrix_kinds_norms import NormMatrices
from .document import Math, Paragraph
from .matrices import applied, bmatrix


class MatrixKindsMore(GatedBackward, NormMatrices, MatrixKinds):
    def writers(self, layer: KindsLayer) -> tuple | None:
        kind = KINDS[layer.type]
        if hasattr(kind, "states"):
            gated = bool(getattr(kind, "nodes", ()))
            return self.recurrent_forward, (self.gated_backward if gated else self.rnn_backward)
        if layer.type == "attention":
            return self.attention_forward, self.attention_backward
        if layer.type == "layernorm":
            return self.layernorm_forward, self.layernorm_backward
        if layer.type == "dropout":
            return self.dropout_forward, self.dropout_backward
        return super().writers(layer)

    # -- pieces ---------------------------------------------------------------------------------

    def names(self, base: str, rows: int, columns: int, first_row: int = 1) -> list[str]:
        return [f"{base}[{t},{j}]" for t in range(first_row, first_row + rows) for j in range(1, columns + 1)]

    def stacked(self, layer: KindsLayer, letters, side: str, record: str = "initial") -> str | None:
        """The gates' weights (W{side}{gate}) or biases (b{side}{gate}) stacked as PyTorch's, one block of rows
        per gate; None where the layer has no such tensors."""
        n = layer.number
        tensors = {t.name: t for t in layer.tensors}
        blocks = [tensors.get(f"{side}{gate}{n}") for gate in letters]
        if any(t is None for t in blocks):
            return None
        names = [name for t in blocks for name in t.names]
        rows = sum(t.shape[0] for t in blocks)
        columns = len(names) // rows
        return self.matrix(rows, columns, lambda i, j: self.n(getattr(self.solution.parameters[names[i * columns + j]],
                                                                       record)))

    # -- recurrent ----------------------------------------------------------------------------------

    def recurrent_forward(self, layer: KindsLayer) -> list:
        n, kind = layer.number, KINDS[layer.type]
        steps, features = layer.layer.shape_in
        hidden = layer.layer.setting("hidden")
        gates = getattr(kind, "nodes", ())
        blocks: list = [Paragraph(("A step at a time, ", Math("x_t"), " the input's row ", Math("t"), " as a column; "
                                   "the weights as PyTorch stacks them" + (f" ({', '.join(gates)}: a block of "
                                                                            f"{hidden} rows each)" if gates else "")
                                   + ":",))]
        for t in range(1, steps + 1):
            x_t = layer.inputs[(t - 1) * features:t * features]
            h_before = self.names(f"h{n}", 1, hidden, t - 1)
            x_col, h_col = self.column(x_t), self.column(h_before)
            if not gates:
                f = layer.layer.setting("nonlinearity")
                inner = (f"{self.stacked(layer, 'h', 'Wi')} {x_col} + {self.stacked(layer, 'h', 'bi') or '0'} + "
                         f"{self.stacked(layer, 'h', 'Wh')} {h_col} + {self.stacked(layer, 'h', 'bh') or '0'}")
                blocks.append(chain(f"h_{{{t}}}", [
                    applied(f, (), rf"W_{{ih}} x_{{{t}}} + b_{{ih}} + W_{{hh}} h_{{{t - 1}}} + b_{{hh}}"),
                    applied(f, (), inner), self.column(self.names(f"h{n}", 1, hidden, t))], f"mk{n}-h{t}"))
                continue
            plain = [g for g in gates if g != "n" or "r" not in gates]  # a GRU's candidate n is apart
            stack = bmatrix(len(plain), 1, lambda i, j: f"{plain[i]}_{{{t}}}")
            functions = bmatrix(len(plain), 1, lambda i, j: OPS[GATE_ACTIVATIONS[plain[i]]].latex.replace("{args}", "")
                                if isinstance(OPS[GATE_ACTIVATIONS[plain[i]]].latex, str) else plain[i])
            inner = (f"{self.stacked(layer, plain, 'Wi')} {x_col} + {self.stacked(layer, plain, 'bi') or '0'} + "
                     f"{self.stacked(layer, plain, 'Wh')} {h_col} + {self.stacked(layer, plain, 'bh') or '0'}")
            values = [name for g in plain for name in self.names(f"{g}{n}", 1, hidden, t)]
            blocks.append(chain(stack, [rf"{functions}\left(W_{{ih}} x_{{{t}}} + b_{{ih}} + W_{{hh}} h_{{{t - 1}}} "
                                        r"+ b_{hh}\right)", rf"{functions}\left({inner}\right)", self.column(values)],
                                f"mk{n}-gates{t}"))
            gate = lambda g: self.column(self.names(f"{g}{n}", 1, hidden, t))  # noqa: E731
            h_t = self.column(self.names(f"h{n}", 1, hidden, t))
            if "c" in kind.states:
                c_before = self.column(self.names(f"c{n}", 1, hidden, t - 1))
                c_t = self.column(self.names(f"c{n}", 1, hidden, t))
                blocks.append(chain(f"c_{{{t}}}", [rf"f_{{{t}}} \odot c_{{{t - 1}}} + i_{{{t}}} \odot g_{{{t}}}",
                                                   rf"{gate('f')} \odot {c_before} + {gate('i')} \odot {gate('g')}",
                                                   c_t], f"mk{n}-c{t}"))
                blocks.append(chain(f"h_{{{t}}}", [rf"o_{{{t}}} \odot \tanh(c_{{{t}}})",
                                                   rf"{gate('o')} \odot \tanh\left({c_t}\right)", h_t], f"mk{n}-h{t}"))
            else:
                n_inner = (f"{self.stacked(layer, 'n', 'Wi')} {x_col} + {self.stacked(layer, 'n', 'bi') or '0'} + "
                           rf"{gate('r')} \odot \left({self.stacked(layer, 'n', 'Wh')} {h_col} + "
                           rf"{self.stacked(layer, 'n', 'bh') or '0'}\right)")
                blocks.append(chain(f"n_{{{t}}}", [
                    rf"\tanh\left(W_{{in}} x_{{{t}}} + b_{{in}} + r_{{{t}}} \odot (W_{{hn}} h_{{{t - 1}}} + b_{{hn}})"
                    r"\right)", rf"\tanh\left({n_inner}\right)", gate("n")], f"mk{n}-n{t}"))
                blocks.append(chain(f"h_{{{t}}}", [
                    rf"(1 - z_{{{t}}}) \odot n_{{{t}}} + z_{{{t}}} \odot h_{{{t - 1}}}",
                    rf"\left(1 - {gate('z')}\right) \odot {gate('n')} + {gate('z')} \odot {h_col}", h_t],
                    f"mk{n}-h{t}"))
        return blocks

    def rnn_backward(self, layer: KindsLayer) -> list:
        n = layer.number
        steps, features = layer.layer.shape_in
        hidden = layer.layer.setting("hidden")
        bias = f"bhh{n}" in {t.name for t in layer.tensors}
        blocks: list = [Paragraph(("Backpropagation through time. ", Math(r"\partial L / \partial h_t"),
                                   " gathers the loss's share and step t + 1's (the records); ",
                                   Math(r"\delta_t = \frac{\partial L}{\partial h_t} \odot f'(\cdot)"),
                                   " is the gradient before the nonlinearity, f' the recorded local partial:",))]
        for t in range(steps, 0, -1):
            h_t = self.names(f"h{n}", 1, hidden, t)
            blocks.append(chain(rf"\frac{{\partial L}}{{\partial h_{{{t}}}}}", [self.column(h_t, "adjoints")],
                                f"mk{n}-dh{t}"))
        terms = []
        for t in range(1, steps + 1):
            h_t = self.names(f"h{n}", 1, hidden, t)
            if bias:
                slope = self.matrix(hidden, 1, lambda i, j, h_t=h_t: self.n(
                    self.trace.partials[h_t[i]][f"bhh{n}[{i + 1}]"]))
                terms.append((rf"\left({self.column(h_t, 'adjoints')} \odot {slope}\right)", t))
        tensors = {t.name: t for t in layer.tensors}
        if terms:
            for side, source in (("hh", lambda t: self.names(f"h{n}", 1, hidden, t - 1)),
                                 ("ih", lambda t: layer.inputs[(t - 1) * features:t * features])):
                symbol = "h_{t-1}" if side == "hh" else "x_t"
                products = " + ".join(f"{delta} {self.laid(source(t), len(source(t)), 1, transpose=True)}"
                                      for delta, t in terms)
                blocks.append(chain(self.gradient_of(f"W_{{{side}}}"), [
                    rf"\sum_{{t=1}}^{{{steps}}} \delta_t {symbol}^\top", products,
                    self.tensor(tensors[f"W{side}{n}"], record="adjoints")], f"mk{n}-dW{side}"))
            blocks.append(chain(self.gradient_of("b_{hh}"), [
                rf"\sum_{{t=1}}^{{{steps}}} \delta_t", " + ".join(delta for delta, _ in terms),
                self.tensor(tensors[f"bhh{n}"], record="adjoints")], f"mk{n}-dbhh"))
        else:
            for side in ("hh", "ih"):
                blocks.append(chain(self.gradient_of(f"W_{{{side}}}"), [
                    rf"\sum_{{t=1}}^{{{steps}}} \delta_t " + ("h_{t-1}" if side == "hh" else "x_t") + r"^\top",
                    self.tensor(tensors[f"W{side}{n}"], record="adjoints")], f"mk{n}-dW{side}"))
        return blocks

    # -- attention -----------------------------------------------------------------------------------

    def attention_parts(self, layer: KindsLayer):
        n = layer.number
        steps, features = layer.layer.shape_in
        settings = dict(layer.layer.settings)
        heads = settings["heads"]
        tensors = {t.name[:-len(str(n))]: t for t in layer.tensors}
        return n, steps, features, heads, features // heads, tensors, settings

    def head_block(self, base: str, steps: int, width: int, head: int, record: str = "values",
                   transpose: bool = False) -> str:
        """Head `head`'s columns (0-based) of a T x E grid base[t,j]."""
        table = getattr(self.trace, record)
        name = lambda i, j: f"{base}[{i + 1},{head * width + j + 1}]"  # noqa: E731
        if transpose:
            return self.matrix(width, steps, lambda i, j: self.n(table[name(j, i)]))
        return self.matrix(steps, width, lambda i, j: self.n(table[name(i, j)]))

    def scores(self, base: str, steps: int, head: int, record: str = "values") -> str:
        table = getattr(self.trace, record)
        return self.matrix(steps, steps, lambda i, j: self.n(table[f"{base}[{head + 1},{i + 1},{j + 1}]"]))

    def grid(self, base: str, steps: int, features: int, record: str = "values", transpose: bool = False) -> str:
        return self.laid(self.names(base, steps, features), steps, features, record, transpose)

    def attention_forward(self, layer: KindsLayer) -> list:
        n, steps, features, heads, width, tensors, settings = self.attention_parts(layer)
        x = self.grid_of(layer.inputs, steps, features)
        blocks: list = [Paragraph(("The tokens are the rows of ", Math("X"), f" ({steps} × {features}); each "
                                   "projection is a dense layer on every row, as nn.Linear, ", Math("W"),
                                   " a row per output feature:",))]
        for letter in "qkv":
            bias = tensors.get(f"b{letter}")
            symbol = letter.upper()
            if bias:  # its own line: the product of two square matrices fills one
                blocks.append(chain(rf"b_{{{letter}}}^\top", [self.tensor(bias, transpose=True)], f"mk{n}-b{letter}"))
            blocks.append(chain(symbol, [
                rf"X W_{{{letter}}}^\top" + (rf" + \mathbf{{1}} b_{{{letter}}}^\top" if bias else ""),
                f"{x} {self.tensor(tensors['W' + letter], transpose=True)}"
                + (rf" + \mathbf{{1}} b_{{{letter}}}^\top" if bias else ""),
                self.grid(f"{letter}{n}", steps, features)], f"mk{n}-{letter}"))
        for h in range(heads):
            mark = f"_{{{h + 1}}}" if heads > 1 else ""
            if heads > 1:
                blocks.append(Paragraph((f"Head {h + 1}: columns {h * width + 1} to {(h + 1) * width} of ", Math("Q"),
                                         ", ", Math("K"), " and ", Math("V"), ".")))
            blocks.append(chain(f"S{mark}", [rf"\frac{{Q{mark} K{mark}^\top}}{{\sqrt{{{width}}}}}",
                                             rf"\frac{{1}}{{\sqrt{{{width}}}}} "
                                             f"{self.head_block(f'q{n}', steps, width, h)} "
                                             f"{self.head_block(f'k{n}', steps, width, h, transpose=True)}",
                                             self.scores(f"s{n}", steps, h)], f"mk{n}-s{h + 1}"))
            blocks.append(chain(f"A{mark}", [rf"\operatorname{{softmax}}_{{\text{{rows}}}}(S{mark})",
                                             self.scores(f"alpha{n}", steps, h)], f"mk{n}-alpha{h + 1}"))
            blocks.append(chain(f"C{mark}", [f"A{mark} V{mark}", f"{self.scores(f'alpha{n}', steps, h)} "
                                             f"{self.head_block(f'v{n}', steps, width, h)}",
                                             self.head_block(f"c{n}", steps, width, h)], f"mk{n}-c{h + 1}"))
        out_bias = tensors.get("bo")
        projected = "M" if settings["residual"] else self.symbol_of(layer.pre)
        out_names = self.names(f"m{n}", steps, features) if settings["residual"] else list(layer.pre)
        if out_bias:
            blocks.append(chain(r"b_o^\top", [self.tensor(out_bias, transpose=True)], f"mk{n}-bo"))
        blocks.append(chain(projected, [
            r"C W_o^\top" + (r" + \mathbf{1} b_o^\top" if out_bias else ""),
            f"{self.grid(f'c{n}', steps, features)} {self.tensor(tensors['Wo'], transpose=True)}"
            + (r" + \mathbf{1} b_o^\top" if out_bias else ""),
            self.laid(out_names, steps, features)], f"mk{n}-out"))
        if settings["residual"]:
            blocks.append(chain(self.symbol_of(layer.pre), [
                "X + M", f"{x} + {self.laid(out_names, steps, features)}", self.laid(layer.pre, steps, features)],
                f"mk{n}-residual"))
        return blocks

    def grid_of(self, names, rows: int, columns: int, record: str = "values") -> str:
        return self.laid(list(names), rows, columns, record)

    def attention_backward(self, layer: KindsLayer) -> list:
        n, steps, features, heads, width, tensors, settings = self.attention_parts(layer)
        out_names = self.names(f"m{n}", steps, features) if settings["residual"] else list(layer.pre)
        g = self.laid(out_names, steps, features, "adjoints")
        blocks: list = [Paragraph(("With ", Math("G"), " the gradient of the out-projection's output (a row per "
                                   "token)" + (", the same as the block's, the residual adding X" if
                                               settings["residual"] else "") + ":",)),
                        chain("G", [g], f"mk{n}-g"),
                        chain(self.gradient_of("W_o"), [r"G^\top C", f"{self.laid(out_names, steps, features, 'adjoints', transpose=True)} "
                              f"{self.grid(f'c{n}', steps, features)}",
                              self.tensor(tensors["Wo"], record="adjoints")], f"mk{n}-dWo"),
                        chain(self.gradient_of("C"), ["G W_o", f"{g} {self.tensor(tensors['Wo'])}",
                                                      self.grid(f"c{n}", steps, features, "adjoints")], f"mk{n}-dC")]
        for h in range(heads):
            mark = f"_{{{h + 1}}}" if heads > 1 else ""
            alpha, d_alpha = self.scores(f"alpha{n}", steps, h), self.scores(f"alpha{n}", steps, h, "adjoints")
            d_scores = self.scores(f"s{n}", steps, h, "adjoints")
            blocks += [
                chain(self.gradient_of(f"A{mark}"), [rf"\frac{{\partial L}}{{\partial C{mark}}} V{mark}^\top",
                      f"{self.head_block(f'c{n}', steps, width, h, 'adjoints')} "
                      f"{self.head_block(f'v{n}', steps, width, h, transpose=True)}", d_alpha], f"mk{n}-dalpha{h + 1}"),
                Paragraph(("Through the softmax of each row (each row's entries less that row's sum of ",
                           Math(r"\frac{\partial L}{\partial A} \odot A"), ", times A), with the two matrices above:")),
                chain(self.gradient_of(f"S{mark}"), [
                    rf"A{mark} \odot \left(\frac{{\partial L}}{{\partial A{mark}}} - \left(\left("
                    rf"\frac{{\partial L}}{{\partial A{mark}}} \odot A{mark}\right) \mathbf{{1}}\right) "
                    r"\mathbf{1}^\top\right)", d_scores], f"mk{n}-ds{h + 1}"),
                chain(self.gradient_of(f"Q{mark}"), [
                    rf"\frac{{1}}{{\sqrt{{{width}}}}} \frac{{\partial L}}{{\partial S{mark}}} K{mark}",
                    rf"\frac{{1}}{{\sqrt{{{width}}}}} {d_scores} {self.head_block(f'k{n}', steps, width, h)}",
                    self.head_block(f"q{n}", steps, width, h, "adjoints")], f"mk{n}-dq{h + 1}"),
                chain(self.gradient_of(f"K{mark}"), [
                    rf"\frac{{1}}{{\sqrt{{{width}}}}} \left(\frac{{\partial L}}{{\partial S{mark}}}\right)^\top Q{mark}",
                    rf"\frac{{1}}{{\sqrt{{{width}}}}} {self.scores(f's{n}', steps, h, 'adjoints')}^\top "
                    f"{self.head_block(f'q{n}', steps, width, h)}",
                    self.head_block(f"k{n}", steps, width, h, "adjoints")], f"mk{n}-dk{h + 1}"),
                chain(self.gradient_of(f"V{mark}"), [
                    rf"A{mark}^\top \frac{{\partial L}}{{\partial C{mark}}}",
                    rf"{alpha}^\top {self.head_block(f'c{n}', steps, width, h, 'adjoints')}",
                    self.head_block(f"v{n}", steps, width, h, "adjoints")], f"mk{n}-dv{h + 1}")]
        x = self.grid_of(layer.inputs, steps, features)
        for letter in "qkv":
            blocks.append(chain(self.gradient_of(f"W_{letter}"), [
                rf"\left(\frac{{\partial L}}{{\partial {letter.upper()}}}\right)^\top X",
                f"{self.grid(f'{letter}{n}', steps, features, 'adjoints', transpose=True)} {x}",
                self.tensor(tensors["W" + letter], record="adjoints")], f"mk{n}-dW{letter}"))
        return blocks

    # -- layer norm -------------------------------------------------------------------------------------

    def layernorm_forward(self, layer: KindsLayer) -> list:
        n = layer.number
        shape = layer.layer.shape_in
        rows, columns = (shape[0], shape[-1]) if len(shape) == 2 else (1, shape[0])
        if len(shape) > 2 or dict(layer.layer.settings).get("axes", 1) != 1:
            return None
        vector = lambda base: self.column([f"{base}{n}[{t}]" for t in range(1, rows + 1)])  # noqa: E731
        x = self.grid_of(layer.inputs, rows, columns)
        eps = dict(layer.layer.settings)["eps"]
        blocks: list = [Paragraph(("Each row (token) normalised over its ", Math(f"{columns}"), " features: ",
                                   Math(r"\mu"), ", ", Math(r"\sigma^2"), " and ",
                                   Math(rf"r = 1/\sqrt{{\sigma^2 + {eps:g}}}"), " a column each, an entry per row:")),
                        chain(r"\mu", [rf"\frac{{1}}{{{columns}}} X \mathbf{{1}}", vector("mu")], f"mk{n}-mu"),
                        chain(r"\sigma^2", [rf"\frac{{1}}{{{columns}}} \left((X - \mu \mathbf{{1}}^\top) \odot "
                                            rf"(X - \mu \mathbf{{1}}^\top)\right) \mathbf{{1}}", vector("var")],
                              f"mk{n}-var"),
                        chain("r", [vector("rstd")], f"mk{n}-rstd"),
                        chain(r"\hat X", [r"(X - \mu \mathbf{1}^\top) \odot (r \mathbf{1}^\top)",
                                          rf"\left({x} - {vector('mu')} \mathbf{{1}}^\top\right) \odot \left("
                                          rf"{vector('rstd')} \mathbf{{1}}^\top\right)",
                                          self.grid(f"xhat{n}", rows, columns)], f"mk{n}-xhat")]
        gamma, beta = (layer.tensors + (None, None))[:2]
        if gamma is not None:
            blocks.append(chain(r"\gamma^\top", [self.tensor(gamma, transpose=True)], f"mk{n}-gamma"))
            blocks.append(chain(r"\beta^\top", [self.tensor(beta, transpose=True)], f"mk{n}-beta"))
            blocks.append(chain(self.symbol_of(layer.pre), [
                r"\hat X \odot \mathbf{1} \gamma^\top + \mathbf{1} \beta^\top",
                rf"{self.grid(f'xhat{n}', rows, columns)} \odot \mathbf{{1}} \gamma^\top + \mathbf{{1}} \beta^\top",
                self.laid(layer.pre, rows, columns)], f"mk{n}-pre"))
        return blocks
