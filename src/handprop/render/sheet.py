"""A problem sheet: the exercise as a student gets it, in Markdown and as one offline HTML page.

The title; the network (drawn in the HTML, described in words in both: which input reaches which unit
through which weight); the inputs, targets and learning rate; the questions, as the homework asks them;
and an empty Result table (name | initial | gradient | updated) with the initial values filled in, for
the answers. The sheet gives away nothing the student is to find: the diagram is drawn from the solution
with every unknown number written as "?".
"""

from __future__ import annotations

import html
import math
from dataclasses import replace

from ..core.ops import OPS
from ..core.optim import OPTIMIZER_NAMES
from ..problem.layered import LOSSES, bias_names, unit_names, weight_rows
from .numbers import given



class _Unknown(float):
    """A number the student is to find: written "?" wherever a renderer writes a number."""

    def __new__(cls):
        return super().__new__(cls, math.nan)

    def __format__(self, spec: str) -> str:
        return "?"

    def __repr__(self) -> str:
        return "?"

    __str__ = __repr__


UNKNOWN = _Unknown()


def blank(solution):
    """The solution with everything the student is to find replaced by UNKNOWN: given values only."""
    problem = solution.problem
    known = set(problem.parameters) | set(problem.data)
    traces = tuple(replace(t, values={n: (v if n in known else UNKNOWN) for n, v in t.values.items()}, partials={},
                           adjoints=dict.fromkeys(t.adjoints, UNKNOWN)) for t in solution.traces)
    batch = solution.batch_size
    return replace(solution, loss=UNKNOWN, loss_after=UNKNOWN, traces=traces, history=(),
                   output_values=tuple((UNKNOWN,) * len(solution.output_names) for _ in range(batch)),
                   nodes={n: replace(r, values=(UNKNOWN,) * batch, gradients=(UNKNOWN,) * batch)
                          for n, r in solution.nodes.items()},
                   parameters={n: replace(r, gradient=UNKNOWN, updated=UNKNOWN)
                               for n, r in solution.parameters.items()})


def _decimals(solution) -> int:
    return solution.decimals if solution.decimals is not None else 2


def questions(solution) -> list[str]:
    problem = solution.problem
    outputs = ", ".join(f"out{j}" for j in range(1, len(solution.output_names) + 1))
    names = list(problem.parameters)
    span = f"{names[0]} … {names[-1]}" if len(names) > 2 else ", ".join(names)
    optimizer = problem.optimizer
    method = ("gradient descent" if optimizer.is_plain_sgd else OPTIMIZER_NAMES[optimizer.name])
    steps = "one step" if optimizer.steps == 1 else f"{optimizer.steps} steps"
    return [f"the outputs of the network ({outputs});", "the loss;",
            f"the gradient of every parameter ({span});",
            f"every parameter after updating by {method} with learning rate {optimizer.lr:g} ({steps})."]


def wiring(solution) -> list[str]:
    """Each unit's inputs and weights in words, as Figure 1 shows them."""
    problem = solution.problem
    network = problem.network
    lines = []
    previous = list(network.inputs)
    for layer, rows, biases, units in zip(network.layers, weight_rows(network), bias_names(network),
                                          unit_names(network)):
        for row, bias, (pre, post) in zip(rows, biases, units):
            inputs = ", ".join(f"{x} through {w}" for w, x in zip(row, previous))
            op = OPS[layer.activation]
            if op.multi_output:
                activation = f"{post} is its share of the {op.words} over {', '.join(p for p, _ in units)}"
            else:
                activation = f"{post} = {op.words}({pre})"
            lines.append(f"{pre} takes {inputs}, and the bias {bias}; {activation}.")
        previous = [post for _, post in units]
    return lines


def _given_rows(solution) -> list[tuple[str, str]]:
    problem = solution.problem
    rows = [(name, given(values[0])) for name, values in problem.data.items()]
    return rows + [("learning rate γ", f"{problem.optimizer.lr:g}")]


def _result_rows(solution) -> list[tuple[str, str]]:
    rows = [(f"out{j}", "") for j in range(1, len(solution.output_names) + 1)] + [("loss", "")]
    return rows + [(name, given(value)) for name, value in solution.problem.parameters.items()]


def _description(solution) -> str:
    network = solution.problem.network
    parts = [f"{len(network.inputs)} inputs" if len(network.inputs) != 1 else "1 input"]
    for index, layer in enumerate(network.layers):
        kind = "an output layer" if index == len(network.layers) - 1 else "a hidden layer"
        parts.append(f"{kind} of {layer.units} unit{'s' * (layer.units != 1)} with "
                     f"{OPS[layer.activation].activation_words or OPS[layer.activation].words}")
    return "A feedforward network: " + "; ".join(parts) + f". The loss is {LOSSES[network.loss].sheet}."


