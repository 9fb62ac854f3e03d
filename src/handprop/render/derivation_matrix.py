"""Records -> the worked solution in matrix form, as a Document, for a layered network.

Layer by layer, h = W x + b and a = f(h) with the numeric matrices; the loss in vector form; the backward
pass as delta vectors, delta^[l] = (W^[l+1]T delta^[l+1]) (.) f'(h^[l]), with dL/dW^[l] = delta^[l] a^[l-1]T
and dL/db^[l] = delta^[l] (Nielsen, Neural Networks and Deep Learning, ch. 2); the update as matrices.
Vectors are columns; W^[l] has a row per unit and a column per input, as torch.nn.Linear.weight. A batch is
a matrix with one column per sample (Nielsen's and Ng's layout), so that each formula reads as for one
sample, and a gradient is the mean over the columns. Every number is the engine's (values, adjoints, local
partials, the optimizer's state): this module lays them out and never computes one.
"""

from __future__ import annotations

import math

from ..core.errors import HandpropError
from ..core.ops import OPS
from ..core.optim import OPTIMIZER_NAMES
from ..core.symbolic import softmax_cross_entropy
from .derivation import result_section
from .derivation_backward import BackwardSections, bracketed, chain, loss_parts, precision_note
from .derivation_matrix_backward import MatrixBackward
from .derivation_matrix_update import MatrixUpdate
from .derivation_update import UpdateSection
from .document import Document, Figure, Math, Paragraph, Section
from .matrices import MatrixLayer, applied, bmatrix, matrix_layers, names_listed, shown, side_limit
from .mathtex import name_latex, to_latex
from .numbers import DEFAULT_DECIMALS, fixed, given


class _Vectors:
    """The names a loss's vector form is written in: symbols, or the numbers put in."""

    def __init__(self, y: str, t: str, t_row: str, outputs: int):
        self.y, self.t, self.t_row = y, t, t_row
        self.mean = "" if outputs == 1 else rf"\frac{{1}}{{{outputs}}}"
        self.twice_mean = "2" if outputs == 1 else rf"\frac{{2}}{{{outputs}}}"


# The layered losses in vector form, by their names in problem/layered.py's LOSSES: the loss, and its
# gradient with respect to the outputs; ln, the quotient and the square are taken entry by entry.
VECTOR_LOSSES = {
    "cross_entropy": (lambda v: rf"-{v.t_row} \ln {v.y}", lambda v: rf"-{v.t} \oslash {v.y}"),
    "binary_cross_entropy": (
        lambda v: rf"-{v.mean}\left({v.t_row} \ln {v.y} + \left(\mathbf{{1}} - {v.t}\right)^\top "
                  rf"\ln\left(\mathbf{{1}} - {v.y}\right)\right)",
        lambda v: rf"{v.mean}\left({v.y} - {v.t}\right) \oslash \left({v.y} \odot \left(\mathbf{{1}} - {v.y}"
                  r"\right)\right)"),
    "mse": (lambda v: rf"{v.mean}\left\| {v.y} - {v.t} \right\|^2",
            lambda v: rf"{v.twice_mean}\left({v.y} - {v.t}\right)"),
    "half_sse": (lambda v: rf"\frac{{1}}{{2}}\left\| {v.y} - {v.t} \right\|^2", lambda v: rf"{v.y} - {v.t}"),
}


