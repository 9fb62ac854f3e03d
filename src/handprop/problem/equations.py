"""Equations text -> Program, by parsing with `ast` and accepting a whitelist.

The text is never evaluated. Each line is `name = expression` or, for softmax,
`y1, y2 = softmax(o1, o2)`. Expressions use + - * / ** and unary minus,
numbers, names, and calls to the functions in the op table, an op's settings
after its arguments as numbers, by position or by name (`elu(h, alpha=0.5)`). Anything else
(attribute access, subscripts, imports, lambdas, strings, comprehensions, ...)
is rejected with the line and column where it stands.
"""

from __future__ import annotations

import ast
import math
import unicodedata

from ..core.errors import HandpropError, one_of
from ..core.ops import FUNCTIONS, OPS, settings_problem
from ..core.program import Apply, Const, Equation, Expr, Program, Ref, names_in

_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_OPERATORS = "one of + - * / ** and unary minus"
MAX_DEPTH = 60  # deeper expressions than a person writes by hand are refused, not recursed into
MAX_EQUATIONS = 10_000  # lines of equations: far beyond a hand-worked network; keeps solve and explain in seconds
MAX_NAME_LENGTH = 100  # characters in a name: w12, hidden_1; a longer one is no name a derivation can show

# What the most likely non-arithmetic constructs are called in an error message.
_KIND = {
    ast.Attribute: "attribute access", ast.Subscript: "a subscript", ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension", ast.Import: "an import", ast.ImportFrom: "an import",
    ast.Compare: "a comparison", ast.BoolOp: "a boolean operator", ast.IfExp: "a conditional expression",
    ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set",
    ast.JoinedStr: "a string", ast.Starred: "a starred expression", ast.NamedExpr: "an assignment expression",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
}


