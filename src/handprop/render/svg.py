"""A Scene as one self-contained SVG: attributes only (no stylesheet that could leak into a page that
inlines it), a font stack every system has, a viewBox so it scales, a white ground for print."""

from __future__ import annotations

import math

from .diagram_layered import NEGATIVE, POSITIVE
from .scene import Scene, Text

FONT_STACK = "Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"


def escape(text: str) -> str:
    """&, < and > as entities (as xml.sax.saxutils.escape, which imports urllib and http at start-up)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(text: str) -> str:
    """An attribute's value, escaped and quoted (as xml.sax.saxutils.quoteattr).

    >>> print(quoteattr('a"b'), quoteattr("a'b"), quoteattr('a"b' + "'c<"))
    'a"b' "a'b" "a&quot;b'c&lt;"
    """
    text = escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"' + text.replace('"', "&quot;") + '"'


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(t: Text, halo: bool = False) -> str:
    spans = []
    shift = 0.0
    for text, scale in t.runs:
        target = 0.28 * t.size if scale < 1 else 0.0  # a subscript sits below the baseline
        attributes = f' dy="{_f(target - shift)}"' if target != shift else ""
        if scale != 1:
            attributes += f' font-size="{_f(t.size * scale)}"'
        spans.append(f"<tspan{attributes}>{escape(text)}</tspan>")
        shift = target
    weight = ' font-weight="bold"' if t.weight == "bold" else ""
    # A halo: white under the letters, so text stays readable where an edge passes beneath it.
    outline = ' stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"' if halo else ""
    return (f'<text x="{_f(t.x)}" y="{_f(t.y)}" font-size="{_f(t.size)}" text-anchor="{t.anchor}" '
            f'fill="{t.color}"{weight}{outline}>{"".join(spans)}</text>')


def _arrowhead(before: tuple, tip: tuple, color: str) -> str:
    """A small filled triangle at the tip, pointing along the last segment (no <marker>: no ids to clash)."""
    (x0, y0), (x1, y1) = before, tip
    length = math.hypot(x1 - x0, y1 - y0) or 1.0
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    back_x, back_y = x1 - 8 * ux, y1 - 8 * uy
    left = (back_x - 4 * uy, back_y + 4 * ux)
    right = (back_x + 4 * uy, back_y - 4 * ux)
    points = " ".join(f"{_f(x)},{_f(y)}" for x, y in (tip, left, right))
    return f'<polygon points="{points}" fill="{color}"/>'


def render_svg(scene: Scene) -> str:
    """The scene as SVG text."""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_f(scene.width)} {_f(scene.height)}" '
           f'width="{_f(scene.width)}" height="{_f(scene.height)}" font-family={quoteattr(FONT_STACK)} '
           f'role="img" class="handprop-diagram">',
           f"<title>{escape(scene.title)}</title>"]
    if scene.description:
        out.append(f"<desc>{escape(scene.description)}</desc>")
    out.append(f'<rect x="0" y="0" width="{_f(scene.width)}" height="{_f(scene.height)}" fill="#ffffff"/>')
    for edge in scene.edges:
        dash = ' stroke-dasharray="5 3"' if edge.dashed else ""
        stroke = f'stroke="{edge.color}" stroke-width="{_f(edge.width)}" stroke-opacity="0.8"{dash}'
        if len(edge.points) == 2:
            (x0, y0), (x1, y1) = edge.points
            shape = f'<line x1="{_f(x0)}" y1="{_f(y0)}" x2="{_f(x1)}" y2="{_f(y1)}" {stroke}/>'
        else:
            points = " ".join(f"{_f(x)},{_f(y)}" for x, y in edge.points)
            shape = f'<polyline points="{points}" fill="none" {stroke}/>'
        if edge.arrow:
            shape += _arrowhead(edge.points[-2], edge.points[-1], edge.color)
        out.append(f'<g data-edge={quoteattr(edge.id)} data-source={quoteattr(edge.source)} '
                   f'data-target={quoteattr(edge.target)}><title>{escape(edge.title)}</title>{shape}</g>')
    for node in scene.nodes:
        if node.shape == "circle":
            shape = (f'<circle cx="{_f(node.cx)}" cy="{_f(node.cy)}" r="{_f(node.r)}" fill="{node.fill}" '
                     f'stroke="{node.stroke}" stroke-width="1.5"/>')
        elif node.shape in ("cell", "frame"):  # a grid's square; an outline over squares (a pooling window)
            b = node.box
            paint = 'fill="none" stroke-width="2.2"' if node.shape == "frame" else f'fill="{node.fill}" stroke-width="0.6"'
            shape = (f'<rect x="{_f(b.x0)}" y="{_f(b.y0)}" width="{_f(b.width)}" height="{_f(b.height)}" rx="1.5" '
                     f'{paint} stroke="{node.stroke}"/>')
        else:
            b = node.box
            shape = (f'<rect x="{_f(b.x0)}" y="{_f(b.y0)}" width="{_f(b.width)}" height="{_f(b.height)}" rx="6" '
                     f'fill="{node.fill}" stroke="{node.stroke}" stroke-width="1.5"/>')
        texts = "".join(_text(t, halo=node.shape != "cell") for t in node.texts)  # a cell: no edge beneath
        out.append(f'<g data-node={quoteattr(node.id)}><title>{escape(node.title)}</title>{shape}{texts}</g>')
    for edge in scene.edges:
        if edge.label is None:
            continue
        shape = edge.label.shape
        text = Text(shape.cx, shape.cy + 0.36 * edge.label.size, edge.label.runs, size=edge.label.size,
                    color=edge.label.color)
        turn = f' transform="rotate({math.degrees(shape.angle):.2f} {_f(shape.cx)} {_f(shape.cy)})"'
        out.append(f'<g data-label={quoteattr(edge.id)}{turn}><title>{escape(edge.title)}</title>'
                   f'<rect x="{_f(shape.cx - shape.width / 2)}" y="{_f(shape.cy - shape.height / 2)}" '
                   f'width="{_f(shape.width)}" height="{_f(shape.height)}" rx="3" fill="#ffffff" '
                   f'stroke="{edge.label.color}" stroke-width="0.8"/>{_text(text)}</g>')
    for t in scene.texts:
        out.append(_text(t))
    for kind, _, y in scene.legend:
        if kind in ("positive", "negative"):
            color = POSITIVE if kind == "positive" else NEGATIVE
            out.append(f'<line x1="24" y1="{_f(y)}" x2="52" y2="{_f(y)}" stroke="{color}" stroke-width="2.5"/>')
        elif kind == "width":
            out.append(f'<line x1="24" y1="{_f(y - 3)}" x2="52" y2="{_f(y - 3)}" stroke="#6b7280" stroke-width="1"/>'
                       f'<line x1="24" y1="{_f(y + 3)}" x2="52" y2="{_f(y + 3)}" stroke="#6b7280" stroke-width="4"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
