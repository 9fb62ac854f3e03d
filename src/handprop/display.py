"""Rich display in Jupyter: a Solution's Result table, diagram and (folded) worked solution; a Problem.

Notebook front ends sanitise the HTML of untrusted notebooks: <style> elements and scripts are removed,
so every style here is an inline style="" attribute, and there is no script. The worked solution is the
HTML page's own sections (MathML, which browsers render natively), with their classes turned into
inline styles.
"""

from __future__ import annotations

import html
import re

from .render.numbers import DEFAULT_DECIMALS, fixed
from .render.table import HEADER, caption, rows

_FONT = "font-family: Charter, Cambria, Georgia, 'DejaVu Serif', serif;"
_STYLES = {  # the HTML page's classes (explain_html._CSS), as inline styles
    "eq": "margin: 0.5em 0; overflow-x: auto; overflow-y: hidden; text-align: center;",
    "lhs": "text-align: right; padding: 0.3em 0;",
    "rhs": "text-align: left; padding: 0.3em 0;",
    "table": "overflow-x: auto; margin: 0.6em 0;",
    "summary": "color: #5d6470;",
    "l": "text-align: left; padding: 0.15em 0.8em;",
    "r": "text-align: right; padding: 0.15em 0.8em; font-variant-numeric: tabular-nums;",
    "c": "text-align: center; padding: 0.15em 0.8em;",
}
_CELL = "padding: 0.15em 0.8em; text-align: right; font-variant-numeric: tabular-nums;"


def _inline_styles(fragment: str) -> str:
    def style(match: re.Match) -> str:
        styles = " ".join(_STYLES.get(name, "") for name in match.group(1).split()).strip()
        return f' style="{styles}"' if styles else ""

    return re.sub(r' class="([^"]*)"', style, fragment)


def result_table_html(solution, *, decimals: int | None = None) -> str:
    """The Result table as an HTML table with inline styles."""
    places = decimals if decimals is not None else (solution.decimals if solution.decimals is not None
                                                    else DEFAULT_DECIMALS)
    head = "".join(f'<th style="{_CELL}{" text-align: left;" if i == 0 else ""}">{name}</th>'
                   for i, name in enumerate(HEADER))
    body = []
    for name, *values in rows(solution):
        cells = "".join(f'<td style="{_CELL}">{"" if v is None else fixed(v, places).replace("-", "&minus;")}</td>'
                        for v in values)
        body.append(f'<tr><td style="{_CELL} text-align: left;"><code>{html.escape(name)}</code></td>{cells}</tr>')
    return (f'<table style="border-collapse: collapse; margin: 0.5em 0;">'
            f'<caption style="text-align: left; font-weight: bold; padding-bottom: 0.3em;">'
            f"{html.escape(caption(solution))}</caption>"
            f'<thead><tr style="border-bottom: 1px solid #888;">{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def _svg(svg: str) -> str:
    return svg.replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)


def sections_html(document, *, skip: tuple = ()) -> str:
    """The worked solution's sections as HTML with inline styles (the page's and the notebook's)."""
    from .render.explain_html import section_html

    lines = []
    for section in document.sections:
        if section.anchor not in skip:
            lines += section_html(section)
    return _inline_styles("\n".join(lines))


def solution_html(solution) -> str:
    """A Solution for a notebook: Result table, diagram (values on it), the worked solution folded away."""
    from .render import diagram
    from .render.derivation import build

    worked = sections_html(build(solution))
    return "\n".join([
        f'<div style="{_FONT} line-height: 1.5;">',
        result_table_html(solution),
        f'<div style="overflow-x: auto; max-width: 100%;">{_svg(diagram(solution, show="values"))}</div>',
        '<details><summary style="cursor: pointer; font-weight: bold;">Worked solution</summary>',
        worked,
        "</details>",
        "</div>",
    ])


def solution_latex(solution) -> str:
    """The Result table as a LaTeX tabular, for front ends that show LaTeX (and for nbconvert to PDF)."""
    places = solution.decimals if solution.decimals is not None else DEFAULT_DECIMALS
    lines = [r"\begin{array}{lrrr}", r"\text{name} & \text{initial} & \text{gradient} & \text{updated} \\ \hline"]
    for name, *values in rows(solution):
        cells = " & ".join("" if v is None else fixed(v, places) for v in values)
        escaped = name.replace("_", r"\_")
        lines.append(rf"\text{{{escaped}}} & {cells} \\")
    return "$$" + "\n".join(lines + [r"\end{array}"]) + "$$"


def problem_html(problem, solution) -> str:
    """A Problem for a notebook: title, the network in words and as the problem's section, the diagram
    (drawn from its solution after one step)."""
    from .render import diagram
    from .render.derivation import build

    optimizer = problem.optimizer
    if problem.network is not None:
        network = problem.network
        layers = " → ".join([f"{len(network.inputs)} inputs"] + [f"{layer.units} {layer.activation}"
                                                               for layer in network.layers])
        words = f"layered network: {layers}; loss {network.loss}"
    else:
        words = (f"equations: {len(problem.program.equations)} equations, "
                 f"{len(problem.parameters)} parameters, loss {problem.program.loss}")
    summary = (f"{words}; {optimizer.name}, lr {optimizer.lr:g}, {optimizer.steps} step"
               f"{'s' * (optimizer.steps != 1)}; {problem.batch_size} sample{'s' * (problem.batch_size != 1)}")
    document = build(solution)
    problem_section = sections_html(document, skip=tuple(s.anchor for s in document.sections[1:]))
    return "\n".join([
        f'<div style="{_FONT} line-height: 1.5;">',
        f'<h3 style="margin: 0 0 0.3em;">{html.escape(problem.title)}</h3>',
        f'<p style="color: #5d6470; margin: 0 0 0.5em;">{html.escape(summary)}</p>',
        f'<div style="overflow-x: auto; max-width: 100%;">{_svg(diagram(solution))}</div>',
        '<details><summary style="cursor: pointer; font-weight: bold;">The problem</summary>',
        problem_section,
        "</details>",
        "</div>",
    ])
