"""Exercise variants of a network of layer kinds (a CNN, a recurrent network, attention): the same layers, shapes,
loss and optimizer as the problem they are like, new numbers.

Every parameter tensor (kernels, biases, weights, gates) is drawn on the dense exercises' grid of 10^-D
(exercise.PARAMETER_RANGE; a norm's scale and shift around their starting 1 and 0). The inputs keep their kind:
whole numbers in the range of the problem's own where it gives whole numbers (an image of 0s, 1s and 2s), else
on a grid one digit finer, in its range. Targets are one-hot for cross-entropy, 0 or 1 for binary cross-entropy,
else on the coarse grid. A layer's own data (a recurrent layer's initial state, a dropout's mask) is kept as
given. A draw is refused, and the next one taken from the same random stream, when it makes a poor exercise: a
weight tensor whose every gradient is 0 to the answers' decimals where the problem's is not (every ReLU off before
a kernel), an activation's input at its kink (hand rounding decides its derivative), a pooling window whose largest
entries tie (not at 0), or a probability output saturated, before or after the update. One random.Random(seed)
stream draws every variant in turn, so the same seed gives the same files.
"""

from __future__ import annotations

import math
import random
import re
from ..core.frozen import dataclass, replace

from ..core.errors import HandpropError
from ..core.ops import OPS
from ..core.program import Apply, Ref
from ..problem.checks import Checker
from ..problem.kinds import KINDS
from ..problem.kinds.stack import Stack, in_sample
from ..problem.layered import NO_ACTIVATION
from ..problem.spec import Problem
from .exercise import (MAX_DECIMALS, PARAMETER_RANGE, PROBABILITY_LIMITS, Variant, drawn_variants, on_grid,
                       optimizer_table)
from ..problem.toml_writer import checked, toml_comment, toml_key, toml_value

MAX_DRAWS = 300  # per variant: a draw is solved whole, and a usable one comes within a few
MAX_NUMBERS = 2_000  # parameters and inputs of a network worked by hand
TARGET_RANGE = (0.1, 0.9)  # targets of a regression, widened to the problem's own (and below 0 where it goes)
DENSE_ONLY = {"layers": "the variants keep {like}'s layers ({kinds})",
              "activation": "the variants keep each layer's activation",
              "loss": "the variants keep {like}'s loss, which its last layer's activation was chosen for",
              "inactive": "it counts the inactive ReLU units of dense hidden layers"}


@dataclass(frozen=True)
class StackSpec:
    """What every variant of a network of layer kinds shares."""

    title: str
    stack: Stack  # as the problem file reads it (a coupled network's batch left out)
    layers: tuple  # each layer's entry of [network] layers, as written
    samples: int
    layer_data: tuple  # ((key, value as written), ...): the layers' own [data], kept
    training: tuple  # ((key, value), ...): [data]'s batch settings, kept
    inputs: tuple  # (low, high, decimals): the input grid; decimals 0 for whole numbers
    targets: tuple  # (low, high): a regression's targets on the coarse grid
    live: tuple  # the weight tensors with a gradient other than 0 in the problem itself
    optimizer: dict
    decimals: int = 1

    @property
    def answer_decimals(self) -> int:
        return self.decimals + 1


