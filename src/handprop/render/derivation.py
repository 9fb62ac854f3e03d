"""Records -> the worked solution, as a Document, in the homework's order.

The problem; the forward pass, each equation in symbols, with the numbers put
in, and its value; the loss; the backward pass from the loss to the inputs, each
dL/dnode as the chain rule's sum over the nodes that use it; every parameter's
gradient; the update; the Result table. Every number comes from the records
(values, local partials and adjoints the engine kept); this module only writes.
"""

from __future__ import annotations

import math
import re

from ..core.errors import HandpropError
from ..core.ops import OPS
from ..core.optim import OPTIMIZER_NAMES
from ..core.program import Apply, Ref
from ..core.symbolic import ExpansionTooLarge, expanded_adjoints, softmax_cross_entropy, symbolic_partials
from . import table
from .derivation_backward import BackwardSections, bracketed, chain, loss_parts, precision_note, slug
from .derivation_update import UpdateSection
from .document import Chain, Document, Figure, Math, Paragraph, Section, Table
from .mathtex import name_latex, to_latex
from .numbers import DEFAULT_DECIMALS, fixed, given

EXPAND_LIMIT = 400  # nodes in one written-out expression; beyond it the expansion is no longer readable


class _Builder(BackwardSections, UpdateSection):
    def __init__(self, solution, decimals: int, expand: bool, sample: int, figure: str | None = None,
                 step: int | None = None, inputs: bool = False):
        self.figure = figure
        self.step = step  # the one step whose update is written; None: every step (up to EXPLAIN_STEPS)
        self.inputs = inputs  # also the gradients of the data, by the chain rule
        self.solution = solution
        self.problem = solution.problem
        self.program = solution.problem.program
        self.decimals = decimals
        self.expand = expand
        self.k = sample - 1
        self.trace = solution.traces[self.k]
        self.batch = solution.batch_size
        self.loss = self.program.loss
        self.readers = self.program.readers()
        self.symbols: dict = {}
        for eq in self.program.equations:
            self.symbols.update(symbolic_partials(eq))
        self.by_target = {t: eq for eq in self.program.equations for t in eq.targets}
        self.softmax_ce = softmax_cross_entropy(self.program)
        self.expanded = self._expanded() if expand else {}

    def _expanded(self) -> dict:
        try:
            return expanded_adjoints(self.program, self.symbols, limit=EXPAND_LIMIT)
        except ExpansionTooLarge as exc:
            raise HandpropError(None, "--expand", f"written out in full, dL/d{exc.name} would take about "
                                f"{exc.estimate} symbols", f"at most {EXPAND_LIMIT}: leave out --expand for this "
                                "network; the chain rule is shown step by step without it") from None

    def n(self, value: float) -> str:
        return fixed(value, self.decimals)

    # -- sections --------------------------------------------------------------------------

    def document(self) -> Document:
        sections = [self.problem_section(), self.forward_section(), self.loss_section(), self.backward_section(),
                    self.gradient_section()]
        if self.inputs:
            sections.append(self.inputs_section())
        if self.solution.trained:
            sections.append(self.update_section())
        sections.append(self.result_section())
        return Document(self.solution.title, (Paragraph((precision_note(self.solution, self.decimals),)),),
                        tuple(sections))

    def graph_caption(self) -> str:
        """Figure 1's caption for an equations problem, saying which gradients its nodes carry."""
        loss, size = self.program.loss, self.solution.batch_size
        if size == 1:
            return f"Figure 1. The computation graph: each node with its value and its gradient \u2202{loss}/\u2202node."
        return (f"Figure 1. The computation graph: gradients of the mean loss {loss} over the batch of {size}; "
                f"nodes for sample 1 (each node's gradient \u2202{loss}/\u2202node carries the 1/{size}; summed over "
                "the samples, they give the parameters').")

    def problem_section(self) -> Section:
        blocks: list = [Paragraph(self.network_description())]
        if self.problem.network is None:
            blocks.append(Paragraph(("The network is given by these equations:",)))
            for eq in self.program.equations:
                blocks.append(chain(", ".join(name_latex(t) for t in eq.targets), [self.symbolic_rhs(eq)]))
        blocks.append(Figure(self.figure, "Figure 1. The network, with each parameter's initial value on its edge "
                                          "(hover for every detail)." if self.problem.network is not None else
                             self.graph_caption()))
        rows = tuple(((Math(name_latex(name)),), (given(value),)) for name, value in self.problem.parameters.items())
        blocks.append(Paragraph(("Initial parameters:",)))
        blocks.append(Table((("parameter",), ("initial value",)), rows, ("l", "r")))
        data_names = list(self.problem.data)
        if data_names:  # a function of its parameters alone has none
            header = (("sample",),) + tuple((Math(name_latex(n)),) for n in data_names)
            data_rows = tuple(((str(k + 1),),) + tuple((given(self.problem.data[n][k]),) for n in data_names)
                              for k in range(self.batch))
            blocks.append(Paragraph(("Inputs and targets:" if self.problem.network else "Data:",)))
            blocks.append(Table(header, data_rows, ("l",) + ("r",) * len(data_names)))
        optimizer = self.problem.optimizer
        steps = self.solution.steps
        if not optimizer.given:
            blocks.append(Paragraph(("No optimizer: the question is the gradients, and no parameter is updated.",)))
            return Section(("The problem",), "problem", tuple(blocks))
        frozen = f"; frozen (never updated): {', '.join(optimizer.frozen)}" if optimizer.frozen else ""
        blocks.append(Paragraph((f"Optimizer: {OPTIMIZER_NAMES[optimizer.name]} with learning rate ",
                                 Math(rf"\gamma = {optimizer.lr:g}"),
                                 f", {steps} step{'s' * (steps != 1)}" + (f" on the batch of {self.batch} samples"
                                                                          if self.batch > 1 else "") + frozen + ".")))
        return Section(("The problem",), "problem", tuple(blocks))

    def network_description(self) -> tuple:
        """The network in words, as a paragraph's parts (the loss's formula set as maths)."""
        network = self.problem.network
        if network is None:
            count, parameters = len(self.program.equations), len(self.program.parameters)
            if not self.solution.trained:
                return (f"A function given as {count} equation{'s' * (count != 1)} of {parameters} parameter"
                        f"{'s' * (parameters != 1)}; its value is {self.loss}, and the question is its gradients.",)
            return (f"A network given as {count} equations with {parameters} trained parameters; the loss is "
                    f"{self.loss}.",)
        parts = [f"{len(network.inputs)} input{'s' * (len(network.inputs) != 1)} ({', '.join(network.inputs)})"]
        for index, layer in enumerate(network.layers):
            kind = "an output layer" if index == len(network.layers) - 1 else "a hidden layer"
            op = OPS[layer.activation]
            settings = ", ".join(f"{name} = {value:g}" if not isinstance(value, str) else f"{name} = {value}"
                                 for name, value in layer.params)
            parts.append(f"{kind} of {layer.units} unit{'s' * (layer.units != 1)} with "
                         f"{op.activation_words or op.words}" + (f" ({settings})" if settings else ""))
        return (f"A layered network: {'; '.join(parts)}; loss: ", *loss_parts(network.loss), ", averaged over the batch.")

    def symbolic_rhs(self, eq, target_index: int = 0) -> str:
        expr = eq.expr
        if isinstance(expr, Apply) and OPS[expr.op].multi_output:
            return self.output_symbols(eq, target_index)
        return to_latex(expr)

    def output_symbols(self, eq, i: int, values: dict | None = None, args: list | None = None) -> str:
        """A multi-output op's i-th output as its formula (softmax: e^{o_i} over the sum); args, its arguments
        in LaTeX when already written (once for all the outputs, which all read them)."""
        if args is None:
            args = [to_latex(a, values=values, decimals=self.decimals) for a in eq.expr.args]
        return OPS[eq.expr.op].output_latex(args, i)

    def forward_section(self) -> Section:
        blocks: list = []
        if self.batch > 1:
            blocks.append(Paragraph((f"For sample {self.k + 1} of {self.batch} (the other samples go the same way; "
                                     "their values are in the JSON output).",)))
        for eq in self.program.equations:
            if eq.target == self.loss:
                continue
            blocks.extend(self.forward_chains(eq))
        return Section(("Forward pass",), "forward", tuple(blocks))

    def forward_chains(self, eq) -> list[Chain]:
        values = self.trace.values
        chains = []
        multi_output = isinstance(eq.expr, Apply) and OPS[eq.expr.op].multi_output
        if multi_output:
            symbols = [to_latex(a) for a in eq.expr.args]
            numbers = [to_latex(a, values=values, decimals=self.decimals) for a in eq.expr.args]
        for i, target in enumerate(eq.targets):
            if multi_output:
                steps = [self.output_symbols(eq, i, args=symbols), self.output_symbols(eq, i, args=numbers)]
            else:
                steps = [to_latex(eq.expr), to_latex(eq.expr, values=values, decimals=self.decimals,
                                                     known=self.stable_logs)]
            chains.append(chain(name_latex(target), steps + [self.n(values[target])], f"node-{slug(target)}"))
        return chains

    @property
    def stable_logs(self) -> dict:
        """ln y of each softmax output that underflowed (to 0, or to where ln of it as a float is no longer
        the engine's), as the engine computes it from the logits: ln y_j = o_j - ln sum_k e^{o_k}. The loss's
        line shows that number in place of ln(0.0000)."""
        known = {}
        for y, log in self.trace.logs.items():
            value = self.trace.values[y]
            if value <= 0 or abs(math.log(value) - log) > 1e-9 * max(1.0, abs(log)):
                known[Apply("log", (Ref(y),))] = log
        return known

    def loss_section(self) -> Section:
        blocks: list = list(self.forward_chains(self.by_target[self.loss]))
        if self.batch > 1:
            losses = [t.values[self.loss] for t in self.solution.traces]
            blocks.append(Paragraph(("The batch's loss is the mean of the per-sample losses:",)))
            blocks.append(chain(self.mean_name(), [
                rf"\frac{{1}}{{{self.batch}}} \sum_{{k=1}}^{{{self.batch}}} {name_latex(self.loss)}^{{(k)}}",
                rf"\frac{{1}}{{{self.batch}}}\left({' + '.join(bracketed(self.n(v)) for v in losses)}\right)",
                self.n(self.solution.loss)], "batch-loss"))
        # A function of its parameters, asked for its gradients only, is headed by its own name (f), not "Loss".
        title = ("Loss",) if self.solution.trained or self.problem.network is not None else (
            "The value of ", Math(name_latex(self.loss)))
        return Section(title, "loss", tuple(blocks))

    def mean_name(self) -> str:
        return rf"\bar{{{name_latex(self.loss)}}}"

    def result_section(self) -> Section:
        return result_section(self.solution, self.n)


