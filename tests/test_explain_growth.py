"""The worked solution's work grows linearly with the problem: counted (conversions, set entries), never timed.

latex2mathml converts a formula once per shape (its digits aside), so a network twice as wide converts
about as many formulas, not twice as many; and the layer kinds' sections look each equation up once, not
in a set built again for every equation (quadratic in a convolution's positions).
"""

from __future__ import annotations

import pytest

from handprop import solve
from handprop.problem.spec import from_dict
from handprop.render import derivation_kinds, derivation_kinds_backward, explain, explain_html, mathml


def _dense(hidden: int):
    return from_dict({"network": {"inputs": 3, "layers": [{"units": hidden, "activation": "relu"},
                                                          {"units": 2, "activation": "softmax"}],
                                  "loss": "cross_entropy"},
                      "parameters": {"init": "he_uniform", "seed": 3}, "data": {"x": [0.5, -1.0, 0.25], "t": [1, 0]},
                      "optimizer": {"lr": 0.1}})


def _conv(side: int):
    return from_dict({"network": {"input_shape": [1, side, side],
                                  "layers": [{"type": "conv2d", "channels": 2, "kernel": 3, "activation": "relu"},
                                             {"type": "flatten"}, {"units": 2, "activation": "softmax"}],
                                  "loss": "cross_entropy"},
                      "parameters": {"init": "he_uniform", "seed": 1},
                      "data": {"x": [[[((i * 7 + j * 3) % 11 - 5) / 5 for j in range(side)] for i in range(side)]],
                               "t": [1, 0]},
                      "optimizer": {"lr": 0.1}})


def _conversions(problem) -> tuple[int, int]:
    explain_html._mathml.cache_clear()
    mathml._shape.cache_clear()
    before = mathml.conversions
    page = explain(solve(problem), format="html")
    return mathml.conversions - before, len(page)


def test_html_converts_once_per_shape_not_per_formula():
    small, small_page = _conversions(_dense(10))
    large, large_page = _conversions(_dense(40))
    assert large_page > 2 * small_page  # four times the units: a page more than twice as long (the font aside)
    assert large < 1.5 * small  # but hardly more conversions: the new formulas repeat the shapes


@pytest.mark.parametrize("latex", [r"h_{12} = 0.25 \cdot x_{3} - 1.5", r"\sqrt[3]{27} + x^{2}_{1}", r"\frac12 + w_12",
                                   r"\mathbf{1}^{\top} 2", r"\text{step 10}: 3.0", r"\begin{bmatrix} 1 & -2 \\ 30 & 4.5 "
                                   r"\end{bmatrix}", r"\operatorname{ReLU}(0.5)", "x + y"])
@pytest.mark.parametrize("relation_first", [False, True])
def test_shaped_conversion_is_the_direct_one(latex, relation_first):
    mathml._shape.cache_clear()
    shaped = [mathml.mathml_text(latex, "block", relation_first) for _ in range(2)]  # converted, then from the shape
    direct = mathml._converted(latex, "block", relation_first)
    assert shaped == [direct, direct]
    # Another formula of the same shape comes out as its own direct conversion too.
    other = latex.translate(str.maketrans("0123456789", "9876543210"))
    assert mathml.mathml_text(other, "block", relation_first) == mathml._converted(other, "block", relation_first)


def _set_entries(monkeypatch, problem) -> int:
    counted = [0]

    class CountingSet(set):
        def __init__(self, items=()):
            items = list(items)
            counted[0] += len(items)
            super().__init__(items)

    for module in (derivation_kinds, derivation_kinds_backward):
        monkeypatch.setattr(module, "set", CountingSet, raising=False)
    explain(solve(problem), format="markdown")
    return counted[0]


def test_layer_kinds_sections_linear_in_the_positions(monkeypatch):
    small = _set_entries(monkeypatch, _conv(6)) / 16  # entries put in sets, per position (4 x 4 of them)
    large = _set_entries(monkeypatch, _conv(18)) / 256
    assert large < 2 * small
