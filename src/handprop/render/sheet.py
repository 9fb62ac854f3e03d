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
from ..core.frozen import replace
from itertools import product

from ..core.ops import OPS
from ..core.optim import OPTIMIZER_NAMES
from ..problem.layered import LOSSES, NO_ACTIVATION, bias_names, unit_names, weight_rows
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
                   nodes={n: replace(r, values=r.values if n in known else (UNKNOWN,) * batch,
                                     gradients=(UNKNOWN,) * batch) for n, r in solution.nodes.items()},
                   parameters={n: replace(r, gradient=UNKNOWN, updated=UNKNOWN)
                               for n, r in solution.parameters.items()})


def decimals_of(solution) -> int:
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


def given_rows(solution) -> list[tuple[str, str]]:
    problem = solution.problem
    rows = [(name, given(values[0])) for name, values in problem.data.items()]
    return rows + [("learning rate γ", f"{problem.optimizer.lr:g}")]


def result_rows(solution) -> list[tuple[str, str, str, str]]:
    """name | initial | gradient | updated: the cells to fill in empty (with "?" for a network of layer kinds,
    whose sheet marks every unknown so)."""
    unknown = "?" if solution.problem.stack is not None else ""
    rows = [(f"out{j}", unknown, "", "") for j in range(1, len(solution.output_names) + 1)]
    rows.append(("loss", unknown, "", ""))
    return rows + [(name, given(value), unknown, unknown) for name, value in solution.problem.parameters.items()]


# -- a network of layer kinds: its layers in a table, its tensors as matrices ---------------------------------

def _slices(name: str, shape: tuple, values: list) -> list[tuple[str, list]]:
    """A tensor as matrices: a vector as one row, a matrix as itself, a tensor of more axes one matrix per index
    of its leading axes, named by them (K1[1,2] holds K1[1,2,i,j]).

    >>> _slices("K1", (1, 2, 1, 2), ["1", "2", "3", "4"])
    [('K1[1,1]', [['1', '2']]), ('K1[1,2]', [['3', '4']])]
    """
    if len(shape) <= 1:
        return [(name, [list(values)])]
    rows, columns = shape[-2:]
    size = rows * columns
    found = []
    for k, index in enumerate(product(*(range(1, n + 1) for n in shape[:-2]))):
        chunk = values[k * size:(k + 1) * size]
        label = f"{name}[{','.join(map(str, index))}]" if index else name
        found.append((label, [chunk[i * columns:(i + 1) * columns] for i in range(rows)]))
    return found


def stack_tensors(solution) -> tuple[list, list, list]:
    """The given tensors of a network of layer kinds as (caption, slices): each sample's input and targets, and
    each parameter tensor; and the layers' own data (a recurrent layer's initial state) as (name, value) rows."""
    from ..problem.kinds.stack import in_sample

    problem = solution.problem
    stack = problem.stack
    coupled = stack.batch  # batch-norm: the whole batch is one sample, whose names carry the sample's index
    samples = coupled or problem.batch_size

    def values(names, s: int) -> list:
        return [given(problem.data[name][0 if coupled else s - 1]) for name in names]

    def of_sample(names, s: int) -> tuple:
        return tuple(in_sample(name, s) for name in names) if coupled else names

    sample_data, rows = [], []
    for s in range(1, samples + 1):
        which = f" (sample {s})" if samples > 1 else ""
        targets = stack.sample_targets(s) if coupled else stack.targets
        inputs = values(of_sample(stack.inputs, s), s)
        sample_data.append((f"The input{which}", _slices("x", stack.input_shape, inputs)))
        sample_data.append((f"The targets{which}", _slices("t", stack.output_shape, values(targets, s))))
        layer_data = of_sample(stack.layer_data, s)
        rows += [(name + which, value) for name, value in zip(stack.layer_data, values(layer_data, s))]
    parameters = [(tensor.name, _slices(tensor.name, tensor.shape, [given(problem.parameters[n])
                                                                   for n in tensor.names]))
                  for tensor in stack.tensors()]
    return sample_data, parameters, rows + [("learning rate γ", f"{problem.optimizer.lr:g}")]