def spec_from(like: Problem, *, layers: str | None = None, activation: str | None = None, loss: str | None = None,
              decimals: int | None = None, inactive: str | None = None) -> StackSpec:
    """The spec of variants like a network of layer kinds; the options for dense networks refused in one line.

    >>> from handprop import load
    >>> spec = spec_from(load("cnn_homework"))
    >>> spec.layers[0], spec.inputs, spec.live
    ({'type': 'conv2d', 'channels': 1, 'kernel': 2, 'activation': 'relu'}, (0, 2, 0), ('K1', 'W4'))
    """
    from ..solver import solve

    stack = replace(like.stack, batch=0)
    kinds = ", ".join(dict.fromkeys(layer.type for layer in stack.layers))
    for option, given in (("layers", layers), ("activation", activation), ("loss", loss), ("inactive", inactive)):
        if given is not None:
            raise HandpropError(None, f"--{option}", "is for a network of dense layers, not of layer kinds",
                                DENSE_ONLY[option].format(like=like.source, kinds=kinds))
    if decimals is not None and not 1 <= decimals <= MAX_DECIMALS:
        raise HandpropError(None, "--decimals", f"{decimals} is out of range",
                            f"1 to {MAX_DECIMALS}: weights on a grid of 0.1, 0.01 or 0.001")
    samples = like.stack.batch or like.batch_size
    size = stack.parameter_count + samples * len(stack.inputs)
    if size > MAX_NUMBERS:
        raise HandpropError(like.source, None, f"{size:,} parameters and inputs, too many for an exercise",
                            f"at most {MAX_NUMBERS:,}: a network small enough to work by hand")
    xs = [v for s in range(1, samples + 1) for v in _sample(like, stack.inputs, s)]
    whole = all(v == int(v) for v in xs)
    low, high = min(xs), max(xs)
    if low == high:
        low, high = min(low, 0.0), max(high, 1.0)
    grid = decimals if decimals is not None else 1
    inputs = (math.floor(low), math.ceil(high), 0) if whole else (low, high, grid + 1)
    ts = [v for s in range(1, samples + 1) for v in _sample(like, (), s, targets=True)]
    target_low = -TARGET_RANGE[1] if min(ts) < 0 else TARGET_RANGE[0]
    targets = (min(target_low, min(ts)), max(TARGET_RANGE[1], max(ts)))
    gradients = solve(like).parameters
    live = tuple(t.name for t in stack.tensors()
                 if not t.bias and any(abs(gradients[n].gradient) > 1e-12 for n in t.names))
    training = (("batch_size", like.training.batch_size), ("epochs", like.training.epochs),
                ("shuffle", like.training.shuffle or None), ("seed", like.training.seed or None))
    return StackSpec(like.title, stack, tuple(_entries(like.source, stack)), samples, tuple(_layer_data(like)),
                     tuple((k, v) for k, v in training if v is not None), inputs, targets, live,
                     optimizer_table(like), grid)


def _sample(problem: Problem, names, s: int, *, targets: bool = False) -> list[float]:
    """Sample s's (1-based) values of the names (or of the targets), a coupled network's data being one sample
    holding every sample's."""
    stack = problem.stack
    if stack.batch:
        mine = stack.sample_targets(s) if targets else tuple(in_sample(name, s) for name in names)
        return [problem.data[name][0] for name in mine]
    return [problem.data[name][s - 1] for name in (stack.targets if targets else names)]


def _entries(source: str, stack: Stack) -> list[dict]:
    """Each layer as [network] layers writes it, with no key its kind would read the same without: a setting
    at its default left out, a size the same on every axis written once."""
    check = Checker(source)
    entries = []
    for n, layer in enumerate(stack.layers, 1):
        kind = KINDS[layer.type]
        wanted = dict(layer.settings, activation=layer.activation, params=layer.params)

        def reads(entry: dict, kind=kind, layer=layer, wanted=wanted) -> bool:
            try:
                settings, out = kind.read(check, dict(entry), "layer", layer.shape_in)
            except HandpropError:
                return False
            return out == layer.shape_out and {"activation": "identity", "params": (), **settings} == wanted

        entry = {} if layer.type == "dense" else {"type": layer.type}
        entry.update((key, list(value) if isinstance(value, tuple) else value) for key, value in layer.settings)
        if layer.activation != NO_ACTIVATION:
            entry["activation"] = layer.activation
            entry.update((p.name, value) for p, (_, value) in zip(OPS[layer.activation].params, layer.params))
        for key in [k for k in entry if k not in ("type", "activation")]:
            if reads({k: v for k, v in entry.items() if k != key}):
                del entry[key]  # its default
            elif isinstance(entry[key], list) and len(set(entry[key])) == 1 and reads({**entry, key: entry[key][0]}):
                entry[key] = entry[key][0]  # kernel = 2 for [2, 2]
        if not reads(entry):
            raise HandpropError(source, f"network.layers: layer {n}", f"its {layer.type} settings cannot be written "
                                "back", "a layer of a kind whose settings are its file's keys")
        entries.append(entry)
    return entries


