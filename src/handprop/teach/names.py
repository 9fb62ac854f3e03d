"""What a student writes -> the quantity it names: out1, loss, dL/dw1, w1', h1, dL/dh1, and other spellings.

A Quantity is one answer a student can give; label() writes its canonical name; Names resolves a written
name (y1, dw1, grad_w1, w1_new, updated_w1, $w_{10}$, ∂L/∂w1, "h1 (sample 2)") for one problem, with the
closest known name suggested for an unknown one.
"""

from __future__ import annotations

import difflib
import re
from ..core.frozen import dataclass

from ..core.errors import HandpropError
from ..render.mathtex import GREEK  # the Greek letters a key writes for names spelled out

KINDS = ("value", "node_gradient", "gradient", "updated", "loss", "loss_after")
_SAMPLE = re.compile(r"\s*\(sample (\d+)\)$")


@dataclass(frozen=True, order=True)
class Quantity:
    """One answer a student can give: a node's value or gradient, a parameter's gradient or updated value,
    the loss, or the loss after the update. sample is 0-based (0 for a single sample)."""

    kind: str
    name: str = ""
    sample: int = 0


def label(quantity: Quantity, problem) -> str:
    """The canonical name of a quantity: out1, loss, loss', dL/dw1, w1', h1, dL/dh1 (and ' (sample k)').

    >>> from handprop import load
    >>> label(Quantity("gradient", "w1"), load("homework")), label(Quantity("value", "y2"), load("homework"))
    ('dL/dw1', 'out2')
    """
    program = problem.program
    kind, name = quantity.kind, quantity.name
    if kind == "loss":
        return "loss"
    if kind == "loss_after":
        return "loss'"
    if kind == "gradient":
        return f"dL/d{name}"
    if kind == "updated":
        return f"{name}'"
    text = f"dL/d{name}" if kind == "node_gradient" else (
        f"out{program.outputs.index(name) + 1}" if name in program.outputs else name)
    return text + (f" (sample {quantity.sample + 1})" if problem.batch_size > 1 else "")


def clean_name(text: str) -> str:
    r"""A name as a student or the key writes it, in handprop's spelling.

    >>> clean_name(r"$\mathit{Wih}^{[1]}_{1,1}$"), clean_name("$y_{1,1}$"), clean_name(r"$\alpha^{[1]}_{1,2,1}$")
    ('Wih1[1,1]', 'y[1,1]', 'alpha1[1,2,1]')
    """
    text = text.strip().strip("`*").strip().strip("$").strip()
    text = text.replace("\u2033", "''").replace("\u2032", "'").replace("\u2019", "'").replace("\u2202", "d")
    text = text.replace("\\partial", "d")
    text = re.sub(r"\^\{\((\d+)\)\}", r"^(\1)", text)  # c^{(3)}, a name's third version, as the key writes c^(3)
    text = text.replace("\\mathcal{L}", "L").replace("\\mathcal L", "L").replace("\\prime", "'")
    text = re.sub(r"\\text\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\mathit\{([^{}]*)\}", r"\1", text)  # \mathit{Wih} -> Wih, a name of several letters
    text = re.sub(r"\\(" + "|".join(sorted(GREEK, key=len, reverse=True)) + r")(?![A-Za-z])", r"\1", text)  # \alpha -> alpha
    text = re.sub(r"\^\{\[(\d+)\]\}_\{([^{}]*)\}", r"\1[\2]", text)  # W^{[1]}_{1,2} -> W1[1,2], as the key writes it
    text = re.sub(r"_\{([^{}]*,[^{}]*)\}", r"[\1]", text)  # y_{1,2} -> y[1,2]: indices, as a grid's names
    text = re.sub(r"_\{([^{}]*)\}", r"\1", text)  # w_{10} -> w10
    text = re.sub(r"(?<=[A-Za-z])_(?=\d)", "", text)  # w_1 -> w1
    text = re.sub(r"\^\{?'\}?", "'", text)
    return " ".join(text.split())