def stack_layers(solution) -> list[tuple[str, str, str, str]]:
    """layer | kind and settings | activation | shape after it."""
    from ..problem.kinds.base import describe_shape

    def setting(value) -> str:
        if isinstance(value, tuple):
            return "×".join(map(setting, value))
        return str(value).lower() if isinstance(value, bool) else str(value)

    stack = solution.problem.stack
    rows = [("input", "the input", "", describe_shape(stack.input_shape))]
    for n, layer in enumerate(stack.layers, 1):
        settings = ", ".join(f"{key} {setting(value)}" for key, value in layer.settings)
        op = OPS[layer.activation]
        activation = "none" if layer.activation == NO_ACTIVATION else op.activation_words or op.words
        rows.append((str(n), layer.type + (f" ({settings})" if settings else ""), activation,
                     describe_shape(layer.shape_out)))
    return rows


def slices_note(solution) -> list[str]:
    """How a tensor of more than two axes is shown, with the first such tensor as the example; none if none."""
    stack = solution.problem.stack
    for name, shape in [("x", stack.input_shape)] + [(t.name, t.shape) for t in stack.tensors()]:
        if len(shape) > 2:
            leading = ",".join("1" * (len(shape) - 2))
            return [(f"A tensor of more than two axes is shown as matrices, one for each index of its leading axes: "
                     f"{name}[{leading}] holds {name}[{leading},i,j].")]
    return []


def _stack_markdown(solution, html_file: str) -> list[str]:
    from .matrices import bmatrix

    def matrices(slices) -> str:  # each named as the Result table names its entries: K1[1,1] = [...]
        return "$$" + r" \quad ".join(
            rf"\mathrm{{{label}}} = " + bmatrix(len(rows), len(rows[0]), lambda i, j, rows=rows: rows[i][j],
                                                 max(len(rows), len(rows[0])))
            for label, rows in slices) + "$$"

    stack = solution.problem.stack
    sample_data, parameters, rows = stack_tensors(solution)
    lines = ["## The network", "", f"Figure 1, the network with its values, is in the HTML sheet ({html_file}).", "",
             f"A network of layer kinds; the loss is {LOSSES[stack.loss].sheet}.", "",
             "| layer | kind | activation | shape after it |", "|:---|:---|:---|---:|"]
    lines += [f"| {' | '.join(row)} |" for row in stack_layers(solution)]
    lines += [""] + [line + "\n" for line in slices_note(solution)] + ["## The sample", ""]
    for caption, slices in sample_data:
        lines += [f"{caption}:", "", matrices(slices), ""]
    lines += ["| given | value |", "|:---|---:|"] + [f"| {name} | {value} |" for name, value in rows]
    lines += ["", "## The parameters", ""]
    for _, slices in parameters:
        lines += [matrices(slices), ""]
    return lines


def _stack_html(solution) -> list[str]:
    def matrices(slices) -> str:
        return '<div class="tensors">' + "".join(
            f'<span class="tensor"><span>{html.escape(label)} =</span><table class="matrix"><tbody>' +
            "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows) +
            "</tbody></table></span>" for label, rows in slices) + "</div>"

    stack = solution.problem.stack
    sample_data, parameters, rows = stack_tensors(solution)
    body = [f"<p>A network of layer kinds; the loss is {html.escape(LOSSES[stack.loss].sheet)}.</p>",
            *_table(("layer", "kind", "activation", "shape after it"), stack_layers(solution), left=3),
            *[f"<p>{html.escape(line)}</p>" for line in slices_note(solution)], "<h2>The sample</h2>"]
    for caption, slices in sample_data:
        body += [f"<p>{html.escape(caption)}:</p>", matrices(slices)]
    body += [*_table(("given", "value"), rows), "<h2>The parameters</h2>"]
    body += [matrices(slices) for _, slices in parameters]
    return body


def description(solution) -> str:
    network = solution.problem.network
    parts = [f"{len(network.inputs)} inputs" if len(network.inputs) != 1 else "1 input"]
    for index, layer in enumerate(network.layers):
        kind = "an output layer" if index == len(network.layers) - 1 else "a hidden layer"
        parts.append(f"{kind} of {layer.units} unit{'s' * (layer.units != 1)} with "
                     f"{OPS[layer.activation].activation_words or OPS[layer.activation].words}")
    return "A feedforward network: " + "; ".join(parts) + f". The loss is {LOSSES[network.loss].sheet}."


