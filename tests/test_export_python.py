"""`handprop export --to python`: the plain-Python script, run with nothing but Python's standard library, prints
`handprop solve`'s Result table, and every number in it is handprop's.

Each script is written to a temporary folder and run as its own process with `python -I -S` (isolated, no
site-packages: handprop cannot be imported there). Its table is read back, column by column, and held to the
solution's rows (render/table.py's `rows`) at full precision: the same names in the same order, every number
within 1e-12 of handprop's (one step of the homework to the bit). Covered: every packaged example (the data
files' rows written into the script), and drawn problems with every activation, every function an equation
may call (read from the op table), every loss, and every optimizer with each of its settings, over several
steps and batches, frozen parameters and none at all.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

import handprop
from conftest import random_network
from handprop.core.ops import ACTIVATIONS, FUNCTIONS, OPS
from handprop.core.optim import OPTIMIZERS
from handprop.problem.files import example_names
from handprop.problem.layered import LOSSES
from handprop.problem.spec import from_dict
from handprop.render.python_script import identifier, python_script
from handprop.render.table import rows as table_rows


def run_script(text: str, folder, *arguments: str) -> str:
    path = folder / "worked.py"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run([sys.executable, "-I", "-S", str(path), *arguments], capture_output=True, text=True,
                          cwd=folder, timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return done.stdout


def read_table(out: str) -> tuple[str, list[tuple]]:
    """The caption and the rows of a printed table, each cell a float or None, read by the columns' widths."""
    lines = out.splitlines()
    spans, start = [], 0
    for dashes in lines[3].split("  "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 2
    rows = []
    for line in lines[4:]:
        cells = [line[a:b].strip() for a, b in spans]
        rows.append((cells[0], *(float(cell) if cell else None for cell in cells[1:])))
    return lines[0], rows


def close(mine: float | None, theirs: float | None) -> bool:
    if mine is None or theirs is None:
        return mine is theirs
    return mine == pytest.approx(theirs, rel=1e-12, abs=1e-14) or (math.isnan(mine) and math.isnan(theirs))


def check(problem, folder) -> list[tuple]:
    """The script's table against handprop's solution: caption, names, every number."""
    solution = handprop.solve(problem)
    caption, rows = read_table(run_script(python_script(problem), folder))
    assert caption == solution.table().splitlines()[0]
    expected = table_rows(solution)
    assert [row[0] for row in rows] == [row[0] for row in expected]
    for row, want in zip(rows, expected):
        assert all(close(a, b) for a, b in zip(row[1:], want[1:])), (row, want)
    return rows


def test_the_script_runs_where_handprop_cannot_be_imported(tmp_path):
    out = run_script("try:\n    import handprop\nexcept ImportError:\n    print('alone')\n", tmp_path)
    assert out == "alone\n"


def test_the_homework_to_the_bit(tmp_path, cli):
    result = cli(["export", "homework", "--to", "python", "-o", str(tmp_path / "homework.py")])
    assert result.status == 0 and result.err == ""
    text = (tmp_path / "homework.py").read_text()
    for line in ["w1 = 0.1", "x1 = 0.26", "h1 = w1 * x1 + w2 * x2 + b1", "a1 = relu(h1)", "dL_w7 = dL_o1 * a1",
                 "dL_a1 = dL_o1 * w7 + dL_o2 * w10", "dL_h1 = dL_a1 * (1.0 if h1 > 0 else 0.0)",
                 "w7 = w7 - lr * dL_w7", "ln_y1, ln_y2 = log_softmax(o1, o2)"]:
        assert line in text, line
    for section in ["# Forward pass", "# Loss", "# Backward pass", "# Gradients of the parameters", "# Update"]:
        assert section in text, section
    # the backward pass in the worked solution's order, from the loss back
    order = [text.index(f"    dL_{name} = ") for name in ["ln_y1", "o1", "a1", "h1", "w1"]]
    assert order == sorted(order)
    solution = handprop.solve(handprop.load("homework"))
    _, rows = read_table(run_script(text, tmp_path))
    assert rows == table_rows(solution)  # every number exactly


def test_json_has_solve_s_numbers(tmp_path):
    problem = handprop.load("shared_weight")
    printed = json.loads(run_script(python_script(problem), tmp_path, "--json"))
    solved = json.loads(handprop.solve(problem).to_json())
    for key in ("title", "batch_size"):
        assert printed[key] == solved[key]
    for key in ("loss", "loss_after"):
        assert close(printed[key], solved[key])
    assert all(close(a, b) for mine, theirs in zip(printed["outputs"], solved["outputs"]) for a, b in zip(mine, theirs))
    assert printed["parameters"].keys() == solved["parameters"].keys()
    for name, record in printed["parameters"].items():
        assert all(close(record[key], solved["parameters"][name][key]) for key in ("initial", "gradient", "updated"))


@pytest.mark.parametrize("name", example_names())
def test_every_example(name, tmp_path):
    check(handprop.load(name), tmp_path)


def settings_of(name: str) -> dict:
    """Settings other than the defaults, inside their ranges; a setting without a default gets -0.5 then 0.7."""
    settings, required = {}, iter([-0.5, 0.7])
    for param in OPS[name].params:
        if param.choices:
            settings[param.name] = param.choices[-1]
        elif param.default is None:
            settings[param.name] = next(required)
        else:
            settings[param.name] = param.default * 1.5 if param.default else 0.5
    return settings


def function_problem(name: str) -> dict:
    """An equations problem that calls a function of the op table, a batch of four samples (one of them at
    w*x + c = 0, where several functions have a kink) and three steps of SGD with momentum."""
    op = OPS[name]
    settings = "".join(f", {key}={value!r}" for key, value in settings_of(name).items())
    if op.multi_output:
        equations = f"y1, y2 = {name}(w*x + c, c*w{settings})\nL = (y1 - t)**2 + y2*w"
    elif op.arity == 0:
        equations = f"h = {name}(w*x + c, c*w, x{settings})\nL = (h - t)**2 + w*w"
    elif op.arity == 2:  # a probability and its target
        equations = f"h = {name}(sigmoid(w*x + c), t{settings})\nL = h + w*w"
    elif op.domain is not None:
        equations = f"h = {name}(1 + (w*x + c)**2{settings})\nL = (h - t)**2 + w*w"
    else:
        equations = f"h = {name}(w*x + c{settings})\nL = (h - t)**2 + w*w"
    return {"title": f"The function {name}", "network": {"equations": equations},
            "parameters": {"w": 0.5, "c": 0.2},
            "data": {"x": [0.7, -1.3, -0.4, 2.1], "t": [0.25, 0.5, 0.0, 1.0]},
            "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "steps": 3}}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_an_equation_may_call(name, tmp_path):
    check(from_dict(function_problem(name)), tmp_path)


OUTPUTS = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid", "mse": "identity", "half_sse": "tanh"}


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation(activation, tmp_path):
    loss = list(LOSSES)[ACTIVATIONS.index(activation) % len(LOSSES)]
    raw = random_network([2, 3, 2], activation, OUTPUTS[loss], loss, batch=3, seed=len(activation),
                         optimizer={"name": "sgd", "lr": 0.3, "steps": 2})
    check(from_dict(raw), tmp_path)


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_on_a_single_sample_and_the_sequential_naming(loss, tmp_path):
    raw = random_network([3, 2, 2], "tanh", OUTPUTS[loss], loss, seed=7, naming="sequential",
                         optimizer={"lr": 0.5})
    check(from_dict(raw), tmp_path)


OPTIMIZER_SETTINGS = [
    {"name": "sgd", "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01},
    {"name": "sgd", "momentum": 0.8, "nesterov": True},
    {"name": "sgd", "weight_decay": 0.05},
    {"name": "adam", "weight_decay": 0.01, "amsgrad": True, "betas": [0.8, 0.9]},
    {"name": "adam", "betas": [0.3, 0.999], "eps": 1e-6},  # 1 - beta1 of 0.5 or more: lerp's other branch
    {"name": "adamw", "amsgrad": True, "betas": [0.85, 0.99], "eps": 1e-7},
    {"name": "adamw", "weight_decay": 0.0},
    {"name": "rmsprop", "centered": True, "momentum": 0.5, "weight_decay": 0.01, "eps": 1e-6},
    {"name": "rmsprop", "centered": True, "alpha": 0.3},
    {"name": "rmsprop", "momentum": 0.3},
    {"name": "rmsprop"},
    {"name": "adagrad", "lr_decay": 0.1, "weight_decay": 0.01, "eps": 1e-8},
    {"name": "adagrad"},
]


def test_the_settings_cover_every_optimizer_and_setting():
    assert {entry["name"] for entry in OPTIMIZER_SETTINGS} == set(OPTIMIZERS)
    for name, defaults in OPTIMIZERS.items():
        assert set(defaults) <= {key for entry in OPTIMIZER_SETTINGS if entry["name"] == name for key in entry}, name


@pytest.mark.parametrize("settings", OPTIMIZER_SETTINGS, ids=lambda s: "-".join(f"{k}" for k in s if k != "name")
                         or "defaults")
def test_every_optimizer_and_setting_over_several_steps(settings, tmp_path):
    name = settings["name"]
    raw = random_network([2, 3, 2], "tanh", "softmax", "cross_entropy", batch=3, seed=len(str(settings)),
                         optimizer={"lr": 0.01 if name == "rmsprop" else 0.1, "steps": 4, **settings})
    check(from_dict(raw), tmp_path)


def test_frozen_parameters_keep_their_values_and_have_no_state(tmp_path):
    raw = random_network([2, 2, 1], "relu", "sigmoid", "binary_cross_entropy", batch=2, seed=3,
                         optimizer={"name": "adam", "lr": 0.1, "steps": 3, "frozen": ["b*", "W1[1,2]"]})
    problem = from_dict(raw)
    text = python_script(problem)
    assert "m_b2_1" not in text and "m_W1_1_1" in text and "W1_1_2 is frozen" in text
    rows = check(problem, tmp_path)
    assert all(row[1] == row[3] for row in rows if row[0] in problem.optimizer.frozen)


@pytest.mark.parametrize("batch", [1, 3])
def test_without_an_optimizer_the_gradients_are_the_answer(batch, tmp_path):
    raw = random_network([2, 3, 2], "sigmoid", "softmax", "cross_entropy", batch=batch, seed=5)
    del raw["optimizer"]
    problem = from_dict(raw)
    text = python_script(problem)
    assert "for step in" not in text and "# Update" not in text
    rows = check(problem, tmp_path)
    assert all(len(row) == 3 for row in rows)


def test_names_that_are_not_python_s_and_names_python_keeps(tmp_path):
    assert [identifier(n) for n in ["W1[2,3]", "o[1]", "ln(y1)", "w1", "lambda"]] == \
        ["W1_2_3", "o_1", "ln_y1", "w1", "n_lambda"]
    # a parameter named as the script's own names, a builtin and a function the script defines
    raw = {"title": "Names", "network": {"equations": "steps = lr*x + sigmoid\nmath = softplus(steps)\n"
                                                      "L = (math - t)**2"},
           "parameters": {"lr": 0.3, "sigmoid": -0.2}, "data": {"x": [0.5, 1.5], "t": [0.1, 0.2]},
           "optimizer": {"name": "adam", "lr": 0.1, "steps": 2}}
    try:
        problem = from_dict(raw)
    except handprop.HandpropError:
        pytest.skip("such names are not accepted by the equations form")
    text = python_script(problem)
    assert "lr_ = 0.3" in text and "'lr': lr_" in text and "sigmoid_ = -0.2" in text and "def sigmoid(" in text
    assert "math_ = softplus(steps_)" in text
    check(problem, tmp_path)


def test_a_softmax_read_by_a_loss_that_is_no_cross_entropy_uses_its_jacobian(tmp_path):
    raw = random_network([2, 2, 3], "relu", "softmax", "mse", batch=2, seed=11, optimizer={"lr": 0.5, "steps": 2})
    problem = from_dict(raw)
    assert "softmax_jacobian(" in python_script(problem)
    check(problem, tmp_path)


def test_a_problem_too_large_to_work_out_is_refused_in_one_line(tmp_path, cli):
    path = tmp_path / "large.toml"
    path.write_text('[network]\ninputs = 500\nlayers = [{ units = 401 }]\nloss = "mse"\n'
                    '[parameters]\ninit = "he_uniform"\n[data]\nx = [' + ", ".join(["0.5"] * 500) + "]\n"
                    "t = [" + ", ".join(["0.0"] * 401) + ']\n[optimizer]\nlr = 0.1\n')
    result = cli(["export", str(path), "--to", "python"])
    assert result.status == 2 and result.out == ""
    assert result.err.startswith(f"handprop: error: {path}: network: too large") and result.err.count("\n") == 1


def test_an_op_with_no_python_form_is_refused_in_one_line(cli, monkeypatch):
    import functools

    monkeypatch.setattr(OPS["relu"], "forward", functools.partial(max, 0.0))
    result = cli(["export", "homework", "--to", "python"])
    assert result.status == 2 and result.out == "" and result.err.count("\n") == 1
    assert result.err.startswith("handprop: error: homework: network: no plain Python form")
