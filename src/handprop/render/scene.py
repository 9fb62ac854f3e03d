"""A diagram as plain data: nodes, edges, labels and text, placed. Layouts make it; svg.py draws it.

Keeping the geometry as data lets the tests check it (no label overlaps another, or a node) without
drawing, and lets every writer of the diagram share one layout.
"""

from __future__ import annotations

import re
from ..core.frozen import dataclass

from .geometry import Box, OrientedBox, text_width

FONT_SIZE = 12.0
LINE = 15.0  # line height of FONT_SIZE text


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    runs: tuple  # of (text, scale): scale 0.75 is a subscript
    size: float = FONT_SIZE
    anchor: str = "middle"  # start, middle or end
    color: str = "#1a1a1a"
    weight: str = "normal"

    @property
    def box(self) -> Box:
        width = text_width(self.runs, self.size)
        left = {"start": self.x, "middle": self.x - width / 2, "end": self.x - width}[self.anchor]
        return Box(left, self.y - 0.8 * self.size, left + width, self.y + 0.25 * self.size)


@dataclass(frozen=True)
class Node:
    id: str
    cx: float
    cy: float
    shape: str  # circle, rect; cell (a grid's square) or frame (an outline only, over cells)
    width: float  # diameter for a circle
    height: float
    fill: str
    stroke: str
    texts: tuple  # of Text: inside and beside the shape
    title: str

    @property
    def box(self) -> Box:
        return Box.around(self.cx, self.cy, self.width, self.height)

    @property
    def r(self) -> float:
        return self.width / 2


@dataclass(frozen=True)
class Label:
    shape: OrientedBox  # the label's background: centred on its edge, turned along it
    runs: tuple
    color: str
    size: float = FONT_SIZE - 1


@dataclass(frozen=True)
class Edge:
    id: str
    source: str
    target: str
    points: tuple  # ((x0, y0), ..., (xn, yn)): a line, or a polyline through bend points
    color: str
    width: float
    title: str
    label: Label | None = None
    dashed: bool = False
    arrow: bool = False  # an arrowhead at the last point


@dataclass(frozen=True)
class Scene:
    width: float
    height: float
    nodes: tuple
    edges: tuple
    texts: tuple  # free text: layer titles, legend, notes
    legend: tuple  # of (kind, text, y): kind "positive", "negative", "width" or "note"; its sample drawn at y
    title: str
    description: str


_PRIMES = {1: "\u2032", 2: "\u2033"}  # c′, c″; a name assigned a fourth time on shows its count, c⁽³⁾
_SUPERSCRIPT = str.maketrans("0123456789()", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
                                             "\u207d\u207e")


def name_runs(name: str) -> tuple:
    """A name with its trailing number as a subscript, as the homework writes it: w12 -> w, 12; a name assigned
    again (equations/version_name) with its primes, or from the fourth version on their count.

    >>> name_runs("w12"), name_runs("W1[2,3]")
    ((('w', 1.0), ('12', 0.75)), (('W1[2,3]', 1.0),))
    >>> name_runs("c''"), name_runs("h1'"), name_runs("c^(3)")
    ((('c″', 1.0),), (('h', 1.0), ('1', 0.75), ('′', 1.0)), (('c⁽³⁾', 1.0),))
    """
    version = re.fullmatch(r"(.+?)(?:('{1,2})|\^\((\d+)\))", name)
    if version:
        base, primes, count = version.groups()
        mark = _PRIMES[len(primes)] if primes else f"({count})".translate(_SUPERSCRIPT)
        runs = name_runs(base)
        if runs[-1][1] == 1.0:
            return runs[:-1] + ((runs[-1][0] + mark, 1.0),)
        return runs + ((mark, 1.0),)
    match = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    if match:
        return ((match.group(1), 1.0), (match.group(2), 0.75))
    return ((name, 1.0),)


def label_size(runs, size: float = FONT_SIZE - 1) -> tuple[float, float]:
    """Width and height of a label's box: its text and a little padding."""
    return text_width(runs, size) + 8, size + 6
