"""A worked solution as one self-contained HTML page: no script, no network request, works offline.

Formulas are MathML, made from the Document's LaTeX at build time (see mathml.py). Long chains become
a table aligned on "=".
They are set in an embedded OpenType MATH font, a subset of STIX Math (SIL Open Font License 1.1;
see assets/math-font-LICENSE.txt), so fractions and stretchy brackets look the same everywhere.
"""

from __future__ import annotations

import functools
import html
import re

from .document import Chain, Document, Figure, Paragraph, Section, Table, display_width
from .explain_markdown import WIDE
from .mathml import mathml_text

_NEGATIVE = re.compile(r"^-(?=[0-9.])")  # a negative number in a table cell, written with a true minus

_LICENCE_NOTE = ("Formulas are set in Handprop Math, a subset of STIX Math embedded below as a WOFF2 font. "
                 "Copyright (c) 2001-2011 by the STI Pub Companies; licensed under the SIL Open Font License, "
                 "Version 1.1. STIX Fonts is a trademark of The Institute of Electrical and Electronics "
                 "Engineers, Inc.")

_CSS = """
:root { --text: #1b1d21; --muted: #5d6470; --tint: #f4f6f9; --accent: #1c5a8c; --ground: #fff; --rule: #e3e6ea;
  --row-rule: #eceef1; color-scheme: light dark; }
@media (prefers-color-scheme: dark) {
  :root { --text: #e4e6ea; --muted: #a3aab5; --tint: #1c222b; --accent: #7db4e8; --ground: #14171b;
    --rule: #333a44; --row-rule: #262c34; }
  figure svg { border-radius: 6px; }  /* the drawing keeps its white ground, as on paper */
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; background: var(--ground); color: var(--text);
  font: 17px/1.6 Charter, "Bitstream Charter", Cambria, Georgia, "Times New Roman", "Liberation Serif",
    "DejaVu Serif", serif; }
main { max-width: 48.5rem; margin: 0 auto; padding: 2.5rem 1.25rem 4rem; }
h1 { font-size: 1.9rem; line-height: 1.2; margin: 0 0 1rem; }
h2 { font-size: 1.4rem; line-height: 1.3; margin: 2.75rem 0 1rem; padding-bottom: 0.3rem;
  border-bottom: 2px solid var(--accent); }
h3 { font-size: 1.3rem; line-height: 1.3; margin: 2rem 0 0.6rem; padding-top: 0.9rem; border-top: 1px solid var(--rule); }
section { scroll-margin-top: 0.75rem; }
p { margin: 0.8rem 0; }
a { color: var(--accent); text-decoration-thickness: 1px; text-underline-offset: 0.15em; }
math { font-family: 'handprop-math', math; }
h2 math, h3 math { math-style: normal; }
mover[accent="true"] > mo { padding-block: 1px; }  /* Chromium may clip a bar accent whose box is 1px high */
.summary { color: var(--muted); }
.eq { margin: 0.6rem 0; padding: 0.25rem 0; overflow-x: auto; overflow-y: hidden; text-align: center;
  max-width: 100%; }
.eq > math { display: inline math; font-size: 1.05em; }
.eq mtable { text-align: left; }
.eq mtd { padding: 0.35em 0; }
.eq mtd.lhs { text-align: right; }
.eq mtd.rhs { text-align: left; }
nav { background: var(--tint); border-left: 3px solid var(--accent); padding: 0.9rem 1.25rem 1rem;
  margin: 1.75rem 0 2rem; }
nav h2 { font-size: 1rem; margin: 0 0 0.4rem; padding: 0; border: 0; letter-spacing: 0.06em;
  text-transform: uppercase; color: var(--muted); }
nav ol { margin: 0; padding-left: 1.4rem; }
nav li { margin: 0.15rem 0; }
nav ol ol { list-style: none; padding: 0; margin: 0.2rem 0 0.4rem; display: flex; flex-wrap: wrap;
  gap: 0.1rem 1.1rem; }
nav ol ol li { margin: 0; }
nav a { text-decoration: none; }
nav a:hover, nav a:focus-visible { text-decoration: underline; }
.table { overflow-x: auto; margin: 1rem 0 1.25rem; }
table { border-collapse: collapse; margin: 0 auto; border-top: 1.5px solid var(--text);
  border-bottom: 1.5px solid var(--text); }
th, td { padding: 0.2rem 0.9rem; line-height: 1.4; vertical-align: baseline; }
thead th { border-bottom: 1px solid var(--text); font-weight: 600; }
tbody tr + tr td { border-top: 1px solid var(--row-rule); }
.l { text-align: left; }
.r { text-align: right; font-variant-numeric: tabular-nums lining-nums; }
figure { margin: 1.5rem 0; text-align: center; }
/* The drawing fills the column (its viewBox scales it), its labels in the formulas' font, else a serif. */
figure svg { display: block; width: 100%; height: auto; font-family: 'handprop-math', 'STIX Two Math',
  'STIX Two Text', 'Latin Modern Roman', Cambria, 'DejaVu Serif', serif; }
figcaption { color: var(--muted); font-size: 0.92rem; margin-top: 0.4rem; }
@media (max-width: 32rem) {
  body { font-size: 16px; }
  main { padding: 1.5rem 0.9rem 3rem; }
  .eq > math { font-size: 1em; }
  h1 { font-size: 1.6rem; }
  th, td { padding: 0.25rem 0.55rem; }
}
@media print {
  :root { --text: #000; --ground: #fff; --muted: #000; --tint: #fff; --rule: #ccc; --row-rule: #ddd; }
  body, .summary, nav h2, figcaption { color: #000; background: #fff; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  a { color: #000; text-decoration: none; }
  nav { background: none; border: 0; padding: 0; }
  h2 { border-bottom-color: #000; }
  h2, h3, p:has(+ .eq), p:has(+ .table) { break-after: avoid; }
  .eq, figure, tr { break-inside: avoid; }
  .eq, .table { overflow: visible; }
}
"""


