"""The backward half of a network of layer kinds' worked solution, layer by layer from the loss back.

delta^{[n]} is the gradient of layer n's output before its activation. At the output, softmax with
cross-entropy gives delta = y - t; an activation multiplies entry by entry by its derivative; a dense layer's
dL/dW = delta a^T, dL/db = delta and its input's gradient W^T delta; a flatten puts the gradient back in its
grid's shape; max-pooling passes each window's gradient to its largest entry (the first where tied, as PyTorch)
and 0 to the others, average pooling shares it equally; a convolution's kernel gradient is

    dL/dK[o,c,i,j] = sum_p sum_q delta[o,p,q] x[c, s(p-1)+i-pad, s(q-1)+j-pad],   dL/db[o] = sum_p sum_q delta[o,p,q]

and its input's gradient the full convolution of delta with the kernel turned by 180 degrees, written in index
notation (for a hidden layer always; for the input with --inputs). Every number is the engine's: values, local
partials and adjoints from the trace.
"""

from __future__ import annotations

import math

from ..core.ops import OPS
from .derivation_backward import bracketed, chain, slug
from .derivation_kinds_grids import (
    by_maximum,
    window_of,
    KindsLayer,
    channels,
    delta,
    grid_symbol,
    index_of,
    letter,
    listed,
    position,
    written_sum,
)
from .document import Math, Paragraph, Section
from .mathtex import name_latex, partial, to_latex
from .matrices import bmatrix, side_limit, transposed


