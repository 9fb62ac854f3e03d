"""One rounding rule for every number handprop shows: the repr, rounded half away from zero (docs/numerics.md).

The oracle is Python's decimal module: Decimal(repr(x)) quantized with ROUND_HALF_UP, which is how a person
rounds the number a calculator shows.
"""

from __future__ import annotations

import json
import math
import random
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest

from handprop import solve
from handprop.core.rounding import hand_round
from handprop.problem.spec import from_dict
from handprop.render import diagram, explain, render
from handprop.render.numbers import fixed, readable, scientific, significant


def by_decimal(value: float, places: int) -> str:
    """The oracle: the repr as a decimal, rounded half away from zero; no '-0.00'."""
    with localcontext() as context:
        context.prec = 400
        text = format(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


@pytest.mark.parametrize("value, places, expected", [
    (0.125, 2, "0.13"), (0.475, 2, "0.48"), (2.675, 2, "2.68"), (1.005, 2, "1.01"),
    (-0.125, 2, "-0.13"), (-0.475, 2, "-0.48"), (-2.675, 2, "-2.68"),
    (0.5, 0, "1"), (1.5, 0, "2"), (2.5, 0, "3"), (-0.5, 0, "-1"), (-1.5, 0, "-2"), (-2.5, 0, "-3"),
    (0.25, 1, "0.3"), (0.35, 1, "0.4"), (-0.25, 1, "-0.3"), (0.05, 1, "0.1"),
    (0.00005, 4, "0.0001"), (0.12345, 4, "0.1235"), (-0.20625, 4, "-0.2063"), (9.995, 2, "10.00"),
    (0.1 + 0.2, 2, "0.30"), (0.1 + 0.2, 16, "0.3000000000000000"), (0.1 + 0.2, 17, "0.30000000000000004"),
    (1.0000000000000002, 15, "1.000000000000000"), (1.0000000000000002, 16, "1.0000000000000002"),
    (0.30000000000000004, 0, "0"), (0.124999, 2, "0.12"), (0.125, 3, "0.125"), (0.125, 6, "0.125000"),
    (-0.004, 2, "0.00"), (-0.0, 2, "0.00"), (1e-300, 4, "0.0000"), (123456789.125, 2, "123456789.13"),
    (4503599627370496.5, 0, "4.5e+15"),  # above 10^15: its size, in scientific form (same rule)
])
def test_fixed_rounds_the_repr_half_away_from_zero(value, places, expected):
    assert fixed(value, places) == expected
    if abs(value) < 1e15:
        assert fixed(value, places) == by_decimal(value, places)


def test_fixed_agrees_with_the_decimal_oracle_on_many_numbers():
    rng = random.Random(17)
    values = [rng.uniform(-1, 1) for _ in range(2000)]
    values += [rng.randint(-99999, 99999) / 10 ** rng.randint(0, 6) for _ in range(2000)]  # many exact ties
    values += [math.ldexp(rng.random(), rng.randint(-60, 49)) * rng.choice((1, -1)) for _ in range(2000)]
    values += [math.nextafter(x, math.inf) for x in (0.125, 0.375, 2.5)]  # a double past a tie
    values += [math.nextafter(x, -math.inf) for x in (0.125, 0.375, 2.5)]  # and one short of it
    for value in values:
        for places in (0, 1, 2, 4, 7, 12):
            assert fixed(value, places) == by_decimal(value, places), (value, places)


def test_numbers_next_to_a_tie_round_by_their_own_digits():
    above, below = math.nextafter(0.125, 1), math.nextafter(0.125, 0)
    assert (fixed(above, 2), fixed(below, 2)) == ("0.13", "0.12")  # 0.12500000000000003, 0.12499999999999999


def test_big_and_tiny_numbers():
    assert fixed(1.25e20, 4) == "1.2500e+20" and fixed(-1.25e20, 0) == "-1.3e+20"
    assert scientific(1.25e-7, 1) == "1.3e-07" and scientific(9.95e-7, 1) == "1.0e-06"
    assert readable(1.25e-7, 2) == r"1.25 \times 10^{-7}" and readable(1.25e-7, 1) == r"1.3 \times 10^{-7}"
    assert readable(0.00005, 4) == "0.0001"  # shows as a number at 4 decimals, so no scientific form
    assert fixed(math.inf, 2) == "inf" and fixed(-math.inf, 2) == "-inf" and fixed(math.nan, 2) == "nan"


def test_significant_digits_round_the_same_way():
    assert significant(0.1234565) == "0.123457" and significant(2.5, 1) == "3" and significant(-0.125, 2) == "-0.13"
    assert significant(0.5) == "0.5" and significant(1e-08) == "1e-08" and significant(1234567.5) == "1.23457e+06"


def test_rounding_by_hand_uses_the_same_rule():
    for value in (0.125, 0.475, 2.675, -0.125, 2.5, 0.1 + 0.2):
        for places in (0, 1, 2, 3):
            assert repr(hand_round(value, places)) == repr(float(fixed(value, places))) or fixed(value, places) in (
                "0", "0.0", "0.00", "0.000")


EIGHTH = {"title": "An eighth", "network": {"equations": "L = w * x", "outputs": ["L"]},
          "parameters": {"w": 0.125}, "data": {"x": 1.0}, "optimizer": {"lr": 0.5}}


def shows_0_12(text: str) -> bool:
    """0.12 as a number of its own (not the given 0.125)."""
    return re.search(r"(?<![0-9])0\.12(?![0-9])", text) is not None


def eighth(decimals: int = 2):
    """L = w x with w = 0.125 and x = 1: the loss is exactly 0.125, a tie at 2 decimals."""
    return from_dict({**EIGHTH, "display": {"decimals": decimals}})


def test_a_loss_of_an_eighth_shows_as_0_13_everywhere():
    problem = eighth()
    solution = solve(problem)
    assert solution.loss == 0.125
    table = render(solution)
    assert "0.13" in table and not shows_0_12(table)
    assert "| `loss` | 0.13 |" in render(solution, format="markdown")
    for format in ("markdown", "latex", "html"):
        text = explain(solution, format=format)
        assert "0.13" in text and not shows_0_12(text), format
    svg = diagram(solution, show="values")
    assert "= 0.13" in svg and not shows_0_12(svg)


def test_the_by_hand_table_agrees_with_the_normal_table():
    problem = eighth()
    full, by_hand = solve(problem), solve(problem, round_intermediate=2)
    assert by_hand.loss == 0.13
    row = lambda text: next(line for line in text.splitlines() if line.startswith("loss"))
    assert row(render(full)).split()[1] == row(render(by_hand)).split()[1] == "0.13"


def test_json_and_csv_keep_full_precision_unless_decimals_are_asked():
    solution = solve(eighth())
    assert json.loads(render(solution, format="json"))["loss"] == 0.125
    assert "loss,0.125," in render(solution, format="csv")
    assert "loss,0.13," in render(solution, format="csv", decimals=2)


def test_grade_shows_the_expected_value_by_the_rule_and_accepts_a_half_up_answer():
    from handprop.render.grade_report import render_grade_text
    from handprop.teach.grading import grade

    problem = eighth()
    report = grade(problem, "loss,0.13\n")
    assert [g.status for g in report.grades] == ["correct"]
    text = render_grade_text(grade(problem, "loss,0.9\n"))  # shown at 1 + 2 = 3 decimals: exactly 0.125
    assert "0.125" in text
    # A person rounds 2.675 (the double is a hair below it) to 2.68: that answer is right.
    hair = from_dict({**EIGHTH, "parameters": {"w": 2.675}})
    assert [g.status for g in grade(hair, "loss,2.68\n").grades] == ["correct"]


def test_grade_expected_value_uses_the_rule():
    from handprop.render.grade_report import render_grade_text
    from handprop.teach.grading import grade

    # 0.1045 (the double a hair below) shown at 1 + 2 = 3 decimals: 0.105, not the double's 0.104.
    problem = from_dict({**EIGHTH, "parameters": {"w": 0.1045}})
    text = render_grade_text(grade(problem, "loss,0.9\n"))
    assert "0.105" in text and "0.104 " not in text


def test_the_page_shows_the_same_numbers():
    pytest.importorskip("handprop.serve.tasks")
    from handprop.serve.tasks import solution_parts

    parts = solution_parts(solve(eighth()), decimals=2)
    for key in ("table", "html", "diagram"):
        assert "0.13" in parts[key] and not shows_0_12(parts[key]), key
