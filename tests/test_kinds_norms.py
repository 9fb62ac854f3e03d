"""Normalisation and dropout layer kinds (layernorm, batchnorm, dropout) against PyTorch in float64.

Each network is drawn at random (seeded): the input's shape, the kind's settings, an activation, what follows it
(a dense layer, after a flatten where its output is a grid, or the loss directly on its output), the loss and the
batch. handprop's loss, outputs, every gradient and the parameters after an SGD step and an Adam step are compared
with a torch model built here from nn.LayerNorm, nn.BatchNorm1d/2d (train mode; its running statistics too) and
x * mask / (1 - p) for dropout, with the same numbers.
"""

from __future__ import annotations

import json
import math
import random
from itertools import product

import pytest

from conftest import close_to as close, nested

from handprop.problem.spec import from_dict
from handprop.solver import solve

torch = pytest.importorskip("torch")

ACTIVATIONS = ("identity", "relu", "tanh", "sigmoid")




def names(prefix: str, shape: tuple) -> list[str]:
    return [f"{prefix}[{','.join(str(i + 1) for i in index)}]" for index in product(*(range(n) for n in shape))]


def tensor(values: list, shape: tuple):
    return torch.tensor(values, dtype=torch.float64).reshape(shape)


def random_network(rng: random.Random, kind: str) -> dict:
    """A problem dict: the kind first (its input drawn), then a flatten and a dense layer, or the loss on it."""
    dims = rng.choice([1, 2, 3])
    shape = [rng.randint(2 if kind == "batchnorm" and dims == 1 else 1, 3) for _ in range(dims)]
    size = math.prod(shape)
    batch = rng.randint(2, 4) if kind == "batchnorm" else rng.randint(1, 3)
    layer: dict = {"type": kind}
    parameters: dict = {}
    data: dict = {}
    channels = shape[0]
    if kind == "layernorm":
        axes = rng.randint(1, dims)
        if math.prod(shape[dims - axes:]) < 2:  # over one entry torch's rounding noise, not 0, is the gradient
            shape[-1] = 2
            size = math.prod(shape)
        layer["axes"] = axes
        affine_shape = tuple(shape[dims - axes:])
    else:
        affine_shape = (channels,)
    if kind in ("layernorm", "batchnorm"):
        if rng.random() < 0.5:
            layer["eps"] = rng.choice([1e-5, 1e-3, 0.1])
        affine = rng.random() < 0.8
        if not affine:
            layer["affine"] = False
        else:
            parameters["gamma1"] = nested([rng.uniform(0.5, 1.5) for _ in range(math.prod(affine_shape))],
                                          affine_shape)
            parameters["beta1"] = nested([rng.uniform(-0.5, 0.5) for _ in range(math.prod(affine_shape))],
                                         affine_shape)
        layer["activation"] = rng.choice(ACTIVATIONS)
    if kind == "batchnorm":
        if rng.random() < 0.5:
            layer["momentum"] = rng.choice([0.1, 0.3, 1.0])
        if rng.random() < 0.5:
            layer["running_mean"] = [rng.uniform(-1, 1) for _ in range(channels)]
            layer["running_var"] = [rng.uniform(0.5, 2) for _ in range(channels)]
    if kind == "dropout":
        layer["p"] = rng.choice([0.0, 0.25, 0.5, 0.8])
        data["mask1"] = [nested([float(rng.random() > layer["p"]) for _ in range(size)], tuple(shape))
                         for _ in range(batch)]
    layers = [layer]
    loss = rng.choice(["mse", "cross_entropy"])
    if kind == "dropout" or "gamma1" not in parameters or rng.random() < 0.6:  # a dense layer after it
        if dims > 1:
            layers.append({"type": "flatten"})
        outputs = rng.randint(1, 3) if loss == "mse" else rng.randint(2, 3)
        layers.append({"units": outputs, "activation": "softmax" if loss == "cross_entropy" else "identity"})
        n = len(layers)
        parameters[f"W{n}"] = [[rng.uniform(-1, 1) for _ in range(size)] for _ in range(outputs)]
        parameters[f"b{n}"] = [rng.uniform(-0.5, 0.5) for _ in range(outputs)]
        target_shape = (outputs,)
    else:  # the loss directly on its output (cross-entropy over a vector only)
        loss = "mse"  # its output is no softmax
        target_shape = tuple(shape)
    xs = [nested([rng.uniform(-2, 2) for _ in range(size)], tuple(shape)) for _ in range(batch)]
    ts = []
    for _ in range(batch):
        count = math.prod(target_shape)
        if loss == "cross_entropy":
            k = rng.randrange(count)
            ts.append([1.0 if j == k else 0.0 for j in range(count)])
        else:
            ts.append(nested([rng.uniform(-1, 1) for _ in range(count)], target_shape))
    data.update({"x": xs, "t": ts})
    return {"network": {"input_shape": shape, "layers": layers, "loss": loss}, "parameters": parameters,
            "data": data, "optimizer": {"lr": 0.1}}


