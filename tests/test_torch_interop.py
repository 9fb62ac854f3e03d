"""PyTorch interop: from_torch, to_torch, and the script `handprop export --to torch` writes, each held
to torch's own numbers in float64."""

import json
import subprocess
import sys

import pytest

import handprop
from handprop import HandpropError

torch = pytest.importorskip("torch")
nn = torch.nn
TOLERANCE = 1e-12
F64 = torch.float64


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a), abs(b))


def linear_tensors(model) -> list:
    return [m for m in model if isinstance(m, nn.Linear)]


def handprop_name(n: int, kind: str, index: tuple) -> str:
    return f"W{n}[{index[0] + 1},{index[1] + 1}]" if kind == "weight" else f"b{n}[{index[0] + 1}]"


def torch_reference(model, loss_function, x, t, optimizer, steps):
    """torch's loss and gradients at the initial parameters, and the parameters after the steps."""
    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_function(model(x), t)
        loss.backward()
        if step == 0:
            first = loss.item()
            gradients = {handprop_name(n, kind, tuple(i)): getattr(layer, kind).grad[tuple(i)].item()
                         for n, layer in enumerate(linear_tensors(model), 1) for kind in ("weight", "bias")
                         for i in torch.cartesian_prod(*[torch.arange(s) for s in getattr(layer, kind).shape])
                         .reshape(-1, getattr(layer, kind).dim()).tolist()}
        optimizer.step()
    updated = {handprop_name(n, kind, tuple(i)): getattr(layer, kind)[tuple(i)].item()
               for n, layer in enumerate(linear_tensors(model), 1) for kind in ("weight", "bias")
               for i in torch.cartesian_prod(*[torch.arange(s) for s in getattr(layer, kind).shape])
               .reshape(-1, getattr(layer, kind).dim()).tolist()}
    return first, gradients, updated


def assert_agrees(solution, first, gradients, updated):
    assert close(solution.loss, first), (solution.loss, first)
    assert set(solution.parameters) == set(gradients)
    for name, record in solution.parameters.items():
        assert close(record.gradient, gradients[name]), (name, record.gradient, gradients[name])
        assert close(record.updated, updated[name]), (name, record.updated, updated[name])


CASES = {
    "tanh-leaky-cross-entropy-adam": (
        lambda: nn.Sequential(nn.Linear(3, 4, dtype=F64), nn.Tanh(), nn.Linear(4, 3, dtype=F64),
                              nn.LeakyReLU(0.2), nn.Linear(3, 3, dtype=F64)),
        "cross_entropy", lambda: torch.tensor([0, 2, 1, 2]), nn.CrossEntropyLoss(),
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.9), weight_decay=0.1), 1),
    "sigmoid-softplus-mse-sgd-momentum": (
        lambda: nn.Sequential(nn.Linear(3, 4, dtype=F64), nn.Softplus(), nn.Identity(), nn.Linear(4, 2, dtype=F64),
                              nn.Sigmoid()),
        "mse", lambda: torch.rand(4, 2, dtype=F64), nn.MSELoss(),
        lambda p: torch.optim.SGD(p, lr=0.3, momentum=0.9, nesterov=True), 3),
    "relu-softmax-probabilities-rmsprop": (
        lambda: nn.Sequential(nn.Linear(3, 5, dtype=F64), nn.ReLU(), nn.Linear(5, 3, dtype=F64)),
        "cross_entropy", lambda: torch.softmax(torch.randn(4, 3, dtype=F64), dim=1), nn.CrossEntropyLoss(),
        lambda p: torch.optim.RMSprop(p, lr=0.01, centered=True), 2),
}


@pytest.mark.parametrize("case", CASES)
def test_from_torch_agrees_with_torch(case):
    make_model, loss, make_targets, loss_function, make_optimizer, steps = CASES[case]
    torch.manual_seed(7)
    model = make_model()
    x, t = torch.randn(4, 3, dtype=F64), make_targets()
    optimizer = make_optimizer(model.parameters())
    problem = handprop.from_torch(model, x, t, loss=loss, optimizer=optimizer, steps=steps)
    assert problem.network.naming == "layered" and problem.optimizer.steps == steps
    solution = handprop.solve(problem)  # before torch moves the weights
    assert_agrees(solution, *torch_reference(model, loss_function, x, t, optimizer, steps))


