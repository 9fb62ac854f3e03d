"""Exercise variants in the style of a problem: the same kind of network, new numbers on a coarse grid.

Weights and biases are drawn on a grid of 10^-D (D = 1: 0.1, as the homework's), inputs on a grid one
digit finer (0.26, 0.33), targets one-hot for classification; the optimizer is the one given. A draw is
refused, and the next one taken from the same random stream, when it would make a poor exercise: a
hidden layer whose ReLU units are all dead, a ReLU unit at h = 0 (to the decimals the answers are
written to, where hand rounding decides its derivative; likewise at any activation's kink), outputs
saturated (a softmax output above 0.99, a sigmoid output outside [0.01, 0.99]), or when --inactive asks
for inactive units and there are none, or
the other way round. One random.Random(seed) stream draws every variant in turn, so the same seed gives
the same files, and fewer variants are the first ones of more.
"""

from __future__ import annotations

import random
from ..core.frozen import dataclass

from ..problem import layered
from ..core.errors import HandpropError, one_of
from ..problem.files import parse_text
from ..core.ops import ACTIVATIONS, OPS
from ..core.optim import OPTIMIZERS
from ..problem.spec import Problem, from_dict
from ..problem.toml_writer import checked, toml_comment, toml_key, toml_value

HIDDEN_ACTIVATIONS = tuple(a for a in ACTIVATIONS if not OPS[a].multi_output)  # a unit of its own
INACTIVE = ("any", "some", "none")
CAN_BE_INACTIVE = tuple(a for a in HIDDEN_ACTIVATIONS if OPS[a].inactive_below is not None)  # the ReLU family
MAX_UNITS = 8  # units per layer: beyond this the diagram drops its edge labels, and nobody works it by hand
MAX_LAYERS = 4  # layers after the inputs
MAX_COUNT = 999
MAX_DECIMALS = 3
MAX_DRAWS = 10_000  # per variant: even --inactive none on a 4-layer network needs far fewer
PARAMETER_RANGE = (-0.5, 0.9)  # leaning positive like the homework's, so units are mostly (not all) active
INPUT_RANGE = (0.01, 0.99)
PROBABILITY_LIMITS = (0.01, 0.99)  # an output nearer 0 or 1 than this has saturated


@dataclass(frozen=True)
class ExerciseSpec:
    """What every variant shares: the network's shape, loss, optimizer and the grid."""

    title: str
    widths: tuple  # inputs, then the units of each layer
    activations: tuple  # per layer, the last the output's
    settings: tuple  # per layer, its activation's settings, as a Layer holds them
    loss: str
    naming: str
    optimizer: dict  # the [optimizer] table, as written in each variant
    decimals: int = 1  # weights and biases on a grid of 10^-decimals; inputs one digit finer
    inactive: str = "any"

    @property
    def answer_decimals(self) -> int:
        return self.decimals + 1


def parse_layers(text: str) -> tuple:
    """'2-3-2' -> (2, 3, 2): inputs, then each layer's units.

    >>> parse_layers("2-3-2"), parse_layers("3-4-4-1")
    ((2, 3, 2), (3, 4, 4, 1))
    """
    parts = text.strip().split("-")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise HandpropError(None, "--layers", f"'{text}' is not a layer spec",
                            "the inputs, then each layer's units, joined by -, such as 2-3-2")
    widths = tuple(int(p) for p in parts)
    if min(widths) < 1 or max(widths) > MAX_UNITS or len(widths) - 1 > MAX_LAYERS:
        raise HandpropError(None, "--layers", f"'{text}' is too large or has a 0",
                            f"1 to {MAX_UNITS} units each, at most {MAX_LAYERS} layers after the inputs")
    return widths


def optimizer_table(problem: Problem) -> dict:
    config = problem.optimizer
    table = {"name": config.name, "lr": config.lr, "steps": config.steps}
    for key, default in OPTIMIZERS[config.name].items():
        if config.option(key) != default:
            table[key] = config.option(key)
    return table


