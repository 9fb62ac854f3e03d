"""`handprop verify`: the examples pass, a wrong derivative fails and is named, a kink is a kink, bad usage is 2."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from conftest import write
import handprop
from handprop.core import ops
from handprop.problem.spec import from_dict, load
from handprop.verify import KINK, ONE_SIDED, ROUNDED, TORCH_MISSING, verify

HAS_TORCH = importlib.util.find_spec("torch") is not None
EXAMPLES = ["homework", "homework_equations", "shared_weight", "regression_batch", "logistic_bce", "xor"]

# relu's argument w*x + b is exactly 0: w and b sit on its kink; v does not.
KINKED = {
    "network": {"equations": "h = w*x + b\na = relu(h)\nL = (a + v*x - t)**2"},
    "parameters": {"w": 0.5, "b": -0.5, "v": 0.3},
    "data": {"x": 1.0, "t": 2.0},
    "optimizer": {"lr": 0.1},
}


@pytest.fixture
def without_torch(monkeypatch):
    """As if torch were not installed: `import torch` raises ImportError."""
    monkeypatch.setitem(sys.modules, "torch", None)


@pytest.fixture
def wrong_tanh(monkeypatch):
    """tanh's derivative doubled: every gradient that flows through a tanh is wrong."""
    op = ops.OPS["tanh"]
    monkeypatch.setitem(ops.OPS, "tanh", op.replace(partials=lambda x, out: (2 * (1 - out * out),)))


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_examples_pass(cli, name):
    result = cli(["verify", name])
    assert result.status == 0, result.out
    lines = result.out.splitlines()
    assert lines[0].startswith("handprop verify ") and "tolerance 1e-06 relative" in lines[1]
    assert lines[-1].startswith("verdict: ok, all ")
    if HAS_TORCH:
        assert "PyTorch" in lines[2] and "tolerance 1e-10 relative" in lines[2] and "torch gradient" in result.out
        assert lines[-1].endswith("torch.optim's") and "loss: handprop" in lines[3]
    else:
        assert TORCH_MISSING in result.out


def test_the_torch_check_is_made_and_reported():
    pytest.importorskip("torch")
    report = verify(load("xor"))
    assert report.torch_version and report.torch_skipped is None and report.steps == 200
    assert report.torch_loss_error <= 1e-12
    for check in report.checks:
        assert check.torch_gradient_error <= 1e-12 and check.torch_update_error <= 1e-12, check


def test_without_torch_the_finite_differences_still_run(cli, without_torch):
    result = cli(["verify", "regression_batch"])
    assert result.status == 0
    assert TORCH_MISSING in result.out.splitlines()[2]
    assert "torch gradient" not in result.out and "W1[1,1]" in result.out
    document = json.loads(cli(["verify", "regression_batch", "--format", "json"]).out)
    assert document["torch"] == {"version": None, "skipped": TORCH_MISSING}
    assert document["parameters"]["b2[1]"]["torch_gradient"] is None


