"""Data files: a CSV table -> the problem's data, one tuple of numbers per data name.

A data file is CSV (the standard csv module's default dialect: commas, double quotes) in UTF-8, with a
header row naming the columns; or, as European spreadsheets write it, cells separated by `;` with decimal
commas (`x1;x2;t` then `0,26;0,33;1`), told apart by the header (sniff_delimiter). Blank lines are skipped. Only the columns a problem reads are turned into
numbers, so other columns (an id, a note) may hold anything. Every error names the CSV file as the
problem file writes it, and the line and column (or the column) it is about.

A layered network reads its inputs from `inputs` columns and its targets t1..tm from `targets` columns,
or from one `label` column turned into one-hot targets; an equations problem reads each data name from
the column of the same name.
"""

from __future__ import annotations

import math
from ..core.frozen import dataclass
from functools import cached_property

from .checks import Checker
from ..core.errors import HandpropError, one_of
from .files import describe

TRAINING_KEYS = ("batch_size", "epochs", "shuffle", "seed")
MAX_ROWS = 1_000_000  # the engines work sample by sample; beyond this a file is surely not meant for them
MAX_BYTES = 200_000_000  # read whole (so a bad byte's line is exact); this stops a runaway file early


@dataclass(frozen=True)
class DataTable:
    """A CSV file's header and rows, cells as text."""

    file: str  # the path as the problem file writes it, for messages
    columns: tuple  # the header's names
    rows: tuple  # of tuples of cell text, one per data row
    lines: tuple  # each row's line in the file, 1-based

    def __len__(self) -> int:
        return len(self.rows)

    @cached_property
    def positions(self) -> dict:
        """column name -> its position, for a lookup that does not scan the header."""
        return {name: k for k, name in enumerate(self.columns)}

    def index(self, name: str, *, reader: str | None = None) -> int:
        """The column's position; an unknown column names the known ones and the closest."""
        if name in self.positions:
            return self.positions[name]
        expected = one_of(self.columns, name)
        if reader:
            expected = f"{reader}; {expected}"
        raise HandpropError(self.file, f"column {name}", "no such column", expected)

    def cells(self, name: str) -> list[tuple[int, str]]:
        """(line, text) of each cell of a column."""
        k = self.index(name)
        return [(line, row[k].strip()) for line, row in zip(self.lines, self.rows)]

    def numbers(self, name: str) -> tuple[float, ...]:
        """A column as numbers: every cell must be a finite number.

        >>> from handprop.problem.files import EXAMPLES_DIR
        >>> read_table("xor.csv", folder=EXAMPLES_DIR).numbers("t")
        (0.0, 1.0, 1.0, 0.0)
        """
        values = []
        for line, text in self.cells(name):
            number = _number(text)
            if number is None:
                what = "empty cell" if not text else f"{text[:30]!r} is not a number"
                raise HandpropError(self.file, f"line {line}, column {name}", what, "a number such as 0.5")
            if not math.isfinite(number):
                raise HandpropError(self.file, f"line {line}, column {name}", f"{text[:30]!r} is not finite",
                                    "a finite number")
            values.append(number)
        return tuple(values)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def sniff_delimiter(header: str) -> str:
    """The cells' separator, told from the header line: `;` when it has a `;` and no `,` (a spreadsheet saved
    where the decimal mark is a comma, whose numbers are then written 0,26), else `,`.

    >>> sniff_delimiter("x1;x2;t"), sniff_delimiter("x1,x2,t"), sniff_delimiter("name;note, free")
    (';', ',', ',')
    """
    return ";" if ";" in header and "," not in header else ","


def decimal_point(cell: str) -> str:
    """A number written with a decimal comma (0,26, -1,5e-3), with a point instead; any other cell unchanged.
    Only for cells separated by `;`, where a comma cannot separate cells.

    >>> decimal_point("0,26"), decimal_point("-1,5e-3"), decimal_point("1,234,5"), decimal_point("dog")
    ('0.26', '-1.5e-3', '1,234,5', 'dog')
    """
    import re

    text = cell.strip()
    if re.fullmatch(r"[+\-\u2212]?[0-9]*,[0-9]+(?:[eE][+-]?[0-9]+)?", text):
        return text.replace(",", ".")
    return cell


