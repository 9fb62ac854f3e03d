"""A Scene as a TikZ picture, for the LaTeX and PDF documents: the same nodes, edges, labels and legend that
svg.py draws, placed by the same layout, so Figure 1 in the PDF is the figure of the HTML page.

The scene's coordinates (SVG pixels, y downwards) become points on the page (y upwards), scaled so the picture
fits the text width and a share of the page's height; text, line widths and radii scale with it, as the SVG
scales in a browser. Only TikZ's core is used (no library), and the fonts are the document's own (Latin
Modern, scalable to any size). Text is set in the document's serif face, as its maths.
"""

from __future__ import annotations

import math

from .diagram_layered import NEGATIVE, POSITIVE
from .explain_latex import latex_text
from .scene import Scene, Text

TEXT_WIDTH_PT = 470.0  # the documents' \textwidth, 16.6 cm (explain_latex._PREAMBLE): never wider
MAX_HEIGHT_PT = 290.0  # at most about 40 % of a page, so the problem section starts on page 1
_ANCHORS = {"start": "base west", "middle": "base", "end": "base east"}


def _f(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def _color(hex_color: str) -> str:
    """#rrggbb as an xcolor colour TikZ takes inline."""
    value = hex_color.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    red, green, blue = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return f"{{rgb,255:red,{red};green,{green};blue,{blue}}}"


class _Page:
    """Scene coordinates to page points."""

    def __init__(self, scene: Scene, scale: float):
        self.scene, self.scale = scene, scale

    def point(self, x: float, y: float) -> str:
        return f"({_f(x * self.scale)},{_f((self.scene.height - y) * self.scale)})"

    def length(self, value: float) -> str:
        return f"{_f(value * self.scale)}pt"


def _runs(runs) -> str:
    """A label's runs: scale below 1 is a subscript."""
    return "".join(latex_text(text) if scale >= 1 else f"\\textsubscript{{{latex_text(text)}}}"
                   for text, scale in runs)


def _text(page: _Page, t: Text, ground: str | None = None) -> str:
    size = t.size * page.scale
    font = f"\\fontsize{{{_f(size)}}}{{{_f(1.2 * size)}}}\\selectfont" + ("\\bfseries" if t.weight == "bold" else "")
    # A ground: the colour under the letters, so text stays readable where an edge passes beneath it (the SVG's halo).
    fill = f", fill=white, fill opacity=0.85, text opacity=1, inner sep={_f(0.12 * size)}pt" if ground else ", inner sep=0pt"
    return (f"\\node[anchor={_ANCHORS[t.anchor]}, text={_color(t.color)}, font={font}{fill}] at "
            f"{page.point(t.x, t.y)} {{{_runs(t.runs) or '{}'}}};")


def _edge(page: _Page, edge) -> list[str]:
    style = f"draw={_color(edge.color)}, line width={page.length(edge.width)}, draw opacity=0.8"
    if edge.dashed:
        style += f", dash pattern=on {page.length(5)} off {page.length(3)}"
    lines = [f"\\draw[{style}] " + " -- ".join(page.point(x, y) for x, y in edge.points) + ";"]
    if edge.arrow:  # a small filled triangle at the tip, as svg.py draws it
        (x0, y0), (x1, y1) = edge.points[-2], edge.points[-1]
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        back_x, back_y = x1 - 8 * ux, y1 - 8 * uy
        corners = ((x1, y1), (back_x - 4 * uy, back_y + 4 * ux), (back_x + 4 * uy, back_y - 4 * ux))
        lines.append(f"\\fill[fill={_color(edge.color)}] " + " -- ".join(page.point(x, y) for x, y in corners) + " -- cycle;")
    return lines


def _node(page: _Page, node) -> list[str]:
    if node.shape == "circle":
        lines = [f"\\filldraw[fill={_color(node.fill)}, draw={_color(node.stroke)}, line width={page.length(1.5)}] "
                 f"{page.point(node.cx, node.cy)} circle[radius={page.length(node.r)}];"]
    else:
        b = node.box
        corner, width = {"cell": (1.5, 0.6), "frame": (1.5, 2.2)}.get(node.shape, (6, 1.5))
        paint = "" if node.shape == "frame" else f"fill={_color(node.fill)}, "
        command = "\\draw" if node.shape == "frame" else "\\filldraw"
        lines = [f"{command}[{paint}draw={_color(node.stroke)}, line width={page.length(width)}, "
                 f"rounded corners={page.length(corner)}] {page.point(b.x0, b.y0)} rectangle {page.point(b.x1, b.y1)};"]
    box = node.box
    for t in node.texts:  # text beneath a node, where edges may pass, gets a white ground; text inside it none
        inside = box.x0 <= t.x <= box.x1 and box.y0 <= t.y <= box.y1
        lines.append(_text(page, t, None if inside or node.shape == "cell" else "white"))
    return lines


def _label(page: _Page, edge) -> str:
    label = edge.label
    shape = label.shape
    size = label.size * page.scale
    font = f"\\fontsize{{{_f(size)}}}{{{_f(1.2 * size)}}}\\selectfont"
    # The scene turns clockwise on a screen whose y points down; on the page (y up) that is a negative angle.
    return (f"\\node[rotate={_f(-math.degrees(shape.angle))}, draw={_color(label.color)}, fill=white, "
            f"text={_color(label.color)}, line width={page.length(0.8)}, rounded corners={page.length(3)}, "
            f"minimum width={page.length(shape.width)}, minimum height={page.length(shape.height)}, inner sep=0pt, "
            f"font={font}] at {page.point(shape.cx, shape.cy)} {{{_runs(label.runs)}}};")


def _legend(page: _Page, scene: Scene) -> list[str]:
    lines = []
    for kind, _, y in scene.legend:  # its words are among the scene's texts; here the samples drawn beside them
        if kind in ("positive", "negative"):
            color = POSITIVE if kind == "positive" else NEGATIVE
            lines.append(f"\\draw[draw={_color(color)}, line width={page.length(2.5)}] "
                         f"{page.point(24, y)} -- {page.point(52, y)};")
        elif kind == "width":
            for offset, width in ((-3, 1), (3, 4)):
                lines.append(f"\\draw[draw={_color('#6b7280')}, line width={page.length(width)}] "
                             f"{page.point(24, y + offset)} -- {page.point(52, y + offset)};")
    return lines


def scale_of(scene: Scene, *, width_pt: float = TEXT_WIDTH_PT, max_height_pt: float = MAX_HEIGHT_PT) -> float:
    """Points per scene unit: the scene as wide as the text, unless that makes it taller than max_height_pt."""
    return min(width_pt / scene.width, max_height_pt / scene.height)


def render_tikz(scene: Scene, *, width_pt: float = TEXT_WIDTH_PT, max_height_pt: float = MAX_HEIGHT_PT) -> str:
    """The scene as a tikzpicture (for a document that loads tikz), at most width_pt wide and max_height_pt high.

    >>> from handprop import load, solve
    >>> from handprop.render.diagram_layered import layered_scene
    >>> scene = layered_scene(solve(load("homework")), show="values", bias="units", decimals=2)
    >>> render_tikz(scene).splitlines()[0]
    '\\\\begin{tikzpicture}[x=1pt, y=1pt]'
    """
    page = _Page(scene, scale_of(scene, width_pt=width_pt, max_height_pt=max_height_pt))
    lines = [r"\begin{tikzpicture}[x=1pt, y=1pt]", f"% {latex_text(scene.title)}",
             f"\\path {page.point(0, scene.height)} rectangle {page.point(scene.width, 0)};"]  # the scene's bounds
    for edge in scene.edges:
        lines += _edge(page, edge)
    for node in scene.nodes:
        lines += _node(page, node)
    lines += [_label(page, edge) for edge in scene.edges if edge.label is not None]
    lines += [_text(page, t) for t in scene.texts]
    lines += _legend(page, scene)
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


def figure_tikz(solution, *, show: str = "values", bias: str = "units", decimals: int) -> str:
    """Figure 1 of a solution as TikZ: the scene `handprop.render.diagram` draws as SVG."""
    if solution.problem.network is not None:
        from .diagram_layered import layered_scene

        return render_tikz(layered_scene(solution, show=show, bias=bias, decimals=decimals))
    if solution.problem.stack is not None:
        from .diagram_kinds import kinds_scene

        return render_tikz(kinds_scene(solution, show=show, decimals=decimals))
    from .diagram_graph import graph_scene

    return render_tikz(graph_scene(solution, show=show, decimals=decimals))
