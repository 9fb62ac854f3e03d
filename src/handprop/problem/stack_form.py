"""The layered form with layer kinds, checked: [network] input_shape, layers (each with its `type`) and loss;
[parameters] each tensor given whole (K1 = [[[[...]]]], b1 = [...]) or drawn by a scheme; [data] x and t as
tensors of the input's and the output's shapes, one sample or a list of them. Returns what the Problem holds."""

from __future__ import annotations

import math
from ..core.frozen import replace

from ..core.errors import one_of
from ..core.ops import ACTIVATIONS, OPS
from . import layered
from .checks import Checker
from .files import describe
from .initialisers import SCHEMES, scale
from .kinds import KINDS
from .kinds.base import StackLayer, Tensor, describe_shape
from .kinds.stack import MAX_TERMS, Stack
from .layered_form import drawn

KEYS = ("input_shape", "layers", "loss", "naming")
MAX_AXIS = 100_000  # one axis of the input's shape
MAX_PARAMETERS = 1_000_000


def network(check: Checker, table: dict) -> Stack:
    check.keys(table, "network", KEYS)
    if "inputs" in table:
        raise check.fail("network.inputs", "given with layer kinds", "input_shape = [C, H, W], [C, L] or [T, F]")
    if "input_shape" not in table:
        raise check.fail("network.input_shape", "missing", "the input's shape: [C, H, W], [C, L], or [features]")
    value = table["input_shape"]
    if not isinstance(value, list) or not 1 <= len(value) <= 3:
        raise check.fail("network.input_shape", f"is {describe(value)}", "1 to 3 whole numbers: [C, H, W], [C, L]")
    shape = tuple(check.integer(v, "network.input_shape", 1, MAX_AXIS) for v in value)
    if math.prod(shape) > MAX_AXIS:
        raise check.fail("network.input_shape", f"{math.prod(shape):,} inputs", f"at most {MAX_AXIS:,}")
    if "loss" not in table:
        raise check.fail("network.loss", "missing", one_of(layered.LOSSES))
    naming = table.get("naming", "layered")
    if naming != "layered":
        raise check.fail("network.naming", f"is {describe(naming)}",
                         "\"layered\": layer kinds name their tensors K1[o,c,i,j], W2[j,k], b1[o]")
    entries = table["layers"]
    if not isinstance(entries, list) or not entries:
        raise check.fail("network.layers", f"is {describe(entries)}", "a list of layers")
    if len(entries) > 1_000:
        raise check.fail("network.layers", f"{len(entries)} layers", "at most 1000")
    layers = []
    for i, entry in enumerate(entries, 1):
        where = f"network.layers: layer {i}"
        entry = check.table(entry, where)
        kind_name = check.text(entry.get("type", "dense"), f"{where}: type")
        if kind_name not in KINDS:
            raise check.fail(f"{where}: type", f"unknown layer type '{kind_name}'", one_of(KINDS, kind_name))
        kind = KINDS[kind_name]
        known = ("type",) + kind.keys
        if kind.activation:
            activation = entry.get("activation", "identity")
            settings = tuple(p.name for p in OPS[activation].params) if activation in ACTIVATIONS else ()
            known += ("activation",) + settings
        check.keys(entry, where, known)
        settings, out = kind.read(check, entry, where, shape)
        activation = settings.pop("activation", "identity")
        params = settings.pop("params", ())
        layers.append(StackLayer(kind_name, tuple(settings.items()), shape, out, activation, params))
        shape = out
    loss = check.text(table["loss"], "network.loss")
    if loss not in layered.LOSSES:
        raise check.fail("network.loss", f"unknown loss '{loss}'", one_of(layered.LOSSES, loss))
    stack = Stack(tuple(int(n) for n in table["input_shape"]), tuple(layers), loss)
    if stack.parameter_count > MAX_PARAMETERS:
        raise check.fail("network.layers", f"{stack.parameter_count:,} parameters", f"at most {MAX_PARAMETERS:,}")
    if stack.terms > MAX_TERMS:  # from the shapes, before any equation is made
        raise check.fail("network.layers", f"{stack.terms:,} products and sums for one sample",
                         f"at most {MAX_TERMS:,}: smaller grids, fewer channels or a larger stride")
    return stack


def _tensor(check: Checker, value, where: str, shape: tuple) -> list[float]:
    """A nested list of the shape, flattened in C order, every entry a number."""
    if not shape:
        return [check.number(value, where)]
    wanted = describe_shape(shape)
    if not isinstance(value, list) or len(value) != shape[0]:
        got = f"{len(value)} entries" if isinstance(value, list) else describe(value)
        raise check.fail(where, f"{got} where its shape {wanted} wants {shape[0]}", f"a nested list of shape {wanted}")
    numbers: list[float] = []
    for k, item in enumerate(value, 1):
        numbers += _tensor(check, item, f"{where}[{k}]" if "[" not in where else f"{where[:-1]},{k}]", shape[1:])
    return numbers


