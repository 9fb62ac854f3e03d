"""A student's answers file -> the quantities they answered, each with the number as written.

Two layouts are read: rows of `name,value` (CSV, header optional), and the problem sheet's Result table
filled in (name | initial | gradient | updated), as the Markdown table of the sheet or as CSV (or
tab-separated) with those four columns. Names follow the homework: `out1`, `loss`, `dL/dw1`, `w1'`,
`h1`, `dL/dh1`, with the usual other spellings (`y1`, `dw1`, `grad_w1`, `w1_new`, `updated_w1`).
Every problem names the file and the line: an unknown name (with the closest known one), a value that
is not a number, a quantity answered twice (both lines), a name without a value, an empty file.
"""

from __future__ import annotations

import csv
import re
from ..core.frozen import dataclass

from ..core.errors import HandpropError
from ..problem.data_files import decimal_point, sniff_delimiter
from .names import Names, Quantity, clean_name

NAME_HEADERS = ("name", "parameter", "quantity", "answer", "entry")
COLUMN_HEADERS = {"initial": "initial", "gradient": "gradient", "updated": "updated",
                  "update": "updated", "update outputs": "updated", "after": "updated"}
BLANK = ("", "?", "-", "\u2013", "\u2014")  # a cell left empty on the sheet
MAX_ANSWER_BYTES = 1_000_000
_NUMBER = re.compile(r"[+-]?(\d+\.?(\d*)|\.(\d+))([eE]([+-]?\d+))?")


@dataclass(frozen=True)
class Answer:
    quantity: Quantity
    label: str  # the quantity's name as the student spelled it, made canonical (out1 or y1, dL/dw1, w1')
    text: str  # the number as written
    value: float
    decimals: int  # digits after the point, as written: the precision the student claims
    line: int


def number(text: str) -> tuple[float, int] | None:
    """The value and the decimals written, or None when the text is not a plain number.

    >>> number("0.53"), number("-1.5e-2"), number("\u22120.10"), number("abc")
    ((0.53, 2), (-0.015, 3), (-0.1, 2), None)
    """
    text = text.strip().strip("`$*").replace("\u2212", "-").replace(" ", "").replace("\u2009", "")
    match = _NUMBER.fullmatch(text)
    if not match or len(text) > 40:
        return None
    fraction = match.group(2) or match.group(3) or ""
    exponent = int(match.group(5)) if match.group(5) else 0
    return float(text), max(len(fraction) - exponent, 0)


def _markdown_tables(lines: list[str]) -> list[list[tuple[int, list[str]]]]:
    tables: list[list] = []
    previous = None
    for n, line in enumerate(lines, 1):
        if not line.strip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if previous != n - 1:
            tables.append([])
        previous = n
        if any(cells) and all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
            continue  # the header's separator
        tables[-1].append((n, cells))
    return [table for table in tables if table]


def _rows(text: str) -> tuple[str, list[tuple[int, list[str]]]]:
    """('markdown' | 'csv', [(line number, cells)]), blank lines and # comments left out. In Markdown (a whole
    sheet, say) the table of answers is the one whose header names the Result table's columns."""
    lines = text.splitlines()
    tables = _markdown_tables(lines)
    if tables:
        headed = [t for t in tables if _header(t[0][1]) is not None]
        result = [t for t in headed if {"gradient", "updated"} & set(_header(t[0][1]))]
        return "markdown", (result or headed or tables)[0]
    content = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")]
    first = content[0][1] if content else ""
    delimiter = "\t" if "\t" in first and "," not in first else sniff_delimiter(first)
    rows = [(n, _bracketed([c.strip() for c in next(csv.reader([line], delimiter=delimiter))])) for n, line in content]
    if delimiter == ";":  # a spreadsheet's, whose decimal mark is a comma: 0,53
        rows = [(n, [decimal_point(c) for c in cells]) for n, cells in rows]
    return "csv", rows


def _bracketed(cells: list[str]) -> list[str]:
    """Cells with a name's indices put back together: dL/dK1[1,1,2,2] written without quotes in a CSV is one
    name, not four cells.

    >>> _bracketed(["dL/dK1[1", "1", "2", "2]", "0.5"]), _bracketed(["w1", "0.5"])
    (['dL/dK1[1,1,2,2]', '0.5'], ['w1', '0.5'])
    """
    joined: list[str] = []
    for cell in cells:
        if joined and joined[-1].count("[") > joined[-1].count("]"):
            joined[-1] += "," + cell
        else:
            joined.append(cell)
    return joined


def _header(cells: list[str]) -> list[str] | None:
    """The columns a header row names, or None when the row is not a header."""
    lowered = [c.strip().strip("*`").lower() for c in cells]
    if not lowered or lowered[0] not in NAME_HEADERS:
        return None
    return ["name"] + [COLUMN_HEADERS.get(c, "value" if c in ("value", "answer") else c) for c in lowered[1:]]


