"""Layer kinds over grids: convolution (conv1d, conv2d), pooling (maxpool1d/2d, avgpool1d/2d), flatten, and a dense
layer after them, each lowered to one equation per output entry as PyTorch computes it.

conv2d, as nn.Conv2d (a cross-correlation, zero padding): for output channel o at row p, column q (0-based),

    z[o,p,q] = sum over c, i, j of K[o,c,i,j] * x[c, p*stride + i - padding, q*stride + j - padding]  + b[o]

where a position in the padding adds nothing (its x is 0). conv1d is the same over one axis. Max-pooling takes
each window's largest entry (the gradient goes to the first largest, as nn.MaxPool2d), average pooling its sum
divided by its size (nn.AvgPool2d). A pool's stride is its kernel unless given, as PyTorch's. flatten lists a
grid in C order (nn.Flatten); it writes no equation.
"""

from __future__ import annotations

import math
from itertools import product

from ...core.program import Apply, Const, Ref
from .base import (
    Grid,
    Kind,
    Tensor,
    TorchModule,
    describe_shape,
    equation,
    grid_names,
    mean_of,
    read_activation,
    times,
    total,
)

MAX_KERNEL = 1_000  # a kernel's or a window's size along one axis, or a stride, or a padding


def _sizes(check, entry: dict, key: str, where: str, dims: int, default, low: int) -> tuple:
    """A size given as one whole number (every axis) or one per axis, as PyTorch takes kernel_size."""
    value = entry.get(key, default)
    if isinstance(value, list):
        if len(value) != dims:
            raise check.fail(f"{where}: {key}", f"{len(value)} numbers given",
                             f"one whole number, or {dims} (one per axis)")
        return tuple(check.integer(v, f"{where}: {key}", low, MAX_KERNEL) for v in value)
    return (check.integer(value, f"{where}: {key}", low, MAX_KERNEL),) * dims


def _bias(check, entry: dict, where: str) -> bool:
    """bias = "per_unit" (one per output channel, the default) or "none"; true and false as PyTorch's bias=."""
    value = entry.get("bias", "per_unit")
    if isinstance(value, bool):
        return value
    if value in ("per_unit", "none"):
        return value == "per_unit"
    raise check.fail(f"{where}: bias", f"is {value!r}", "\"per_unit\" (one per output channel) or \"none\"")


def _shape_of(check, where: str, shape: tuple, dims: int, layer: str) -> None:
    if len(shape) != dims + 1:
        expected = "(C, L)" if dims == 1 else "(C, H, W)"
        raise check.fail(where, f"a {layer} takes a grid {expected}, but its input is {describe_shape(shape)}",
                         "input_shape = [C, L] for conv1d, [C, H, W] for conv2d; a flatten only after the grids")


def _out(check, where: str, what: str, size: int, kernel: int, stride: int, padding: int) -> int:
    if kernel > size + 2 * padding:
        raise check.fail(where, f"{what} {kernel} is larger than its input's {size}"
                         + (f" padded by {padding} on each side" if padding else ""),
                         f"a {what} of at most {size + 2 * padding}")
    return (size + 2 * padding - kernel) // stride + 1


