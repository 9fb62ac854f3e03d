"""PyTorch in float64 as the independent oracle: outputs, loss, gradients and the SGD step."""

from __future__ import annotations

import random

import pytest

import handprop
from conftest import random_network
from handprop.problem.layered import LOSSES
from handprop.core.ops import ACTIVATIONS
from handprop.problem.spec import from_dict

torch = pytest.importorskip("torch")
torch.set_default_dtype(torch.float64)

TORCH_ACTIVATIONS = {
    "identity": lambda: torch.nn.Identity(), "relu": lambda: torch.nn.ReLU(), "sigmoid": lambda: torch.nn.Sigmoid(),
    "tanh": lambda: torch.nn.Tanh(), "softplus": lambda: torch.nn.Softplus(), "softmax": lambda: torch.nn.Softmax(dim=1),
    "leaky_relu": lambda: torch.nn.LeakyReLU(0.05), "elu": lambda: torch.nn.ELU(0.7), "selu": lambda: torch.nn.SELU(),
    "celu": lambda: torch.nn.CELU(1.3), "gelu": lambda: torch.nn.GELU(approximate="tanh"),
    "silu": lambda: torch.nn.SiLU(), "mish": lambda: torch.nn.Mish(), "softsign": lambda: torch.nn.Softsign(),
    "hardtanh": lambda: torch.nn.Hardtanh(-0.8, 1.2), "hardsigmoid": lambda: torch.nn.Hardsigmoid(),
    "logsigmoid": lambda: torch.nn.LogSigmoid(),
}


def random_problem(widths: list[int], activation: str, loss: str, batch: int, seed: int) -> dict:
    output = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(
        loss, random.Random(seed).choice(["identity", "tanh"]))
    return random_network(widths, activation, output, loss, batch, seed=seed, optimizer={"lr": 0.3, "steps": 2})


def torch_reference(raw: dict):
    """Loss, gradients after one backward, and parameters after the steps, computed by torch."""
    layers_spec = raw["network"]["layers"]
    widths = [raw["network"]["inputs"]] + [layer["units"] for layer in layers_spec]
    modules, linears = [], []
    for n, layer in enumerate(layers_spec, 1):
        linear = torch.nn.Linear(widths[n - 1], widths[n])
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(raw["parameters"][f"W{n}"]))
            linear.bias.copy_(torch.tensor(raw["parameters"][f"b{n}"]))
        linears.append(linear)
        modules.append(linear)
        last = n == len(layers_spec)
        if not (last and layer["activation"] == "softmax" and raw["network"]["loss"] == "cross_entropy"):
            modules.append(TORCH_ACTIVATIONS[layer["activation"]]())
    model = torch.nn.Sequential(*modules)
    x = torch.tensor(raw["data"]["x"])
    t = torch.tensor(raw["data"]["t"])
    loss_name = raw["network"]["loss"]

    def loss_fn(out):
        if loss_name == "cross_entropy":
            return torch.nn.functional.cross_entropy(out, t)  # out are the logits; probability targets
        if loss_name == "binary_cross_entropy":
            return torch.nn.functional.binary_cross_entropy(out, t)
        if loss_name == "mse":
            return torch.nn.functional.mse_loss(out, t)
        return (0.5 * ((out - t) ** 2).sum(dim=1)).mean()

    optimizer = torch_optimizer(model.parameters(), raw["optimizer"])
    first = None
    for step in range(raw["optimizer"]["steps"]):
        optimizer.zero_grad()
        loss = loss_fn(model(x))
        loss.backward()
        if step == 0:
            first = (loss.item(), [(lin.weight.grad.clone(), lin.bias.grad.clone()) for lin in linears])
        optimizer.step()
    with torch.no_grad():
        loss_after = loss_fn(model(x)).item()
    return first[0], first[1], [(lin.weight.detach(), lin.bias.detach()) for lin in linears], loss_after


def torch_optimizer(parameters, section: dict):
    """The torch.optim optimizer an [optimizer] section names, with the same settings."""
    settings = {k: (tuple(v) if isinstance(v, list) else v) for k, v in section.items()
                if k not in ("name", "steps")}
    kind = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
            "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}[section.get("name", "sgd")]
    return kind(parameters, **settings)


