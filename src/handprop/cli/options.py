"""The options every command shares (the problem FILE, --decimals and -o, --engine and --dtype), their
checks, and writing a command's output: the command line's one vocabulary."""

from __future__ import annotations

import codecs
import os
import sys

from ..core.errors import HandpropError
from ..engine import DTYPES, ENGINES  # the options' names, without importing the engines at start-up

DEFAULT_PROBLEM = "homework"
STDOUT = "-"  # -o -: standard output, as if -o were not given
EXTENSION_FORMATS = {".md": "markdown", ".markdown": "markdown", ".csv": "csv", ".json": "json", ".txt": "table"}


def add_file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default=DEFAULT_PROBLEM, metavar="FILE",
                        help="problem file (.toml, .json, .yaml), an example's name, or - for standard input "
                             "(default: homework)")


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="who takes the steps: scalar (plain Python), numpy (layered networks), or auto "
                             "(default: a small network stays scalar, else the faster one, measured)")
    parser.add_argument("--dtype", choices=DTYPES, default="float64",
                        help="number type of the numpy engine (default: float64)")


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """The output vocabulary every command shares."""
    parser.add_argument("--decimals", type=int, metavar="N",
                        help="decimals shown (default: the problem's, else 4); numbers are carried at full precision")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write to OUT instead of standard output, replacing OUT if it exists (as > does); "
                             "its extension picks the format; - is standard output")


def decimals(value: int | None, option: str = "--decimals") -> int | None:
    """A --decimals value, checked."""
    from ..problem.spec import MAX_DECIMALS

    if value is not None and not 0 <= value <= MAX_DECIMALS:
        raise HandpropError(None, option, f"{value} is out of range", f"0 to {MAX_DECIMALS}")
    return value


def step_number(text: str) -> int | str:
    """--step's value: a step's number, or all."""
    if text == "all":
        return text
    if not (text.isascii() and text.isdecimal()) or len(text) > 9:
        import argparse

        raise argparse.ArgumentTypeError(f"'{text[:20]}' is not a step (a number such as 2, or all)")
    return int(text)


def positive(value: int | None, option: str) -> None:
    if value is not None and value < 1:
        raise HandpropError(None, option, f"{value} is not a positive whole number", "1 or more")


def output_format(given: str | None, output: str | None, extensions: dict = EXTENSION_FORMATS,
                  default: str = "table") -> str:
    """The format --format names, else the one -o's extension implies, else the default."""
    if given:
        return given
    if output and output != STDOUT:
        extension = os.path.splitext(output)[1].lower()
        if extension not in extensions:
            raise HandpropError(output, None, f"cannot tell the format from '{extension or '(no extension)'}'",
                                "--format, or one of: " + ", ".join(extensions))
        return extensions[extension]
    return default


def check_output(path: str) -> None:
    """Refuse, before any work is done, a file the output could not be written to: in a folder that does not
    exist or cannot be written, or a folder itself. write_file checks again when it writes. - (standard output)
    is always fine."""
    if path == STDOUT:
        return
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise HandpropError(path, None, "is a folder", "a file name")
    if not os.path.isdir(folder):
        raise HandpropError(path, None, f"no such folder: {folder}", "a file in an existing folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise HandpropError(path, None, f"cannot write into the folder {folder}", "a writable folder")


# How a character the output stream cannot carry is written instead: ASCII that still reads the same.
ASCII = {"✓": "ok", "✗": "x", "↳": "->", "∂": "d", "∇": "grad", "∑": "sum", "Σ": "sum", "α": "alpha", "β": "beta",
         "γ": "gamma", "δ": "delta", "ε": "eps", "η": "eta", "θ": "theta", "λ": "lambda", "μ": "mu", "σ": "sigma",
         "−": "-", "·": "*", "×": "x", "²": "^2", "³": "^3", "≤": "<=", "≥": ">=", "≠": "!=", "≈": "~", "±": "+/-",
         "∞": "inf", "√": "sqrt", "→": "->", "←": "<-", "…": "...", "–": "-", "—": "--", "‘": "'", "’": "'",
         "“": "'", "”": "'", "′": "'"}  # no " or \, which JSON and CSV would read as their own


def _json_escape(char: str) -> str:
    import json

    return json.dumps(char)[1:-1]  # \uXXXX, a character beyond the first 65536 as its two surrogates


def _reference(char: str) -> str:
    return f"&#{ord(char)};"


# Formats with escapes of their own: the same document, in ASCII.
ESCAPES = {"json": _json_escape, "html": _reference, "svg": _reference}


def console_text(text: str, format: str | None = None, stream=None) -> str:
    """The text as the stream (standard output unless given) can carry it, decided by the stream's encoding
    when called: unchanged if it can; else each character it cannot carry in ASCII (_in_ascii). JSON,
    HTML and SVG are the same document with every non-ASCII character escaped, since their readers expect
    UTF-8 and a stream in another encoding would write other bytes.

    >>> import io
    >>> cp1252 = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    >>> console_text("✓ ∂L/∂w1 = 0.5·x1, ≤ 2", stream=cp1252)
    'ok dL/dw1 = 0.5·x1, <= 2'
    >>> print(console_text('{"title": "Übung ✓"}', "json", stream=cp1252))
    {"title": "\\u00dcbung \\u2713"}
    """
    stream = sys.stdout if stream is None else stream
    encoding = getattr(stream, "encoding", None)
    if encoding is None or text.isascii():  # a stream of text (StringIO) carries any
        return text
    try:
        encoding = codecs.lookup(encoding).name
        text.encode(encoding)
    except LookupError:
        return text  # an encoding Python does not know: the stream's own error handling decides
    except UnicodeEncodeError:
        pass
    else:
        if format not in ESCAPES or encoding.startswith("utf"):
            return text
    escape = ESCAPES.get(format)
    if escape is not None:
        return "".join(char if char.isascii() else escape(char) for char in text)
    return "".join(char if _carried(char, encoding) else _in_ascii(char) for char in text)


def _carried(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _in_ascii(char: str) -> str:
    """The character as the ASCII table spells it, else its letter without accents (Ü as U), else ?."""
    import unicodedata

    if char in ASCII:
        return ASCII[char]
    letter, *marks = unicodedata.normalize("NFD", char)
    return letter if letter.isascii() and marks and all(unicodedata.combining(m) for m in marks) else "?"


def write_output(text: str | bytes, output: str | None, format: str | None = None) -> None:
    """Write the text to standard output, as console_text makes it fit there, or to the file -o names once it
    is complete (replacing the file, if there is one, as the shell's > does). format names the text's format
    for console_text; without it, a text that starts with < is taken for HTML or SVG. -o - is standard output."""
    if output is None or output == STDOUT:
        if isinstance(text, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(text)
        else:
            sys.stdout.write(console_text(text, format or ("html" if text.startswith("<") else None)))
        return
    from ..problem.files import write_file

    write_file(output, text)
