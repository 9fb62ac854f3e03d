"""from_torch, to_torch and export --to torch for the sequence kinds: rnn, lstm, gru and attention, through the
wrappers of handprop.pytorch.modules (Recurrent, SelfAttention), each number held to torch's in float64 at 1e-12."""

from __future__ import annotations

import json
import subprocess
import sys
from operator import attrgetter

import pytest

import handprop
from handprop.cli import main
from handprop.core.errors import HandpropError
from handprop.pytorch.interop import parameter_places

torch = pytest.importorskip("torch")
from handprop.pytorch.modules import Recurrent, SelfAttention  # after the skip: it imports torch

nn = torch.nn


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1.0)


def half_sse(output, t):
    return (0.5 * ((output - t) ** 2).reshape(len(output), -1).sum(dim=1)).mean()


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def cases() -> dict:
    """name -> (model, x (batch, T, F), t, loss name, torch's loss): every kind, return last and all, with and
    without bias, initial states zero, shared (H,) and one per sample (batch, H)."""
    torch.manual_seed(7)
    mse, cross_entropy = torch.nn.functional.mse_loss, torch.nn.functional.cross_entropy
    found = {
        "rnn tanh, last, h0": (nn.Sequential(Recurrent(nn.RNN(2, 3, batch_first=True), h0=randn(3))),
                               randn(3, 4, 2), randn(3, 3), "mse", mse),
        "rnn relu, all, no bias, h0 per sample": (
            nn.Sequential(Recurrent(nn.RNN(2, 3, nonlinearity="relu", bias=False, batch_first=True), return_="all",
                                    h0=randn(3, 3)), nn.Flatten(), nn.Linear(12, 2)),
            randn(3, 4, 2), torch.tensor([1, 0, 1]), "cross_entropy", cross_entropy),
        "lstm, last, h0 and c0": (
            nn.Sequential(Recurrent(nn.LSTM(2, 2, batch_first=True), h0=randn(2), c0=randn(3, 2)), nn.Linear(2, 2),
                          nn.Sigmoid()),
            randn(3, 3, 2), torch.rand(3, 2, dtype=torch.float64), "mse", mse),
        "lstm, all, no bias": (nn.Sequential(Recurrent(nn.LSTM(3, 2, bias=False, batch_first=True), return_="all")),
                               randn(2, 3, 3), randn(2, 3, 2), "half_sse", half_sse),
        "lstm, c0 only": (nn.Sequential(Recurrent(nn.LSTM(1, 2, batch_first=True), c0=randn(2))),
                          randn(2, 2, 1), randn(2, 2), "mse", mse),
        "gru, last, h0 per sample": (nn.Sequential(Recurrent(nn.GRU(2, 3, batch_first=True), h0=randn(2, 3))),
                                     randn(2, 3, 2), randn(2, 3), "half_sse", half_sse),
        "gru, all, no bias": (
            nn.Sequential(Recurrent(nn.GRU(1, 2, bias=False, batch_first=True), return_="all"), nn.Flatten(),
                          nn.Linear(6, 3)),
            randn(4, 3, 1), torch.tensor([2, 0, 1, 1]), "cross_entropy", cross_entropy),
        "attention, 2 heads, causal, residual": (
            nn.Sequential(SelfAttention(nn.MultiheadAttention(4, 2, batch_first=True), causal=True, residual=True)),
            randn(2, 3, 4), randn(2, 3, 4), "mse", mse),
        "attention, 1 head, no bias": (
            nn.Sequential(SelfAttention(nn.MultiheadAttention(2, 1, bias=False, batch_first=True)), nn.Flatten(),
                          nn.Linear(6, 2)),
            randn(3, 3, 2), torch.tensor([0, 1, 1]), "cross_entropy", cross_entropy),
        "lstm then causal attention": (
            nn.Sequential(Recurrent(nn.LSTM(2, 4, batch_first=True), return_="all", h0=randn(4)),
                          SelfAttention(nn.MultiheadAttention(4, 2, batch_first=True), causal=True), nn.Flatten(),
                          nn.Linear(12, 2)),
            randn(2, 3, 2), torch.tensor([1, 0]), "cross_entropy", cross_entropy),
    }
    with torch.no_grad():  # torch starts MultiheadAttention's biases at 0: give them values worth checking
        for model, *_ in found.values():
            for name, tensor in model.named_parameters():
                if "in_proj_bias" in name or "out_proj.bias" in name:
                    tensor.uniform_(-0.5, 0.5)
    return {name: (model.double(), *rest) for name, (model, *rest) in found.items()}


