"""The scalar engine's fast path: a Program translated into one straight-line Python function.

For training many steps on a small network, interpreting the program tree by tree costs far more than
the arithmetic. This module writes the same computation out as Python source, once per program: the
forward pass as one assignment per operation, the reverse pass as one assignment or `+=` per local
derivative, a loop over the batch's samples, and, for plain gradient descent, the update (compile_program),
or many such steps in one loop (compile_sgd_steps, for `train` on the whole data set). It compiles the program as
core/fusion.py rewrites it (ln y of a softmax output from the logits), so it needs no rule of its own
for that.

Its one table, INLINE, keyed by op name, holds the code of the common ops (the op table's rules written
as expressions: relu'(0) = 0, softplus linear above 20). An op it has no code for (max and min, of any
number of arguments, among others) is called through the op table's own forward and partials, with the same
numbers, only slower; so it lacks no op.

The source is built only from handprop's own identifiers (v3, t17), float literals (repr of validated
numbers) and the op table's setting words: no text the user wrote reaches it. It is compiled with
compile() and the function taken from the resulting code object; nothing is evaluated or executed but
that function. The interpreter (interpreter.py) stays the reference: the tests hold this path to it.
"""

from __future__ import annotations

import math
import types

from ..core.fusion import fuse
from ..core.functions import SOFTPLUS_THRESHOLD
from ..core.ops import OPS
from ..core.program import Apply, Const, Program, Ref

_HELPERS = {"_isfinite": math.isfinite, "_exp": math.exp, "_log": math.log, "_sqrt": math.sqrt, "_tanh": math.tanh, "_log1p": math.log1p,
            "_sigmoid": OPS["sigmoid"].forward,
            "_pow": OPS["pow"].forward}  # refuses a negative base to a fractional power (no complex numbers)

# op -> (forward, partials): code over the arguments {0}, {1}, the output {out} and the op's settings
# ({alpha}); a partial of None is 0 (a setting), never differentiated.
_T = repr(SOFTPLUS_THRESHOLD)
INLINE = {
    "add": ("{0} + {1}", ("1.0", "1.0")),
    "sub": ("{0} - {1}", ("1.0", "-1.0")),
    "mul": ("{0} * {1}", ("{1}", "{0}")),
    "div": ("{0} / {1}", ("1.0 / {1}", "-{0} / ({1} * {1})")),
    "neg": ("-{0}", ("-1.0",)),
    "pow": ("_pow({0}, {1})", ("({1} * {0} ** ({1} - 1.0) if {1} != 0.0 else 0.0)",
                               "({out} * _log({0}) if {0} > 0.0 else 0.0)")),
    "identity": ("{0}", ("1.0",)),
    "relu": ("({0} if {0} > 0.0 else 0.0)", ("(1.0 if {0} > 0.0 else 0.0)",)),
    "leaky_relu": ("({0} if {0} > 0.0 else {alpha} * {0})", ("(1.0 if {0} > 0.0 else {alpha})",)),
    "sigmoid": ("_sigmoid({0})", ("{out} * (1.0 - {out})",)),
    "tanh": ("_tanh({0})", ("(1.0 - {out}) * (1.0 + {out})",)),
    "softplus": (f"({{0}} if {{0}} > {_T} else _log1p(_exp({{0}})))", (f"(1.0 if {{0}} > {_T} else _sigmoid({{0}}))",)),
    "exp": ("_exp({0})", ("{out}",)),
    "log": ("_log({0})", ("1.0 / {0}",)),
    "sqrt": ("_sqrt({0})", ("0.5 / {out}",)),
    "abs": ("abs({0})", ("(1.0 if {0} > 0.0 else -1.0 if {0} < 0.0 else 0.0)",)),
    "clamp": ("({min} if {0} < {min} else {max} if {0} > {max} else {0})",
              ("(1.0 if {min} <= {0} <= {max} else 0.0)",)),
}
# Multi-output ops written out: softmax and the logs of its outputs share their maximum and their sum.
SHARED = ("softmax", "log_softmax")


