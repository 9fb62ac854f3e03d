"""The Problem: a problem file's dict (or Python values) -> the validated specification.

Every check names the file, the place (a dotted path such as `parameters.w`) and what was expected.
After this module nothing needs to check the user's input again: the Program is well formed, every
parameter has a finite value, every data name has one value per sample. The two forms' own sections
are checked in layered_form.py and equations_form.py; data come inline or from a CSV file
(data_files.py, paths relative to the problem file's folder); layered parameters are listed or drawn
by a named scheme (initialisers.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property

from ..core.errors import MAX_DECIMALS, HandpropError, check_instance
from ..core.ops import OPS
from ..core.optim import OptimizerConfig
from .optimizer_form import optimizer_config
from ..core.frozen import dataclass, field
from ..core.program import Program
from . import data_files, equations_form, layered, layered_form
from .checks import Checker
from .files import describe, parse_text, read_file

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from pathlib import Path

    from .kinds.stack import Stack

SECTIONS = ("title", "network", "parameters", "data", "optimizer", "display")
# Limits on what a problem file may ask for, checked before anything is built (docs/safety.md); the layered
# form's widths are limited in layered_form.py.
MAX_SAMPLES = data_files.MAX_ROWS  # inline or from a file; solve works every sample out in full, train needs many
# One full-batch step, bounded before any is taken (train's steps, and the loss logged over all the data):
MAX_STEP_PARAMETERS = 10_000_000_000  # samples x parameters of a layered network: ~10 s a step on NumPy (MNIST's
#                                        60,000 samples on a 784-128-10 network: 6.1e9)
MAX_STEP_UNITS = 50_000_000  # samples x units: the NumPy engine's activations, a few matrices this size (~1 GB)
MAX_STEP_OPERATIONS = 100_000_000  # samples x operations of an equations program, in Python: ~10 s a step
MAX_FILE_STEPS = 100_000  # [optimizer] steps and [data] epochs a file may ask for: an example takes at most ~4 s;
#                           `train --steps/--epochs` is the user's own choice and may ask for more


@dataclass(frozen=True)
class TrainingConfig:
    """How `train` (and `solve`, for a problem that asks for it) walks through the data."""

    batch_size: int | None = None  # samples per step; None: the whole data set every step
    epochs: int | None = None  # passes over the data; None: the optimizer's `steps` full-batch steps
    shuffle: bool = False  # reshuffle the samples before each epoch
    seed: int = 0  # for the shuffle (and for initialisation), so a run is repeatable


@dataclass(frozen=True)
class Problem:
    """A validated problem: the program, the parameters' values, the data, the optimizer."""

    title: str
    source: str  # the file as named in messages
    given_program: Program | None  # the equations form's; None: the layered network's, written out when first used
    parameters: dict  # name -> initial value, in the program's order
    data: dict  # name -> tuple of values, one per sample
    batch_size: int
    optimizer: OptimizerConfig
    decimals: int | None = None  # the problem's own display precision
    network: layered.LayeredNetwork | None = None  # the layered form, when given so
    file: str | None = field(default=None, compare=False)  # the problem file's path; Problem.path as a Path
    training: TrainingConfig = field(default_factory=TrainingConfig)
    stack: "Stack | None" = None  # a network of layer kinds (problem/kinds), lowered when first used; network is None

    @property
    def path(self) -> Path | None:
        """The problem file's path, None for standard input and for a problem made in code."""
        if self.file is None:
            return None
        from pathlib import Path

        return Path(self.file)

    @cached_property
    def program(self) -> Program:
        """The problem's equations: the equations form's own, or the layered network's lowering, made when first
        used (and refused beyond layered.MAX_WRITTEN parameters, before any equation is made)."""
        if self.given_program is not None:
            return self.given_program
        if self.stack is not None:
            from .kinds.stack import lower

            return lower(self.stack)
        if len(self.parameters) > layered.MAX_WRITTEN:
            raise HandpropError(self.source, "network", f"too large to write out as equations: "
                                f"{len(self.parameters):,} parameters", f"at most {layered.MAX_WRITTEN:,}; `handprop train` "
                                "takes the steps of larger networks on the NumPy engine")
        return layered.lower(self.network)

    @property
    def form(self) -> str:
        return "layered" if self.network is not None else "equations"

    def sample(self, k: int) -> dict:
        """Data values of sample k (0-based)."""
        return {name: values[k] for name, values in self.data.items()}

    @classmethod
    def from_layers(cls, inputs: int | list, layers: list, *, loss: str, weights=None, biases=None, x, t,
                    optimizer: str | dict = "sgd", lr: float = 0.1, steps: int = 1, naming: str = "sequential",
                    init: str | None = None, seed: int = 0, title: str = "Layered network") -> "Problem":
        """A layered network, as a problem file's [network] layers, from Python values.

        layers: each a dict as in a file ({"units": 3, "activation": "relu"}), a (units, activation) pair, a
        triple with the activation's settings ((3, "elu", {"alpha": 0.5}), or (3, "elu", 0.5) for its
        first), or a number of units (identity). weights: one flat list w1, w2, ... (sequential naming), or one matrix per
        layer, rows = units, columns = inputs (as torch.nn.Linear.weight); biases: one flat list (sequential),
        or one list per layer. Without weights and biases, `init` names a scheme that draws them (seeded).
        optimizer: a name, a dict of settings as an [optimizer] section ({"name": "adam", "lr": 0.01}), or None
        for a gradient-only question (no step).

        >>> p = Problem.from_layers(2, [(3, "relu"), (2, "softmax")], loss="cross_entropy",
        ...                         weights=[0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4],
        ...                         biases=[0.3, 0.3, 0.3, 0.7, 0.7], x=[0.26, 0.33], t=[1, 0], lr=0.5)
        >>> from handprop import solve
        >>> round(solve(p).loss, 4)
        0.644
        >>> Problem.from_layers(1, [1], loss="mse", weights=[2.0], biases=[0.0], x=[1.0], t=[1.0]).parameters
        {'w1': 2.0, 'b1': 0.0}
        """
        check_instance(layers, (list, tuple), "layers", "a list of layers, such as [(3, \"relu\"), (2, \"softmax\")]")
        network = {"inputs": plain(inputs), "layers": [_layer(layer) for layer in layers], "loss": loss,
                   "naming": naming}
        parameters: dict = {}
        if weights is None and biases is None:
            parameters["init"] = init or "he_uniform"
            parameters["seed"] = seed
        else:
            weights, biases = plain(weights), plain(biases)
            if naming == "sequential":
                parameters["w"] = _flat(weights)
                parameters["b"] = _flat(biases)
            else:
                for n, matrix in enumerate(weights or [], 1):
                    parameters[f"W{n}"] = matrix
                for n, vector in enumerate(biases or [], 1):
                    parameters[f"b{n}"] = vector
        raw = {"title": title, "network": network, "parameters": parameters,
               "data": {"x": plain(x), "t": plain(t)}, "optimizer": _optimizer(optimizer, lr, steps)}
        return from_dict(_sections(raw), label="<from_layers>")

    @classmethod
    def from_equations(cls, text: str, *, parameters: dict, data: dict | None = None, loss: str | None = None,
                       outputs: list | None = None, optimizer: str | dict = "sgd", lr: float = 0.1, steps: int = 1,
                       title: str = "Equations") -> "Problem":
        """A problem in the equations form: the equations' text, the parameters' values, the data.

        Each data value is a number or a list with one number per sample; without data, the equations are a
        function of the parameters alone (one sample of nothing).

        >>> p = Problem.from_equations("h = w*x + b\\na = sigmoid(h)\\nL = 1/2*(a - t)**2",
        ...                            parameters={"w": 0.5, "b": 0.1}, data={"x": [1.0, 2.0], "t": [0.3, 0.8]},
        ...                            lr=0.5)
        >>> p.batch_size, p.program.loss
        (2, 'L')
        >>> Problem.from_equations("L = (w*x - t)**2", parameters={"w": 1.0}, data={"x": 2.0, "t": 1.0}).batch_size
        1
        """
        check_instance(parameters, Mapping, "parameters", "a dict: name -> initial value")
        check_instance({} if data is None else data, Mapping, "data", "a dict: name -> a number or a list of them")
        data = {} if data is None else data
        network: dict = {"equations": text}
        if loss is not None:
            network["loss"] = loss
        if outputs is not None:
            network["outputs"] = list(outputs)
        raw = {"title": title, "network": network, "parameters": {k: plain(v) for k, v in parameters.items()},
               "data": {k: plain(v) for k, v in data.items()}, "optimizer": _optimizer(optimizer, lr, steps)}
        return from_dict(_sections(raw), label="<from_equations>")

    def _repr_html_(self) -> str:
        from ..display import problem_html
        from ..solver import solve

        return problem_html(self, solve(self, steps=1))  # the diagram and the problem's section read a solution


