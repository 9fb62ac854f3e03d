"""Many steps: the compiled scalar path against the interpreter, the schedule, the train command."""

from __future__ import annotations

import json

import pytest

import handprop
from conftest import random_network, write
from handprop.engine.compiled import compile_program
from handprop.problem.layered import LOSSES
from handprop.core.ops import ACTIVATIONS
from handprop.problem.spec import from_dict
from handprop.engine.interpreter import run_batch
from handprop.training import schedule, train


def layered(activation: str, loss: str, batch: int = 3, seed: int = 0) -> dict:
    output = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss, "tanh")
    return random_network([2, 3, 2], activation, output, loss, batch, seed=seed, naming="sequential",
                          optimizer={"lr": 0.1})


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_compiled_path_equals_the_interpreter(activation, loss):
    problem = from_dict(layered(activation, loss))
    run = compile_program(problem.program)
    rows = list(zip(*[problem.data[n] for n in problem.program.data]))
    value, grads = run([problem.parameters[n] for n in problem.program.parameters], rows)
    expected, gradients, _ = run_batch(problem.program, problem.parameters, problem.data, problem.batch_size)
    assert value == pytest.approx(expected, rel=1e-13)
    for name, g in zip(problem.program.parameters, grads):
        assert g == pytest.approx(gradients[name], rel=1e-12, abs=1e-15), name


def assert_compiled_as_interpreted(problem) -> None:
    """The compiled loss and gradients equal the interpreter's on the problem's batch."""
    run = compile_program(problem.program)
    rows = list(zip(*[problem.data[n] for n in problem.program.data]))
    value, grads = run([problem.parameters[n] for n in problem.program.parameters], rows)
    expected, gradients, _ = run_batch(problem.program, problem.parameters, problem.data, problem.batch_size)
    assert value == pytest.approx(expected, rel=1e-13)
    assert grads == pytest.approx([gradients[n] for n in problem.program.parameters], rel=1e-12)


@pytest.mark.parametrize("example", ["homework_equations", "shared_weight"])
def test_compiled_path_on_equation_problems(example):
    problem = handprop.load(example)
    assert_compiled_as_interpreted(problem)


def test_every_function_compiles_as_the_interpreter_computes():
    text = """
u = w1*x + w2
v = exp(u/4) + sqrt(abs(u) + 1) + log(softplus(u) + 1)
a = tanh(v) * sigmoid(u) + leaky_relu(u, 0.2) - relu(-u) + w3**2 / (1 + w1**2) + (w2 + 3)**w3
p1, p2 = softmax(a, w3*u)
L = -t*log(p1) - (1 - t)*log(p2) + (a - w1)**2
"""
    problem = from_dict({"network": {"equations": text}, "parameters": {"w1": 0.3, "w2": -0.4, "w3": 0.7},
                         "data": {"x": [0.5, -1.5, 2.0], "t": [1, 0, 1]}, "optimizer": {"lr": 0.1}})
    assert_compiled_as_interpreted(problem)


def test_several_steps_agree_between_solve_and_train():
    problem = from_dict(dict(layered("relu", "cross_entropy"), optimizer={"name": "adam", "lr": 0.05, "steps": 7}))
    solved = handprop.solve(problem)
    trained = train(problem, engine="scalar")
    for name, record in solved.parameters.items():
        assert trained.final[name] == pytest.approx(record.updated, rel=1e-12)
    assert [step.loss for step in solved.history] == pytest.approx(trained.losses, rel=1e-12)


def _separately(problem, steps, batch=None):
    """Parameters and losses of `steps` steps of loss_and_gradients then step: what sgd_step fuses."""
    from handprop.engine.scalar import ScalarEngine

    machine = ScalarEngine(problem)
    optimizer = machine.make_optimizer(problem.optimizer)
    losses = []
    for k in range(steps):
        rows = None if batch is None else [(k * batch + i) % problem.batch_size for i in range(batch)]
        losses.append(machine.loss_and_gradients(rows))
        machine.step(optimizer)
    return machine, losses


@pytest.mark.parametrize("loss", ["cross_entropy", "mse", "binary_cross_entropy"])
def test_a_fused_sgd_step_is_the_separate_steps_bit_for_bit(loss):
    from handprop.engine.scalar import ScalarEngine

    problem = from_dict(layered("tanh", loss, batch=4, seed=3))
    fused = ScalarEngine(problem)
    optimizer = fused.make_optimizer(problem.optimizer)
    machine, losses = _separately(problem, 5, batch=3)
    got = [fused.sgd_step([(k * 3 + i) % 4 for i in range(3)], optimizer) for k in range(5)]
    assert got == losses and fused.values == machine.values
    assert fused.grads == machine.grads  # the last step's gradients, worked out again when asked for
    assert optimizer.t == 5


