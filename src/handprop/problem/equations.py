"""Equations text -> Program, by parsing with `ast` and accepting a whitelist.

The text is never evaluated. Each line is `name = expression`, an update of a name assigned above
(`c += 1`, as micrograd-style code writes it), or, for softmax, `y1, y2 = softmax(o1, o2)`. Expressions
use + - * / ** and unary minus, numbers, names, and calls to the functions in the op table, an op's settings
after its arguments as numbers, by position or by name (`elu(h, alpha=0.5)`), or a function written as a
method (`h.relu()`, `x.clamp(0, 1)`). Anything else (attribute access, subscripts, imports, lambdas, strings,
comprehensions, ...) is rejected with the line and column where it stands.

A name may be assigned again: each assignment is a new version of it, a node of its own in the program
(single assignment, as the engines and the worked solution read it). The first keeps the name, c; the
second and third are written with primes, c' and c''; from the fourth on, with the number of primes as a
count, c^(3), c^(4), ... None of them can be a name written in the equations, which are Python's names.
"""

from __future__ import annotations

import ast
import math
import unicodedata

from ..core.errors import HandpropError, one_of
from .checks import MAX_NAME_LENGTH
from ..core.ops import ALIASES, FUNCTIONS, OPS, settings_problem, usage
from ..core.program import Apply, Const, Equation, Expr, Program, Ref, names_in

_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_OPERATORS = "one of + - * / ** and unary minus"
_UPDATES = "one of += -= *= /= **="
# Python's operators that equations do not take, as they are written.
_SYMBOL = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
           ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~", ast.Not: "not"}
MAX_DEPTH = 60  # deeper expressions than a person writes by hand are refused, not recursed into
MAX_EQUATIONS = 10_000  # lines of equations: far beyond a hand-worked network; keeps solve and explain in seconds
PRIMED = 3  # versions of a name written with primes (c, c', c''); later ones count their primes, c^(3)

# What the most likely non-arithmetic constructs are called in an error message.
_KIND = {
    ast.Attribute: "attribute access", ast.Subscript: "a subscript", ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension", ast.Import: "an import", ast.ImportFrom: "an import",
    ast.Compare: "a comparison", ast.BoolOp: "a boolean operator", ast.IfExp: "a conditional expression",
    ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set",
    ast.JoinedStr: "a string", ast.Starred: "a starred expression", ast.NamedExpr: "an assignment expression",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Call: "a call",
}
# ... and the statements that are not an equation.
_STATEMENT = {
    ast.Import: "an import", ast.ImportFrom: "an import", ast.If: "an if statement", ast.For: "a for loop",
    ast.AsyncFor: "a for loop", ast.While: "a while loop", ast.FunctionDef: "a function definition",
    ast.AsyncFunctionDef: "a function definition", ast.ClassDef: "a class definition", ast.Return: "return",
    ast.Delete: "del", ast.Pass: "pass", ast.Break: "break", ast.Continue: "continue", ast.Global: "global",
    ast.Nonlocal: "nonlocal", ast.Assert: "assert", ast.Raise: "raise", ast.Try: "a try statement",
    ast.With: "a with statement", ast.AsyncWith: "a with statement", ast.AnnAssign: "a type annotation",
    ast.Expr: "an expression with no name to assign it to",
}
_STATEMENT.update({getattr(ast, kind): words for kind, words in (("Match", "a match statement"),
                                                                   ("TryStar", "a try statement"),
                                                                   ("TypeAlias", "a type alias"))
                   if hasattr(ast, kind)})


def version_name(name: str, version: int) -> str:
    """The node name of a name's version (1 for its first assignment), as JSON, tables and messages write it.

    >>> [version_name("c", k) for k in (1, 2, 3, 4, 5)]
    ['c', "c'", "c''", 'c^(3)', 'c^(4)']
    """
    return name + "'" * (version - 1) if version <= PRIMED else f"{name}^({version - 1})"