class KindsBackward:
    """Mixed into the kinds builder (derivation_kinds.py): uses its g (the scalar builder), layers, trace, n."""

    def backward_section(self) -> Section:
        g = self.g
        loss = name_latex(self.loss)
        intro: list = [Paragraph(("From the loss back, a layer at a time. For layer ", Math("n"), ", ",
                                  Math(rf"\delta^{{[n]}} = \partial {loss} / \partial z^{{[n]}}"),
                                  " is the gradient of its output before its activation, an entry for each output "
                                  "(z, h or o as the layer names it)." +
                                  (f" These are the derivatives of sample {g.k + 1}'s loss." if g.batch > 1 else ""),))]
        intro += g.convention_notes()
        blocks = []
        for layer in reversed(self.layers):
            body = self.layer_backward(layer) if layer.known else self.generic_backward(layer)
            if g.batch > 1 and layer.tensors and layer.known:
                body.append(Paragraph((f"The batch's gradient is the mean of the {g.batch} samples' gradients, ",
                                       Math(rf"\frac{{1}}{{{g.batch}}} \sum_{{k=1}}^{{{g.batch}}} "
                                            rf"\frac{{\partial {loss}^{{(k)}}}}{{\partial \theta}}"), ":")))
                for tensor in layer.tensors:
                    body += self.tensor_chains(tensor, lambda name: self.n(g.solution.parameters[name].gradient))
            blocks.append(Section((f"Layer {layer.number}: {self.words(layer)}",), f"backward-layer-{layer.number}",
                                  tuple(body), level=3))
        if g.inputs:
            blocks.append(self.data_section())
        return Section(("Backward pass",), "backward", tuple(intro + blocks))

    def writes_input(self, layer: KindsLayer) -> bool:
        """Whether the layer writes its input's gradient: a hidden layer's always, the network's input's with
        --inputs."""
        return layer.number > 1 or self.g.inputs

    def partial_grid(self, symbol: str) -> str:
        return rf"\frac{{\partial {name_latex(self.loss)}}}{{\partial {symbol}}}"

    def adjoint_entry(self, name: str) -> str:
        return self.n(self.trace.adjoints[name])

    # -- each kind ---------------------------------------------------------------------------

    def layer_backward(self, layer: KindsLayer) -> list:
        more = self.more_backward(layer)
        if more is not None:
            return more
        body: list = []
        if layer.type != "flatten":
            body += self.output_backward(layer)
        if layer.type.startswith("conv"):
            body += self.conv_backward(layer)
        elif "pool" in layer.type:
            body += self.pool_backward(layer) if self.writes_input(layer) else []
        elif layer.type == "flatten":
            if self.writes_input(layer):
                body.append(Paragraph(("The flatten changes no value: the gradient of its vector, put back in "
                                       "the grid's shape ", f"({', '.join(map(str, layer.layer.shape_in))}):")))
                body += self.grid_chains(layer.inputs, layer.layer.shape_in, self.adjoint_entry, self.partial_grid)
        else:
            body += self.dense_backward(layer)
        return body

    def output_backward(self, layer: KindsLayer) -> list:
        """From the gradient of the layer's output (after its activation) to delta: the loss's derivative at the
        last layer, then the activation's."""
        g, trace = self.g, self.trace
        loss = self.loss
        parts = g.softmax_ce_parts if layer.last else None
        if parts is not None and all(name in parts[0] for name in layer.pre):
            outputs, total, sum_text = parts
            if total == 1:
                blocks: list = [Paragraph(("Softmax meets cross-entropy, and the targets sum to 1 (",
                                           Math(f"{sum_text} = 1"), "), so the gradient of each logit is ",
                                           Math(rf"{self.partial_grid(letter(layer.pre[0]) + '_{j}')} = y_j - t_j"),
                                           " (the chain rule through every output of the softmax, simplified):"))]
                for name in layer.pre:
                    y, t = outputs[name]
                    blocks.append(chain(delta(name, layer.number), [
                        partial(loss, name), rf"{name_latex(y)} - {name_latex(t)}",
                        rf"{self.n(trace.values[y])} - {bracketed(self.n(trace.values[t]))}",
                        self.n(trace.adjoints[name])], f"grad-{slug(name)}"))
                return blocks
            blocks = [self.node(name) for name in layer.post]
            for name in layer.pre:
                blocks += [self.node(name)] + g.softmax_cross_entropy_note(name)
            return blocks
        blocks = []
        if layer.last:
            blocks.append(Paragraph(("The loss's derivative with respect to each output:",)))
            blocks += [self.node(name) for name in layer.post]
        if not layer.activated:
            if not layer.last and "pool" not in layer.type:
                blocks.append(Paragraph(("Without an activation, ", Math(rf"\delta^{{[{layer.number}]}}"),
                                         " is the gradient of the layer's output, found above.",)))
            return blocks
        op = OPS[layer.layer.activation]
        if op.multi_output:
            return blocks + [self.node(name) for name in layer.pre]
        local = to_latex(g.symbols[layer.post[0]][layer.pre[0]])
        blocks.append(Paragraph(("Through the activation, ", op.activation_words or op.words, ": ",
                                 Math(rf"\delta^{{[{layer.number}]}} = \frac{{\partial {name_latex(loss)}}}"
                                      rf"{{\partial {letter(layer.post[0])}}} \odot f'({letter(layer.pre[0])})"),
                                 ", entry by entry, with ",
                                 Math(f"{partial(layer.post[0], layer.pre[0])} = {local}"),
                                 " and likewise for the others, as the engine recorded them:")))
        if len(layer.layer.shape_out) == 1:
            for a, h in zip(layer.post, layer.pre):
                blocks.append(chain(delta(h, layer.number), [
                    partial(loss, h), rf"{partial(loss, a)} \cdot {to_latex(g.symbols[a][h])}",
                    rf"{bracketed(self.n(trace.adjoints[a]))} \cdot {bracketed(self.n(trace.partials[a][h]))}",
                    self.n(trace.adjoints[h])], f"grad-{slug(h)}"))
            return blocks
        derivative = {h: a for a, h in zip(layer.post, layer.pre)}
        most = side_limit(g.decimals)
        for c, (start, rows, columns) in enumerate(channels(layer.layer.shape_out), 1):
            def matrix(entry, names=layer.pre, start=start, rows=rows, columns=columns):
                return bmatrix(rows, columns, lambda i, j: entry(names[start + i * columns + j]), most)
            post_symbol, pre_symbol = grid_symbol(layer.post[0], c), grid_symbol(layer.pre[0], c)
            blocks.append(chain(rf"\delta^{{[{layer.number}]}}_{{{c}}}", [
                rf"{self.partial_grid(post_symbol)} \odot f'({pre_symbol})",
                matrix(lambda name: self.n(trace.adjoints[name]), layer.post) + r" \odot " +
                matrix(lambda h: self.n(trace.partials[derivative[h]][h])),
                matrix(lambda h: self.n(trace.adjoints[h]))]))
        return blocks

    def node(self, name: str):
        """The scalar form's chain rule for one node (or its note, where its gradient is no float)."""
        if not math.isfinite(self.trace.adjoints[name]):
            return self.g.unbounded_note(name)
        return self.g.node_chain(name)

    def generic_backward(self, layer: KindsLayer) -> list:
        """A layer of a kind not written here, node by node as the scalar form: its nodes, its parameters, its
        input."""
        nodes = [t for eq in reversed(layer.equations) for t in reversed(eq.targets)]
        blocks: list = [Paragraph(("Written node by node, by the chain rule:",))]
        blocks += [self.node(name) for name in nodes]
        blocks += [self.node(name) for tensor in layer.tensors for name in tensor.names]
        if self.writes_input(layer):
            blocks += [self.node(name) for name in layer.inputs]
        return blocks

    def sum_chain(self, name: str, readers: list, general: str | None, term) -> object:
        """dL/dname as a sum over the readers given, each term(m) -> (symbols, numbers, whether 0); general, the
        sum in index notation, when given."""
        symbols, numbers = written_sum([term(m) for m in readers])
        steps = ([general] if general else []) + [symbols, numbers, self.n(self.trace.adjoints[name])]
        return chain(partial(self.loss, name), steps,
                     f"grad-{slug(name)}")

    def conv_backward(self, layer: KindsLayer) -> list:
        g, trace = self.g, self.trace
        settings = dict(layer.layer.settings)
        n, dims = layer.number, len(settings["kernel"])
        variables, offsets = (("p", "q"), ("i", "j")) if dims == 2 else (("p",), ("i",))
        x = letter(layer.inputs[0])
        at = ", ".join(position(v, i, s, pad) for v, i, s, pad in
                       zip(variables, offsets, settings["stride"], settings["padding"]))
        over = " ".join(rf"\sum_{{{v}}}" for v in variables)
        pre = set(layer.pre)
        d = rf"\delta^{{[{n}]}}_{{o,{','.join(variables)}}}"

        def readers(name):
            return [m for m in g.readers.get(name, ()) if m in pre and m in trace.partials]

        def product(m, name):  # delta_m times m's local derivative with respect to name (the other factor)
            other = trace.partials[m][name]
            return (f"{delta(m, n)} {to_latex(g.symbols[m][name])}",
                    rf"{bracketed(self.n(trace.adjoints[m]))} \cdot {bracketed(self.n(other))}",
                    trace.adjoints[m] == 0 or other == 0)

        kernel, bias = layer.tensors[0], (layer.tensors[1] if len(layer.tensors) > 1 else None)
        k_index = f"o,c,{','.join(offsets)}"
        blocks: list = [Paragraph(("The kernel's gradient: each weight met every position the kernel was laid on, so "
                                   "its gradient sums ", Math(rf"\delta \cdot {x}"), " over the positions, the input "
                                   "entry under it at each:")),
                        chain(rf"\frac{{\partial {name_latex(self.loss)}}}{{\partial K^{{[{n}]}}_{{{k_index}}}}}",
                              [rf"{over} {d}\, {x}_{{c,\, {at}}}"])]
        for name in kernel.names:
            o, c, *ij = (int(v) for v in index_of(name).split(","))
            at_entry = ", ".join(position(v, i, s, pad) for v, i, s, pad in
                                 zip(variables, ij, settings["stride"], settings["padding"]))
            general = rf"{over} \delta^{{[{n}]}}_{{{o},{','.join(variables)}}}\, {x}_{{{c},\, {at_entry}}}"
            blocks.append(self.sum_chain(name, readers(name), general, lambda m, name=name: product(m, name)))
        blocks += self.tensor_chains(kernel, lambda name: self.n(trace.adjoints[name]), gradient=True)
        if bias is not None:
            blocks.append(Paragraph(("The bias's gradient: each output channel's bias was added at every position, "
                                     "so its gradient is the sum of that channel's ", Math(r"\delta"), ":")))
            for name in bias.names:
                blocks.append(self.sum_chain(name, readers(name), rf"{over} \delta^{{[{n}]}}_{{{index_of(name)},"
                                                                  rf"{','.join(variables)}}}",
                                             lambda m: (delta(m, n), bracketed(self.n(trace.adjoints[m])),
                                                        trace.adjoints[m] == 0)))
        if not self.writes_input(layer):
            return blocks
        stride, padding = settings["stride"], settings["padding"]
        spread = [s - 1 for s in stride]
        pads = [k - 1 - p for k, p in zip(settings["kernel"], padding)]
        words = ("the full convolution of δ" + (f" (spread out with {_each(spread)} zero{'s' * (max(spread) > 1)} "
                                               "between its entries)" if any(spread) else "") +
                 f", padded with {_each(pads)} zero{'s' * (max(pads) != 1)} on each side, with each kernel turned by "
                 "180°")
        targets = ("h", "w") if dims == 2 else ("l",)
        over_inputs = " ".join(rf"\sum_{{{v},{i}:\ {position(v, i, s, pad)} = {t}}}" for v, i, s, pad, t in
                               zip(variables, offsets, stride, padding, targets))
        blocks += [Paragraph(("The input's gradient: each input entry was read by every output whose window covers it, "
                              "through the kernel weight over it; summed over those outputs (and the output channels) "
                              f"this is {words}:",)),
                   chain(self.partial_grid(rf"{x}_{{c,{','.join(targets)}}}"),
                         [rf"\sum_{{o}} {over_inputs} {d}\, K^{{[{n}]}}_{{{k_index}}}"])]
        for name in layer.inputs:
            blocks.append(self.sum_chain(name, readers(name), None, lambda m, name=name: product(m, name)))
        blocks += self.grid_chains(layer.inputs, layer.layer.shape_in, self.adjoint_entry, self.partial_grid)
        return blocks

    def pool_backward(self, layer: KindsLayer) -> list:
        trace, loss = self.trace, self.loss
        maxing = by_maximum(layer.type)
        blocks: list = [Paragraph((("Max-pooling passes each window's gradient to its largest entry (the first in "
                                    "reading order where entries tie, as PyTorch) and 0 to the others:")
                                   if maxing else
                                   "Average pooling shares each window's gradient equally among its entries:",))]
        for eq in layer.equations:
            p = eq.target
            window = [a.name for a in window_of(eq)] if maxing else list(trace.partials[p])
            grad = Math(f"{partial(loss, p)} = {self.n(trace.adjoints[p])}")
            if maxing:
                routed = [a for a in window if trace.partials[p][a] != 0]
                largest = trace.values[p]
                tied = sum(trace.values[a] == largest for a in window)
                tie = f", the first of the {tied} tied at {self.n(largest)}" if tied > 1 else ""
                rest = len(window) - len(routed)
                blocks.append(Paragraph((grad, " goes to ", Math(", ".join(name_latex(a) for a in routed)),
                                         f" (the largest of {len(window)}: ",
                                         Math(rf"\max\left({listed([self.n(trace.values[a]) for a in window])}\right)"
                                              rf" = {self.n(largest)}"), f"{tie}); the other {rest} get 0.")))
            else:
                share = trace.partials[p][window[0]]
                blocks.append(Paragraph((grad, f" is shared by its {len(window)} entries ",
                                         Math(listed([name_latex(a) for a in window])), ": each gets ",
                                         Math(rf"{self.n(share)} \cdot {bracketed(self.n(trace.adjoints[p]))}"), ".")))
        settings = dict(layer.layer.settings)
        overlap = any(s < k for s, k in zip(settings["stride"], settings["kernel"]))
        blocks.append(Paragraph(("Gathered in the input's shape (an entry in no window gets 0" +
                                 (", one in several windows the sum of what each gives it" if overlap else "") + "):",)))
        blocks += self.grid_chains(layer.inputs, layer.layer.shape_in, self.adjoint_entry, self.partial_grid)
        return blocks

    def dense_backward(self, layer: KindsLayer) -> list:
        g, trace = self.g, self.trace
        n, most = layer.number, side_limit(g.decimals)
        units, fan_in = layer.layer.shape_out[0], layer.layer.shape_in[0]
        x, d = letter(layer.inputs[0]), rf"\delta^{{[{n}]}}"
        weights = layer.tensors[0].names
        blocks: list = [Paragraph(("The weights' gradient is an outer product, ",
                                   Math(rf"\partial {name_latex(self.loss)} / \partial W^{{[{n}]}}_{{j,k}} = "
                                        rf"\delta^{{[{n}]}}_{{j}} {x}_{{k}}"), ":")),
                        chain(rf"\frac{{\partial {name_latex(self.loss)}}}{{\partial W^{{[{n}]}}}}", [
                            rf"{d} {transposed(x)}",
                            bmatrix(units, 1, lambda i, j: self.n(trace.adjoints[layer.pre[i]]), most) +
                            bmatrix(1, fan_in, lambda i, j: self.n(trace.values[layer.inputs[j]]), most),
                            bmatrix(units, fan_in, lambda i, j: self.n(trace.adjoints[weights[i * fan_in + j]]), most)],
                            f"grad-{slug(layer.tensors[0].name)}")]
        if len(layer.tensors) > 1:
            biases = layer.tensors[1].names
            blocks.append(chain(rf"\frac{{\partial {name_latex(self.loss)}}}{{\partial b^{{[{n}]}}}}", [
                d, bmatrix(units, 1, lambda i, j: self.n(trace.adjoints[biases[i]]), most)],
                f"grad-{slug(layer.tensors[1].name)}"))
        if self.writes_input(layer):
            blocks.append(Paragraph(("Its input's gradient, each input summing what it gave every unit:",)))
            blocks.append(chain(self.partial_grid(x), [
                rf"W^{{[{n}]\top}} {d}",
                bmatrix(fan_in, units, lambda i, j: self.n(trace.values[weights[j * fan_in + i]]), most) +
                bmatrix(units, 1, lambda i, j: self.n(trace.adjoints[layer.pre[i]]), most),
                bmatrix(fan_in, 1, lambda i, j: self.n(trace.adjoints[layer.inputs[i]]), most)]))
        return blocks

    def data_section(self) -> Section:
        """--inputs: the input's gradient (worked out in the first layer's part, when its kind is written here)
        and every other data value's, by the chain rule."""
        g = self.g
        first = self.layers[0]
        blocks: list = [Paragraph(("The data are fixed, but the loss depends on them as on anything it reads.",))]
        blocks += self.grid_chains(first.inputs, g.problem.stack.input_shape, self.adjoint_entry, self.partial_grid)
        inputs = set(first.inputs)
        rest = [name for name in g.program.data if name not in inputs]
        blocks += [self.node(name) for name in rest]
        return Section(("Gradients of the inputs",), "inputs", tuple(blocks), level=3)


def _each(sizes: list) -> str:
    """One number where every axis has the same, else one per axis (rows, columns)."""
    return str(sizes[0]) if len(set(sizes)) == 1 else " and ".join(map(str, sizes)) + " (rows and columns)"
