"""The program in plain Python, for the exported script (python_script.py): each op as the op table's own code.

An op's forward value and local partials are the op table's functions (core/ops.py, and core/functions.py
for the longer ones); the script computes with the very same code (python_source.py reads it), so that it
computes what handprop computes, to the last bit, with no second list of formulas to keep in step:

- an arithmetic op (one with an infix symbol: the grammar of equations, which is Python's) is its operator;
- a forward given as a lambda becomes a small function named after the op (`def relu(x): ...`), one given
  as a function is that function, copied, and one of the math module is called as itself (`math.exp`);
- a local partial given as a lambda is written out in place, its arguments put in
  (`dL_h1 = dL_a1 * (1.0 if h1 > 0 else 0.0)`); one given as a function is called, and its entry taken.

The local derivative of an equation's target with respect to a name it reads is the product of the partials
along each path down its expression, summed over the paths, multiplied as the interpreter multiplies them
(engine/interpreter.py), so that the numbers are the interpreter's.
"""

from __future__ import annotations

import ast
import builtins
import copy
import keyword
import math
import types
from functools import cache

from ..core.ops import OPS
from ..core.program import Apply, Const, Ref
from .python_source import Definitions, lambda_node

INT_LIMIT = 2**20  # an equation's whole number up to this is written as an int (2, not 2.0): the same value
RESERVED = frozenset(keyword.kwlist) | frozenset(dir(builtins))


def number(value: float, *, whole: bool = False) -> ast.expr:
    """A number as an expression (with whole, a whole number as an int: 2, as an equation writes it); a negative
    one as a negation, so that it stays one when it is raised to a power."""
    if isinstance(value, str):
        return ast.Constant(value)
    magnitude = abs(float(value))
    shown = int(magnitude) if whole and magnitude.is_integer() and magnitude <= INT_LIMIT else magnitude
    node = ast.Constant(shown)
    return ast.UnaryOp(ast.USub(), node) if math.copysign(1.0, value) < 0 else node


def unit(node: ast.expr) -> int | None:
    """1 or -1 when the expression is that number (a factor a product can leave out exactly), else None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value in (1, -1):
        return sign * int(node.value)
    return None


class Substitution(ast.NodeTransformer):
    """A lambda's body with its parameters replaced by expressions; a literal tuple's entry taken where indexed."""

    def __init__(self, mapping: dict):
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if isinstance(node.ctx, ast.Load) and node.id in self.mapping:
            return copy.deepcopy(self.mapping[node.id])
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        self.generic_visit(node)
        index = node.slice
        if isinstance(node.value, ast.Tuple) and isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub) \
                and isinstance(index.operand, ast.Constant):
            index = ast.Constant(-index.operand.value)
        if isinstance(node.value, ast.Tuple) and isinstance(index, ast.Constant) and isinstance(index.value, int):
            return node.value.elts[index.value]
        return node


def call(function: str, args: list, settings: tuple = ()) -> ast.Call:
    return ast.Call(ast.Name(function), list(args), [ast.keyword(key, number(value)) for key, value in settings])


class OpCode:
    """Expressions of the program in Python: values (the forward pass) and local partials (the backward pass)."""

    def __init__(self, names: dict, definitions: Definitions):
        self.names = names  # handprop's name -> the script's
        self.definitions = definitions
        self.helpers: dict[str, str] = {}  # op name -> the function the script calls it by

    def helper_name(self, op_name: str) -> str:
        """A lambda op's function: named after the op, unless that name means something else to Python."""
        if op_name not in self.helpers:
            name = "".join(c if c.isalnum() or c == "_" else "_" for c in op_name)
            while name in RESERVED or name in self.names.values() or name in self.definitions.origin:
                name += "_"
            self.helpers[op_name] = name
        return self.helpers[op_name]

    def value(self, expr) -> ast.expr:
        """The expression that computes expr's value, as the op table's forward does."""
        if isinstance(expr, Const):
            return number(expr.value, whole=True)
        if isinstance(expr, Ref):
            return ast.Name(self.names[expr.name])
        return self.applied(expr, [self.value(arg) for arg in expr.args])

    def applied(self, expr: Apply, args: list) -> ast.expr:
        """expr's op applied to the arguments' expressions."""
        try:
            return self._applied(expr, args)
        except LookupError as exc:
            raise LookupError(f"{expr.op}: {exc}") from None

    def _applied(self, expr: Apply, args: list) -> ast.expr:
        op = OPS[expr.op]
        if op.infix:
            return _operator(op.infix, args)
        forward = op.forward
        if isinstance(forward, types.BuiltinFunctionType):  # math.exp, abs: called as themselves
            if forward.__module__ == "builtins":
                return call(forward.__name__, args, expr.params)
            self.definitions.define(forward.__module__, __import__(forward.__module__))
            return ast.Call(ast.Attribute(ast.Name(forward.__module__), forward.__name__), args, [])
        if isinstance(forward, types.FunctionType) and forward.__code__.co_name == "<lambda>":
            node = lambda_node(forward)
            positional = [a.arg for a in node.args.args][:len(args)]
            if isinstance(node.body, ast.Name) and node.body.id in positional and not node.args.vararg:
                return args[positional.index(node.body.id)]  # identity: the argument itself
            return call(self.definitions.lambda_function(self.helper_name(expr.op), forward), args, expr.params)
        if isinstance(forward, types.FunctionType):
            self.definitions.define(forward.__name__, forward)
            return call(forward.__name__, args, expr.params)
        raise LookupError("its forward is no function whose source can be read")

    def partials(self, expr: Apply, args: list, out: ast.expr) -> list:
        """d out / d arg_i for each argument, as expressions (a multi-output op: its Jacobian, one expression)."""
        try:
            return self._partials(expr, args, out)
        except LookupError as exc:
            raise LookupError(f"{expr.op}: {exc}") from None

    def _partials(self, expr: Apply, args: list, out: ast.expr) -> list:
        op = OPS[expr.op]
        function = op.partials
        if isinstance(function, types.FunctionType) and function.__code__.co_name == "<lambda>":
            node = lambda_node(function)
            self.definitions.resolve(node, function.__globals__)
            mapping = dict(expr.params)
            mapping = {key: number(value) for key, value in mapping.items()}
            given = [*args, out]
            for parameter in node.args.args:
                if parameter.arg not in mapping and given:
                    mapping[parameter.arg] = given.pop(0)
            if node.args.vararg is not None:
                mapping[node.args.vararg.arg] = ast.Tuple(given, ast.Load())
            body = Substitution(mapping).visit(copy.deepcopy(node.body))
        elif isinstance(function, types.FunctionType):
            self.definitions.define(function.__name__, function)
            body = call(function.__name__, [*args, out], expr.params)
        else:
            raise LookupError("its partials are no function whose source can be read")
        if op.multi_output:
            return [body]
        if isinstance(body, ast.Tuple) and len(body.elts) == len(args):
            return list(body.elts)
        return [ast.Subscript(body, ast.Constant(i)) for i in range(len(args))]

    def paths(self, expr, out: ast.expr) -> dict:
        """name -> the chain of local partials along each path from the top of expr down to the name, in the
        order the interpreter walks them (engine/interpreter.py's backprop): a name read twice has two paths."""
        found: dict = {}

        def walk(node, factors: list, node_out: ast.expr) -> None:
            if isinstance(node, Ref):
                found.setdefault(node.name, []).append(factors)
                return
            if isinstance(node, Const):
                return
            args = [self.value(arg) for arg in node.args]
            for arg, arg_ast, partial in zip(node.args, args, self.partials(node, args, node_out)):
                if not isinstance(arg, Const):
                    walk(arg, factors + [partial], arg_ast)

        walk(expr, [], out)
        return found