NAMES = list(cases())


ADAM_EPS = 1e-8  # torch.optim.Adam's default, as handprop's


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("name", NAMES)
def test_from_torch_solves_as_torch_computes(name, optimizer):
    """The loss, every gradient and the parameters after one step. A gradient is held to 1e-12 of its tensor's
    largest entry (attention's key bias bk has a gradient of 0 in exact arithmetic, met as rounding noise), and
    Adam's step of such a gradient, lr g / (|g| + eps), may differ by what that noise moves it."""
    model, x, t, loss_name, loss_function = cases()[name]
    lr = 0.1 if optimizer == "sgd" else 0.01
    made = torch.optim.SGD(model.parameters(), lr=lr) if optimizer == "sgd" else torch.optim.Adam(model.parameters(),
                                                                                                    lr=lr)
    problem = handprop.from_torch(model, x, t, loss=loss_name, optimizer=made)
    solution = handprop.solve(problem)
    loss = loss_function(model(x), t)
    loss.backward()
    assert close(solution.loss, loss.item())
    places = parameter_places(problem)
    assert set(places) == set(problem.parameters)
    assert sum(tensor.numel() for tensor in model.parameters()) == len(places)
    tensor = {name: attrgetter(attribute)(model[position]) for name, (position, attribute, _) in places.items()}
    gradients = {name: tensor[name].grad[index].item() for name, (_, _, index) in places.items()}
    for parameter, theirs in gradients.items():
        ours = solution.parameters[parameter].gradient
        scale = tensor[parameter].grad.abs().max().item()
        assert abs(ours - theirs) <= 1e-12 * max(abs(theirs), scale, 1e-300), parameter
    made.step()
    for parameter, (_, _, index) in places.items():
        ours, theirs = solution.parameters[parameter].updated, tensor[parameter][index].item()
        g, g_torch = solution.parameters[parameter].gradient, gradients[parameter]
        slack = 2 * lr * abs(g - g_torch) * ADAM_EPS / (min(abs(g), abs(g_torch)) + ADAM_EPS) ** 2 \
            if optimizer == "adam" else 0.0
        assert abs(ours - theirs) <= 1e-12 * max(abs(theirs), 1.0) + slack, parameter


@pytest.mark.parametrize("name", NAMES)
def test_to_torch_gives_back_the_same_model(name):
    model, x, t, loss_name, _ = cases()[name]
    again, _ = handprop.to_torch(handprop.from_torch(model, x, t, loss=loss_name))
    assert [type(m).__name__ for m in again] == [type(m).__name__ for m in model]
    assert again.state_dict().keys() == model.state_dict().keys()  # the same tensors, initial states as buffers
    assert torch.allclose(again(x), model(x), rtol=1e-12, atol=1e-12)


def test_initial_states_become_data_and_buffers_again():
    model, x, t, loss_name, _ = cases()["lstm, last, h0 and c0"]
    problem = handprop.from_torch(model, x, t, loss=loss_name)
    h0, c0 = model[0].h0, model[0].c0  # (H,) every sample's; (batch, H) one per sample
    assert problem.data["h1[0,2]"] == (h0[1].item(),) * 3
    assert problem.data["c1[0,1]"] == tuple(c0[:, 0].tolist())
    again, _ = handprop.to_torch(problem)
    assert torch.equal(again[0].h0, h0) and torch.equal(again[0].c0, c0)


def test_a_model_in_eval_mode_is_the_same_layer():
    model, x, t, loss_name, _ = cases()["lstm then causal attention"]
    trained = handprop.solve(handprop.from_torch(model, x, t, loss=loss_name)).loss
    assert handprop.solve(handprop.from_torch(model.eval(), x, t, loss=loss_name)).loss == trained