def render_html_document(document: Document) -> str:
    """The Document as one HTML page, MathML and font included.

    >>> from handprop import load, solve
    >>> from handprop.render.derivation import build
    >>> page = render_html_document(build(solve(load("homework"))))
    >>> page.startswith("<!DOCTYPE html>") and "<script" not in page
    True
    """
    body = [f"<h1>{_text(document.title)}</h1>"]
    body += [_paragraph(p, css_class="summary") for p in document.summary]
    body += ['<nav aria-label="Contents">', "<h2>Contents</h2>", *_contents(document.sections), "</nav>"]
    for section in document.sections:
        body += section_html(section)
    head = ['<meta charset="utf-8">', '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_text(document.title)}</title>", f"<!-- {_LICENCE_NOTE} -->",
            f"<style>\n{_font_face()}{_CSS}</style>"]
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', "<head>", *head, "</head>", "<body>", "<main>", *body,
                      "</main>", "</body>", "</html>", ""])


def _text(text: str) -> str:
    return html.escape(text, quote=False)


def _attribute(text: str) -> str:
    return html.escape(text, quote=True)


def _font_face() -> str:
    import base64
    from importlib import resources

    font = (resources.files(__package__) / "assets" / "math-font.woff2").read_bytes()
    data = base64.b64encode(font).decode("ascii")
    return ("@font-face { font-family: 'handprop-math'; font-display: block;\n"
            f"  src: url(data:font/woff2;base64,{data}) format('woff2'); }}")


# -- math ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=20_000)
def _mathml(latex: str, display: str) -> str:
    """One formula's MathML, remembered: a page, and the next page of an edited problem, repeat many."""
    return mathml_text(latex, display)


def _inline_math(latex: str) -> str:
    return f'<math display="inline">{_mathml(latex, "inline")}</math>'


