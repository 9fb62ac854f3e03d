"""What an export to a learning-management system reads of each student's variant: its questions (the Result
table's unknowns, with the tolerance `grade` accepts) and its files. The writers (teach/lms_*.py) take a list of
LmsEntry and a folder."""

from __future__ import annotations

from dataclasses import dataclass

from .names import Quantity, label


@dataclass(frozen=True)
class Question:
    name: str  # the answer's name as `grade` reads it: out1, loss, loss', dL/dw1, w1'
    value: float  # the right answer, at full precision
    tolerance: float  # absolute: half a unit of the answer's last decimal, as `grade` accepts an answer so written


@dataclass(frozen=True)
class LmsEntry:
    id: str  # the student's id (or, without a roster, the variant's stem)
    title: str  # the variant's title
    problem_file: str  # the variant's problem file, relative to the export's folder
    problem_text: str  # its text (TOML)
    sheet_html: str  # the problem sheet, a standalone HTML page (Figure 1 inline, `?` for the unknowns)
    key_html: str  # the worked solution, a standalone HTML page
    figure_svg: str  # Figure 1 with `?` for the unknowns, as the sheet shows it
    questions: tuple  # of Question, in the Result table's order


def questions(solution, decimals: int) -> tuple:
    """The Result table's unknowns of a solved variant, each to be answered to `decimals` places: every sample's
    outputs, the loss and the loss after the update, and each parameter's gradient and updated value.

    >>> from handprop import load, solve
    >>> found = questions(solve(load("homework")), 2)
    >>> [(q.name, round(q.value, 2), q.tolerance) for q in found[:3]], found[-1].name
    ([('out1', 0.53, 0.005), ('out2', 0.47, 0.005), ('loss', 0.64, 0.005)], "b5'")
    """
    problem = solution.problem
    tolerance = 0.5 * 10.0 ** -decimals
    found = []
    for k, row in enumerate(solution.output_values):
        for name, value in zip(solution.output_names, row):
            found.append(Question(label(Quantity("value", name, k), problem), value, tolerance))
    found.append(Question("loss", solution.loss, tolerance))
    found.append(Question("loss'", solution.loss_after, tolerance))
    for name, record in solution.parameters.items():
        found.append(Question(label(Quantity("gradient", name), problem), record.gradient, tolerance))
    for name, record in solution.parameters.items():
        found.append(Question(label(Quantity("updated", name), problem), record.updated, tolerance))
    return tuple(found)


def sheet_figure(solution) -> str:
    """Figure 1 of the problem sheet: the network with its given numbers and `?` for the unknowns, as SVG."""
    from ..render import diagram
    from ..render.sheet import blank

    return diagram(blank(solution), show="values")