class Conv(Kind):
    """conv1d and conv2d."""

    keys = ("channels", "kernel", "stride", "padding", "bias")
    activation = True
    prefix = "z"

    def __init__(self, dims: int):
        self.dims = dims
        self.name = f"conv{dims}d"
        self.words = f"a {dims}-D convolution"

    def read(self, check, entry, where, shape):
        _shape_of(check, where, shape, self.dims, self.name)
        if "channels" not in entry:
            raise check.fail(where, "channels missing", "channels = the number of output channels")
        if "kernel" not in entry:
            raise check.fail(where, "kernel missing", "kernel = its size (a whole number, or one per axis)")
        channels = check.integer(entry["channels"], f"{where}: channels", 1, 100_000)
        kernel = _sizes(check, entry, "kernel", where, self.dims, None, 1)
        stride = _sizes(check, entry, "stride", where, self.dims, 1, 1)
        padding = _sizes(check, entry, "padding", where, self.dims, 0, 0)
        out = tuple(_out(check, f"{where}: kernel", "kernel", size, k, s, p)
                    for size, k, s, p in zip(shape[1:], kernel, stride, padding))
        activation, params = read_activation(check, entry, where)
        settings = {"channels": channels, "kernel": kernel, "stride": stride, "padding": padding,
                    "bias": _bias(check, entry, where), "activation": activation, "params": params}
        return settings, (channels, *out)

    def tensors(self, layer, n):
        channels, kernel = layer.setting("channels"), layer.setting("kernel")
        c_in = layer.shape_in[0]
        area = math.prod(kernel)
        found = [Tensor(f"K{n}", (channels, c_in, *kernel), c_in * area, channels * area)]
        if layer.setting("bias"):
            found.append(Tensor(f"b{n}", (channels,), c_in * area, channels * area, bias=True))
        return found

    def lower(self, layer, n, x, parameters, prefix):
        kernel, stride, padding = layer.setting("kernel"), layer.setting("stride"), layer.setting("padding")
        weights = parameters[f"K{n}"]
        bias = parameters.get(f"b{n}")
        out = Grid(layer.shape_out, grid_names(prefix, layer.shape_out))
        sizes = layer.shape_in[1:]
        equations = []
        for o, *position in product(*(range(n_) for n_ in layer.shape_out)):
            terms = []
            for c in range(layer.shape_in[0]):
                for offset in product(*(range(k) for k in kernel)):
                    at = [p * s + i - pad for p, s, i, pad in zip(position, stride, offset, padding)]
                    if all(0 <= a < size for a, size in zip(at, sizes)):  # a padded position adds nothing
                        terms.append(times(weights.at(o, c, *offset), x.at(c, *at)))
            if bias is not None:
                terms.append(Ref(bias.at(o)))
            # a position whose window lies wholly in the padding, without a bias, is 0
            equations.append(equation(out.at(o, *position), total(terms) if terms else Const(0.0)))
        return equations, out

    def terms(self, layer):
        return math.prod(layer.shape_out) * (layer.shape_in[0] * math.prod(layer.setting("kernel")) + 1)

    def torch_modules(self, layer, n):
        arguments = {"in_channels": layer.shape_in[0], "out_channels": layer.setting("channels"),
                     "kernel_size": _torch_size(layer.setting("kernel")), "stride": _torch_size(layer.setting("stride")),
                     "padding": _torch_size(layer.setting("padding")), "bias": layer.setting("bias")}
        tensors = tuple((attribute, tensor.shape, tensor.names)
                        for attribute, tensor in zip(("weight", "bias"), self.tensors(layer, n)))
        return [TorchModule(f"Conv{self.dims}d", arguments, tensors)]


class Pool(Kind):
    """maxpool1d/2d and avgpool1d/2d."""

    keys = ("kernel", "stride")
    prefix = "p"

    def __init__(self, op: str | None, dims: int):
        self.op, self.dims = op, dims  # op: the op of a window (maxpool), or None for its mean
        self.title = "Max" if op else "Avg"
        self.name = f"{self.title.lower()}pool{dims}d"
        self.words = ("max" if op else "average") + " pooling"

    def read(self, check, entry, where, shape):
        _shape_of(check, where, shape, self.dims, self.name)
        if "kernel" not in entry:
            raise check.fail(where, "kernel missing", "kernel = the window's size (a whole number, or one per axis)")
        kernel = _sizes(check, entry, "kernel", where, self.dims, None, 1)
        stride = _sizes(check, entry, "stride", where, self.dims, list(kernel) if self.dims > 1 else kernel[0], 1)
        out = tuple(_out(check, f"{where}: kernel", "kernel", size, k, s, 0)
                    for size, k, s in zip(shape[1:], kernel, stride))
        return {"kernel": kernel, "stride": stride}, (shape[0], *out)

    def lower(self, layer, n, x, parameters, prefix):
        kernel, stride = layer.setting("kernel"), layer.setting("stride")
        out = Grid(layer.shape_out, grid_names(prefix, layer.shape_out))
        equations = []
        for c, *position in product(*(range(n_) for n_ in layer.shape_out)):
            window = [x.ref(c, *[p * s + i for p, s, i in zip(position, stride, offset)])
                      for offset in product(*(range(k) for k in kernel))]
            if len(window) == 1:  # a window of one entry is that entry, whether its max or its mean
                expr = window[0]
            else:
                expr = Apply(self.op, tuple(window)) if self.op else mean_of(window, len(window))
            equations.append(equation(out.at(c, *position), expr))
        return equations, out

    def terms(self, layer):
        return math.prod(layer.shape_out) * math.prod(layer.setting("kernel"))

    def torch_modules(self, layer, n):
        name = f"{self.title}Pool{self.dims}d"
        return [TorchModule(name, {"kernel_size": _torch_size(layer.setting("kernel")),
                                   "stride": _torch_size(layer.setting("stride"))})]