class _Parser:
    def __init__(self, file: str | None, where: str, parameters, data, line_offset: int = 0):
        self.file = file
        self.where = where
        self.known = {name: "parameter" for name in parameters} | {name: "data" for name in data}
        self.assigned: dict[str, int] = {}  # node name (each version's) -> line that assigns it
        self.current: dict[str, str] = {}  # name as written -> the node name of its latest version
        self.versions: dict[str, int] = {}  # name as written -> how many times it is assigned so far
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
            if isinstance(statement, (ast.Assign, ast.AugAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            else:
                continue
            for target in targets:
                for name_node in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if isinstance(name_node, ast.Name):
                        self.later.setdefault(name_node.id, statement.lineno + self.line_offset)
        equations = [self.statement(s) for s in tree.body]
        if not equations:
            raise HandpropError(self.file, self.where, "no equations", "at least one line `name = expression`")
        return equations

    def statement(self, node: ast.stmt) -> Equation:
        if isinstance(node, ast.AugAssign):
            return self.update(node)
        if not isinstance(node, ast.Assign):
            raise self.not_an_equation(node)
        if len(node.targets) != 1:
            raise self.error(node, "chained assignment", "one `=` per line")
        target = node.targets[0]
        if isinstance(target, ast.Tuple):
            names = [self.target_name(t) for t in target.elts]
            for i, name in enumerate(names):
                if name in names[:i]:
                    raise self.error(target.elts[i], f"'{name}' named twice on the left", "one name per output")
            value = node.value
            if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in FUNCTIONS
                    and OPS[value.func.id].multi_output):
                raise self.error(node, f"{len(names)} names assigned from one expression",
                                 "several names only on the left of softmax(...)")
            expr = self.softmax_call(value, expected_outputs=len(names))
            nodes = [self.assign(element, name) for element, name in zip(target.elts, names)]
        else:
            name = self.target_name(target)
            expr = self.expr(node.value, depth=0)  # read before the name's new version exists: c = c + 1
            nodes = [self.assign(target, name)]
        return Equation(tuple(nodes), expr, node.lineno + self.line_offset)

    def update(self, node: ast.AugAssign) -> Equation:
        """c += expression: c's next version is c + (expression), as Python reads it."""
        if not isinstance(node.target, ast.Name):
            kind = _KIND.get(type(node.target), "this")
            raise self.error(node.target, f"cannot update {kind}", "a plain name on the left of +=")
        op = _BINARY.get(type(node.op))
        if op is None:
            symbol = _SYMBOL.get(type(node.op), "this operator")
            raise self.error(node, f"the update {symbol}= is not allowed", _UPDATES)
        name = self.target_name(node.target)
        if name not in self.current:
            raise self.error(node.target, f"'{name} {OPS[op].infix}= ...' before '{name}' has a value",
                             f"'{name} = ...' on a line above it")
        expr = Apply(op, (Ref(self.current[name]), self.expr(node.value, depth=1)))
        return Equation((self.assign(node.target, name),), expr, node.lineno + self.line_offset)

    def not_an_equation(self, node: ast.stmt) -> HandpropError:
        call = node.value if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) else None
        if call is not None and isinstance(call.func, ast.Attribute) and call.func.attr == "backward":
            written = self.source_text(call) or "backward()"
            return self.error(node, f"{written} is not needed",
                              "nothing but equations: the loss, the last name assigned or network.loss, is "
                              "differentiated without it")
        kind = _STATEMENT.get(type(node), "this line")
        return self.error(node, f"{kind} is not an equation", "`name = expression`")

    def target_name(self, node) -> str:
        if not isinstance(node, ast.Name):
            kind = _KIND.get(type(node), "this")
            raise self.error(node, f"cannot assign to {kind}", "a plain name on the left of =")
        name = node.id
        self.check_name(node, name)
        if name in self.known:
            raise self.error(node, f"'{name}' is a {self.known[name]} name and cannot be assigned",
                             f"a new name: {'parameters' if self.known[name] == 'parameter' else 'data'} keep "
                             "the values the problem gives them")
        return name

    def assign(self, node, name: str) -> str:
        """The node name of the name's next version, from now on what the name reads."""
        version = self.versions.get(name, 0) + 1
        node_name = version_name(name, version)
        if node_name in self.known:  # a parameter or data name that is no Python name, such as "c'"
            raise self.error(node, f"'{name}' assigned again would be '{node_name}', a {self.known[node_name]} "
                             "name", "another name for the parameter or data")
        self.versions[name] = version
        self.current[name] = node_name
        self.assigned[node_name] = node.lineno + self.line_offset
        return node_name

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
                symbol = _SYMBOL.get(type(node.op), "this operator")
                raise self.error(node, f"the operator {symbol} is not allowed",
                                 ("** for a power; " if symbol == "^" else "") + _OPERATORS)
            return Apply(op, (self.expr(node.left, depth + 1), self.expr(node.right, depth + 1)))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return Apply("neg", (self.expr(node.operand, depth + 1),))
            if isinstance(node.op, ast.UAdd):
                return self.expr(node.operand, depth + 1)
            raise self.error(node, f"the operator {_SYMBOL.get(type(node.op), 'this operator')} is not allowed",
                             _OPERATORS)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        kind = _KIND.get(type(node), "this")
        raise self.error(node, f"{kind} is not arithmetic", "numbers, names, + - * / **, and the listed functions")

    def number(self, node: ast.Constant) -> Const:
        value = node.value
        if isinstance(value, (str, bytes)):
            raise self.error(node, "a string is not a number", "a real number")
        if isinstance(value, complex):
            raise self.error(node, f"{value!r} is an imaginary number", "a real number")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            shown = "..." if value is Ellipsis else repr(value)
            raise self.error(node, f"{shown} is not a number", "a real number")
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
        if name in self.known:
            return Ref(name)
        if name in self.current:
            return Ref(self.current[name])
        if name in self.later:
            raise self.error(node, f"'{name}' is used before it is assigned (on line {self.later[name]})",
                             "equations in the order they are computed")
        if name in FUNCTIONS:
            raise self.error(node, f"function '{name}' used without a call", f"{name}(...)")
        choices = list(self.known) + list(self.current)
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

    def function(self, node: ast.Call) -> tuple[str, list]:
        """The function a call names and its arguments: f(x, ...), or x.f(...) written as a method."""
        func, args = node.func, list(node.args)
        if isinstance(func, ast.Attribute) and func.attr in FUNCTIONS:
            name, args = func.attr, [func.value, *args]
        elif isinstance(func, ast.Attribute):
            raise self.error(node, f"unknown function '{func.attr}' (written as a method, .{func.attr}())",
                             one_of([f for f in FUNCTIONS if not OPS[f].multi_output], func.attr, synonyms=ALIASES))
        elif not isinstance(func, ast.Name):
            kind = _KIND.get(type(func), "an expression")
            raise self.error(node, f"call of {kind}", "a call of one of: " + ", ".join(FUNCTIONS))
        else:
            name = func.id
        if name not in FUNCTIONS:
            raise self.error(node, f"unknown function '{name}'", one_of(FUNCTIONS, name, synonyms=ALIASES))
        if node.keywords and not OPS[name].params:
            raise self.error(node, f"keyword arguments to {name}()",
                             f"{name} takes no settings: positional arguments only")
        for arg in args:
            if isinstance(arg, ast.Starred):
                raise self.error(arg, f"a starred argument to {name}()", "positional arguments only")
        return name, args

    def call(self, node: ast.Call, depth: int) -> Expr:
        """f(x), or with the op's settings after its arguments, by position or by name: elu(x, 0.5) or
        elu(x, alpha=0.5); max(a, b, ...) of two or more."""
        name, args = self.function(node)
        op = OPS[name]
        if op.multi_output:
            raise self.error(node, f"{name} returns one value per argument",
                             f"y1, y2 = {name}(o1, o2) on a line of its own")
        if not op.arity:
            if len(args) < op.at_least:
                raise self.error(node, f"{name} takes at least {op.at_least} arguments, not {len(args)}", usage(op))
            return Apply(name, tuple(self.expr(a, depth + 1) for a in args), op.settings({}))
        arity = op.arity
        if not arity <= len(args) <= arity + len(op.params):
            counted = f"{arity}" + (f" to {arity + len(op.params)}" if op.params else "")
            raise self.error(node, f"{name} takes {counted} argument{'s' * (arity + len(op.params) != 1)}, "
                             f"not {len(args)}", usage(op))
        given = {}
        for param, value in zip(op.params, args[arity:]):
            given[param.name] = self.setting(op, param.name, value)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise self.error(node, f"a ** argument to {name}()", usage(op))
            if keyword.arg in given:
                raise self.error(keyword.value, f"{name}'s {keyword.arg} given twice", usage(op))
            given[keyword.arg] = self.setting(op, keyword.arg, keyword.value)
        problem = settings_problem(op, given)
        if problem:
            raise self.error(node, problem[1], problem[2])
        return Apply(name, tuple(self.expr(a, depth + 1) for a in args[:arity]), op.settings(given))

    def setting(self, op, name: str, node):
        """A setting's value, as written: a number (a minus sign allowed) or, for a setting in words, a string."""
        param = next((p for p in op.params if p.name == name), None)
        negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
        inner = node.operand if negative else node
        if param is not None and param.choices and isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            return inner.value
        if not isinstance(inner, ast.Constant) or isinstance(inner.value, (str, bytes)):
            raise self.error(node, f"{op.name}'s {name} must be a number written out", usage(op))
        value = self.number(inner).value
        return -value if negative else value

    def softmax_call(self, node: ast.Call, expected_outputs: int) -> Expr:
        """A multi-output op's call, y1, y2 = softmax(o1, o2): one name on the left per argument."""
        name, args = self.function(node)
        if len(args) != expected_outputs:
            raise self.error(node, f"{name} of {len(args)} arguments assigned to {expected_outputs} names",
                             "as many names on the left as arguments")
        if expected_outputs < 1:
            raise self.error(node, f"{name} of no arguments", "at least one argument")
        return Apply(name, tuple(self.expr(a, 1) for a in args), OPS[name].settings({}))


