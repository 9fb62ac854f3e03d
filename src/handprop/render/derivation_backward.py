"""The backward half of the worked solution: the chain rule, every parameter's gradient, the update.

For each node n, from the loss back: dL/dn = sum over the nodes m that use n of
(dL/dm)(dm/dn), written in symbols, with each local derivative dm/dn in symbols,
with the numbers, and as a value. Numbers are the engine's: adjoints and local
partials from the trace, never recomputed here.
"""

from __future__ import annotations

import math
import re
from functools import cached_property

from ..core.functions import LONG_SUM, summed_latex
from ..core.ops import OPS
from ..core.program import Apply
from ..core.symbolic import JacobianRow
from ..problem.layered import LOSSES
from .document import Chain, Math, Paragraph, Section
from .mathtex import name_latex, partial, to_latex


def chain(lhs: str, steps: list[str], anchor: str | None = None) -> Chain:
    """lhs = step = step ..., with a step that repeats the one before it left out."""
    kept: list[str] = []
    for step in steps:
        if step != (kept[-1] if kept else lhs):
            kept.append(step)
    return Chain(lhs, tuple(kept), anchor)


def bracketed(text: str) -> str:
    """A number or expression as a factor: in brackets when it starts with a minus."""
    if not text.startswith("-"):
        return text
    return rf"\left({text}\right)" if r"\frac" in text else f"({text})"


def slug(name: str) -> str:
    """A name as an HTML anchor: W1[2,3] -> W1-2-3; a name's later versions apart: c' -> c-prime1,
    c^(3) -> c-prime3."""
    name = re.sub(r"\^\((\d+)\)$", r" prime\1", name)
    name = re.sub(r"('+)$", lambda m: f" prime{len(m.group(1))}", name)
    return "-".join("".join(c if c.isalnum() else " " for c in name).split()) or "node"


def loss_parts(loss: str) -> tuple:
    """A layered network's loss as a paragraph's parts: its words, and its formula set as maths.

    >>> loss_parts("cross_entropy")
    ('cross-entropy, ', Math(latex='-\\\\sum_j t_j \\\\ln y_j'))
    """
    spec = LOSSES[loss]
    parts: tuple = (f"{spec.words}, ", Math(spec.formula))
    if "{n}" in spec.formula:  # a mean over the outputs
        parts += (", with ", Math("n"), " the number of outputs")
    return parts


def _factor(expr, **options) -> str:
    text = to_latex(expr, **options)
    if isinstance(expr, Apply) and expr.op in ("add", "sub"):
        return rf"\left({text}\right)"
    return bracketed(text)


def _has_step(expr) -> bool:
    """Whether a local derivative holds a derivative op (u(h), u_alpha(h), sign(h)): shown by its value, not
    as u(0.49)."""
    return isinstance(expr, Apply) and (OPS[expr.op].derivative_of is not None or any(map(_has_step, expr.args)))


