"""How a number is written: fixed decimals for people, round-trip digits for machines.

Every number shown rounded goes through fixed (or readable, scientific, which use it): the shortest decimal
that reads back as the float (repr), rounded half away from zero, as a person does (core/rounding.py holds
the rule; docs/numerics.md shows it).
"""

from __future__ import annotations

import math
from functools import lru_cache

from ..core.rounding import hand_significant, hand_text

DEFAULT_DECIMALS = 4  # when neither the user nor the problem says


def fixed(value: float, decimals: int) -> str:
    """value at a fixed number of decimals, half away from zero on its repr; never '-0.00'.

    >>> fixed(-0.0001, 2), fixed(0.395, 2), fixed(2.0, 0), fixed(0.125, 2), fixed(-0.475, 2), fixed(2.5, 0)
    ('0.00', '0.40', '2', '0.13', '-0.48', '3')
    """
    return _fixed(value, decimals)


@lru_cache(maxsize=65536)  # a page shows each value in its table, its diagram and its derivation
def _fixed(value: float, decimals: int) -> str:
    if not math.isfinite(value):
        return f"{value}"
    if abs(value) >= 1e15:
        return scientific(value, max(decimals, 1))  # a runaway value: its size, not 150 digits
    shortest = repr(value)
    point = shortest.find(".")
    if point >= 0 and len(shortest) - point > decimals + 2 and "e" not in shortest:
        # More digits than decimals + 1: neither the repr nor the double is a tie, and no tie lies between
        # them (else it would be a shorter repr), so the double's correctly rounded text is the repr's.
        text = f"{value:.{decimals}f}"
        return text[1:] if text[0] == "-" and not text.strip("-0.") else text
    negative, text = hand_text(value, decimals)
    return "-" + text if negative and text.strip("0.") else text


def scientific(value: float, decimals: int) -> str:
    """value as d.dd...e±NN with decimals digits after the point, half away from zero on its repr.

    >>> scientific(1.25e20, 1), scientific(-1.5e-07, 0), scientific(0.0, 2)
    ('1.3e+20', '-2e-07', '0.00e+00')
    """
    if not math.isfinite(value) or value == 0:
        return f"{value:.{decimals}e}"
    negative, text, exponent = hand_significant(value, decimals)
    return f"{'-' if negative else ''}{text}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def significant(value: float, digits: int = 6) -> str:
    """value to digits significant digits, as format's "g" writes it (no trailing zeros, an exponent when
    very large or small), half away from zero on its repr.

    >>> significant(0.5), significant(0.1234565), significant(2.5, 1), significant(1.5e-07), significant(-100.0)
    ('0.5', '0.123457', '3', '1.5e-07', '-100')
    """
    if not math.isfinite(value) or value == 0:
        return f"{value:g}"
    negative, mantissa, exponent = hand_significant(value, digits - 1)
    if -4 <= exponent < digits:
        text = hand_text(value, digits - 1 - exponent)[1]
    else:
        text = mantissa
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if not -4 <= exponent < digits:
        text += f"e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    return "-" + text if negative else text


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
    text = fixed(value, decimals)
    if value == 0 or text.strip("-0.") or not math.isfinite(value):
        return text
    mantissa, exponent = scientific(value, max(decimals, 1)).split("e")
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
