"""Recurrent layer kinds (rnn, lstm, gru) against torch.nn.RNN, nn.LSTM and nn.GRU in float64: the loss, the outputs,
every gradient (the parameters', the inputs' and the initial states') and the parameters after one SGD and one Adam
step; and their bad input, each one line naming its place."""

from __future__ import annotations

import json
import random
import re

import pytest

import handprop
from handprop.core.errors import HandpropError
from handprop.core.program import Apply
from handprop.problem.spec import from_dict

torch = pytest.importorskip("torch")

# Each kind's gates in PyTorch's order: the rows of its stacked weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0.
GATES = {"rnn": "h", "lstm": "ifgo", "gru": "rzn"}
REL, ABS = 1e-12, 1e-12


def _matrix(rng: random.Random, rows: int, columns: int) -> list:
    return [[rng.uniform(-1, 1) for _ in range(columns)] for _ in range(rows)]


def _vector(rng: random.Random, size: int) -> list:
    return [rng.uniform(-1, 1) for _ in range(size)]


def recurrent_problem(kind: str, *, returned: str, bias: bool, batch: int, initial: str, head: str, seed: int,
                      nonlinearity: str = "tanh") -> dict:
    """A random problem: one recurrent layer, then a dense head (flattened first after return = "all") or the loss
    directly on its output; the initial state zero (not given), one for all samples, or one per sample."""
    rng = random.Random(seed)
    steps, features, hidden = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 3)
    layer = {"type": kind, "hidden": hidden, "return": returned}
    if not bias or rng.random() < 0.5:
        layer["bias"] = rng.choice([bias, "per_unit" if bias else "none"])
    if kind == "rnn":
        layer["nonlinearity"] = nonlinearity
    layers = [layer]
    parameters = {}
    for gate in GATES[kind]:
        parameters[f"Wi{gate}1"] = _matrix(rng, hidden, features)
    for gate in GATES[kind]:
        parameters[f"Wh{gate}1"] = _matrix(rng, hidden, hidden)
    if bias:
        for side in "ih":
            for gate in GATES[kind]:
                parameters[f"b{side}{gate}1"] = _vector(rng, hidden)
    out_shape = (hidden,) if returned == "last" else (steps, hidden)
    loss = "mse"
    if head != "none":
        if returned == "all":
            layers.append({"type": "flatten"})
        n = len(layers) + 1
        width = hidden * (1 if returned == "last" else steps)
        units = rng.randint(1, 3) if head == "dense" else 2
        layers.append({"type": "dense", "units": units} | ({"activation": "softmax"} if head == "softmax" else {}))
        parameters[f"W{n}"] = _matrix(rng, units, width)
        parameters[f"b{n}"] = _vector(rng, units)
        out_shape = (units,)
        loss = "cross_entropy" if head == "softmax" else "mse"
    xs = [_matrix(rng, steps, features) for _ in range(batch)]
    if head == "softmax":
        ts = []
        for _ in range(batch):
            p = rng.random()
            ts.append([p, 1 - p])
    elif len(out_shape) == 1:
        ts = [_vector(rng, out_shape[0]) for _ in range(batch)]
    else:
        ts = [_matrix(rng, *out_shape) for _ in range(batch)]
    data = {"x": xs, "t": ts}
    for state in ("h", "c") if kind == "lstm" else ("h",):
        if initial == "shared":
            data[f"{state}0_1"] = _vector(rng, hidden)
        elif initial == "per_sample":
            data[f"{state}0_1"] = [_vector(rng, hidden) for _ in range(batch)]
    return {"title": f"{kind} {seed}", "network": {"input_shape": [steps, features], "layers": layers, "loss": loss},
            "parameters": parameters, "data": data, "optimizer": {"lr": 0.1}}


