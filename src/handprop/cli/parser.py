"""The command line's parser: argparse, with one-line usage errors, at a set width, built for the command that
runs (or for all of them, for --help and the completion scripts)."""

from __future__ import annotations

import argparse
import os

from ..core.errors import HandpropError
from .commands import COMMANDS, command_module


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout at a set width: asking the terminal for its width costs an import of shutil,
    and argparse builds a formatter for every option it is given, not only for --help."""

    def __init__(self, prog: str, **options):
        options.setdefault("width", _help_width())
        super().__init__(prog, **options)


class _RawFormatter(argparse.RawDescriptionHelpFormatter, _Formatter):
    pass


def _help_width() -> int:
    columns = os.environ.get("COLUMNS", "")
    return max(40, min(int(columns), 120)) - 2 if columns.isdigit() else 98


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line and exit status 2."""

    def __init__(self, *args, **options):
        if options.get("formatter_class") in (None, argparse.HelpFormatter):
            options["formatter_class"] = _Formatter
        elif options["formatter_class"] is argparse.RawDescriptionHelpFormatter:
            options["formatter_class"] = _RawFormatter
        super().__init__(*args, **options)

    def error(self, message: str):
        raise HandpropError(None, None, message, f"see `{self.prog} --help`")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line: every command's parser, in the order `handprop --help` lists them; with
    `only`, that command's parser alone (the others' modules and options cost time at every start).

    >>> build_parser("solve").parse_args(["solve", "--nodes"]).nodes
    True
    """
    from .. import __version__

    parser = _Parser(prog="handprop", description="Work a small neural network out by hand: forward pass, loss, "
                     "gradients by the chain rule, and the updated parameters.",
                     epilog="With no command, `solve` is meant: `handprop` prints the homework's Result table.")
    parser.add_argument("--version", action="version", version=f"handprop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS if only is None else (only,):
        command_module(name).add_parser(commands)
    if "completion" in commands.choices:
        # The completion script is generated from the whole parser, whichever command's was built.
        commands.choices["completion"].set_defaults(whole_parser=build_parser)
    return parser
