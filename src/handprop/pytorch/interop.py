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

from ..core.errors import HandpropError, check_instance, check_problem
from ..problem.layered import LOSSES, NO_ACTIVATION
from .ops import LOSSES as TORCH_LOSSES
from .ops import MODULES

if TYPE_CHECKING:
    from ..problem.spec import Problem

TORCH_OPTIMIZERS = {"SGD": "sgd", "Adam": "adam", "AdamW": "adamw", "RMSprop": "rmsprop", "Adagrad": "adagrad"}


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

    check_instance(model, torch.nn.Module, "model", "a torch.nn.Sequential of Linear layers and activations")
    modules = list(model) if isinstance(model, torch.nn.Sequential) else [model]
    layers, weights, biases = [], {}, {}
    for index, module in enumerate(modules):
        name = type(module).__name__
        if isinstance(module, torch.nn.Linear):
            n = len(layers) + 1
            weights[f"W{n}"] = module.weight.detach().to(torch.float64).tolist()
            if module.bias is None:  # nn.Linear(bias=False): a layer without bias
                layers.append({"units": module.out_features, "bias": "none"})
                continue
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
    if loss in TORCH_LOSSES and TORCH_LOSSES[loss].logits and last.get("activation", NO_ACTIVATION) == NO_ACTIVATION:
        last["activation"] = LOSSES[loss].output  # CrossEntropyLoss on the logits = softmax outputs, -sum t ln y
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
    """A layer's activation and its settings, from the nn module that follows a Linear layer."""
    name = type(module).__name__
    where = f"layer {index} ({name})"
    for activation, known in MODULES.items():
        if known is None or name != known.name:
            continue
        for attribute, allowed in known.fixed.items():
            value = getattr(module, attribute)
            if value not in allowed:
                shown = ", ".join(f"{key}={getattr(module, key)}" for key in known.fixed)
                wanted = " or ".join(f"{attribute}={v}" for v in allowed)
                raise HandpropError("model", where, f"{name}({shown})", f"{name} with {wanted}, as handprop's "
                                    f"{activation}")
        settings = {setting: getattr(module, attribute) for setting, attribute in known.settings.items()}
        return {"activation": activation,
                **{k: v if isinstance(v, str) else float(v) for k, v in settings.items()}}
    modules = ", ".join(m.name for m in MODULES.values() if m is not None)
    raise HandpropError("model", where, f"unsupported layer {name}", f"nn.Linear, {modules} or Identity")


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
    """The modules of the torch model: ("Linear", fan_in, units, layer index), or (nn class name, keyword
    arguments) for an activation."""
    network = problem.network
    if network is None:
        raise HandpropError(problem.source, "network", "an equations-form problem has no nn.Sequential",
                            "a layered network (network.layers)")
    widths = network.widths()
    modules: list[tuple] = []
    last = len(network.layers) - 1
    for index, layer in enumerate(network.layers):
        if layer.bias == "shared":
            raise HandpropError(problem.source, f"network.layers: layer {index + 1}: bias",
                                "a bias shared by a layer's units has no nn.Linear", "bias = \"per_unit\" or "
                                "\"none\" (nn.Linear's bias=True or bias=False)")
        modules.append(("Linear", widths[index], layer.units, index))
        module = MODULES[layer.activation]
        if module is None or (index == last and logits(problem)):
            continue
        settings = dict(layer.params)
        arguments = {attribute: settings[setting] for setting, attribute in module.settings.items()}
        modules.append((module.name, {**arguments, **module.build}))
    return modules


def logits(problem) -> bool:
    """Whether torch's loss takes the logits: a softmax output layer with cross-entropy (CrossEntropyLoss)."""
    network = problem.network
    return bool(TORCH_LOSSES[network.loss].logits) and network.layers[-1].activation == LOSSES[network.loss].output


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

    check_problem(problem)
    modules_of = architecture(problem)  # first: it refuses an equations-form problem
    rows, bias_rows = layered.weight_rows(problem.network), layered.bias_names(problem.network)
    modules = []
    for kind, *arguments in modules_of:
        if kind == "Linear":
            fan_in, units, index = arguments
            linear = torch.nn.Linear(fan_in, units, dtype=torch.float64, bias=bool(bias_rows[index]))
            with torch.no_grad():
                linear.weight.copy_(torch.tensor([[problem.parameters[w] for w in row] for row in rows[index]],
                                                 dtype=torch.float64))
                if bias_rows[index]:
                    linear.bias.copy_(torch.tensor([problem.parameters[b] for b in bias_rows[index]],
                                                   dtype=torch.float64))
            modules.append(linear)
        else:
            modules.append(getattr(torch.nn, kind)(**arguments[0]))
    model = torch.nn.Sequential(*modules)
    trained = [getattr(model[position], tensor) for position, tensor in trained_tensors(problem)]
    return model, torch_optimizer(trained, problem.optimizer)


def trained_tensors(problem) -> list[tuple]:
    """(module index, "weight" or "bias") of each tensor the optimizer is given: all but those whose every
    entry is frozen. A tensor frozen in part has no torch.optim counterpart (torch freezes whole tensors)."""
    frozen = set(problem.optimizer.frozen)
    tensors: dict[tuple, list] = {}
    for name, (position, tensor, _) in parameter_places(problem).items():
        tensors.setdefault((position, tensor), []).append(name in frozen)
    partial = [key for key, flags in tensors.items() if any(flags) and not all(flags)]
    if partial:
        position, tensor = partial[0]
        raise HandpropError(problem.source, "optimizer.frozen", f"part of the {tensor} of module {position} is "
                            "frozen, and torch.optim freezes whole tensors", "every entry of a layer's W or b, "
                            "or none: W1[*], b2[*]")
    return [key for key, flags in tensors.items() if not any(flags)]


def torch_loss_code(problem) -> str:
    """The loss as a Python expression in `output` (the model's) and `T` (the targets), batch mean."""
    loss = TORCH_LOSSES[problem.network.loss]
    return loss.logits if logits(problem) else loss.code


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