def test_train_takes_the_fused_step_and_reports_every_loss_to_the_progress_bar(monkeypatch):
    from handprop.engine.scalar import ScalarEngine

    problem = handprop.load("homework")
    machine, losses = _separately(problem, 50)
    separate = []
    original = ScalarEngine.loss_and_gradients
    monkeypatch.setattr(ScalarEngine, "loss_and_gradients", lambda self, rows=None: separate.append(rows) or
                        original(self, rows))
    seen = []
    result = train(problem, steps=50, every=10, progress=lambda step, total, loss: seen.append((step, loss)))
    assert separate == [None] * 5  # the log's five whole-data losses only: every step was fused
    assert result.losses == losses and seen == list(enumerate(losses, 1))
    assert result.final == machine.parameters()
    assert [entry.step for entry in result.log] == [10, 20, 30, 40, 50]


def test_a_fused_step_that_is_not_finite_changes_nothing_and_the_run_names_the_step(cli, tmp_path):
    from handprop.engine.scalar import ScalarEngine

    problem = handprop.load(write(tmp_path, "diverge.toml", DIVERGES))
    machine = ScalarEngine(problem)
    optimizer = machine.make_optimizer(problem.optimizer)
    machine.values = [1e200]
    assert machine.sgd_step(None, optimizer) is None and machine.values == [1e200] and optimizer.t == 0


@pytest.mark.parametrize("equation, start, lr, steps", [
    ("L = (w*x - 1)**2", 2.0, 10.0, 1000),  # the square overflows after ~120 steps: a loss that is not finite
    ("L = w*x", 2.0, 1e308, 5),  # step 1 sends w to -inf with a finite loss: parameters that are not finite
    ("L = log(w*x)", 1.0, 2.0, 5),  # step 1 makes w -1, whose log fails: arithmetic that raises
    ("L = (w*x - 1)**2", 2.0, 0.01, 250),  # nothing fails: chunks up to each log and each hundredth
])
def test_the_compiled_training_loop_ends_as_the_separate_calls_do(monkeypatch, tmp_path, equation, start, lr, steps):
    from handprop.engine.scalar import ScalarEngine
    from handprop.training import TrainingDiverged

    text = f'[network]\nequations = "{equation}"\n[parameters]\nw = {start}\n[data]\nx = 1.0\n[optimizer]\nlr = {lr}\n'
    problem = handprop.load(write(tmp_path, "p.toml", text))

    def outcome():
        seen = []
        try:
            result = train(problem, steps=steps, progress=lambda step, total, loss: seen.append(step))
        except TrainingDiverged as error:
            return error.line(), error.result.final, error.result.losses, [e.step for e in error.result.log], seen
        return None, result.final, result.losses, [e.step for e in result.log], seen

    fast = outcome()
    monkeypatch.setattr(ScalarEngine, "sgd_steps", property(lambda self: None))  # no loop: one call per step
    assert outcome() == fast
    monkeypatch.setattr(ScalarEngine, "sgd_step", property(lambda self: None))  # no fused step: separate calls
    assert outcome() == fast


def test_schedule_is_deterministic_and_covers_every_sample():
    first = [list(r) for r in schedule(10, steps=None, epochs=3, batch_size=4, shuffle=True, seed=5)]
    again = [list(r) for r in schedule(10, steps=None, epochs=3, batch_size=4, shuffle=True, seed=5)]
    other = [list(r) for r in schedule(10, steps=None, epochs=3, batch_size=4, shuffle=True, seed=6)]
    assert first == again and first != other
    assert len(first) == 9 and [len(r) for r in first[:3]] == [4, 4, 2]
    for epoch in range(3):
        assert sorted(i for r in first[3 * epoch:3 * epoch + 3] for i in r) == list(range(10))
    assert [list(r) for r in schedule(10, steps=5, epochs=None, batch_size=4, shuffle=False, seed=0)] == \
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3], [4, 5, 6, 7]]


