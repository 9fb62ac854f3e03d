"""The worked solution of a network of layer kinds (a CNN), as a course writes it.

The problem: each layer with its shape after it, (C, H, W); the input image and every kernel as matrices, a
channel at a time. Forward, layer by layer: a convolution's formula in index notation,

    z[o,p,q] = sum_c sum_i sum_j K[o,c,i,j] x[c, s(p-1)+i-pad, s(q-1)+j-pad] + b[o]   (1-based)

then each output with the numbers put in, and the feature map as a matrix; the activation on the whole map;
each pooling window and its largest entry (or its mean); the flatten; a dense layer unit by unit. The loss as
the scalar form writes it; the backward pass (derivation_kinds_backward.py); the update and the Result as the
scalar form. Every number is read from the records (values, local partials, adjoints); nothing is computed.

A layer of a kind not written here (KNOWN in derivation_kinds_grids.py) is written node by node, as the generic
form does, and where the program's names are not the stack's, the whole solution is the generic one.
"""

from __future__ import annotations

from ..core.ops import OPS
from ..core.optim import OPTIMIZER_NAMES
from ..problem.kinds.base import describe_shape
from .derivation_backward import chain, loss_parts, slug, precision_note
from .derivation_kinds_backward import KindsBackward
from .derivation_kinds_batch import batch_layers
from .derivation_kinds_more import MoreKinds
from .derivation_kinds_grids import (KindsLayer, by_maximum, channels, window_of, grid_matrix, grid_symbol, layers_of,
                                     letter, listed, position)
from .document import Document, Figure, Math, Paragraph, Section, Table
from .mathtex import name_latex, to_latex
from .matrices import applied, bmatrix, side_limit
from .numbers import given


def kinds_document(builder) -> Document:
    """The worked solution of a network of layer kinds, made with the scalar form's builder (derivation.py),
    whose pieces it reuses: the loss, the chain rule for nodes of other kinds, the update, the Result. Where the
    stack's layers cannot be found in the program, the scalar form's own document.

    >>> from handprop import load, solve
    >>> from handprop.render.derivation import build
    >>> [s.anchor for s in build(solve(load("cnn_homework"))).sections[1].blocks][:2]
    ['forward-layer-1', 'forward-layer-2']
    """
    layers = batch_layers(builder.problem) if builder.problem.stack.batch else layers_of(builder.problem)
    if layers is None:
        return builder.document()
    return _KindsBuilder(builder, layers).document()


def _sizes(sizes: tuple, joiner: str = "×") -> str:
    """A size per axis: one number where all are the same (a stride of 1), else each (a kernel 2×3)."""
    if joiner != "×" and len(set(sizes)) == 1:
        return str(sizes[0])
    text = joiner.join(map(str, sizes))
    return text if joiner == "×" else f"({text})"