class Masked(torch.nn.Module):
    """nn.Dropout in training mode with a given mask: x * mask / (1 - p)."""

    def __init__(self, mask, p: float):
        super().__init__()
        self.mask, self.p = mask, p

    def forward(self, x):
        return x * self.mask / (1 - self.p)


def torch_model(document: dict):
    """nn.Sequential of the document's layers, with its numbers, and handprop name -> (tensor, index)."""
    network, values = document["network"], document["parameters"]
    shape = tuple(network["input_shape"])
    batch = len(document["data"]["x"])
    modules, places = [], {}
    activations = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    for n, layer in enumerate(network["layers"], 1):
        kind = layer.get("type", "dense")
        module = None
        if kind == "layernorm":
            normalized = shape[len(shape) - layer["axes"]:]
            module = torch.nn.LayerNorm(normalized, eps=layer.get("eps", 1e-5),
                                        elementwise_affine=layer.get("affine", True), dtype=torch.float64)
        elif kind == "batchnorm":
            cls = torch.nn.BatchNorm2d if len(shape) == 3 else torch.nn.BatchNorm1d
            module = cls(shape[0], eps=layer.get("eps", 1e-5), momentum=layer.get("momentum", 0.1),
                         affine=layer.get("affine", True), dtype=torch.float64)
            with torch.no_grad():
                module.running_mean.copy_(torch.tensor(layer.get("running_mean", [0.0] * shape[0]), dtype=torch.float64))
                module.running_var.copy_(torch.tensor(layer.get("running_var", [1.0] * shape[0]), dtype=torch.float64))
            module.train()
        elif kind == "dropout":
            mask = tensor([v for sample in document["data"][f"mask{n}"] for v in _flat(sample)], (batch, *shape))
            module = Masked(mask, layer["p"])
        elif kind == "flatten":
            module = torch.nn.Flatten()
            shape = (math.prod(shape),)
        else:
            module = torch.nn.Linear(shape[0], layer["units"], dtype=torch.float64)
            shape = (layer["units"],)
        if kind in ("layernorm", "batchnorm", "dense") and getattr(module, "weight", None) is not None:
            gamma, beta = ("gamma", "beta") if kind != "dense" else ("W", "b")
            with torch.no_grad():
                module.weight.copy_(tensor(_flat(values[f"{gamma}{n}"]), tuple(module.weight.shape)))
                module.bias.copy_(tensor(_flat(values[f"{beta}{n}"]), tuple(module.bias.shape)))
            for prefix, parameter in ((gamma, module.weight), (beta, module.bias)):
                for name, index in zip(names(f"{prefix}{n}", tuple(parameter.shape)),
                                       product(*(range(k) for k in parameter.shape))):
                    places[name] = (parameter, index)
        modules.append(module)
        if layer.get("activation", "identity") in activations:
            modules.append(activations[layer["activation"]]())
    return torch.nn.Sequential(*modules), places


def _flat(value) -> list:
    return [v for item in value for v in _flat(item)] if isinstance(value, list) else [value]


def torch_loss(model, document: dict):
    xs = torch.tensor([_flat(x) for x in document["data"]["x"]], dtype=torch.float64)
    xs = xs.reshape(len(document["data"]["x"]), *document["network"]["input_shape"]).requires_grad_()
    torch_loss.inputs = xs
    ts = torch.tensor([_flat(t) for t in document["data"]["t"]], dtype=torch.float64)
    out = model(xs).flatten(1)
    if document["network"]["loss"] == "cross_entropy":
        return torch.nn.functional.cross_entropy(out, ts), torch.softmax(out, dim=-1)
    return torch.nn.functional.mse_loss(out, ts), out


def check_input_gradients(solution, inputs) -> None:
    """dL/dx of every sample's every input, as torch's x.grad (L the batch's mean loss)."""
    stack = solution.problem.stack
    for k, grad in enumerate(inputs.grad.reshape(inputs.shape[0], -1).tolist()):
        for index, theirs in zip(names("", stack.input_shape), grad):
            inside = index[1:-1]
            mine = (solution.nodes[f"x[{k + 1},{inside}]"].gradients[0] if stack.batch
                    else solution.nodes[f"x[{inside}]"].gradients[k])
            assert close(mine, theirs), (k, index, mine, theirs)


