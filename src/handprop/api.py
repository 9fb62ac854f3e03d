"""The ways in: a problem from a path, an example's name, standard input or its own text; or from Python
values (from_layers, from_equations: Problem's constructors, which build the same dict a problem file
parses to, so that a problem made in code is checked exactly as a file is).
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from .core.errors import check_instance

from .problem.files import parse_text
from .problem.spec import Problem, from_dict
from .problem.spec import load as load_file


def load(source: str) -> Problem:
    """Load a problem from a path, an example's name, "-" (standard input), or the problem's own text.

    `source` is taken as text when it is not an existing path and contains a newline, "[" or "=", or
    starts with "{": JSON when it starts with "{", else TOML.

    >>> load("homework").title
    'Machine Learning Homework 1'
    >>> text = '''
    ... [network]
    ... equations = "L = (w*x - t)**2"
    ... [parameters]
    ... w = 0.5
    ... [data]
    ... x = 2.0
    ... t = 1.5
    ... [optimizer]
    ... lr = 0.1
    ... '''
    >>> load(text).parameters
    {'w': 0.5}
    """
    check_instance(source, (str, PathLike), "source", "a path, an example's name, \"-\" or a problem's text")
    if _is_text(source):
        kind = "json" if source.lstrip().startswith("{") else "toml"
        label = "<text>"
        return from_dict(parse_text(source, kind, label), label=label, text=source if kind == "toml" else None)
    return load_file(source)


def _is_text(source: str) -> bool:
    if not isinstance(source, str) or source == "-":
        return False
    looks_like_text = source.lstrip().startswith("{") or any(mark in source for mark in ("\n", "[", "="))
    if not looks_like_text:
        return False
    try:
        return not Path(source).exists()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL: not a path
        return True


from_layers = Problem.from_layers
from_equations = Problem.from_equations
