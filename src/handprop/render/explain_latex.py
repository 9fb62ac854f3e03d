"""A worked solution as a standalone LaTeX document for pdflatex: amsmath and amssymb, and TikZ for Figure 1.

Text is set for pdflatex: the symbols a name or a title may hold (∂, Greek letters, primes, arrows, minus
signs) are written as LaTeX commands; a character with no such command and none in pdflatex's own UTF-8 table
(Chinese, say) is named by pdf.py when pdflatex stops at it.
"""

from __future__ import annotations

import re

from .document import Chain, Document, Figure, Paragraph, Section, Table, display_width

WIDE = 58  # a chain wider than this many characters, typeset, is set one step per line
COLUMN = 40  # a step of a chain wider than this, typeset, does not fit a column of the two-column layout
FOLD_ROWS, FOLD_CELLS = 10, 8  # a table of more rows, and no more than half this many columns, is set in parts
TABLE_ROWS = 40  # rows per tabular: a tabular never breaks across pages
_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
            ">": r"\textgreater{}", "|": r"\textbar{}"}
_HEADINGS = {2: "section", 3: "subsection", 4: "subsubsection"}
TOC_LINES = 900  # a document of more LaTeX lines than this (about 6 pages) opens with a table of contents

_GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho varsigma sigma "
          "tau upsilon phi chi psi omega").split()
# Symbols in maths: what a name or a title may hold that pdflatex has no text glyph for.
_MATH = {chr(0x3B1 + k): "o" if name == "omicron" else "\\" + name for k, name in enumerate(_GREEK)}
_MATH.update({chr(0x391 + k): "\\" + name.capitalize() for k, name in enumerate(_GREEK)
              if name.capitalize() in ("Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi",
                                       "Psi", "Omega")})
_MATH.update({"\u03d5": "\\phi", "\u03f5": "\\epsilon", "\u2202": "\\partial", "\u2207": "\\nabla",
              "\u2032": "'", "\u2033": "''", "\u2212": "-", "\u00b7": "\\cdot", "\u22c5": "\\cdot",
              "\u00d7": "\\times", "\u2192": "\\rightarrow", "\u2190": "\\leftarrow", "\u2193": "\\downarrow",
              "\u2191": "\\uparrow", "\u2264": "\\le", "\u2265": "\\ge", "\u2260": "\\ne", "\u2248": "\\approx",
              "\u221e": "\\infty", "\u2211": "\\sum", "\u220f": "\\prod", "\u221a": "\\surd", "\u2208": "\\in",
              "\u00b1": "\\pm", "\u2299": "\\odot", "\u2297": "\\otimes", "\u22a4": "\\top", "\u00b0": "^\\circ",
              "\u2205": "\\emptyset", "\u2026": "\\ldots", "\u22ef": "\\cdots", "\u03b8": "\\theta", "\u2013": "-"})
_SUPERSCRIPTS = dict(zip("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207d\u207e\u207a\u207b",
                         "0123456789()+-"))
_SUBSCRIPTS = dict(zip("\u2080\u2081\u2082\u2083\u2084\u2085\u2086\u2087\u2088\u2089\u208d\u208e\u208a\u208b",
                       "0123456789()+-"))
# In text, beside _SPECIAL: typographic characters pdflatex sets from commands of its own.
_TEXT = {"\u2026": "\\ldots{}", "\u2013": "--", "\u2014": "---", "\u2018": "`", "\u2019": "'", "\u201c": "``",
         "\u201d": "''", "\u00a0": "~", "\u2212": "$-$", "\u2713": "$\\checkmark$", "\u2717": "$\\times$",
         "\u21b3": "$\\hookrightarrow$"}
# A hyphen before a number, at the start or after a space, bracket or sign, is a minus sign.
_MINUS = re.compile(r"(?:^|(?<=[\s(\[=,;:/]))-(?=[0-9.])")


_SCRIPT_RUNS = re.compile("[" + "".join(_SUPERSCRIPTS) + "]+|[" + "".join(_SUBSCRIPTS) + "]+|.", re.S)


def _scripts(text: str, table: dict, mark: str) -> str:
    """Runs of Unicode super- or subscript characters as one LaTeX script: ⁽³⁾ -> ^{(3)}."""
    return re.sub("[" + "".join(table) + "]+", lambda m: f"{mark}{{{''.join(table[c] for c in m.group())}}}", text)


