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


def one_of(known, given: str | None = None) -> str:
    """'one of: a, b, c', with a suggestion of the closest when there is one; a long list is cut short.

    >>> one_of(["relu", "tanh"], "rleu")
    "did you mean 'relu'? one of: relu, tanh"
    >>> one_of([f"x{k}" for k in range(1, 1001)])[-28:]
    'x19, x20, ... (1,000 in all)'
    """
    import difflib  # only on the error path

    known = list(known)
    text = "one of: " + ", ".join(known[:LISTED]) + (f", ... ({len(known):,} in all)" if len(known) > LISTED else "")
    if given is not None:
        close = difflib.get_close_matches(str(given), known, n=1, cutoff=0.6)
        if close:
            text = f"did you mean '{close[0]}'? " + text
    return text
