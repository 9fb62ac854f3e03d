"""`handprop train --boundary`: the decision boundary of a 2-input classification, drawn with matplotlib."""

from __future__ import annotations

import dataclasses
import struct
import xml.etree.ElementTree as ET

import pytest

import handprop
from handprop.boundary import decision_grid
from handprop.engine.scalar import ScalarEngine
from handprop.training import train

pytest.importorskip("numpy")


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_boundary_png(cli, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "boundary.png"
    result = cli(["train", "xor", "--steps", "50", "--boundary", str(path)])
    assert result.status == 0, result.err
    assert png_size(path.read_bytes()) == (720, 648)  # 6 x 5.4 inches at 120 dpi


def test_boundary_svg_parses(cli, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "boundary.svg"
    assert cli(["train", "moons", "--epochs", "2", "--boundary", str(path), "--plot", str(tmp_path / "l.svg")]).status == 0
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg") and (tmp_path / "l.svg").exists()


def scalar_prediction(problem, parameters: dict, x1: float, x2: float) -> list:
    """The outputs at one point, by the scalar interpreter: a path apart from the NumPy engine the grid uses."""
    network = problem.network
    data = {network.inputs[0]: (x1,), network.inputs[1]: (x2,)} | {t: (0.0,) for t in network.targets}
    engine = ScalarEngine(dataclasses.replace(problem, data=data, batch_size=1))
    engine.set_parameters(parameters)
    return engine.outputs()[0]


@pytest.mark.parametrize("name, steps", [("moons", 60), ("xor", 200)])
def test_grid_predictions_are_the_networks(name, steps):
    problem = handprop.load(name)
    result = train(problem, steps=steps)
    grid = decision_grid(problem, result.final, resolution=21)
    assert grid.probabilities.shape == (21, 21, 2)
    assert grid.probabilities.sum(axis=2) == pytest.approx(1.0)
    # The grid covers the data with a margin.
    assert grid.x[0] < grid.points[:, 0].min() and grid.x[-1] > grid.points[:, 0].max()
    assert grid.y[0] < grid.points[:, 1].min() and grid.y[-1] > grid.points[:, 1].max()
    for i, j in ((0, 0), (3, 17), (10, 10), (20, 5), (20, 20)):
        y = scalar_prediction(problem, result.final, float(grid.x[j]), float(grid.y[i]))
        probabilities = y if len(y) > 1 else [1 - y[0], y[0]]
        assert list(grid.probabilities[i, j]) == pytest.approx(probabilities, rel=1e-9, abs=1e-12)
        assert grid.predicted[i, j] == max(range(len(probabilities)), key=probabilities.__getitem__)
    # Each data point's class, from its targets.
    targets = problem.network.targets
    for k in range(len(grid.points)):
        t = [problem.data[name][k] for name in targets]
        assert grid.labels[k] == (int(t[0] > 0.5) if len(t) == 1 else t.index(max(t)))


def test_xor_trained_boundary_separates_the_corners():
    problem = handprop.load("xor")
    result = train(problem)
    grid = decision_grid(problem, result.final, resolution=41)
    corners = {(0, 0): 0, (1, 1): 0, (0, 1): 1, (1, 0): 1}
    for (a, b), expected in corners.items():
        j, i = int(abs(grid.x - a).argmin()), int(abs(grid.y - b).argmin())
        assert grid.predicted[i, j] == expected


@pytest.mark.parametrize("name, why", [
    ("regression_batch", "this is a regression"),
    ("shared_weight", "this is a problem written as equations"),
    ("cnn_homework", "this is a network of layer kinds"),
])
def test_boundary_refused_before_training(cli, tmp_path, name, why):
    result = cli(["train", name, "--boundary", str(tmp_path / "b.png")])
    assert result.status == 2 and result.out == "" and len(result.err.splitlines()) == 1
    assert "--boundary needs a classification problem with 2 inputs" in result.err and why in result.err
    assert not (tmp_path / "b.png").exists()


def test_boundary_three_inputs_refused(cli, tmp_path):
    path = tmp_path / "three.toml"
    path.write_text('[network]\ninputs = 3\nlayers = [{ units = 2, activation = "softmax" }]\n'
                    'loss = "cross_entropy"\n[parameters]\ninit = "xavier_uniform"\nseed = 1\n'
                    '[data]\nx = [[0.0, 1.0, 0.5], [1.0, 0.0, 0.5]]\nt = [[1, 0], [0, 1]]\n')
    result = cli(["train", str(path), "--boundary", str(tmp_path / "b.png")])
    assert result.status == 2 and len(result.err.splitlines()) == 1, result.err
    assert "this is a network with 3 inputs" in result.err


@pytest.mark.parametrize("target, fragment", [
    ("nope/b.png", "no such folder"),
    ("b.jpg", "a file ending in .png or .svg"),
])
def test_boundary_bad_path(cli, tmp_path, target, fragment):
    result = cli(["train", "xor", "--boundary", str(tmp_path / target)])
    assert result.status == 2 and result.out == "" and len(result.err.splitlines()) == 1
    assert fragment in result.err
