"""What an export to a learning-management system reads of each student's variant: its questions (the Result
table's unknowns, with the tolerance `grade` accepts) and its files. The writers (teach/lms_*.py) take a list of
LmsEntry and a folder."""

from __future__ import annotations

import re
from ..core.frozen import dataclass

from .names import label


_VARIANT = re.compile(r",\s*variant\s+(?:for\s+.+|\d+)$")  # "<title>, variant 01" or "<title>, variant for s1"


def exercise_title(title: str) -> str:
    """A variant's title without its variant: the exercise's.

    >>> exercise_title("Machine Learning Homework 1, variant 03"), exercise_title("A CNN, variant for s1")
    ('Machine Learning Homework 1', 'A CNN')
    """
    return _VARIANT.sub("", title)


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
    """The problem sheet's unknowns of a solved variant (grading.questions: every sample's outputs, the loss, each
    parameter's gradient and, for one step, its updated value), each to be answered to `decimals` places.

    >>> from handprop import load, solve
    >>> found = questions(solve(load("homework")), 2)
    >>> [(q.name, round(q.value, 2), q.tolerance) for q in found[:3]], found[-1].name, len(found)
    ([('out1', 0.53, 0.005), ('out2', 0.47, 0.005), ('loss', 0.64, 0.005)], "b5'", 37)
    """
    from .grading import questions as asked
    from .mistakes import answer_values

    problem = solution.problem
    tolerance = 0.5 * 10.0 ** -decimals
    values = answer_values(solution)
    return tuple(Question(label(quantity, problem), values[quantity], tolerance) for quantity in asked(problem))



def sheet_figure(solution) -> str:
    """Figure 1 of the problem sheet: the network with its given numbers and `?` for the unknowns, as SVG."""
    from ..render import diagram
    from ..render.sheet import blank

    return diagram(blank(solution), show="values")
