"""The one intermediate form: a program of single-assignment scalar equations.

Both ways of giving a network (layered, equations) become a Program: an ordered
list of equations `target = expression`, where an expression is a small tree of
ops from the op table over names and numbers, each op with its settings
(`elu(h1, alpha=0.5)`). A multi-output op (softmax) sits alone at the top
of its equation and assigns several targets at once: `y1, y2 = softmax(o1, o2)`.
Engines interpret the program; renderers print it. The program is data, in the
manner of JAX's jaxprs: nothing here computes.
"""

from __future__ import annotations

from .frozen import dataclass


# The expression nodes write their own __init__ (frozen.py's shared one binds any arguments, at twice the cost):
# a program of a large network makes hundreds of thousands of them.

@dataclass(frozen=True)
class Const:
    value: float

    def __init__(self, value: float):
        self.__dict__["value"] = value


@dataclass(frozen=True)
class Ref:
    name: str

    def __init__(self, name: str):
        self.__dict__["name"] = name


@dataclass(frozen=True)
class Apply:
    op: str
    args: tuple  # of Expr
    params: tuple = ()  # the op's settings, ((name, value), ...) in the op table's order: (('alpha', 0.5),)

    def __init__(self, op: str, args: tuple, params: tuple = ()):
        self.__dict__.update(op=op, args=args, params=params)


Expr = Const | Ref | Apply


@dataclass(frozen=True)
class Equation:
    targets: tuple  # of str; more than one only for a multi-output op
    expr: Expr
    line: int | None = None  # line in the user's equations text, when there is one

    @property
    def target(self) -> str:
        return self.targets[0]

    @property
    def label(self) -> str:
        return ", ".join(self.targets)


def names_in(expr: Expr) -> list[str]:
    """The names an expression reads, each once, in order of first appearance.

    >>> names_in(Apply("add", (Apply("mul", (Ref("w1"), Ref("x1"))), Ref("b1"))))
    ['w1', 'x1', 'b1']
    """
    seen: dict[str, None] = {}
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Ref):
            seen.setdefault(node.name)
        elif isinstance(node, Apply):
            stack.extend(reversed(node.args))
    return list(seen)


@dataclass(frozen=True)
class Program:
    """Equations in an order where every name is assigned before it is read.

    parameters are trained; data are inputs and constants (one value per sample).
    """

    equations: tuple  # of Equation
    parameters: tuple  # of str, in the user's order
    data: tuple  # of str
    loss: str
    outputs: tuple  # of str: nodes reported as the network's outputs

    @property
    def operations(self) -> int:
        """How many operations one sample's forward pass takes (each Apply once): the program's size.

        >>> from handprop.problem.equations import parse_equations
        >>> parse_equations("L = (w*x + b - t)**2", parameters=["w", "b"], data=["x", "t"]).operations
        4
        """
        count = 0
        stack = [eq.expr for eq in self.equations]
        while stack:
            node = stack.pop()
            if isinstance(node, Apply):
                count += 1
                stack.extend(node.args)
        return count

    @property
    def nodes(self) -> tuple:
        """Every assigned name, in order."""
        return tuple(t for eq in self.equations for t in eq.targets)

    def readers(self) -> dict:
        """For each name, the nodes whose equations read it (the chain rule's sum runs over these)."""
        users: dict[str, list[str]] = {}
        for eq in self.equations:
            for name in names_in(eq.expr):
                for target in eq.targets:
                    users.setdefault(name, []).append(target)
        return users

    def depends_on(self, node: str) -> set:
        """Every name (node, parameter or data) that node's value depends on."""
        by_target = {t: eq for eq in self.equations for t in eq.targets}
        found: set[str] = set()
        stack = [node]
        while stack:
            name = stack.pop()
            eq = by_target.get(name)
            if eq is None:
                continue
            for read in names_in(eq.expr):
                if read not in found:
                    found.add(read)
                    stack.append(read)
        return found
