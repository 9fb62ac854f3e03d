"""PyTorch interop: an nn.Sequential of Linear layers and activations <-> a layered Problem.

torch is imported inside the functions only: `import handprop` never loads it.

Conventions, so that the numbers agree with torch in float64:
- cross_entropy and a last nn.Linear with no activation is torch's CrossEntropyLoss on the logits: in
  handprop that is a softmax output layer and -sum t ln y, which is the same function. Going back
  (to_torch, the exported script) the softmax is left out again and nn.CrossEntropyLoss takes the logits.
- Weights are copied exactly: float32 widens to float64 without rounding.
- Losses are torch's with mean reduction over the batch (half_sse: 1/2 sum over outputs, batch mean).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import HandpropError

if TYPE_CHECKING:
    from ..problem.spec import Problem

SOFTPLUS_BETA, SOFTPLUS_THRESHOLD = 1.0, 20.0  # the only softplus handprop's op table has (torch's defaults)
TORCH_OPTIMIZERS = {"SGD": "sgd", "Adam": "adam", "AdamW": "adamw", "RMSprop": "rmsprop", "Adagrad": "adagrad"}
_ACTIVATION_MODULES = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
                       "softmax": "Softmax", "leaky_relu": "LeakyReLU"}


def from_torch(model, x, t, *, loss: str = "cross_entropy", optimizer=None, lr: float = 0.1, steps: int = 1,
               title: str = "PyTorch model") -> Problem:
    """The layered Problem (naming "layered": W1[j,k], b1[j], ...) equivalent to a torch nn.Sequential.

    model: nn.Linear layers, each optionally followed by one of ReLU, LeakyReLU, Sigmoid, Tanh,
    Softplus (beta 1, threshold 20), Softmax(dim=-1 or 1) or Identity. x: (batch, inputs) or one sample;
    t: targets as (batch, outputs), or class indices (an integer tensor) for cross_entropy.
    optimizer: None (SGD with `lr`), a torch.optim optimizer (its settings are read), or a dict as an
    [optimizer] section ({"name": "adam", "lr": 0.01}).

    >>> import torch  # doctest: +SKIP
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))  # doctest: +SKIP
    >>> problem = from_torch(model, [[0.26, 0.33]], [[1.0, 0.0]], optimizer={"name": "sgd", "lr": 0.5})  # doctest: +SKIP
    >>> sorted(problem.parameters)[:2]  # doctest: +SKIP
    ['W1[1,1]', 'W1[1,2]']
    """
    import torch

    from ..problem.spec import from_dict, plain

    modules = list(model) if isinstance(model, torch.nn.Sequential) else [model]
    layers, weights, biases = [], {}, {}
    for index, module in enumerate(modules):
        name = type(module).__name__
        if isinstance(module, torch.nn.Linear):
            if module.bias is None:
                raise HandpropError("model", f"layer {index} ({name})", "a Linear layer without a bias",
                                    "nn.Linear(..., bias=True): every unit of a handprop network has a bias")
            n = len(layers) + 1
            weights[f"W{n}"] = module.weight.detach().to(torch.float64).tolist()
            biases[f"b{n}"] = module.bias.detach().to(torch.float64).tolist()
            layers.append({"units": module.out_features})
            continue
        if isinstance(module, torch.nn.Identity):
            continue
        activation = _activation(torch, module, index)
        if not layers or "activation" in layers[-1]:
            raise HandpropError("model", f"layer {index} ({name})", "an activation not directly after a Linear layer",
                                "Linear, then at most one activation, then Linear, ...")
        layers[-1].update(activation)
    if not layers:
        raise HandpropError("model", None, "no nn.Linear layer", "an nn.Sequential of Linear layers and activations")
    last = layers[-1]
    if loss == "cross_entropy" and last.get("activation", "identity") == "identity":
        last["activation"] = "softmax"  # CrossEntropyLoss on the logits = softmax outputs, -sum t ln y
    x = plain(x.detach().to(torch.float64) if isinstance(x, torch.Tensor) else x)
    if isinstance(t, torch.Tensor):
        if not t.is_floating_point():  # class indices, as CrossEntropyLoss takes them
            t = torch.nn.functional.one_hot(t.reshape(-1).long(), last["units"]).to(torch.float64)
        t = plain(t.detach().to(torch.float64))
    else:
        t = plain(t)
    raw = {"title": title,
           "network": {"inputs": modules[0].in_features if isinstance(modules[0], torch.nn.Linear) else 1,
                       "layers": layers, "loss": loss, "naming": "layered"},
           "parameters": {**weights, **biases}, "data": {"x": x, "t": t},
           "optimizer": _optimizer_table(torch, optimizer, lr, steps)}
    return from_dict(raw, label="<from_torch>")


def _activation(torch, module, index: int) -> dict:
    nn, name = torch.nn, type(module).__name__
    where = f"layer {index} ({name})"
    if isinstance(module, nn.ReLU):
        return {"activation": "relu"}
    if isinstance(module, nn.LeakyReLU):
        return {"activation": "leaky_relu", "alpha": float(module.negative_slope)}
    if isinstance(module, nn.Sigmoid):
        return {"activation": "sigmoid"}
    if isinstance(module, nn.Tanh):
        return {"activation": "tanh"}
    if isinstance(module, nn.Softplus):
        if module.beta != SOFTPLUS_BETA or module.threshold != SOFTPLUS_THRESHOLD:
            raise HandpropError("model", where, f"Softplus(beta={module.beta}, threshold={module.threshold})",
                                "Softplus() with beta=1 and threshold=20, the defaults")
        return {"activation": "softplus"}
    if isinstance(module, nn.Softmax):
        if module.dim not in (-1, 1):
            raise HandpropError("model", where, f"Softmax(dim={module.dim})", "Softmax(dim=-1) or Softmax(dim=1)")
        return {"activation": "softmax"}
    raise HandpropError("model", where, f"unsupported layer {name}",
                        "nn.Linear, ReLU, LeakyReLU, Sigmoid, Tanh, Softplus, Softmax or Identity")


def _optimizer_table(torch, optimizer, lr: float, steps: int) -> dict:
    from ..core.optim import OPTIMIZERS

    if optimizer is None:
        return {"name": "sgd", "lr": lr, "steps": steps}
    if isinstance(optimizer, dict):
        return {"steps": steps, **{k: list(v) if isinstance(v, tuple) else v for k, v in optimizer.items()}}
    kind = type(optimizer).__name__
    if not isinstance(optimizer, torch.optim.Optimizer) or kind not in TORCH_OPTIMIZERS:
        raise HandpropError("optimizer", None, f"unsupported optimizer {kind}",
                            "torch.optim." + ", torch.optim.".join(TORCH_OPTIMIZERS) + ", a dict, or None")
    if len(optimizer.param_groups) != 1:
        raise HandpropError("optimizer", None, f"{len(optimizer.param_groups)} parameter groups", "one group")
    group = optimizer.param_groups[0]
    if group.get("maximize"):
        raise HandpropError("optimizer", "maximize", "is True", "False: handprop minimises the loss")
    name = TORCH_OPTIMIZERS[kind]
    table = {"name": name, "lr": float(group["lr"]), "steps": steps}
    for key in OPTIMIZERS[name]:
        value = group[key]
        table[key] = [float(v) for v in value] if isinstance(value, tuple) else value
    return table


def architecture(problem) -> list[tuple]:
    """The modules of the torch model, as (class name, arguments); Linear carries its layer's index."""
    network = problem.network
    if network is None:
        raise HandpropError(problem.source, "network", "an equations-form problem has no nn.Sequential",
                            "a layered network (network.layers)")
    widths = network.widths()
    modules: list[tuple] = []
    last = len(network.layers) - 1
    for index, layer in enumerate(network.layers):
        modules.append(("Linear", widths[index], layer.units, index))
        if layer.activation == "identity" or (index == last and _logits(problem)):
            continue
        if layer.activation == "leaky_relu":
            modules.append(("LeakyReLU", float(layer.alpha)))
        elif layer.activation == "softmax":
            modules.append(("Softmax", -1))
        else:
            modules.append((_ACTIVATION_MODULES[layer.activation],))
    return modules


