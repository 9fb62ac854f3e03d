"""How a number is written: fixed decimals for people, round-trip digits for machines."""

from __future__ import annotations

DEFAULT_DECIMALS = 4  # when neither the user nor the problem says


def fixed(value: float, decimals: int) -> str:
    """value at a fixed number of decimals; never '-0.00'.

    >>> fixed(-0.0001, 2), fixed(0.395, 2), fixed(2.0, 0)
    ('0.00', '0.40', '2')
    """
    if abs(value) >= 1e15:
        return f"{value:.{max(decimals, 1)}e}"  # a runaway value: its size, not 150 digits
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


def readable(value: float, decimals: int) -> str:
    r"""Fixed decimals, unless the value would show as zero: then in LaTeX's scientific form.

    >>> readable(0.25, 2), readable(1.5e-07, 2), readable(0.0, 2)
    ('0.25', '1.50 \\times 10^{-7}', '0.00')
    """
    if value == 0 or abs(value) >= 0.5 * 10 ** -decimals:
        return fixed(value, decimals)
    mantissa, exponent = f"{value:.{max(decimals, 1)}e}".split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def setting(value) -> str:
    r"""An optimizer's setting in LaTeX: 0.9, 10^{-8}, 3 \times 10^{-5}.

    >>> setting(0.9), setting(1e-08), setting(3e-05)
    ('0.9', '10^{-8}', '3 \\times 10^{-5}')
    """
    text = f"{value:g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else rf"{mantissa} \times {power}"
