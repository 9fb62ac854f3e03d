"""Normalisation and dropout: layernorm, batchnorm and dropout, each lowered to scalar equations as PyTorch
computes them (training mode).

layernorm (nn.LayerNorm over the last `axes` axes of one sample, its normalized_shape) and batchnorm (nn.BatchNorm1d
on (F,) or (C, L), nn.BatchNorm2d on (C, H, W), over the batch and every position of a channel) write, for each
group of entries that share statistics (torch's layer_norm_kernel.cpp and batch_norm_kernel.cpp):

    mu[g]   = (sum of x) / N                       the mean
    d[e]    = x[e] - mu[g]                         each entry's deviation
    var[g]  = (sum of d^2) / N                     the biased variance
    rstd[g] = 1 / sqrt(var[g] + eps)               torch's rstd (invstd)
    xhat[e] = d[e] * rstd[g]
    n[e]    = xhat[e] * gamma[c] + beta[c]         with affine (the default); without it n[e] = d[e] * rstd[g]

batchnorm also writes its running statistics after the step, as torch updates them in training mode:
running_mean = momentum * mu + (1 - momentum) * running_mean, running_var = momentum * var * N / (N - 1) + (1 -
momentum) * running_var (the unbiased variance). Its statistics couple the samples of a batch, so a network with a
batchnorm is lowered over its whole batch as one program (stack.py): `couples` says so, and `lower_batch` lowers
it over every sample's input at once.

dropout (nn.Dropout in training mode) with the mask given in [data]: m[e] = x[e] * mask[e] / (1 - p).
"""

from __future__ import annotations

import math
from ...core.frozen import dataclass
from itertools import product

from ...core.program import Apply, Const, Ref
from .base import Grid, Kind, Tensor, TorchModule, describe_shape, equation, grid_names, mean_of, read_activation

EPS = 1e-5  # torch's default eps
MOMENTUM = 0.1  # torch's default momentum


@dataclass(frozen=True)
class Affine(Tensor):
    """gamma or beta: not drawn by an init scheme but set to `start` (1 and 0), as torch's reset_parameters."""

    start: float = 1.0


def _flag(check, entry: dict, key: str, where: str) -> bool:
    value = entry.get(key, True)
    if not isinstance(value, bool):
        raise check.fail(f"{where}: {key}", f"is {value!r}", "true or false")
    return value


def _eps(check, entry: dict, where: str) -> float:
    eps = check.number(entry.get("eps", EPS), f"{where}: eps")
    if not 0 < eps <= 1:
        raise check.fail(f"{where}: eps", f"is {eps!r}", "a number above 0 and at most 1, such as 1e-5")
    return eps


def _affine_tensors(layer, n: int, shape: tuple) -> list:
    if not layer.setting("affine"):
        return []
    size = math.prod(shape)
    return [Affine(f"gamma{n}", shape, size, size, False, 1.0), Affine(f"beta{n}", shape, size, size, True, 0.0)]


def _affine_module(name: str, arguments: dict, tensors: list) -> TorchModule:
    return TorchModule(name, arguments, tuple((attribute, tensor.shape, tensor.names)
                                              for attribute, tensor in zip(("weight", "bias"), tensors)))