def read_answers(text: str, problem, *, file: str = "<answers>") -> list[Answer]:
    """Every answer in the file, in the order written.

    >>> from handprop import load
    >>> [(a.label, a.value, a.decimals) for a in read_answers("out1,0.53\\ndL/dw1,0.01\\n", load("homework"))]
    [('out1', 0.53, 2), ('dL/dw1', 0.01, 2)]
    """
    names = Names(problem, file)
    layout, rows = _rows(text)
    if not rows:
        raise HandpropError(file, None, "no answers found",
                            "name,value rows, or the problem sheet's Result table filled in")
    first_line, first = rows[0]
    columns = _header(first)
    if columns is not None:
        rows = rows[1:]
    elif layout == "markdown":
        raise HandpropError(file, f"line {first_line}", "the table has no header",
                            "| name | initial | gradient | updated |, as on the problem sheet")
    else:
        columns = {1: ["name", "value"], 2: ["name", "value"], 4: ["name", "initial", "gradient", "updated"]}.get(
            len(first))
        if columns is None:
            raise names.fail(first_line, f"{len(first)} columns", "name,value or name,initial,gradient,updated")
    tabular = "gradient" in columns or "updated" in columns
    if not tabular and columns[:2] != ["name", "value"]:
        raise names.fail(first_line, f"columns {', '.join(columns)}", "name,value or name,initial,gradient,updated")
    answers: list[Answer] = []
    seen: dict[Quantity, tuple[int, str, str]] = {}
    for line, cells in rows:
        if not any(cells):
            continue
        name = cells[0]
        if not name:
            raise names.fail(line, "a row without a name", "a name such as out1, w1 or dL/dw1 in the first column")
        if len(cells) > len(columns) and any(cells[len(columns):]):
            raise names.fail(line, f"{len(cells)} cells in a row of {len(columns)} columns", ", ".join(columns))
        cells = cells + [""] * (len(columns) - len(cells))
        if not tabular:
            if cells[1].strip() in BLANK:
                raise names.fail(line, f"{name.strip()} has no value", f"{name.strip()},<number>")
            entries = [(names.resolve(name, line), cells[1], None)]
        else:
            entries = _table_entries(names, name, dict(zip(columns[1:], cells[1:])), line)
        for (quantity, shown), written, column in entries:
            spelled = name.strip() + (f" ({column})" if column else "")
            parsed = number(written)
            if parsed is None:
                where = f"{shown}" + (f", column {column}" if column else "")
                raise names.fail(line, f"'{written.strip()[:40]}' is not a number ({where})", "a number such as 0.53")
            if quantity in seen:
                other_line, other, other_text = seen[quantity]
                if other_text == written.strip() and other.split(" (")[0] != spelled.split(" (")[0]:
                    continue  # out1 and y1, alike: a table with --nodes names the outputs twice
                both = (f"lines {other_line} and {line}" if other == spelled else
                        f"lines {other_line} ({other}) and {line} ({spelled})")
                raise HandpropError(names.file, None, f"{shown} given twice, on {both}", "each answer once")
            seen[quantity] = (line, spelled, written.strip())
            answers.append(Answer(quantity, shown, written.strip(), parsed[0], parsed[1], line))
    if not answers:
        raise HandpropError(file, None, "no answers found: every cell is empty", "the answers filled in")
    return answers


def _table_entries(names: Names, row_name: str, cells: dict, line: int) -> list:
    filled = {column: text for column, text in cells.items() if column in ("initial", "gradient", "updated")
              and text.strip() not in BLANK}
    if "updated" in filled and "initial" not in filled:
        probe = names.table_cell(row_name, "initial", line)
        if probe is not None and probe[0].kind in ("value", "loss"):
            # An output or the loss written in the last column, as the homework's own table does.
            filled = {("initial" if c == "updated" else c): t for c, t in filled.items()}
    entries = []
    for column, text in filled.items():
        cell = names.table_cell(row_name, column, line)
        if cell is None:
            _check_initial(names, row_name, text, line)
            continue
        if column == "updated" and cell[0].kind == "value":
            raise names.fail(line, f"{cell[1]} has no updated value", "its value in the initial column")
        entries.append((cell, text, column))
    return entries


def _check_initial(names: Names, row_name: str, text: str, line: int) -> None:
    """A parameter's initial value, or a data value, is given by the problem: one that differs means another
    problem's answers."""
    text_name, sample = names.sample(clean_name(row_name), line)
    parameter = names.base(text_name)
    parsed = number(text)
    if parsed is None:
        raise names.fail(line, f"'{text.strip()[:40]}' is not a number ({parameter}, column initial)",
                         "a number such as 0.1")
    problem = names.problem
    given = (problem.parameters[parameter] if parameter in problem.parameters
             else problem.data[parameter][sample or 0])
    if abs(parsed[0] - given) > 0.5 * 10.0 ** -parsed[1] * (1 + 1e-9):
        raise names.fail(line, f"{parameter}'s initial value is {text.strip()} here but {given!r} in the problem",
                         "the answers to this problem (is it another variant's sheet?)")


def read_answers_file(path: str, problem) -> list[Answer]:
    """read_answers on a file, with the file's own errors (missing, unreadable, not text) as HandpropError."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_ANSWER_BYTES + 1)
    except OSError as exc:
        raise HandpropError(path, None, f"cannot read: {exc.strerror or exc}", "an answers file") from None
    if len(data) > MAX_ANSWER_BYTES:
        raise HandpropError(path, None, "larger than 1 MB", "an answers file of a few kB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HandpropError(path, None, "is not UTF-8 text", "a CSV or Markdown file") from None
    return read_answers(text, problem, file=path)