class _MatrixBuilder(MatrixBackward, MatrixUpdate, BackwardSections, UpdateSection):
    def __init__(self, solution, decimals: int, sample: int, figure: str | None, step: int | None,
                 inputs: bool):
        self.step = step  # the one step whose update is written; None: as the scalar form, every step kept
        self.inputs = inputs  # also the gradients of the data
        self.solution = solution
        self.problem = solution.problem
        self.program = solution.problem.program
        self.network = solution.problem.network
        self.decimals = decimals
        self.most = side_limit(decimals)  # entries a matrix's side shows before it is summarised
        self.figure = figure
        self.k = sample - 1
        self.trace = solution.traces[self.k]
        self.traces = solution.traces
        self.batch = solution.batch_size
        self.loss = self.program.loss
        self.layers = matrix_layers(self.network, self.batch > 1)
        self.targets = list(self.network.targets)
        self.softmax_ce = softmax_cross_entropy(self.program)
        self.by_target = {t: eq for eq in self.program.equations for t in eq.targets}

    def n(self, value: float) -> str:
        return fixed(value, self.decimals)

    def given(self, value: float) -> str:
        """A value as the problem gave it (0.26, 1), unless that is longer than at the shown decimals (a
        drawn 0.4172608581056281): a matrix's columns stay narrow."""
        text = given(value)
        return text if len(text) <= len(self.n(value)) else self.n(value)

    # -- numbers laid out ------------------------------------------------------------------------

    def matrix(self, rows: int, columns: int, entry) -> str:
        return bmatrix(rows, columns, entry, self.most)

    def nodes(self, names: list, record: str = "values", sample: int | None = None) -> str:
        """Nodes' values (or adjoints) as a column; for a batch, a matrix with a column per sample (or
        only the given sample's column)."""
        traces = self.traces if sample is None else (self.traces[sample],)
        return self.matrix(len(names), len(traces), lambda i, k: self.n(getattr(traces[k], record)[names[i]]))

    def nodes_row(self, names: list, sample: int | None = None) -> str:
        """Nodes' values transposed: a row, or for a batch a row per sample."""
        traces = self.traces if sample is None else (self.traces[sample],)
        return self.matrix(len(traces), len(names), lambda k, j: self.n(traces[k].values[names[j]]))

    def derivatives(self, layer: MatrixLayer) -> str:
        """f'(h): each unit's local derivative da_j/dh_j, as the engine recorded it."""
        pairs = list(zip(layer.post, layer.pre))
        return self.matrix(len(pairs), self.batch,
                           lambda i, k: self.n(self.traces[k].partials[pairs[i][0]][pairs[i][1]]))

    def weights(self, layer: MatrixLayer, value=None, *, transpose: bool = False) -> str:
        value = value or (lambda name: self.n(self.solution.parameters[name].initial))
        rows = layer.weights
        if transpose:
            return self.matrix(len(rows[0]), len(rows), lambda i, j: value(rows[j][i]))
        return self.matrix(len(rows), len(rows[0]), lambda i, j: value(rows[i][j]))

    def biases(self, layer: MatrixLayer, value=None) -> str:
        """b as a column, or as a number when one bias is added to every unit."""
        value = value or (lambda name: self.n(self.solution.parameters[name].initial))
        if layer.shared_bias:
            return bracketed(value(layer.biases[0]))
        return self.matrix(len(layer.biases), 1, lambda i, j: value(layer.biases[i]))

    def ones(self, length: int, *, row: bool = False) -> str:
        return self.matrix(1, length, lambda i, j: "1") if row else self.matrix(length, 1, lambda i, j: "1")

    # -- sections --------------------------------------------------------------------------------

    def document(self) -> Document:
        sections = [self.problem_section(), self.forward_section(), self.loss_section(), self.backward_section()]
        if self.inputs:
            sections.append(self.inputs_section())
        if self.solution.trained:
            sections.append(self.update_section())
        sections.append(self.result_section())
        numbers = precision_note(self.solution, self.decimals)
        form = ("Written in matrix form: vectors are columns, and each layer's units are worked out at once"
                + (", for every sample of the batch, one column each." if self.batch > 1 else "."))
        return Document(self.solution.title, (Paragraph((numbers,)), Paragraph((form,))), tuple(sections))

    def problem_section(self) -> Section:
        network = self.network
        words = [f"A layered network of {len(network.inputs)} input{'s' * (len(network.inputs) != 1)}"]
        for layer in self.layers:
            op = OPS[layer.activation]
            units = len(layer.pre)
            settings = ", ".join(f"{name} = {value:g}" if not isinstance(value, str) else f"{name} = {value}"
                                 for name, value in layer.params)
            bias = ("one bias added to every unit" if layer.shared_bias else
                    "no bias" if not layer.biases else f"{units} bias{'es' * (units != 1)}")
            words.append(f"layer {layer.number}{' (the output layer)' if layer.output else ''}: {units} "
                         f"unit{'s' * (units != 1)} with {op.activation_words or op.words}"
                         + (f" ({settings})" if settings else "") + f", a {units} × {len(layer.inputs)} weight "
                         f"matrix and {bias}")
        blocks: list = [Paragraph(("; ".join(words) + "; loss: ", *loss_parts(network.loss),
                                   ", averaged over the batch."))]
        blocks.append(Paragraph(self.notation()))
        blocks.append(Figure(self.figure, "Figure 1. The network, with each parameter's initial value on its edge "
                                          "(hover for every detail)."))
        blocks.append(Paragraph(("Initial parameters, each matrix with its entries' names:",)))
        for layer in self.layers:
            s = layer.symbols
            initial = lambda name: self.given(self.solution.parameters[name].initial)  # noqa: E731
            blocks.append(chain(s["W"], [self.weights(layer, name_latex), self.weights(layer, initial)],
                                f"initial-W{layer.number}"))
            if layer.biases:
                blocks.append(chain(s["b"], [self.biases(layer, name_latex), self.biases(layer, initial)],
                                    f"initial-b{layer.number}"))
        first = self.layers[0]
        data = [(first.symbols["in"], list(self.network.inputs)), ("T" if self.batch > 1 else "t", self.targets)]
        if self.batch > 1:
            blocks.append(Paragraph((f"Inputs and targets, one column per sample ({self.batch} samples):",)))
        else:
            blocks.append(Paragraph(("Inputs and targets:",)))
        for symbol, names in data:
            value = lambda i, k, names=names: self.given(self.traces[k].values[names[i]])  # noqa: E731
            steps = [self.matrix(len(names), self.batch, value)]
            if self.batch == 1:
                steps.insert(0, self.matrix(len(names), 1, lambda i, k, names=names: name_latex(names[i])))
            blocks.append(chain(symbol, steps, f"data-{symbol.lower()}"))
        optimizer, steps = self.problem.optimizer, self.solution.steps
        if not optimizer.given:
            blocks.append(Paragraph(("No optimizer: the question is the gradients, and no parameter is updated.",)))
        else:
            frozen = f"; frozen (never updated): {', '.join(optimizer.frozen)}" if optimizer.frozen else ""
            blocks.append(Paragraph((f"Optimizer: {OPTIMIZER_NAMES[optimizer.name]} with learning rate ",
                                     Math(rf"\gamma = {optimizer.lr:g}"),
                                     f", {steps} step{'s' * (steps != 1)}" + (f" on the batch of {self.batch} "
                                                                              "samples" if self.batch > 1 else "")
                                     + frozen + ".")))
        return Section(("The problem",), "problem", tuple(blocks))

    def notation(self) -> tuple:
        first = self.layers[0].symbols
        parts = ["Vectors are columns. ", Math(first["W"]), " has a row for each unit of layer 1 and a column for "
                 "each of its inputs (as torch.nn.Linear.weight), so that its entry ", Math("(j, k)"),
                 " weighs input ", Math("k"), " into unit ", Math("j"), ". ", Math(r"\odot"),
                 " is the product entry by entry, ", Math(r"\oslash"), " the quotient, ", Math(r"^\top"),
                 " the transpose; a function of a vector is applied to each entry."]
        if self.batch > 1:
            parts += [" The batch is a matrix with one column per sample, ", Math(r"X = \left[x^{(1)} \cdots "
                      rf"x^{{({self.batch})}}\right]"), ", as in Nielsen's and Ng's courses, so that each formula "
                      "reads as for one sample; a bias vector is added to every column."]
        sides = [len(layer.inputs) for layer in self.layers] + [len(layer.pre) for layer in self.layers]
        if max(sides + [self.batch]) > self.most:
            opening = "its first" if self.most == 3 else f"its first {self.most - 2}"
            parts += [f" A side of more than {self.most} entries is shown as {opening}, ", Math(r"\cdots"),
                      " and its last, so that a line fits a printed page."]
        return tuple(parts)

    def forward_section(self) -> Section:
        subsections = []
        for layer in self.layers:
            s = layer.symbols
            vector = lambda symbol: symbol[0].lower() + symbol[1:]  # noqa: E731 - h^{[1]} for H^{[1]}
            listed = lambda names: names_listed([name_latex(n) for n in names], self.most)  # noqa: E731
            units = [Math(f"{vector(s['pre'])} = {listed(layer.pre)}"), " and ",
                     Math(f"{vector(s['post'])} = {listed(layer.post)}")]
            intro = ["Its units: ", *units] + ([", one column of ", Math(s["pre"]), " and ", Math(s["post"]),
                                                 " per sample."] if self.batch > 1 else ["."])
            bias = f" + {s['b']}" if layer.biases else ""
            numbers = (f"{self.weights(layer)} {self.nodes(layer.inputs)}"
                       + (f" + {self.biases(layer)}" if layer.biases else ""))
            pre = chain(s["pre"], [f"{s['W']} {s['in']}{bias}", numbers, self.nodes(layer.pre)],
                        f"forward-pre-{layer.number}")
            post = chain(s["post"], [applied(layer.activation, layer.params, s["pre"]),
                                     applied(layer.activation, layer.params, self.nodes(layer.pre)),
                                     self.nodes(layer.post)], f"forward-post-{layer.number}")
            title = f"Layer {layer.number}" + (" (output)" if layer.output else "")
            subsections.append(Section((title,), f"forward-layer-{layer.number}",
                                       (Paragraph(tuple(intro)), pre, post), level=3))
        intro = Paragraph(("Layer by layer, from the inputs: ",
                           Math(r"h^{[l]} = W^{[l]} a^{[l-1]} + b^{[l]}"), ", then ", Math(r"a^{[l]} = f(h^{[l]})"),
                           " with the layer's activation ", Math("f"), ", starting from ", Math("a^{[0]} = x"),
                           "; the output layer's are ", Math("o"), " and ", Math("y"), "."))
        return Section(("Forward pass",), "forward", (intro, *subsections))

    def vector_loss(self, symbols: bool, sample: int | None = None, *, capitals: bool = False) -> tuple | None:
        """The loss and dL/dy in vector form, in symbols (Y and T for a batch's, with capitals) or with sample's
        numbers (every sample's columns when sample is None); None for a loss with no vector form here."""
        forms = VECTOR_LOSSES.get(self.network.loss)
        if forms is None:
            return None
        outputs = self.layers[-1].post
        if symbols:
            y, t = ("Y", "T") if capitals else ("y", "t")
            vectors = _Vectors(y, t, t + r"^\top", len(outputs))
        else:
            vectors = _Vectors(self.nodes(outputs, sample=sample), self.nodes(self.targets, sample=sample),
                               self.nodes_row(self.targets, sample=sample), len(outputs))
        return forms[0](vectors), forms[1](vectors)

    def loss_section(self) -> Section:
        loss, k = name_latex(self.loss), self.k
        symbols = self.vector_loss(True)
        if symbols is None:  # a loss with no vector form: its equation, as the scalar form writes it
            eq = self.by_target[self.loss]
            steps = [to_latex(eq.expr), to_latex(eq.expr, values=self.trace.values, decimals=self.decimals)]
        else:
            steps = [symbols[0], self.vector_loss(False, k)[0]]
        notes = []
        if symbols is not None and self.underflowed():
            # ln 0 is no number: ln y as the engine takes it, from the logits (core/fusion.py)
            outputs = self.layers[-1].post
            logs = self.matrix(len(outputs), 1, lambda i, j: self.n(self.trace.logs[outputs[i]]))
            steps[1] = rf"-{self.nodes_row(self.targets, sample=k)} {logs}"
            notes = [Paragraph(("A softmax output underflowed to 0, so its logarithm is written as the engine takes "
                                "it, from the logits: ", Math(r"\ln y_j = o_j - \ln \sum_k e^{o_k}"), "."))]
        value = self.n(self.trace.values[self.loss])
        if self.batch == 1:
            return Section(("Loss",), "loss", (*notes, chain(loss, steps + [value], "loss-value")))
        blocks = [*notes, Paragraph(("Each sample's loss is ", Math(f"{loss} = {steps[0]}"), " of its columns ",
                                     Math("y"), " of ", Math("Y"), " and ", Math("t"), " of ", Math("T"),
                                     f"; sample {k + 1}'s:")),
                  chain(f"{loss}^{{({k + 1})}}", steps[1:] + [value], "loss-value"),
                  Paragraph(("The batch's loss is the mean of the per-sample losses:",))]
        losses = [r"\cdots" if j is None else bracketed(self.n(self.traces[j].values[self.loss]))
                  for j in shown(self.batch, self.most)]
        blocks.append(chain(rf"\bar{{{loss}}}", [
            rf"\frac{{1}}{{{self.batch}}} \sum_{{k=1}}^{{{self.batch}}} {loss}^{{(k)}}",
            rf"\frac{{1}}{{{self.batch}}}\left({' + '.join(losses)}\right)", self.n(self.solution.loss)],
            "batch-loss"))
        return Section(("Loss",), "loss", tuple(blocks))

    def underflowed(self) -> bool:
        """Whether the sample shown has a softmax output whose logarithm the loss reads from the logits, as it
        underflowed (to 0, or to where ln of it as a float is no longer the engine's): the scalar form's rule."""
        trace = self.trace
        return any(trace.values[y] <= 0 or abs(math.log(trace.values[y]) - log) > 1e-9 * max(1.0, abs(log))
                   for y, log in trace.logs.items())

    def result_section(self) -> Section:
        return result_section(self.solution, self.n)