def load(spec: str) -> Problem:
    """Load a problem from a path, an example's name, or '-' for standard input.

    >>> load("homework").program.parameters[:3]
    ('w1', 'w2', 'w3')
    """
    label, text, kind, path = read_file(spec)
    return from_dict(parse_text(text, kind, label), label=label, text=text if kind == "toml" else None, path=path)


def from_dict(raw: dict, *, label: str = "<problem>", text: str | None = None,
              path: str | os.PathLike | None = None) -> Problem:
    """Validate a problem given as a dict (the parsed file) and build its Program; `path` is the file's, whose
    folder data files are read from."""
    path = os.fspath(path) if path is not None else None
    check = Checker(label)
    check.keys(raw, "", SECTIONS)
    for section in ("network", "parameters"):
        if section not in raw:
            raise check.fail(section, f"missing section [{section}]", "see docs/problem-files.md")
    title = check.text(raw.get("title", os.path.splitext(os.path.basename(label))[0]), "title")
    network_table = check.table(raw["network"], "network")
    parameters_table = check.table(raw["parameters"], "parameters")
    data_table = check.table(raw.get("data", {}), "data")  # none: a function of the parameters alone
    if "equations" in network_table and "layers" in network_table:
        raise check.fail("network", "both equations and layers given", "one of the two")
    folder = os.path.dirname(path) if path is not None else None  # standard input: the working directory
    stack = None
    if "equations" in network_table:
        network = None
        program, parameters, data = equations_form.program(check, network_table, parameters_table, data_table,
                                                           text, folder)
        _check_step_size(check, None, program, _sample_count(data))
        training = _training(check, data_table, _sample_count(data))
    elif "layers" in network_table and _uses_kinds(network_table):
        from . import stack_form  # only for layer kinds: not on the dense network's path

        network, program = None, None  # written out when first used: Problem.program
        stack = stack_form.network(check, network_table)
        data = stack_form.data(check, stack, data_table)
        samples = _sample_count(data)
        if samples * stack.terms > MAX_STEP_OPERATIONS:
            raise check.fail("data", f"{samples:,} samples x {stack.terms:,} operations = {samples * stack.terms:,}, "
                             "too much for one step", f"samples x operations at most {MAX_STEP_OPERATIONS:,}")
        training = _training(check, data_table, samples)
        if stack.coupled:  # batch-norm: the whole batch is one program, and the data one sample holding it
            stack, data, training = stack_form.whole_batch(check, stack, data, training)
        parameters = stack_form.parameters(check, stack, parameters_table, training.seed)
    elif "layers" in network_table:
        network = layered_form.network(check, network_table)
        program = None  # written out when first used: Problem.program
        data = layered_form.data(check, network, data_table, folder)
        _check_step_size(check, network, None, _sample_count(data))  # before any parameter is drawn
        training = _training(check, data_table, _sample_count(data))
        parameters = layered_form.parameters(check, network, parameters_table, training.seed)
    else:
        check.keys(network_table, "network", dict.fromkeys(layered_form.KEYS + equations_form.KEYS))
        raise check.fail("network", "neither layers nor equations given",
                         "layers = [...] with inputs and loss, or equations = \"\"\"...\"\"\"")
    samples = _sample_count(data)
    if samples > MAX_SAMPLES:
        raise check.fail("data", f"{samples:,} samples", f"at most {MAX_SAMPLES:,}")
    # No [optimizer]: a gradient-only question, which takes no step.
    optimizer_table = check.table(raw["optimizer"], "optimizer") if "optimizer" in raw else None
    if optimizer_table is not None and "steps" in optimizer_table:
        check.integer(optimizer_table["steps"], "optimizer.steps", 1, MAX_FILE_STEPS)
    optimizer = optimizer_config(optimizer_table, label, parameters)
    if optimizer_table is not None and "eps" in optimizer_table and optimizer.option("eps") == 0:
        # Adam, RMSprop and Adagrad divide by sqrt(v) + eps, and v is 0 where a gradient is 0.
        raise check.fail("optimizer.eps", "is 0", "a number above 0, such as 1e-8")
    decimals = None
    if "display" in raw:
        display = check.table(raw["display"], "display")
        check.keys(display, "display", ("decimals",))
        if "decimals" in display:
            decimals = check.integer(display["decimals"], "display.decimals", 0, MAX_DECIMALS)
    return Problem(title, label, program, parameters, data, _sample_count(data), optimizer, decimals, network, path,
                   training, stack)