def _normalise(n: int, groups: dict, entries: dict, eps: float, gamma, beta, out: dict, count: int) -> list:
    """The equations of one normalisation: groups g -> the entries' input refs; entries e -> (its group, its output
    name, its affine index, its suffix for d/xhat names). Returns the equations, group by group."""
    equations = []
    for g, members in groups.items():
        mu, var, rstd = f"mu{n}[{g}]", f"var{n}[{g}]", f"rstd{n}[{g}]"
        equations.append(equation(mu, mean_of([Ref(x) for x in members], count)))
        deviations = []
        for x in members:
            suffix = entries[x]
            d = f"d{n}[{suffix}]"
            equations.append(equation(d, Apply("sub", (Ref(x), Ref(mu)))))
            deviations.append(d)
        equations.append(equation(var, mean_of([Apply("pow", (Ref(d), Const(2.0))) for d in deviations], count)))
        equations.append(equation(rstd, Apply("div", (Const(1.0), Apply("sqrt", (Apply("add", (Ref(var),
                                                                                                Const(eps))),))))))
    for x, suffix in entries.items():
        g = out[x][1]
        scaled = Apply("mul", (Ref(f"d{n}[{suffix}]"), Ref(f"rstd{n}[{g}]")))
        if gamma is None:
            equations.append(equation(out[x][0], scaled))
            continue
        xhat = f"xhat{n}[{suffix}]"
        equations.append(equation(xhat, scaled))
        c = out[x][2]
        equations.append(equation(out[x][0], Apply("add", (Apply("mul", (Ref(xhat), gamma.ref(*c))), beta.ref(*c)))))
    return equations


class LayerNorm(Kind):
    """nn.LayerNorm(input_shape[-axes:], eps, elementwise_affine=affine) on one sample."""

    name = "layernorm"
    keys = ("axes", "eps", "affine")
    activation = True
    prefix = "n"
    words = "layer normalisation"

    def read(self, check, entry, where, shape):
        axes = check.integer(entry.get("axes", 1), f"{where}: axes", 1, len(shape))
        activation, params = read_activation(check, entry, where)
        return {"axes": axes, "eps": _eps(check, entry, where), "affine": _flag(check, entry, "affine", where),
                "activation": activation, "params": params}, shape

    def tensors(self, layer, n):
        return _affine_tensors(layer, n, layer.shape_in[len(layer.shape_in) - layer.setting("axes"):])

    def lower(self, layer, n, x, parameters, prefix):
        shape = layer.shape_in
        lead = len(shape) - layer.setting("axes")
        out = Grid(shape, grid_names(prefix, shape))
        groups: dict = {}
        entries: dict = {}
        outs: dict = {}
        for index in product(*(range(k) for k in shape)):
            g = ",".join(str(i + 1) for i in index[:lead]) or "1"  # one group per leading index (one, if none)
            name = x.at(*index)
            groups.setdefault(g, []).append(name)
            entries[name] = ",".join(str(i + 1) for i in index)
            outs[name] = (out.at(*index), g, index[lead:])
        gamma, beta = parameters.get(f"gamma{n}"), parameters.get(f"beta{n}")
        count = math.prod(shape[lead:])
        return _normalise(n, groups, entries, layer.setting("eps"), gamma, beta, outs, count), out

    def terms(self, layer):
        return 8 * math.prod(layer.shape_in)

    def torch_modules(self, layer, n):
        shape = layer.shape_in[len(layer.shape_in) - layer.setting("axes"):]
        return [_affine_module("LayerNorm", {"normalized_shape": list(shape), "eps": layer.setting("eps"),
                                             "elementwise_affine": layer.setting("affine")}, self.tensors(layer, n))]