class Names:
    """Resolves what a student wrote to a Quantity, for one problem."""

    def __init__(self, problem, file: str):
        self.problem = problem
        self.file = file
        program = problem.program
        self.batch = problem.batch_size
        self.parameters = set(program.parameters)
        self.nodes = [n for n in program.nodes if n != program.loss]
        self.data = list(program.data)  # given by the problem; their gradients dL/dx are answers
        self.loss = program.loss
        self.outputs = program.outputs

    def fail(self, line: int, what: str, expected: str | None = None) -> HandpropError:
        return HandpropError(self.file, f"line {line}", what, expected)

    def base(self, text: str) -> str | None:
        """A parameter or node name (or out1, loss), matched exactly, else ignoring case when unambiguous."""
        known = list(self.parameters) + self.data + self.nodes + [self.loss, "loss"] + [
            f"out{j}" for j in range(1, len(self.outputs) + 1)]
        if text in known:
            return text
        folded = [k for k in known if k.casefold() == text.casefold()]
        if len(folded) == 1:
            return folded[0]
        indexed = re.fullmatch(r"([A-Za-z]+)(\d+)", text)  # o1 for the layered naming's o[1] (the key's o_{1})
        if indexed and f"{indexed.group(1)}[{indexed.group(2)}]" in known:
            return f"{indexed.group(1)}[{indexed.group(2)}]"
        return None

    def spellings(self) -> list[str]:
        """Every canonical name, for suggestions."""
        names = ["loss", "loss'"] + [f"out{j}" for j in range(1, len(self.outputs) + 1)]
        names += [f"dL/d{p}" for p in self.parameters] + [f"{p}'" for p in self.parameters]
        names += self.nodes + [f"dL/d{n}" for n in self.nodes + self.data]
        return sorted(names)

    def unknown(self, line: int, written: str) -> HandpropError:
        close = difflib.get_close_matches(clean_name(written), self.spellings(), n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return self.fail(line, f"unknown name '{written.strip()[:60]}'",
                         hint + "a name such as out1, loss, dL/dw1, w1', h1 or dL/dh1")

    def sample(self, text: str, line: int) -> tuple[str, int | None]:
        match = _SAMPLE.search(text)
        if not match:
            return text, None
        k = int(match.group(1))
        if not 1 <= k <= self.batch:
            raise self.fail(line, f"sample {k} does not exist", f"1 to {self.batch}")
        return text[:match.start()], k - 1

    def is_output_name(self, base: str) -> bool:
        return base not in self.nodes and re.fullmatch(r"out\d+", base) is not None

    def node(self, base: str, sample: int | None, line: int, written: str) -> str:
        """The node a base names (out1 -> its output node), with a sample required for a batch."""
        if sample is None and self.batch > 1:
            raise self.fail(line, f"'{written.strip()}' names no sample of the batch",
                            f"'{written.strip()} (sample 1)' to '... (sample {self.batch})'")
        return self.outputs[int(base[3:]) - 1] if self.is_output_name(base) else base

    def resolve(self, written: str, line: int) -> tuple[Quantity, str]:
        """A name written in a name,value row -> (quantity, its canonical label)."""
        text, sample = self.sample(clean_name(written), line)
        k = sample or 0
        base = self.base(text)
        if base is not None:
            return self.value_of(base, sample, line, written)
        for pattern in (r"dL/d(.+)", r"dL_d(.+)", r"grad_(.+)", r"d(.+)"):
            match = re.fullmatch(pattern, text)
            inner = self.base(match.group(1)) if match else None
            if inner is None or inner in ("loss", self.loss):
                continue
            if inner in self.parameters:
                if sample is not None:
                    raise self.fail(line, "a parameter's gradient is of the batch, not of one sample",
                                    f"dL/d{inner} without (sample k)")
                return Quantity("gradient", inner), f"dL/d{inner}"
            node = self.node(inner, sample, line, written)
            return Quantity("node_gradient", node, k), label(Quantity("node_gradient", node, k), self.problem)
        for pattern in (r"(.+)'", r"(.+)_new", r"updated_(.+)", r"new_(.+)"):
            match = re.fullmatch(pattern, text)
            inner = self.base(match.group(1)) if match else None
            if inner in self.parameters:
                return Quantity("updated", inner), f"{inner}'"
            if inner == "loss" or (inner == self.loss and self.batch == 1):
                return Quantity("loss_after"), "loss'"
        raise self.unknown(line, written)

    def value_of(self, base: str, sample: int | None, line: int, written: str) -> tuple[Quantity, str]:
        if base == "loss" or (base == self.loss and self.batch == 1):
            return Quantity("loss"), "loss"
        if base in self.parameters:
            raise self.fail(line, f"{base} alone is its initial value, which the problem gives",
                            f"dL/d{base} for its gradient, {base}' for its value after the update")
        if base in self.data:
            raise self.fail(line, f"{base} alone is a value the problem gives", f"dL/d{base} for its gradient")
        node = self.node(base, sample, line, written)
        quantity = Quantity("value", node, sample or 0)
        shown = label(quantity, self.problem) if self.is_output_name(base) else base
        return quantity, shown + (f" (sample {quantity.sample + 1})" if self.batch > 1 and shown == base else "")

    def table_cell(self, row_name: str, column: str, line: int) -> tuple[Quantity, str] | None:
        """A Result-table cell -> its quantity; None for a parameter's initial value (given)."""
        text, sample = self.sample(clean_name(row_name), line)
        base = self.base(text)
        if base is None:
            self.resolve(row_name, line)  # unknown: says so, with the closest name
            raise self.fail(line, f"'{row_name.strip()}' is not a row of the Result table",
                            "a row named by its output, the loss, a parameter or a node (w1, not dL/dw1)")
        if base in self.parameters:
            if column == "initial":
                return None
            quantity = Quantity("gradient" if column == "gradient" else "updated", base)
            return quantity, label(quantity, self.problem)
        if base in self.data:  # an input, target or constant: its value is given, its gradient an answer
            if column == "initial":
                return None
            if column != "gradient":
                raise self.fail(line, f"{base} is given by the problem and never updated", f"dL/d{base} only")
            quantity = Quantity("node_gradient", self.node(base, sample, line, row_name), sample or 0)
            return quantity, label(quantity, self.problem)
        if base == "loss" or (base == self.loss and (self.batch == 1 or column == "updated")):
            if column == "gradient" and base == self.loss:  # dL/dL, as a table with --nodes writes it
                quantity = Quantity("node_gradient", self.loss, sample or 0)
                return quantity, label(quantity, self.problem)
            if column == "gradient":
                raise self.fail(line, "a value in the loss's gradient column",
                                "the loss (initial) and the loss after the update (updated)")
            return (Quantity("loss"), "loss") if column == "initial" else (Quantity("loss_after"), "loss'")
        quantity, shown = self.value_of(base, sample, line, row_name)
        if column == "gradient":
            quantity = Quantity("node_gradient", quantity.name, quantity.sample)
            return quantity, label(quantity, self.problem)
        return quantity, shown
