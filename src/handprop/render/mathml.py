"""LaTeX -> MathML, by latex2mathml, mended where Chromium lays its output out badly.

The mending: a minus that starts an operand is a prefix sign, not a binary operator; function names
(ln, tanh, ReLU) get TeX's thin space; primes are full size; accents keep their bar; operators inside
scripts lose their spacing; \\left( \\right) stays normal size around nothing tall; superscripts
clear the overhang of STIX Math's italic capitals, which the font gives no italic correction for; a
matrix's cells keep TeX's space between columns, whatever the page's style gives table cells, each matrix
in a row with its own brackets; bold (\\mathbf{1}, a vector of ones) is written in the font's bold
letters, as MathML Core draws no mathvariant but normal; and capital Greek stands upright, as in TeX.
"""

from __future__ import annotations

import functools
import html
import re

_ROWS = {"math", "mrow", "mtd", "mstyle", "mpadded", "mphantom", "msqrt", "menclose"}  # children laid out in a row
_OPENING = {"(", "[", "{", "\u27e8", "\u230a", "\u2308"}
_CLOSING = {")", "]", "}", "\u27e9", "\u230b", "\u2309", "!", "\u2032", "\u2033", "\u2034"}
_PRIMES = {"\u2032", "\u2033", "\u2034"}
_ACCENTS = {"\u00af", "\u02c9", "^", "\u02c6", "~", "\u02dc", "\u02d9", "\u00a8", "\u2192", "\u20d7"}
_SCRIPTED = {"msub", "msup", "msubsup", "munder", "mover", "munderover"}  # children after the first are scripts
_TALL = {"mfrac", "munder", "munderover", "mtable", "msqrt", "mroot"}
# How far STIX Math's italic capitals (and f) reach past their advance width, in em (from the glyph outlines).
_OVERHANG = {"F": 0.105, "H": 0.05, "I": 0.05, "J": 0.08, "M": 0.05, "N": 0.05, "P": 0.11, "T": 0.12, "U": 0.07,
             "V": 0.185, "W": 0.185, "Y": 0.16, "f": 0.06}
_SCRIPT_SCALE = 0.75  # a superscript's size relative to its base (the font's ScriptPercentScaleDown)
_THIN_SPACE = "0.1667em"  # TeX's \, between a function name and what it applies to
# A matrix cell's padding: TeX's bmatrix sets 2 x 5pt (\arraycolsep) between columns and none at the brackets;
# as an inline style, so that no page style for table cells (the aligned chains' rows) reaches it.
_CELL = "padding: 0.2em 0.45em"
_CELL_EDGE = "0.1em"


# -- formulas of one shape, converted once ----------------------------------------------------------------
# A worked solution writes thousands of formulas that differ only in their digits (h_{12} = 0.25 ... and
# h_{13} = 0.75 ...). latex2mathml treats every digit alike (its tokens match \d, whatever the digit's value), so a
# formula is converted once per shape: with its k-th digit replaced by the k-th of the markers below (decimal
# digits of other scripts, which match \d as well and appear nowhere else), then each marker by the digit it
# stands for. A shape whose markers do not come through exactly once each (or a formula with a font command, whose
# digits could be drawn in bold) is converted as it is.
_DIGIT = re.compile(r"[0-9]")
_ZEROS = (0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6,
          0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0,
          0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0)
_MARKERS = "".join(chr(zero + k) for zero in _ZEROS for k in range(10))
_MARKER_SET = frozenset(_MARKERS)
_UNSHAPED = re.compile(r"\\(?:math|bold|bm\b|bf\b|skew|mkern|kern|hspace|mspace|def\b|newcommand|rule)")
conversions = 0  # latex2mathml's conversions so far (tests count them: one per shape, not one per formula)


def mathml_text(latex: str, display: str, relation_first: bool = False) -> str:
    """The formula's mended MathML as text (serialize(mathml_row(...))); relation_first spaces the row's first
    operator as a relation (a chain's "= ..." row). Converted once per shape (see above)."""
    digits = _DIGIT.findall(latex)
    if (not digits or len(digits) > len(_MARKERS) or _UNSHAPED.search(latex)
            or (not latex.isascii() and not _MARKER_SET.isdisjoint(latex))):
        return _converted(latex, display, relation_first)
    template = _shape(_DIGIT.sub("0", latex), display, relation_first)
    if template is None:
        return _converted(latex, display, relation_first)
    texts, places = template
    return texts[0] + "".join(digits[place] + text for place, text in zip(places, texts[1:]))


