"""Checks of the user's values that know the file they report on."""

from __future__ import annotations

import math

from ..core.errors import HandpropError, one_of
from ..core.ops import settings_problem
from .files import describe

MAX_NAME_LENGTH = 100  # characters in a name: w12, hidden_1; a longer one is no name a derivation can show
MAX_SEED = 2**64 - 1  # as torch.manual_seed; a larger integer is no seed anyone chose


class Checker:
    """Validation helpers that know the file they report on."""

    def __init__(self, label: str):
        self.label = label

    def fail(self, where: str | None, what: str, expected: str | None = None) -> HandpropError:
        return HandpropError(self.label, where, what, expected)

    def table(self, value, where: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"is {describe(value)}", "a table")
        return value

    def keys(self, table: dict, where: str, known) -> None:
        for key in table:
            if key not in known:
                raise self.fail(f"{where}.{key}" if where else str(key), "unknown key", one_of(known, key))

    def number(self, value, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(where, f"is {describe(value)}", "a number")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self.fail(where, f"is {value!r}", "a finite number")
        return number

    def integer(self, value, where: str, low: int, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise self.fail(where, f"is {describe(value)}", f"a whole number {bound}")
        return value

    def seed(self, value, where: str) -> int:
        """A random seed: a whole number from 0 to 2**64 - 1."""
        seed = self.integer(value, where, 0)
        if seed > MAX_SEED:
            raise self.fail(where, f"is {describe(seed)}", "a whole number from 0 to 2**64 - 1")
        return seed

    def op_settings(self, op, given: dict, where: str) -> tuple:
        """An op's settings as given in a table (a layer's alpha = 0.2), checked; every setting of the op,
        defaults filled in, in the op table's order."""
        checked = {}
        for name, value in given.items():
            param = next((p for p in op.params if p.name == name), None)
            if param is None or param.choices:
                checked[name] = value
            else:
                checked[name] = self.number(value, f"{where}: {name}")
        problem = settings_problem(op, checked)
        if problem:
            name, what, expected = problem
            raise self.fail(f"{where}: {name}" if name else where, what, expected)
        return op.settings(checked)

    def text(self, value, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, f"is {describe(value)}", "text")
        return value

    def vector(self, value, where: str, length: int | None = None) -> list[float]:
        if not isinstance(value, list):
            raise self.fail(where, f"is {describe(value)}", "a list of numbers")
        numbers = [self.number(v, f"{where}: entry {i}") for i, v in enumerate(value, 1)]
        if length is not None and len(numbers) != length:
            raise self.fail(where, f"has {len(numbers)} entries", f"{length}")
        return numbers

    def samples(self, value, where: str, width: int, what: str) -> list[list[float]]:
        """One sample [..] or a list of samples [[..], [..]], each of `width` numbers."""
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            rows = [self.vector(v, f"{where}: sample {i}") for i, v in enumerate(value, 1)]
        elif isinstance(value, list) and not any(isinstance(v, list) for v in value):
            rows = [self.vector(value, where)]
        else:
            raise self.fail(where, f"is {describe(value)}", "a list of numbers, or a list of such lists, one per sample")
        for i, row in enumerate(rows, 1):
            if len(row) != width:
                place = where if len(rows) == 1 else f"{where}: sample {i}"
                raise self.fail(place, f"has {len(row)} value{'s' * (len(row) != 1)}",
                                f"{width}, one per {what}")
        return rows
