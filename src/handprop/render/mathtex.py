"""Expressions as LaTeX, in symbols or with the numbers put in.

Names become the homework's notation (w1 -> w_{1}, W2[1,3] -> W^{[2]}_{1,3}); a
product of symbols is written side by side (w_{1} x_{1}), of numbers with a dot
(0.1 \\cdot 0.26); brackets nest as (), [], {} from the inside out, as the
homework writes {[-t_1(1 - y_1) + t_2 y_1] w_7 + ...}.
"""

from __future__ import annotations

import re

from ..core.functions import LONG_SUM
from ..core.ops import OPS
from ..core.program import Apply, Const, Expr
from .numbers import fixed, significant

GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
         "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega"}
_NEGATIVE_NUMBER = 31  # precedence of a negative number: bracketed in a product, as (-0.47) \cdot 0.1
_BRACKETS = (("(", ")"), ("[", "]"), (r"\{", r"\}"))


def _word(text: str) -> str:
    if text in GREEK:
        return "\\" + text
    if len(text) == 1:
        return text
    return r"\mathit{" + text.replace("_", r"\_") + "}"


def name_latex(name: str) -> str:
    """A name in the homework's notation; a name assigned again (equations/version_name) with primes, then with
    their count, braced so that a superscript may follow it.

    >>> name_latex("w12"), name_latex("W2[1,3]"), name_latex("o[2]"), name_latex("age"), name_latex("x_in")
    ('w_{12}', 'W^{[2]}_{1,3}', 'o_{2}', '\\\\mathit{age}', 'x_{\\\\mathit{in}}')
    >>> name_latex("c'"), name_latex("h1''"), name_latex("c^(3)")
    ("{c'}", "{h_{1}''}", '{c^{(3)}}')
    """
    match = re.fullmatch(r"(.+?)('+|\^\((\d+)\))", name)
    if match:
        base, primes, count = match.groups()
        return "{" + _plain_latex(base) + (primes if count is None else f"^{{({count})}}") + "}"
    return _plain_latex(name)


def _plain_latex(name: str) -> str:
    match = re.fullmatch(r"([A-Za-z]+)(\d*)\[(\d+(?:,\d+)*)\]", name)
    if match:
        base, layer, index = match.groups()
        return _word(base) + (f"^{{[{layer}]}}" if layer else "") + f"_{{{index}}}"
    match = re.fullmatch(r"([A-Za-z]+?)(\d+)", name)
    if match:
        return f"{_word(match.group(1))}_{{{match.group(2)}}}"
    match = re.fullmatch(r"([A-Za-z]+)_([A-Za-z0-9]+)", name)
    if match:
        sub = match.group(2)
        return f"{_word(match.group(1))}_{{{sub if sub.isdigit() or len(sub) == 1 else _word(sub)}}}"
    return _word(name)


def partial(top: str, bottom: str) -> str:
    """\\frac{\\partial top}{\\partial bottom}, both names."""
    return rf"\frac{{\partial {name_latex(top)}}}{{\partial {name_latex(bottom)}}}"


def number_latex(value: float, decimals: int) -> str:
    return fixed(value, decimals)