class TorchModel:
    """The same network built from torch.nn's own modules, with the problem's weights copied in."""

    def __init__(self, raw: dict):
        torch.set_default_dtype(torch.float64)
        layer = raw["network"]["layers"][0]
        self.kind, self.raw = layer["type"], raw
        features, hidden = raw["network"]["input_shape"][1], layer["hidden"]
        parameters = raw["parameters"]
        self.bias = f"bi{GATES[self.kind][0]}1" in parameters
        options = {"nonlinearity": layer["nonlinearity"]} if self.kind == "rnn" else {}
        module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[self.kind]
        self.recurrent = module(features, hidden, batch_first=True, bias=self.bias, **options)
        gates = GATES[self.kind]
        with torch.no_grad():
            self.recurrent.weight_ih_l0.copy_(torch.tensor([row for g in gates for row in parameters[f"Wi{g}1"]]))
            self.recurrent.weight_hh_l0.copy_(torch.tensor([row for g in gates for row in parameters[f"Wh{g}1"]]))
            if self.bias:
                self.recurrent.bias_ih_l0.copy_(torch.tensor([v for g in gates for v in parameters[f"bi{g}1"]]))
                self.recurrent.bias_hh_l0.copy_(torch.tensor([v for g in gates for v in parameters[f"bh{g}1"]]))
        self.returned = layer.get("return", "last")
        self.head = None
        dense = [n for n, entry in enumerate(raw["network"]["layers"], 1) if entry.get("type") == "dense"]
        if dense:
            n = dense[0]
            weights = torch.tensor(parameters[f"W{n}"])
            self.head = torch.nn.Linear(weights.shape[1], weights.shape[0])
            with torch.no_grad():
                self.head.weight.copy_(weights)
                self.head.bias.copy_(torch.tensor(parameters[f"b{n}"]))
            self.head_number = n
        self.softmax = raw["network"]["loss"] == "cross_entropy"
        data = raw["data"]
        self.x = torch.tensor(data["x"], requires_grad=True)
        self.t = torch.tensor(data["t"])
        batch = self.x.shape[0]
        self.initial = {}
        for state in ("h", "c") if self.kind == "lstm" else ("h",):
            value = torch.tensor(data.get(f"{state}0_1", [0.0] * hidden))
            value = value.expand(batch, hidden) if value.dim() == 1 else value
            self.initial[state] = value.reshape(1, batch, hidden).clone().requires_grad_(True)

    def named_parameters(self) -> dict:
        """handprop's name of every parameter entry -> (the torch tensor, its index there)."""
        hidden = self.recurrent.hidden_size
        found = {}
        for q, gate in enumerate(GATES[self.kind]):
            for side, weight in (("i", self.recurrent.weight_ih_l0), ("h", self.recurrent.weight_hh_l0)):
                for j in range(hidden):
                    for k in range(weight.shape[1]):
                        found[f"W{side}{gate}1[{j + 1},{k + 1}]"] = (weight, (q * hidden + j, k))
            if self.bias:
                for side, vector in (("i", self.recurrent.bias_ih_l0), ("h", self.recurrent.bias_hh_l0)):
                    for j in range(hidden):
                        found[f"b{side}{gate}1[{j + 1}]"] = (vector, (q * hidden + j,))
        if self.head is not None:
            n = self.head_number
            for j in range(self.head.weight.shape[0]):
                for k in range(self.head.weight.shape[1]):
                    found[f"W{n}[{j + 1},{k + 1}]"] = (self.head.weight, (j, k))
                found[f"b{n}[{j + 1}]"] = (self.head.bias, (j,))
        return found

    def parameters(self) -> list:
        return list(self.recurrent.parameters()) + (list(self.head.parameters()) if self.head is not None else [])

    def forward(self):
        initial = (self.initial["h"], self.initial["c"]) if self.kind == "lstm" else self.initial["h"]
        out, _ = self.recurrent(self.x, initial)  # (batch, T, H)
        out = out[:, -1, :] if self.returned == "last" else out
        if self.head is not None:
            out = self.head(out.flatten(1))
        if self.softmax:
            return out, torch.nn.functional.cross_entropy(out, self.t)  # the logits; probability targets
        return out, torch.nn.functional.mse_loss(out, self.t)


def assert_close(mine: float, theirs: float, what: str) -> None:
    assert mine == pytest.approx(theirs, rel=REL, abs=ABS), what


