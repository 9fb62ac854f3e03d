"""How a number is written: fixed decimals for people, round-trip digits for machines."""

from __future__ import annotations

DEFAULT_DECIMALS = 4  # when neither the user nor the problem says


def fixed(value: float, decimals: int) -> str:
    """value at a fixed number of decimals; never '-0.00'.

    >>> fixed(-0.0001, 2), fixed(0.395, 2), fixed(2.0, 0)
    ('0.00', '0.40', '2')
    """
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and text.strip("-0.") == "":
        text = text[1:]
    return text


def exact(value: float) -> str:
    """The shortest text that reads back as the same float."""
    return repr(float(value))


def given(value: float) -> str:
    """A value as the user gave it: 1 for 1.0, 0.26 for 0.26 (the shortest exact text).

    >>> given(1.0), given(0.26), given(-3e-07)
    ('1', '0.26', '-3e-07')
    """
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))