def handprop_outputs(solution) -> list[list[float]]:
    """Each sample's outputs: a coupled network's one row holds every sample's, sample after sample."""
    rows = [list(row) for row in solution.output_values]
    batch = solution.problem.stack.batch
    if batch:
        width = len(rows[0]) // batch
        return [rows[0][k * width:(k + 1) * width] for k in range(batch)]
    return rows


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kind", ["layernorm", "batchnorm", "dropout"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_norm_kinds_agree_with_torch(seed, kind, optimizer):
    rng = random.Random(f"{kind}-{seed}")
    document = random_network(rng, kind)
    document["optimizer"] = {"name": optimizer, "lr": 0.1}
    problem = from_dict(json.loads(json.dumps(document)))
    solution = solve(problem)
    model, places = torch_model(document)
    loss, outputs = torch_loss(model, document)
    loss.backward()
    check_input_gradients(solution, torch_loss.inputs)
    assert close(solution.loss, loss.item()), (solution.loss, loss.item())
    mine = handprop_outputs(solution)
    assert len(mine) == outputs.shape[0]
    for row, theirs in zip(mine, outputs.tolist()):
        assert len(row) == len(theirs) and all(close(a, b) for a, b in zip(row, theirs)), (row, theirs)
    assert set(places) == set(problem.parameters)
    for name, (parameter, index) in places.items():
        assert close(solution.parameters[name].gradient, parameter.grad[index].item()), name
    if kind == "batchnorm":  # the running statistics after the forward pass, as torch's train mode updates them
        module = model[0]
        for c in range(problem.stack.input_shape[0]):
            assert close(solution.nodes[f"rmean1[{c + 1}]"].values[0], module.running_mean[c].item())
            assert close(solution.nodes[f"rvar1[{c + 1}]"].values[0], module.running_var[c].item())
    if not places:  # no parameters (a normalisation without affine, the loss on its output): nothing to step
        return
    step = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(model.parameters(), lr=0.1)
    step.step()
    for name, (parameter, index) in places.items():
        assert close(solution.parameters[name].updated, parameter[index].item()), name


def test_a_coupled_network_with_every_kind_agrees_with_torch():
    # batch-norm couples the batch, so layernorm and dropout (with its masks) are lowered sample by sample inside
    # the one program: their names carry the sample first
    rng = random.Random(7)
    shape, batch = (2, 3), 3
    masks = [nested([float(rng.random() > 0.5) for _ in range(6)], shape) for _ in range(batch)]
    document = {"network": {"input_shape": list(shape), "loss": "cross_entropy", "layers": [
        {"type": "batchnorm", "activation": "relu"}, {"type": "dropout", "p": 0.5},
        {"type": "layernorm", "axes": 2, "activation": "tanh"}, {"type": "flatten"},
        {"units": 2, "activation": "softmax"}]},
        "parameters": {"gamma1": [1.2, 0.7], "beta1": [0.1, -0.2],
                       "gamma3": nested([rng.uniform(0.5, 1.5) for _ in range(6)], shape),
                       "beta3": nested([rng.uniform(-0.5, 0.5) for _ in range(6)], shape),
                       "W5": [[rng.uniform(-1, 1) for _ in range(6)] for _ in range(2)], "b5": [0.1, -0.1]},
        "data": {"x": [nested([rng.uniform(-2, 2) for _ in range(6)], shape) for _ in range(batch)],
                 "t": [[1, 0], [0, 1], [1, 0]], "mask2": masks}, "optimizer": {"name": "adam", "lr": 0.1}}
    problem = from_dict(json.loads(json.dumps(document)))
    assert problem.batch_size == 1 and problem.stack.batch == batch
    assert "mask2[3,2,1]" in problem.data and "n3[2,1,3]" in problem.program.nodes and "L[3]" in problem.program.nodes
    solution = solve(problem)
    model, places = torch_model(document)
    loss, outputs = torch_loss(model, document)
    loss.backward()
    check_input_gradients(solution, torch_loss.inputs)
    assert close(solution.loss, loss.item())
    for row, theirs in zip(handprop_outputs(solution), outputs.tolist()):
        assert all(close(a, b) for a, b in zip(row, theirs))
    for name, (parameter, index) in places.items():
        assert close(solution.parameters[name].gradient, parameter.grad[index].item()), name
    torch.optim.Adam(model.parameters(), lr=0.1).step()
    for name, (parameter, index) in places.items():
        assert close(solution.parameters[name].updated, parameter[index].item()), name


def test_networks_without_batchnorm_keep_their_per_sample_names():
    document = {"network": {"input_shape": [3], "loss": "mse", "layers": [{"type": "layernorm"},
                                                                          {"type": "dropout", "p": 0.5}]},
                "parameters": {"init": "uniform"}, "data": {"x": [[1, 2, 3], [0, 1, 0]], "t": [[0, 0, 0]] * 2,
                                                            "mask2": [[1, 0, 1], [0, 1, 1]]}}
    problem = from_dict(document)
    assert problem.batch_size == 2 and problem.stack.batch == 0
    assert problem.program.data == ("x[1]", "x[2]", "x[3]", "mask2[1]", "mask2[2]", "mask2[3]", "t1", "t2", "t3")
    assert problem.parameters["gamma1[2]"] == 1.0 and problem.parameters["beta1[2]"] == 0.0  # as torch's init