def check_against_torch(raw: dict) -> None:
    """Loss, outputs, every gradient, and the parameters after one SGD step and after one Adam step."""
    for optimizer in ({"name": "sgd", "lr": 0.1}, {"name": "adam", "lr": 0.01}):
        raw = dict(raw, optimizer=optimizer)
        solution = handprop.solve(from_dict(json.loads(json.dumps(raw))))
        model = TorchModel(raw)
        out, loss = model.forward()
        loss.backward()
        assert_close(solution.loss, loss.item(), "loss")
        if model.softmax:
            out = torch.softmax(out, dim=1)
        for s, row in enumerate(out.detach().reshape(out.shape[0], -1).tolist()):
            assert len(solution.output_values[s]) == len(row)
            for mine, theirs in zip(solution.output_values[s], row):
                assert_close(mine, theirs, f"output of sample {s + 1}")
        named = model.named_parameters()
        assert set(named) == set(solution.parameters)
        for name, (tensor, index) in named.items():
            assert_close(solution.parameters[name].gradient, tensor.grad[index].item(), f"dL/d{name}")
        steps, features = raw["network"]["input_shape"]
        for s in range(model.x.shape[0]):
            for t in range(steps):
                for f in range(features):
                    assert_close(solution.nodes[f"x[{t + 1},{f + 1}]"].gradients[s], model.x.grad[s, t, f].item(),
                                 f"dL/dx[{t + 1},{f + 1}] of sample {s + 1}")
            for state, value in model.initial.items():
                for j in range(value.shape[2]):
                    record = solution.nodes[f"{state}1[0,{j + 1}]"]
                    assert record.values[s] == value[0, s, j].item()
                    assert_close(record.gradients[s], value.grad[0, s, j].item(), f"dL/d{state}1[0,{j + 1}]")
        step = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer["name"]](model.parameters(),
                                                                                     lr=optimizer["lr"])
        step.step()
        for name, (tensor, index) in named.items():
            assert_close(solution.parameters[name].updated, tensor[index].item(), f"{name} after one step")


KINDS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
CASES = [(kind, nonlinearity, returned, bias, batch, head)
         for kind, nonlinearity in KINDS for returned in ("last", "all") for bias in (True, False)
         for batch in (1, 3) for head in ("none", "dense", "softmax")]


@pytest.mark.parametrize("kind, nonlinearity, returned, bias, batch, head", CASES)
def test_agrees_with_torch_nn(kind, nonlinearity, returned, bias, batch, head):
    index = CASES.index((kind, nonlinearity, returned, bias, batch, head))
    initial = ("zero", "shared", "per_sample")[index % 3]
    raw = recurrent_problem(kind, returned=returned, bias=bias, batch=batch, initial=initial, head=head,
                            seed=1000 + index, nonlinearity=nonlinearity)
    check_against_torch(raw)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("seed", range(6))
def test_random_shapes_agree_with_torch_nn(kind, seed):
    rng = random.Random(seed)
    raw = recurrent_problem(kind, returned=rng.choice(["last", "all"]), bias=rng.random() < 0.7,
                            batch=rng.randint(1, 3), initial=rng.choice(["zero", "shared", "per_sample"]),
                            head=rng.choice(["none", "dense"]), seed=seed, nonlinearity=rng.choice(["tanh", "relu"]))
    check_against_torch(raw)


def test_two_recurrent_layers_one_sample_unwrapped():
    """A recurrent layer returning every step feeds another; x given as one sample (not a list of them)."""
    raw = {"network": {"input_shape": [3, 2], "layers": [{"type": "gru", "hidden": 2, "return": "all"},
                                                           {"type": "rnn", "hidden": 1}], "loss": "mse"},
           "parameters": {"init": "uniform", "seed": 3},
           "data": {"x": [[0.5, -1.0], [0.25, 0.0], [-0.75, 1.5]], "t": [0.3]}}
    solution = handprop.solve(from_dict(raw))
    torch.set_default_dtype(torch.float64)
    gru, rnn = torch.nn.GRU(2, 2, batch_first=True), torch.nn.RNN(2, 1, batch_first=True)
    values = {name: record.initial for name, record in solution.parameters.items()}
    with torch.no_grad():
        for module, n, gates, hidden, width in ((gru, 1, "rzn", 2, 2), (rnn, 2, "h", 1, 2)):
            for side, columns in (("i", width), ("h", hidden)):
                getattr(module, f"weight_{side}h_l0").copy_(torch.tensor(
                    [[values[f"W{side}{g}{n}[{j},{k}]"] for k in range(1, columns + 1)]
                     for g in gates for j in range(1, hidden + 1)]))
                getattr(module, f"bias_{side}h_l0").copy_(torch.tensor(
                    [values[f"b{side}{g}{n}[{j}]"] for g in gates for j in range(1, hidden + 1)]))
    out, _ = rnn(gru(torch.tensor([raw["data"]["x"]]))[0])
    loss = torch.nn.functional.mse_loss(out[:, -1, :], torch.tensor([[0.3]]))
    loss.backward()
    assert_close(solution.loss, loss.item(), "loss")
    assert_close(solution.parameters["Whn1[2,1]"].gradient, gru.weight_hh_l0.grad[5, 0].item(), "dL/dWhn1[2,1]")
    assert_close(solution.parameters["bhh2[1]"].gradient, rnn.bias_hh_l0.grad[0].item(), "dL/dbhh2[1]")
    # init = "uniform" is torch's U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias: H = 2 (the GRU), 1 (the RNN)
    for n, bound in ((1, 1 / 2 ** 0.5), (2, 1.0)):
        drawn = [value for name, value in values.items() if re.fullmatch(rf"[A-Za-z]+{n}\[[\d,]+\]", name)]
        assert len(drawn) == (3 * 2 * (2 + 2 + 2) if n == 1 else 2 + 1 + 2)
        assert all(abs(value) <= bound for value in drawn) and max(map(abs, drawn)) > bound / 2


