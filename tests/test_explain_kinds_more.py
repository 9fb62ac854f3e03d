"""The worked solution of recurrent, normalisation and attention layers: every number written is the records'."""

from __future__ import annotations

import pytest

from conftest import chains_of

from handprop import load, solve
from handprop.problem.spec import from_dict
from handprop.render import explain
from handprop.render.derivation import build
from handprop.render.derivation_backward import slug
from handprop.render.numbers import fixed

GRU = {"network": {"input_shape": [2, 2], "layers": [{"type": "gru", "hidden": 2, "return": "all"},
                                                      {"type": "flatten"}, {"units": 1}], "loss": "mse"},
       "parameters": {"Wir1": [[0.5, -0.25], [0.1, 0.2]], "Wiz1": [[0.25, 0.5], [-0.3, 0.1]],
                      "Win1": [[1.0, 0.5], [0.2, -0.4]], "Whr1": [[0.5, 0.1], [0.0, 0.3]],
                      "Whz1": [[-0.25, 0.2], [0.1, 0.1]], "Whn1": [[0.5, -0.3], [0.2, 0.4]],
                      "bir1": [0.1, 0.0], "biz1": [0.0, 0.1], "bin1": [0.0, -0.1], "bhr1": [0.0, 0.2],
                      "bhz1": [0.1, 0.0], "bhn1": [0.2, 0.0], "W3": [[1.0, -0.5, 0.5, 0.25]], "b3": [0.0]},
       "data": {"x": [[1.0, 0.5], [-0.5, 1.0]], "t": [0.5]}, "optimizer": {"lr": 0.1}}


def _rnn(steps: int) -> dict:
    return {"network": {"input_shape": [steps, 1], "layers": [{"type": "rnn", "hidden": 2}], "loss": "half_sse"},
            "parameters": {"Wih1": [[0.5], [-0.5]], "Whh1": [[0.25, -0.5], [0.5, 0.25]], "bih1": [0.1, 0.0],
                           "bhh1": [0.0, -0.1]},
            "data": {"x": [[0.5 * (-1) ** t] for t in range(steps)], "t": [0.5, -0.5]}, "optimizer": {"lr": 0.1}}


def _solved(name):
    return solve(from_dict(name)) if isinstance(name, dict) else solve(load(name))


_chains = chains_of


def _document(solution):
    return list(_chains(build(solution).sections))


def _by_lhs(chains, lhs):
    return [c for c in chains if c.lhs == lhs]


def _anchor(chains, name):
    found = [c for c in chains if c.anchor == f"grad-{slug(name)}"]
    assert found, name
    return found[-1]


@pytest.mark.parametrize("example, letters", [("rnn_three_steps", "h"), ("lstm_step", "ifgoch"),
                                              (GRU, "rznh")])
def test_recurrent_steps_hold_the_records_values(example, letters):
    solution = _solved(example)
    trace, chains = solution.traces[0], _document(solution)
    layer = solution.problem.stack.layers[0]
    steps, hidden = layer.shape_in[0], layer.setting("hidden")
    for t in range(1, steps + 1):
        for letter in letters:
            (step,) = _by_lhs(chains, rf"{letter}^{{[1]}}_{{{t}}}")
            for j in range(1, hidden + 1):
                assert fixed(trace.values[f"{letter}1[{t},{j}]"], 4) in step.steps[-1]


@pytest.mark.parametrize("example", ["rnn_three_steps", "lstm_step", GRU])
def test_bptt_weight_gradients_are_sums_over_time_equal_to_the_records(example):
    solution = _solved(example)
    chains = _document(solution)
    steps = solution.problem.stack.layers[0].shape_in[0]
    for name, parameter in solution.parameters.items():
        if name[0] in "Wb" and name[1] in "ih":
            found = _anchor(chains, name)
            assert found.steps[-1] == fixed(parameter.gradient, 4)
            assert rf"\sum_{{t=1}}^{{{steps}}}" in found.steps[0]
            assert found.steps[1].count(r"\frac{\partial L}") == steps


@pytest.mark.parametrize("example", ["rnn_three_steps", "lstm_step", "attention_two_tokens", "transformer_block"])
def test_every_format_holds_the_numbers(example):
    solution = _solved(example)
    trace = solution.traces[0]
    last = [name for name in trace.values if name.startswith(("h1[", "alpha1["))][-1]
    value = fixed(abs(trace.values[last]), 4)
    for format in ("markdown", "latex", "html"):
        text = explain(solution, format=format)
        assert value in text, format
    assert "Step 1" in explain(solution) or "softmax" in explain(solution)


def test_attention_weights_rows_sum_to_one_and_are_the_records():
    solution = _solved("attention_two_tokens")
    trace, chains = solution.traces[0], _document(solution)
    for t in (1, 2):
        (row,) = _by_lhs(chains, rf"\alpha_{{{t},:}}")
        weights = [trace.values[f"alpha1[1,{t},{u}]"] for u in (1, 2)]
        assert sum(weights) == pytest.approx(1.0)
        assert row.steps[-1] == r"\left(" + ", ".join(fixed(w, 4) for w in weights) + r"\right)"
        (gradient,) = _by_lhs(chains, rf"\frac{{\partial L}}{{\partial s_{{{t},:}}}}")
        assert gradient.steps[-1] == r"\left(" + ", ".join(fixed(trace.adjoints[f"s1[1,{t},{u}]"], 4)
                                                          for u in (1, 2)) + r"\right)"
    for letter in "qkvo":
        (matrix,) = _by_lhs(chains, rf"\frac{{\partial L}}{{\partial W^{{[1]}}_{{{letter}}}}}")
        for i in (1, 2):
            for j in (1, 2):
                assert fixed(solution.parameters[f"W{letter}1[{i},{j}]"].gradient, 4) in matrix.steps[-1]


def test_layernorm_input_gradient_is_the_records():
    solution = _solved("transformer_block")
    trace, chains = solution.traces[0], _document(solution)
    for name in (f"z1[{t},{i}]" for t in (1, 2, 3) for i in (1, 2, 3, 4)):
        (found,) = _by_lhs(chains, rf"\frac{{\partial L}}{{\partial z^{{[1]}}_{{{name[3:-1]}}}}}")
        assert found.steps[-1] == fixed(trace.adjoints[name], 4)
    for g in (1, 2, 3):
        (mean,) = _by_lhs(chains, rf"\mu_{{{g}}}")
        assert mean.steps[-1] == fixed(trace.values[f"mu2[{g}]"], 4)
        (variance,) = _by_lhs(chains, rf"\frac{{\partial L}}{{\partial \sigma^2_{{{g}}}}}")
        assert variance.steps[-1] == fixed(trace.adjoints[f"var2[{g}]"], 4)


def test_a_longer_sequence_grows_the_document_linearly():
    sizes = [len(explain(_solved(_rnn(steps)))) for steps in (4, 8, 16)]
    assert sizes[2] - sizes[1] <= 2.5 * (sizes[1] - sizes[0])