def _logits(problem) -> bool:
    """A softmax output layer with cross-entropy: torch's CrossEntropyLoss on the logits."""
    network = problem.network
    return network.loss == "cross_entropy" and network.layers[-1].activation == "softmax"


def to_torch(problem: Problem) -> tuple:
    """(nn.Sequential in float64 with the problem's weights, the torch.optim optimizer with its settings).

    A softmax output layer with cross_entropy is left out: the model gives the logits, for
    nn.CrossEntropyLoss, which applies the softmax itself.

    >>> from handprop import load
    >>> model, optimizer = to_torch(load("homework"))  # doctest: +SKIP
    >>> model  # doctest: +SKIP
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): ReLU()
      (2): Linear(in_features=3, out_features=2, bias=True)
    )
    """
    import torch

    from ..problem import layered
    from .oracle import torch_optimizer

    modules_of = architecture(problem)  # first: it refuses an equations-form problem
    rows, bias_rows = layered.weight_rows(problem.network), layered.bias_names(problem.network)
    modules = []
    for kind, *arguments in modules_of:
        if kind == "Linear":
            fan_in, units, index = arguments
            linear = torch.nn.Linear(fan_in, units, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.tensor([[problem.parameters[w] for w in row] for row in rows[index]],
                                                 dtype=torch.float64))
                linear.bias.copy_(torch.tensor([problem.parameters[b] for b in bias_rows[index]],
                                               dtype=torch.float64))
            modules.append(linear)
        elif kind == "LeakyReLU":
            modules.append(torch.nn.LeakyReLU(arguments[0]))
        elif kind == "Softmax":
            modules.append(torch.nn.Softmax(dim=-1))
        else:
            modules.append(getattr(torch.nn, kind)())
    model = torch.nn.Sequential(*modules)
    return model, torch_optimizer(list(model.parameters()), problem.optimizer)