class BackwardSections:
    """Mixed into the derivation builder; uses its program, trace, symbols, readers and formatting."""

    def local_numbers(self, reader: str, name: str) -> str:
        """dreader/dname with the numbers put in: its symbols with values, or its value for a step function."""
        local = self.symbols[reader][name]
        if _has_step(local) or not isinstance(local, Apply):
            return bracketed(self.n(self.trace.partials[reader][name]))
        return _factor(local, values=self.trace.values, decimals=self.decimals)

    def node_chain(self, name: str, lhs_loss: str | None = None) -> Chain:
        """dL/dname by the chain rule, from symbols to value. A sum of more than LONG_SUM terms (a softmax's
        logit, read by every output) is summarised: its terms whose dL/dm is 0 (a zero target's output) folded
        into one brace that counts them, the rest as the first two, a cdots and the last; only the terms shown
        are written, so that the document grows as the network does, not as its square."""
        loss = self.loss
        readers = [m for m in self.readers.get(name, ()) if m in self.trace.partials]
        if not readers:
            return chain(lhs_loss or partial(loss, name), ["0", self.n(self.trace.adjoints[name])],
                         f"grad-{slug(name)}")
        long = len(readers) > LONG_SUM
        shown = _ends(readers) if long else readers
        nonzero = [m for m in readers if m == loss or self.trace.adjoints[m] != 0] if long else readers
        zeros = len(readers) - len(nonzero)
        counted = nonzero if len(nonzero) <= LONG_SUM else _ends(nonzero)
        made = {m: self.term(m, name) for m in dict.fromkeys(shown + counted)}
        general, local = [made[m][0] for m in shown], [made[m][1] for m in shown]
        numbers = [made[m][2] for m in counted]
        number_sum = _sum(numbers if len(nonzero) <= LONG_SUM else [*numbers[:2], r"\cdots", numbers[-1]])
        if zeros:
            brace = rf"\underbrace{{0 + \cdots + 0}}_{{{zeros}\ \text{{terms}}}}" if zeros > 1 else "0"
            number_sum = f"{number_sum} + {brace}" if numbers else brace
        if long:
            general, local = ([*terms[:2], r"\cdots", terms[-1]] for terms in (general, local))
        if any(not math.isfinite(self.trace.adjoints[m]) for m in counted if m != loss):
            number_sum = None  # a term of no finite number (an underflowed softmax output's): see the note
        steps = [" + ".join(general), " + ".join(local), number_sum, self.n(self.trace.adjoints[name])]
        return chain(lhs_loss or partial(loss, name), [step for step in steps if step is not None],
                     f"grad-{slug(name)}")

    def unbounded_note(self, name: str) -> Paragraph:
        """A node whose gradient is no number a float holds: a softmax output that underflowed to 0, whose
        -t/y the engine never forms (it takes the log from the logits and the gradient to them directly)."""
        loss = self.loss
        symbol = to_latex(self.symbols[loss][name]) if name in self.symbols.get(loss, {}) else None
        formula = [Math(partial(loss, name) + (f" = {symbol}" if symbol else "")), " "] if symbol else []
        return Paragraph(("Here ", *formula, "is no number a float can hold: ", Math(name_latex(name)),
                          f" = {self.n(self.trace.values[name])} (its exponential underflowed). The engine never "
                          "forms it: it takes the logarithm of a softmax output from the logits, ",
                          Math(r"\ln y_j = o_j - \ln \sum_k e^{o_k}"),
                          ", and the loss's gradient to the logits directly, as below."))

    def term(self, m: str, name: str) -> tuple[str, str, str]:
        """The chain rule's term through reader m: in general, with m's local derivative, with the numbers."""
        loss, symbol = self.loss, self.symbols[m][name]
        if m == loss:
            numbers = (to_latex(symbol, values=self.trace.values, decimals=self.decimals)
                       if not _has_step(symbol) else self.n(self.trace.partials[m][name]))
            return partial(loss, name), to_latex(symbol), numbers
        is_one = to_latex(symbol) == "1"
        return (partial(loss, m) + " " + partial(m, name),
                partial(loss, m) + ("" if is_one else " " + _factor(symbol)),
                bracketed(self.n(self.trace.adjoints[m])) + ("" if is_one else r" \cdot " + self.local_numbers(m, name)))

    def backward_section(self) -> Section:
        loss = self.loss
        intro = [Paragraph(("By the chain rule, from the loss back to the inputs: for each node ",
                            Math("n"), ", ", Math(rf"\frac{{\partial {name_latex(loss)}}}{{\partial n}} = \sum_{{m}} "
                                                  rf"\frac{{\partial {name_latex(loss)}}}{{\partial m}}"
                                                  r"\frac{\partial m}{\partial n}"),
                            ", summed over the nodes ", Math("m"), " whose equations use ", Math("n"), "." +
                            (f" These are the derivatives of sample {self.k + 1}'s loss." if self.batch > 1 else "")))]
        intro.extend(self.convention_notes())
        blocks = [chain(partial(loss, loss), ["1"], f"grad-{slug(loss)}")]
        subsections = []
        for target in self.backward_order():
            body = [self.unbounded_note(target) if not math.isfinite(self.trace.adjoints[target])
                    else self.node_chain(target)]
            body.extend(self.softmax_cross_entropy_note(target))
            subsections.append(Section((Math(partial(loss, target)),), f"backward-{slug(target)}", tuple(body),
                                       level=3))
        return Section(("Backward pass",), "backward", tuple(intro + blocks + subsections))

    def backward_order(self) -> list[str]:
        """Nodes from the loss back, layer by layer (a node's layer: one more than the deepest it reads),
        each layer in the order written: y1, y2, then o1, o2, then a1, a2, a3, ..."""
        layer: dict[str, int] = {}
        for eq in self.program.equations:
            depth = 1 + max((layer.get(name, 0) for name in self.symbols[eq.target]), default=0)
            for target in eq.targets:
                layer[target] = depth
        position = {name: i for i, name in enumerate(self.program.nodes)}
        nodes = [n for n in self.program.nodes if n != self.loss]
        return sorted(nodes, key=lambda n: (-layer[n], position[n]))

    @property
    def step_values(self) -> dict:
        """The derivative ops (u(h), u_alpha(h), sign(h)) as they appear in local derivatives, mapped to their
        recorded values."""
        known = {}
        for reader, row in self.symbols.items():
            if isinstance(row, JacobianRow):
                continue  # a multi-output op's Jacobian, written in its outputs: no step function in it
            for name, local in row.items():
                if isinstance(local, Apply) and OPS[local.op].derivative_of is not None:
                    known[local] = self.trace.partials[reader][name]
        return known

    def convention_notes(self) -> list[Paragraph]:
        used = {eq.expr.op for eq in self.program.equations if isinstance(eq.expr, Apply)}
        for eq in self.program.equations:
            stack = [eq.expr]
            while stack:
                expr = stack.pop()
                if isinstance(expr, Apply):
                    used.add(expr.op)
                    stack.extend(expr.args)
        # Each op's convention, as the op table states it: text with $mathematics$ in it, in the table's order.
        notes = []
        for name, op in OPS.items():
            if name in used and op.note:
                pieces = op.note.split("$")
                notes.append(Paragraph(tuple(Math(piece) if i % 2 else piece for i, piece in enumerate(pieces)
                                             if piece)))
        return notes

    @cached_property
    def softmax_ce_parts(self) -> tuple | None:
        """Where softmax meets cross-entropy: logit -> (its output, its target), the targets' sum, and that sum
        written out; made once, as every logit's note reads them."""
        if self.softmax_ce is None:
            return None
        softmax, pairs = self.softmax_ce
        outputs = {arg.name: (y, pairs[y]) for arg, y in zip(softmax.expr.args, softmax.targets)}
        targets = [pairs[out] for out in softmax.targets]
        return outputs, sum(self.trace.values[n] for n in targets), summed_latex([name_latex(n) for n in targets])

    def softmax_cross_entropy_note(self, name: str) -> list:
        parts = self.softmax_ce_parts
        if parts is None or name not in parts[0]:
            return []
        outputs, total, sum_text = parts
        y, t = outputs[name]
        values = self.trace.values
        if total == 1:
            symbols, numbers = rf"{name_latex(y)} - {name_latex(t)}", rf"{self.n(values[y])} - {bracketed(self.n(values[t]))}"
            why = ["Where softmax meets cross-entropy the sum simplifies: since ", Math(f"{sum_text} = 1"),
                   " here, ", Math(partial(self.loss, name) + rf" = {name_latex(y)}({sum_text}) - {name_latex(t)}"
                                   rf" = {name_latex(y)} - {name_latex(t)}"), "."]
        else:
            symbols = rf"{name_latex(y)}\left({sum_text}\right) - {name_latex(t)}"
            numbers = rf"{self.n(values[y])} \cdot {bracketed(self.n(total))} - {bracketed(self.n(values[t]))}"
            why = ["Where softmax meets cross-entropy the sum simplifies to ",
                   Math(partial(self.loss, name) + " = " + symbols), "; it is ",
                   Math(rf"{name_latex(y)} - {name_latex(t)}"), " only when the targets sum to 1, and here ",
                   Math(f"{sum_text} = {self.n(total)}"), "."]
        return [Paragraph(tuple(why)),
                chain(partial(self.loss, name), [symbols, numbers, self.n(self.trace.adjoints[name])])]

    def gradient_section(self) -> Section:
        subsections = []
        mean = self.mean_name() if self.batch > 1 else name_latex(self.loss)
        for name in self.program.parameters:
            body: list = [self.node_chain(name)]
            if name in self.expanded:
                expanded = self.expanded[name]
                body.append(Paragraph(("Written out in full:",)))
                numbers = to_latex(expanded, values=self.trace.values, decimals=self.decimals, known=self.step_values)
                body.append(chain(partial(self.loss, name), [to_latex(expanded), numbers,
                    self.n(self.trace.adjoints[name])], f"expanded-{slug(name)}"))
            if self.batch > 1:
                per_sample = [t.adjoints[name] for t in self.solution.traces]
                body.append(chain(rf"\frac{{\partial {mean}}}{{\partial {name_latex(name)}}}", [
                    rf"\frac{{1}}{{{self.batch}}} \sum_{{k=1}}^{{{self.batch}}} "
                    rf"\frac{{\partial {name_latex(self.loss)}^{{(k)}}}}{{\partial {name_latex(name)}}}",
                    rf"\frac{{1}}{{{self.batch}}}\left({_sum([bracketed(self.n(g)) for g in per_sample])}\right)",
                    self.n(self.solution.parameters[name].gradient)], f"mean-{slug(name)}"))
            subsections.append(Section((Math(name_latex(name)),), f"param-{slug(name)}", tuple(body), level=3))
        intro = [Paragraph(("Each parameter's gradient is the chain rule once more, through the nodes that use it." +
                            (f" For a batch, sample {self.k + 1}'s gradient is shown, then the mean over the "
                             f"{self.batch} samples." if self.batch > 1 else ""),))]
        return Section(("Gradients of the parameters",), "gradients", tuple(intro + subsections))


    def inputs_section(self) -> Section:
        """The gradient of every data value (inputs, targets, constants) of the sample shown, by the chain rule,
        as for any node: dL/dx through the nodes that read x."""
        subsections = []
        for name in self.program.data:
            body = [self.node_chain(name)]
            if self.batch > 1:
                body.append(Paragraph(("This is sample ", str(self.k + 1), "'s loss's gradient; the gradient of the "
                                       "batch's mean loss divides it by ", str(self.batch), "."),))
            subsections.append(Section((Math(name_latex(name)),), f"input-{slug(name)}", tuple(body), level=3))
        intro = [Paragraph(("The data are fixed, but the loss depends on them as on anything it reads: each data "
                            "value's gradient is the chain rule through the nodes that use it.",))]
        return Section(("Gradients of the inputs",), "inputs", tuple(intro + subsections))


def _ends(items: list) -> list:
    """A long list's first two and last items: what a summarised sum shows."""
    return [*items[:2], items[-1]] if len(items) > 3 else items


def _sum(terms: list[str]) -> str:
    """Terms joined with + and -, a term's own minus taking the place of the plus."""
    text = ""
    for term in terms:
        negative_number = term.startswith("(-") and term.endswith(")") and term.count("(") == 1 and r"\cdot" not in term
        if not text:
            text = term[1:-1] if negative_number else term
        elif negative_number:
            text += " - " + term[2:-1]
        else:
            text += " + " + term
    return text


def precision_note(solution, decimals: int) -> str:
    """What a worked solution says first: the decimals its numbers are shown to and carried at, or that it is
    worked out as by hand, every value rounded before it is used."""
    if solution.rounding is not None:
        k = solution.rounding
        return (f"Worked out as by hand with a calculator: every intermediate value is rounded to {k} "
                f"decimal{'s' * (k != 1)} before it is used, and the next computed from the rounded ones.")
    return (f"Numbers are shown to {decimals} decimal{'s' * (decimals != 1)} but carried at full precision: each "
            "value is computed from the unrounded values before it.")