def render_sheet_markdown(solution, *, problem_file: str, html_file: str) -> str:
    """The problem sheet in Markdown; its Result table is what `handprop grade` reads back, filled in."""
    places = _decimals(solution)
    lines = [f"# {solution.title}", "", "## Problem", "",
             "Given the network in Figure 1 and the sample below, compute:", ""]
    lines += [f"{k}. {q}" for k, q in enumerate(questions(solution), 1)]
    lines += ["", f"Write every answer to {places} decimals.", "", "## The network", "",
              f"Figure 1, the network with its initial weights, is in the HTML sheet ({html_file}).", "",
              _description(solution), ""]
    lines += [f"- {line}" for line in wiring(solution)]
    lines += ["", "## The sample", "", "| given | value |", "|:---|---:|"]
    lines += [f"| {name} | {value} |" for name, value in _given_rows(solution)]
    lines += ["", "## Result", "", "Outputs and the loss go in the initial column.", "",
              "| name | initial | gradient | updated |", "|:---|---:|---:|---:|"]
    lines += [f"| {name} | {value} |  |  |" for name, value in _result_rows(solution)]
    lines += ["", f"Check the filled-in table with `handprop grade {problem_file} answers.md`.", ""]
    return "\n".join(lines)


_CSS = """
body { margin: 0; color: #1b1d21; background: #fff;
  font: 17px/1.6 Charter, "Bitstream Charter", Cambria, Georgia, "Times New Roman", serif; }
main { max-width: 48rem; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
h1 { font-size: 1.8rem; line-height: 1.2; margin: 0 0 1rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 0.75rem; border-bottom: 2px solid #1c5a8c; }
figure { margin: 1.25rem 0; text-align: center; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #5d6470; font-size: 0.92rem; }
table { border-collapse: collapse; margin: 0.75rem 0; }
th, td { border: 1px solid #9aa1ab; padding: 0.25rem 0.8rem; }
th { background: #f4f6f9; }
td.r { text-align: right; font-variant-numeric: tabular-nums; }
table.answers td { min-width: 6.5rem; height: 1.9rem; }
@media print { main { max-width: none; padding: 0; } h2, figure, tr { break-inside: avoid; } }
"""


def _table(header: tuple, rows: list, css_class: str = "") -> list[str]:
    attributes = f' class="{css_class}"' if css_class else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    def cell(i: int, text: str) -> str:
        return f'<td class="r">{html.escape(text)}</td>' if i else f"<td>{html.escape(text)}</td>"

    body = ["<tr>" + "".join(cell(i, c) for i, c in enumerate(row)) + "</tr>" for row in rows]
    return [f"<table{attributes}>", f"<thead><tr>{head}</tr></thead>", "<tbody>", *body, "</tbody>", "</table>"]


def render_sheet_html(solution) -> str:
    """The problem sheet as one HTML page (no script, no network request), with Figure 1 drawn."""
    from . import diagram

    figure = diagram(blank(solution), show="values")
    figure = figure.replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)
    places = _decimals(solution)
    title = html.escape(solution.title)
    body = [f"<h1>{title}</h1>", "<h2>Problem</h2>",
            "<p>Given the network in Figure 1 and the sample below, compute:</p>", "<ol>"]
    body += [f"<li>{html.escape(q)}</li>" for q in questions(solution)]
    body += ["</ol>", f"<p>Write every answer to {places} decimals.</p>", "<h2>The network</h2>",
             f"<figure>\n{figure}\n<figcaption>Figure 1. The network, each edge labelled with its weight; "
             "? marks a value to find.</figcaption>\n</figure>", f"<p>{html.escape(_description(solution))}</p>",
             "<ul>", *[f"<li>{html.escape(line)}</li>" for line in wiring(solution)], "</ul>",
             "<h2>The sample</h2>", *_table(("given", "value"), _given_rows(solution)),
             "<h2>Result</h2>", "<p>Outputs and the loss go in the initial column.</p>",
             *_table(("name", "initial", "gradient", "updated"),
                     [(name, value, "", "") for name, value in _result_rows(solution)], "answers")]
    head = ['<meta charset="utf-8">', '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>", f"<style>{_CSS}</style>"]
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', "<head>", *head, "</head>", "<body>", "<main>", *body,
                      "</main>", "</body>", "</html>", ""])