@pytest.mark.parametrize("name", ["rnn_three_steps", "lstm_step"])
def test_packaged_examples_agree_with_torch_nn(name):
    import tomllib

    from handprop.problem.files import example_path

    raw = tomllib.loads(example_path(name).read_text())
    raw["data"]["x"], raw["data"]["t"] = [raw["data"]["x"]], [raw["data"]["t"]]  # one sample, as a batch of one
    raw["network"]["loss"] = "mse"  # torch's mse_loss; half_sse is that times H / 2
    check_against_torch(raw)


def test_names_follow_the_steps():
    raw = recurrent_problem("lstm", returned="all", bias=True, batch=1, initial="zero", head="none", seed=5)
    steps, _ = raw["network"]["input_shape"]
    hidden = raw["network"]["layers"][0]["hidden"]
    program = from_dict(raw).program
    targets = [equation.target for equation in program.equations]
    first_step = [f"{g}1[1,{j}]" for g in "ifgoch" for j in range(1, hidden + 1)]
    assert targets[:len(first_step)] == first_step
    assert program.outputs == tuple(f"h1[{t},{j}]" for t in range(1, steps + 1) for j in range(1, hidden + 1))
    tensors = list(dict.fromkeys(name.split("[")[0] for name in program.parameters))  # torch's state_dict order
    assert tensors == [f"{w}{side}{g}1" for w in "Wb" for side in "ih" for g in "ifgo"]
    assert program.parameters[0] == "Wii1[1,1]" and program.parameters[-1] == f"bho1[{hidden}]"


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_verify_passes(cli, tmp_path, kind):
    raw = recurrent_problem(kind, returned="last", bias=True, batch=2, initial="shared", head="dense", seed=11)
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps(raw))
    result = cli(["verify", str(path)])
    assert result.status == 0, result.out + result.err
    assert result.out.splitlines()[-1].startswith("verdict: ok, all ") and "agree with PyTorch" in result.out


@pytest.mark.parametrize("name", ["rnn_three_steps", "lstm_step"])
def test_verify_passes_on_the_packaged_examples(cli, name):
    result = cli(["verify", name])
    assert result.status == 0, result.out + result.err
    assert result.out.splitlines()[-1].startswith("verdict: ok, all ") and "agree with PyTorch" in result.out


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("seed", range(3))
def test_terms_counted_from_the_shapes_bound_the_equations(kind, seed):
    """The estimate checked against the limits before any equation is written is at least the operations the
    layer's equations hold, and not far above them."""
    from handprop.problem.kinds import KINDS as ALL_KINDS

    raw = recurrent_problem(kind, returned="all", bias=seed != 1, batch=1, initial="zero", head="none", seed=seed)
    problem = from_dict(raw)
    layer = problem.stack.layers[0]
    estimate = ALL_KINDS[kind].terms(layer)

    def applied(expr) -> int:
        return 1 + sum(applied(arg) for arg in expr.args) if isinstance(expr, Apply) else 0

    written = sum(applied(equation.expr) for equation in problem.program.equations if equation.target != "L")
    assert written <= estimate <= 3 * written