def latex_math(latex: str) -> str:
    """Maths with the Unicode symbols it may hold (from a name or a title) as LaTeX commands.

    >>> latex_math("\u2202L/\u2202\u03b8\u2081")
    '\\\\partial L/\\\\partial \\\\theta _{1}'
    """
    if latex.isascii():
        return latex
    latex = _scripts(_scripts(latex, _SUPERSCRIPTS, "^"), _SUBSCRIPTS, "_")
    out = []
    for c in latex:
        command = _MATH.get(c)
        out.append(c if command is None else command + (" " if command[-1].isalpha() else ""))
    return "".join(out)


def latex_text(text: str) -> str:
    """Plain text as LaTeX text: its special characters escaped, a hyphen before a number as a minus sign, and
    the symbols of _MATH set as maths.

    >>> latex_text("w1 = -0.05, \u2202L/\u2202w\u2081 & more")
    'w1 = $-$0.05, $\\\\partial $L/$\\\\partial $w$_{1}$ \\\\& more'
    >>> latex_text("s\u207d\u00b3\u207e")  # a name's third version: one superscript
    's$^{(3)}$'
    """
    out = []
    pieces = _MINUS.split(text)
    for k, piece in enumerate(pieces):
        if k:
            out.append("$-$")
        for c in _SCRIPT_RUNS.findall(piece):  # a character, or a run of super- or subscripts (⁽³⁾) as one
            if len(c) > 1:
                out.append(f"${latex_math(c)}$")
            elif c in _SPECIAL:
                out.append(_SPECIAL[c])
            elif c.isascii():
                out.append(c)
            elif c in _TEXT:
                out.append(_TEXT[c])
            elif c in _MATH or c in _SUPERSCRIPTS or c in _SUBSCRIPTS:
                out.append(f"${latex_math(c)}$")
            else:
                out.append(c)
    return re.sub(r"(?<!\\)\$\$", "", "".join(out))  # adjacent maths joined: $\partial$$_{1}$ -> $\partial_{1}$


def _text(text: str) -> str:
    return latex_text(text)


def _inline(parts) -> str:
    return "".join(_text(p) if isinstance(p, str) else f"${latex_math(p.latex)}$" for p in parts)


def _chain(block: Chain, wide: int = WIDE) -> list[str]:
    label = [f"% {block.anchor}"] if block.anchor else []
    lhs, steps = latex_math(block.lhs), tuple(latex_math(step) for step in block.steps)
    if display_width(" = ".join((lhs,) + steps)) <= wide:
        return label + [r"\[", " = ".join((lhs,) + steps), r"\]"]
    lines = [f"{lhs} &= {steps[0]}"] + [f"&= {step}" for step in steps[1:]]
    return label + [r"\begin{align*}", " \\\\\n".join(lines), r"\end{align*}"]