def spec_from(like: Problem, *, layers: str | None = None, activation: str | None = None, loss: str | None = None,
              decimals: int | None = None, inactive: str = "any") -> ExerciseSpec:
    """The spec of variants like the given problem, with the options' changes.

    >>> from handprop import load
    >>> spec = spec_from(load("homework"))
    >>> spec.widths, spec.activations, spec.loss, spec.optimizer["lr"]
    ((2, 3, 2), ('relu', 'softmax'), 'cross_entropy', 0.5)
    """
    network = like.network
    if network is None:
        raise HandpropError(like.source, None, "exercises are drawn for a layered network",
                            "--like a problem with [network] layers, such as homework")
    if inactive not in INACTIVE:
        raise HandpropError(None, "--inactive", f"unknown choice '{inactive}'", one_of(INACTIVE, inactive))
    if loss is not None and loss not in layered.LOSSES:
        raise HandpropError(None, "--loss", f"unknown loss '{loss}'", one_of(layered.LOSSES, loss))
    if activation is not None and activation not in HIDDEN_ACTIVATIONS:
        raise HandpropError(None, "--activation", f"unknown activation '{activation}'",
                            one_of(HIDDEN_ACTIVATIONS, activation))
    if decimals is not None and not 1 <= decimals <= MAX_DECIMALS:
        raise HandpropError(None, "--decimals", f"{decimals} is out of range",
                            f"1 to {MAX_DECIMALS}: weights on a grid of 0.1, 0.01 or 0.001")
    widths = parse_layers(layers) if layers else tuple(network.widths())
    like_hidden = [layer for layer in network.layers[:-1]]
    hidden = []
    for index in range(len(widths) - 2):
        kept = like_hidden[index] if index < len(like_hidden) else (like_hidden[-1] if like_hidden else None)
        name = activation or (kept.activation if kept else layered.HIDDEN)
        hidden.append((name, kept.params if kept is not None and kept.activation == name else OPS[name].settings({})))
    output = network.layers[-1]
    output_activation = output.activation if loss is None else layered.LOSSES[loss].output
    loss = loss or network.loss
    if loss == "cross_entropy" and widths[-1] < 2:
        raise HandpropError(None, "--layers", "cross-entropy over a softmax of 1 output is always 0",
                            "2 or more outputs, or --loss binary_cross_entropy")
    if inactive != "any" and not any(name in CAN_BE_INACTIVE for name, _ in hidden):
        raise HandpropError(None, "--inactive", f"--inactive {inactive} needs ReLU hidden units",
                            f"--activation {' or '.join(CAN_BE_INACTIVE)}, or --inactive any")
    activations = tuple(name for name, _ in hidden) + (output_activation,)
    settings = tuple(params for _, params in hidden) + (
        output.params if output.activation == output_activation else OPS[output_activation].settings({}),)
    return ExerciseSpec(like.title, widths, activations, settings, loss, network.naming, optimizer_table(like),
                        decimals if decimals is not None else 1, inactive)


def _network(spec: ExerciseSpec) -> layered.LayeredNetwork:
    inputs = tuple(f"x{k}" for k in range(1, spec.widths[0] + 1))
    layers = tuple(layered.Layer(units, activation, params)
                   for units, activation, params in zip(spec.widths[1:], spec.activations, spec.settings))
    return layered.LayeredNetwork(inputs, layers, spec.loss, spec.naming)


def on_grid(rng: random.Random, low: float, high: float, decimals: int, *, zero: bool = False) -> float:
    scale = 10 ** decimals
    while True:
        k = rng.randint(round(low * scale), round(high * scale))
        if k or zero:
            return round(k / scale, decimals)


def draw(spec: ExerciseSpec, rng: random.Random) -> dict:
    """One candidate variant, as a problem file's tables (not yet checked for degeneracy)."""
    network = _network(spec)
    fine = spec.decimals + 1
    rows = layered.weight_rows(network)
    weights = [[[on_grid(rng, *PARAMETER_RANGE, spec.decimals) for _ in row] for row in layer] for layer in rows]
    biases = [[on_grid(rng, *PARAMETER_RANGE, spec.decimals) for _ in names] for names in layered.bias_names(network)]
    x = [on_grid(rng, *INPUT_RANGE, fine) for _ in network.inputs]
    outputs = spec.widths[-1]
    if spec.loss == "cross_entropy":
        label = rng.randrange(outputs)
        t = [1 if j == label else 0 for j in range(outputs)]
    elif spec.loss == "binary_cross_entropy":
        t = [rng.randint(0, 1) for _ in range(outputs)]
    else:
        t = [on_grid(rng, *INPUT_RANGE, fine) for _ in range(outputs)]
    if spec.naming == "sequential":
        parameters = {"w": [w for layer in weights for row in layer for w in row],
                      "b": [b for layer in biases for b in layer]}
    else:
        parameters = {}
        for n, (layer, bias) in enumerate(zip(weights, biases), 1):
            parameters[f"W{n}"] = layer
            parameters[f"b{n}"] = bias
    layers = []
    for units, activation, params in zip(spec.widths[1:], spec.activations, spec.settings):
        entry = {"units": units, "activation": activation}
        entry.update((name, value) for (name, value), param in zip(params, OPS[activation].params)
                     if value != param.default)  # a setting is written only where it is not the default
        layers.append(entry)
    return {"network": {"inputs": spec.widths[0], "layers": layers, "loss": spec.loss, "naming": spec.naming},
            "parameters": parameters, "data": {"x": x, "t": t}, "optimizer": dict(spec.optimizer),
            "display": {"decimals": spec.answer_decimals}}