def _chain(block: Chain) -> str:
    if display_width(" = ".join((block.lhs,) + block.steps)) <= WIDE:
        inner = _mathml(" = ".join((block.lhs,) + block.steps), "block")
    else:
        # One row per step, aligned on "=": latex2mathml writes no table for \begin{aligned}.
        rows = []
        for i, step in enumerate(block.steps):
            lhs = _mathml(block.lhs, "block") if i == 0 else ""
            rhs = mathml_text("= " + step, "block", relation_first=True)  # "=" spaced as a relation
            rows.append(f'<mtr><mtd class="lhs">{lhs}</mtd><mtd class="rhs">{rhs}</mtd></mtr>')
        inner = f'<mtable displaystyle="true">{"".join(rows)}</mtable>'
    anchor = f' id="{_attribute(block.anchor)}"' if block.anchor else ""
    return f'<div class="eq"{anchor}><math display="block">{inner}</math></div>'


# -- blocks -------------------------------------------------------------------------------------------

def _inline(parts) -> str:
    return "".join(_text(p) if isinstance(p, str) else _inline_math(p.latex) for p in parts)


def _paragraph(block: Paragraph, css_class: str | None = None) -> str:
    attributes = f' class="{css_class}"' if css_class else ""
    return f"<p{attributes}>{_inline(block.parts)}</p>"


def _cell(parts, align: str) -> str:
    if align == "r":  # a number's sign as the minus of the formulas, not a hyphen
        parts = tuple(_NEGATIVE.sub("\u2212", p) if isinstance(p, str) else p for p in parts)
    return _inline(parts)


def _table(block: Table) -> str:
    header = "".join(f'<th class="{a}">{_inline(cell)}</th>' for cell, a in zip(block.header, block.align))
    rows = []
    for i, row in enumerate(block.rows):
        anchor = block.anchors[i] if i < len(block.anchors) else None
        attributes = f' id="{_attribute(anchor)}"' if anchor else ""
        cells = "".join(f'<td class="{a}">{_cell(cell, a)}</td>' for cell, a in zip(row, block.align))
        rows.append(f"<tr{attributes}>{cells}</tr>")
    return "\n".join(['<div class="table"><table>', f"<thead><tr>{header}</tr></thead>", "<tbody>", *rows,
                      "</tbody>", "</table></div>"])


def _block(block) -> list[str]:
    if isinstance(block, Paragraph):
        return [_paragraph(block)]
    if isinstance(block, Chain):
        return [_chain(block)]
    if isinstance(block, Table):
        return [_table(block)]
    if isinstance(block, Figure):
        if not block.svg:
            return []  # nothing until there is a drawing
        # Inline SVG in HTML needs no namespace declaration; leaving it out keeps the page free of URLs.
        svg = block.svg.replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)
        return [f"<figure>\n{svg}\n<figcaption>{_text(block.caption)}</figcaption>\n</figure>"]
    if isinstance(block, Section):
        return section_html(block)
    raise TypeError(type(block))


def section_html(section: Section) -> list[str]:
    level = min(max(section.level, 2), 6)
    lines = [f'<section id="{_attribute(section.anchor)}">', f"<h{level}>{_inline(section.title)}</h{level}>"]
    for block in section.blocks:
        lines.extend(_block(block))
    return lines + ["</section>"]


def _contents(sections) -> list[str]:
    lines = ["<ol>"]
    for section in sections:
        if not section.in_contents:
            continue
        link = f'<a href="#{_attribute(section.anchor)}">{_inline(section.title)}</a>'
        children = [b for b in section.blocks if isinstance(b, Section) and b.in_contents]
        lines += [f"<li>{link}", *_contents(children), "</li>"] if children else [f"<li>{link}</li>"]
    return lines + ["</ol>"]


# -- mending latex2mathml's MathML ------------------------------------------------------------
