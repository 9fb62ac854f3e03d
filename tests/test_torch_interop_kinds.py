"""from_torch, to_torch and export --to torch for networks of layer kinds: Conv1d/2d, pools, Flatten, Linear."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import close_to as close

import handprop
from handprop.cli import main
from handprop.core.errors import HandpropError
from handprop.pytorch.interop import parameter_places

torch = pytest.importorskip("torch")



def models():
    torch.manual_seed(3)
    image = torch.nn.Sequential(torch.nn.Conv2d(2, 3, (2, 3), stride=(1, 2), padding=1), torch.nn.Tanh(),
                                torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(6, 2), torch.nn.Sigmoid())
    signal = torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3, bias=False), torch.nn.ReLU(), torch.nn.MaxPool1d(2, stride=1),
                                 torch.nn.Flatten(), torch.nn.Linear(6, 3))
    return {"image": (image.double(), torch.rand(3, 2, 4, 5, dtype=torch.float64), torch.rand(3, 2, dtype=torch.float64),
                      "mse"),
            "signal": (signal.double(), torch.randn(2, 1, 6, dtype=torch.float64), torch.tensor([2, 0]),
                       "cross_entropy")}


@pytest.mark.parametrize("name", ["image", "signal"])
def test_from_torch_solves_as_torch_computes(name):
    model, x, t, loss_name = models()[name]
    problem = handprop.from_torch(model, x, t, loss=loss_name, optimizer={"name": "adam", "lr": 0.01})
    solution = handprop.solve(problem)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    output = model(x)
    loss = (torch.nn.functional.mse_loss(output, t) if loss_name == "mse"
            else torch.nn.functional.cross_entropy(output, t))
    loss.backward()
    assert close(solution.loss, loss.item())
    places = parameter_places(problem)
    assert set(places) == set(problem.parameters)
    for parameter, (position, attribute, index) in places.items():
        assert close(solution.parameters[parameter].gradient, getattr(model[position], attribute).grad[index].item())
    optimizer.step()
    for parameter, (position, attribute, index) in places.items():
        assert close(solution.parameters[parameter].updated, getattr(model[position], attribute)[index].item())


@pytest.mark.parametrize("name", ["image", "signal"])
def test_to_torch_gives_back_the_same_model(name):
    model, x, t, loss_name = models()[name]
    problem = handprop.from_torch(model, x, t, loss=loss_name)
    again, _ = handprop.to_torch(problem)
    assert [type(m).__name__ for m in again] == [type(m).__name__ for m in model]
    assert torch.equal(again(x), model(x))


def test_export_to_torch_runs_and_agrees_with_solve(tmp_path):
    path = tmp_path / "cnn_torch.py"
    assert main(["export", "cnn_homework", "--to", "torch", "-o", str(path)]) == 0
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True)
    printed = json.loads(result.stdout)
    solution = handprop.solve(handprop.load("cnn_homework"))
    assert close(printed["loss"], solution.loss) and close(printed["loss_after"], solution.loss_after)
    for name, record in solution.parameters.items():
        assert close(printed["gradients"][name], record.gradient) and close(printed["updated"][name], record.updated)


@pytest.mark.parametrize("module, message", [
    (lambda: torch.nn.Conv2d(1, 1, 2, dilation=2), "layer 0 (Conv2d): dilation=(2, 2)"),
    (lambda: torch.nn.MaxPool2d(2, ceil_mode=True), "layer 0 (MaxPool2d): ceil_mode=True"),
    (lambda: torch.nn.Upsample(scale_factor=2), "unsupported layer Upsample"),
])
def test_modules_handprop_does_not_compute_are_refused_in_one_line(module, message):
    model = torch.nn.Sequential(module(), torch.nn.Flatten(), torch.nn.Conv1d(1, 1, 1)).double()
    with pytest.raises(HandpropError) as error:
        handprop.from_torch(model, torch.zeros(1, 1, 4, 4, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64),
                            loss="mse")
    assert message in error.value.line() and len(error.value.line().splitlines()) == 1