def parameters(check: Checker, stack: Stack, table: dict, seed: int) -> dict:
    """Every tensor given whole, or all drawn by an init scheme (torch.nn.init's, with each tensor's fans)."""
    tensors = stack.tensors()
    if not tensors:  # as the equations form: a step needs something to train (and torch an optimizer's parameters)
        raise check.fail("network.layers", "no layer with parameters",
                         "at least one layer that has parameters: dense, a convolution, a normalisation with affine")
    scheme = drawn(check, table, seed)
    if scheme is not None:
        return draw(tensors, *scheme)
    known = {tensor.name: tensor for tensor in tensors}
    values: dict[str, float] = {}
    for key, value in table.items():
        if key not in known:
            raise check.fail(f"parameters.{key}", "unknown parameter", one_of(known, key))
        tensor = known[key]
        values.update(zip(tensor.names, _tensor(check, value, f"parameters.{key}", tensor.shape)))
    missing = [tensor.name for tensor in tensors if tensor.name not in table]
    if missing:
        raise check.fail("parameters", f"missing {', '.join(missing)}",
                         "every tensor: " + ", ".join(f"{t.name} {describe_shape(t.shape)}" for t in tensors))
    return {name: values[name] for name in stack.parameter_order()}


def draw(tensors: list[Tensor], scheme: str, seed: int) -> dict:
    """Each tensor drawn in turn: weights by the scheme, biases 0 (U(-1/sqrt(fan_in), ...) with "uniform", as
    torch's own layers)."""
    import random

    rng = random.Random(seed)
    distribution = SCHEMES[scheme][0]
    values: dict[str, float] = {}
    for tensor in tensors:
        a = scale(scheme, tensor.fan_in, tensor.fan_out)
        start = getattr(tensor, "start", None)  # a norm's gamma and beta: 1 and 0, as torch's, and no draw
        if start is not None:
            values.update(dict.fromkeys(tensor.names, start))
        elif tensor.bias:
            values.update((name, rng.uniform(-a, a) if scheme == "uniform" else 0.0) for name in tensor.names)
        elif distribution == "uniform":
            values.update((name, rng.uniform(-a, a)) for name in tensor.names)
        elif distribution == "normal":
            values.update((name, rng.gauss(0.0, a)) for name in tensor.names)
        else:
            values.update(dict.fromkeys(tensor.names, 0.0))
    return values


def data(check: Checker, stack: Stack, table: dict) -> dict:
    """x and t inline: one sample (a tensor of the input's shape) or a list of them."""
    layer_keys = tuple(key for n, layer in enumerate(stack.layers, 1)
                       for key in KINDS[layer.type].data_keys(layer, n))
    check.keys(table, "data", ("x", "t", "batch_size", "epochs", "shuffle", "seed") + layer_keys)
    for key in ("x", "t"):
        if key not in table:
            raise check.fail(f"data.{key}", "missing", "inputs x and targets t, one sample or a list of samples")
    xs = _samples(check, table["x"], "data.x", stack.input_shape)
    ts = _samples(check, table["t"], "data.t", stack.output_shape)
    if len(xs) != len(ts):
        raise check.fail("data", f"{len(xs)} input samples but {len(ts)} target samples", "as many of each")
    found = {name: tuple(sample[k] for sample in xs) for k, name in enumerate(stack.inputs)}
    for n, layer in enumerate(stack.layers, 1):
        found.update(KINDS[layer.type].read_data(check, layer, n, table, len(xs)))
    found.update({name: tuple(sample[k] for sample in ts) for k, name in enumerate(stack.targets)})
    low_high = layered.LOSSES[stack.loss].targets
    if low_high is not None:
        for name in stack.targets:
            for k, value in enumerate(found[name]):
                if not low_high[0] <= value <= low_high[1]:
                    raise check.fail("data.t", f"sample {k + 1}: target {name} = {value!r}",
                                     f"targets of {layered.LOSSES[stack.loss].short} from {low_high[0]:g} to "
                                     f"{low_high[1]:g}")
    return found


def whole_batch(check: Checker, stack: Stack, data: dict, training) -> tuple:
    """A network whose layers couple the samples of a batch (batch-norm), made one program over its whole batch:
    the stack with its batch, the data as one sample holding every sample's (stack.Stack.batched), and the
    training settings, whose steps each take the whole batch (a smaller batch_size is refused: each batch size
    would be another program)."""
    samples = len(next(iter(data.values())))
    for n, layer in enumerate(stack.layers, 1):
        kind = KINDS[layer.type]
        if getattr(kind, "couples", False) and kind.values_per_channel(layer, samples) < 2:
            raise check.fail(f"network.layers: layer {n}", f"{layer.type} over {samples} sample with 1 value per "
                             "channel", "at least 2 samples in [data] (torch: more than 1 value per channel when "
                             "training)")
    if training.batch_size is not None and training.batch_size < samples:
        raise check.fail("data.batch_size", f"batch_size {training.batch_size} with batch-norm, which couples the "
                         f"{samples} samples", f"no batch_size (or {samples}): a network with batch-norm takes each "
                         "step over its whole batch")
    if samples * stack.terms > MAX_TERMS:  # the whole batch is one program
        raise check.fail("data", f"{samples:,} samples x {stack.terms:,} products and sums, lowered together for "
                         "batch-norm", f"at most {MAX_TERMS:,}: fewer samples or smaller layers")
    stack = replace(stack, batch=samples)
    return stack, stack.batched(data), replace(training, batch_size=None)


def _depth(value) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value, depth = value[0], depth + 1
    return depth


def _samples(check: Checker, value, where: str, shape: tuple) -> list[list[float]]:
    """A tensor of the shape (one sample), or a list of them."""
    if _depth(value) == len(shape) + 1:
        if len(value) > 1_000_000:
            raise check.fail(where, f"{len(value):,} samples", "at most 1,000,000")
        return [_tensor(check, item, f"{where}: sample {k}", shape) for k, item in enumerate(value, 1)]
    return [_tensor(check, value, where, shape)]
