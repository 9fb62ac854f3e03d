"""Frozen records of a solved problem: the only thing renderers read.

Numbers here are full precision; formatting is the renderers' business.
"""

from __future__ import annotations

from .core.frozen import dataclass, field


@dataclass(frozen=True)
class NodeRecord:
    name: str
    values: tuple  # one per sample
    gradients: tuple  # dL/dnode per sample, L the batch's mean loss (so each carries the 1/batch factor); None
    #                   where it is no finite number (a softmax output that underflowed to 0: the gradient
    #                   reaches its logit directly, from the log-softmax)


@dataclass(frozen=True)
class ParameterRecord:
    name: str
    initial: float
    gradient: float  # dL/dtheta at the initial parameters
    updated: float  # after all the optimizer's steps


@dataclass(frozen=True)
class StepRecord:
    """One optimizer step: the loss, the gradients and the outputs at its start; the parameters and the
    optimizer's own quantities after it. For a long run of a large problem, the loss and parameters only."""

    loss: float
    parameters: dict  # name -> value after this step
    state: dict = field(default_factory=dict)  # parameter -> the optimizer's quantities after it (handprop's
    #                                            letters: core/optim.py; torch_state gives torch.optim's names)
    gradients: dict = field(default_factory=dict)  # parameter -> dL/dtheta at the step's start
    outputs: tuple = ()  # per sample, the outputs at the step's start


@dataclass(frozen=True)
class StepView:
    """Step k of a solution as the Result table shows it: the outputs and loss at its start, the loss after
    it, and each parameter before it, its gradient, and after it."""

    step: int
    outputs: tuple  # per sample, at the step's start
    loss: float
    loss_after: float
    parameters: dict  # name -> (before, gradient, after)


@dataclass(frozen=True)
class Solution:
    """A solved problem: loss, outputs, every node and every parameter, and the raw traces."""

    title: str
    problem: object  # the Problem solved (kept for renderers: equations, names, settings)
    loss: float  # at the initial parameters (the batch mean)
    loss_after: float  # after all steps
    output_names: tuple  # output node names
    output_values: tuple  # per sample, a tuple of output values
    nodes: dict  # name -> NodeRecord: every data name (inputs, targets, constants), then every node
    parameters: dict  # name -> ParameterRecord
    traces: tuple  # per sample, scalar.SampleTrace at the initial parameters
    history: tuple  # of StepRecord, one per step
    decimals: int | None  # the problem's display precision, if it has one
    rounding: int | None = None  # worked out by hand: every intermediate value rounded to this many decimals
    outputs_after: tuple = ()  # per sample, the outputs at the parameters after all the steps (the new prediction)

    @property
    def batch_size(self) -> int:
        return len(self.traces)

    @property
    def steps(self) -> int:
        return len(self.history)

    def step(self, k: int) -> StepView:
        """Step k (1 to steps) as the Result table shows it.

        >>> from handprop import load, solve
        >>> view = solve(load("homework")).step(1)
        >>> round(view.loss, 4), [round(v, 4) for v in view.parameters["w7"]]
        (0.644, [0.1, -0.2331, 0.2166])
        """
        from .core.errors import HandpropError, check_whole

        check_whole(k, "step", 1, self.steps, optional=False)
        record = self.history[k - 1]
        if k > 1 and not (record.gradients and record.outputs and record.parameters and self.history[k - 2].parameters):
            raise HandpropError(None, "--step", f"step {k} was not kept: a long run of a large problem keeps each "
                                "step's loss only", "fewer steps, or step 1")
        before = ({name: r.initial for name, r in self.parameters.items()} if k == 1
                  else self.history[k - 2].parameters)
        loss_after = self.history[k].loss if k < self.steps else self.loss_after
        parameters = {name: (before[name], record.gradients[name], record.parameters[name])
                      for name in self.parameters}
        return StepView(k, record.outputs or self.output_values, record.loss, loss_after, parameters)

    @property
    def trained(self) -> bool:
        """Whether the problem takes optimizer steps (False for a gradient-only question: no [optimizer])."""
        return self.problem.optimizer.given

    @property
    def outputs(self) -> tuple:
        """Per sample, the output values (in the order of `output_names`).

        >>> from handprop import load, solve
        >>> [round(y, 4) for y in solve(load("homework")).outputs[0]]
        [0.5252, 0.4748]
        """
        return self.output_values

    def table(self, *, format: str = "table", decimals: int | None = None, nodes: bool = False,
              step: int | str | None = None) -> str:
        """The Result table as text: format "table", "markdown", "csv" or "json" (as `handprop solve`).

        >>> from handprop import load, solve
        >>> print(solve(load("homework")).table().splitlines()[4])
        out1     0.53
        """
        from .render import FORMATS, render

        _check_choice(format, FORMATS, "format")
        return render(self, format=format, decimals=decimals, nodes=nodes, step=step)

    def explain(self, *, format: str = "markdown", decimals: int | None = None, expand: bool = False,
                sample: int = 1, notation: str = "scalar", step: int | None = None, inputs: bool = False) -> str | bytes:
        """The worked solution: "markdown", "latex", "html" (text) or "pdf" (bytes; needs pdflatex); notation
        "matrix" writes a layered network in matrices and vectors, "scalar" (the default) unit by unit; every
        step's update (up to 50), or `step`'s only; `inputs` adds the data's gradients.

        >>> from handprop import load, solve
        >>> solve(load("homework")).explain().splitlines()[0]
        '# Machine Learning Homework 1'
        """
        from .render import EXPLAIN_FORMATS, explain

        _check_choice(format, EXPLAIN_FORMATS, "format")
        return explain(self, format=format, decimals=decimals, expand=expand, sample=sample, notation=notation,
                       step=step, inputs=inputs)

    def diagram(self, *, show: str = "names", bias: str = "units", decimals: int | None = None) -> str:
        """The network as SVG text; `show` is "names", "values", "gradients" or "updates".

        >>> from handprop import load, solve
        >>> solve(load("homework")).diagram(show="gradients").startswith("<svg")
        True
        """
        from .render import DIAGRAM_BIASES, DIAGRAM_SHOWS, diagram

        _check_choice(show, DIAGRAM_SHOWS, "show")
        _check_choice(bias, DIAGRAM_BIASES, "bias")
        return diagram(self, show=show, bias=bias, decimals=decimals)

    def to_json(self) -> str:
        """The whole solution as JSON text (docs/json.md).

        >>> import json
        >>> from handprop import load, solve
        >>> json.loads(solve(load("homework")).to_json())["output_names"]
        ['y1', 'y2']
        """
        from .render.json import render_json

        return render_json(self)

    def _repr_html_(self) -> str:
        from .display import solution_html

        return solution_html(self)

    def _repr_markdown_(self) -> str:
        return self.explain(format="markdown")

    def _repr_latex_(self) -> str:
        from .display import solution_latex

        return solution_latex(self)


def _check_choice(value: str, choices, what: str) -> None:
    if value not in choices:
        from .core.errors import HandpropError, one_of

        raise HandpropError(None, what, f"unknown {what} '{value}'", one_of(choices, value))
