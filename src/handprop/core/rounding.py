"""Rounding as a person with a calculator rounds: half away from zero, on the number as written.

repr gives the shortest decimal that reads back as the float, which is what a calculator shows, so
0.125 rounds to 0.13 at 2 decimals (Python's round gives 0.12, and round(2.675, 2) gives 2.67 because
the float is a hair below 2.675; a person writing 2.675 gets 2.68).
"""

from __future__ import annotations

import math


def hand_round(value: float, decimals: int) -> float:
    """value rounded to decimals places, half away from zero.

    >>> hand_round(0.125, 2), hand_round(2.675, 2), hand_round(-0.125, 2), hand_round(0.4910, 1)
    (0.13, 2.68, -0.13, 0.5)
    >>> hand_round(1.0000000000000002e300, 2) == 1.0000000000000002e300  # a double's 309 digits, and then some
    True
    """
    if not math.isfinite(value):
        return value
    from decimal import ROUND_HALF_UP, Context, Decimal  # only when rounding by hand: not on the default path

    # Enough digits for any double written out in full to its last place (309 before the point) and the
    # decimals after it: Decimal's default of 28 refuses anything above 10^28.
    context = Context(prec=MAX_DIGITS + decimals)
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP,
                                                context=context))


MAX_DIGITS = 330  # a double's integer part has at most 309 digits