class _Printer:
    """One printing of an expression; values, when given, replace names by numbers."""

    def __init__(self, values: dict | None, decimals: int, known: dict | None = None):
        self.values = values
        self.decimals = decimals
        self.known = known or {}  # subexpressions whose value the records hold, e.g. u(h1) -> 1

    def atom(self, expr: Expr) -> tuple[str, int, bool]:
        """(text, bracket level used inside, is a number)"""
        if isinstance(expr, Const):
            value = expr.value
            return (significant(value) if value == int(value) or abs(value) >= 1e-4 else repr(value)), 0, True
        if self.values is not None and expr.name in self.values:
            return number_latex(self.values[expr.name], self.decimals), 0, True
        return name_latex(expr.name), 0, False

    def wrap(self, text: str, level: int) -> tuple[str, int]:
        left, right = _BRACKETS[level % len(_BRACKETS)]
        if r"\frac" in text or r"\left" in text or "^" in text:
            # Tall content: brackets that grow with it.
            left, right = r"\left" + left, r"\right" + right
        return f"{left}{text}{right}", level + 1

    def print(self, expr: Expr) -> tuple[str, int, int]:
        """(text, bracket level, precedence of the outermost operation; 100 for atoms)"""
        if not isinstance(expr, Apply) or expr in self.known:
            if isinstance(expr, Apply):
                text, level, is_number = number_latex(self.known[expr], self.decimals), 0, True
            else:
                text, level, is_number = self.atom(expr)
            negative = is_number and text.startswith("-")
            return text, level, _NEGATIVE_NUMBER if negative else 100
        if OPS[expr.op].infix:
            return ARITHMETIC[expr.op](self, expr)
        return self.function(expr)

    def function(self, expr: Apply) -> tuple[str, int, int]:
        """A function as the op table writes it: {args} its bracketed arguments, {0} an argument as it is,
        {alpha} a setting's value."""
        op = OPS[expr.op]
        template = op.latex(**dict(expr.params)) if callable(op.latex) else op.latex
        if template == "{0}":  # the identity: the argument itself
            return self.print(expr.args[0])
        texts, level = [], 0
        for arg in expr.args:
            text, arg_level, _ = self.print(arg)
            texts.append(text)
            level = max(level, arg_level)
        settings = {name: value if isinstance(value, str) else self.atom(Const(value))[0]
                    for name, value in expr.params}
        wrapped = ""
        if "{args}" in template:
            wrapped, level = self.wrap(", ".join(texts), level)
        return template.format(*texts, args=wrapped, **settings), level, 100

    def sum(self, expr: Apply) -> tuple[str, int, int]:
        terms = _terms(expr)
        if len(terms) > LONG_SUM:
            return self.long_sum(terms)
        left, l_level, _ = self.print(expr.args[0])
        right, r_level, r_prec = self.print(expr.args[1])
        if right.startswith("-") or (expr.op == "sub" and r_prec <= 10):
            right, r_level = self.wrap(right, r_level)
        return OPS[expr.op].latex.format(left, right), max(l_level, r_level), 10

    def long_sum(self, terms: list) -> tuple[str, int, int]:
        """A sum of more than LONG_SUM terms, summarised: with the numbers put in, the terms that are 0 (a factor
        0, as a cross-entropy's zero targets) folded into one brace that counts them; what is left, if still
        long, as its first two terms, a cdots and its last. A line stays short however wide the layer."""
        kept, zeros = [], 0
        for negated, term in terms:
            if self.values is not None and self.is_zero(term):
                zeros += 1
                continue
            text, level, prec = self.print(term)
            if prec <= 10 or (text.startswith("-") and (negated or kept)):
                text, level = self.wrap(text, level)
            kept.append((negated, text, level))
        pieces = [("- " if negated else "") + text if i == 0 else (" - " if negated else " + ") + text
                  for i, (negated, text, _) in enumerate(kept)]
        if len(pieces) > LONG_SUM:
            pieces = [*pieces[:2], r" + \cdots", pieces[-1]]
        if zeros:
            brace = rf"\underbrace{{0 + \cdots + 0}}_{{{zeros}\ \text{{terms}}}}" if zeros > 1 else "0"
            pieces.append((" + " if pieces else "") + brace)
        return "".join(pieces), max((level for *_, level in kept), default=0), 10

    def is_zero(self, expr: Expr) -> bool:
        """Whether the term is 0 by a factor of 0 among the values (a zero target times its log)."""
        if isinstance(expr, Const):
            return expr.value == 0
        if isinstance(expr, Apply):
            if expr in self.known:
                return self.known[expr] == 0
            if expr.op == "mul":
                return any(self.is_zero(arg) for arg in expr.args)
            if expr.op in ("neg", "div"):
                return self.is_zero(expr.args[0])
            return False
        return self.values.get(expr.name) == 0

    def product(self, expr: Apply) -> tuple[str, int, int]:
        parts, level = [], 0
        for index, arg in enumerate(expr.args):
            text, arg_level, prec = self.print(arg)
            if prec < 20 or prec == _NEGATIVE_NUMBER or (index > 0 and prec == 30):
                text, arg_level = self.wrap(text, arg_level)
            parts.append(text)
            level = max(level, arg_level)
        numeric = self.values is not None or _starts_with_digit(parts[1])
        # Symbols side by side (w_{1} x_{1}), numbers with a dot (0.1 \cdot 0.26).
        return (r" \cdot ".join(parts) if numeric else OPS["mul"].latex.format(*parts)), level, 20

    def fraction(self, expr: Apply) -> tuple[str, int, int]:
        top, t_level, _ = self.print(expr.args[0])
        bottom, b_level, _ = self.print(expr.args[1])
        return OPS["div"].latex.format(top, bottom), max(t_level, b_level), 100

    def negation(self, expr: Apply) -> tuple[str, int, int]:
        text, level, prec = self.print(expr.args[0])
        if prec <= 10 or prec in (30, _NEGATIVE_NUMBER):
            text, level = self.wrap(text, level)
        return OPS["neg"].latex.format(text), level, 30

    def power(self, expr: Apply) -> tuple[str, int, int]:
        base, b_level, b_prec = self.print(expr.args[0])
        exponent, e_level, _ = self.print(expr.args[1])
        if b_prec < 100 or base.startswith(r"\frac"):
            base, b_level = self.wrap(base, b_level)
        elif "^" in base:
            base = "{" + base + "}"  # W^{[1]}_{1} squared: {W^{[1]}_{1}}^{2}, not a double superscript
        return OPS["pow"].latex.format(base, exponent), max(b_level, e_level), 40