def _literal(value) -> str:
    return repr(float(value)) if not isinstance(value, str) else repr(value)


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
        self.tape: list[tuple] = []  # (outputs, expr, argument variables): what the reverse pass walks back over
        self.helpers: dict = {}  # name -> function, for the ops called through the op table
        self.exponentials: dict = {}  # the logits' variables -> (their maximum, their exponentials, their sum)

    def temp(self) -> str:
        self.count += 1
        return f"t{self.count}"

    def helper(self, kind: str, op) -> str:
        name = f"_{kind}_{len(self.helpers)}"
        self.helpers[name] = op.forward if kind == "f" else op.partials
        return name

    def settings(self, expr: Apply) -> str:
        return "".join(f", {name}={_literal(value)}" for name, value in expr.params)

    def expr(self, expr) -> str:
        if isinstance(expr, Const):
            return repr(float(expr.value))
        if isinstance(expr, Ref):
            return self.var[expr.name]
        args = [self.expr(a) for a in expr.args]
        out = self.temp()
        if expr.op in INLINE:
            code = INLINE[expr.op][0].format(*args, **dict(expr.params))
        else:
            code = f"{self.helper('f', OPS[expr.op])}({', '.join(args)}{self.settings(expr)})"
        self.forward.append(f"{out} = {code}")
        self.tape.append(((out,), expr, args))
        return out

    def equation(self, eq) -> None:
        expr = eq.expr
        if not (isinstance(expr, Apply) and OPS[expr.op].multi_output):
            self.var[eq.target] = self.expr(expr)
            return
        args = [self.expr(a) for a in expr.args]
        outs = tuple(self.temp() for _ in eq.targets)
        if expr.op in SHARED:
            top, exps, total = self.shared(args)
            if expr.op == "softmax":
                self.forward += [f"{v} = {e} / {total}" for v, e in zip(outs, exps)]
            else:
                log_total = self.temp()
                self.forward.append(f"{log_total} = {top} + _log({total})")
                self.forward += [f"{v} = {a} - {log_total}" for v, a in zip(outs, args)]
        else:
            self.forward.append(f"{', '.join(outs)}, = {self.helper('f', OPS[expr.op])}({', '.join(args)}"
                                f"{self.settings(expr)})")
        self.var.update(zip(eq.targets, outs))
        self.tape.append((outs, expr, args))

    def shared(self, args: list) -> tuple:
        """The maximum of the logits, each e^(o - max), and their sum: written once for softmax and its logs."""
        key = tuple(args)
        if key not in self.exponentials:
            top, total = self.temp(), self.temp()
            exps = [self.temp() for _ in args]
            self.forward.append(f"{top} = max({', '.join(args)})" if len(args) > 1 else f"{top} = {args[0]}")
            self.forward += [f"{e} = _exp({a} - {top})" for e, a in zip(exps, args)]
            self.forward.append(f"{total} = {' + '.join(exps)}")
            self.exponentials[key] = (top, exps, total)
        return self.exponentials[key]

    def reverse(self, totals: dict | None = None, *, assign: bool = False,
                signed_zeros: bool = True) -> tuple[list[str], dict]:
        """Adjoint code: g_x for every variable, from the loss back; returns the lines and {variable: adjoint}.

        Each adjoint's first contribution is assigned (as 0.0 + it: the same number, a zero's sign too, as
        adding it to 0.0), later ones added. A parameter in `totals` ({variable: the sum over the batch's
        samples}) whose adjoint has one contribution adds it to that sum directly (`assign`: a sum over one
        sample, made by it); its adjoint is then None. Without `signed_zeros` a first contribution is assigned as
        it is: the same numbers, but a zero adjoint may be -0.0 where adding to 0.0 gives 0.0 (a training loop's
        choice: its adjoints are never shown, and a parameter's update is the same unless the parameter is -0.0).
        """
        items: list = []  # lines of code, and contributions (variable, expression) to an adjoint
        count: dict = {}

        def g(name: str) -> str:
            return "g" + name

        def add(name: str, code: str) -> None:
            gradient.setdefault(name, g(name))
            count[name] = count.get(name, 0) + 1
            items.append((name, code))

        loss = self.var[self.program.loss]
        gradient: dict = {loss: "1.0"}  # the loss's own adjoint, written as the number: Python folds 1.0 * (c)
        lines: list[str] = []
        for outs, expr, args in reversed(self.tape):
            seeds = [gradient.get(v) for v in outs]
            if not any(seeds):
                continue  # the loss does not depend on it
            wanted = [a for a in args if a[0] in "pt"]  # a parameter or a computed value: data need no adjoint
            if not wanted:
                continue
            op = OPS[expr.op]
            if op.multi_output:
                self.multi_reverse(outs, expr, args, seeds, items, add)
                continue
            seed, out = seeds[0], outs[0]
            if expr.op in INLINE:
                partials = [None if code is None else code.format(*args, out=out, **dict(expr.params))
                            for code in INLINE[expr.op][1]]
            else:
                local = self.temp()
                items.append(f"{local} = {self.helper('p', op)}({', '.join(args)}, {out}{self.settings(expr)})")
                partials = [f"{local}[{i}]" for i in range(len(args))]
            for a, partial in zip(args, partials):
                if a[0] in "pt" and partial is not None:
                    add(a, seed if partial == "1.0" else f"{seed} * ({partial})")
        totals = totals or {}
        written: set = set()
        for item in items:
            if isinstance(item, str):
                lines.append(item)
                continue
            name, code = item
            first = "0.0 + " if signed_zeros else ""
            if name in totals and count[name] == 1:
                lines.append(f"{totals[name]} = {first}{code}" if assign else f"{totals[name]} += {code}")
                gradient[name] = None
            elif name in written:
                lines.append(f"g{name} += {code}")
            else:
                written.add(name)
                lines.append(f"g{name} = {first}{code}")
        return lines, gradient

    def multi_reverse(self, outs, expr, args, seeds, items: list, add) -> None:
        """A multi-output op's Jacobian applied to its outputs' adjoints: lines into `items`, each contribution to
        an argument's adjoint through `add`."""
        seeds = [s or "0.0" for s in seeds]
        total = self.temp()
        if expr.op == "softmax":  # dL/do_j = y_j (g_j - sum_i g_i y_i)
            items.append(f"{total} = {' + '.join(f'{s} * {y}' for s, y in zip(seeds, outs))}")
            for a, y, s in zip(args, outs, seeds):
                if a[0] in "pt":
                    add(a, f"{y} * ({s} - {total})")
            return
        if expr.op == "log_softmax":  # dL/do_j = g_j - y_j sum_i g_i, y_j = e_j / sum
            _, exps, sum_exps = self.shared(args)
            items.append(f"{total} = {' + '.join(seeds)}")
            for a, e, s in zip(args, exps, seeds):
                if a[0] in "pt":
                    add(a, f"{s} - {e} / {sum_exps} * {total}")
            return
        jacobian = self.temp()
        items.append(f"{jacobian} = {self.helper('p', OPS[expr.op])}({', '.join(args)}, ({', '.join(outs)},)"
                     f"{self.settings(expr)})")
        for j, a in enumerate(args):
            if a[0] in "pt":
                add(a, " + ".join(f"{s} * {jacobian}[{i}][{j}]" for i, s in enumerate(seeds)))


