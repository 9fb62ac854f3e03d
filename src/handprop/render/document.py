"""A worked solution as plain data: sections of paragraphs, equations and tables.

The derivation builder fills it from the records; the Markdown, LaTeX and HTML
writers print it. Math is LaTeX text throughout (MathML for HTML is made from it);
prose is plain text, escaped by each writer for its own format.
"""

from __future__ import annotations

from ..core.frozen import dataclass


@dataclass(frozen=True)
class Math:
    """Inline math, as LaTeX."""

    latex: str


@dataclass(frozen=True)
class Paragraph:
    parts: tuple  # of str (plain text) and Math


@dataclass(frozen=True)
class Chain:
    """A displayed chain of equalities: lhs = steps[0] = steps[1] = ..., each step LaTeX."""

    lhs: str
    steps: tuple
    anchor: str | None = None


@dataclass(frozen=True)
class Table:
    header: tuple  # of cells; a cell is a tuple of str and Math
    rows: tuple  # of tuples of cells
    align: tuple  # "l" or "r" per column
    anchors: tuple = ()  # per row, an anchor id or None


@dataclass(frozen=True)
class Figure:
    """The network diagram's place: svg is the drawing, when there is one."""

    svg: str | None
    caption: str


@dataclass(frozen=True)
class Section:
    title: tuple  # of str and Math
    anchor: str
    blocks: tuple  # of Paragraph, Chain, Table, Figure and Section (a subsection)
    level: int = 2
    in_contents: bool = True


@dataclass(frozen=True)
class Document:
    title: str
    summary: tuple  # Paragraphs shown under the title
    sections: tuple  # of Section


def display_width(latex: str) -> int:
    """Roughly how many characters wide the LaTeX is when typeset (to choose one line or several).

    >>> display_width(r"\\frac{\\partial L}{\\partial w_{1}} = 0.5 \\cdot \\left(-0.05\\right)")
    17
    """
    import re

    text = re.sub(r"\\(left|right)\b", "", latex)
    text = re.sub(r"\\frac\{\\partial [^{}]*(\{[^{}]*\})?\}\{\\partial [^{}]*(\{[^{}]*\})?\}", "dLd", text)
    text = re.sub(r"\\operatorname\{(\w+)\}", r"\1", text)
    text = re.sub(r"\\[a-zA-Z]+", "x", text)
    return len(re.sub(r"[{}_^\\ ]", "", text)) + text.count(" = ") * 2


def text_of(parts) -> str:
    """Parts as plain text (for titles in places that take no markup)."""
    return "".join(p if isinstance(p, str) else p.latex for p in parts)
