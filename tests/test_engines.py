"""The engines: one answer whichever takes the steps, and `auto` choosing sensibly."""

from __future__ import annotations

import json
import random

import pytest

import handprop
from handprop.engine.choice import make_engine
from handprop.engine.scalar import ScalarEngine
from handprop.problem.spec import from_dict

np = pytest.importorskip("numpy")


def wide(samples: int = 64, seed: int = 0):
    rng = random.Random(seed)
    inputs, hidden, outputs = 64, 32, 4
    return from_dict({
        "network": {"inputs": inputs, "layers": [{"units": hidden, "activation": "relu"},
                                                 {"units": outputs, "activation": "softmax"}],
                    "loss": "cross_entropy", "naming": "layered"},
        "parameters": {"init": "he_uniform", "seed": 3},
        "data": {"x": [[rng.uniform(-1, 1) for _ in range(inputs)] for _ in range(samples)],
                 "t": [[1.0 if j == k % outputs else 0.0 for j in range(outputs)] for k in range(samples)]},
        "optimizer": {"name": "adam", "lr": 0.01, "steps": 5}})


def test_auto_keeps_a_small_problem_on_the_scalar_path():
    assert isinstance(make_engine(handprop.load("homework"), engine="auto", steps=1), ScalarEngine)


@pytest.mark.parametrize("faster", ["numpy", "scalar"])
def test_auto_takes_the_engine_it_measures_faster_for_a_large_problem(monkeypatch, faster):
    from handprop.engine import choice

    measured = []

    def seconds(engine, rows):  # the clock, mocked: timing itself belongs to benchmarks/bench_training.py
        measured.append(engine.name)
        return 1.0 if engine.name == faster else 2.0

    monkeypatch.setattr(choice, "measured_seconds", seconds)
    assert make_engine(wide(), engine="auto", steps=1000).name == faster
    assert sorted(measured) == ["numpy", "scalar"]


@pytest.mark.parametrize("example", ["homework", "xor", "regression_batch"])
def test_solve_gives_one_answer_whichever_engine(cli, example):
    scalar = json.loads(cli([example, "--format", "json", "--engine", "scalar"]).out)
    vector = json.loads(cli([example, "--format", "json", "--engine", "numpy"]).out)
    assert scalar["loss"] == vector["loss"]  # the interpreter's, at the initial parameters
    assert vector["loss_after"] == pytest.approx(scalar["loss_after"], rel=1e-12)
    for name, record in scalar["parameters"].items():
        assert vector["parameters"][name]["updated"] == pytest.approx(record["updated"], rel=1e-12, abs=1e-14)
    for mine, theirs in zip(scalar["steps"], vector["steps"]):
        assert theirs["loss"] == pytest.approx(mine["loss"], rel=1e-12)


def test_train_gives_one_answer_whichever_engine():
    from handprop.training import train

    problem = wide()
    scalar = train(problem, steps=5, engine="scalar")
    vector = train(problem, steps=5, engine="numpy")
    assert vector.losses == pytest.approx(scalar.losses, rel=1e-12)
    for name, value in scalar.final.items():
        assert vector.final[name] == pytest.approx(value, rel=1e-10, abs=1e-13)
    single = train(problem, steps=5, engine="numpy", dtype="float32")
    assert single.losses == pytest.approx(scalar.losses, rel=1e-4)


def test_explain_takes_the_engine_option(cli):
    result = cli(["explain", "xor", "--engine", "numpy"])
    assert result.status == 0 and "## Update" in result.out


def test_every_engine_the_command_line_offers_is_one_there_is():
    import argparse

    from handprop.cli import options

    parser = argparse.ArgumentParser()
    options.add_engine_options(parser)
    offered = {action.dest: action.choices for action in parser._actions if action.choices}
    problem = handprop.load("homework")
    for engine in offered["engine"]:
        for dtype in offered["dtype"]:
            if engine == "scalar" and dtype != "float64":
                continue  # refused with its own message: the scalar engine computes in Python floats
            machine = make_engine(problem, engine=engine, dtype=dtype)
            assert machine.loss_and_gradients() == pytest.approx(0.6440167232228218, rel=1e-6)