class _Parser:
    def __init__(self, file: str | None, where: str, parameters, data, line_offset: int = 0):
        self.file = file
        self.where = where
        self.known = {name: "parameter" for name in parameters} | {name: "data" for name in data}
        self.assigned: dict[str, int] = {}  # node name -> line that assigns it
        self.later: dict[str, int] = {}  # names assigned further down, for "used before assignment"
        self.line_offset = line_offset
        self.text = ""

    def source_text(self, node) -> str | None:
        """The text a node was written as (a name before Python's NFKC reading of it)."""
        try:
            return ast.get_source_segment(self.text, node)
        except (TypeError, ValueError, IndexError):
            return None

    def error(self, node, what: str, expected: str | None = None) -> HandpropError:
        place = self.where
        if node is not None and getattr(node, "lineno", None) is not None:
            place += f": line {node.lineno + self.line_offset}, column {node.col_offset + 1}"
        return HandpropError(self.file, place, what, expected)

    def parse(self, text: str) -> list[Equation]:
        if "\x00" in text:
            raise HandpropError(self.file, self.where, "contains a NUL character", "equations as text")
        self.text = text
        try:
            tree = ast.parse(text, mode="exec")
        except SyntaxError as exc:
            line = (exc.lineno or 1) + self.line_offset
            column = exc.offset or 1
            raise HandpropError(self.file, f"{self.where}: line {line}, column {column}",
                                f"syntax error: {exc.msg}", "an equation such as h1 = w1*x1 + b1") from None
        except (RecursionError, MemoryError, ValueError, OverflowError):
            # Python's own parser gives up on very long or deeply nested expressions before handprop sees them.
            raise HandpropError(self.file, self.where, "an expression too long or nested too deeply to parse",
                                f"at most {MAX_DEPTH} levels of nesting in one expression") from None
        if len(tree.body) > MAX_EQUATIONS:
            raise HandpropError(self.file, self.where, f"{len(tree.body)} equations", f"at most {MAX_EQUATIONS}")
        for statement in tree.body:
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    for name_node in target.elts if isinstance(target, ast.Tuple) else [target]:
                        if isinstance(name_node, ast.Name):
                            self.later.setdefault(name_node.id, statement.lineno + self.line_offset)
        equations = [self.statement(s) for s in tree.body]
        if not equations:
            raise HandpropError(self.file, self.where, "no equations", "at least one line `name = expression`")
        return equations

    def statement(self, node: ast.stmt) -> Equation:
        if not isinstance(node, ast.Assign):
            kind = _KIND.get(type(node), f"a {type(node).__name__} statement")
            raise self.error(node, f"{kind} is not an equation", "`name = expression`")
        if len(node.targets) != 1:
            raise self.error(node, "chained assignment", "one `=` per line")
        target = node.targets[0]
        if isinstance(target, ast.Tuple):
            names = [self.target_name(t) for t in target.elts]
            value = node.value
            if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in FUNCTIONS
                    and OPS[value.func.id].multi_output):
                raise self.error(node, f"{len(names)} names assigned from one expression",
                                 "several names only on the left of softmax(...)")
            expr = self.softmax_call(value, expected_outputs=len(names))
        else:
            names = [self.target_name(target)]
            expr = self.expr(node.value, depth=0)
        for name in names:
            self.assigned[name] = node.lineno + self.line_offset
        return Equation(tuple(names), expr, node.lineno + self.line_offset)

    def target_name(self, node) -> str:
        if not isinstance(node, ast.Name):
            kind = _KIND.get(type(node), type(node).__name__)
            raise self.error(node, f"cannot assign to {kind}", "a plain name on the left of =")
        name = node.id
        self.check_name(node, name)
        if name in self.assigned:
            raise self.error(node, f"'{name}' is assigned twice (first on line {self.assigned[name]})",
                             "each name assigned once")
        if name in self.known:
            raise self.error(node, f"'{name}' is a {self.known[name]} name and cannot be assigned",
                             "a new name for each equation")
        return name

    def check_name(self, node, name: str) -> None:
        if len(name) > MAX_NAME_LENGTH:
            raise self.error(node, f"a name of {len(name)} characters", f"at most {MAX_NAME_LENGTH}")
        if name.startswith("__") or name.endswith("__"):
            raise self.error(node, f"name '{name}' is not allowed", "names without leading or trailing __")

    def expr(self, node, depth: int) -> Expr:
        if depth > MAX_DEPTH:
            raise self.error(node, "expression nested too deeply", f"at most {MAX_DEPTH} levels")
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            if op is None:
                raise self.error(node, f"operator {type(node.op).__name__} is not allowed", _OPERATORS)
            return Apply(op, (self.expr(node.left, depth + 1), self.expr(node.right, depth + 1)))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return Apply("neg", (self.expr(node.operand, depth + 1),))
            if isinstance(node.op, ast.UAdd):
                return self.expr(node.operand, depth + 1)
            raise self.error(node, f"operator {type(node.op).__name__} is not allowed", _OPERATORS)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        kind = _KIND.get(type(node), type(node).__name__)
        raise self.error(node, f"{kind} is not arithmetic", "numbers, names, + - * / **, and the listed functions")

    def number(self, node: ast.Constant) -> Const:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a string" if isinstance(value, (str, bytes)) else repr(type(value).__name__)
            raise self.error(node, f"{kind} is not a number", "a real number")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self.error(node, "number too large", "a finite number")
        return Const(number)

    def name(self, node: ast.Name) -> Ref:
        name = node.id
        self.check_name(node, name)
        if name in self.known or name in self.assigned:
            return Ref(name)
        if name in self.later:
            raise self.error(node, f"'{name}' is used before it is assigned (on line {self.later[name]})",
                             "equations in the order they are computed")
        if name in FUNCTIONS:
            raise self.error(node, f"function '{name}' used without a call", f"{name}(...)")
        choices = list(self.known) + list(self.assigned)
        # Python reads a name in its NFKC form (the ligature ﬁ as fi, a full-width Ｘ as X): a parameter or data
        # name written with such a character can never be read as written.
        folded = [known for known in choices if known != name and unicodedata.normalize("NFKC", known) == name]
        written = self.source_text(node)
        if folded or (written is not None and written != name):
            original = folded[0] if folded else written
            raise self.error(node, f"undefined name '{name}': Python reads the name '{original}' as '{name}', its "
                             "NFKC form, so the two never match", f"the name written in plain letters, '{name}', "
                             "in the equations and in [parameters] or [data] alike")
        raise self.error(node, f"undefined name '{name}'",
                         "a parameter, a data name, or a name assigned above; " + one_of(choices, name))

    def function_name(self, node: ast.Call) -> str:
        if not isinstance(node.func, ast.Name):
            kind = _KIND.get(type(node.func), "an expression")
            raise self.error(node, f"call of {kind}", "a call of one of: " + ", ".join(FUNCTIONS))
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.error(node, f"unknown function '{name}'", one_of(FUNCTIONS, name))
        if node.keywords and not OPS[name].params:
            raise self.error(node, f"keyword arguments to {name}()", f"{name} takes no settings: positional arguments only")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error(arg, f"a starred argument to {name}()", "positional arguments only")
        return name

    def call(self, node: ast.Call, depth: int) -> Expr:
        """f(x), or with the op's settings after its arguments, by position or by name: elu(x, 0.5) or
        elu(x, alpha=0.5)."""
        name = self.function_name(node)
        op = OPS[name]
        if op.multi_output:
            raise self.error(node, f"{name} returns one value per argument",
                             f"y1, y2 = {name}(o1, o2) on a line of its own")
        args, arity = node.args, op.arity
        usage = f"{name}({', '.join(['x', 'y'][:arity] + [f'{p.name}={p.default!r}' for p in op.params])})"
        if not arity <= len(args) <= arity + len(op.params):
            counted = f"{arity}" + (f" to {arity + len(op.params)}" if op.params else "")
            raise self.error(node, f"{name} takes {counted} argument{'s' * (arity + len(op.params) != 1)}, "
                             f"not {len(args)}", usage)
        given = {}
        for param, value in zip(op.params, args[arity:]):
            given[param.name] = self.setting(op, param.name, value, usage)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.error(node, f"a ** argument to {name}()", usage)
            if keyword.arg in given:
                raise self.error(keyword.value, f"{name}'s {keyword.arg} given twice", usage)
            given[keyword.arg] = self.setting(op, keyword.arg, keyword.value, usage)
        problem = settings_problem(op, given)
        if problem:
            raise self.error(node, problem[1], problem[2])
        return Apply(name, tuple(self.expr(a, depth + 1) for a in args[:arity]), op.settings(given))

    def setting(self, op, name: str, node, usage: str):
        """A setting's value, as written: a number (a minus sign allowed) or, for a setting in words, a string."""
        param = next((p for p in op.params if p.name == name), None)
        negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
        inner = node.operand if negative else node
        if param is not None and param.choices and isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            return inner.value
        if not isinstance(inner, ast.Constant) or isinstance(inner.value, (str, bytes)):
            raise self.error(node, f"{op.name}'s {name} must be a number written out", usage)
        value = self.number(inner).value
        return -value if negative else value

    def softmax_call(self, node: ast.Call, expected_outputs: int) -> Expr:
        """A multi-output op's call, y1, y2 = softmax(o1, o2): one name on the left per argument."""
        name = self.function_name(node)
        if len(node.args) != expected_outputs:
            raise self.error(node, f"{name} of {len(node.args)} arguments assigned to {expected_outputs} names",
                             "as many names on the left as arguments")
        if expected_outputs < 1:
            raise self.error(node, f"{name} of no arguments", "at least one argument")
        return Apply(name, tuple(self.expr(a, 1) for a in node.args), OPS[name].settings({}))


