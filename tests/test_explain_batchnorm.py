"""The worked solution of a network with batch-norm, over its whole batch: every number written is the records'."""

from __future__ import annotations

import json
import random

import pytest

from conftest import chains_of

from handprop import load, solve
from handprop.cli import main
from handprop.problem.spec import from_dict
from handprop.render import explain
from handprop.render.derivation import build
from handprop.render.mathtex import name_latex
from handprop.render.numbers import fixed


def _random_network(shape: list, batch: int, seed: int) -> dict:
    """BatchNorm on shape ([F] or [C, L]) over a batch, then (flattened) a dense layer of 2 units."""
    rng = random.Random(seed)
    channels = shape[0]
    size = channels * (shape[1] if len(shape) > 1 else 1)

    def numbers(count):
        return [round(rng.uniform(-2, 2), 3) for _ in range(count)]

    def sample():
        return numbers(channels) if len(shape) == 1 else [numbers(shape[1]) for _ in range(channels)]

    layers = [{"type": "batchnorm", "momentum": 0.2, "running_mean": numbers(channels),
               "running_var": [abs(v) + 0.5 for v in numbers(channels)]}]
    layers += [{"type": "flatten"}] if len(shape) > 1 else []
    layers += [{"units": 2}]
    return {"title": f"batch-norm on {shape}, batch {batch}",
            "network": {"input_shape": shape, "layers": layers, "loss": "mse"},
            "parameters": {"gamma1": [1 + v / 4 for v in numbers(channels)], "beta1": numbers(channels),
                           "W" + str(len(layers)): [numbers(size) for _ in range(2)],
                           "b" + str(len(layers)): numbers(2)},
            "data": {"x": [sample() for _ in range(batch)], "t": [numbers(2) for _ in range(batch)]},
            "optimizer": {"lr": 0.1}}


PROBLEMS = ["batchnorm_batch_of_4", _random_network([3], 2, 1), _random_network([2, 3], 3, 2),
            _random_network([2, 2], 4, 3)]
IDS = ["example", "F3-batch2", "C2L3-batch3", "C2L2-batch4"]


def _solved(problem):
    return solve(from_dict(problem)) if isinstance(problem, dict) else solve(load(problem))


_chains = chains_of


def _by_lhs(solution) -> dict:
    found: dict = {}
    for c in _chains(build(solution).sections):
        found.setdefault(c.lhs, []).append(c)
    return found


def _d(name: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {name}}}"


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_statistics_normalised_entries_and_input_gradients_are_the_records(problem):
    solution = _solved(problem)
    values, adjoints = solution.traces[0].values, solution.traces[0].adjoints
    chains = _by_lhs(solution)
    layer = solution.problem.stack.layers[0]
    for c in range(1, layer.shape_in[0] + 1):
        (mu,) = chains[rf"\mu_{{{c}}}"]
        assert mu.steps[-1] == fixed(values[f"mu1[{c}]"], 4)
        (var,) = chains[rf"\sigma^2_{{{c}}}"]
        assert var.steps[-1] == fixed(values[f"var1[{c}]"], 4)
        (xhat,) = chains[rf"\hat{{x}}_{{{c}}}"]
        entries = [name for name in values if name.startswith("xhat1[") and name[6:-1].split(",")[1] == str(c)]
        assert entries
        for name in entries:
            assert fixed(values[name], 4) in xhat.steps[-1]
    inputs = [name for name in values if name.startswith("x[")]
    assert len(inputs) == solution.problem.stack.batch * len(solution.problem.stack.inputs)
    for name in inputs:  # every sample's input, each with every sample's terms through the mean and variance
        (dx,) = chains[_d(name_latex(name))]
        assert dx.steps[-1] == fixed(adjoints[name], 4)


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_scale_shift_gradients_and_running_statistics_are_the_records(problem):
    solution = _solved(problem)
    values = solution.traces[0].values
    chains = _by_lhs(solution)
    for name, parameter in solution.parameters.items():
        if name.startswith(("gamma", "beta")):
            (found,) = chains[_d(name_latex(name))]
            assert found.steps[-1] == fixed(parameter.gradient, 4)
            # summed over every sample (and position): one term per reader
            assert found.steps[0].count(r"\cdot") >= 1 or name.startswith("beta")
    stats = [name for name in values if name.startswith(("rmean", "rvar"))]
    assert stats
    for name in stats:
        (found,) = chains[name_latex(name)]
        assert found.steps[-1] == fixed(values[name], 4)


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_every_format_holds_the_statistics(problem):
    solution = _solved(problem)
    values = solution.traces[0].values
    numbers = [fixed(abs(values[name]), 4) for name in values if name.startswith(("mu1[", "var1[", "rvar1["))]
    for format in ("markdown", "latex", "html"):
        text = explain(solution, format=format)
        assert "Running statistics" in text
        assert "one row per sample" in text
        for number in numbers:
            assert number in text, (format, number)


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_every_format_exits_0(problem, tmp_path, capsys):
    if isinstance(problem, dict):
        path = tmp_path / "network.json"
        path.write_text(json.dumps(problem))
        problem = str(path)
    for format in ("markdown", "latex", "html"):
        assert main(["explain", problem, "--format", format]) in (0, None)
        assert capsys.readouterr().out


def test_the_document_grows_linearly_with_the_batch():
    sizes = [len(explain(_solved(_random_network([2], batch, 5)))) for batch in (2, 4, 8)]
    assert sizes[2] - sizes[1] < 2.5 * (sizes[1] - sizes[0])
