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
    """
    if not math.isfinite(value):
        return value
    from decimal import ROUND_HALF_UP, Decimal  # only when rounding by hand: not on the default path

    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))
