"""The scalar engine's fast path: a Program translated into one straight-line Python function.

For training many steps on a small network, interpreting the program tree by tree costs far more than
the arithmetic. This module writes the same computation out as Python source, once per program: the
forward pass as one assignment per operation, the reverse pass as one `+=` per local derivative (the
same rules as the interpreter and the op table: relu'(0) = 0, ln y of a softmax output taken from the
logits, softplus linear above 20), a loop over the batch's samples, and, for plain gradient descent,
the update. The source is built only from handprop's own identifiers (v3, t17) and float literals
(repr of validated numbers): no text the user wrote reaches it. It is compiled with compile() and the
function taken from the resulting code object; nothing is evaluated or executed but that function.

The interpreter (scalar.py) stays the reference: it keeps every value and partial for the worked
solution. The tests check this path against it.
"""

from __future__ import annotations

import math
import types

from ..core.ops import OPS
from ..core.program import Apply, Const, Program, Ref

_HELPERS = {"_exp": math.exp, "_log": math.log, "_sqrt": math.sqrt, "_tanh": math.tanh, "_log1p": math.log1p}


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


_HELPERS["_sigmoid"] = _sigmoid
_HELPERS["_pow"] = OPS["pow"].forward  # refuses a negative base to a fractional power (no complex numbers)
_HELPERS["_bce"] = OPS["bce"].forward
_HELPERS["_bce_partials"] = OPS["bce"].partials


class _Writer:
    """Writes forward and reverse code for one sample, names mapped to local variables."""

    def __init__(self, program: Program):
        self.program = program
        self.var: dict[str, str] = {}
        for i, name in enumerate(program.parameters):
            self.var[name] = f"p{i}"
        for i, name in enumerate(program.data):
            self.var[name] = f"d{i}"
        self.count = 0
        self.forward: list[str] = []
        self.tape: list[tuple] = []  # (out, op, args, extra): what the reverse pass walks back over
        self.log_of: dict[str, str] = {}  # softmax output variable -> its log, from the logits

    def temp(self) -> str:
        self.count += 1
        return f"t{self.count}"

    def expr(self, expr) -> str:
        if isinstance(expr, Const):
            return repr(float(expr.value))
        if isinstance(expr, Ref):
            return self.var[expr.name]
        args = [self.expr(a) for a in expr.args]
        out = self.temp()
        op = expr.op
        if op == "log" and args[0] in self.log_of:
            self.forward.append(f"{out} = {self.log_of[args[0]]}")
            op = "log_softmax_output"
        else:
            self.forward.append(f"{out} = {_forward(op, args)}")
        self.tape.append((out, op, args))
        return out

    def equation(self, eq) -> None:
        if isinstance(eq.expr, Apply) and eq.expr.op == "softmax":
            args = [self.expr(a) for a in eq.expr.args]
            top, total = self.temp(), self.temp()
            exps = [self.temp() for _ in args]
            self.forward.append(f"{top} = max({', '.join(args)})" if len(args) > 1 else f"{top} = {args[0]}")
            for e, a in zip(exps, args):
                self.forward.append(f"{e} = _exp({a} - {top})")
            self.forward.append(f"{total} = {' + '.join(exps)}")
            log_total = self.temp()
            self.forward.append(f"{log_total} = {top} + _log({total})")
            outs = []
            for target, e, a in zip(eq.targets, exps, args):
                v = self.temp()
                self.forward.append(f"{v} = {e} / {total}")
                self.var[target] = v
                self.log_of[v] = f"({a} - {log_total})"
                outs.append(v)
            self.tape.append((tuple(outs), "softmax", args))
            return
        self.var[eq.target] = self.expr(eq.expr)

    def reverse(self) -> tuple[list[str], dict]:
        """Adjoint code: g_x for every variable, from the loss back. A softmax output y's adjoint is kept as
        a_y = dL/dy * y, and ln y contributes to it exactly (see scalar._reverse)."""
        lines = []
        gradient = {}  # variable -> its adjoint variable, created on first use
        softmax_outputs = {v for out, op, _ in self.tape if op == "softmax" for v in out}
        for v in sorted(softmax_outputs):
            lines.append(f"a{v} = 0.0")

        def g(name: str) -> str:
            if name not in gradient:
                gradient[name] = "g" + name
                lines.append(f"g{name} = 0.0")
            return gradient[name]

        def add(name: str, amount: str) -> str:
            if name in softmax_outputs:
                return f"a{name} += ({amount}) * {name}"
            return f"{g(name)} += {amount}"

        loss = self.var[self.program.loss]
        lines.append(f"g{loss} = 1.0")
        gradient[loss] = "g" + loss
        body = []
        for out, op, args in reversed(self.tape):
            if op == "softmax":
                total = "s" + out[0]
                body.append(f"{total} = {' + '.join('a' + o for o in out)}")
                for a, o in zip(args, out):
                    if a[0] in "pt":  # a parameter or a computed value: data need no adjoint
                        body.append(add(a, f"a{o} - {o} * {total}"))
                continue
            if out not in gradient:
                continue
            seed = gradient[out]
            if op == "log_softmax_output":
                body.append(f"a{args[0]} += {seed}")
                continue
            for index, a in enumerate(args):
                if a[0] not in "pt":  # a number or data: nothing to differentiate
                    continue
                local = _partial(op, args, index, out)
                if local is None:
                    continue
                body.append(add(a, seed if local == "1.0" else f"{seed} * ({local})"))
        return lines + body, gradient