def _uses_kinds(table: dict) -> bool:
    """Whether a [network] table with layers is a network of layer kinds (problem/kinds): an input_shape, or a
    layer whose type is not dense."""
    layers = table.get("layers")
    return "input_shape" in table or (isinstance(layers, list) and any(
        isinstance(layer, dict) and layer.get("type", "dense") != "dense" for layer in layers))


def _check_step_size(check: Checker, network, program: Program | None, samples: int) -> None:
    """Refuse, before any step, a problem whose one full-batch step is too large: samples x parameters (a
    layered network, whose steps the NumPy engine takes), samples x units (the NumPy engine's activations,
    held for the whole batch), or samples x operations (equations, taken sample by sample in Python)."""
    if network is not None:
        for size, what, limit in ((network.parameter_count, "parameters", MAX_STEP_PARAMETERS),
                                  (sum(layer.units for layer in network.layers), "units", MAX_STEP_UNITS)):
            if samples * size > limit:
                raise check.fail("data", f"{samples:,} samples x {size:,} {what} = {samples * size:,}, too much for "
                                 "one step", f"samples x {what} at most {limit:,}")
    elif samples * program.operations > MAX_STEP_OPERATIONS:
        raise check.fail("data", f"{samples:,} samples x {program.operations:,} operations = "
                         f"{samples * program.operations:,}, too much for one step",
                         f"samples x operations of the equations at most {MAX_STEP_OPERATIONS:,}")