@pytest.mark.parametrize("kind", ["layernorm", "batchnorm", "dropout"])
def test_verify_agrees(cli, tmp_path, kind):
    document = random_network(random.Random(f"verify-{kind}"), kind)
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps(document))
    result = cli(["verify", str(path)])
    assert result.status == 0, result.out + result.err


def _bad(layer: dict, data: dict | None = None, shape=(2, 3), batch: int = 2) -> dict:
    document = {"network": {"input_shape": list(shape), "layers": [layer], "loss": "mse"},
                "parameters": {"init": "uniform"},
                "data": {"x": [[[0.5] * shape[-1]] * shape[0]] * batch if len(shape) == 2 else [[0.5] * shape[0]] * batch,
                         "t": [[[0.0] * shape[-1]] * shape[0]] * batch if len(shape) == 2 else [[0.0] * shape[0]] * batch},
                "optimizer": {"lr": 0.1}}
    document["data"].update(data or {})
    return document


BAD = {
    "a mask of the wrong shape": (_bad({"type": "dropout", "p": 0.5}, {"mask1": [[[1, 0], [1, 1]]] * 2}),
                                  "data.mask1: sample 1[1]: 2 entries where its shape (3) wants 3"),
    "a mask of 0.5": (_bad({"type": "dropout", "p": 0.5}, {"mask1": [[[1, 0, 1], [1, 1, 0.5]]] * 2}),
                      "data.mask1: sample 1[2,3]: is 0.5"),
    "a mask for one sample of two": (_bad({"type": "dropout", "p": 0.5}, {"mask1": [[1, 0, 1], [1, 1, 0]]}),
                                     "1 mask for 2 samples"),
    "no mask": (_bad({"type": "dropout", "p": 0.5}), "data.mask1: missing"),
    "p of 1": (_bad({"type": "dropout", "p": 1}), "p: is 1.0"),
    "p below 0": (_bad({"type": "dropout", "p": -0.1}), "p: is -0.1"),
    "batch-norm on a batch of 1": (_bad({"type": "batchnorm"}, shape=(3,), batch=1),
                                   "batchnorm over 1 sample with 1 value per channel"),
    "batch-norm in minibatches": (_bad({"type": "batchnorm"}, {"batch_size": 1}), "batch_size 1 with batch-norm"),
    "a running mean of the wrong length": (_bad({"type": "batchnorm", "running_mean": [0, 0, 0]}),
                                           "3 numbers for 2 channels"),
    "a momentum of 2": (_bad({"type": "batchnorm", "momentum": 2}), "momentum: is 2.0"),
    "layernorm over 3 axes of 2": (_bad({"type": "layernorm", "axes": 3}), "axes: is the value 3"),
    "an eps of 0": (_bad({"type": "layernorm", "eps": 0}), "eps: is 0"),
    "affine not true or false": (_bad({"type": "layernorm", "affine": "yes"}), "affine: is 'yes'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_norm_layers_are_refused_in_one_line(cli, tmp_path, case):
    document, message = BAD[case]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    result = cli(["solve", str(path)])
    assert result.status == 2 and len(result.err.splitlines()) == 1, result.err
    assert result.err.startswith("handprop: error: ") and message in result.err, result.err


def test_batchnorm_over_one_image_with_many_positions_is_torchs():
    # torch's BatchNorm2d takes a batch of 1 when a channel has more than one position: so does handprop
    document = _bad({"type": "batchnorm"}, shape=(2, 3), batch=1)
    document["data"]["x"] = [[[0.5, 1.0, -1.0], [2.0, 0.0, 1.0]]]
    problem = from_dict(document)
    solution = solve(problem)
    x = torch.tensor(document["data"]["x"], dtype=torch.float64)
    module = torch.nn.BatchNorm1d(2, dtype=torch.float64).train()
    out = module(x)
    mine = handprop_outputs(solution)[0]
    assert all(close(a, b) for a, b in zip(mine, out.flatten().tolist()))
    assert close(solution.nodes["rvar1[2]"].values[0], module.running_var[1].item())


def test_the_example_is_a_batch_of_four():
    from handprop import load

    problem = load("batchnorm_batch_of_4")
    assert problem.stack.batch == 4 and problem.stack.coupled
    solution = solve(problem)
    assert solution.nodes["mu1[1]"].values[0] == pytest.approx(sum(problem.data[f"x[{s},1]"][0]
                                                                   for s in range(1, 5)) / 4)