def read_table(written: str, *, folder: str | None = None) -> DataTable:
    """Read a CSV file; a relative path is found in `folder` (default: the working directory).

    >>> from handprop.problem.files import EXAMPLES_DIR
    >>> table = read_table("xor.csv", folder=EXAMPLES_DIR)
    >>> table.columns, len(table)
    (('x1', 'x2', 't'), 4)
    """
    from pathlib import Path  # only for a data file

    path = Path(written)
    where_found = "a CSV file"
    if not path.is_absolute():
        path = Path(folder or "") / path
        relative_to = "the problem file's folder" if folder is not None else "the working directory"
        where_found = f"a CSV file, here {path}: a relative path is read from {relative_to}"
    try:
        if path.stat().st_size > MAX_BYTES:
            raise HandpropError(written, None, "file too large", f"at most {MAX_BYTES:,} bytes")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise HandpropError(written, None, "no such file", where_found) from None
    except IsADirectoryError:
        raise HandpropError(written, None, "is a directory", where_found) from None
    except OSError as exc:
        raise HandpropError(written, None, f"cannot read: {exc.strerror or exc}", "a readable file") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise HandpropError(written, f"line {line}", f"not UTF-8 text (byte {exc.start + 1})",
                            "a CSV file in UTF-8") from None
    return _parse(written, text)


def _parse(written: str, text: str) -> DataTable:
    import csv  # only when a problem reads a file
    import io

    header_text = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = sniff_delimiter(header_text)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    header: tuple | None = None
    header_line = 0
    rows: list[tuple] = []
    lines: list[int] = []
    start = 1  # the line a row starts on (a quoted cell may span several)
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row or len(row) == 1 and not row[0].strip():
                continue  # a blank line
            if header is None:
                header, header_line = tuple(cell.strip() for cell in row), line
                continue
            if len(row) != len(header):
                raise HandpropError(written, f"line {line}",
                                    f"{len(row)} cell{'s' * (len(row) != 1)}, but the header has {len(header)} "
                                    f"column{'s' * (len(header) != 1)}",
                                    "one cell per column in every row")
            if len(rows) == MAX_ROWS:
                raise HandpropError(written, f"line {line}", f"more than {MAX_ROWS:,} data rows",
                                    f"at most {MAX_ROWS:,} rows")
            rows.append(tuple(row) if delimiter == "," else tuple(decimal_point(cell) for cell in row))
            lines.append(line)
    except csv.Error as exc:
        raise HandpropError(written, f"line {reader.line_num}", f"cannot read CSV: {exc}",
                            "well-formed CSV: cells separated by commas (or by ; with decimal commas), quotes "
                            "closed") from None
    if header is None:
        raise HandpropError(written, None, "empty file", "a header row naming the columns, then one row per sample")
    if all(_number(name) is not None for name in header):
        raise HandpropError(written, f"line {header_line}", "the first row is numbers, not column names",
                            "a header row naming the columns, such as x1,x2,t")
    first: dict[str, int] = {}
    for k, name in enumerate(header):
        if name in first:
            raise HandpropError(written, f"line {header_line}",
                                f"column '{name}' named twice, as columns {first[name] + 1} and {k + 1}",
                                "distinct column names")
        first[name] = k
    if not rows:
        raise HandpropError(written, None, "no data rows", "a header row, then one row per sample")
    return DataTable(written, header, tuple(rows), tuple(lines))


def class_indices(table: DataTable, name: str, *, units: int) -> tuple[int, ...]:
    """A label column as class indices for an output layer of `units` units.

    Numbers are class indices 0..K-1 (1.0 counts as 1); texts are sorted to give the class order.
    K is the output layer's units when it has two or more (one-hot targets); one output unit (a
    sigmoid) takes two classes, 0 and 1.

    >>> table = _parse("f.csv", "x,kind\\n1,dog\\n2,cat\\n3,dog\\n")
    >>> class_indices(table, "kind", units=2)
    (1, 0, 1)
    """
    cells = table.cells(name)
    classes = units if units >= 2 else 2
    expected = (f"class indices 0 to {classes - 1}, one per output unit" if units >= 2
                else "0 or 1: the output layer has 1 unit, so two classes")
    if all(_number(text) is not None for _, text in cells):
        indices = []
        for line, text in cells:
            number = _number(text)
            where = f"line {line}, column {name}"
            if not math.isfinite(number) or not number.is_integer() or number < 0:
                raise HandpropError(table.file, where, f"label {text} is not a class index", expected)
            if number >= classes:
                size = f"the output layer's {units} unit{'s' * (units != 1)}"
                raise HandpropError(table.file, where, f"label {text} is not a class of {size}", expected)
            indices.append(int(number))
        return tuple(indices)
    first_line: dict[str, int] = {}
    for line, text in cells:
        if not text:
            raise HandpropError(table.file, f"line {line}, column {name}", "empty label",
                                "a class name, or a class index 0, 1, ...")
        if text not in first_line:
            first_line[text] = line
            if len(first_line) > classes:
                raise HandpropError(table.file, f"line {line}, column {name}",
                                    f"label {text!r} makes {len(first_line)} classes "
                                    f"({_shown(first_line)}), but the output layer has {units} "
                                    f"unit{'s' * (units != 1)}",
                                    "one output unit per class" if units >= 2 else "two classes for one output unit")
    if len(first_line) < classes:
        raise HandpropError(table.file, f"column {name}",
                            f"{len(first_line)} class{'es' * (len(first_line) != 1)} ({_shown(first_line)}), "
                            f"but the output layer has {units} unit{'s' * (units != 1)}",
                            f"{classes} classes, one per output unit" if units >= 2
                            else "two classes for one output unit")
    order = {text: k for k, text in enumerate(sorted(first_line))}
    return tuple(order[text] for _, text in cells)