def product(factors: list) -> ast.expr:
    """The factors multiplied from the left, as the interpreter multiplies its seed by each; a factor of 1 left
    out and one of -1 taken as a sign, which changes no bit of the product."""
    sign, kept = 1, []
    for factor in factors:
        one = unit(factor)
        if one is None:
            kept.append(factor)
        else:
            sign *= one
    if not kept:
        return number(float(sign))
    result = kept[0]
    for factor in kept[1:]:
        result = ast.BinOp(result, ast.Mult(), factor)
    return ast.UnaryOp(ast.USub(), result) if sign < 0 else result


def total(terms: list) -> ast.expr:
    """The terms added from the left."""
    result = terms[0]
    for term in terms[1:]:
        if isinstance(term, ast.UnaryOp) and isinstance(term.op, ast.USub):
            result = ast.BinOp(result, ast.Sub(), term.operand)  # a + -b is a - b, to the bit
        else:
            result = ast.BinOp(result, ast.Add(), term)
    return result


def times(upstream: ast.expr | None, local: ast.expr) -> ast.expr:
    """upstream * local, local computed first (as the interpreter's adjoint += upstream * local partial); no
    upstream (the loss's own, 1) leaves local itself."""
    if upstream is None:
        return local
    one = unit(local)
    if one is not None:
        return upstream if one > 0 else ast.UnaryOp(ast.USub(), upstream)
    if isinstance(local, ast.UnaryOp) and isinstance(local.op, ast.USub):
        return ast.UnaryOp(ast.USub(), ast.BinOp(upstream, ast.Mult(), local.operand))
    return ast.BinOp(upstream, ast.Mult(), local)


@cache
def _operator_node(symbol: str, arity: int) -> ast.AST:
    text = f"{symbol}x" if arity == 1 else f"x {symbol} y"
    return ast.parse(text, mode="eval").body.op


def _operator(symbol: str, args: list) -> ast.expr:
    node = _operator_node(symbol, len(args))
    if len(args) == 1:
        return ast.UnaryOp(node, args[0])
    return ast.BinOp(args[0], node, args[1])


def code(node: ast.expr) -> str:
    return ast.unparse(ast.fix_missing_locations(node))
