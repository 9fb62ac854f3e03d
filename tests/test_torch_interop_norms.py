"""from_torch, to_torch and export --to torch for the normalisation and dropout kinds: nn.LayerNorm, nn.BatchNorm1d/2d
in training mode (its running statistics the layer's starting ones, compared after the step), and dropout with a
given mask (handprop.pytorch.modules.FixedDropout), each number held to torch's in float64 at 1e-12."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from operator import attrgetter

import pytest

import handprop
from handprop.cli import main
from handprop.core.errors import HandpropError
from handprop.pytorch.interop import parameter_places, running_places

torch = pytest.importorskip("torch")
from handprop.pytorch.modules import FixedDropout  # after the skip: it imports torch

nn = torch.nn


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1.0)


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def mask(*shape):
    return (torch.rand(*shape, dtype=torch.float64) > 0.4).to(torch.float64)


def cases() -> dict:
    """name -> (model, x, t, loss name, torch's loss): layernorm over one axis and two, with and without its affine
    map; batch-norm 1d on (F,) and (C, L), 2d on (C, H, W), with and without affine, other eps and momentum, running
    statistics not torch's defaults; dropout with one mask per sample and one shared, inside a batch-norm network.
    The layer before a batch-norm has no bias: its gradient is 0 but for rounding, which Adam scales to a full step."""
    torch.manual_seed(11)
    mse, cross_entropy = torch.nn.functional.mse_loss, torch.nn.functional.cross_entropy
    found = {
        "layernorm, relu": (nn.Sequential(nn.LayerNorm(4), nn.ReLU(), nn.Linear(4, 2)),
                            randn(3, 4), randn(3, 2), "mse", mse),
        "conv1d, layernorm over two axes without affine": (
            nn.Sequential(nn.Conv1d(1, 2, 3), nn.LayerNorm([2, 4], eps=1e-3, elementwise_affine=False), nn.Flatten(),
                          nn.Linear(8, 3)),
            randn(3, 1, 6), torch.tensor([2, 0, 1]), "cross_entropy", cross_entropy),
        "linear, batchnorm1d, tanh, dropout per sample": (
            nn.Sequential(nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4), nn.Tanh(), FixedDropout(0.5, mask(5, 4)), nn.Linear(4, 2)),
            randn(5, 3), randn(5, 2), "mse", mse),
        "conv2d, batchnorm2d, relu": (
            nn.Sequential(nn.Conv2d(1, 2, 2, bias=False), nn.BatchNorm2d(2, eps=1e-3, momentum=0.3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(18, 2)),
            randn(3, 1, 4, 4), torch.tensor([1, 0, 1]), "cross_entropy", cross_entropy),
        "conv1d, batchnorm1d on (C, L) without affine, shared dropout": (
            nn.Sequential(nn.Conv1d(2, 3, 2, bias=False), nn.BatchNorm1d(3, affine=False, momentum=0.5),
                          FixedDropout(0.25, mask(3, 4)), nn.Flatten(), nn.Linear(12, 2)),
            randn(2, 2, 5), randn(2, 2), "mse", mse),
    }
    with torch.no_grad():  # torch starts gamma at 1, beta at 0 and the statistics at 0 and 1: other values
        for model, *_ in found.values():
            for module in model:
                if isinstance(module, (nn.LayerNorm, nn.BatchNorm1d, nn.BatchNorm2d)) and module.weight is not None:
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.uniform_(-0.5, 0.5)
                if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                    module.running_mean.uniform_(-1.0, 1.0)
                    module.running_var.uniform_(0.5, 2.0)
    return {name: (model.double(), *rest) for name, (model, *rest) in found.items()}


CASES = cases()


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("name", list(CASES))
def test_from_torch_solves_as_torch_computes(name, optimizer):
    model, x, t, loss_name, loss_function = copy.deepcopy(CASES[name])
    settings = {"name": optimizer, "lr": 0.1 if optimizer == "sgd" else 0.01}
    problem = handprop.from_torch(model, x, t, loss=loss_name, optimizer=settings)
    solution = handprop.solve(problem)
    trained = (torch.optim.SGD(model.parameters(), lr=0.1) if optimizer == "sgd"
               else torch.optim.Adam(model.parameters(), lr=0.01))
    loss = loss_function(model(x), t)  # training mode: batch statistics, and the running ones updated
    loss.backward()
    assert close(solution.loss, loss.item())
    places = parameter_places(problem)
    assert set(places) == set(problem.parameters)
    for parameter, (position, attribute, index) in places.items():
        tensor = attrgetter(attribute)(model[position])
        assert close(solution.parameters[parameter].gradient, tensor.grad[index].item()), parameter
    running = running_places(problem)
    assert bool(running) == any(isinstance(module, nn.modules.batchnorm._BatchNorm) for module in model)
    for node, (position, buffer, index) in running.items():
        assert close(solution.nodes[node].values[0], getattr(model[position], buffer)[index].item()), node
    trained.step()
    for parameter, (position, attribute, index) in places.items():
        tensor = attrgetter(attribute)(model[position])
        assert close(solution.parameters[parameter].updated, tensor[index].item()), parameter
    with torch.no_grad():
        assert close(solution.loss_after, loss_function(model(x), t).item())


@pytest.mark.parametrize("name", list(CASES))
def test_to_torch_gives_back_the_same_model(name):
    model, x, t, loss_name, _ = copy.deepcopy(CASES[name])
    problem = handprop.from_torch(model, x, t, loss=loss_name)
    again, _ = handprop.to_torch(problem)
    assert [type(m).__name__ for m in again] == [type(m).__name__ for m in model]
    assert all(module.training for module in again)
    with torch.no_grad():
        assert torch.allclose(again(x), model(x), rtol=1e-12, atol=1e-12)
    for mine, theirs in zip(again, model):  # the running statistics, before and after that forward pass
        for buffer in ("running_mean", "running_var", "mask"):
            if getattr(theirs, buffer, None) is not None:
                assert torch.allclose(getattr(mine, buffer).reshape(-1), getattr(theirs, buffer).reshape(-1),
                                      rtol=1e-12, atol=1e-12)


def test_a_dropout_mask_shared_or_per_sample_is_every_sample_s_in_data():
    shared = handprop.from_torch(nn.Sequential(FixedDropout(0.5, [1.0, 0.0, 1.0]), nn.Linear(3, 1)).double(),
                                 randn(2, 3), randn(2, 1), loss="mse")
    each = handprop.from_torch(nn.Sequential(FixedDropout(0.5, [[1.0, 0.0, 1.0], [1.0, 0.0, 1.0]]),
                                             nn.Linear(3, 1)).double(), randn(2, 3), randn(2, 1), loss="mse")
    assert shared.data["mask1[2]"] == each.data["mask1[2]"] == (0.0, 0.0)
    model, _ = handprop.to_torch(shared)
    assert model[0].mask.tolist() == [1.0, 0.0, 1.0]  # the same in every sample: one mask


def test_dropout_with_p_0_is_nothing():
    model = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.0), nn.ReLU(), nn.Linear(3, 2)).double()
    problem = handprop.from_torch(model, randn(2, 2), torch.tensor([0, 1]))
    assert [layer.type for layer in problem.stack.layers] == ["dense", "dense"]


@pytest.mark.parametrize("example", ["batchnorm_batch_of_4", "transformer_block"])
def test_export_to_torch_runs_and_agrees_with_solve(tmp_path, example):
    path = tmp_path / f"{example}_torch.py"
    assert main(["export", example, "--to", "torch", "-o", str(path)]) == 0
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True, cwd=tmp_path)
    printed = json.loads(result.stdout)
    solution = handprop.solve(handprop.load(example))
    assert close(printed["loss"], solution.loss) and close(printed["loss_after"], solution.loss_after)
    for name, record in solution.parameters.items():
        assert close(printed["gradients"][name], record.gradient) and close(printed["updated"][name], record.updated)
    running = printed.get("running", {})
    assert sorted(running) == sorted(name for name in solution.nodes if name.startswith(("rmean", "rvar")))
    for node, value in running.items():
        assert close(value, solution.nodes[node].values[0]), node
    assert (example == "batchnorm_batch_of_4") == bool(running)


def test_a_batch_norm_network_gives_torch_its_batch():
    model, _ = handprop.to_torch(handprop.load("batchnorm_batch_of_4"))
    x = torch.tensor([[1.0, 0.0], [3.0, 2.0], [2.0, 4.0], [2.0, 2.0]], dtype=torch.float64)
    loss = torch.nn.functional.mse_loss(model(x), torch.tensor([[-1.0], [1.0], [0.0], [0.0]], dtype=torch.float64))
    assert close(loss.item(), handprop.solve(handprop.load("batchnorm_batch_of_4")).loss)
    assert model[0].running_mean.tolist() == pytest.approx([0.2, 0.2])


@pytest.mark.parametrize("module, message", [
    (lambda: nn.BatchNorm1d(3).eval(),
     "layer 1 (BatchNorm1d): in eval mode; handprop computes batch-norm in training mode (model.train())"),
    (lambda: nn.Dropout(0.5), "layer 1 (Dropout): nn.Dropout(p=0.5) draws its own mask"),
    (lambda: nn.BatchNorm1d(3, momentum=None), "layer 1 (BatchNorm1d): momentum=None"),
    (lambda: nn.LayerNorm(3, bias=False), "layer 1 (LayerNorm): LayerNorm(bias=False)"),
    (lambda: nn.LayerNorm(2), "layer 1 (LayerNorm): normalized_shape [2] on an input of shape [3]"),
])
def test_modules_handprop_does_not_compute_are_refused_in_one_line(module, message):
    model = nn.Sequential(nn.Linear(2, 3), module(), nn.Linear(3, 2)).double()
    with pytest.raises(HandpropError) as error:
        handprop.from_torch(model, randn(4, 2), randn(4, 2), loss="mse")
    assert message in error.value.line() and len(error.value.line().splitlines()) == 1
