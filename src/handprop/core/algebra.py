"""Smart constructors for expressions: the small simplifications a person makes on paper.

1*x = x, 0*x = 0, x + 0 = x, -(-x) = x, a*(1/b) = a/b, constants folded. They
keep symbolic derivatives readable (dh1/dw1 = x1, not 1*x1 + w1*0 + 0); they
never reorder a sum, so an expression reads in the order the user wrote it.
"""

from __future__ import annotations

from .program import Apply, Const, Expr, Ref

ZERO = Const(0.0)
ONE = Const(1.0)


def const(value: float) -> Const:
    return Const(float(value))


def is_const(expr: Expr, value: float | None = None) -> bool:
    return isinstance(expr, Const) and (value is None or expr.value == value)


def neg(x: Expr) -> Expr:
    if isinstance(x, Const):
        return const(-x.value)
    if isinstance(x, Apply) and x.op == "neg":
        return x.args[0]
    return Apply("neg", (x,))


def add(x: Expr, y: Expr) -> Expr:
    if is_const(x, 0.0):
        return y
    if is_const(y, 0.0):
        return x
    if isinstance(x, Const) and isinstance(y, Const):
        return const(x.value + y.value)
    if isinstance(y, Apply) and y.op == "neg":
        return Apply("sub", (x, y.args[0]))
    if isinstance(y, Const) and y.value < 0:
        return Apply("sub", (x, const(-y.value)))
    return Apply("add", (x, y))


def sub(x: Expr, y: Expr) -> Expr:
    if is_const(y, 0.0):
        return x
    if is_const(x, 0.0):
        return neg(y)
    if isinstance(x, Const) and isinstance(y, Const):
        return const(x.value - y.value)
    if isinstance(y, Apply) and y.op == "neg":
        return add(x, y.args[0])
    return Apply("sub", (x, y))


def mul(x: Expr, y: Expr) -> Expr:
    if is_const(x, 0.0) or is_const(y, 0.0):
        return ZERO
    if is_const(x, 1.0):
        return y
    if is_const(y, 1.0):
        return x
    if is_const(x, -1.0):
        return neg(y)
    if is_const(y, -1.0):
        return neg(x)
    if isinstance(x, Const) and isinstance(y, Const):
        return const(x.value * y.value)
    if isinstance(x, Apply) and x.op == "neg":
        return neg(mul(x.args[0], y))
    if isinstance(y, Apply) and y.op == "neg":
        return neg(mul(x, y.args[0]))
    if isinstance(y, Apply) and y.op == "div" and is_const(y.args[0], 1.0):
        return div(x, y.args[1])
    if isinstance(x, Apply) and x.op == "div" and is_const(x.args[0], 1.0):
        return div(y, x.args[1])
    if isinstance(y, Const) and not isinstance(x, Const):
        return Apply("mul", (y, x))  # a number in front: 2 x, not x 2
    return Apply("mul", (x, y))


def div(x: Expr, y: Expr) -> Expr:
    if is_const(y, 1.0):
        return x
    if is_const(x, 0.0):
        return ZERO
    if isinstance(x, Const) and isinstance(y, Const) and y.value != 0:
        return const(x.value / y.value)
    if isinstance(y, Const) and y.value != 0 and isinstance(x, Apply) and x.op == "mul" and isinstance(x.args[0], Const):
        return mul(const(x.args[0].value / y.value), x.args[1])  # 2(y - t)/2 = y - t
    if isinstance(x, Apply) and x.op == "neg":
        return neg(div(x.args[0], y))
    return Apply("div", (x, y))


def power(x: Expr, y: Expr) -> Expr:
    if is_const(y, 1.0):
        return x
    if is_const(y, 0.0):
        return ONE
    return Apply("pow", (x, y))


def call(op: str, *args: Expr) -> Expr:
    return Apply(op, tuple(args))


def size(expr: Expr) -> int:
    """Number of nodes in the tree (how long it takes to write out)."""
    if isinstance(expr, Apply):
        return 1 + sum(size(a) for a in expr.args)
    return 1


__all__ = ["ZERO", "ONE", "Ref", "add", "sub", "mul", "div", "neg", "power", "call", "const", "size"]
