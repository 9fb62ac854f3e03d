"""The command line: a thin shell over the library, one module per command, all alike.

    handprop [solve] [FILE] [--format table|markdown|csv|json] [--decimals N] [--nodes] [-o OUT]
    handprop explain|diagram|train|verify|exercise|grade|export|serve|site|examples ...

Each command's module has `add_parser(commands)` (its options, help and example) and `run(args)` (the
exit status); options.py holds the options they share. Bad input is one line on standard error,
`handprop: error: ...`, and exit status 2; a check that fails is exit 1; success is 0.
"""

from __future__ import annotations

import os
import sys

from ..core.errors import HandpropError
from .commands import COMMANDS, command_module


def build_parser(only: str | None = None):
    """The whole command line's parser (parser.py); with `only`, that command's alone.

    >>> sorted(build_parser().parse_args(["explain", "homework"]).__dict__)[:3]
    ['command', 'decimals', 'dtype']
    """
    from .parser import build_parser as build

    return build(only)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    >>> main(["examples"]) == 0  # doctest: +ELLIPSIS
    attention_two_tokens   Self-attention on two tokens
    ...
    homework               Machine Learning Homework 1
    ...
    True
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv:  # `handprop`: the homework's Result table, by solve's defaults (argparse is not needed)
            return command_module("solve").run(command_module("solve").defaults())
        if argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
            _refuse_unknown_command(argv[0])
            argv.insert(0, "solve")
        args = build_parser(argv[0] if argv[0] in COMMANDS else None).parse_args(argv)
        return command_module(args.command).run(args)
    except HandpropError as exc:
        sys.stdout.flush()
        print(f"handprop: error: {exc.line()}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (e.g. `handprop | head`); that is not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130


def _refuse_unknown_command(word: str | None) -> None:
    """A first word that is neither a command, a file nor an example, but is spelled nearly as a command is
    (explian), is a mistyped command, not a problem: say so. Anything else is `solve`'s FILE, as before."""
    if word is None or word.startswith("-") or os.sep in word or "." in word or os.path.exists(word):
        return
    from ..core.errors import closest
    from ..problem.files import example_names

    if word in example_names():
        return
    meant = closest(COMMANDS, word)
    if meant is not None and closest(example_names(), word) is None:
        raise HandpropError(None, None, f"unknown command '{word}' (did you mean '{meant}'?)", None)
