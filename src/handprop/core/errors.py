"""The one error type handprop raises for bad input.

Every problem with a user's file, text or options becomes a HandpropError that
knows the file, the place in it, what is wrong and what was expected. Only the
command line turns it into a line on standard error and exit status 2.
"""

from __future__ import annotations




class HandpropError(Exception):
    """Bad input: names the file, the place, the problem and the expectation.

    >>> str(HandpropError("hw.toml", "network.loss", "unknown loss 'mse2'", "one of: mse"))
    "hw.toml: network.loss: unknown loss 'mse2' (one of: mse)"
    """

    def __init__(self, file: str | None, where: str | None, what: str, expected: str | None = None):
        self.file = file
        self.where = where
        self.what = what
        self.expected = expected
        super().__init__(self.line())

    def line(self) -> str:
        parts = [p for p in (self.file, self.where) if p]
        text = ": ".join(parts + [self.what])
        if self.expected:
            text += f" ({self.expected})"
        # One line, whatever the user's text contained.
        return " ".join(text.split())

    def located(self, *, file: str | None = None, where: str | None = None) -> "HandpropError":
        """The same error with the file or place filled in where it was missing."""
        return HandpropError(self.file or file, self.where or where, self.what, self.expected)


LISTED = 20  # names an error lists at most: beyond them it says how many there are


def one_of(known, given: str | None = None, *, synonyms: dict | None = None) -> str:
    """'one of: a, b, c', with a suggestion of what was meant when there is one; a long list is cut short.

    >>> one_of(["relu", "tanh"], "rleu")
    "did you mean 'relu'? one of: relu, tanh"
    >>> one_of([f"x{k}" for k in range(1, 1001)])[-28:]
    'x19, x20, ... (1,000 in all)'
    """
    known = list(known)
    text = "one of: " + ", ".join(known[:LISTED]) + (f", ... ({len(known):,} in all)" if len(known) > LISTED else "")
    meant = closest(known, given, synonyms=synonyms) if given is not None else None
    return f"did you mean '{meant}'? " + text if meant else text


_SEPARATORS = str.maketrans("", "", "_- ")


def _folded(text: str) -> str:
    """A name as people vary it: case, and _ - or a space between words (HardTanh, hard-tanh, hard_tanh)."""
    return text.casefold().translate(_SEPARATORS)


def closest(known, given, *, synonyms: dict | None = None) -> str | None:
    """The known name that was plausibly meant, by meaning as well as spelling, or None: the same name in
    another case or with other separators; a synonym (synonyms: another name -> a known one, as maximum -> max);
    else one spelled nearly alike that is either of about the same length or begins with what was written (an
    abbreviation, sigm for sigmoid). So max never suggests softmax, a longer name that merely ends the same way.

    >>> closest(["relu", "softmax"], "ReLU"), closest(["max", "softmax"], "maximum", synonyms={"maximum": "max"})
    ('relu', 'max')
    >>> closest(["relu", "softmax"], "max") is None, closest(["sigmoid", "silu"], "sigm")
    (True, 'sigmoid')
    """
    import difflib  # only on the error path

    known = [str(k) for k in known]
    given = str(given)
    target = _folded(given)
    # A list may be long (the columns of a wide data file): each name costs a few calls of C functions here.
    for name in known:
        if name.casefold().translate(_SEPARATORS) == target:
            return name
    for alias, name in (synonyms or {}).items():
        if _folded(alias) == target and name in known:
            return name
    size = len(given)
    lengths = {n for n in range(size + max(2, size // 2) + 1) if abs(n - size) <= max(2, min(n, size) // 2)}
    alike = [name for name in known if len(name) in lengths
             or size >= 3 and name.casefold().translate(_SEPARATORS).startswith(target)]
    close = difflib.get_close_matches(given, alike, n=1, cutoff=0.6)
    return close[0] if close else None


# -- the API's arguments: checked as the command line checks its options, each a HandpropError -----------------

MAX_DECIMALS = 15  # beyond this a float has no more digits to show


def check_choice(value, choices, where: str) -> None:
    """value is one of choices.

    >>> check_choice("docx", ("markdown", "html"), "format")
    Traceback (most recent call last):
    ...
    handprop.core.errors.HandpropError: format: is 'docx' (one of: markdown, html)
    """
    if not isinstance(value, str) or value not in choices:
        raise HandpropError(None, where, f"is {value!r}", one_of(choices, value if isinstance(value, str) else None))


def check_whole(value, where: str, low: int, high: int | None = None, *, optional: bool = True) -> None:
    """value is a whole number from low to high (None allowed when optional)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"of {low} or more"
        raise HandpropError(None, where, f"is {value!r}", f"a whole number {span}")


def check_decimals(value, where: str = "decimals") -> None:
    check_whole(value, where, 0, MAX_DECIMALS)


def check_instance(value, kind: type, where: str, expected: str) -> None:
    if not isinstance(value, kind):
        raise HandpropError(None, where, f"is {described(value)}", expected)


def described(value) -> str:
    """A value as an error names it: None, or its type and the start of its repr."""
    return "None" if value is None else f"{type(value).__name__} {value!r:.60}"


def check_problem(problem, where: str = "problem") -> None:
    """problem is a Problem (by the fields it holds, never its program, which is written out when first read;
    the check must not import the problem package)."""
    if not all(hasattr(problem, name) for name in ("parameters", "optimizer", "source", "batch_size")):
        raise HandpropError(None, where, f"is {described(problem)}",
                            "a Problem, as handprop.load, from_layers and from_equations make")