def parse_equations(text: str, *, parameters, data, loss: str | None = None, outputs=None,
                    file: str | None = None, where: str = "network.equations", line_offset: int = 0) -> Program:
    """Parse equations text into a Program, checking every name.

    >>> p = parse_equations("h = w*x + b\\nL = (h - t)**2", parameters=["w", "b"], data=["x", "t"])
    >>> p.nodes, p.loss, p.outputs
    (('h', 'L'), 'L', ('h',))
    """
    parser = _Parser(file, where, parameters, data, line_offset)
    equations = parser.parse(text)
    program_nodes = [t for eq in equations for t in eq.targets]
    loss_name = loss if loss is not None else program_nodes[-1]
    if loss_name not in parser.assigned:
        raise HandpropError(file, "network.loss", f"'{loss_name}' is not assigned by any equation",
                            one_of(program_nodes, loss_name))
    by_target = {t: eq for eq in equations for t in eq.targets}
    if outputs is None:
        outputs = [n for n in names_in(by_target[loss_name].expr) if n in parser.assigned]
    else:
        for name in outputs:
            if name not in parser.assigned:
                raise HandpropError(file, "network.outputs", f"'{name}' is not assigned by any equation",
                                    one_of(program_nodes, name))
    program = Program(tuple(equations), tuple(parameters), tuple(data), loss_name, tuple(outputs))
    used = set()
    for eq in equations:
        used.update(names_in(eq.expr))
    for kind, names, section in (("parameter", parameters, "parameters"), ("data name", data, "data")):
        unused = [n for n in names if n not in used]
        if unused:
            raise HandpropError(file, section, f"{kind} {', '.join(repr(n) for n in unused)} not used by any equation",
                                f"every {kind} used in {where}")
    if not set(parameters) & program.depends_on(loss_name):
        raise HandpropError(file, "network.loss", f"the loss '{loss_name}' depends on no parameter",
                            "a loss computed from the parameters")
    return program