class BatchNorm(Kind):
    """nn.BatchNorm1d on (F,) or (C, L), nn.BatchNorm2d on (C, H, W), in training mode: statistics over the batch
    and a channel's positions."""

    name = "batchnorm"
    keys = ("eps", "momentum", "affine", "running_mean", "running_var")
    activation = True
    prefix = "n"
    words = "batch normalisation"
    couples = True  # a sample's output depends on the other samples': the stack is lowered over the whole batch

    def read(self, check, entry, where, shape):
        channels = shape[0]
        momentum = check.number(entry.get("momentum", MOMENTUM), f"{where}: momentum")
        if not 0 <= momentum <= 1:
            raise check.fail(f"{where}: momentum", f"is {momentum!r}", "a number from 0 to 1, such as 0.1")
        running = {}
        for key, start in (("running_mean", 0.0), ("running_var", 1.0)):
            value = entry.get(key, [start] * channels)
            if not isinstance(value, list):
                value = [value]
            numbers = [check.number(v, f"{where}: {key}") for v in value]
            if len(numbers) != channels:
                raise check.fail(f"{where}: {key}", f"{len(numbers)} numbers for {channels} channels",
                                 f"one number per channel ({channels}), the statistics before the step")
            if key == "running_var" and min(numbers) < 0:
                raise check.fail(f"{where}: {key}", f"holds {min(numbers)!r}", "variances of 0 or more")
            running[key] = tuple(numbers)
        activation, params = read_activation(check, entry, where)
        return {"eps": _eps(check, entry, where), "momentum": momentum,
                "affine": _flag(check, entry, "affine", where), **running,
                "activation": activation, "params": params}, shape

    def tensors(self, layer, n):
        return _affine_tensors(layer, n, layer.shape_in[:1])

    def values_per_channel(self, layer, samples: int) -> int:
        return samples * math.prod(layer.shape_in[1:])

    def lower(self, layer, n, x, parameters, prefix):
        raise NotImplementedError("batchnorm couples the samples of a batch: lower_batch")

    def lower_batch(self, layer, n, xs: list, parameters: dict, names: list) -> tuple[list, list]:
        """Over every sample at once: xs one input grid per sample, names each sample's output names.
        Statistics mu{n}[c], var{n}[c], rstd{n}[c] per channel; d{n}, xhat{n} named as the outputs, with the sample
        first: d3[s,c,l]."""
        shape = layer.shape_in
        outs = [Grid(shape, tuple(sample)) for sample in names]
        groups: dict = {}
        entries: dict = {}
        places: dict = {}
        for s, x in enumerate(xs):
            for index in product(*(range(k) for k in shape)):
                name = x.at(*index)
                groups.setdefault(str(index[0] + 1), []).append(name)
                entries[name] = ",".join(str(i + 1) for i in (s, *index))
                places[name] = (outs[s].at(*index), str(index[0] + 1), index[:1])
        # statistics channel by channel; the per-entry outputs after them (every sample's input read first)
        groups = dict(sorted(groups.items(), key=lambda item: int(item[0])))
        count = self.values_per_channel(layer, len(xs))
        gamma, beta = parameters.get(f"gamma{n}"), parameters.get(f"beta{n}")
        equations = _normalise(n, groups, entries, layer.setting("eps"), gamma, beta, places, count)
        momentum = layer.setting("momentum")
        for c in range(shape[0]):
            g = c + 1
            mean = Apply("add", (Apply("mul", (Const(momentum), Ref(f"mu{n}[{g}]"))),
                                 Apply("mul", (Const(1.0 - momentum), Const(layer.setting("running_mean")[c])))))
            unbiased = Apply("div", (Apply("mul", (Ref(f"var{n}[{g}]"), Const(float(count)))), Const(count - 1.0)))
            var = Apply("add", (Apply("mul", (Const(momentum), unbiased)),
                                Apply("mul", (Const(1.0 - momentum), Const(layer.setting("running_var")[c])))))
            equations += [equation(f"rmean{n}[{g}]", mean), equation(f"rvar{n}[{g}]", var)]
        return equations, outs

    def torch_modules(self, layer, n):
        """nn.BatchNorm1d on (F,) or (C, L), nn.BatchNorm2d on (C, H, W), in training mode (a module's default): its
        weight and bias gamma{n}, beta{n}; its buffers running_mean and running_var the statistics before the step,
        written as their numbers where a parameter's names stand (pytorch/interop.py sets them)."""
        channels = layer.shape_in[0]
        module = _affine_module(f"BatchNorm{2 if len(layer.shape_in) == 3 else 1}d",
                                {"num_features": channels, "eps": layer.setting("eps"),
                                 "momentum": layer.setting("momentum"), "affine": layer.setting("affine")},
                                self.tensors(layer, n))
        buffers = tuple((key, (channels,), tuple(layer.setting(key))) for key in ("running_mean", "running_var"))
        return [TorchModule(module.name, module.arguments, module.tensors + buffers)]

    def terms(self, layer):
        # per sample: its share of the sums, d, d^2, xhat, the affine map; the statistics and running statistics
        return 8 * math.prod(layer.shape_in) + 12 * layer.shape_in[0]