def result_section(solution, n) -> Section:
    """The Result table, as `handprop solve` shows it: a parameter or node by its symbol, a sample's row marked;
    n formats a number. The scalar and the matrix forms end with it."""
    rows = []
    for name, *values in table.rows(solution):
        base, sample = re.fullmatch(r"(.*?)( \(sample \d+\))?", name).groups()
        label = (name,) if re.fullmatch(r"out\d+|loss", base) else (Math(name_latex(base)), sample or "")
        rows.append((tuple(part for part in label if part),)
                    + tuple(("",) if v is None else (n(v),) for v in values))
    header = tuple((h,) for h in table.header(solution))
    note = ("Outputs are at the initial parameters; the loss row's last column is the loss after "
            f"the update{'s' if solution.steps > 1 else ''}." if solution.trained
            else "There is no optimizer: the gradients are the answer, and no parameter is updated.")
    blocks = [Table(header, tuple(rows), ("l",) + ("r",) * (len(header) - 1)), Paragraph((note,))]
    return Section(("Result",), "result", tuple(blocks))


def build(solution, *, decimals: int | None = None, expand: bool = False, sample: int = 1,
          figure: str | None = None, step: int | None = None, inputs: bool = False) -> Document:
    """The worked solution of a solved problem, as a Document.

    >>> from handprop import load, solve
    >>> document = build(solve(load("homework")))
    >>> [s.anchor for s in document.sections]
    ['problem', 'forward', 'loss', 'backward', 'gradients', 'update', 'result']
    """
    if not 1 <= sample <= solution.batch_size:
        raise HandpropError(None, "--sample", f"sample {sample} does not exist",
                            f"1 to {solution.batch_size}, the problem's samples")
    places = decimals if decimals is not None else (solution.decimals if solution.decimals is not None
                                                    else DEFAULT_DECIMALS)
    if step is not None and not solution.trained:
        raise HandpropError(None, "--step", "the problem has no optimizer, so it takes no step",
                            "an [optimizer] section, or no --step")
    if step is not None and not 1 <= step <= solution.steps:
        raise HandpropError(None, "--step", f"step {step} does not exist", f"1 to {solution.steps}, the steps taken")
    if step is not None and step > 1 and not solution.history[step - 1].gradients:
        raise HandpropError(None, "--step", f"step {step} was not kept: a long run of a large problem keeps each "
                            "step's loss only", "fewer steps, or step 1")
    if inputs and not solution.problem.program.data:
        raise HandpropError(None, "--inputs", "the problem has no data, so there are no inputs' gradients",
                            "a problem with [data]")
    builder = _Builder(solution, places, expand, sample, figure, step, inputs)
    if solution.problem.stack is not None and not expand:  # a network of layer kinds, as a course writes it
        from .derivation_kinds import kinds_document

        return kinds_document(builder)
    return builder.document()