def torch_loss_code(problem) -> str:
    """The loss as a Python expression in `output` (the model's) and `T` (the targets), batch mean."""
    loss = problem.network.loss
    if loss == "cross_entropy":
        return ("torch.nn.functional.cross_entropy(output, T)" if _logits(problem)
                else "(-(T * torch.log(output)).sum(dim=1)).mean()")
    if loss == "mse":
        return "torch.nn.functional.mse_loss(output, T)"
    if loss == "binary_cross_entropy":
        return "torch.nn.functional.binary_cross_entropy(output, T)"
    return "(0.5 * ((output - T) ** 2).sum(dim=1)).mean()"  # half_sse


def parameter_places(problem) -> dict:
    """handprop parameter name -> (module index in the nn.Sequential, "weight" or "bias", index tuple)."""
    from ..problem import layered

    rows, bias_rows = layered.weight_rows(problem.network), layered.bias_names(problem.network)
    places = {}
    for position, (kind, *arguments) in enumerate(architecture(problem)):
        if kind != "Linear":
            continue
        index = arguments[2]
        for j, row in enumerate(rows[index]):
            for k, name in enumerate(row):
                places[name] = (position, "weight", (j, k))
        for j, name in enumerate(bias_rows[index]):
            places[name] = (position, "bias", (j,))
    return {name: places[name] for name in problem.parameters}


def data_rows(problem) -> tuple[list, list]:
    """(inputs X, targets T) as lists of rows, one per sample."""
    network = problem.network
    batch = range(problem.batch_size)
    return ([[problem.data[name][k] for name in network.inputs] for k in batch],
            [[problem.data[name][k] for name in network.targets] for k in batch])
