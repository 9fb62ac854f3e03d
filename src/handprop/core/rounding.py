"""Rounding as a person with a calculator rounds: half away from zero, on the number as written.

The one rule for every number handprop shows and for rounding by hand (docs/numerics.md): repr gives the
shortest decimal that reads back as the float, which is what a calculator shows, so 0.125 rounds to 0.13 at 2
decimals (Python's round and format give 0.12, and 2.675 gives 2.67 because the float is a hair below 2.675; a
person writing 2.675 gets 2.68), and 0.1 + 0.2 = 0.30000000000000004 rounds from those digits.
"""

from __future__ import annotations

import math


def _digits(value: float) -> tuple[bool, str, str]:
    """(negative, whole digits, fraction digits) of repr(value), written out without an exponent."""
    text = repr(float(value))
    negative = text[0] == "-"
    if negative:
        text = text[1:]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    if not exponent:
        return negative, whole, fraction
    digits, point = whole + fraction, len(whole) + int(exponent)
    if point <= 0:
        return negative, "0", "0" * -point + digits
    if point >= len(digits):
        return negative, digits + "0" * (point - len(digits)), ""
    return negative, digits[:point], digits[point:]


def hand_text(value: float, decimals: int) -> tuple[bool, str]:
    """(negative, unsigned text) of value rounded to decimals places, half away from zero on its repr.

    >>> hand_text(0.125, 2), hand_text(-0.475, 2), hand_text(2.5, 0), hand_text(0.1 + 0.2, 16)
    ((False, '0.13'), (True, '0.48'), (False, '3'), (False, '0.3000000000000000'))
    """
    negative, whole, fraction = _digits(value)
    if len(fraction) <= decimals:
        return negative, (f"{whole}.{fraction.ljust(decimals, '0')}" if decimals else whole)
    rounded = int(whole + fraction[:decimals]) + (fraction[decimals] >= "5")  # a tie rounds away from zero
    text = str(rounded)
    if decimals:
        text = text.rjust(decimals + 1, "0")
        text = f"{text[:-decimals]}.{text[-decimals:]}"
    return negative, text


def hand_significant(value: float, decimals: int) -> tuple[bool, str, int]:
    """(negative, mantissa, exponent) of value in scientific form with decimals digits after the point,
    rounded half away from zero on its repr; value is not 0.

    >>> hand_significant(1.25e20, 1), hand_significant(-0.000995, 1), hand_significant(123.0, 0)
    ((False, '1.3', 20), (True, '1.0', -3), (False, '1', 2))
    """
    negative, whole, fraction = _digits(value)
    digits = (whole + fraction).lstrip("0")
    exponent = len(whole) - 1 if whole.strip("0") else len(fraction.lstrip("0")) - len(fraction) - 1
    digits = digits.ljust(decimals + 1, "0")
    text = str(int(digits[:decimals + 1]) + (len(digits) > decimals + 1 and digits[decimals + 1] >= "5"))
    if len(text) > decimals + 1:  # 9.96 to 1 decimal: 10.0, that is 1.0 and one more power of ten
        text, exponent = text[:-1], exponent + 1
    return negative, (f"{text[0]}.{text[1:]}" if decimals else text), exponent


def hand_round(value: float, decimals: int) -> float:
    """value rounded to decimals places, half away from zero.

    >>> hand_round(0.125, 2), hand_round(2.675, 2), hand_round(-0.125, 2), hand_round(0.4910, 1)
    (0.13, 2.68, -0.13, 0.5)
    >>> hand_round(1.0000000000000002e300, 2) == 1.0000000000000002e300  # a double's 309 digits, and then some
    True
    """
    if not math.isfinite(value):
        return value
    negative, text = hand_text(value, decimals)
    return -float(text) if negative else float(text)  # -0.001 to 2 decimals is -0.0, as Decimal has it
