"""The backward half of the matrix form: delta vectors from the output layer back, each layer's gradients
as products of matrices, and the update as matrices.

delta^[l] = dL/dh^[l], a column with an entry per unit: at the output y - t where softmax meets
cross-entropy (targets summing to 1), else dL/dy (.) f'(o) (through the Jacobian for a multi-output
activation); below it (W^[l+1]T delta^[l+1]) (.) f'(h^[l]). Then dL/dW^[l] = delta^[l] a^[l-1]T and
dL/db^[l] = delta^[l]; for a batch, the means (1/B) Delta A^T and (1/B) Delta 1. The numbers are the
engine's adjoints and local partials, the gradients and the optimizer's state as recorded.
"""

from __future__ import annotations

import math

from ..core.ops import OPS
from ..core.symbolic import symbolic_partials
from .derivation_backward import chain
from .document import Math, Paragraph, Section
from .matrices import sampled, transposed
from .mathtex import name_latex, partial, to_latex


def partial_of(top: str, symbol: str) -> str:
    """dtop/dsymbol, top a node's name, symbol already LaTeX."""
    return rf"\frac{{\partial {name_latex(top)}}}{{\partial {symbol}}}"


class MatrixBackward:
    """Mixed into the matrix form's builder; uses its layers, traces and the layout of its numbers."""

    def gradient_of(self, symbol: str) -> str:
        """dL/d(symbol); for a batch, of the batch's mean loss."""
        loss = name_latex(self.loss)
        if self.batch > 1:
            loss = rf"\bar{{{loss}}}"
        return rf"\frac{{\partial {loss}}}{{\partial {symbol}}}"

    def backward_section(self) -> Section:
        loss = name_latex(self.loss)
        intro = [Paragraph(("By the chain rule, from the loss back: ", Math(r"\delta^{[l]} = \frac{\partial "
                            rf"{loss}}}{{\partial h^{{[l]}}}}"), ", the gradient at layer ", Math("l"),
                            "'s pre-activations, is a column with an entry per unit (at the output layer, ",
                            Math(rf"\frac{{\partial {loss}}}{{\partial o}}"), "); below the output layer ",
                            Math(r"\delta^{[l]} = \left(W^{[l+1]\top} \delta^{[l+1]}\right) \odot f'(h^{[l]})"),
                            ", and each layer's gradients are ",
                            Math(rf"\frac{{\partial {loss}}}{{\partial W^{{[l]}}}} = \delta^{{[l]}} a^{{[l-1]\top}}"),
                            " and ", Math(rf"\frac{{\partial {loss}}}{{\partial b^{{[l]}}}} = \delta^{{[l]}}"),
                            "."))]
        if self.batch > 1:
            intro.append(Paragraph(("For the batch, ", Math(r"\Delta^{[l]}"), " holds each sample's ",
                                    Math(r"\delta^{[l]}"), " as a column, the derivative of that sample's own loss; "
                                    "the batch's gradients are their means, ",
                                    Math(rf"{self.gradient_of('W^{[l]}')} = \frac{{1}}{{{self.batch}}} \Delta^{{[l]}}"
                                         r" A^{[l-1]\top}"), " and ",
                                    Math(rf"{self.gradient_of('b^{[l]}')} = \frac{{1}}{{{self.batch}}} \Delta^{{[l]}}"
                                         r" \mathbf{1}"), ", the mean of ", Math(r"\Delta^{[l]}"), "'s columns.")))
        intro.extend(self.convention_notes())
        subsections = []
        for index in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[index]
            blocks = (self.output_delta(layer) if layer.output else self.hidden_delta(layer, self.layers[index + 1]))
            blocks += self.gradient_blocks(layer)
            title = f"Layer {layer.number}" + (" (output)" if layer.output else "")
            subsections.append(Section((title,), f"backward-layer-{layer.number}", tuple(blocks), level=3))
        return Section(("Backward pass",), "backward", tuple(intro + subsections))

    def adjoints(self, names: list, sample: int | None = None) -> str:
        return self.nodes(names, "adjoints", sample)

    def derivative_note(self, layer) -> Paragraph:
        """What f' is for this layer: its first unit's local derivative in symbols, as the engine's rule."""
        a, h = layer.post[0], layer.pre[0]
        local = symbolic_partials(self.by_target[a])[a][h]
        op = OPS[layer.activation]
        return Paragraph(("Here ", Math("f"), f" is {op.activation_words or op.words}, and ",
                          Math(rf"f'({layer.symbols['pre']})"), " holds each unit's local derivative, ",
                          Math(f"{partial(a, h)} = {to_latex(local)}"),
                          " and likewise for the others, as the engine recorded them:"))

    def jacobian_blocks(self, layer) -> list:
        """delta through a multi-output activation: J^T times dL/da, J's entry (i, j) = da_i/dh_j; one
        sample's at a time, as the Jacobian is each sample's own."""
        k, batch = self.k, self.batch > 1
        trace = self.traces[k]
        post, pre = layer.post, layer.pre
        jacobian_t = self.matrix(len(pre), len(post), lambda i, j: self.n(trace.partials[post[j]].get(pre[i], 0.0)))
        s = layer.symbols
        vector = s["post"][0].lower() + s["post"][1:]
        delta = r"\delta" + s["delta"][len(r"\Delta"):] if batch else s["delta"]
        if batch:
            vector, delta = sampled(vector, k + 1), sampled(delta, k + 1)
        op = OPS[layer.activation]
        blocks = [Paragraph((f"{op.words[0].upper() + op.words[1:]} mixes the units, so its derivatives form a "
                             "Jacobian ", Math("J"), ", ", Math(r"J_{ij} = \frac{\partial a_i}{\partial h_j}"),
                             " (", Math("a"), " and ", Math("h"), " the layer's activations and pre-activations), and ",
                             Math(r"\delta = J^\top \frac{\partial L}{\partial a}"),
                             f"; it is each sample's own, so a column at a time, sample {k + 1}'s:"
                             if batch else ":")),
                  chain(delta, [rf"J^\top {partial_of(self.loss, vector)}", f"{jacobian_t} {self.adjoints(post, k)}",
                                self.adjoints(pre, k)], f"jacobian-{layer.number}")]
        if batch:
            blocks.append(chain(s["delta"], [self.adjoints(pre)], f"delta-{layer.number}"))
        return blocks

    def targets_sum_to_one(self) -> bool:
        return all(sum(trace.values[t] for t in self.targets) == 1 for trace in self.traces)

    def output_delta(self, layer) -> list:
        s, targets = layer.symbols, ("T" if self.batch > 1 else "t")
        fused = self.softmax_ce is not None and set(self.softmax_ce[0].targets) == set(layer.post)
        if fused and self.targets_sum_to_one():
            words = OPS[layer.activation].words
            return [Paragraph((f"Where {words} meets cross-entropy and the targets sum to 1"
                               + (" (in every sample)" if self.batch > 1 else "") + ", the chain rule through "
                               f"the {words} simplifies to ", Math(f"{s['delta']} = {s['post']} - {targets}"), ":")),
                    chain(s["delta"], [f"{s['post']} - {targets}",
                                       f"{self.nodes(layer.post)} - {self.nodes(self.targets)}",
                                       self.adjoints(layer.pre)], f"delta-{layer.number}")]
        if not all(math.isfinite(trace.adjoints[y]) for trace in self.traces for y in layer.post):
            # An underflowed softmax output: its dL/dy is no float; the engine goes to the logits directly.
            return [chain(s["delta"], [rf"{s['post']} \left(\mathbf{{1}}^\top {targets}\right) - {targets}",
                                       self.adjoints(layer.pre)], f"delta-{layer.number}")]
        upstream = self.gradient_of(s["post"]) if self.batch == 1 else \
            rf"\frac{{\partial {name_latex(self.loss)}}}{{\partial {s['post']}}}"
        symbols, numbers = self.vector_loss(True, capitals=self.batch > 1), self.vector_loss(False)
        steps = [symbols[1], numbers[1]] if symbols else []
        blocks: list = [chain(upstream, steps + [self.adjoints(layer.post)], "gradient-y")]
        if OPS[layer.activation].multi_output:
            return blocks + self.jacobian_blocks(layer)
        blocks.append(self.derivative_note(layer))
        blocks.append(chain(s["delta"], [rf"{upstream} \odot f'({s['pre']})",
                                         rf"{self.adjoints(layer.post)} \odot {self.derivatives(layer)}",
                                         self.adjoints(layer.pre)], f"delta-{layer.number}"))
        return blocks

    def hidden_delta(self, layer, above) -> list:
        s = layer.symbols
        upstream = rf"{transposed(above.symbols['W'])} {above.symbols['delta']}"
        numbers = f"{self.weights(above, transpose=True)} {self.adjoints(above.pre)}"
        if OPS[layer.activation].multi_output:
            gradient = rf"\frac{{\partial {name_latex(self.loss)}}}{{\partial {s['post']}}}"
            return [chain(gradient, [upstream, numbers, self.adjoints(layer.post)], f"gradient-a{layer.number}"),
                    *self.jacobian_blocks(layer)]
        derivatives = self.derivatives(layer)
        return [self.derivative_note(layer),
                chain(s["delta"], [rf"\left({upstream}\right) \odot f'({s['pre']})",
                                   rf"\left({numbers}\right) \odot f'({s['pre']})",
                                   rf"{self.adjoints(layer.post)} \odot {derivatives}", self.adjoints(layer.pre)],
                      f"delta-{layer.number}")]

    def gradient_blocks(self, layer) -> list:
        s, batch = layer.symbols, self.batch
        gradient = lambda name: self.n(self.solution.parameters[name].gradient)  # noqa: E731 - the record's mean
        mean = rf"\frac{{1}}{{{batch}}} " if batch > 1 else ""
        delta, deltas = s["delta"], self.adjoints(layer.pre)
        blocks = [chain(self.gradient_of(s["W"]), [
            f"{mean}{delta} {transposed(s['in'])}", f"{mean}{deltas} {self.nodes_row(layer.inputs)}",
            self.weights(layer, gradient)], f"gradient-W{layer.number}")]
        if not layer.biases:
            return blocks
        units, ones = len(layer.pre), self.ones(batch)
        if layer.shared_bias:
            steps = [rf"{mean}\mathbf{{1}}^\top {delta}" + (r" \mathbf{1}" if batch > 1 else ""),
                     f"{mean}{self.ones(units, row=True)} {deltas}" + (f" {ones}" if batch > 1 else ""),
                     gradient(layer.biases[0])]
        elif batch > 1:
            steps = [rf"{mean}{delta} \mathbf{{1}}", f"{mean}{deltas} {ones}", self.biases(layer, gradient)]
        else:
            steps = [delta, self.biases(layer, gradient)]
        blocks.append(chain(self.gradient_of(s["b"]), steps, f"gradient-b{layer.number}"))
        return blocks

    def inputs_section(self) -> Section:
        """The data's gradients: the inputs' by the chain rule one layer further down, dL/dx = W^[1]T delta^[1];
        the targets', the loss's own derivative, as the engine recorded it."""
        first = self.layers[0]
        s, loss = first.symbols, name_latex(self.loss)
        targets = "T" if self.batch > 1 else "t"
        note = ("The data are fixed, but the loss depends on them as on anything it reads: the inputs' gradient is "
                "the chain rule one layer below the first, and the targets' is the loss's own derivative.")
        if self.batch > 1:
            note += (" Each column is one sample's gradient of its own loss; the gradient of the batch's mean loss "
                     f"divides it by {self.batch}.")
        blocks = (Paragraph((note,)),
                  chain(partial_of(self.loss, s["in"]), [rf"{transposed(s['W'])} {s['delta']}",
                                                         f"{self.weights(first, transpose=True)} "
                                                         f"{self.adjoints(first.pre)}",
                                                         self.adjoints(list(self.network.inputs))], "input-x"),
                  chain(rf"\frac{{\partial {loss}}}{{\partial {targets}}}", [self.adjoints(self.targets)], "input-t"))
        return Section(("Gradients of the inputs",), "inputs", blocks)
