"""A problem -> a standalone plain-Python script that works it out as the homework's "Code implement by Python"
does (`handprop export --to python`).

The script names every value as the problem does (w1 = 0.1, x1 = 0.26; a name that is no Python identifier
spelled with underscores, W1[2,3] as W1_2_3), then, for each step, writes the forward pass one equation a
line, the loss, the backward pass as named adjoints (dL_o1 = ..., dL_w7 = dL_o1 * a1) in the worked
solution's order (render/derivation_backward.py's backward_order), each the chain rule's sum over the nodes
that read it, and the optimizer's update, parameter by parameter. A batch is a loop over its samples, whose
gradients are averaged. It prints `handprop solve`'s Result table, every number in full (repr), or with
--json the same numbers as JSON. It needs nothing but Python 3's standard library.

Its numbers are handprop's: the ops are the op table's own code (python_code.py), the update core/optim.py's
arithmetic (python_update.py), and it takes the log of a softmax output from the logits where the engines do
(core/fusion.py's rewrite, the program it writes). A step-1 gradient whose chain-rule sum has three terms or
more may differ from the interpreter's in the last bit (the sum is written in reading order); later steps
are the many-step engine's, to rounding.
"""

from __future__ import annotations

import ast
import keyword

from ..core.errors import HandpropError
from ..core.fusion import fuse
from ..core.ops import OPS
from ..core.program import Apply, names_in
from . import python_sections as sections
from .derivation_backward import BackwardSections
from .python_code import RESERVED, OpCode, code, number, product, times, total
from .python_sections import WIDTH, wrapped
from .python_source import Definitions
from .python_update import Update

# The script's own names: nothing of the problem's may take them.
SCRIPT_NAMES = ("json", "math", "sys", "step", "steps", "samples", "batch_size", "initial", "gradients", "updated",
                "first_loss", "first_outputs", "loss", "loss_after", "losses", "outputs", "sample_gradients",
                "mean", "print_table", "rows", "result", "header", "caption", "output_labels", "lr", "beta1",
                "beta2", "eps", "alpha", "momentum", "dampening", "weight_decay", "lr_decay", "sgd", "adam", "adamw",
                "rmsprop", "adagrad", "lerp", "fused_multiply_add", "label", "value", "name", "k", "column")


class _Reading:
    """What the worked solution's backward_order reads of a derivation: the program, the names each equation
    reads, and the loss; so that the script's backward pass is in the worked solution's order."""

    backward_order = BackwardSections.backward_order

    def __init__(self, program):
        self.program, self.loss = program, program.loss
        self.symbols = {eq.target: names_in(eq.expr) for eq in program.equations}


def identifier(name: str) -> str:
    """handprop's name as a Python identifier: W1[2,3] -> W1_2_3, ln(y1) -> ln_y1."""
    if name.isidentifier() and not keyword.iskeyword(name):
        return name
    spelled = "_".join("".join(c if c.isalnum() or c == "_" else " " for c in name).split())
    return spelled if spelled.isidentifier() and not keyword.iskeyword(spelled) else "n_" + spelled


class Namer:
    """Collision-free names: each asked-for name, or it with _ added until no other name is it."""

    def __init__(self, taken):
        self.taken = set(taken)

    def __call__(self, wanted: str) -> str:
        name = identifier(wanted)
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name


def python_script(problem) -> str:
    """The script, as text.

    >>> from handprop import load
    >>> script = python_script(load("homework"))
    >>> "dL_w7 = dL_o1 * a1" in script and "w7 = w7 - lr * dL_w7" in script
    True
    """
    from ..solver import check_worked

    try:
        check_worked(problem)  # as solve: a problem too large to work out in full is refused, before any is written
    except HandpropError as exc:
        raise exc.located(where="network") from None
    try:
        return _Writer(problem).script()
    except LookupError as exc:
        raise HandpropError(problem.source, "network", f"no plain Python form: {exc}",
                            "ops whose code the op table gives") from None