def _folded(block: Table) -> tuple[int, list]:
    """A long narrow table set as two or three side by side (the homework's 17 parameters as three of six rows),
    so it takes a third of the page's height: how many, and the rows, each holding one row of every part."""
    columns = len(block.header)
    parts = max(1, min(3, FOLD_CELLS // columns))
    if len(block.rows) <= FOLD_ROWS or parts == 1 or len(block.rows) > parts * TABLE_ROWS:
        return 1, list(block.rows)
    height = -(-len(block.rows) // parts)
    empty = ((("",),) * columns)
    rows = [sum((block.rows[k * height + i] if k * height + i < len(block.rows) else empty for k in range(parts)), ())
            for i in range(height)]
    return parts, rows


def _table(block: Table) -> list[str]:
    lines = []
    parts, all_rows = _folded(block)
    align = r"@{\hspace{2.5em}}".join(["".join(block.align)] * parts)
    for start in range(0, max(len(all_rows), 1), TABLE_ROWS):
        rows = all_rows[start:start + TABLE_ROWS]
        lines += [r"\begin{center}", r"\begin{tabular}{" + align + "}", r"\hline",
                  " & ".join(_inline(c) for c in block.header * parts) + r" \\", r"\hline"]
        lines += [" & ".join(_inline(c) for c in row) + r" \\" for row in rows]
        lines += [r"\hline", r"\end{tabular}", r"\end{center}"]
    return lines


def _block(block, figure: str | None = None, wide: int = WIDE) -> list[str]:
    if isinstance(block, Paragraph):
        return [_inline(block.parts), ""]
    if isinstance(block, Chain):
        return _chain(block, wide) + [""]
    if isinstance(block, Table):
        return _table(block) + [""]
    if isinstance(block, Figure):
        if figure is None:
            return []
        caption = block.caption.replace(" (hover for every detail)", "")  # a page has no pointer to hover with
        # Without TikZ installed the document still compiles, with a line in the figure's place.
        missing = r"\emph{Figure 1 is drawn with TikZ, which this \TeX\ installation lacks (Debian: texlive-pictures).}"
        return [r"\begin{center}", r"\ifdefined\tikzpicture", figure, r"\else", missing, r"\fi", "",
                r"\small " + _text(caption), r"\end{center}", ""]
    if isinstance(block, Section):
        return _section(block, figure, wide)
    raise TypeError(type(block))


def _section(section: Section, figure: str | None = None, wide: int = WIDE) -> list[str]:
    lines = [f"\\{_HEADINGS[section.level]}{{{_inline(section.title)}}}", f"% anchor: {section.anchor}", ""]
    for block in section.blocks:
        if isinstance(block, Chain) and lines[-1] == "":
            lines.pop()  # a display joins the paragraph before it: no empty line above it, no parskip
        lines.extend(_block(block, figure, wide))
    return lines


def _narrow(section: Section) -> bool:
    """Whether a section reads well in a column: no figure, no table of more than three columns, no step of a
    chain wider than COLUMN characters typeset (a chain wider than that is set a step per line)."""
    for block in section.blocks:
        if isinstance(block, Figure) or (isinstance(block, Table) and len(block.header) > 3):
            return False
        if isinstance(block, Chain) and any(display_width(latex_math(step)) > COLUMN
                                            for step in (block.lhs,) + block.steps):
            return False
        if isinstance(block, Section) and not _narrow(block):
            return False
    return True


# A4, 10 pt, margins of about 2.2 cm, set by hand (no geometry package); display and section spacing tightened so
# the homework's worked solution fits on four pages.
_PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage{lmodern}% scalable: Figure 1's text at any size
\usepackage{amsmath,amssymb,multicol}
\setlength{\columnsep}{1.2cm}
\IfFileExists{tikz.sty}{\usepackage{tikz}}{}% Figure 1; without TikZ, a line says so
\setlength{\textwidth}{16.6cm}\setlength{\oddsidemargin}{-0.34cm}\setlength{\evensidemargin}{-0.34cm}
\setlength{\textheight}{25.2cm}\setlength{\topmargin}{-0.8cm}\setlength{\headheight}{0pt}\setlength{\headsep}{0pt}
\setlength{\parindent}{0pt}\setlength{\parskip}{0.35em plus 0.2em}
\makeatletter
\g@addto@macro\normalsize{\setlength{\abovedisplayskip}{5pt plus 2pt minus 2pt}%
  \setlength{\belowdisplayskip}{5pt plus 2pt minus 2pt}%
  \setlength{\abovedisplayshortskip}{2pt plus 2pt}\setlength{\belowdisplayshortskip}{4pt plus 2pt minus 1pt}}
\renewcommand\section{\@startsection{section}{1}{\z@}{-2.2ex plus -0.5ex minus -0.2ex}{1ex plus 0.2ex}%
  {\normalfont\large\bfseries}}
\renewcommand\subsection{\@startsection{subsection}{2}{\z@}{-1.6ex plus -0.4ex minus -0.2ex}{0.6ex plus 0.2ex}%
  {\normalfont\normalsize\bfseries}}
\makeatother
\allowdisplaybreaks"""


def render_latex_document(document: Document, *, figure: str | None = None, toc: bool | None = None,
                          columns: bool = True) -> str:
    """The document as LaTeX source; figure, a tikzpicture (tikz.py), is set where the document has Figure 1.
    A table of contents opens a long document (over TOC_LINES lines of LaTeX), or any with toc=True; never
    with toc=False. With columns, a run of narrow sections is set in two columns; without, all at full width.

    >>> from handprop import load, solve
    >>> from handprop.render.derivation import build
    >>> render_latex_document(build(solve(load("homework")))).splitlines()[0]
    '\\\\documentclass[10pt,a4paper]{article}'
    """
    body = []
    for paragraph in document.summary:
        body.extend(_block(paragraph))
    sections, in_columns = [], False
    for section in document.sections:
        narrow = columns and _narrow(section)
        if narrow != in_columns:  # a run of narrow sections is set in two columns
            sections += [r"\begin{multicols}{2}\interdisplaylinepenalty=10000" if narrow else r"\end{multicols}", ""]
            in_columns = narrow
        sections.extend(_section(section, figure, COLUMN if narrow else WIDE))
    if in_columns:
        sections += [r"\end{multicols}", ""]
    if toc or (toc is None and len(sections) > TOC_LINES):
        body += [r"\tableofcontents", ""]
    lines = [_PREAMBLE, r"\begin{document}", "", r"\begin{center}", f"{{\\LARGE {_text(document.title)}}}",
             r"\end{center}", ""]
    lines += body + sections + [r"\end{document}"]
    return "\n".join(lines) + "\n"