# Every activation module handprop maps, with settings other than its defaults where it has any.
MODULES = [nn.ReLU(), nn.LeakyReLU(0.3), nn.Sigmoid(), nn.Tanh(), nn.Softplus(), nn.ELU(0.6), nn.SELU(), nn.CELU(1.7),
           nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(), nn.Mish(), nn.Softsign(), nn.Hardtanh(-0.4, 0.7),
           nn.Hardsigmoid(), nn.LogSigmoid()]


@pytest.mark.parametrize("module", MODULES, ids=repr)
def test_every_activation_module_to_handprop_and_back(module):
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4, dtype=F64), module, nn.Linear(4, 2, dtype=F64))
    x, t = torch.randn(5, 3, dtype=F64), torch.rand(5, 2, dtype=F64)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    problem = handprop.from_torch(model, x, t, loss="mse", optimizer=optimizer, steps=2)
    solution = handprop.solve(problem)
    back, _ = handprop.to_torch(problem)
    assert repr(back[1]) == repr(module)  # the same class, the same settings
    assert_agrees(solution, *torch_reference(model, nn.MSELoss(), x, t, optimizer, 2))


def test_from_torch_copies_float32_weights_exactly():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid())
    problem = handprop.from_torch(model, [[0.5, -1.0]], [[1.0, 0.0]], loss="binary_cross_entropy", lr=0.5)
    assert problem.parameters["W1[2,1]"] == float(model[0].weight[1, 0].item())
    assert problem.optimizer.name == "sgd" and problem.optimizer.lr == 0.5
    assert problem.network.layers[-1].activation == "sigmoid"


@pytest.mark.parametrize("layer, name", [(lambda: nn.Upsample(scale_factor=2), "Upsample"),
                                         (lambda: nn.PReLU(), "PReLU")])  # Dropout, BatchNorm1d: *_norms.py
def test_unsupported_layer_is_named_with_its_index(layer, name):
    model = nn.Sequential(nn.Linear(2, 3), layer(), nn.Linear(3, 2))
    with pytest.raises(HandpropError, match=rf"layer 1 \({name}\).*unsupported layer {name}"):
        handprop.from_torch(model, [0.1, 0.2], [1.0, 0.0])


def test_a_convolution_after_a_linear_layer_is_refused_with_the_shape_it_gets():
    model = nn.Sequential(nn.Linear(2, 3), nn.Conv2d(1, 1, 1), nn.Flatten(), nn.Linear(3, 2))
    with pytest.raises(HandpropError, match=r"layer 2: a conv2d takes a grid \(C, H, W\), but its input is \(3\)"):
        handprop.from_torch(model, [0.1, 0.2], [1.0, 0.0])


@pytest.mark.parametrize("model, what", [
    (lambda: nn.Sequential(nn.Linear(2, 2), nn.Softplus(beta=2.0)), "Softplus"),
    (lambda: nn.Sequential(nn.Linear(2, 2), nn.Softmax(dim=0)), "Softmax"),
    (lambda: nn.Sequential(nn.ReLU(), nn.Linear(2, 2)), "not directly after"),
])
def test_unsupported_settings(model, what):
    with pytest.raises(HandpropError, match=what):
        handprop.from_torch(model(), [0.1, 0.2], [1.0, 0.0])