def _table(out: str) -> list[str]:
    """The table's rows, worst first: from below the dashes to the first blank line."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("----")) + 1
    end = lines.index("", start)
    return [line for line in lines[start:end] if not line.startswith("...")]


def _status(out: str) -> dict:
    """name -> the status cell of its row."""
    return {row.split()[0]: row.split("  ")[-1].strip() for row in _table(out)}


@pytest.mark.parametrize("torch_present", [True, False], ids=["with-torch", "without-torch"])
def test_a_wrong_derivative_fails_and_names_its_parameters(cli, wrong_tanh, monkeypatch, torch_present):
    if torch_present:
        pytest.importorskip("torch")
    else:
        monkeypatch.setitem(sys.modules, "torch", None)
    result = cli(["verify", "regression_batch"])
    assert result.status == 1
    # The hidden layer's parameters reach the loss through tanh; the output layer's do not.
    wrong = ["W1[1,1]", "W1[1,2]", "W1[2,1]", "W1[2,2]", "b1[1]", "b1[2]"]
    status = _status(result.out)
    for name in wrong:
        assert status[name].startswith("FAIL: finite difference"), (name, status[name])
        if torch_present:
            assert "torch gradient" in status[name] and "torch update" in status[name]
    for name in ("W2[1,1]", "W2[1,2]", "b2[1]"):
        assert status[name] == "ok"
    verdict = result.out.splitlines()[-1]
    assert verdict.startswith("verdict: FAILED, 6 of 9 parameters disagree (")
    assert all(name in verdict for name in wrong)
    # Worst first: the failures head the table.
    assert {row.split()[0] for row in _table(result.out)[:6]} == set(wrong)


def test_a_wrong_derivative_in_json(cli, wrong_tanh):
    result = cli(["verify", "regression_batch", "--format", "json"])
    assert result.status == 1
    document = json.loads(result.out)
    assert document["passed"] is False
    assert document["failures"] == ["W1[1,1]", "W1[1,2]", "W1[2,1]", "W1[2,2]", "b1[1]", "b1[2]"]
    assert document["parameters"]["W1[1,1]"]["status"] == "fail"
    assert "finite difference" in document["parameters"]["W1[1,1]"]["failed"]
    assert document["parameters"]["b2[1]"]["status"] == "ok"


def test_relu_at_exactly_zero_is_a_kink_not_a_failure(cli, tmp_path):
    path = write(tmp_path, "kink.json", json.dumps(KINKED))
    result = cli(["verify", path])
    assert result.status == 0, result.out
    status = _status(result.out)
    assert status["w"] == status["b"] == KINK and status["v"] == "ok"
    assert "2 kinks not held to finite differences (w, b)" in result.out.splitlines()[-1]
    report = verify(from_dict(KINKED))
    w = report.checks[0]
    # relu'(0) = 0 gives 0; the central difference straddles the kink and sees half of the other side's slope.
    assert w.gradient == 0.0 and w.finite_difference == pytest.approx(-1.7, rel=1e-5)
    assert report.passed and [c.name for c in report.kinks] == ["w", "b"]


def test_a_kink_does_not_hide_a_real_failure(wrong_tanh):
    raw = json.loads(json.dumps(KINKED))
    raw["network"]["equations"] = "h = w*x + b\na = relu(h)\nL = (a + tanh(v*x) - t)**2"
    report = verify(from_dict(raw), use_torch=False)
    assert [c.name for c in report.failures] == ["v"] and [c.name for c in report.kinks] == ["w", "b"]
    assert not report.passed


def test_a_one_sided_difference_where_the_loss_ends():
    # w**3.5 is not defined below 0, and w - h is below 0: the difference is taken on the right only.
    raw = {"network": {"equations": "L = w**3.5 + v*x"}, "parameters": {"w": 3e-6, "v": 0.5},
           "data": {"x": 2.0}, "optimizer": {"lr": 0.1}}
    report = verify(from_dict(raw), use_torch=False)
    w = report.checks[0]
    assert w.note == ONE_SIDED and w.status == "ok" and report.passed


def test_steps_and_tolerances_are_used(cli):
    result = cli(["verify", "logistic_bce", "--steps", "5", "--tolerance", "1e-7", "--torch-tolerance", "1e-9"])
    assert result.status == 0
    assert "5 steps" in result.out.splitlines()[0] and "tolerance 1e-07 relative" in result.out
    # A tolerance of 0 asks for exact agreement with finite differences, which no step gives.
    assert cli(["verify", "logistic_bce", "--tolerance", "0"]).status == 1


def test_only_the_worst_twenty_rows_unless_all(cli, tmp_path):
    raw = {"network": {"inputs": 3, "layers": [{"units": 4, "activation": "tanh"}, {"units": 2}], "loss": "mse"},
           "parameters": {"w": [0.1 * (i % 7) - 0.3 for i in range(20)], "b": [0.1, -0.2, 0.3, 0.0, 0.2, -0.1]},
           "data": {"x": [0.5, -1.0, 2.0], "t": [0.2, -0.4]}, "optimizer": {"lr": 0.1}}
    path = write(tmp_path, "wide.json", json.dumps(raw))
    short = cli(["verify", path]).out
    assert "... 6 more rows, each better than those above (--all shows them)" in short
    assert len(_status(short)) == 20
    every = cli(["verify", path, "--all"]).out
    assert len(_status(every)) == 26 and "more rows" not in every


def test_json_document(cli):
    pytest.importorskip("torch")
    result = cli(["verify", "homework", "--format", "json"])
    assert result.status == 0
    document = json.loads(result.out)
    assert set(document) == {"title", "source", "passed", "batch_size", "optimizer", "tolerances", "torch", "loss",
                             "failures", "kinks", "unresolved", "parameters"}
    assert document["passed"] is True and document["failures"] == [] and document["kinks"] == []
    assert document["tolerances"] == {"finite_difference": 1e-6, "torch": 1e-10}
    assert list(document["parameters"]) == [f"w{i}" for i in range(1, 13)] + [f"b{i}" for i in range(1, 6)]
    w7 = document["parameters"]["w7"]
    assert set(w7) == {"gradient", "step", "finite_difference", "finite_difference_error", "torch_gradient",
                       "torch_gradient_error", "updated", "torch_updated", "torch_update_error", "gradient_rounding",
                       "update_rounding", "status",
                       "failed", "note"}
    assert w7["step"] == pytest.approx(6.0554544523933395e-06, rel=1e-3) and w7["status"] == "ok"


@pytest.mark.parametrize("args, place", [
    (["--tolerance", "-1"], "--tolerance"),
    (["--torch-tolerance", "nan"], "--torch-tolerance"),
    (["--steps", "0"], "--steps"),
    (["--tolerance", "small"], "invalid float value"),
    (["--format", "csv"], "invalid choice"),
])
def test_bad_usage_is_one_line_and_exit_2(cli, args, place):
    result = cli(["verify", "homework", *args])
    assert result.status == 2 and result.out == ""
    assert result.err.startswith("handprop: error: ") and result.err.count("\n") == 1 and place in result.err


def test_a_bad_file_is_one_line_and_exit_2(cli, tmp_path):
    result = cli(["verify", str(tmp_path / "missing.toml")])
    assert result.status == 2 and result.err.count("\n") == 1 and result.err.startswith("handprop: error: ")
    path = write(tmp_path, "bad.json", json.dumps({"network": {"equations": "L = w*"}, "parameters": {"w": 1},
                                                   "data": {}, "optimizer": {"lr": 0.1}}))
    result = cli(["verify", path])
    assert result.status == 2 and "syntax error" in result.err and result.err.count("\n") == 1


def test_the_api_refuses_bad_settings():
    from handprop import HandpropError

    with pytest.raises(HandpropError, match="not a tolerance"):
        verify(load("homework"), tolerance=-1.0)
    with pytest.raises(HandpropError, match="steps: is 0 .a whole number of 1 or more."):
        verify(load("homework"), steps=0)


def test_an_op_without_a_torch_counterpart_is_reported_not_failed(cli, monkeypatch):
    pytest.importorskip("torch")
    from handprop.pytorch import oracle as torch_program

    every = torch_program.torch_ops
    monkeypatch.setattr(torch_program, "torch_ops", lambda: {k: v for k, v in every().items() if k != "tanh"})
    result = cli(["verify", "regression_batch"])
    assert result.status == 0
    assert "PyTorch check skipped: node a1[1]: op 'tanh' has no PyTorch counterpart" in result.out.splitlines()[2]
    assert result.out.splitlines()[-1] == "verdict: ok, all 9 gradients agree with finite differences"


# Three Adagrad steps with eps = 1e-10 on gradients of 5e-9 that cancel: each step is scaled up to about lr,
# so rounding in the last place of a gradient moves the result by 1e-11. handprop and torch differ by that
# much; the jittered runs move by as much, so it is rounding, not an error.
TINY_GRADIENTS = {
    "network": {"inputs": 4, "layers": [{"units": 1, "activation": "identity"}, {"units": 4, "activation": "sigmoid"}],
                "loss": "binary_cross_entropy"},
    "parameters": {"w": [0.0] * 7 + [1.0], "b": [-4.264077066831162e-08, 0.0, 0.0, 0.0, 0.0]},
    "data": {"x": [[0.0] * 4, [0.0] * 4], "t": [[0.0] * 4, [0.0, 0.0, 0.0, 1.0]]},
    "optimizer": {"name": "adagrad", "lr": 0.5, "steps": 3, "eps": 1e-10},
}


def test_rounding_that_the_steps_amplify_is_not_a_failure():
    pytest.importorskip("torch")
    report = verify(from_dict(TINY_GRADIENTS))
    w5 = next(check for check in report.checks if check.name == "w5")
    assert w5.torch_update_error > report.torch_tolerance  # plainly above 1e-10 ...
    assert abs(w5.updated - w5.torch_updated) < w5.update_rounding  # ... but within what rounding moves it
    assert w5.status == "ok" and w5.note == ROUNDED and report.passed
    # The allowance is no wider than the computation makes it: elsewhere it stays at rounding level.
    homework = verify(load("homework"))
    assert max(check.update_rounding for check in homework.checks) < 1e-14


# A sigmoid output of 9.4e-14 with target 1: binary cross-entropy's gradient (y - t) / max(y(1 - y), ε) is
# clamped. torch's ε is `constexpr float EPSILON = 1e-12` in ATen's loss kernels, 9.999999960041972e-13 as a
# double; with 1e-12 itself every clamped gradient would differ from torch's by 4.0e-9 (relative).
SATURATED_BCE = {
    "network": {"inputs": 1, "layers": [{"units": 1, "activation": "sigmoid"}], "loss": "binary_cross_entropy"},
    "parameters": {"w": [-30.0], "b": [0.0]}, "data": {"x": [1.0], "t": [1.0]}, "optimizer": {"lr": 0.1},
}


def test_clamped_binary_cross_entropy_gradient_agrees_with_torch():
    torch = pytest.importorskip("torch")
    solution = handprop.solve(from_dict(SATURATED_BCE))
    w = torch.tensor([[-30.0]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    y = torch.sigmoid(torch.tensor([[1.0]], dtype=torch.float64) @ w.T + b)
    torch.nn.BCELoss()(y, torch.tensor([[1.0]], dtype=torch.float64)).backward()
    assert solution.parameters["w1"].gradient == pytest.approx(w.grad.item(), rel=1e-12)
    assert solution.parameters["b1"].gradient == pytest.approx(b.grad.item(), rel=1e-12)


# RMSprop with eps = 1e-10: a gradient that is exactly 0 (two samples' terms cancel) in handprop and torch,
# and 1e-18 in another order of summation, becomes a step of size lr in the direction of its sign.
CHAOTIC_STEPS = {
    "network": {"inputs": 1, "layers": [{"units": 1, "activation": "identity"}, {"units": 4, "activation": "identity"},
                                        {"units": 4, "activation": "identity"}, {"units": 3, "activation": "sigmoid"}],
                "loss": "binary_cross_entropy"},
    "parameters": {"w": [0.0] * 28 + [1.0] + [0.0] * 4, "b": [0.0] * 12},
    "data": {"x": [[0.0], [0.0]], "t": [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]},
    "optimizer": {"name": "rmsprop", "lr": 0.5, "steps": 3, "alpha": 0.5, "eps": 1e-10},
}


def test_values_that_rounding_alone_moves_far_are_not_held_to_torch(cli, tmp_path):
    pytest.importorskip("torch")
    result = cli(["verify", write(tmp_path, "chaotic.json", json.dumps(CHAOTIC_STEPS))])
    assert result.status == 0
    status = _status(result.out)
    assert status["w33"] == "ok (not held to PyTorch: rounding alone moves it by 0.008 (torch update))"
    assert result.out.splitlines()[-1].endswith("3 not held to PyTorch, which rounding alone moves too far "
                                                "(w33, b9, b12)")
    # The rows come after failures and kinks and before the rest.
    assert [row.split()[0] for row in _table(result.out)[:3]] == ["b9", "w33", "b12"]
