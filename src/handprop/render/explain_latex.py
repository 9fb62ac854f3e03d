"""A worked solution as a standalone LaTeX document: amsmath and amssymb only, compiles with pdflatex."""

from __future__ import annotations

from .document import Chain, Document, Figure, Paragraph, Section, Table, display_width

WIDE = 58  # a chain wider than this many characters, typeset, is set one step per line
TABLE_ROWS = 40  # rows per tabular: a tabular never breaks across pages
_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
            ">": r"\textgreater{}", "|": r"\textbar{}"}
_HEADINGS = {2: "section", 3: "subsection", 4: "subsubsection"}


def _text(text: str) -> str:
    return "".join(_SPECIAL.get(c, c) for c in text)


def _inline(parts) -> str:
    return "".join(_text(p) if isinstance(p, str) else f"${p.latex}$" for p in parts)


def _chain(block: Chain) -> list[str]:
    label = [f"% {block.anchor}"] if block.anchor else []
    if display_width(" = ".join((block.lhs,) + block.steps)) <= WIDE:
        return label + [r"\[", " = ".join((block.lhs,) + block.steps), r"\]"]
    lines = [f"{block.lhs} &= {block.steps[0]}"] + [f"&= {step}" for step in block.steps[1:]]
    return label + [r"\begin{align*}", " \\\\\n".join(lines), r"\end{align*}"]


def _table(block: Table) -> list[str]:
    lines = []
    for start in range(0, max(len(block.rows), 1), TABLE_ROWS):
        rows = block.rows[start:start + TABLE_ROWS]
        lines += [r"\begin{center}", r"\begin{tabular}{" + "".join(block.align) + "}", r"\hline",
                  " & ".join(_inline(c) for c in block.header) + r" \\", r"\hline"]
        lines += [" & ".join(_inline(c) for c in row) + r" \\" for row in rows]
        lines += [r"\hline", r"\end{tabular}", r"\end{center}"]
    return lines


def _block(block) -> list[str]:
    if isinstance(block, Paragraph):
        return [_inline(block.parts), ""]
    if isinstance(block, Chain):
        return _chain(block) + [""]
    if isinstance(block, Table):
        return _table(block) + [""]
    if isinstance(block, Figure):
        return []  # the SVG diagram has no place in a document that uses no graphics package
    if isinstance(block, Section):
        return _section(block)
    raise TypeError(type(block))


def _section(section: Section) -> list[str]:
    lines = [f"\\{_HEADINGS[section.level]}{{{_inline(section.title)}}}", f"% anchor: {section.anchor}", ""]
    for block in section.blocks:
        lines.extend(_block(block))
    return lines


def render_latex_document(document: Document) -> str:
    """The document as LaTeX source.

    >>> from handprop import load, solve
    >>> from handprop.render.derivation import build
    >>> render_latex_document(build(solve(load("homework")))).splitlines()[0]
    '\\\\documentclass[11pt]{article}'
    """
    lines = [
        r"\documentclass[11pt]{article}",
        r"\usepackage{amsmath,amssymb}",
        r"% Margins set by hand, so that nothing beyond amsmath and amssymb is needed.",
        r"\setlength{\textwidth}{6.3in}\setlength{\oddsidemargin}{0.1in}\setlength{\evensidemargin}{0.1in}",
        r"\setlength{\textheight}{9in}\setlength{\topmargin}{-0.5in}",
        r"\setlength{\parindent}{0pt}\setlength{\parskip}{0.6em}",
        r"\allowdisplaybreaks",
        f"\\title{{{_text(document.title)}}}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        "",
    ]
    for paragraph in document.summary:
        lines.extend(_block(paragraph))
    lines += [r"\tableofcontents", ""]
    for section in document.sections:
        lines.extend(_section(section))
    lines.append(r"\end{document}")
    return "\n".join(lines) + "\n"