def test_a_long_wide_lstm_is_refused_from_its_shapes():
    raw = {"network": {"input_shape": [100, 1], "layers": [{"type": "lstm", "hidden": 100}], "loss": "mse"},
           "parameters": {"init": "zeros"}, "data": {"x": [[0.0]] * 100, "t": [0.0] * 100}}
    message = _error(raw)
    assert "network.layers" in message and "products and sums for one sample" in message, message


def _error(raw: dict) -> str:
    with pytest.raises(HandpropError) as caught:
        _ = from_dict(raw).program
    message = str(caught.value)
    assert "\n" not in message
    return message


def _rnn(layer: dict | None = None, shape=(2, 1), data: dict | None = None) -> dict:
    return {"network": {"input_shape": list(shape), "layers": [{"type": "rnn", "hidden": 2} | (layer or {})],
                        "loss": "mse"},
            "parameters": {"init": "uniform"},
            "data": {"x": [[0.5], [1.0]], "t": [0.0, 0.0]} | (data or {})}


@pytest.mark.parametrize("raw, place, words", [
    (_rnn(shape=(4,), data={"x": [1, 2, 3, 4]}), "layer 1",
     "a recurrent (Elman) layer takes a sequence (T, F), but its input is (4)"),
    ({"network": {"input_shape": [1, 4, 4], "layers": [{"type": "lstm", "hidden": 2}], "loss": "mse"},
      "parameters": {"init": "uniform"}, "data": {"x": [[[0] * 4] * 4], "t": [0, 0]}}, "layer 1", "(1, 4, 4)"),
    (_rnn({"hidden": 0}), "layer 1: hidden", "whole number from 1"),
    (_rnn({"hidden": 1.5}), "layer 1: hidden", "whole number"),
    (_rnn({"return": "first"}), "layer 1: return", "\"last\""),
    (_rnn({"nonlinearity": "sigmoid"}), "layer 1: nonlinearity", "\"tanh\" or \"relu\""),
    (_rnn({"bias": "shared"}), "layer 1: bias", "\"per_unit\""),
    (_rnn({"units": 2}), "layer 1.units", "unknown key"),
    (_rnn(data={"x": [[0.5], [1.0], [2.0]]}), "data.x", "3 entries where its shape (2, 1) wants 2"),
    (_rnn(data={"x": [[0.5, 1.0], [1.0, 2.0]]}), "data.x", "wants 1"),
    (_rnn(data={"h0_1": [0.1, 0.2, 0.3]}), "data.h0_1", "3 numbers (2, one per hidden unit of layer 1)"),
    (_rnn(data={"h0_1": [[0.1, 0.2], [0.3, 0.4]]}), "data.h0_1", "2 initial states for 1 sample ("),
    (_rnn(data={"h0_1": [[0.1]]}), "data.h0_1: sample 1", "1 number (2, one per"),
    (_rnn(data={"h0_1": "zero"}), "data.h0_1", "a list of numbers"),
    (_rnn(data={"c0_1": [0.1, 0.2]}), "data.c0_1", "unknown key"),
    ({"network": {"input_shape": [2, 1], "layers": [{"type": "lstm", "hidden": 2}], "loss": "mse"},
      "parameters": {"init": "uniform"}, "data": {"x": [[0.5], [1.0]], "t": [0, 0], "c0_1": [1.0]}},
     "data.c0_1", "1 number (2, one per hidden unit of layer 1)"),
    ({"network": {"input_shape": [2, 1], "layers": [{"type": "gru", "hidden": 2}], "loss": "mse"},
      "parameters": {"Wir1": [[0.1], [0.2]]}, "data": {"x": [[0.5], [1.0]], "t": [0, 0]}},
     "parameters", "missing Wiz1"),
])
def test_bad_input_is_one_line_naming_its_place(raw, place, words):
    message = _error(raw)
    assert place in message and words in message, message


def test_a_dense_layer_after_every_step_needs_a_flatten():
    raw = _rnn({"return": "all"})
    raw["network"]["layers"].append({"units": 1})
    message = _error(raw)
    assert "layer 2" in message and "flatten" in message, message