# How each arithmetic operator (the op table's infix ops) brackets its operands; functions print from their
# LaTeX in the op table.
ARITHMETIC = {"add": _Printer.sum, "sub": _Printer.sum, "mul": _Printer.product, "div": _Printer.fraction,
              "neg": _Printer.negation, "pow": _Printer.power}


def _terms(expr: Expr) -> list:
    """A chain of additions and subtractions as (subtracted, term) pairs, left to right: a - b + c as
    [(False, a), (True, b), (False, c)]."""
    terms, stack = [], [(False, expr)]
    while stack:
        negated, node = stack.pop()
        if isinstance(node, Apply) and node.op == "add":
            stack += [(negated, node.args[1]), (negated, node.args[0])]
        elif isinstance(node, Apply) and node.op == "sub" and not negated:
            stack += [(True, node.args[1]), (False, node.args[0])]
        else:
            terms.append((negated, node))
    return terms


def _starts_with_digit(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or text[0] == "-")


def to_latex(expr: Expr, *, values: dict | None = None, decimals: int = 4, known: dict | None = None) -> str:
    """The expression in LaTeX; with values, every name they hold is replaced by its number, and
    every subexpression in known by its value.

    >>> from handprop.problem.equations import parse_equations
    >>> eq = parse_equations("h1 = w1*x1 + w2*x2 + b1", parameters=["w1", "w2", "b1"], data=["x1", "x2"]).equations[0]
    >>> to_latex(eq.expr)
    'w_{1} x_{1} + w_{2} x_{2} + b_{1}'
    >>> to_latex(eq.expr, values={"w1": 0.1, "x1": 0.26, "w2": -0.5, "x2": 0.33, "b1": 0.3}, decimals=2)
    '0.10 \\\\cdot 0.26 + (-0.50) \\\\cdot 0.33 + 0.30'
    """
    return _Printer(values, decimals, known).print(expr)[0]