def _layer_data(like: Problem) -> list[tuple[str, object]]:
    """The layers' own [data] (an initial state, a mask), as written: each key's names (Kind.data_names, split
    evenly between its keys) as a nested list of their indices' shape, axes at 0 (step 0) left out; a list of
    them for several samples."""
    stack, samples = like.stack, like.stack.batch or like.batch_size
    found = []
    for n, layer in enumerate(stack.layers, 1):
        kind = KINDS[layer.type]
        keys, names = kind.data_keys(layer, n), kind.data_names(layer, n)
        if not keys:
            continue
        share = len(names) // len(keys)
        for k, key in enumerate(keys):
            mine = names[k * share:(k + 1) * share]
            indices = [tuple(int(i) for i in re.fullmatch(r".*\[(.*)\]", name).group(1).split(",")) for name in mine]
            shape = tuple(len(set(axis)) for axis in zip(*indices) if set(axis) != {0})
            written = [nested(_sample(like, mine, s), shape) for s in range(1, samples + 1)]
            found.append((key, written[0] if samples == 1 else written))
    return found


def nested(values: list, shape: tuple) -> list:
    """Values in C order as a nested list of the shape.

    >>> nested([1, 2, 3, 4, 5, 6], (2, 3))
    [[1, 2, 3], [4, 5, 6]]
    """
    if len(shape) <= 1:
        return list(values)
    size = math.prod(shape[1:])
    return [nested(values[k * size:(k + 1) * size], shape[1:]) for k in range(shape[0])]


def tensor_text(key: str, values: list, shape: tuple) -> str:
    """`key = [...]` in TOML, a matrix's rows one a line, aligned under each other, the numbers right-aligned.

    >>> print(tensor_text("K1", [0.2, -0.1, 0.4, 0.3], (1, 1, 2, 2)))
    K1 = [[[[ 0.2, -0.1],
            [ 0.4,  0.3]]]]
    """
    cells = [toml_value(v) for v in values]
    width = max(map(len, cells)) if len(shape) > 1 else 0

    def written(start: int, shape: tuple, column: int) -> str:
        if len(shape) <= 1:
            if not shape:
                return cells[start]
            return "[" + ", ".join(c.rjust(width) for c in cells[start:start + shape[0]]) + "]"
        size = math.prod(shape[1:])
        rows = [written(start + k * size, shape[1:], column + 1) for k in range(shape[0])]
        return "[" + (",\n" + " " * (column + 1)).join(rows) + "]"

    return f"{toml_key(key)} = {written(0, shape, len(key) + 3)}"


def draw(spec: StackSpec, rng: random.Random) -> dict:
    """One candidate: name -> (shape, values) of every parameter tensor, x and t."""
    drawn = {}
    for tensor in spec.stack.tensors():
        start = getattr(tensor, "start", None)  # a norm's scale and shift: around 1 and 0
        if start is None:
            values = [on_grid(rng, *PARAMETER_RANGE, spec.decimals) for _ in tensor.names]
        else:
            values = [on_grid(rng, start - 0.5, start + 0.5, spec.decimals, zero=True) for _ in tensor.names]
        drawn[tensor.name] = (tensor.shape, values)
    low, high, places = spec.inputs
    x = [on_grid(rng, low, high, places, zero=places == 0) for _ in range(spec.samples * len(spec.stack.inputs))]
    outputs = len(spec.stack.targets)
    t = []
    for _ in range(spec.samples):
        if spec.stack.loss == "cross_entropy":
            label = rng.randrange(outputs)
            t += [1 if j == label else 0 for j in range(outputs)]
        elif spec.stack.loss == "binary_cross_entropy":
            t += [rng.randint(0, 1) for _ in range(outputs)]
        else:
            t += [on_grid(rng, *spec.targets, spec.decimals, zero=True) for _ in range(outputs)]
    several = (spec.samples,) if spec.samples > 1 else ()
    drawn["x"] = (several + spec.stack.input_shape, [int(v) if places == 0 else v for v in x])
    drawn["t"] = (several + spec.stack.output_shape, t)
    return drawn


