"""Inputs an outside audit found handprop failing on: each now answered, or refused in one line."""

from __future__ import annotations

import json
import math

import pytest

import handprop
from conftest import write

HUGE = '[network]\nequations = "L = (w*x - t)**2"\n[parameters]\nw = 1e13\n[data]\nx = 1\nt = 0\n[optimizer]\nlr = 0.1\n'


# --- hand rounding of numbers past Decimal's default 28 digits

@pytest.mark.parametrize("args", [["solve", "--round-intermediate", "2"], ["explain", "--round-intermediate", "2"],
                                  ["solve", "--compare-rounding", "2"]])
def test_hand_rounding_works_for_a_loss_of_1e26(cli, tmp_path, args):
    result = cli([args[0], write(tmp_path, "big.toml", HUGE), *args[1:]])
    assert result.status == 0, result.err
    assert "Traceback" not in result.err and result.err == ""


def test_the_pages_by_hand_switch_works_for_a_loss_of_1e26():
    pytest.importorskip("tomlkit")
    from handprop.serve.tasks import solve_answer

    answer = solve_answer({"text": HUGE, "by_hand": True})
    assert answer["ok"], answer


def test_hand_rounding_keeps_every_digit_of_a_large_double():
    from handprop.core.rounding import hand_round

    for value in (1e26, 123456789012345678901234567890.0, 1.7976931348623157e308, -3.0000000000000004e200):
        assert hand_round(value, 2) == value and hand_round(value, 15) == value