def _forward(op: str, a: list[str]) -> str:
    return {
        "add": lambda: f"{a[0]} + {a[1]}", "sub": lambda: f"{a[0]} - {a[1]}", "mul": lambda: f"{a[0]} * {a[1]}",
        "div": lambda: f"{a[0]} / {a[1]}", "neg": lambda: f"-{a[0]}", "pow": lambda: f"_pow({a[0]}, {a[1]})",
        "identity": lambda: a[0], "relu": lambda: f"({a[0]} if {a[0]} > 0.0 else 0.0)",
        "leaky_relu": lambda: f"({a[0]} if {a[0]} > 0.0 else {a[1]} * {a[0]})",
        "sigmoid": lambda: f"_sigmoid({a[0]})", "tanh": lambda: f"_tanh({a[0]})",
        "softplus": lambda: f"({a[0]} if {a[0]} > 20.0 else _log1p(_exp({a[0]})))",
        "exp": lambda: f"_exp({a[0]})", "log": lambda: f"_log({a[0]})", "sqrt": lambda: f"_sqrt({a[0]})",
        "abs": lambda: f"abs({a[0]})", "bce": lambda: f"_bce({a[0]}, {a[1]})",
    }[op]()


def _partial(op: str, a: list[str], index: int, out: str) -> str | None:
    """d out / d a[index] as code, or None where it is zero."""
    x = a[0]
    if op in ("add", "identity"):
        return "1.0"
    if op == "sub":
        return "1.0" if index == 0 else "-1.0"
    if op == "mul":
        return a[1 - index]
    if op == "div":
        return f"1.0 / {a[1]}" if index == 0 else f"-{a[0]} / ({a[1]} * {a[1]})"
    if op == "neg":
        return "-1.0"
    if op == "pow":
        if index == 0:
            return f"({a[1]} * {a[0]} ** ({a[1]} - 1.0) if {a[1]} != 0.0 else 0.0)"
        return f"({out} * _log({a[0]}) if {a[0]} > 0.0 else 0.0)"
    if op == "relu":
        return f"(1.0 if {x} > 0.0 else 0.0)"
    if op == "leaky_relu":
        return f"(1.0 if {x} > 0.0 else {a[1]})" if index == 0 else None
    if op == "sigmoid":
        return f"{out} * (1.0 - {out})"
    if op == "tanh":
        return f"1.0 - {out} * {out}"
    if op == "softplus":
        return f"(1.0 if {x} > 20.0 else _sigmoid({x}))"
    if op == "exp":
        return out
    if op == "log":
        return f"1.0 / {x}"
    if op == "sqrt":
        return f"0.5 / {out}"
    if op == "abs":
        return f"(1.0 if {x} > 0.0 else -1.0 if {x} < 0.0 else 0.0)"
    if op == "bce":
        return f"_bce_partials({a[0]}, {a[1]}, {out})[{index}]"
    raise KeyError(op)


def compile_program(program: Program, *, sgd_lr: float | None = None):
    """A function run(p, rows) -> (mean loss, gradients) over samples `rows` (tuples in program.data order),
    p the parameters in program.parameters order. With sgd_lr, it returns (mean loss, updated parameters).

    >>> from handprop.problem.equations import parse_equations
    >>> run = compile_program(parse_equations("L = (w*x - t)**2", parameters=["w"], data=["x", "t"]))
    >>> run([2.0], [(3.0, 1.0)])
    (25.0, [30.0])
    """
    writer = _Writer(program)
    for eq in program.equations:
        writer.equation(eq)
    reverse, gradient = writer.reverse()
    params = [writer.var[n] for n in program.parameters]
    data = [writer.var[n] for n in program.data]
    totals = [f"G{i}" for i in range(len(params))]
    lines = ["def run(p, rows):"]
    if params:
        lines.append(f"    {', '.join(params)}, = p")
    lines.append("    " + " = ".join(totals + ["loss"]) + " = 0.0")
    lines.append("    for row in rows:")
    if data:
        lines.append(f"        {', '.join(data)}, = row")
    lines += ["        " + line for line in writer.forward]
    lines.append(f"        loss += {writer.var[program.loss]}")
    lines += ["        " + line for line in reverse]
    for total, p in zip(totals, params):
        if p in gradient:
            lines.append(f"        {total} += {gradient[p]}")
    lines.append("    n = len(rows)")
    if sgd_lr is None:
        lines.append(f"    return loss / n, [{', '.join(f'{t} / n' for t in totals)}]")
    else:
        lr = repr(float(sgd_lr))
        lines.append(f"    return loss / n, [{', '.join(f'{p} - {lr} * ({t} / n)' for p, t in zip(params, totals))}]")
    source = "\n".join(lines) + "\n"
    module = compile(source, "<handprop compiled program>", "exec")
    code = next(c for c in module.co_consts if isinstance(c, types.CodeType) and c.co_name == "run")
    return types.FunctionType(code, dict(_HELPERS), "run")