def _sample_count(data: dict) -> int:
    return len(next(iter(data.values()))) if data else 1


def _training(check: Checker, table: dict, samples: int) -> TrainingConfig:
    """The batch settings of [data], with inline data or a file."""
    batch_size = epochs = None
    if "batch_size" in table:
        batch_size = check.integer(table["batch_size"], "data.batch_size", 1)
        if batch_size > samples:
            raise check.fail("data.batch_size", f"batch_size {batch_size} is larger than the {samples} "
                             f"sample{'s' * (samples != 1)}", f"a whole number from 1 to {samples}")
    if "epochs" in table:
        epochs = check.integer(table["epochs"], "data.epochs", 1, MAX_FILE_STEPS)
    shuffle = table.get("shuffle", False)
    if not isinstance(shuffle, bool):
        raise check.fail("data.shuffle", f"is {describe(shuffle)}", "true or false")
    seed = check.seed(table.get("seed", 0), "data.seed")
    return TrainingConfig(batch_size, epochs, shuffle, seed)


def _sections(raw: dict) -> dict:
    """The problem dict, without [optimizer] when optimizer is None (a gradient-only question)."""
    if raw["optimizer"] is None:
        del raw["optimizer"]
    return raw


def _optimizer(optimizer: str | dict | None, lr: float, steps: int) -> dict | None:
    if optimizer is None:
        return None
    if isinstance(optimizer, dict):
        table = {key: plain(value) for key, value in optimizer.items()}
        table.setdefault("lr", lr)
        table.setdefault("steps", steps)
        return table
    return {"name": optimizer, "lr": lr, "steps": steps}


def _layer(layer) -> dict:
    if isinstance(layer, dict):
        return dict(layer)
    if isinstance(layer, (tuple, list)):
        entry = {"units": layer[0]}
        if len(layer) > 1:
            entry["activation"] = layer[1]
        if len(layer) > 2:  # the activation's settings: a dict, or one number for its first (elu's alpha)
            if isinstance(layer[2], dict):
                entry.update(layer[2])
            else:
                op = OPS.get(str(layer[1]))
                entry[op.params[0].name if op is not None and op.params else "alpha"] = layer[2]
        return entry
    return {"units": layer}


def plain(value):
    """NumPy arrays and tuples as the lists and numbers a parsed file holds."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def _flat(value):
    """A list of per-layer lists flattened, in order; a flat list as it is."""
    if isinstance(value, list) and value and all(isinstance(item, list) for item in value):
        return [number for item in value for number in _flat(item)]
    return value
