"""The commands, in the order `handprop --help` lists them: each the module of its name in this package
(cli/NAME.py, with add_parser and run), imported when its command runs, so that a command's start-up
imports its own module only."""

from __future__ import annotations

from importlib import import_module

COMMANDS = ("solve", "explain", "diagram", "train", "verify", "exercise", "grade", "export", "serve", "site",
            "examples", "completion")


def command_module(name: str):
    """The module of the command `name`.

    >>> command_module("solve").__name__
    'handprop.cli.solve'
    """
    return import_module(f"{__package__}.{name}")