def render_sheet_markdown(solution, *, problem_file: str, html_file: str) -> str:
    """The problem sheet in Markdown; its Result table is what `handprop grade` reads back, filled in."""
    places = decimals_of(solution)
    lines = [f"# {solution.title}", "", "## Problem", "",
             "Given the network in Figure 1 and the sample below, compute:", ""]
    lines += [f"{k}. {q}" for k, q in enumerate(questions(solution), 1)]
    lines += ["", f"Write every answer to {places} decimals.", ""]
    if solution.problem.stack is not None:
        lines += _stack_markdown(solution, html_file)
    else:
        figure = f"Figure 1, the network with its initial weights, is in the HTML sheet ({html_file})."
        lines += ["## The network", "", figure, "", description(solution), ""]
        lines += [f"- {line}" for line in wiring(solution)]
        lines += ["", "## The sample", "", "| given | value |", "|:---|---:|"]
        lines += [f"| {name} | {value} |" for name, value in given_rows(solution)]
        lines += [""]
    lines += ["## Result", "", "Outputs and the loss go in the initial column.", "",
              "| name | initial | gradient | updated |", "|:---|---:|---:|---:|"]
    lines += [f"| {' | '.join(row)} |" for row in result_rows(solution)]
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
.tensors { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.75rem; margin: 0.5rem 0 1rem; }
.tensor { display: inline-flex; align-items: center; gap: 0.4rem; }
/* a matrix in brackets: its left and right borders, and a short tick at each corner */
table.matrix { margin: 0; border-left: 1.5px solid #1b1d21; border-right: 1.5px solid #1b1d21;
  background: linear-gradient(#1b1d21, #1b1d21) left top / 0.3rem 1.5px no-repeat,
    linear-gradient(#1b1d21, #1b1d21) left bottom / 0.3rem 1.5px no-repeat,
    linear-gradient(#1b1d21, #1b1d21) right top / 0.3rem 1.5px no-repeat,
    linear-gradient(#1b1d21, #1b1d21) right bottom / 0.3rem 1.5px no-repeat; }
table.matrix td { border: 0; padding: 0.05rem 0.5rem; text-align: right; font-variant-numeric: tabular-nums; }
@media print { main { max-width: none; padding: 0; } h2, figure, tr { break-inside: avoid; } }
"""


def _table(header: tuple, rows: list, css_class: str = "", *, left: int = 1) -> list[str]:
    """An HTML table, its first `left` columns aligned left, the others (numbers) right."""
    attributes = f' class="{css_class}"' if css_class else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    def cell(i: int, text: str) -> str:
        return f'<td class="r">{html.escape(text)}</td>' if i >= left else f"<td>{html.escape(text)}</td>"

    body = ["<tr>" + "".join(cell(i, c) for i, c in enumerate(row)) + "</tr>" for row in rows]
    return [f"<table{attributes}>", f"<thead><tr>{head}</tr></thead>", "<tbody>", *body, "</tbody>", "</table>"]


def render_sheet_html(solution) -> str:
    """The problem sheet as one HTML page (no script, no network request), with Figure 1 drawn."""
    from . import diagram

    figure = diagram(blank(solution), show="values")
    figure = figure.replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)
    places = decimals_of(solution)
    title = html.escape(solution.title)
    body = [f"<h1>{title}</h1>", "<h2>Problem</h2>",
            "<p>Given the network in Figure 1 and the sample below, compute:</p>", "<ol>"]
    body += [f"<li>{html.escape(q)}</li>" for q in questions(solution)]
    body += ["</ol>", f"<p>Write every answer to {places} decimals.</p>", "<h2>The network</h2>"]
    if solution.problem.stack is not None:
        body += [(f"<figure>\n{figure}\n<figcaption>Figure 1. The network: each layer's values as grids, its "
                  "parameters beneath the arrows; ? marks a value to find.</figcaption>\n</figure>"),
                 *_stack_html(solution)]
    else:
        body += [(f"<figure>\n{figure}\n<figcaption>Figure 1. The network, each edge labelled with its weight; "
                  "? marks a value to find.</figcaption>\n</figure>"), f"<p>{html.escape(description(solution))}</p>",
                 "<ul>", *[f"<li>{html.escape(line)}</li>" for line in wiring(solution)], "</ul>",
                 "<h2>The sample</h2>", *_table(("given", "value"), given_rows(solution))]
    body += ["<h2>Result</h2>", "<p>Outputs and the loss go in the initial column.</p>",
             *_table(("name", "initial", "gradient", "updated"), result_rows(solution), "answers")]
    head = ['<meta charset="utf-8">', '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>", f"<style>{_CSS}</style>"]
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', "<head>", *head, "</head>", "<body>", "<main>", *body,
                      "</main>", "</body>", "</html>", ""])