def _shown(classes) -> str:
    names = sorted(classes)
    return ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def layered_data(check: Checker, network, table: dict, folder: str | None) -> dict:
    """[data] with `file` for a layered network: input names and t1..tm -> tuples of numbers."""
    data_table = read_table(check.text(table["file"], "data.file"), folder=folder)
    inputs = _column_names(check, table.get("inputs"), "data.inputs", network.inputs, "input")
    if "inputs" not in table:
        _expect_columns(data_table, inputs, "the network's input {} reads the column of its name unless "
                                            "inputs = [...] names others")
    data = {name: data_table.numbers(column) for name, column in zip(network.inputs, inputs)}
    units = network.layers[-1].units
    if "targets" in table and "label" in table:
        raise check.fail("data", "both targets and label given",
                         "targets = [...] naming target columns, or label = \"...\" naming one class column")
    if "label" in table:
        indices = class_indices(data_table, check.text(table["label"], "data.label"), units=units)
        if units == 1:
            data["t1"] = tuple(float(c) for c in indices)
        else:
            for j, name in enumerate(network.targets):  # one-hot: t_j = 1 for class j - 1
                data[name] = tuple(1.0 if c == j else 0.0 for c in indices)
    else:
        targets = _column_names(check, table.get("targets"), "data.targets", network.targets, "output unit")
        if "targets" not in table:
            _expect_columns(data_table, targets, "the target {} reads the column of its name unless "
                                                 "targets = [...] or label = \"...\" names others")
        data.update({name: data_table.numbers(column) for name, column in zip(network.targets, targets)})
    return data


def _expect_columns(data_table: DataTable, names, reason: str) -> None:
    for name in names:
        data_table.index(name, reader=reason.format(name))


def _column_names(check: Checker, value, where: str, default: tuple, what: str) -> tuple:
    if value is None:
        return default
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise check.fail(where, f"is {describe(value)}", f"a list of column names, one per {what}")
    names = tuple(check.text(v, f"{where}: entry {i}") for i, v in enumerate(value, 1))
    if len(names) != len(default):
        raise check.fail(where, f"{len(names)} column{'s' * (len(names) != 1)} for {len(default)} "
                                f"{what}{'s' * (len(default) != 1)}",
                         f"{len(default)} column name{'s' * (len(default) != 1)}, one per {what}, in order")
    return names


def equations_data(check: Checker, written, names: list[str], folder: str | None) -> tuple[dict, int]:
    """[data] with `file` for an equations problem: each name from its column; also the number of rows."""
    data_table = read_table(check.text(written, "data.file"), folder=folder)
    data = {}
    for name in names:
        data_table.index(name, reader=f"the equations read '{name}', and no parameter, equation or [data] entry "
                                      "gives it")
        data[name] = data_table.numbers(name)
    return data, len(data_table)


def names_read(source: str) -> list[str]:
    """Names equations read but never assign, in order of first use: the columns a file must hold.

    >>> names_read("h = w*x + b\\na = relu(h)\\nL = (a - t)**2")
    ['w', 'x', 'b', 't']
    """
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # parse_equations reports it, with the line
    assigned, functions, reads = set(), set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            assigned.add(node.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            functions.add(id(node.func))
        elif isinstance(node, ast.Name):
            reads.append(node)
    reads.sort(key=lambda node: (node.lineno, node.col_offset))
    names = [node.id for node in reads if id(node) not in functions and node.id not in assigned]
    return list(dict.fromkeys(names))


def check_data_file(check: Checker, written, folder: str | None) -> None:
    """A data file is read whole: a device or a pipe (/dev/zero) never ends, so only a regular file is read."""
    import stat

    if not isinstance(written, str):
        return  # datafile says what it expected
    if "\x00" in written:
        raise check.fail("data.file", "contains a NUL character", "a path to a CSV file")
    from pathlib import Path  # only for a data file

    path = Path(written) if Path(written).is_absolute() else Path(folder or "") / written
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # datafile names what is wrong (missing, unreadable)
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise check.fail("data.file", f"'{written[:60]}' is not a regular file", "a CSV file")