class _Writer:
    """The script of one problem: its names, its passes, its update."""

    def __init__(self, problem):
        self.problem = problem
        self.fused = fuse(problem.program)
        self.program = program = self.fused.program
        self.definitions = Definitions()
        # First with stand-in names, to learn what the ops need defined; then every name is given, theirs avoided.
        stand_in = OpCode({name: f"_{i}" for i, name in enumerate((*program.parameters, *program.data,
                                                                  *program.nodes))}, self.definitions)
        self.update = Update(problem.optimizer) if problem.optimizer.given else None
        needed = program.depends_on(program.loss)
        for eq in program.equations:
            _collect(stand_in, eq, backward=eq.target in needed or eq.target == program.loss)
        for eq in problem.program.equations:  # as written, for the comments on a rewritten equation
            stand_in.value(eq.expr)
        for function in self.update.helpers() if self.update else ():
            self.definitions.define(function.__name__, function)
        namer = Namer(RESERVED | set(SCRIPT_NAMES) | self.definitions.names | set(stand_in.helpers.values()))
        self.names = {name: namer(name) for name in (*program.parameters, *program.data, *program.nodes)}
        loss = self.names[program.loss]
        self.adjoint = {name: namer(f"d{loss}_{self.names[name]}") for name in (*program.nodes, *program.parameters)}
        frozen = problem.optimizer.frozen
        self.state = {name: [namer(f"{prefix}_{self.names[name]}") for prefix in self.update.state]
                      for name in program.parameters if self.update and self.update.state and name not in frozen}
        several = sum(1 for eq in program.equations if len(eq.targets) > 1 and eq.target in needed) > 1
        self.jacobians = {eq.target: namer(f"jacobian_{self.names[eq.target]}" if several else "jacobian")
                          for eq in program.equations if len(eq.targets) > 1 and eq.target in needed}
        self.ops = OpCode(self.names, self.definitions)
        self.ops.helpers = stand_in.helpers

    # -- the backward pass -------------------------------------------------------------------------------------

    def backward(self) -> list:
        """(node, its adjoint's expression, lines that must come before it) for each node the loss reads and
        each parameter, in the worked solution's order, then the parameters'."""
        program = self.program
        needed = program.depends_on(program.loss)
        readers = program.readers()
        by_target = {t: eq for eq in program.equations for t in eq.targets}
        order = [n for n in _Reading(program).backward_order() if n in needed]
        rows: dict = {}  # equation's first target -> {name: per target, its local partial}
        found = []
        for name in [*order, *program.parameters]:
            terms, before = [], []
            for reader in readers.get(name, ()):
                if reader not in needed and reader != program.loss:
                    continue
                eq = by_target[reader]
                if eq.target not in rows:
                    rows[eq.target], setup = self.local_partials(eq)
                    before += setup
                upstream = None if reader == program.loss else ast.Name(self.adjoint[reader])
                terms.append(times(upstream, rows[eq.target][reader][name]))
            found.append((name, total(terms) if terms else number(0.0), before))
        return found

    def local_partials(self, eq) -> tuple[dict, list]:
        """{target: {name: d target / d name}} for an equation, and the lines its Jacobian needs (a multi-output
        op's, computed once: d y_i / d o_j, row i for output i)."""
        expr, ops = eq.expr, self.ops
        if not (isinstance(expr, Apply) and OPS[expr.op].multi_output):
            paths = ops.paths(expr, ast.Name(ops.names[eq.target]))
            return {eq.target: {name: total([product(path) for path in found]) for name, found in paths.items()}}, []
        args = [ops.value(arg) for arg in expr.args]
        outs = ast.Tuple([ast.Name(ops.names[t]) for t in eq.targets], ast.Load())
        (jacobian,) = ops.partials(expr, args, outs)
        name = self.jacobians[eq.target]
        setup = [(f"# {OPS[expr.op].words}'s Jacobian: {name}[i][j] is d({_listed(code(o) for o in outs.elts)})[i]"
                 f" / d({_listed(code(a) for a in args)})[j]"),
                 f"{name} = {code(jacobian)}"]
        rows: dict = {t: {} for t in eq.targets}
        for j, arg in enumerate(expr.args):
            inner = ops.paths(arg, args[j])
            for i, target in enumerate(eq.targets):
                entry = ast.Subscript(ast.Subscript(ast.Name(name), ast.Constant(i)), ast.Constant(j))
                for read, found in inner.items():
                    term = times(entry, total([product(path) for path in found]))
                    rows[target][read] = total([rows[target][read], term]) if read in rows[target] else term
        return rows, setup

    # -- the script --------------------------------------------------------------------------------------------

    def script(self) -> str:
        """The whole script: what comes before the steps, the steps, the Result table."""
        problem, program = self.problem, self.program
        steps_loop = self.update is not None
        batch = problem.batch_size > 1
        body = self.sample_lines()
        inner = "    " * (steps_loop + batch)
        lines = []
        if batch:
            data = ", ".join(self.names[d] for d in program.data) + ("," if len(program.data) == 1 else "")
            lines += [f"{'    ' * steps_loop}for {data} in samples:"]
        lines += [inner + line if line else "" for line in body]
        if batch:
            lines += self.batch_lines("    " * steps_loop)
        loss = "loss" if batch else self.names[program.loss]
        outputs = "outputs" if batch else "[(" + ", ".join(self.names[o] for o in program.outputs) + \
            ("," if len(program.outputs) == 1 else "") + ")]"
        record = [f"first_loss, first_outputs = {loss}, {outputs}"] + wrapped(
            "gradients = {", [f"{p!r}: {self.adjoint[p]}" for p in program.parameters], "}")
        if steps_loop:
            lines += ["    if step == 1:  # the Result table's values, at the initial parameters"]
            lines += ["        " + line for line in record] + [""]
            lines += ["    " + line if line else "" for line in self.update_lines()]
            head = ["for step in range(1, steps + 2):  # a pass more than the steps: the loss after the last one"]
            if batch:
                head.append("    losses, outputs, sample_gradients = [], [], []")
            lines = head + lines + ["", f"loss_after = {loss}"]
            lines += wrapped("updated = {", [f"{p!r}: {self.names[p]}" for p in program.parameters], "}")
        else:
            if batch:
                lines = ["losses, outputs, sample_gradients = [], [], []"] + lines
            lines += record
        return "\n".join(sections.head(self) + lines + [""] + sections.result(self)) + "\n"

    def sample_lines(self) -> list[str]:
        """One sample's forward pass, loss and backward pass (one pass of the step loop without a batch)."""
        program, names = self.program, self.names
        original = {eq.targets: eq for eq in self.problem.program.equations}
        hidden = self.fused.logs
        batch = self.problem.batch_size > 1
        lines = ["# Forward pass"]
        for eq in program.equations:
            if eq.target == program.loss:
                lines += ["", "# Loss"]
            target = ", ".join(names[t] for t in eq.targets)
            if eq.target in hidden:
                logged = ", ".join(names[hidden[t]] for t in eq.targets)
                lines += _comment(f"ln of {logged}, from the same arguments: {OPS[eq.expr.op].words}, as handprop "
                                  "and PyTorch's cross_entropy take them (exact even where an output rounds to 0)")
            elif eq.targets in original and original[eq.targets].expr != eq.expr:
                lines += _comment(f"{target} = {code(self.ops.value(original[eq.targets].expr))}, each ln taken "
                                  "from the logits:")
            lines.append(f"{target} = {code(self.ops.value(eq.expr))}")
        if batch:
            outputs = ", ".join(names[o] for o in program.outputs) + ("," if len(program.outputs) == 1 else "")
            lines += [f"losses.append({names[program.loss]})", f"outputs.append(({outputs}))"]
        if self.update is not None:
            after = "continue" if batch else "break"
            lines += ["if step > steps:", f"    {after}  # after the last step: its loss only"]
        loss = names[program.loss]
        lines += [""] + _comment(f"Backward pass: d{loss}_n is d{loss}/dn, from the loss back; each the chain "
                                 f"rule's sum, over the nodes m that read n, of d{loss}_m times m's local derivative "
                                 "dm/dn")
        previous = None
        position = {name: i for i, name in enumerate(program.nodes)}
        parameters = set(program.parameters)
        for name, expr, before in self.backward():
            if name in parameters and previous not in parameters:
                lines += ["", "# Gradients of the parameters"]
            elif previous is not None and name not in parameters and position[name] < position[previous]:
                lines.append("")  # the layer before
            if name in hidden and previous not in hidden:
                y = names[hidden[name]]
                more = ", and so on" if len(hidden) > 1 else ""
                lines += _comment(f"(d{loss}/d{y} would be {self.adjoint[name]} / {y}{more}: not needed, the "
                                  "gradient goes from the logs to the logits directly)")
            lines += before
            lines.append(f"{self.adjoint[name]} = {code(expr)}")
            previous = name
        if batch:
            lines += wrapped("sample_gradients.append((", [self.adjoint[p] for p in program.parameters], "))")
        return lines

    def batch_lines(self, indent: str) -> list[str]:
        """After a batch's samples: its mean loss, and its gradient, each parameter's mean over the samples."""
        adjoints = [self.adjoint[p] for p in self.program.parameters]
        lines = ["loss = mean(losses)  # the batch's loss: the mean of its samples' losses"]
        if self.update is not None:
            lines += ["if step > steps:", "    break"]
        lines += ["# the batch's gradient (of its mean loss): each parameter's mean over the samples"]
        lines += wrapped("", adjoints, " = [mean(column) for column in zip(*sample_gradients)]",
                          single=len(adjoints) == 1)
        return [indent + line for line in lines]

    def update_lines(self) -> list[str]:
        """The update, one line per parameter."""
        update, names = self.update, self.names
        frozen = self.problem.optimizer.frozen
        if update.plain:
            lines = ["# Update: gradient descent, theta = theta - lr * dL/dtheta, for each parameter"]
        else:
            lines = [f"# Update: {update.words}, one parameter at a time, with its state"]
        for p in self.program.parameters:
            if p in frozen:
                lines.append(f"# {names[p]} is frozen: never updated (its gradient is shown, as torch's)")
            elif update.plain:
                lines.append(f"{names[p]} = {names[p]} - lr * {self.adjoint[p]}")
            else:
                state = self.state.get(p, [])
                given = ", ".join([names[p], *state])
                lines.append(f"{given} = {self.problem.optimizer.name}({names[p]}, {self.adjoint[p]}"
                             f"{''.join(', ' + s for s in state)})")
        return lines


def _collect(ops: OpCode, eq, *, backward: bool) -> None:
    """Every op code an equation's forward (and backward) pass uses, so that what they need is defined."""
    expr = eq.expr
    ops.value(expr)
    if not backward:
        return
    if isinstance(expr, Apply) and OPS[expr.op].multi_output:
        args = [ops.value(arg) for arg in expr.args]
        ops.partials(expr, args, ast.Tuple([ast.Name(ops.names[t]) for t in eq.targets], ast.Load()))
        for arg, arg_code in zip(expr.args, args):
            ops.paths(arg, arg_code)
    else:
        ops.paths(expr, ast.Name(ops.names[eq.target]))


def _comment(text: str) -> list[str]:
    """A comment, wrapped to fit a line in the step loop."""
    import textwrap

    return textwrap.wrap(text, WIDTH - 8, initial_indent="# ", subsequent_indent="# ")


def _listed(items) -> str:
    items = list(items)
    return ", ".join(items) if len(items) <= 4 else f"{items[0]}, {items[1]}, ..., {items[-1]}"