@pytest.mark.parametrize("example", ["rnn_three_steps", "lstm_step", "attention_two_tokens"])
def test_export_to_torch_runs_and_agrees_with_solve(example, tmp_path):
    path = tmp_path / f"{example}_torch.py"
    assert main(["export", example, "--to", "torch", "-o", str(path)]) == 0
    assert "import handprop" not in path.read_text()
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True, cwd=tmp_path)
    printed = json.loads(result.stdout)
    solution = handprop.solve(handprop.load(example))
    assert close(printed["loss"], solution.loss) and close(printed["loss_after"], solution.loss_after)
    assert set(printed["gradients"]) == set(solution.parameters)
    for name, record in solution.parameters.items():
        assert close(printed["gradients"][name], record.gradient) and close(printed["updated"][name], record.updated)


def test_writing_the_script_does_not_import_torch():
    code = ("import sys, handprop; from handprop.pytorch.script import torch_script; "
            "torch_script(handprop.load('lstm_step')); torch_script(handprop.load('attention_two_tokens')); "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def lstm(**settings):
    return Recurrent(nn.LSTM(2, 2, **{"batch_first": True, **settings}))


def attention(**settings):
    return SelfAttention(nn.MultiheadAttention(2, 1, **{"batch_first": True, **settings}))


@pytest.mark.filterwarnings("ignore:dropout option adds dropout")
@pytest.mark.parametrize("module, message", [
    (lambda: lstm(num_layers=2), "layer 0 (Recurrent): LSTM(num_layers=2) (num_layers=1,"),
    (lambda: Recurrent(nn.GRU(2, 2, bidirectional=True, batch_first=True)), "GRU(bidirectional=True)"),
    (lambda: Recurrent(nn.RNN(2, 2, dropout=0.5, batch_first=True)), "layer 0 (Recurrent): RNN(dropout=0.5)"),
    (lambda: lstm(proj_size=1), "LSTM(proj_size=1)"),
    (lambda: lstm(batch_first=False), "LSTM(batch_first=False) (batch_first=True"),
    (lambda: Recurrent(nn.Linear(2, 2)), "layer 0 (Recurrent): wraps Linear"),
    (lambda: Recurrent(nn.GRU(2, 2, batch_first=True), c0=[0.0, 0.0]), "a cell state c0 for GRU"),
    (lambda: attention(kdim=3), "MultiheadAttention(embed_dim=2, kdim=3, vdim=2) (kdim = vdim = embed_dim"),
    (lambda: attention(add_bias_kv=True), "layer 0 (SelfAttention): MultiheadAttention(add_bias_kv=True)"),
    (lambda: attention(add_zero_attn=True), "MultiheadAttention(add_zero_attn=True)"),
    (lambda: attention(dropout=0.1), "MultiheadAttention(dropout=0.1)"),
    (lambda: attention(batch_first=False), "MultiheadAttention(batch_first=False)"),
    (lambda: nn.LSTM(2, 2, batch_first=True), ("layer 0 (LSTM): nn.LSTM cannot sit in an nn.Sequential as it is "
                                               "(handprop.pytorch.modules.Recurrent(...) around it)")),
    (lambda: nn.MultiheadAttention(2, 1, batch_first=True), "handprop.pytorch.modules.SelfAttention(...) around it"),
])
def test_settings_handprop_does_not_compute_are_refused_in_one_line(module, message):
    model = nn.Sequential(module(), nn.Flatten(), nn.Linear(6, 1)).double()
    with pytest.raises(HandpropError) as error:
        handprop.from_torch(model, randn(1, 3, 2), randn(1, 1), loss="mse")
    assert message in error.value.line() and len(error.value.line().splitlines()) == 1


def test_an_unsupported_module_is_named_with_its_index():
    model = nn.Sequential(lstm(), nn.Embedding(3, 2)).double()
    with pytest.raises(HandpropError) as error:
        handprop.from_torch(model, randn(1, 3, 2), randn(1, 2), loss="mse")
    assert "layer 1 (Embedding): unsupported layer Embedding" in error.value.line()