class Flatten(Kind):
    """A grid listed in C order, as nn.Flatten: no equation, the same nodes."""

    name = "flatten"
    words = "flattened"

    def read(self, check, entry, where, shape):
        return {}, (math.prod(shape),)

    def lower(self, layer, n, x, parameters, prefix):
        return [], Grid(layer.shape_out, x.names)

    def terms(self, layer):
        return 0

    def torch_modules(self, layer, n):
        return [TorchModule("Flatten", {})]


class Dense(Kind):
    """A dense layer among layer kinds (after a flatten): W{n}[j,k] from input k to unit j, b{n}[j], as
    nn.Linear."""

    name = "dense"
    keys = ("units", "bias")
    activation = True
    prefix = "h"
    words = "a dense layer"

    def read(self, check, entry, where, shape):
        if len(shape) != 1:
            raise check.fail(where, f"a dense layer takes a vector, but its input is the grid {describe_shape(shape)}",
                             "{ type = \"flatten\" } before it")
        if "units" not in entry:
            raise check.fail(where, "units missing", "units = a whole number")
        units = check.integer(entry["units"], f"{where}: units", 1, 100_000)
        activation, params = read_activation(check, entry, where)
        return {"units": units, "bias": _bias(check, entry, where), "activation": activation,
                "params": params}, (units,)

    def tensors(self, layer, n):
        units, fan_in = layer.shape_out[0], layer.shape_in[0]
        found = [Tensor(f"W{n}", (units, fan_in), fan_in, units)]
        if layer.setting("bias"):
            found.append(Tensor(f"b{n}", (units,), fan_in, units, bias=True))
        return found

    def lower(self, layer, n, x, parameters, prefix):
        weights, bias = parameters[f"W{n}"], parameters.get(f"b{n}")
        out = Grid(layer.shape_out, grid_names(prefix, layer.shape_out))
        equations = []
        for j in range(layer.shape_out[0]):
            terms = [times(weights.at(j, k), x.at(k)) for k in range(layer.shape_in[0])]
            if bias is not None:
                terms.append(Ref(bias.at(j)))
            equations.append(equation(out.at(j), total(terms)))
        return equations, out

    def terms(self, layer):
        return layer.shape_out[0] * (layer.shape_in[0] + 1)

    def torch_modules(self, layer, n):
        tensors = tuple((attribute, tensor.shape, tensor.names)
                        for attribute, tensor in zip(("weight", "bias"), self.tensors(layer, n)))
        return [TorchModule("Linear", {"in_features": layer.shape_in[0], "out_features": layer.shape_out[0],
                                       "bias": layer.setting("bias")}, tensors)]


def _torch_size(sizes: tuple):
    """A size as PyTorch's modules take it: one number for conv1d, a pair for conv2d."""
    return sizes[0] if len(sizes) == 1 else tuple(sizes)


KINDS = {kind.name: kind for kind in (Dense(), Conv(1), Conv(2), Pool("maxpool", 1), Pool("maxpool", 2),
                                      Pool(None, 1), Pool(None, 2), Flatten())}