def test_mini_batches_follow_the_schedule():
    raw = layered("tanh", "mse", batch=4)
    problem = from_dict(raw)
    from handprop.problem.spec import TrainingConfig
    import dataclasses

    problem = dataclasses.replace(problem, training=TrainingConfig(batch_size=2, epochs=None, shuffle=False))
    result = train(problem, steps=2, engine="scalar")
    # Step 2's loss is samples 2 and 3's, at the parameters after step 1 on samples 0 and 1.
    first = {name: problem.data[name][:2] for name in problem.data}
    loss, gradients, _ = run_batch(problem.program, problem.parameters, first, 2)
    after = {n: v - 0.1 * gradients[n] for n, v in problem.parameters.items()}
    second = {name: problem.data[name][2:] for name in problem.data}
    expected, _, _ = run_batch(problem.program, after, second, 2, backward=False)
    assert result.losses == pytest.approx([loss, expected], rel=1e-12)


DIVERGES = """[network]
equations = \"\"\"
L = (w*x - 1)**2
\"\"\"
[parameters]
w = 2.0
[data]
x = 1.0
[optimizer]
lr = 10
"""


def test_a_loss_that_overflows_stops_the_run_and_keeps_the_last_good_parameters(cli, tmp_path):
    # Too large a learning rate: each step multiplies w - 1 by -19, until the square overflows.
    path = write(tmp_path, "diverge.toml", DIVERGES)
    result = cli(["train", path, "--steps", "1000"])
    assert result.status == 2
    assert len(result.err.splitlines()) == 1 and result.err.startswith(f"handprop: error: {path}: step ")
    assert "node L (line 3)" in result.err and "overflows" in result.err
    assert "training stopped" in result.err and "last good parameters" in result.err
    step = int(result.err.split("step ")[1].split(",")[0])
    assert 100 < step < 150  # |w - 1| = 19^(step - 1) squared passes 1e308 near step 122
    printed = {line.split()[0]: line.split()[1:] for line in cli(["train", path, "--steps", "1000", "--decimals", "15"]
                                                                  ).out.splitlines() if line.startswith("w ")}
    # The loss failed at the parameters step - 1 steps gave; the last good ones are one step earlier.
    expected = 1 + (-19.0) ** (step - 2)
    assert float(printed["w"][1]) == pytest.approx(expected, rel=1e-9)


def test_train_command_formats(cli, tmp_path):
    table = cli(["train", "homework", "--steps", "20", "--every", "5"])
    assert table.status == 0 and table.err == ""  # no progress bar when standard error is not a terminal
    assert [line.split()[0] for line in table.out.splitlines()[4:8]] == ["5", "10", "15", "20"]
    document = json.loads(cli(["train", "homework", "--steps", "20", "--format", "json"]).out)
    assert document["steps"] == 20 and len(document["losses"]) == 20
    solved = handprop.solve(handprop.load("homework"), steps=20)
    assert document["parameters"]["w1"]["final"] == pytest.approx(solved.parameters["w1"].updated, rel=1e-12)
    rows = cli(["train", "homework", "--steps", "20", "--format", "csv"]).out.splitlines()
    assert rows[0] == "kind,step,name,value" and any(r.startswith("parameter,20,w1,") for r in rows)


def test_train_plot(cli, tmp_path):
    pytest.importorskip("matplotlib")
    for suffix, start in ((".png", b"\x89PNG"), (".svg", b"<?xml")):
        path = tmp_path / f"loss{suffix}"
        assert cli(["train", "homework", "--steps", "30", "--plot", str(path)]).status == 0
        assert path.read_bytes().startswith(start)


@pytest.mark.parametrize("args, fragment", [
    (["train", "homework", "--steps", "0"], "--steps: 0 is not a positive whole number"),
    (["train", "homework", "--epochs", "-2"], "--epochs: -2 is not a positive whole number"),
    (["train", "homework", "--every", "0"], "--every: 0 is not a positive whole number"),
    (["train", "homework", "--steps", "x"], "invalid int value: 'x'"),
    (["train", "homework", "--steps", "3", "--epochs", "3"], "not allowed with argument"),
    (["train", "homework", "--plot", "loss.jpg"], "a file ending in .png or .svg"),
    (["train", "shared_weight", "--engine", "numpy"], "the NumPy engine takes layered networks only"),
    (["train", "homework", "--engine", "scalar", "--dtype", "float32"], "the scalar engine computes in Python floats"),
    (["train"], "the following arguments are required: FILE"),
])
def test_train_bad_usage(cli, args, fragment):
    result = cli(args)
    assert result.status == 2 and result.out == "" and len(result.err.splitlines()) == 1
    assert fragment in result.err