def _mask_values(check, value, where: str, shape: tuple) -> list:
    """A nested list of the shape, flattened in C order, every entry 0 or 1."""
    if not shape:
        number = check.number(value, where)
        if number not in (0.0, 1.0):
            raise check.fail(where, f"is {value!r}", "0 (dropped) or 1 (kept)")
        return [number]
    if not isinstance(value, list) or len(value) != shape[0]:
        got = f"{len(value)} entries" if isinstance(value, list) else f"is {value!r}"
        raise check.fail(where, f"{got} where its shape {describe_shape(shape)} wants {shape[0]}",
                         f"a nested list of shape {describe_shape(shape)} of 0s and 1s")
    found = []
    for k, item in enumerate(value, 1):
        found += _mask_values(check, item, f"{where}[{k}]" if "[" not in where else f"{where[:-1]},{k}]", shape[1:])
    return found


def _depth(value) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value, depth = value[0], depth + 1
    return depth


class Dropout(Kind):
    """nn.Dropout(p) in training mode, its mask given: m{n}[...] = x * mask{n}[...] / (1 - p)."""

    name = "dropout"
    keys = ("p",)
    prefix = "m"
    words = "dropout"

    def read(self, check, entry, where, shape):
        if "p" not in entry:
            raise check.fail(where, "p missing", "p = the probability of dropping an entry, from 0 to below 1")
        p = check.number(entry["p"], f"{where}: p")
        if not 0 <= p < 1:
            raise check.fail(f"{where}: p", f"is {p!r}", "a drop probability from 0 to below 1, such as 0.5")
        return {"p": p}, shape

    def data_keys(self, layer, n):
        return (f"mask{n}",)

    def data_names(self, layer, n):
        return grid_names(f"mask{n}", layer.shape_in)

    def read_data(self, check, layer, n, table, samples):
        key, shape = f"mask{n}", layer.shape_in
        where = f"data.{key}"
        if key not in table:
            if layer.setting("p") == 0:  # nothing is dropped
                return dict.fromkeys(self.data_names(layer, n), (1.0,) * samples)
            raise check.fail(where, "missing", f"the mask of layer {n}'s dropout: 0s and 1s of shape "
                             f"{describe_shape(shape)}, one per sample")
        value = table[key]
        if _depth(value) == len(shape) + 1:
            masks = [_mask_values(check, item, f"{where}: sample {k}", shape) for k, item in enumerate(value, 1)]
        else:
            masks = [_mask_values(check, value, where, shape)]
        if len(masks) != samples:
            raise check.fail(where, f"{len(masks)} mask{'s' * (len(masks) != 1)} for {samples} "
                             f"sample{'s' * (samples != 1)}", "one mask per sample")
        return {name: tuple(mask[k] for mask in masks) for k, name in enumerate(self.data_names(layer, n))}

    def lower(self, layer, n, x, parameters, prefix):
        out = Grid(layer.shape_in, grid_names(prefix, layer.shape_in))
        keep = Const(1.0 - layer.setting("p"))
        masks = self.data_names(layer, n)
        equations = [equation(o, Apply("div", (Apply("mul", (Ref(a), Ref(m))), keep)))
                     for o, a, m in zip(out.names, x.names, masks)]
        return equations, out

    def terms(self, layer):
        return 2 * math.prod(layer.shape_in)

    def torch_modules(self, layer, n):
        """handprop.pytorch.modules.FixedDropout(p, mask): x * mask / (1 - p), as nn.Dropout in training mode with
        that mask; the mask from [data] (mask{n}), given by pytorch/interop.py (an empty list here)."""
        return [TorchModule("handprop.FixedDropout", {"p": layer.setting("p"), "mask": []})]


KINDS = {kind.name: kind for kind in (LayerNorm(), BatchNorm(), Dropout())}
