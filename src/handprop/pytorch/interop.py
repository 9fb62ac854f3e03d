"""PyTorch interop (from_torch itself lives in reading.py): an nn.Sequential of Linear layers and activations <-> a layered Problem; of layer kinds'
modules (Conv2d, pools, Flatten, LayerNorm, BatchNorm1d/2d in training mode, and nn.RNN / nn.LSTM / nn.GRU /
nn.MultiheadAttention and dropout with a given mask inside the wrappers of pytorch/modules.py) <-> a network of layer
kinds. A network with batch-norm, one program over its batch in handprop, is torch's model on that batch.

torch is imported inside the functions only: `import handprop` never loads it.

Conventions, so that the numbers agree with torch in float64:
- cross_entropy and a last nn.Linear with no activation is torch's CrossEntropyLoss on the logits: in
  handprop that is a softmax output layer and -sum t ln y, which is the same function. Going back
  (to_torch, the exported script) the softmax is left out again and nn.CrossEntropyLoss takes the logits.
- Weights are copied exactly: float32 widens to float64 without rounding.
- Losses are torch's with mean reduction over the batch (half_sse: 1/2 sum over outputs, batch mean).
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

from ..core.errors import HandpropError, check_problem
from ..problem.layered import LOSSES
from .ops import LOSSES as TORCH_LOSSES
from .ops import MODULES
from .reading import TORCH_OPTIMIZERS, from_torch  # noqa: F401  (the API's handprop.from_torch is read from here)

if TYPE_CHECKING:
    from ..problem.spec import Problem



def architecture(problem) -> list:
    """The modules of the torch model, each a TorchModule (problem/kinds/base.py): its nn class, the keyword
    arguments it is made with, and its tensors with handprop's names. A layered network's are Linear layers
    and activations; a network of layer kinds', each kind's modules (Conv2d, MaxPool2d, Flatten, ...; a wrapper of
    pytorch/modules.py, "handprop.Recurrent", around the nn module it wraps, its initial states from [data])."""
    from ..problem.kinds.base import TorchModule

    if problem.stack is not None:
        return _stack_architecture(problem)
    network = problem.network
    if network is None:
        raise HandpropError(problem.source, "network", "an equations-form problem has no nn.Sequential",
                            "a layered network (network.layers)")
    from ..problem import layered

    widths = network.widths()
    rows, bias_rows = layered.weight_rows(network), layered.bias_names(network)
    modules: list = []
    last = len(network.layers) - 1
    for index, layer in enumerate(network.layers):
        if layer.bias == "shared":
            raise HandpropError(problem.source, f"network.layers: layer {index + 1}: bias",
                                "a bias shared by a layer's units has no nn.Linear", "bias = \"per_unit\" or "
                                "\"none\" (nn.Linear's bias=True or bias=False)")
        tensors = (("weight", (layer.units, widths[index]), tuple(w for row in rows[index] for w in row)),)
        if bias_rows[index]:
            tensors += (("bias", (layer.units,), tuple(bias_rows[index])),)
        modules.append(TorchModule("Linear", {"in_features": widths[index], "out_features": layer.units,
                                              "bias": bool(bias_rows[index])}, tensors))
        modules += _activation_module(layer.activation, layer.params, index == last and logits(problem))
    return modules


def _activation_module(activation: str, params: tuple, logits_taken: bool) -> list:
    from ..problem.kinds.base import TorchModule

    module = MODULES[activation]
    if module is None or logits_taken:
        return []
    settings = dict(params)
    arguments = {attribute: settings[setting] for setting, attribute in module.settings.items()}
    return [TorchModule(module.name, {**arguments, **module.build})]


def _stack_architecture(problem) -> list:
    return [module for _, module in _stack_modules(problem)]


def _stack_modules(problem) -> list[tuple]:
    """(layer number, TorchModule) of each module of a network of layer kinds, in order."""
    from ..problem.kinds import KINDS

    stack = problem.stack
    modules: list = []
    for n, layer in enumerate(stack.layers, 1):
        kind = KINDS[layer.type]
        made = kind.torch_modules(layer, n)
        if made is None:
            raise HandpropError(problem.source, f"network.layers: layer {n}",
                                f"a {layer.type} layer has no nn.Sequential module here",
                                "layers that PyTorch's nn.Sequential holds: dense, conv1d/2d, pools, flatten, rnn, "
                                "lstm, gru, attention, layernorm, batchnorm, dropout")
        modules += [(n, _with_data(problem, kind, layer, n, module)) for module in made]
        modules += [(n, module) for module in _activation_module(layer.activation, layer.params,
                                                                 n == len(stack.layers) and logits(problem))]
    return modules


def _with_data(problem, kind, layer, n: int, module):
    """A module whose arguments name one of the layer's [data] keys without its number (a recurrent layer's h0 for
    h0_{n}, a dropout's mask for mask{n}) given that data, flat in C order: one where every sample's is the same,
    one per sample otherwise (the model then takes batches of that size); an argument that is None there is left
    None where the data is 0 throughout (torch's zero state)."""
    import re
    from ..core.frozen import replace

    keys = kind.data_keys(layer, n)
    arguments = dict(module.arguments)
    found = {key: re.sub(r"_?\d+$", "", key) for key in keys}
    if not any(argument in arguments for argument in found.values()):
        return module
    names = kind.data_names(layer, n)
    size = len(names) // len(keys)
    for k, key in enumerate(keys):
        if found[key] not in arguments:
            continue
        rows = [list(row) for row in zip(*(_sample_values(problem, name) for name in names[k * size:(k + 1) * size]))]
        if arguments[found[key]] is not None or any(value != 0 for row in rows for value in row):
            arguments[found[key]] = rows[0] if all(row == rows[0] for row in rows) else rows
    return replace(module, arguments=arguments)


def _sample_values(problem, name: str) -> tuple:
    """A data node's value in each sample (a coupled network holds every sample's under its own name)."""
    samples = getattr(problem.stack, "batch", 0)  # a coupled network's (batch-norm): one program for the batch
    if samples:
        from ..problem.kinds.stack import in_sample

        return tuple(problem.data[in_sample(name, s)][0] for s in range(1, samples + 1))
    return tuple(problem.data[name])


def logits(problem) -> bool:
    """Whether torch's loss takes the logits: a softmax output layer with cross-entropy (CrossEntropyLoss)."""
    network = problem.stack if problem.stack is not None else problem.network
    return bool(TORCH_LOSSES[network.loss].logits) and network.layers[-1].activation == LOSSES[network.loss].output


def input_shape(problem) -> tuple:
    """One sample's input shape, as the torch model takes it: (inputs,), or a stack's (C, H, W), (C, L), ..."""
    if problem.stack is not None:
        return tuple(problem.stack.input_shape)
    return (len(problem.network.inputs),)


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
    check_problem(problem)  # before torch is loaded: a bad value is refused even without it
    import torch

    from .oracle import torch_optimizer

    modules = []
    for module in architecture(problem):  # first: it refuses an equations-form problem
        made = build(torch, module)
        if module.tensors:
            made = made.to(torch.float64)
            with torch.no_grad():
                for attribute, shape, names in module.tensors:
                    values = torch.tensor(tensor_values(problem, names), dtype=torch.float64)
                    attrgetter(attribute)(made).copy_(values.reshape(shape))
        modules.append(made)
    model = torch.nn.Sequential(*modules)
    trained = [attrgetter(tensor)(model[position]) for position, tensor in trained_tensors(problem)]
    return model, torch_optimizer(trained, problem.optimizer)


def tensor_values(problem, names: tuple) -> list:
    """A module tensor's values: each parameter's by its name; a buffer's (batch-norm's running statistics) are
    written as their numbers where the names stand."""
    return [problem.parameters[name] if isinstance(name, str) else name for name in names]


def running_places(problem) -> dict:
    """Batch-norm's running statistics after the step, by their node names (rmean{n}[c], rvar{n}[c]) -> (module
    index, "running_mean" or "running_var", index tuple); none for a network without batch-norm."""
    from ..problem.kinds.base import grid_names

    if problem.stack is None:
        return {}
    places = {}
    for position, (n, module) in enumerate(_stack_modules(problem)):
        for attribute, shape, names in module.tensors:
            if attribute in RUNNING and not isinstance(names[0], str):
                places.update((name, (position, attribute, (c,)))
                              for c, name in enumerate(grid_names(f"{RUNNING[attribute]}{n}", shape)))
    return places


RUNNING = {"running_mean": "rmean", "running_var": "rvar"}  # batch-norm's buffers, and its nodes' letters (norms.py)


def build(torch, module):
    """The nn module a TorchModule names, in float64: a class of torch.nn, or "handprop.<name>" one of
    pytorch/modules.py's wrappers; an argument that is itself a TorchModule (the module a wrapper wraps) is built
    first. A tensor's attribute may be a dotted path into it ("module.weight_ih_l0").

    >>> import torch  # doctest: +SKIP
    >>> from handprop.problem.kinds.base import TorchModule
    >>> build(torch, TorchModule("Linear", {"in_features": 2, "out_features": 1}))  # doctest: +SKIP
    Linear(in_features=2, out_features=1, bias=True)
    """
    from ..problem.kinds.base import TorchModule

    arguments = {key: build(torch, value) if isinstance(value, TorchModule) else value
                 for key, value in module.arguments.items()}
    if module.name.startswith("handprop."):
        from .modules import WRAPPERS

        # a wrapper's lists are its initial states, made in float64 here (the default float32 would round them)
        arguments = {key: torch.tensor(value, dtype=torch.float64) if isinstance(value, list) else value
                     for key, value in arguments.items()}
        return WRAPPERS[module.name.removeprefix("handprop.")](**arguments).to(torch.float64)
    return getattr(torch.nn, module.name)(**arguments)


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
    network = problem.stack if problem.stack is not None else problem.network
    loss = TORCH_LOSSES[network.loss]
    return loss.logits if logits(problem) else loss.code


def parameter_places(problem) -> dict:
    """handprop parameter name -> (module index in the nn.Sequential, its tensor's attribute, index tuple)."""
    from itertools import product

    places = {}
    for position, module in enumerate(architecture(problem)):
        for attribute, shape, names in module.tensors:
            for index, name in zip(product(*(range(n) for n in shape)), names):
                if isinstance(name, str):  # not a buffer's number (tensor_values)
                    places[name] = (position, attribute, index)
    return {name: places[name] for name in problem.parameters}


def data_rows(problem) -> tuple[list, list]:
    """(inputs X, targets T) as lists of rows, one per sample (a stack's inputs in C order: reshape to
    input_shape); a coupled network's (batch-norm: one program-sample holding the batch, x[s,...]) as its samples'."""
    network = problem.stack if problem.stack is not None else problem.network
    samples = getattr(problem.stack, "batch", 0)
    if samples:
        from ..problem.kinds.stack import in_sample

        batch = range(1, samples + 1)
        return ([[problem.data[in_sample(name, s)][0] for name in network.inputs] for s in batch],
                [[problem.data[name][0] for name in network.sample_targets(s)] for s in batch])
    batch = range(problem.batch_size)
    return ([[problem.data[name][k] for name in network.inputs] for k in batch],
            [[problem.data[name][k] for name in network.targets] for k in batch])