def test_to_torch_round_trip():
    homework = handprop.load("homework")
    model, optimizer = handprop.to_torch(homework)
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]  # logits for CrossEntropyLoss
    assert model[0].weight.dtype == F64 and model[2].weight[0, 2].item() == 0.3
    assert type(optimizer).__name__ == "SGD" and optimizer.param_groups[0]["lr"] == 0.5
    x, t = torch.tensor([[0.26, 0.33]], dtype=F64), torch.tensor([[1.0, 0.0]], dtype=F64)
    back = handprop.from_torch(model, x, t, optimizer=optimizer)
    expected = handprop.solve(homework)
    solution = handprop.solve(back)
    assert solution.loss == pytest.approx(expected.loss, rel=1e-15)
    assert sorted(p.gradient for p in solution.parameters.values()) == \
        pytest.approx(sorted(p.gradient for p in expected.parameters.values()), rel=1e-14, abs=1e-16)
    loss = nn.CrossEntropyLoss()(model(x), t)
    assert close(loss.item(), expected.loss)


def test_to_torch_refuses_the_equations_form():
    with pytest.raises(HandpropError, match="equations-form"):
        handprop.to_torch(handprop.load("homework_equations"))


EXPORTED = {
    "homework": lambda: handprop.load("homework"),
    "adam-mse-batch": lambda: handprop.Problem.from_layers(
        2, [(3, "leaky_relu", 0.1), (2, "sigmoid")], loss="mse", naming="layered", init="xavier_uniform", seed=5,
        x=[[0.1, 0.9], [0.5, -0.3], [1.2, 0.4]], t=[[1, 0], [0, 1], [0.5, 0.5]],
        optimizer={"name": "adam", "lr": 0.05, "amsgrad": True}, steps=4),
    "bce-adagrad": lambda: handprop.Problem.from_layers(
        3, [(2, "tanh"), (1, "sigmoid")], loss="binary_cross_entropy", init="he_normal", seed=2,
        x=[[0.1, 0.2, 0.3], [0.3, -0.1, 0.5]], t=[[1], [0]], optimizer={"name": "adagrad", "lr": 0.1}, steps=2),
    "half-sse-adamw-softplus": lambda: handprop.Problem.from_layers(
        2, [(2, "softplus"), (2, "identity")], loss="half_sse", init="uniform", seed=9,
        x=[0.3, 0.7], t=[0.2, -0.4], optimizer="adamw", lr=0.02, steps=3),
    "cross-entropy-softmax-hidden-sigmoid": lambda: handprop.Problem.from_layers(
        2, [(3, "sigmoid"), (2, "softmax")], loss="cross_entropy", init="uniform", seed=4,
        x=[[0.3, 0.7], [0.1, 0.2]], t=[[0, 1], [1, 0]], lr=0.5, steps=2),
}


@pytest.mark.parametrize("name", EXPORTED)
def test_exported_script_reproduces_the_solution(name, tmp_path, cli):
    problem = EXPORTED[name]()
    if name == "homework":
        result = cli(["export", "homework", "--to", "torch", "-o", str(tmp_path / "script.py")])
        assert result.status == 0
        script = (tmp_path / "script.py").read_text()
    else:
        from handprop.pytorch.script import torch_script

        script = torch_script(problem)
        (tmp_path / "script.py").write_text(script)
    run = subprocess.run([sys.executable, str(tmp_path / "script.py")], capture_output=True, text=True, check=True,
                         cwd=tmp_path)
    numbers = json.loads(run.stdout)
    solution = handprop.solve(problem)
    assert close(numbers["loss"], solution.loss) and close(numbers["loss_after"], solution.loss_after)
    assert list(numbers["gradients"]) == list(solution.parameters)
    assert_agrees(solution, numbers["loss"], numbers["gradients"], numbers["updated"])


def test_export_refuses_the_equations_form(cli):
    result = cli(["export", "homework_equations", "--to", "torch"])
    assert result.status == 2 and "equations-form" in result.err and result.err.count("\n") == 1


@pytest.mark.parametrize("function", [handprop.from_torch, handprop.to_torch])
def test_docstring_examples_run_with_torch(function):
    """The examples are marked +SKIP for installs without torch; here, with torch, they run."""
    import doctest

    text = function.__doc__.replace("# doctest: +SKIP", "")
    test = doctest.DocTestParser().get_doctest(text, {"from_torch": handprop.from_torch,
                                                      "to_torch": handprop.to_torch}, function.__name__, None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 3
