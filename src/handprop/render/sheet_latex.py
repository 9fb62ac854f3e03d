"""A problem sheet as a LaTeX document, for pdflatex: the sheet of sheet.py, with Figure 1 drawn.

The sheet is built as a Document (the worked solution's data) and printed by explain_latex.py, so it is set as
the answer key is: the same page, tables and maths. Figure 1 is the TikZ picture of the blank solution's scene
(tikz.py), every unknown number on it written "?", as the HTML sheet draws it; a network of layer kinds has
its input, targets and kernels as bmatrix.
"""

from __future__ import annotations

from ..core.ops import OPS
from .derivation_backward import loss_parts
from .document import Chain, Document, Figure, Math, Paragraph, Section, Table, display_width
from .explain_latex import render_latex_document
from .matrices import bmatrix
from .sheet import (blank, decimals_of, given_rows, questions, result_rows, slices_note, stack_layers, stack_tensors,
                    wiring)

MATRICES_WIDE = 80  # matrices set side by side on one line up to about this many characters, as display_width counts


def _cells(row) -> tuple:
    return tuple((text,) for text in row)


def _answer_cells(row, parameters) -> tuple:
    """A Result row with each cell to fill in marked "?", as Figure 1 marks the unknowns: an output's and the
    loss's value, a parameter's gradient and updated value."""
    name, *cells = row
    asked = (1, 2) if name in parameters else (0,)
    return ((name,),) + tuple(("?" if k in asked and not cell else cell,) for k, cell in enumerate(cells))


def _matrices(slices) -> list[Chain]:
    """Named matrices (K1[1,1] = [...]) as displays, several to a line while they fit."""
    shown = [(rf"\mathrm{{{label}}}", bmatrix(len(rows), len(rows[0]), lambda i, j, rows=rows: rows[i][j],
                                              max(len(rows), len(rows[0]))))
             for label, rows in slices]
    lines, line = [], []
    for name, matrix in shown:
        if line and display_width(" ".join(f"{n} = {m}" for n, m in line + [(name, matrix)])) > MATRICES_WIDE:
            lines.append(line)
            line = []
        line.append((name, matrix))
    lines.append(line)
    # One display per line: its first matrix's name the left side, the others after a \quad.
    return [Chain(line[0][0], (line[0][1] + "".join(rf" \quad {n} = {m}" for n, m in line[1:]),)) for line in lines]


def _network_blocks(solution) -> tuple[list, list]:
    network = solution.problem.network
    parts = [f"{len(network.inputs)} inputs" if len(network.inputs) != 1 else "1 input"]
    for index, layer in enumerate(network.layers):
        kind = "an output layer" if index == len(network.layers) - 1 else "a hidden layer"
        op = OPS[layer.activation]
        parts.append(f"{kind} of {layer.units} unit{'s' * (layer.units != 1)} with {op.activation_words or op.words}")
    blocks: list = [Paragraph(("A feedforward network: " + "; ".join(parts) + ". The loss is ",
                               *loss_parts(network.loss), "."))]
    blocks += [Paragraph((line,)) for line in wiring(solution)]
    sample = Table((("given",), ("value",)), tuple(_cells(row) for row in given_rows(solution)), ("l", "r"))
    return blocks, [sample]


def _stack_blocks(solution) -> tuple[list, list, list]:
    stack = solution.problem.stack
    sample_data, parameters, rows = stack_tensors(solution)
    layers = stack_layers(solution)
    network: list = [Paragraph(("A network of layer kinds; the loss is ", *loss_parts(stack.loss), ".")),
                     Table((("layer",), ("kind",), ("activation",), ("shape after it",)),
                           tuple(_cells(row) for row in layers), ("l", "l", "l", "r"))]
    network += [Paragraph((line,)) for line in slices_note(solution)]
    sample: list = []
    for caption, slices in sample_data:
        sample += [Paragraph((f"{caption}:",)), *_matrices(slices)]
    sample.append(Table((("given",), ("value",)), tuple(_cells(row) for row in rows), ("l", "r")))
    kernels = [block for _, slices in parameters for block in _matrices(slices)]
    return network, sample, kernels


def sheet_document(solution) -> Document:
    """The problem sheet as a Document: what the Markdown and HTML sheets hold, Figure 1 in its place.

    >>> from handprop import load, solve
    >>> [s.anchor for s in sheet_document(solve(load("homework"))).sections]
    ['problem', 'network', 'sample', 'result']
    """
    places = decimals_of(solution)
    asked = [Paragraph(("Given the network in Figure 1 and the sample below, compute:",))]
    asked += [Paragraph((f"{k}. {q}",)) for k, q in enumerate(questions(solution), 1)]
    asked.append(Paragraph((f"Write every answer to {places} decimals.",)))
    sections = [Section(("Problem",), "problem", tuple(asked))]
    if solution.problem.stack is not None:
        caption = ("Figure 1. The network: each layer's values as grids, its parameters beneath the arrows; "
                   "? marks a value to find.")
        network, sample, kernels = _stack_blocks(solution)
    else:
        caption = "Figure 1. The network, each edge labelled with its weight; ? marks a value to find."
        network, sample = _network_blocks(solution)
        kernels = []
    sections.append(Section(("The network",), "network", (Figure(None, caption), *network)))
    sections.append(Section(("The sample",), "sample", tuple(sample)))
    if kernels:
        sections.append(Section(("The parameters",), "parameters", tuple(kernels)))
    answers = Table((("name",), ("initial",), ("gradient",), ("updated",)),
                    tuple(_answer_cells(row, solution.problem.parameters)
                          for row in result_rows(solution)), ("l", "r", "r", "r"))
    sections.append(Section(("Result",), "result", (Paragraph(("Outputs and the loss go in the initial column.",)),
                                                   answers)))
    return Document(solution.title, (), tuple(sections))


def render_sheet_latex(solution) -> str:
    """The problem sheet as a LaTeX document, Figure 1 drawn in TikZ with every unknown as "?".

    >>> from handprop import load, solve
    >>> latex = render_sheet_latex(solve(load("homework")))
    >>> r"\\begin{tikzpicture}" in latex and r"\\section{Result}" in latex
    True
    """
    from .tikz import figure_tikz

    figure = figure_tikz(blank(solution), decimals=decimals_of(solution))
    # A sheet is short and read in order, questions first: one column.
    return render_latex_document(sheet_document(solution), figure=figure, toc=False, columns=False)

