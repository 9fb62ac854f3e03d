"""Hand-rounding: every intermediate value rounded before it is used, and the comparison with full precision."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pytest

import handprop
from handprop.core.rounding import hand_round


def r(value: float, places: int = 2) -> float:
    return float(Decimal(str(value)).quantize(Decimal(10) ** -places, rounding=ROUND_HALF_UP))


@pytest.mark.parametrize("value, places, expected", [(0.125, 2, 0.13), (2.675, 2, 2.68), (-0.125, 2, -0.13),
                                                     (0.4910, 1, 0.5), (1e-7, 3, 0.0), (123.4567, 0, 123.0)])
def test_hand_round_is_half_away_from_zero_on_the_written_number(value, places, expected):
    assert hand_round(value, places) == expected


def homework_by_hand(places: int = 2) -> dict:
    """The homework as a student computes it, rounding each intermediate value to `places` decimals."""
    x1, x2, t1, t2 = 0.26, 0.33, 1.0, 0.0
    w = [0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]
    b = [0.3, 0.3, 0.3, 0.7, 0.7]
    h = [r(w[2 * i] * x1 + w[2 * i + 1] * x2 + b[i], places) for i in range(3)]
    a = [max(v, 0.0) for v in h]
    o1 = r(w[6] * a[0] + w[7] * a[1] + w[8] * a[2] + b[3], places)
    o2 = r(w[9] * a[0] + w[10] * a[1] + w[11] * a[2] + b[4], places)
    y1 = r(math.exp(o1) / (math.exp(o1) + math.exp(o2)), places)
    y2 = r(math.exp(o2) / (math.exp(o1) + math.exp(o2)), places)
    loss = r(-t1 * math.log(y1) - t2 * math.log(y2), places)
    # The chain rule, each local derivative and each adjoint rounded before use.
    dy1, dy2 = r(-t1 * r(1 / y1, places), places), r(-t2 * r(1 / y2, places), places)
    j11, j12, j22 = r(y1 * (1 - y1), places), r(-y1 * y2, places), r(y2 * (1 - y2), places)
    do1 = r(r(dy1 * j11, places) + r(dy2 * j12, places), places)
    do2 = r(r(dy1 * j12, places) + r(dy2 * j22, places), places)
    return {"outputs": (y1, y2), "loss": loss, "do": (do1, do2)}


def test_homework_by_hand_at_two_decimals():
    solution = handprop.solve(handprop.load("homework"), round_intermediate=2)
    expected = homework_by_hand(2)
    assert solution.output_values[0] == expected["outputs"]
    assert solution.loss == expected["loss"]
    assert (solution.nodes["o1"].gradients[0], solution.nodes["o2"].gradients[0]) == expected["do"]
    for record in solution.parameters.values():
        assert record.gradient == hand_round(record.gradient, 2) and record.updated == hand_round(record.updated, 2)


def test_with_many_places_hand_rounding_is_full_precision():
    exact = handprop.solve(handprop.load("homework"))
    rounded = handprop.solve(handprop.load("homework"), round_intermediate=12)
    for name, record in exact.parameters.items():
        assert rounded.parameters[name].updated == pytest.approx(record.updated, abs=1e-11)


def test_compare_rounding_says_when_nothing_changes(cli, tmp_path):
    from conftest import write

    text = '[network]\nequations = "L = (w*x - t)**2"\n[parameters]\nw = 0.5\n[data]\nx = 2\nt = 0.5\n[optimizer]\nlr = 0.25\n'
    out = cli([write(tmp_path, "exact.toml", text), "--compare-rounding", "2"]).out
    assert "All 3 answers agree at 2 decimals" in out


def test_compare_rounding_lists_what_differs_with_both_values(cli):
    out = cli(["--compare-rounding", "2"]).out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[4:] if line and line[0] != " "}
    assert rows["out1"] == ["0.525179", "0.53", "0.52"]
    assert "w1'" in rows and "dL/dw1" not in rows  # dL/dw1 is 0.01 either way
    assert "15 of 37 answers differ at 2 decimals" in out


def test_rounded_table_and_worked_solution_say_so(cli):
    table = cli(["--round-intermediate", "2"]).out
    assert "by hand: every intermediate value rounded to 2 decimals" in table.splitlines()[0]
    document = cli(["explain", "--round-intermediate", "3"]).out
    assert "every intermediate value is rounded to 3 decimals" in document
    solution = handprop.solve(handprop.load("homework"), round_intermediate=3)
    assert f"h_{{1}} = w_{{1}} x_{{1}} + w_{{2}} x_{{2}} + b_{{1}} = 0.100 \\cdot 0.260 + 0.500 \\cdot 0.330 + 0.300 = " \
           f"{solution.nodes['h1'].values[0]:.3f}" in document


@pytest.mark.parametrize("args, fragment", [
    (["--round-intermediate", "-1"], "--round-intermediate: -1 is out of range"),
    (["--compare-rounding", "16"], "--compare-rounding: 16 is out of range"),
    (["--round-intermediate", "2", "--compare-rounding", "2"], "not allowed with argument"),
    (["explain", "--round-intermediate", "x"], "invalid int value: 'x'"),
])
def test_rounding_bad_usage(cli, args, fragment):
    result = cli(args)
    assert result.status == 2 and result.out == "" and len(result.err.splitlines()) == 1 and fragment in result.err