def parse_equations(text: str, *, parameters, data, loss: str | None = None, outputs=None,
                    file: str | None = None, where: str = "network.equations", line_offset: int = 0) -> Program:
    """Parse equations text into a Program, checking every name. A name assigned more than once is a node per
    assignment (c, c', c'', c^(3), ...); the loss and outputs, when named, read a name's last version.

    >>> p = parse_equations("h = w*x + b\\nL = (h - t)**2", parameters=["w", "b"], data=["x", "t"])
    >>> p.nodes, p.loss, p.outputs
    (('h', 'L'), 'L', ('h',))
    >>> parse_equations("c = w*x\\nc += 1\\nc *= c", parameters=["w"], data=["x"]).nodes
    ('c', "c'", "c''")
    """
    parser = _Parser(file, where, parameters, data, line_offset)
    equations = parser.parse(text)
    program_nodes = [t for eq in equations for t in eq.targets]

    def node(name: str) -> str | None:
        """A node as the file names it: a name (its last version), or one version of it (c')."""
        return parser.current.get(name) or (name if name in parser.assigned else None)

    loss_name = node(loss) if loss is not None else program_nodes[-1]
    if loss_name is None:
        raise HandpropError(file, "network.loss", f"'{loss}' is not assigned by any equation",
                            one_of(program_nodes, loss))
    by_target = {t: eq for eq in equations for t in eq.targets}
    if outputs is None:
        outputs = [n for n in names_in(by_target[loss_name].expr) if n in parser.assigned]
    else:
        for name in outputs:
            if node(name) is None:
                raise HandpropError(file, "network.outputs", f"'{name}' is not assigned by any equation",
                                    one_of(program_nodes, name))
        outputs = [node(name) for name in outputs]
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