OPTIMIZER_CASES = [
    {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    {"name": "sgd", "lr": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1},
    {"name": "adam", "lr": 0.01},
    {"name": "adam", "lr": 0.02, "betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True},
    {"name": "adamw", "lr": 0.01},
    {"name": "adamw", "lr": 0.03, "weight_decay": 0.2, "amsgrad": True},
    {"name": "rmsprop", "lr": 0.01},
    {"name": "rmsprop", "lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.05},
    {"name": "adagrad", "lr": 0.1},
    {"name": "adagrad", "lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "eps": 1e-8},
]


@pytest.mark.parametrize("section", OPTIMIZER_CASES, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_optimizers_step_as_torch_optim(section):
    raw = random_problem([3, 4, 2], "tanh", "cross_entropy", 3, seed=7)
    raw["optimizer"] = dict(section, steps=4)
    solution = handprop.solve(from_dict(raw))
    loss_value, gradients, updated, loss_after = torch_reference(raw)
    assert solution.loss_after == pytest.approx(loss_after, rel=1e-12)
    for n, (new_w, new_b) in enumerate(updated, 1):
        for j in range(new_w.shape[0]):
            for k in range(new_w.shape[1]):
                assert solution.parameters[f"W{n}[{j + 1},{k + 1}]"].updated == pytest.approx(
                    new_w[j, k].item(), rel=1e-12, abs=1e-14)
            assert solution.parameters[f"b{n}[{j + 1}]"].updated == pytest.approx(new_b[j].item(), rel=1e-12,
                                                                                  abs=1e-14)


CASES = [(widths, activation, loss, batch)
         for activation in ACTIVATIONS for loss in LOSSES
         for widths, batch in (([2, 3, 2], 1), ([3, 4, 2, 2], 3))]


@pytest.mark.parametrize("widths, activation, loss, batch", CASES)
def test_agrees_with_torch_float64(widths, activation, loss, batch):
    raw = random_problem(widths, activation, loss, batch, seed=len(widths) * 100 + batch)
    solution = handprop.solve(from_dict(raw))
    loss_value, gradients, updated, loss_after = torch_reference(raw)
    assert solution.loss == pytest.approx(loss_value, rel=1e-12, abs=1e-15)
    assert solution.loss_after == pytest.approx(loss_after, rel=1e-12, abs=1e-15)
    for n, ((grad_w, grad_b), (new_w, new_b)) in enumerate(zip(gradients, updated), 1):
        for j in range(grad_w.shape[0]):
            for k in range(grad_w.shape[1]):
                record = solution.parameters[f"W{n}[{j + 1},{k + 1}]"]
                assert record.gradient == pytest.approx(grad_w[j, k].item(), rel=1e-10, abs=1e-14)
                assert record.updated == pytest.approx(new_w[j, k].item(), rel=1e-12, abs=1e-14)
            record = solution.parameters[f"b{n}[{j + 1}]"]
            assert record.gradient == pytest.approx(grad_b[j].item(), rel=1e-10, abs=1e-14)
            assert record.updated == pytest.approx(new_b[j].item(), rel=1e-12, abs=1e-14)


def test_homework_agrees_with_torch():
    solution = handprop.solve(handprop.load("homework"))
    w = torch.tensor([0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4], requires_grad=True)
    b = torch.tensor([0.3, 0.3, 0.3, 0.7, 0.7], requires_grad=True)
    x = torch.tensor([0.26, 0.33])
    h = w[:6].reshape(3, 2) @ x + b[:3]
    o = w[6:].reshape(2, 3) @ torch.relu(h) + b[3:]
    y = torch.softmax(o, dim=0)
    loss = -torch.log(y[0])
    loss.backward()
    assert solution.loss == pytest.approx(loss.item(), rel=1e-14)
    assert [solution.output_values[0][i] for i in range(2)] == pytest.approx(y.tolist(), rel=1e-14)
    for i in range(12):
        assert solution.parameters[f"w{i + 1}"].gradient == pytest.approx(w.grad[i].item(), rel=1e-12)
    for i in range(5):
        assert solution.parameters[f"b{i + 1}"].gradient == pytest.approx(b.grad[i].item(), rel=1e-12)


@pytest.mark.parametrize("logit, target", [(800.0, 0.0), (800.0, 1.0), (-800.0, 1.0), (-800.0, 0.0), (3.0, 0.25)])
def test_binary_cross_entropy_at_probabilities_of_exactly_0_and_1_is_torchs(logit, target):
    # sigmoid(+-800) is exactly 1 or 0: torch clamps each log at -100 and divides by max(y (1 - y), 1e-12).
    raw = {"network": {"inputs": 1, "layers": [{"units": 1, "activation": "sigmoid"}],
                       "loss": "binary_cross_entropy"},
           "parameters": {"w": [logit], "b": [0.0]}, "data": {"x": [1.0], "t": [target]}, "optimizer": {"lr": 0.1}}
    solution = handprop.solve(from_dict(raw))
    w = torch.tensor([logit], requires_grad=True)
    y = torch.sigmoid(w * 1.0)
    loss = torch.nn.functional.binary_cross_entropy(y, torch.tensor([target]))
    loss.backward()
    assert solution.loss == pytest.approx(loss.item(), rel=1e-13)
    assert solution.parameters["w1"].gradient == pytest.approx(w.grad.item(), rel=1e-12, abs=1e-300)


def test_cross_entropy_of_logits_of_plus_minus_1000_is_torchs():
    raw = {"network": {"inputs": 1, "layers": [{"units": 2, "activation": "softmax"}], "loss": "cross_entropy"},
           "parameters": {"w": [1000.0, -1000.0], "b": [0.0, 0.0]}, "data": {"x": [1.0], "t": [0, 1]},
           "optimizer": {"lr": 0.1}}
    solution = handprop.solve(from_dict(raw))
    w = torch.tensor([[1000.0], [-1000.0]], requires_grad=True)
    loss = torch.nn.functional.cross_entropy((w @ torch.tensor([1.0])).unsqueeze(0), torch.tensor([[0.0, 1.0]]))
    loss.backward()
    assert solution.loss == loss.item() == 2000.0
    assert [solution.parameters["w1"].gradient, solution.parameters["w2"].gradient] == w.grad.flatten().tolist()


# Every activation built as torch.nn builds it, from the settings given (independently of handprop's map).
NN = {"identity": lambda: torch.nn.Identity(), "relu": lambda: torch.nn.ReLU(), "sigmoid": lambda: torch.nn.Sigmoid(),
      "tanh": lambda: torch.nn.Tanh(), "softplus": lambda: torch.nn.Softplus(),
      "leaky_relu": lambda alpha: torch.nn.LeakyReLU(alpha), "elu": lambda alpha: torch.nn.ELU(alpha),
      "selu": lambda: torch.nn.SELU(), "celu": lambda alpha: torch.nn.CELU(alpha),
      "gelu": lambda approximate: torch.nn.GELU(approximate=approximate), "silu": lambda: torch.nn.SiLU(),
      "mish": lambda: torch.nn.Mish(), "softsign": lambda: torch.nn.Softsign(),
      "hardtanh": lambda min_val, max_val: torch.nn.Hardtanh(min_val, max_val),
      "hardsigmoid": lambda: torch.nn.Hardsigmoid(), "logsigmoid": lambda: torch.nn.LogSigmoid()}
POINTS = [0.0, 1e-300, -1e-300, 1e-10, -1e-10, 0.3, -0.3, 0.999999, -0.999999, 1.0, -1.0, 1.000001, 2.5, -2.5,
          -2.999999, 2.999999, -3.0, 3.0, -3.000001, -4.5, -5.345, 5.0, -7.0, 19.9, 20.1, -20.1, 40.0, -40.0, 700.0,
          -700.0, 800.0, -800.0]
SETTINGS_TRIED = {"leaky_relu": [{"alpha": 0.01}, {"alpha": 0.3}], "elu": [{"alpha": 1.0}, {"alpha": 0.5}],
                  "celu": [{"alpha": 1.0}, {"alpha": 0.3}, {"alpha": 3.0}],
                  "gelu": [{"approximate": "none"}, {"approximate": "tanh"}],
                  "hardtanh": [{"min_val": -1.0, "max_val": 1.0}, {"min_val": -0.5, "max_val": 2.0}]}


@pytest.mark.parametrize("name, settings", [(name, settings) for name in ACTIVATIONS if name != "softmax"
                                            for settings in SETTINGS_TRIED.get(name, [{}])])
def test_every_activation_agrees_with_torch_at_every_point(name, settings):
    from handprop.core.ops import OPS

    op = OPS[name]
    module = NN[name](**settings)
    assert set(NN) >= set(ACTIVATIONS) - {"softmax"}
    for x in POINTS + list(op.kinks(**settings)):
        tensor = torch.tensor(x, requires_grad=True)
        y = module(tensor)
        (derivative,) = torch.autograd.grad(y, tensor)
        value = op.forward(x, **settings)
        partial = op.partials(x, value, **settings)[0]
        assert value == pytest.approx(y.item(), rel=1e-12, abs=1e-300), (x, "value")
        assert partial == pytest.approx(derivative.item(), rel=1e-12, abs=1e-300), (x, "derivative")
