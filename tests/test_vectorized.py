"""The NumPy engine against the scalar engine: loss, every gradient and the optimizer's steps, to 1e-12."""

from __future__ import annotations


import pytest

import handprop
from conftest import random_network
from handprop.core.optim import Optimizer, optimizer_step
from handprop.problem.optimizer_form import optimizer_config
from handprop.problem.spec import from_dict
from handprop.engine.interpreter import run_batch

np = pytest.importorskip("numpy")
from handprop.engine.numpy_engine import NumpyEngine  # noqa: E402  (needs NumPy)

REL, ABS = 1e-12, 1e-14


def scalar_steps(problem, steps: int):
    """The scalar path: loss and gradients at the start, and the parameters after `steps` steps."""
    loss, gradients, _ = run_batch(problem.program, problem.parameters, problem.data, problem.batch_size)
    optimizer = Optimizer(problem.optimizer)
    current = optimizer_step(optimizer, problem.parameters, gradients)
    for _ in range(steps - 1):
        _, step_gradients, _ = run_batch(problem.program, current, problem.data, problem.batch_size)
        current = optimizer_step(optimizer, current, step_gradients)
    return loss, gradients, current


def engine_steps(problem, steps: int):
    engine = NumpyEngine(problem)
    optimizer = engine.make_optimizer(problem.optimizer)
    loss = engine.loss_and_gradients()
    gradients = engine.gradients()
    engine.step(optimizer)
    for _ in range(steps - 1):
        engine.loss_and_gradients()
        engine.step(optimizer)
    return loss, gradients, engine.parameters()


def assert_same(problem, steps: int = 3) -> None:
    loss, gradients, updated = scalar_steps(problem, steps)
    fast_loss, fast_gradients, fast_updated = engine_steps(problem, steps)
    assert fast_loss == pytest.approx(loss, rel=REL, abs=ABS)
    assert list(fast_gradients) == list(gradients) == list(problem.program.parameters)
    for name in gradients:
        assert fast_gradients[name] == pytest.approx(gradients[name], rel=REL, abs=ABS), name
        assert fast_updated[name] == pytest.approx(updated[name], rel=REL, abs=ABS), name


HIDDEN = ["identity", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "softmax"]
# (output activation, loss): each loss with an output that keeps it in its domain.
HEADS = [("softmax", "cross_entropy"), ("sigmoid", "cross_entropy"), ("sigmoid", "binary_cross_entropy"),
         ("identity", "mse"), ("tanh", "mse"), ("identity", "half_sse"), ("softplus", "half_sse"),
         ("softmax", "mse")]
SHAPES = [([2, 3, 2], 1), ([3, 4, 3, 2], 5)]