def compile_program(program: Program, *, sgd_lr: float | None = None):
    """A function run(p, rows) -> (mean loss, gradients) over samples `rows` (tuples in program.data order),
    p the parameters in program.parameters order. With sgd_lr, it returns (mean loss, updated parameters).

    >>> from handprop.problem.equations import parse_equations
    >>> run = compile_program(parse_equations("L = (w*x - t)**2", parameters=["w"], data=["x", "t"]))
    >>> run([2.0], [(3.0, 1.0)])
    (25.0, [30.0])
    """
    writer, params, data = _written(program)
    program = writer.program
    totals = [f"G{i}" for i in range(len(params))]
    reverse, gradient = writer.reverse(dict(zip(params, totals)))
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
        if gradient.get(p) is not None:  # None: added to its total where it was worked out
            lines.append(f"        {total} += {gradient[p]}")
    lines.append("    n = len(rows)")
    if sgd_lr is None:
        lines.append(f"    return loss / n, [{', '.join(f'{t} / n' for t in totals)}]")
    else:
        lr = repr(float(sgd_lr))
        lines.append(f"    return loss / n, [{', '.join(f'{p} - {lr} * ({t} / n)' for p, t in zip(params, totals))}]")
    return _function(lines, writer)


def compile_sgd_steps(program: Program, lr: float, *, one_sample: bool):
    """A function run(p, rows, count, losses) -> parameters: up to `count` steps of plain gradient descent on the
    samples `rows`, compile_program's arithmetic with sgd_lr, step after step in one loop (the training loop's
    fast path: no call, no list per step). Each step's mean loss is appended to `losses`. It stops before a step
    whose loss is not finite, returning the parameters after the steps it took; where a step's updated parameters
    are not all finite it returns None (the steps before it are those whose losses it appended); where the
    arithmetic fails it raises, as compile_program's. `one_sample`: rows holds one sample, whose values are read
    once and whose sums are the sample's own. A zero adjoint may have the other sign than compile_program's
    (reverse's signed_zeros); the losses may not.

    >>> from handprop.problem.equations import parse_equations
    >>> run = compile_sgd_steps(parse_equations("L = (w*x - t)**2", parameters=["w"], data=["x", "t"]), 0.01,
    ...                         one_sample=True)
    >>> losses = []
    >>> run([2.0], [(3.0, 1.0)], 2, losses), losses
    ([1.454], [25.0, 16.81])
    """
    writer, params, data = _written(program)
    if not params:
        raise ValueError("a program without parameters takes no gradient step")
    totals = [f"G{i}" for i in range(len(params))]
    reverse, gradient = writer.reverse(dict(zip(params, totals)), assign=one_sample, signed_zeros=False)
    loss = writer.var[writer.program.loss]
    lines = ["def run(p, rows, count, losses):", f"    {', '.join(params)}, = p", "    append = losses.append"]
    if one_sample:
        if data:
            lines.append(f"    {', '.join(data)}, = rows[0]")
        step = [*writer.forward, f"loss = 0.0 + {loss}", *reverse]
        # A sum over one sample is that sample's adjoint (0.0 plus it, as a batch's sum begins).
        sums = [t if p in gradient and gradient[p] is None else gradient.get(p, "0.0") for p, t in zip(params, totals)]
    else:
        lines.append("    n = len(rows)")
        step = [" = ".join(totals + ["loss"]) + " = 0.0", "for row in rows:"]
        inner = ([f"{', '.join(data)}, = row"] if data else []) + [*writer.forward, f"loss += {loss}", *reverse]
        inner += [f"{t} += {gradient[p]}" for p, t in zip(params, totals) if gradient.get(p) is not None]
        step += ["    " + line for line in inner] + ["loss = loss / n"]
        sums = [f"({t} / n)" for t in totals]
    rate = repr(float(lr))
    step += ["if not _isfinite(loss):", "    break"]
    step += [f"{p} = {p} - {rate} * {s}" for p, s in zip(params, sums)]
    step += [f"if not _isfinite({' + '.join(params)}):", "    return None", "append(loss)"]
    lines += ["    for _ in range(count):", *("        " + line for line in step), f"    return [{', '.join(params)}]"]
    return _function(lines, writer)


def _written(program: Program) -> tuple:
    """The program (as fusion rewrites it) written out for one sample: the writer, its parameters' and its data's
    variables."""
    program = fuse(program).program
    needed = program.depends_on(program.loss) | {program.loss}
    writer = _Writer(program)
    for eq in program.equations:
        if any(target in needed for target in eq.targets):  # not what the loss never reads (a softmax whose
            writer.equation(eq)                              # outputs only its logs read)
    params = [writer.var[n] for n in program.parameters]
    data = [writer.var[n] for n in program.data]
    return writer, params, data


def _function(lines: list[str], writer) -> types.FunctionType:
    """The function `run` of the source `lines`, with the helpers the writer called on."""
    source = "\n".join(lines) + "\n"
    module = compile(source, "<handprop compiled program>", "exec")
    code = next(c for c in module.co_consts if isinstance(c, types.CodeType) and c.co_name == "run")
    return types.FunctionType(code, {**_HELPERS, **writer.helpers}, "run")