def degenerate(solution, spec: ExerciseSpec) -> str | None:
    """Why a solved draw makes a poor exercise, or None."""
    network = solution.problem.network
    values = solution.traces[0].values
    inactive = 0
    threshold = 10.0 ** -spec.answer_decimals
    for layer, units in zip(network.layers[:-1], layered.unit_names(network)):
        op, settings = OPS[layer.activation], dict(layer.params)
        pre = [values[h] for h, _ in units]
        for kink in op.kinks(**settings):  # hand rounding decides which side of it the unit is on
            if any(abs(h - kink) < threshold for h in pre):
                return f"a {op.words} unit at h = {kink:g}"
        if op.inactive_below is not None:
            if all(op.partials(h, op.forward(h, **settings), **settings)[0] == 0 for h in pre):
                return "a hidden layer with every unit dead"
            inactive += sum(1 for h in pre if h <= op.inactive_below)
    output = OPS[network.layers[-1].activation]
    ys = [values[y] for _, y in layered.unit_names(network)[-1]]
    if output.probability:
        # Saturated: a share of a multi-output op (softmax) above 0.99; an output of its own outside [0.01, 0.99].
        low, high = PROBABILITY_LIMITS
        if max(ys) > high or (not output.multi_output and min(ys) < low):
            return f"a {output.words} output outside [{low:g}, {high:g}]"
    if spec.inactive == "some" and inactive == 0:
        return "no inactive unit"
    if spec.inactive == "none" and inactive > 0:
        return "an inactive unit"
    return None


def problem_text(raw: dict, title: str, comment: str) -> str:
    """The variant's problem file, as TOML, in the homework's layout."""
    network = raw["network"]
    layers = ", ".join(toml_value(layer) for layer in network["layers"])
    lines = [toml_comment(comment), f"title = {toml_value(title)}", "", "[network]",
             f"inputs = {network['inputs']}", f"layers = [ {layers} ]", f"loss = {toml_value(network['loss'])}",
             f"naming = {toml_value(network['naming'])}", "", "[parameters]"]
    for table in ("parameters", "data", "optimizer"):
        lines += ([] if table == "parameters" else ["", f"[{table}]"])
        lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in raw[table].items()]
    lines += ["", "[display]", f"decimals = {raw['display']['decimals']}"]
    return checked("\n".join(lines) + "\n")


@dataclass(frozen=True)
class Variant:
    number: int
    stem: str  # variant-01
    text: str  # the problem file
    problem: Problem
    solution: object


def variants(spec: ExerciseSpec, *, seed: int = 0, count: int = 1) -> list[Variant]:
    """count variants, drawn from random.Random(seed), each solved from its own problem file's text.

    >>> from handprop import load
    >>> [v.stem for v in variants(spec_from(load("homework")), seed=1, count=2)]
    ['variant-01', 'variant-02']
    """
    exhausted = HandpropError(None, "--inactive" if spec.inactive != "any" else "--layers",
                              f"no usable variant in {MAX_DRAWS:,} draws", "a smaller network, or --inactive any")
    return drawn_variants(spec.title, seed, count, lambda rng, title, comment: problem_text(draw(spec, rng), title,
                                                                                            comment),
                          lambda solution: degenerate(solution, spec), exhausted)


@dataclass(frozen=True)
class Draw:
    """One variant to draw: its file stem, title, comment, and the random stream it is drawn from."""

    stem: str
    title: str
    comment: str
    rng: random.Random


def numbered(like: str, seed: int, count: int):
    """The draws of `count` numbered variants, all from one random.Random(seed) stream, in turn."""
    if not 1 <= count <= MAX_COUNT:
        raise HandpropError(None, "--count", f"{count} variants", f"1 to {MAX_COUNT}")
    if seed < 0:
        raise HandpropError(None, "--seed", f"{seed} is negative", "a whole number of 0 or more")
    rng = random.Random(seed)
    width = max(2, len(str(count)))
    for number in range(1, count + 1):
        yield Draw(f"variant-{number:0{width}d}", f"{like}, variant {number:0{width}d}",
                   f"Variant {number} of {count} (seed {seed}), drawn by handprop exercise in the style of {like}", rng)


def drawn_variants(like: str, seed: int, count: int, text_of, degenerate_of, exhausted: HandpropError, *,
                   draws=None) -> list[Variant]:
    """count variants like the problem titled `like`: each drawn as text_of(rng, title, comment), solved, and
    drawn again while degenerate_of(solution) says why it is no exercise (at most MAX_DRAWS times, then
    `exhausted` is raised). The variants are numbered(like, seed, count), or the Draws given (a roster's: one
    random stream each)."""
    from ..solver import solve

    found = []
    for number, each in enumerate(numbered(like, seed, count) if draws is None else draws, 1):
        stem, title, comment, rng = each.stem, each.title, each.comment, each.rng
        for _ in range(MAX_DRAWS):
            text = text_of(rng, title, comment)
            problem = from_dict(parse_text(text, "toml", f"{stem}.toml"), label=f"{stem}.toml", text=text)
            solution = solve(problem)
            if degenerate_of(solution) is None:
                found.append(Variant(number, stem, text, problem, solution))
                break
        else:
            raise exhausted
    return found
