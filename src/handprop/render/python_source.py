"""The op table's own code, read from its source, for the exported plain-Python script (python_script.py).

An op's forward and partials are functions of the op table (core/ops.py) and of core/functions.py; the
script computes with the very same code. A function is copied as its source says (inspect.getsource); a
lambda of the table is found in its module's syntax tree (the lambda on its line whose text holds its code's
instructions) and written as a small function, or put in place by python_code.py. Every name the copied code
reads is resolved in the module it comes from: a module is imported, a number is written as a constant, a
function is copied in turn, a function or class of the standard library imported. Anything else has no
plain Python form here, and says so (LookupError).
"""

from __future__ import annotations

import ast
import builtins
import inspect
import os
import sys
import textwrap
import types
from functools import cache

PACKAGE = __name__.split(".")[0]  # code of this package is copied; the standard library's is imported


@cache
def _parsed(path: str, modified: int) -> ast.Module:
    with open(path, encoding="utf-8") as file:
        return ast.parse(file.read())


def parsed_source(path: str) -> ast.Module:
    """A module's syntax tree, read once (again if the file changes)."""
    return _parsed(path, os.stat(path).st_mtime_ns)


def lambda_node(function: types.FunctionType) -> ast.Lambda:
    """The lambda's own syntax tree, found in its module's source: of the lambdas on its line, the one whose text
    holds every instruction of its code (their places in the source, code.co_positions) and whose arguments are
    its code's."""
    code = function.__code__
    path = inspect.getsourcefile(function)
    if path is None:
        raise LookupError(f"no source for {function!r}")
    spots = [(line, column, end_line, end_column) for line, end_line, column, end_column in code.co_positions()
             if line is not None and column is not None and (column, end_column) != (0, 0)]
    arguments = list(code.co_varnames[:code.co_argcount])
    found = []
    for node in ast.walk(parsed_source(path)):
        if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno \
                and [a.arg for a in node.args.args] == arguments:
            start, end = (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)
            if all(start <= (line, column) and (end_line, end_column) <= end
                   for line, column, end_line, end_column in spots):
                found.append(node)
    if len(found) != 1:
        raise LookupError(f"the source of a lambda on line {code.co_firstlineno} of {path} was not found")
    return found[0]


def bound_names(tree: ast.AST) -> set:
    """The names a function or lambda binds itself: its arguments, and what it assigns."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def read_names(tree: ast.AST) -> list:
    """The names an expression or function reads, in order of first appearance."""
    return list(dict.fromkeys(node.id for node in ast.walk(tree) if isinstance(node, ast.Name)
                              and isinstance(node.ctx, ast.Load)))


class Definitions:
    """What the script defines before it computes: imports, constants and functions, each once, each after
    what it reads, each under the name the copied code reads it by."""

    def __init__(self):
        self.imports: dict[str, str] = {}  # name -> its import line
        self.constants: dict[str, str] = {}  # name -> its assignment
        self.functions: dict[str, str] = {}  # name -> its source
        self.origin: dict[str, object] = {}  # name -> what it stands for, to catch two things of one name

    @property
    def names(self) -> set:
        return set(self.imports) | set(self.constants) | set(self.functions)

    def _claim(self, name: str, thing) -> bool:
        """Whether the name is new; a name already standing for something else cannot be given twice."""
        if name in self.origin:
            if self.origin[name] is not thing:
                raise LookupError(f"two things named {name}")
            return False
        self.origin[name] = thing
        return True

    def resolve(self, tree: ast.AST, namespace: dict) -> None:
        """Define every name the tree reads from its module (the names it binds itself aside)."""
        local = bound_names(tree)
        for name in read_names(tree):
            if name in local:
                continue
            if name not in namespace:
                if name in dir(builtins):
                    continue
                raise LookupError(f"{name} is not defined where it is read")
            self.define(name, namespace[name])

    def define(self, name: str, thing) -> None:
        """Define what a name stands for: a module imported, a number written, a function of this package
        copied (after what it reads), a function or class of the standard library imported."""
        if isinstance(thing, types.ModuleType):
            if self._claim(name, thing):
                self.imports[name] = (f"import {thing.__name__}" if thing.__name__ == name
                                      else f"import {thing.__name__} as {name}")
        elif isinstance(thing, (int, float, str)) and not isinstance(thing, bool):
            if self._claim(name, thing):
                self.constants[name] = f"{name} = {thing!r}"
        elif isinstance(thing, types.FunctionType) and thing.__code__.co_name != "<lambda>" \
                and thing.__module__.split(".")[0] == PACKAGE:
            if name != thing.__name__:
                raise LookupError(f"{thing.__name__} is read as {name}")
            if self._claim(name, thing):
                source = textwrap.dedent(inspect.getsource(thing))
                self.resolve(ast.parse(source), thing.__globals__)
                self.functions[name] = source.rstrip() + "\n"
        elif callable(thing) and getattr(thing, "__name__", None) == name \
                and str(getattr(thing, "__module__", "")).split(".")[0] in sys.stdlib_module_names:
            if self._claim(name, thing):  # a function or class of the standard library (fractions.Fraction)
                self.imports[name] = f"from {thing.__module__} import {name}"
        else:
            raise LookupError(f"{name} ({type(thing).__name__}) has no plain Python form")

    def lambda_function(self, name: str, function: types.FunctionType) -> str:
        """A lambda of the op table as a small function of the given name."""
        node = lambda_node(function)
        if self._claim(name, function):
            self.resolve(node, function.__globals__)
            self.functions[name] = f"def {name}({ast.unparse(node.args)}):\n    return {ast.unparse(node.body)}\n"
        return name
