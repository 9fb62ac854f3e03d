"""The options every command shares (the problem FILE, --decimals and -o, --engine and --dtype), their
checks, and writing a command's output: the command line's one vocabulary."""

from __future__ import annotations

import argparse
import os
import sys

from ..core.errors import HandpropError

DEFAULT_PROBLEM = "homework"
EXTENSION_FORMATS = {".md": "markdown", ".markdown": "markdown", ".csv": "csv", ".json": "json", ".txt": "table"}
ENGINES = ("auto", "scalar", "numpy")  # as engine.choice.ENGINES, without importing the engines at start-up
DTYPES = ("float64", "float32")


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
                        help="write to OUT instead of standard output; its extension picks the format")


def decimals(value: int | None, option: str = "--decimals") -> int | None:
    """A --decimals value, checked."""
    from ..problem.spec import MAX_DECIMALS

    if value is not None and not 0 <= value <= MAX_DECIMALS:
        raise HandpropError(None, option, f"{value} is out of range", f"0 to {MAX_DECIMALS}")
    return value


def positive(value: int | None, option: str) -> None:
    if value is not None and value < 1:
        raise HandpropError(None, option, f"{value} is not a positive whole number", "1 or more")


def output_format(given: str | None, output: str | None, extensions: dict = EXTENSION_FORMATS,
                  default: str = "table") -> str:
    """The format --format names, else the one -o's extension implies, else the default."""
    if given:
        return given
    if output:
        extension = os.path.splitext(output)[1].lower()
        if extension not in extensions:
            raise HandpropError(output, None, f"cannot tell the format from '{extension or '(no extension)'}'",
                                "--format, or one of: " + ", ".join(extensions))
        return extensions[extension]
    return default


def write_output(text: str | bytes, output: str | None) -> None:
    """Write the text to standard output, or to the file -o names once it is complete."""
    if output is None:
        if isinstance(text, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(text)
        else:
            sys.stdout.write(text)
        return
    from ..problem.files import write_file

    write_file(output, text)