@functools.lru_cache(maxsize=20_000)
def _shape(shape: str, display: str, relation_first: bool) -> tuple | None:
    """The MathML of a shape (its digits all 0) as the texts between its digits and, for each digit in the
    MathML, which of the formula's digits it is; None if a marker does not come through exactly once."""
    count = iter(range(len(_MARKERS)))
    marked = _DIGIT.sub(lambda _: _MARKERS[next(count)], shape)
    template = _converted(marked, display, relation_first)
    used = _MARKERS[:next(count)]
    if not all(template.count(marker) == 1 for marker in used):
        return None
    parts = re.split(f"([{used}])", template)
    place = {marker: k for k, marker in enumerate(used)}
    return tuple(parts[0::2]), tuple(place[marker] for marker in parts[1::2])


def _converted(latex: str, display: str, relation_first: bool) -> str:
    row = mathml_row(latex, display)
    if relation_first:
        row[0].set("form", "infix")  # first in its row, but a relation, spaced as one
    return serialize(row)


def mathml_row(latex: str, display: str):
    """latex2mathml's <mrow> for the LaTeX, mended."""
    from latex2mathml.converter import convert_to_element  # only when a page is written

    global conversions
    conversions += 1
    row = convert_to_element(latex, display=display)[0]
    _mend(row)
    return row


def _mend(element, in_script: bool = False) -> None:
    """Fix, in place and depth first, what Chromium would typeset badly."""
    for i, child in enumerate(element):
        _mend(child, in_script or (element.tag in _SCRIPTED and i > 0))
    if element.text:
        element.text = html.unescape(element.text)  # latex2mathml writes "&#x02212;" as text
    if element.get("mathvariant") == "bold" and element.text:
        element.text = "".join(_bold(c) for c in element.text)
        del element.attrib["mathvariant"]
    if element.tag == "mi" and element.text and len(element.text) == 1 and "\u0391" <= element.text <= "\u03a9":
        element.set("mathvariant", "normal")  # TeX sets capital Greek (\Delta) upright, as a single mi is not
    if element.tag == "mo":
        if element.text and len(element.text) > 1 and element.text.isalpha():
            element.tag = "mi"  # \operatorname{ReLU}: a name, not an operator with operator spacing
        elif in_script:
            # TeX sets no space around = , + - in subscripts and superscripts: W_{1,1}, k=1.
            element.set("lspace", "0")
            element.set("rspace", "0")
    elif element.tag == "mtable":
        _space_cells(element)
    elif element.tag == "mover" and len(element) == 2 and element[1].text in _ACCENTS:
        element.set("accent", "true")  # \bar{L}: the bar sits on the letter, not above it as a limit
    elif element.tag in ("msup", "msubsup") and _overhang(element[0]) and element[-1].text not in _PRIMES:
        # STIX Math has no italic corrections: a superscript would run into the top of an italic W.
        clearance = _element("mspace", width=f"{_overhang(element[0]) / _SCRIPT_SCALE:.3f}em")
        element[-1] = _row(clearance, element[-1])
    elif element.tag == "mrow" and _is_left_right(element) and not any(e.tag in _TALL for e in element.iter()):
        # \left( x \right) around nothing taller than a letter: Chromium would still grow the
        # parentheses a size or two (TeX's delimiter shortfall keeps them normal).
        element[0].set("stretchy", "false")
        element[-1].set("stretchy", "false")
    for i, child in enumerate(list(element)):
        if child.tag in ("msup", "msubsup") and child[-1].tag in ("mi", "mo") and child[-1].text in _PRIMES:
            element[i] = _primed(child)
    if element.tag in _ROWS:
        _mend_row(element)
        _group_matrices(element)


def _primed(scripted):
    """w'_1 as w′₁, the prime above the subscript as TeX sets it; c' as c′. The font's prime is drawn raised
    already, at text size: as a superscript it would come out tiny, so it is set at the base's size (a script is
    _SCRIPT_SCALE of it) and lowered by what the superscript's shift adds."""
    primes = _PRIMES_OF[scripted[-1].text]
    base, sub = scripted[0], scripted[1] if scripted.tag == "msubsup" else None
    if scripted.tag == "msup" and base.tag == "msubsup" and _prime_script(base[2]):
        primes += _PRIMES_OF[_prime_script(base[2])]  # w''_1 comes as a prime on a primed w_1
        base, sub = base[0], base[1]
    elif scripted.tag == "msup" and base.tag == "mrow" and len(base) and base[-1].text in _PRIMES:
        primes += _PRIMES_OF[base[-1].text]  # c'' can come as a prime on a primed c
        base = base[0] if len(base) == 2 else _row(*base[:-1])
    text = _PRIME_TEXT[min(primes, len(_PRIME_TEXT)) - 1]
    prime = _element("mo", text, lspace="0", rspace="0")
    if sub is None:
        return _row(base, prime)
    prime.set("style", f"font-size: {100 / _SCRIPT_SCALE:.0f}%")
    script = _element("mpadded", voffset="-0.45em", height="0.3em")
    script.append(prime)
    result = _element("msubsup")
    result.extend([base, sub, script])
    return result