class _KindsBuilder(KindsBackward, MoreKinds):
    def __init__(self, builder, layers: list[KindsLayer]):
        self.g = builder  # the scalar form's builder: its trace, numbers and generic pieces
        self.layers = layers
        self.trace = builder.trace
        self.n = builder.n
        self.loss = builder.loss

    def document(self) -> Document:
        g = self.g
        sections = (self.batch_sections() if g.problem.stack.batch else  # batch-norm: the whole batch at once
                    [self.problem_section(), self.forward_section(), g.loss_section(), self.backward_section()])
        if g.solution.trained:
            sections.append(g.update_section())
        sections.append(g.result_section())
        return Document(g.solution.title, (Paragraph((precision_note(g.solution, g.decimals),)),), tuple(sections))

    # -- the problem ------------------------------------------------------------------------

    def words(self, layer: KindsLayer) -> str:
        from ..problem.kinds import KINDS

        settings = dict(layer.layer.settings)
        if layer.type.startswith("conv"):
            text = (f"{KINDS[layer.type].words}, {settings['channels']} channel{'s' * (settings['channels'] != 1)}, "
                    f"kernel {_sizes(settings['kernel'])}, stride {_sizes(settings['stride'], ', ')}" +
                    (f", padding {_sizes(settings['padding'], ', ')}" if any(settings["padding"]) else "") +
                    ("" if settings["bias"] else ", no bias"))
        elif "pool" in layer.type:
            text = (f"{KINDS[layer.type].words}, window {_sizes(settings['kernel'])}, "
                    f"stride {_sizes(settings['stride'], ', ')}")
        elif layer.type == "dense":
            units = layer.layer.shape_out[0]
            text = f"a dense layer of {units} unit{'s' * (units != 1)}" + ("" if settings.get("bias", True) else
                                                                             ", no bias")
        else:
            text = "flatten" if layer.type == "flatten" else KINDS[layer.type].words or layer.type
        return text

    def activation_words(self, layer: KindsLayer) -> str:
        if not layer.activated:
            return "none"
        op = OPS[layer.layer.activation]
        return op.activation_words or op.words

    def problem_section(self) -> Section:
        g = self.g
        stack = g.problem.stack
        blocks: list = [Paragraph((f"A network of layer kinds on an input of shape {describe_shape(stack.input_shape)}"
                                   "; loss: ", *loss_parts(stack.loss),
                                   (", averaged over the batch." if g.batch > 1 else ".") +
                                   " Each layer's output has the shape after it ((C, H, W): channels, rows, "
                                   "columns).",))]
        blocks += self.layers_and_figure(stack)
        inputs = self.layers[0].inputs
        which = f" (sample {g.k + 1} of {g.batch})" if g.batch > 1 else ""
        blocks.append(Paragraph((f"The input{which}, a channel at a time:",)))
        blocks += self.grid_chains(inputs, stack.input_shape, lambda name: given(self.trace.values[name]))
        targets = stack.targets
        blocks.append(Paragraph(("The targets:",)))
        blocks.append(chain("t", [bmatrix(len(targets), 1, lambda i, j: given(self.trace.values[targets[i]]),
                                          side_limit(g.decimals))]))
        blocks.append(Paragraph(("The parameters' initial values:",)))
        others = []
        for layer in self.layers:
            for tensor in layer.tensors:
                if layer.known:
                    blocks += self.tensor_chains(tensor, lambda name: given(g.solution.parameters[name].initial))
                else:
                    others += tensor.names
        if others:
            blocks.append(Table((("parameter",), ("initial value",)),
                                tuple(((Math(name_latex(n)),), (given(g.solution.parameters[n].initial),))
                                      for n in others), ("l", "r")))
        blocks.append(self.optimizer_paragraph())
        return Section(("The problem",), "problem", tuple(blocks))

    def layers_and_figure(self, stack) -> list:
        """The table of the layers (kind, activation, the shape after each) and Figure 1."""
        rows = [(("input",), ("the input",), ("",), (describe_shape(stack.input_shape),))]
        rows += [((str(layer.number),), (self.words(layer),), (self.activation_words(layer),),
                  (describe_shape(layer.layer.shape_out),)) for layer in self.layers]
        return [Table((("layer",), ("kind",), ("activation",), ("shape after it",)), tuple(rows), ("l", "l", "l", "r")),
                Figure(self.g.figure, "Figure 1. The network, with each value on its node.")]

    def optimizer_paragraph(self) -> Paragraph:
        g = self.g
        optimizer = g.problem.optimizer
        if not optimizer.given:
            return Paragraph(("No optimizer: the question is the gradients, and no parameter is updated.",))
        steps = g.solution.steps
        frozen = f"; frozen (never updated): {', '.join(optimizer.frozen)}" if optimizer.frozen else ""
        return Paragraph((f"Optimizer: {OPTIMIZER_NAMES[optimizer.name]} with learning rate ",
                          Math(rf"\gamma = {optimizer.lr:g}"),
                          f", {steps} step{'s' * (steps != 1)}" + (f" on the batch of {g.batch} samples"
                                                                   if g.batch > 1 else "") + frozen + "."))

    def grid_chains(self, names: tuple, shape: tuple, entry, lhs=None, rhs=None) -> list:
        """A grid a channel at a time: X_c = [matrix]; lhs(symbol) the left side made from the channel's symbol
        (X_c), rhs(c) a step before the matrix, when given."""
        found = []
        for c, (start, rows, columns) in enumerate(channels(shape), 1):
            symbol = grid_symbol(names[0], c if len(shape) > 1 else None)
            steps = ([rhs(c)] if rhs else []) + [grid_matrix(names, start, rows, columns, entry, self.g.decimals)]
            found.append(chain(lhs(symbol) if lhs else symbol, steps))
        return found

    def tensor_chains(self, tensor, entry, gradient: bool = False) -> list:
        """A parameter tensor as matrices: a kernel K[o,c] for each output and input channel, a dense layer's W,
        a bias as a column; with gradient, the left side is the loss's gradient with respect to it."""
        names, shape, most = tensor.names, tensor.shape, side_limit(self.g.decimals)
        symbol = letter(f"{tensor.name}[1]")
        lhs = (lambda text: rf"\frac{{\partial {name_latex(self.loss)}}}{{\partial {text}}}") if gradient else str
        if len(shape) >= 3:
            rows, columns = (shape[2], shape[3]) if len(shape) == 4 else (1, shape[2])
            found = []
            for o in range(shape[0]):
                for c in range(shape[1]):
                    start = (o * shape[1] + c) * rows * columns
                    found.append(chain(lhs(f"{symbol}_{{{o + 1},{c + 1}}}"), [bmatrix(
                        rows, columns, lambda i, j, start=start: entry(names[start + i * columns + j]), most)]))
            return found
        rows, columns = (shape[0], shape[1]) if len(shape) == 2 else (shape[0], 1)
        return [chain(lhs(symbol), [bmatrix(rows, columns, lambda i, j: entry(names[i * columns + j]), most)])]

    # -- forward ----------------------------------------------------------------------------

    def forward_section(self) -> Section:
        g = self.g
        blocks: list = []
        if g.batch > 1:
            blocks.append(Paragraph((f"For sample {g.k + 1} of {g.batch} (the other samples go the same way; "
                                     "their values are in the JSON output).",)))
        for layer in self.layers:
            title = f"Layer {layer.number}: {self.words(layer)}"
            blocks.append(Section((title,), f"forward-layer-{layer.number}", tuple(self.layer_forward(layer)),
                                  level=3))
        return Section(("Forward pass",), "forward", tuple(blocks))

    def layer_forward(self, layer: KindsLayer) -> list:
        g = self.g
        if layer.type.startswith("conv"):
            body = self.conv_forward(layer)
        elif "pool" in layer.type:
            body = self.pool_forward(layer)
        elif layer.type == "flatten":
            body = self.flatten_forward(layer)
        elif layer.type == "dense":
            body = self.dense_forward(layer)
        elif layer.known:
            body = self.more_forward(layer)
        else:
            body = [Paragraph(("Written node by node:",))]
            body += [c for eq in layer.equations for c in g.forward_chains(eq)]
        if layer.known and layer.type != "flatten" and layer.activated:
            body += self.activation_forward(layer)
        return body

    def value_chain(self, eq, first: bool) -> object:
        """An output with the numbers put in and its value; the first of a layer also in symbols."""
        g = self.g
        numbers = to_latex(eq.expr, values=self.trace.values, decimals=g.decimals)
        steps = ([to_latex(eq.expr)] if first else []) + [numbers, self.n(self.trace.values[eq.target])]
        return chain(name_latex(eq.target), steps, f"node-{slug(eq.target)}")

    def conv_forward(self, layer: KindsLayer) -> list:
        settings = dict(layer.layer.settings)
        n, dims = layer.number, len(settings["kernel"])
        x, k, b = letter(layer.inputs[0]), f"K^{{[{n}]}}", f"b^{{[{n}]}}"
        variables = ("p", "q")[:dims] if dims == 2 else ("p",)
        offsets = ("i", "j")[:dims] if dims == 2 else ("i",)
        at = ", ".join(position(v, i, s, pad) for v, i, s, pad in
                       zip(variables, offsets, settings["stride"], settings["padding"]))
        sums = rf"\sum_{{c=1}}^{{{layer.layer.shape_in[0]}}} " + " ".join(
            rf"\sum_{{{i}=1}}^{{{size}}}" for i, size in zip(offsets, settings["kernel"]))
        out = letter(layer.pre[0])
        formula = (rf"{sums} {k}_{{o,c,{','.join(offsets)}}}\, {x}_{{c,\, {at}}}" +
                   (rf" + {b}_{{o}}" if settings["bias"] else ""))
        padded = (" A position in the padding (outside the input) is 0 and adds nothing."
                  if any(settings["padding"]) else "")
        blocks: list = [Paragraph(("Each output is the kernel laid on the input and slid by the stride "
                                   "(a cross-correlation, as PyTorch's convolution): for output channel ", Math("o"),
                                   " at position " + ("(p, q)" if dims == 2 else "p") + ",")),
                        chain(rf"{out}_{{o,{','.join(variables)}}}", [formula]),
                        Paragraph((f"with indices from 1.{padded} With the numbers:",))]
        pre = set(layer.pre)  # once: a set per equation made this quadratic in the positions
        blocks += [self.value_chain(eq, i == 0) for i, eq in enumerate(eq for eq in layer.equations
                                                                           if eq.target in pre)]
        blocks.append(Paragraph(("The feature map" + ("s" if layer.layer.shape_out[0] > 1 else "") + ":",)))
        blocks += self.grid_chains(layer.pre, layer.layer.shape_out, lambda name: self.n(self.trace.values[name]))
        return blocks

    def activation_forward(self, layer: KindsLayer) -> list:
        g = self.g
        pre = set(layer.pre)
        equations = [eq for eq in layer.equations if eq.target not in pre]
        name = self.activation_words(layer)
        blocks: list = [Paragraph((f"The activation, {name}, on each entry:" if not OPS[layer.layer.activation]
                                   .multi_output else f"The activation, {name}:",))]
        if len(layer.layer.shape_out) == 1:
            blocks += [c for eq in equations for c in g.forward_chains(eq)]
            return blocks
        params = layer.layer.params
        return blocks + self.grid_chains(layer.post, layer.layer.shape_out,
                                         lambda n: self.n(self.trace.values[n]),
                                         rhs=lambda c: applied(layer.layer.activation, params,
                                                               grid_symbol(layer.pre[0], c)))

    def pool_forward(self, layer: KindsLayer) -> list:
        settings = dict(layer.layer.settings)
        dims, maxing = len(settings["kernel"]), by_maximum(layer.type)
        x = letter(layer.inputs[0])
        variables = ("p", "q") if dims == 2 else ("p",)
        offsets = ("i", "j") if dims == 2 else ("i",)
        at = ", ".join(position(v, i, s, 0) for v, i, s in zip(variables, offsets, settings["stride"]))
        ranges = ", ".join(f"{i} \\le {k}" for i, k in zip(offsets, settings["kernel"]))
        size = 1
        for k in settings["kernel"]:
            size *= k
        out = rf"{letter(layer.pre[0])}_{{c,{','.join(variables)}}}"
        if maxing:
            formula = rf"\max_{{{ranges}}} {x}_{{c,\, {at}}}"
            words = "Each output is the largest entry of its window"
        else:
            formula = rf"\frac{{1}}{{{size}}} " + " ".join(rf"\sum_{{{i}=1}}^{{{k}}}" for i, k in
                                                          zip(offsets, settings["kernel"])) + rf" {x}_{{c,\, {at}}}"
            words = "Each output is the mean of its window"
        blocks: list = [Paragraph((f"{words} ({'×'.join(map(str, settings['kernel']))}, moved by the stride "
                                   f"{_sizes(settings['stride'], ', ')}), a channel at a time:",)),
                        chain(out, [formula])]
        for eq in layer.equations:
            if maxing:
                args = [a.name for a in window_of(eq)]
                symbols = rf"\max\left({listed([name_latex(a) for a in args])}\right)"
                numbers = rf"\max\left({listed([self.n(self.trace.values[a]) for a in args])}\right)"
                blocks.append(chain(name_latex(eq.target), [symbols, numbers, self.n(self.trace.values[eq.target])],
                                    f"node-{slug(eq.target)}"))
            else:
                blocks.append(self.value_chain(eq, True))
        blocks.append(Paragraph(("Pooled:",)))
        blocks += self.grid_chains(layer.pre, layer.layer.shape_out, lambda name: self.n(self.trace.values[name]))
        return blocks

    def flatten_forward(self, layer: KindsLayer) -> list:
        shape = layer.layer.shape_in
        names = layer.inputs
        vector = rf"\left({listed([self.n(self.trace.values[name]) for name in names])}\right)^\top"
        return [Paragraph((f"The grid {describe_shape(shape)} listed in C order (channel, then row, then column) "
                           f"as a vector of {len(names)}; the next layer reads the same values:",)),
                chain(rf"\operatorname{{flatten}}({grid_symbol(names[0])})", [
                    rf"\left({listed([name_latex(name) for name in names])}\right)^\top", vector])]

    def dense_forward(self, layer: KindsLayer) -> list:
        n = layer.number
        x, h = letter(layer.inputs[0]), letter(layer.pre[0])
        bias = any(t.bias for t in layer.tensors)
        blocks: list = [Paragraph(("Each unit adds its weighted inputs" + (" and its bias" if bias else "") + ":",)),
                        chain(f"{h}_{{j}}", [rf"\sum_{{k=1}}^{{{layer.layer.shape_in[0]}}} W^{{[{n}]}}_{{j,k}} "
                                             rf"{x}_{{k}}" + (rf" + b^{{[{n}]}}_{{j}}" if bias else "")])]
        pre = set(layer.pre)
        blocks += [self.value_chain(eq, True) for eq in layer.equations if eq.target in pre]
        return blocks