def build_matrix(solution, *, decimals: int | None = None, expand: bool = False, sample: int = 1,
                 figure: str | None = None, step: int | None = None, inputs: bool = False) -> Document:
    """The worked solution of a solved layered problem in matrix form, as a Document.

    >>> from handprop import load, solve
    >>> document = build_matrix(solve(load("homework")))
    >>> [s.anchor for s in document.sections]
    ['problem', 'forward', 'loss', 'backward', 'update', 'result']
    """
    problem = solution.problem
    if problem.network is None:
        raise HandpropError(problem.source, "--notation", "the matrix form needs a layered network",
                            "this problem is given as equations, which have no weight matrices; leave out "
                            "--notation matrix for the scalar form")
    if expand:
        raise HandpropError(problem.source, "--expand", "the matrix form writes each gradient as a product of "
                            "matrices, not written out in full", "leave out --expand, or use --notation scalar")
    if not 1 <= sample <= solution.batch_size:
        raise HandpropError(None, "--sample", f"sample {sample} does not exist",
                            f"1 to {solution.batch_size}, the problem's samples")
    if step is not None:
        _check_step(solution, step)
    places = decimals if decimals is not None else (solution.decimals if solution.decimals is not None
                                                    else DEFAULT_DECIMALS)
    return _MatrixBuilder(solution, places, sample, figure, step, inputs).document()


def _check_step(solution, step: int) -> None:
    """A step whose update can be written: the scalar form's checks (derivation.build), said the same way."""
    if not solution.trained:
        raise HandpropError(None, "--step", "the problem has no optimizer, so it takes no step",
                            "an [optimizer] section, or no --step")
    if not 1 <= step <= solution.steps:
        raise HandpropError(None, "--step", f"step {step} does not exist", f"1 to {solution.steps}, the steps taken")
    if step > 1 and not solution.history[step - 1].gradients:
        raise HandpropError(None, "--step", f"step {step} was not kept: a long run of a large problem keeps each "
                            "step's loss only", "fewer steps, or step 1")