_PRIME_TEXT = ("\u2032", "\u2033", "\u2034")
_PRIMES_OF = {text: k for k, text in enumerate(_PRIME_TEXT, 1)}


def _prime_script(script) -> str | None:
    """The primes of a superscript _primed made, or None."""
    if script.tag == "mpadded" and len(script) == 1 and script[0].text in _PRIMES:
        return script[0].text
    return None


def _mend_row(row) -> None:
    children = list(row)
    for i, child in enumerate(children):
        if child.tag == "mo" and child.text in ("\u2212", "+") and _starts_operand(children[:i]):
            child.set("form", "prefix")  # a sign, not a binary operator: no space between it and its number
    mended = []
    for i, child in enumerate(children):
        if not _is_function_name(child):
            mended.append(child)
            continue
        # \ln y: TeX puts a thin space between an operator name and an ordinary neighbour.
        before = children[i - 1] if i else None
        after = children[i + 1] if i + 1 < len(children) else None
        if before is not None and (before.tag != "mo" or before.text in _CLOSING):
            mended.append(_element("mspace", width=_THIN_SPACE))
        mended.append(child)
        if after is not None and not _opens_with_fence(after):
            mended.append(_element("mspace", width=_THIN_SPACE))
    row[:] = mended


def _bold(character: str) -> str:
    """A letter or digit as its Mathematical Bold character (U+1D400 on); anything else as it is."""
    if "0" <= character <= "9":
        return chr(0x1D7CE + ord(character) - ord("0"))
    if "A" <= character <= "Z":
        return chr(0x1D400 + ord(character) - ord("A"))
    if "a" <= character <= "z":
        return chr(0x1D41A + ord(character) - ord("a"))
    return character


def _group_matrices(row) -> None:
    """A matrix and its brackets in a row of their own: a stretchy bracket grows to the tallest thing in its
    row, and the brackets of a row vector beside a column would otherwise grow as tall as the column."""
    children = list(row)
    grouped, i = [], 0
    while i < len(children):
        window = children[i:i + 3]
        if (len(window) == 3 and window[1].tag == "mtable" and window[0].tag == "mo" and window[0].text in _OPENING
                and window[2].tag == "mo" and window[2].text in _CLOSING):
            grouped.append(_row(*window))
            i += 3
        else:
            grouped.append(children[i])
            i += 1
    if len(grouped) != len(children):
        row[:] = grouped


def _space_cells(table) -> None:
    """A matrix's cells (latex2mathml's mtable for bmatrix and its kin) spaced as TeX spaces them."""
    for row in table:
        cells = [cell for cell in row if cell.tag == "mtd"]
        for i, cell in enumerate(cells):
            style = _CELL
            if i == 0:
                style += f"; padding-left: {_CELL_EDGE}"
            if i == len(cells) - 1:
                style += f"; padding-right: {_CELL_EDGE}"
            cell.set("style", style)


def _overhang(base) -> float:
    italic = base.tag == "mi" and base.get("mathvariant", "italic") == "italic"
    return _OVERHANG.get(base.text, 0.0) if italic else 0.0


def _is_left_right(row) -> bool:
    return (len(row) >= 2 and row[0].tag == "mo" and row[-1].tag == "mo" and row[0].get("fence") == "true"
            and row[-1].get("fence") == "true" and row[0].get("stretchy") == "true")


def _starts_operand(before: list) -> bool:
    """Whether what comes next starts an operand: at the start of a row, or after an operator or opening."""
    if not before:
        return True
    last = before[-1]
    return last.tag == "mo" and last.text not in _CLOSING and last.get("form") != "postfix"


def _is_function_name(element) -> bool:
    if element.tag in ("msub", "msup", "msubsup") and len(element):
        element = element[0]
    return element.tag == "mi" and element.text is not None and len(element.text) > 1 and element.text.isalpha()


def _opens_with_fence(element) -> bool:
    if element.tag == "mrow" and len(element):
        element = element[0]  # \left( ... \right)
    return element.tag == "mo" and element.text in _OPENING


def _row(*children):
    row = _element("mrow")
    row.extend(children)
    return row


def _element(tag: str, text: str | None = None, **attributes):
    from xml.etree.ElementTree import Element

    element = Element(tag, attributes)
    element.text = text
    return element


def _text(text: str) -> str:
    return html.escape(text, quote=False)


def _attribute(text: str) -> str:
    return html.escape(text, quote=True)


def serialize(element) -> str:
    """The element as MathML text (latex2mathml's xmlns left out: HTML needs none)."""
    attributes = "".join(f' {k}="{_attribute(v)}"' for k, v in element.attrib.items() if k != "xmlns")
    inner = _text(element.text or "") + "".join(serialize(child) for child in element)
    return f"<{element.tag}{attributes}>{inner}</{element.tag}>" + _text(element.tail or "")
