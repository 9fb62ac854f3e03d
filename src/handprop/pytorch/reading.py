"""From PyTorch to handprop: from_torch reads an nn.Sequential (Linear layers and activations; the layer kinds'
modules: Conv1d/2d, pools, Flatten, LayerNorm, BatchNorm1d/2d in training mode, and the wrappers of
pytorch/modules.py around nn.RNN / nn.LSTM / nn.GRU / nn.MultiheadAttention and dropout with a given mask) and its
optimizer as a Problem. The other way, to_torch and the exported script: interop.py.

torch is imported inside the functions only: `import handprop` never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import HandpropError, check_instance
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
    Softplus (beta 1, threshold 20), Softmax(dim=-1 or 1) or Identity; or a network of layer kinds (Conv1d/2d,
    pools, Flatten, LayerNorm, BatchNorm1d/2d in training mode, pytorch/modules.py's Recurrent, SelfAttention and
    FixedDropout: docs/layer-kinds.md). x: (batch, inputs) or one sample (a layer kinds' network: (batch, C, H, W),
    (batch, T, F), ...; a batch, where it has batch-norm);
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
    if any(type(module).__name__ in GRID_MODULES or type(module).__name__ in SEQUENCE_MODULES
           or type(module).__name__ in NORM_MODULES for module in modules):
        return _stack_from_torch(torch, modules, x, t, loss, _optimizer_table(torch, optimizer, lr, steps), title)
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


# nn modules of a network of layer kinds, beyond Linear and the activations: what each must be made with to be
# the layer kind handprop computes (attribute -> allowed values).
GRID_MODULES = {
    "Conv1d": {"dilation": ((1,),), "groups": (1,), "padding_mode": ("zeros",)},
    "Conv2d": {"dilation": ((1, 1),), "groups": (1,), "padding_mode": ("zeros",)},
    "MaxPool1d": {"padding": (0,), "dilation": (1,), "ceil_mode": (False,), "return_indices": (False,)},
    "MaxPool2d": {"padding": (0, (0, 0)), "dilation": (1, (1, 1)), "ceil_mode": (False,), "return_indices": (False,)},
    "AvgPool1d": {"padding": (0, (0,)), "ceil_mode": (False,)},
    "AvgPool2d": {"padding": (0, (0, 0)), "ceil_mode": (False,), "divisor_override": (None,)},
    "Flatten": {"start_dim": (1,), "end_dim": (-1,)},
}
# Modules of a sequence's layer kinds: handprop's wrappers (pytorch/modules.py), and the torch modules they wrap,
# which cannot sit in an nn.Sequential themselves (a tuple out; query, key and value in).
SEQUENCE_MODULES = {"Recurrent": None, "SelfAttention": None, "RNN": "Recurrent", "LSTM": "Recurrent",
                    "GRU": "Recurrent", "MultiheadAttention": "SelfAttention"}
# Modules of the normalisation and dropout kinds (nn.Dropout only with p = 0: it draws its own mask).
NORM_MODULES = ("LayerNorm", "BatchNorm1d", "BatchNorm2d", "FixedDropout", "Dropout")
# How many axes one sample's input has, from a module that fixes it (else from x: a batch).
_INPUT_AXES = {**dict.fromkeys(("Conv2d", "MaxPool2d", "AvgPool2d", "BatchNorm2d"), 3),
               **dict.fromkeys(("Conv1d", "MaxPool1d", "AvgPool1d", "Recurrent", "SelfAttention"), 2)}


def _sizes(value) -> list | int:
    return list(value) if isinstance(value, tuple) else value


def _stack_from_torch(torch, modules: list, x, t, loss: str, optimizer: dict, title: str):
    """A network of layer kinds from an nn.Sequential of Conv1d/2d, pools, Flatten, Linear, activations, and
    the wrappers Recurrent and SelfAttention (pytorch/modules.py: a recurrent layer's initial states, its buffers,
    become [data]'s h0_{n}, c0_{n}); its input shape is x's, one sample (C, H, W), (T, F) or a batch of them."""
    from ..problem.spec import from_dict, plain
    from . import modules as wrappers

    x = x.detach().to(torch.float64) if isinstance(x, torch.Tensor) else torch.tensor(x, dtype=torch.float64)
    names = {type(module).__name__ for module in modules}
    dims = max((_INPUT_AXES.get(name, 0) for name in names), default=0) or max(x.dim() - 1, 1)
    shapes = _module_inputs(torch, modules, x if x.dim() > dims else x.unsqueeze(0))
    layers, parameters, data = [], {}, {}
    for index, module in enumerate(modules):
        name = type(module).__name__
        where = f"layer {index} ({name})"
        if name in NORM_MODULES:
            layer = _norm_layer(torch, module, where, len(layers) + 1, parameters, data, shapes.get(index))
            if layer is not None:
                layers.append(layer)
            continue
        if isinstance(module, (wrappers.Recurrent, wrappers.SelfAttention)):
            layer, tensors, states = wrappers.read_layer(module, index, len(layers) + 1)
            layers.append(layer)
            parameters.update(tensors)
            data.update(states)
            continue
        if SEQUENCE_MODULES.get(name):
            raise HandpropError("model", where, f"nn.{name} cannot sit in an nn.Sequential as it is",
                                f"handprop.pytorch.modules.{SEQUENCE_MODULES[name]}(...) around it")
        for attribute, allowed in GRID_MODULES.get(name, {}).items():
            if getattr(module, attribute) not in allowed:
                raise HandpropError("model", where, f"{attribute}={getattr(module, attribute)!r}",
                                    f"{attribute}={allowed[0]!r}, as handprop's layer kinds compute")
        n = len(layers) + 1
        if name.startswith("Conv"):
            layers.append({"type": f"conv{name[4]}d", "channels": module.out_channels,
                           "kernel": _sizes(module.kernel_size), "stride": _sizes(module.stride),
                           "padding": _sizes(module.padding), "bias": module.bias is not None})
            parameters[f"K{n}"] = module.weight.detach().to(torch.float64).tolist()
        elif "Pool" in name:
            kernel, stride = module.kernel_size, module.stride
            layers.append({"type": f"{name[:3].lower()}pool{name[-2]}d", "kernel": _sizes(kernel),
                           "stride": _sizes(stride if stride else kernel)})
        elif name == "Flatten":
            layers.append({"type": "flatten"})
        elif isinstance(module, torch.nn.Linear):
            layers.append({"units": module.out_features, "bias": module.bias is not None})
            parameters[f"W{n}"] = module.weight.detach().to(torch.float64).tolist()
        elif isinstance(module, torch.nn.Identity):
            continue
        else:
            activation = _activation(torch, module, index)
            if not layers or layers[-1].get("type", "dense") not in ("dense", "conv1d", "conv2d", "layernorm",
                                                                     "batchnorm") or "activation" in layers[-1]:
                raise HandpropError("model", where, "an activation not directly after a Linear, Conv, LayerNorm or "
                                    "BatchNorm layer", "Conv, Linear, LayerNorm or BatchNorm, then at most one "
                                    "activation")
            layers[-1].update(activation)
            continue
        bias = getattr(module, "bias", None)
        if bias is not None:
            parameters[f"b{n}"] = bias.detach().to(torch.float64).tolist()
    last = layers[-1]
    if loss in TORCH_LOSSES and TORCH_LOSSES[loss].logits and last.get("activation", NO_ACTIVATION) == NO_ACTIVATION:
        last["activation"] = LOSSES[loss].output
    shape = list(x.shape[-dims:])
    if isinstance(t, torch.Tensor) and not t.is_floating_point():
        t = torch.nn.functional.one_hot(t.reshape(-1).long(), last["units"]).to(torch.float64)
    t = plain(t.detach().to(torch.float64)) if isinstance(t, torch.Tensor) else plain(t)
    raw = {"title": title, "network": {"input_shape": shape, "layers": layers, "loss": loss},
           "parameters": parameters, "data": {"x": plain(x), **data, "t": t}, "optimizer": optimizer}
    return from_dict(raw, label="<from_torch>")


def _module_inputs(torch, modules: list, x) -> dict:
    """The input shape, (batch, *shape), of each FixedDropout and LayerNorm (by its index), from a run of a float64
    copy of the model on x, module by module (the model's own running statistics untouched): a dropout's mask is
    one sample's or one per sample; a LayerNorm's normalized_shape must be its input's last axes."""
    import copy

    names = ("FixedDropout", "LayerNorm")
    if not any(type(module).__name__ in names for module in modules):
        return {}
    shapes = {}
    value = x
    for index, module in enumerate(copy.deepcopy(modules)):
        name = type(module).__name__
        where = f"layer {index} ({name})"
        if name in names:
            shapes[index] = value.shape
        if name == "LayerNorm" and list(value.shape[1:])[value.dim() - 1 - len(module.normalized_shape):] \
                != list(module.normalized_shape):
            raise HandpropError("model", where, f"normalized_shape {list(module.normalized_shape)} on an input of "
                                f"shape {list(value.shape[1:])}", "normalized_shape the input's last axes")
        try:
            with torch.no_grad():
                value = module.to(torch.float64)(value)
        except RuntimeError as error:
            raise HandpropError("model", where, f"torch cannot run it on its input of shape "
                                f"{list(value.shape[1:])} ({str(error).splitlines()[0]})") from None
    return shapes


def _norm_layer(torch, module, where: str, n: int, parameters: dict, data: dict, shape) -> dict | None:
    """nn.LayerNorm, nn.BatchNorm1d/2d (training mode) or FixedDropout as handprop's layer n (None: nothing, an
    nn.Dropout with p = 0), its tensors put in parameters and a dropout's mask (one per sample) in data; shape a
    dropout's input's, (batch, *one sample's)."""
    name = type(module).__name__
    if name == "Dropout":
        if module.p == 0:
            return None
        raise HandpropError("model", where, f"nn.Dropout(p={module.p}) draws its own mask at each call",
                            "handprop.pytorch.modules.FixedDropout(p, mask) around the mask to compute with")
    if name == "FixedDropout":
        mask = module.mask.detach().to(torch.float64)
        if mask.numel() == shape[1:].numel():
            mask = mask.reshape(shape[1:]).expand(shape)  # one sample's mask: every sample's
        data[f"mask{n}"] = mask.reshape(shape).tolist()
        return {"type": "dropout", "p": float(module.p)}
    affine = module.weight is not None
    if affine and module.bias is None:  # torch's bias=False: a scale without a shift
        raise HandpropError("model", where, f"{name}(bias=False)", "bias=True, or no affine map at all "
                            "(elementwise_affine=False, affine=False)")
    if name == "LayerNorm":
        layer = {"type": "layernorm", "axes": len(module.normalized_shape), "eps": float(module.eps),
                 "affine": affine}
    else:
        if not module.training:
            raise HandpropError("model", where, "in eval mode; handprop computes batch-norm in training mode "
                                "(model.train())")
        if module.momentum is None:
            raise HandpropError("model", where, "momentum=None (a cumulative average)", "a momentum from 0 to 1")
        layer = {"type": "batchnorm", "eps": float(module.eps), "momentum": float(module.momentum), "affine": affine}
        if module.running_mean is not None:
            layer.update(running_mean=module.running_mean.detach().to(torch.float64).tolist(),
                         running_var=module.running_var.detach().to(torch.float64).tolist())
    if affine:
        parameters[f"gamma{n}"] = module.weight.detach().to(torch.float64).tolist()
        parameters[f"beta{n}"] = module.bias.detach().to(torch.float64).tolist()
    return layer


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