def problem_text(spec: StackSpec, drawn: dict, title: str, comment: str) -> str:
    """The variant's problem file, as TOML, laid out as the packaged examples are."""
    lines = [toml_comment(comment), f"title = {toml_value(title)}", "", "[network]",
             f"input_shape = {toml_value(list(spec.stack.input_shape))}", "layers = [",
             *(f"  {toml_value(layer)}," for layer in spec.layers), "]", f"loss = {toml_value(spec.stack.loss)}", "",
             "[parameters]"]
    lines += [tensor_text(name, values, shape) for name, (shape, values) in drawn.items() if name not in ("x", "t")]
    lines += ["", "[data]", tensor_text("x", drawn["x"][1], drawn["x"][0])]
    lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in spec.layer_data]
    lines += [tensor_text("t", drawn["t"][1], drawn["t"][0])]
    lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in spec.training]
    lines += ["", "[optimizer]"] + [f"{toml_key(key)} = {toml_value(value)}" for key, value in spec.optimizer.items()]
    lines += ["", "[display]", f"decimals = {spec.answer_decimals}"]
    return checked("\n".join(lines) + "\n")


def degenerate(solution, spec: StackSpec) -> str | None:
    """Why a solved draw makes a poor exercise, or None."""
    problem = solution.problem
    threshold = 10.0 ** -spec.answer_decimals
    for tensor in spec.stack.tensors():
        if tensor.name in spec.live and all(abs(solution.parameters[n].gradient) < threshold / 2 for n in tensor.names):
            return f"every gradient of {tensor.name} 0"
    pools = {KINDS[layer.type].op for layer in spec.stack.layers if getattr(KINDS[layer.type], "op", None)}
    for trace in solution.traces:
        values = trace.values
        for equation in problem.program.equations:
            expr = equation.expr
            if not isinstance(expr, Apply) or not all(isinstance(arg, Ref) for arg in expr.args):
                continue
            found = sorted((values[arg.name] for arg in expr.args), reverse=True)
            if expr.op in pools and len(found) > 1 and found[0] != 0 and found[0] - found[1] < threshold:
                return f"a pooling window's largest entries tied at {found[0]:g}"
            for kink in OPS[expr.op].kinks(**dict(expr.params)) if len(found) == 1 else ():
                if abs(found[0] - kink) < threshold:  # hand rounding decides which side of it the input is on
                    return f"{OPS[expr.op].words} at its kink {kink:g}"
    output = OPS[spec.stack.layers[-1].activation]
    low, high = PROBABILITY_LIMITS
    for when, outputs in (("", solution.output_values), (" after the update", solution.outputs_after)):
        ys = [y for sample in outputs for y in sample]
        if output.probability and ys and (max(ys) > high or (not output.multi_output and min(ys) < low)):
            return f"a {output.words} output outside [{low:g}, {high:g}]{when}"
    return None


def variants(spec: StackSpec, *, seed: int = 0, count: int = 1) -> list[Variant]:
    """count variants, drawn from random.Random(seed), each solved from its own problem file's text.

    >>> from handprop import load
    >>> [v.problem.stack.layers[0].type for v in variants(spec_from(load("conv1d_signal")), seed=1, count=2)]
    ['conv1d', 'conv1d']
    """
    exhausted = HandpropError(None, "--like", f"no usable variant in {MAX_DRAWS:,} draws (each had a dead kernel, "
                              "a unit at its kink, a tie or a saturated output)", "another problem to draw like")
    return drawn_variants(spec.title, seed, count,
                          lambda rng, title, comment: problem_text(spec, draw(spec, rng), title, comment),
                          lambda solution: degenerate(solution, spec), exhausted)