@pytest.mark.parametrize("widths, batch", SHAPES, ids=["single", "batch"])
@pytest.mark.parametrize("output, loss", HEADS, ids=[f"{o}-{l}" for o, l in HEADS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_agrees_with_scalar_engine(hidden, output, loss, widths, batch):
    naming = "sequential" if batch == 1 else "layered"
    raw = random_network(widths, hidden, output, loss, batch, seed=len(widths) + batch, naming=naming)
    assert_same(from_dict(raw))


OPTIMIZER_CASES = [
    {"name": "sgd", "lr": 0.3},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    {"name": "sgd", "lr": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1},
    {"name": "sgd", "lr": 0.1, "weight_decay": 0.2},
    {"name": "adam", "lr": 0.01},
    {"name": "adam", "lr": 0.02, "betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True},
    {"name": "adamw", "lr": 0.01},
    {"name": "adamw", "lr": 0.03, "betas": [0.85, 0.99], "eps": 1e-7, "weight_decay": 0.2, "amsgrad": True},
    {"name": "rmsprop", "lr": 0.01},
    {"name": "rmsprop", "lr": 0.01, "alpha": 0.9, "eps": 1e-6, "momentum": 0.5, "centered": True,
     "weight_decay": 0.05},
    {"name": "adagrad", "lr": 0.1},
    {"name": "adagrad", "lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "eps": 1e-8},
]


@pytest.mark.parametrize("section", OPTIMIZER_CASES, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_optimizers_agree_with_scalar_path(section):
    raw = random_network([3, 4, 3], "tanh", "softmax", "cross_entropy", 4, seed=11, optimizer=section)
    assert_same(from_dict(raw), steps=5)


def test_every_optimizer_setting_is_covered():
    from handprop.core.optim import OPTIMIZERS

    for name, defaults in OPTIMIZERS.items():
        given = {key for case in OPTIMIZER_CASES if case["name"] == name for key in case}
        assert set(defaults) <= given, name


def test_relu_at_its_kink():
    # h1 = 0.5*1 - 0.25*2 + 0 = 0 exactly: relu'(0) = 0, so unit 1's weights get no gradient.
    raw = {"network": {"inputs": 2, "layers": [{"units": 2, "activation": "relu"},
                                               {"units": 2, "activation": "softmax"}],
                       "loss": "cross_entropy", "naming": "layered"},
           "parameters": {"W1": [[0.5, -0.25], [0.3, 0.2]], "b1": [0.0, 0.1],
                          "W2": [[0.4, -0.6], [0.2, 0.7]], "b2": [0.0, 0.0]},
           "data": {"x": [1.0, 2.0], "t": [0, 1]}, "optimizer": {"lr": 0.5}}
    problem = from_dict(raw)
    assert_same(problem)
    engine = NumpyEngine(problem)
    engine.loss_and_gradients()
    assert engine.gradients()["W1[1,1]"] == 0.0 and engine.gradients()["b1[1]"] == 0.0


@pytest.mark.parametrize("target", [[1, 0], [0, 1]])
def test_large_logits(target):
    # Logits +50 and -50: y2 = e^-100 / (1 + e^-100), ln y2 = -100 from the logits.
    raw = {"network": {"inputs": 1, "layers": [{"units": 2, "activation": "softmax"}],
                       "loss": "cross_entropy", "naming": "layered"},
           "parameters": {"W1": [[50.0], [-50.0]], "b1": [0.0, 0.0]},
           "data": {"x": [1.0], "t": target}, "optimizer": {"lr": 0.1}}
    problem = from_dict(raw)
    assert_same(problem, steps=2)
    assert NumpyEngine(problem).loss_and_gradients() == pytest.approx(100.0 if target == [0, 1] else 0.0,
                                                                      rel=1e-12, abs=1e-40)


@pytest.mark.parametrize("hidden", ["sigmoid", "softplus", "tanh"])
def test_large_preactivations(hidden):
    raw = random_network([2, 3, 2], hidden, "sigmoid", "binary_cross_entropy", 3, seed=5)
    raw["parameters"]["W1"] = [[30.0, -25.0], [-40.0, 10.0], [0.5, 0.25]]  # x up to 2: |h| up to 100
    raw["parameters"]["W2"] = [[0.05, -0.02, 0.03], [-0.04, 0.01, 0.02]]  # outputs away from 0 and 1
    raw["optimizer"] = {"lr": 0.001}  # and small steps keep them there
    assert_same(from_dict(raw))


def test_float32_loss():
    raw = random_network([4, 8, 8, 3], "tanh", "softmax", "cross_entropy", 16, seed=3)
    problem = from_dict(raw)
    single = NumpyEngine(problem, dtype="float32")
    double = NumpyEngine(problem)
    assert single.W[1].dtype == np.float32
    assert single.loss_and_gradients() == pytest.approx(double.loss_and_gradients(), rel=1e-5)
    assert single.dL_dW[1].dtype == np.float32
    single.step(single.make_optimizer(problem.optimizer))
    assert single.W[1].dtype == np.float32


@pytest.mark.parametrize("rows", [[4, 0, 2], [1, 2, 3], slice(1, 4), np.array([5, 5, 1])],
                         ids=["list", "consecutive", "slice", "array"])
def test_rows_are_a_problem_of_those_rows(rows):
    raw = random_network([3, 4, 2], "relu", "softmax", "cross_entropy", 6, seed=8)
    engine = NumpyEngine(from_dict(raw))
    picked = list(range(6))[rows] if isinstance(rows, slice) else list(rows)
    raw["data"] = {key: [raw["data"][key][k] for k in picked] for key in ("x", "t")}
    alone = NumpyEngine(from_dict(raw))
    assert engine.loss_and_gradients(rows) == pytest.approx(alone.loss_and_gradients(), rel=REL)
    for name, value in alone.gradients().items():
        assert engine.gradients()[name] == pytest.approx(value, rel=REL, abs=ABS)
    assert engine.outputs(rows) == pytest.approx(alone.outputs(), rel=REL)
    # The full batch afterwards still uses every sample.
    assert engine.loss_and_gradients() == pytest.approx(NumpyEngine(from_dict(random_network(
        [3, 4, 2], "relu", "softmax", "cross_entropy", 6, seed=8))).loss_and_gradients(), rel=REL)


def test_outputs_are_the_scalar_engine_outputs():
    problem = from_dict(random_network([3, 5, 2], "softplus", "sigmoid", "binary_cross_entropy", 4, seed=2))
    _, _, traces = run_batch(problem.program, problem.parameters, problem.data, problem.batch_size)
    expected = [[trace.values[name] for name in problem.program.outputs] for trace in traces]
    assert NumpyEngine(problem).outputs() == pytest.approx(np.array(expected), rel=REL)


def test_accuracy():
    softmax = {"network": {"inputs": 2, "layers": [{"units": 2, "activation": "softmax"}],
                           "loss": "cross_entropy", "naming": "layered"},
               "parameters": {"W1": [[1.0, 0.0], [0.0, 1.0]], "b1": [0.0, 0.0]},
               "data": {"x": [[1, 0], [0, 1], [2, 1], [0, 3]], "t": [[1, 0], [0, 1], [0, 1], [0, 1]]},
               "optimizer": {"lr": 0.1}}
    engine = NumpyEngine(from_dict(softmax))
    assert engine.accuracy() == 0.75  # the third sample's argmax is the wrong class
    assert engine.accuracy(rows=[0, 1]) == 1.0
    binary = {"network": {"inputs": 1, "layers": [{"units": 1, "activation": "sigmoid"}],
                          "loss": "binary_cross_entropy", "naming": "layered"},
              "parameters": {"W1": [[1.0]], "b1": [0.0]},
              "data": {"x": [[1.0], [-1.0], [2.0]], "t": [[1], [1], [1]]}, "optimizer": {"lr": 0.1}}
    assert NumpyEngine(from_dict(binary)).accuracy() == pytest.approx(2 / 3)
    binary["network"]["loss"] = "mse"
    assert NumpyEngine(from_dict(binary)).accuracy() is None


def test_homework():
    problem = handprop.load("homework")
    solution = handprop.solve(problem)
    engine = NumpyEngine(problem)
    assert engine.loss_and_gradients() == pytest.approx(solution.loss, rel=REL)
    gradients = engine.gradients()
    assert list(gradients) == list(solution.parameters)
    for name, record in solution.parameters.items():
        assert gradients[name] == pytest.approx(record.gradient, rel=REL, abs=ABS), name
    engine.step(engine.make_optimizer(problem.optimizer))
    for name, value in engine.parameters().items():
        assert value == pytest.approx(solution.parameters[name].updated, rel=REL, abs=ABS), name
    assert engine.loss_and_gradients() == pytest.approx(solution.loss_after, rel=REL)


def test_parameters_round_trip_and_scalar_optimizer():
    problem = handprop.load("homework")
    engine = NumpyEngine(problem)
    assert engine.parameters() == problem.parameters
    engine.set_parameters({"w12": -1.5, "b2": 2.0})
    assert engine.W[2][1, 2] == -1.5 and engine.b[1][1] == 2.0
    engine.set_parameters(problem.parameters)
    assert engine.parameters() == problem.parameters
    with pytest.raises(ValueError, match="w13"):
        engine.set_parameters({"w13": 1.0})
    # An Optimizer built for the scalar path works too.
    engine.loss_and_gradients()
    engine.step(Optimizer(optimizer_config({"name": "adam", "lr": 0.01}, "test")))
    assert engine.parameters()["w1"] == pytest.approx(0.1 - 0.01, rel=1e-6)


def test_equations_problem_is_refused():
    with pytest.raises(ValueError, match="layered"):
        NumpyEngine(handprop.load("homework_equations"))


def test_loss_outside_its_domain_is_an_error():
    raw = random_network([1, 1], "identity", "identity", "mse", 1)
    raw["network"]["loss"] = "cross_entropy"
    raw["data"]["t"] = [[1.0]]
    raw["parameters"] = {"W1": [[-1.0]], "b1": [0.0]}
    raw["data"]["x"] = [[1.0]]
    with pytest.raises(handprop.HandpropError, match="not finite"), np.errstate(invalid="ignore"):
        NumpyEngine(from_dict(raw)).loss_and_gradients()


def test_handprop_does_not_import_numpy():
    import subprocess
    import sys

    code = "import sys, handprop; handprop.solve(handprop.load('homework')); print('numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_every_activation_and_loss_has_a_kernel():
    from handprop.engine import numpy_kernels as vectorized_kernels
    from handprop.problem.layered import LOSSES
    from handprop.core.ops import ACTIVATIONS

    assert set(vectorized_kernels.ACTIVATIONS) == set(ACTIVATIONS)
    assert set(vectorized_kernels.LOSSES) == set(LOSSES)


def test_consecutive_rows_are_a_view_of_the_data():
    engine = NumpyEngine(from_dict(random_network([3, 4, 2], "relu", "softmax", "cross_entropy", 6, seed=8)))
    for rows in ([1, 2, 3], range(2, 6), slice(0, 6)):
        x, t = engine.samples.batch(rows)
        assert np.shares_memory(x, engine.X) and np.shares_memory(t, engine.T), rows
    for rows, picked in (([3, 2, 1], [3, 2, 1]), ([True, False, True, False, False, False], [0, 2]), ([-1], [5])):
        x, t = engine.samples.batch(rows)
        assert not np.shares_memory(x, engine.X)
        assert x.tolist() == engine.X[picked].tolist() and t.tolist() == engine.T[picked].tolist()
    with pytest.raises(IndexError):
        engine.samples.batch([5, 6])


def test_snapshot_keeps_the_latest_parameters():
    problem = handprop.load("homework")
    engine = NumpyEngine(problem)
    token = engine.snapshot()
    engine.loss_and_gradients()
    engine.step(engine.make_optimizer(problem.optimizer))
    assert engine.parameters_of(token) == problem.parameters != engine.parameters()
    newer = engine.snapshot()
    assert engine.parameters_of(newer) == engine.parameters()
    with pytest.raises(ValueError, match="only the latest"):
        engine.parameters_of(token)


def test_train_keeps_the_last_good_parameters_on_the_numpy_engine():
    from handprop.training import TrainingDiverged, train

    raw = random_network([2, 3, 1], "identity", "identity", "mse", 3, seed=4, optimizer={"lr": 40.0})
    problem = from_dict(raw)
    engine = NumpyEngine(problem)
    optimizer = engine.make_optimizer(problem.optimizer)
    with np.errstate(all="ignore"):
        with pytest.raises(handprop.HandpropError, match="not finite"):
            for _ in range(1000):  # the engine refuses a loss that is not finite
                engine.loss_and_gradients()
                last_good = engine.parameters()
                engine.step(optimizer)
        with pytest.raises(TrainingDiverged) as stopped:
            train(problem, steps=1000, engine="numpy")
    assert stopped.value.result.engine == "numpy"
    assert stopped.value.result.final == last_good


@pytest.mark.parametrize("section", [{"name": "sgd", "lr": 0.3}, {"name": "adam", "lr": 0.01}], ids=["sgd", "adam"])
def test_the_update_in_chunks_is_the_update(monkeypatch, section):
    from handprop.engine import numpy_engine as vectorized

    monkeypatch.setattr(vectorized, "_SGD_CHUNK", 7)  # the 17 homework parameters in 3 chunks, the last short
    problem = from_dict(random_network([3, 4, 3], "tanh", "softmax", "cross_entropy", 4, seed=11, optimizer=section))
    assert_same(problem, steps=3)
    engine = NumpyEngine(problem, dtype="float32")
    engine.loss_and_gradients()
    engine.step(engine.make_optimizer(problem.optimizer))
    assert engine.theta.dtype == np.float32 and np.shares_memory(engine.W[1], engine.theta)
    assert np.shares_memory(engine.dL_db[2], engine.gradient)
