"""Convolution, pooling, flatten and dense layer kinds against PyTorch's modules in float64.

Each network is drawn at random (seeded): shapes, channels, kernels, strides, padding, pools, activations, the
loss, the batch; handprop's loss, outputs, every gradient and the parameters after an SGD step and an Adam step
are compared with an nn.Sequential of nn.Conv1d/2d, nn.MaxPool1d/2d, nn.AvgPool1d/2d, nn.Flatten and nn.Linear,
built here from the same numbers.
"""

from __future__ import annotations

import random

import pytest

from conftest import close_to as close, nested

from handprop.problem.spec import from_dict
from handprop.solver import solve

torch = pytest.importorskip("torch")





def random_network(rng: random.Random) -> tuple[dict, list]:
    """A problem dict, and the layers as (kind, settings) for the torch model."""
    dims = rng.choice([1, 2])
    channels = rng.randint(1, 2)
    size = rng.randint(4, 6)
    shape = [channels] + [size] * dims
    layers = []
    current = list(shape)
    kernel = rng.randint(1, 3)
    stride = rng.randint(1, 2)
    padding = rng.randint(0, 1)
    out_channels = rng.randint(1, 3)
    activation = rng.choice(["relu", "tanh", "sigmoid", "identity", "leaky_relu"])
    bias = rng.choice([True, False])
    layers.append({"type": f"conv{dims}d", "channels": out_channels, "kernel": kernel, "stride": stride,
                   "padding": padding, "activation": activation, "bias": "per_unit" if bias else "none"})
    current = [out_channels] + [(n + 2 * padding - kernel) // stride + 1 for n in current[1:]]
    pool = rng.choice(["max", "avg", None])
    if pool and min(current[1:]) >= 2:
        layers.append({"type": f"{pool}pool{dims}d", "kernel": 2, **({"stride": 1} if rng.random() < 0.3 else {})})
        window_stride = layers[-1].get("stride", 2)
        current = [current[0]] + [(n - 2) // window_stride + 1 for n in current[1:]]
    layers.append({"type": "flatten"})
    width = 1
    for n in current:
        width *= n
    outputs = rng.randint(2, 3)
    loss = rng.choice(["cross_entropy", "mse"])
    layers.append({"units": outputs, "activation": "softmax" if loss == "cross_entropy" else "sigmoid"})
    batch = rng.randint(1, 3)
    xs = [nested([rng.choice([0.0, 1.0, 2.0, rng.uniform(-1, 1)]) for _ in range(_size(shape))], tuple(shape))
          for _ in range(batch)]
    ts = []
    for _ in range(batch):
        if loss == "cross_entropy":
            k = rng.randrange(outputs)
            ts.append([1.0 if j == k else 0.0 for j in range(outputs)])
        else:
            ts.append([rng.uniform(0, 1) for _ in range(outputs)])
    document = {"network": {"input_shape": shape, "layers": layers, "loss": loss},
                "parameters": {"init": "uniform", "seed": rng.randrange(1000)},
                "data": {"x": xs, "t": ts}, "optimizer": {"lr": 0.1}}
    return document, layers


def _size(shape) -> int:
    total = 1
    for n in shape:
        total *= n
    return total


def torch_model(problem, layers: list):
    """nn.Sequential of the layers, with handprop's parameter values (K{n}, b{n}, W{n})."""
    modules = []
    shape = list(problem.stack.input_shape)
    values = problem.parameters
    activations = {"relu": torch.nn.ReLU(), "tanh": torch.nn.Tanh(), "sigmoid": torch.nn.Sigmoid(),
                   "leaky_relu": torch.nn.LeakyReLU(0.01), "softmax": torch.nn.Softmax(dim=-1)}
    for n, (layer, stack_layer) in enumerate(zip(layers, problem.stack.layers), 1):
        kind = layer.get("type", "dense")
        if kind.startswith("conv"):
            dims = int(kind[4])
            conv = (torch.nn.Conv1d if dims == 1 else torch.nn.Conv2d)(
                stack_layer.shape_in[0], layer["channels"], layer["kernel"], stride=layer["stride"],
                padding=layer["padding"], bias=layer["bias"] == "per_unit").double()
            with torch.no_grad():
                weight = [values[name] for name in _names(f"K{n}", tuple(conv.weight.shape))]
                conv.weight.copy_(torch.tensor(weight, dtype=torch.float64).reshape(conv.weight.shape))
                if conv.bias is not None:
                    conv.bias.copy_(torch.tensor([values[f"b{n}[{o}]"] for o in range(1, layer["channels"] + 1)],
                                                 dtype=torch.float64))
            modules.append(conv)
        elif "pool" in kind:
            dims = int(kind[-2])
            pool = {("max", 1): torch.nn.MaxPool1d, ("max", 2): torch.nn.MaxPool2d, ("avg", 1): torch.nn.AvgPool1d,
                    ("avg", 2): torch.nn.AvgPool2d}[(kind[:3], dims)]
            modules.append(pool(layer["kernel"], stride=layer.get("stride")))
        elif kind == "flatten":
            modules.append(torch.nn.Flatten())
        else:
            linear = torch.nn.Linear(stack_layer.shape_in[0], layer["units"]).double()
            with torch.no_grad():
                linear.weight.copy_(torch.tensor([[values[f"W{n}[{j},{k}]"] for k in range(1, stack_layer.shape_in[0] + 1)]
                                                  for j in range(1, layer["units"] + 1)], dtype=torch.float64))
                linear.bias.copy_(torch.tensor([values[f"b{n}[{j}]"] for j in range(1, layer["units"] + 1)],
                                               dtype=torch.float64))
            modules.append(linear)
        activation = layer.get("activation", "identity")
        if activation not in ("identity", "softmax"):  # a softmax output: cross-entropy takes the logits
            modules.append(activations[activation])
    return torch.nn.Sequential(*modules)


def _names(prefix: str, shape: tuple) -> list[str]:
    from itertools import product

    return [f"{prefix}[{','.join(str(i + 1) for i in index)}]" for index in product(*(range(n) for n in shape))]


def torch_loss(model, problem, layers):
    xs = torch.tensor([[problem.data[name][k] for name in problem.stack.inputs] for k in range(problem.batch_size)],
                      dtype=torch.float64).reshape(problem.batch_size, *problem.stack.input_shape)
    ts = torch.tensor([[problem.data[name][k] for name in problem.stack.targets] for k in range(problem.batch_size)],
                      dtype=torch.float64)
    out = model(xs)
    if problem.stack.loss == "cross_entropy":
        return torch.nn.functional.cross_entropy(out, ts), torch.softmax(out, dim=-1)
    return torch.nn.functional.mse_loss(out, ts), out


def parameter_map(model, layers) -> dict:
    """handprop name -> (tensor, index) for every parameter of the torch model."""
    found = {}
    modules = list(model)
    index = 0
    for n, layer in enumerate(layers, 1):
        kind = layer.get("type", "dense")
        module = modules[index]
        index += 1
        if kind.startswith("conv") or kind == "dense":
            letter = "K" if kind.startswith("conv") else "W"
            for name, place in zip(_names(f"{letter}{n}", tuple(module.weight.shape)),
                                   _indices(tuple(module.weight.shape))):
                found[name] = (module.weight, place)
            if module.bias is not None:
                for o in range(module.bias.shape[0]):
                    found[f"b{n}[{o + 1}]"] = (module.bias, (o,))
        if layer.get("activation", "identity") not in ("identity", "softmax"):
            index += 1  # its activation module
    return found


def _indices(shape: tuple) -> list[tuple]:
    from itertools import product

    return list(product(*(range(n) for n in shape)))


@pytest.mark.parametrize("seed", range(24))
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_layer_kinds_agree_with_torch(seed, optimizer):
    rng = random.Random(seed)
    document, layers = random_network(rng)
    document["optimizer"] = {"name": optimizer, "lr": 0.1}
    problem = from_dict(document)
    solution = solve(problem)
    model = torch_model(problem, layers)
    loss, outputs = torch_loss(model, problem, layers)
    loss.backward()
    assert close(solution.loss, loss.item()), (solution.loss, loss.item())
    for k, row in enumerate(solution.output_values):
        for mine, theirs in zip(row, outputs[k].tolist()):
            assert close(mine, theirs)
    places = parameter_map(model, layers)
    assert set(places) == set(problem.parameters)
    for name, (tensor, place) in places.items():
        assert close(solution.parameters[name].gradient, tensor.grad[place].item()), name
    step = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(model.parameters(), lr=0.1)
    step.step()
    for name, (tensor, place) in places.items():
        assert close(solution.parameters[name].updated, tensor[place].item()), name


def test_max_pooling_routes_a_tied_window_to_its_first_largest():
    # Every window of the 2x2 pool ties (all entries equal): the gradient goes to the first, as torch's.
    document = {"network": {"input_shape": [1, 4, 4], "layers": [
        {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"}, {"units": 1, "activation": "identity"}],
        "loss": "mse"},
        "parameters": {"W3": [[1.0, -2.0, 0.5, 3.0]], "b3": [0.0]},
        "data": {"x": [[[1.0] * 4] * 4], "t": [0.0]}, "optimizer": {"lr": 0.1}}
    solution = solve(from_dict(document))
    x = torch.ones(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    linear = torch.tensor([[1.0, -2.0, 0.5, 3.0]], dtype=torch.float64)
    out = torch.nn.functional.max_pool2d(x, 2).flatten(1) @ linear.T
    torch.nn.functional.mse_loss(out, torch.zeros(1, 1, dtype=torch.float64)).backward()
    for (c, i, j), grad in zip(_indices((1, 4, 4)), x.grad.flatten().tolist()):
        assert solution.nodes[f"x[{c + 1},{i + 1},{j + 1}]"].gradients[0] == pytest.approx(grad, abs=1e-15)
    assert x.grad[0, 0, 0, 0] != 0 and x.grad[0, 0, 0, 1] == 0 and x.grad[0, 0, 1, 1] == 0


BAD = {
    "a kernel larger than its input": ({"type": "conv2d", "channels": 1, "kernel": 5}, "kernel 5 is larger than its"),
    "a stride of 0": ({"type": "conv2d", "channels": 1, "kernel": 2, "stride": 0}, "stride: is the value 0 (a whole number from 1"),
    "a pool larger than its input": ({"type": "maxpool2d", "kernel": 6}, "kernel 6 is larger than its input's 4"),
    "a conv1d on an image": ({"type": "conv1d", "channels": 1, "kernel": 2}, "takes a grid (C, L), but its input is (1, 4, 4)"),
    "an unknown type": ({"type": "conv3d", "channels": 1, "kernel": 2}, "unknown layer type 'conv3d'"),
    "an unknown key": ({"type": "flatten", "units": 3}, "unknown key"),
    "a kernel of three sizes": ({"type": "conv2d", "channels": 1, "kernel": [2, 2, 2]}, "3 numbers given"),
    "no channels": ({"type": "conv2d", "kernel": 2}, "channels missing"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_layers_are_refused_in_one_line(cli, tmp_path, case):
    import json

    layer, message = BAD[case]
    document = {"network": {"input_shape": [1, 4, 4], "layers": [layer, {"type": "flatten"}, {"units": 1}],
                            "loss": "mse"},
                "parameters": {"init": "uniform"}, "data": {"x": [[[0.0] * 4] * 4], "t": [0.0]},
                "optimizer": {"lr": 0.1}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    result = cli(["solve", str(path)])
    assert result.status == 2 and len(result.err.splitlines()) == 1, result.err
    assert result.err.startswith("handprop: error: ") and "layer 1" in result.err and message in result.err, result.err


@pytest.mark.parametrize("case, message", [
    ("dense after a convolution", "a dense layer takes a vector, but its input is the grid (1, 3, 3)"),
    ("wrong image", "data.x"),
    ("wrong kernel", "parameters.K1"),
    ("too large", "products and sums for one sample"),
])
def test_shapes_that_do_not_chain_are_refused(cli, tmp_path, case, message):
    import json

    layers = [{"type": "conv2d", "channels": 1, "kernel": 2}, {"type": "flatten"}, {"units": 1}]
    document = {"network": {"input_shape": [1, 4, 4], "layers": layers, "loss": "mse"},
                "parameters": {"init": "uniform"}, "data": {"x": [[[0.0] * 4] * 4], "t": [0.0]},
                "optimizer": {"lr": 0.1}}
    if case == "dense after a convolution":
        del layers[1]
    elif case == "wrong image":
        document["data"]["x"] = [[[0.0] * 3] * 4]
    elif case == "wrong kernel":
        document["parameters"] = {"K1": [[[[0.1, 0.2]]]], "b1": [0.0], "W3": [[0.0] * 9], "b3": [0.0]}
    else:
        document["network"]["input_shape"] = [1, 300, 300]
        layers[0]["channels"] = 64
        layers.insert(1, {"type": "maxpool2d", "kernel": 299})  # few parameters, many products
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    result = cli(["solve", str(path)])
    assert result.status == 2 and len(result.err.splitlines()) == 1, result.err
    assert message in result.err, result.err


@pytest.mark.parametrize("pool", ["maxpool2d", "avgpool2d"])
def test_a_window_of_one_entry_is_that_entry(cli, tmp_path, pool):
    # maxpool takes two entries or more (the op table's rule); a 1x1 window is its entry, with gradient 1.
    text = (f'[network]\ninput_shape = [1, 2, 2]\nlayers = [{{type = "{pool}", kernel = 1}}, {{type = "flatten"}}, '
            '{units = 1}]\nloss = "mse"\n[parameters]\nW3 = [[0.5, -1.0, 0.25, 2.0]]\nb3 = [0.0]\n'
            '[data]\nx = [[[1, 2], [3, 4]]]\nt = [0]\n[optimizer]\nlr = 0.1\n')
    path = tmp_path / "one.toml"
    path.write_text(text)
    solution = solve(from_dict(__import__("tomllib").loads(text)))
    assert [solution.nodes[f"p1[1,{i},{j}]"].values[0] for i in (1, 2) for j in (1, 2)] == [1, 2, 3, 4]
    for command in (["explain"], ["explain", "--format", "html"], ["diagram"], ["verify"]):
        result = cli([command[0], str(path), *command[1:]])
        assert result.status == 0, (command, result.err)
