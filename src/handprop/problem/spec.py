"""A problem file's dict -> Problem: the validated specification.

Every check names the file, the place (a dotted path such as `parameters.w`)
and what was expected. After this module nothing needs to check the user's
input again: the Program is well formed, every parameter has a finite value,
every data name has one value per sample.

Data come inline or from a CSV file (datafile.py, paths relative to the problem file's folder);
parameters are listed or drawn by a named scheme (init.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import data_files as datafile
from . import layered
from .equations import MAX_NAME_LENGTH, parse_equations
from ..core.errors import one_of
from .checks import Checker
from .files import describe, parse_text, read_source
from .initialisers import SCHEMES, initial_values
from ..core.ops import ACTIVATIONS, LEAKY_RELU_DEFAULT_ALPHA
from ..core.optim import OptimizerConfig, optimizer_config
from ..core.program import Program

SECTIONS = ("title", "network", "parameters", "data", "optimizer", "display")
LAYERED_KEYS = ("inputs", "layers", "loss", "naming")
EQUATIONS_KEYS = ("equations", "loss", "outputs")
MAX_DECIMALS = 15  # beyond this a float has no more digits to show
# Limits on what a problem file may ask for, checked before anything is built (docs/safety.md).
MAX_UNITS = 100_000  # inputs, or units in one layer: refused from the number alone, before any name is made
MAX_LAYERS = 1_000  # a hand-worked network has two or three; 1,000 still solves in well under a second
MAX_PARAMETERS = 1_000_000  # counted from the widths; solve keeps every value, partial and adjoint (~30 s, 2 GB)
MAX_SAMPLES = datafile.MAX_ROWS  # inline or from a file; solve works every sample out in full, train needs many
MAX_FILE_STEPS = 100_000  # [optimizer] steps and [data] epochs a file may ask for: an example takes at most ~4 s;
#                           `train --steps/--epochs` is the user's own choice and may ask for more
MAX_SEED = 2**64 - 1  # as torch.manual_seed; a larger integer is no seed anyone chose
LAYERED_DATA_KEYS = ("x", "t", "file", "inputs", "targets", "label") + datafile.TRAINING_KEYS


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
    program: Program
    parameters: dict  # name -> initial value, in the program's order
    data: dict  # name -> tuple of values, one per sample
    batch_size: int
    optimizer: OptimizerConfig
    decimals: int | None = None  # the problem's own display precision
    network: layered.LayeredNetwork | None = None  # the layered form, when given so
    path: Path | None = field(default=None, compare=False)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    @property
    def form(self) -> str:
        return "layered" if self.network is not None else "equations"

    def sample(self, k: int) -> dict:
        """Data values of sample k (0-based)."""
        return {name: values[k] for name, values in self.data.items()}

    @classmethod
    def from_layers(cls, inputs, layers, **options) -> "Problem":
        """A layered problem from Python values; see handprop.api.from_layers.

        >>> Problem.from_layers(1, [1], loss="mse", weights=[2.0], biases=[0.0], x=[1.0], t=[1.0]).parameters
        {'w1': 2.0, 'b1': 0.0}
        """
        from ..api import from_layers

        return from_layers(inputs, layers, **options)

    @classmethod
    def from_equations(cls, text, **options) -> "Problem":
        """An equations-form problem from Python values; see handprop.api.from_equations.

        >>> Problem.from_equations("L = (w*x - t)**2", parameters={"w": 1.0}, data={"x": 2.0, "t": 1.0}).batch_size
        1
        """
        from ..api import from_equations

        return from_equations(text, **options)

    def _repr_html_(self) -> str:
        from ..display import problem_html

        return problem_html(self)


def load(spec: str) -> Problem:
    """Load a problem from a path, an example's name, or '-' for standard input.

    >>> load("homework").program.parameters[:3]
    ('w1', 'w2', 'w3')
    """
    label, text, kind, path = read_source(spec)
    return from_dict(parse_text(text, kind, label), label=label, text=text if kind == "toml" else None, path=path)


def from_dict(raw: dict, *, label: str = "<problem>", text: str | None = None, path: Path | None = None) -> Problem:
    """Validate a problem given as a dict (the parsed file) and build its Program."""
    check = Checker(label)
    check.keys(raw, "", SECTIONS)
    for section in ("network", "parameters", "data", "optimizer"):
        if section not in raw:
            raise check.fail(section, f"missing section [{section}]", "see docs/problem-files.md")
    title = check.text(raw.get("title", Path(label).stem), "title")
    network_table = check.table(raw["network"], "network")
    parameters_table = check.table(raw["parameters"], "parameters")
    data_table = check.table(raw["data"], "data")
    if "equations" in network_table and "layers" in network_table:
        raise check.fail("network", "both equations and layers given", "one of the two")
    folder = path.parent if path is not None else None  # standard input: the working directory
    if "equations" in network_table:
        network = None
        program, parameters, data = _equations_form(check, network_table, parameters_table, data_table, text,
                                                    folder)
        training = _training(check, data_table, _sample_count(data))
    elif "layers" in network_table:
        network = _layered_network(check, network_table)
        program = layered.lower(network)
        data = _layered_data(check, network, data_table, folder)
        training = _training(check, data_table, _sample_count(data))
        parameters = _layered_parameters(check, network, parameters_table, training.seed)
    else:
        check.keys(network_table, "network", dict.fromkeys(LAYERED_KEYS + EQUATIONS_KEYS))
        raise check.fail("network", "neither layers nor equations given",
                         "layers = [...] with inputs and loss, or equations = \"\"\"...\"\"\"")
    samples = _sample_count(data)
    if samples > MAX_SAMPLES:
        raise check.fail("data", f"{samples:,} samples", f"at most {MAX_SAMPLES:,}")
    optimizer_table = check.table(raw["optimizer"], "optimizer")
    if "steps" in optimizer_table:
        check.integer(optimizer_table["steps"], "optimizer.steps", 1, MAX_FILE_STEPS)
    optimizer = optimizer_config(optimizer_table, label)
    if "eps" in optimizer_table and optimizer.option("eps") == 0:
        # Adam, RMSprop and Adagrad divide by sqrt(v) + eps, and v is 0 where a gradient is 0.
        raise check.fail("optimizer.eps", "is 0", "a number above 0, such as 1e-8")
    decimals = None
    if "display" in raw:
        display = check.table(raw["display"], "display")
        check.keys(display, "display", ("decimals",))
        if "decimals" in display:
            decimals = check.integer(display["decimals"], "display.decimals", 0, MAX_DECIMALS)
    return Problem(title, label, program, parameters, data, _sample_count(data), optimizer, decimals, network, path,
                   training)


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
    seed = _seed(check, table.get("seed", 0), "data.seed")
    return TrainingConfig(batch_size, epochs, shuffle, seed)


def _seed(check: Checker, value, where: str) -> int:
    seed = check.integer(value, where, 0)
    if seed > MAX_SEED:
        raise check.fail(where, f"is {describe(seed)}", "a whole number from 0 to 2**64 - 1")
    return seed


def _layered_network(check: Checker, table: dict) -> layered.LayeredNetwork:
    check.keys(table, "network", LAYERED_KEYS)
    if "inputs" not in table:
        raise check.fail("network.inputs", "missing", "the number of inputs, or their names")
    if "loss" not in table:
        raise check.fail("network.loss", "missing", one_of(layered.LOSSES))
    inputs_value = table["inputs"]
    if isinstance(inputs_value, list):
        if len(inputs_value) > MAX_UNITS:
            raise check.fail("network.inputs", f"{len(inputs_value)} inputs", f"at most {MAX_UNITS}")
        inputs = tuple(check.text(v, f"network.inputs: entry {i}") for i, v in enumerate(inputs_value, 1))
        for i, name in enumerate(inputs, 1):
            if len(name) > MAX_NAME_LENGTH:
                raise check.fail(f"network.inputs: entry {i}", f"a name of {len(name)} characters",
                                 f"at most {MAX_NAME_LENGTH}")
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or name.startswith("t") and name[1:].isdigit():
                raise check.fail(f"network.inputs: entry {i}", f"'{name}' is not a usable input name",
                                 "a letter then letters, digits or _, and not a target name t1, t2, ...")
        if len(set(inputs)) != len(inputs) or not inputs:
            raise check.fail("network.inputs", "names repeated or empty", "distinct names")
    else:
        count = check.integer(inputs_value, "network.inputs", 1, MAX_UNITS)
        inputs = tuple(f"x{k}" for k in range(1, count + 1))
    layers_value = table["layers"]
    if not isinstance(layers_value, list) or not layers_value:
        raise check.fail("network.layers", f"is {describe(layers_value)}",
                         "a list of layers such as { units = 3, activation = \"relu\" }")
    if len(layers_value) > MAX_LAYERS:
        raise check.fail("network.layers", f"{len(layers_value)} layers", f"at most {MAX_LAYERS}")
    layers = []
    for i, entry in enumerate(layers_value, 1):
        where = f"network.layers: layer {i}"
        entry = check.table(entry, where)
        check.keys(entry, where, ("units", "activation", "alpha"))
        if "units" not in entry:
            raise check.fail(where, "units missing", "units = a whole number")
        units = check.integer(entry["units"], f"{where}: units", 1, MAX_UNITS)
        activation = check.text(entry.get("activation", "identity"), f"{where}: activation")
        if activation not in ACTIVATIONS:
            raise check.fail(f"{where}: activation", f"unknown activation '{activation}'", one_of(ACTIVATIONS, activation))
        alpha = LEAKY_RELU_DEFAULT_ALPHA
        if "alpha" in entry:
            if activation != "leaky_relu":
                raise check.fail(f"{where}: alpha", f"alpha given for {activation}", "alpha only with leaky_relu")
            alpha = check.number(entry["alpha"], f"{where}: alpha")
        layers.append(layered.Layer(units, activation, alpha))
    loss = check.text(table["loss"], "network.loss")
    if loss not in layered.LOSSES:
        raise check.fail("network.loss", f"unknown loss '{loss}'", one_of(layered.LOSSES, loss))
    naming = check.text(table.get("naming", "sequential"), "network.naming")
    if naming not in layered.NAMINGS:
        raise check.fail("network.naming", f"unknown naming '{naming}'", one_of(layered.NAMINGS, naming))
    network = layered.LayeredNetwork(inputs, tuple(layers), loss, naming)
    widths = network.widths()
    parameters = sum(fan_in * units + units for fan_in, units in zip(widths, widths[1:]))
    if parameters > MAX_PARAMETERS:  # counted from the widths, before a single name is made
        raise check.fail("network.layers", f"{parameters:,} parameters", f"at most {MAX_PARAMETERS:,}")
    return network


def _count_list(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _layered_parameters(check: Checker, network: layered.LayeredNetwork, table: dict, seed: int) -> dict:
    if "init" in table:
        listed = [key for key in table if key not in ("init", "seed")]
        if listed:
            raise check.fail(f"parameters.{listed[0]}", "listed together with init",
                             "either init = \"...\" or every value listed, not both")
        scheme = check.text(table["init"], "parameters.init")
        if scheme not in SCHEMES:
            raise check.fail("parameters.init", f"unknown init '{scheme}'", one_of(SCHEMES, scheme))
        return initial_values(network, scheme, seed=_seed(check, table.get("seed", seed), "parameters.seed"))
    if "seed" in table:
        raise check.fail("parameters.seed", "seed given without init",
                         "init = \"he_uniform\" or another scheme, to draw the parameters")
    values: dict[str, float] = {}
    where_given: dict[str, str] = {}

    def give(name: str, value, where: str) -> None:
        if name in values:
            raise check.fail(where, f"{name} given twice (also at {where_given[name]})", "each parameter once")
        values[name] = check.number(value, where)
        where_given[name] = where

    if network.naming == "sequential":
        weights, biases = layered.parameter_names(network)
        groups = {"w": weights, "b": biases}
        for key, value in table.items():
            if key in groups:
                given = check.vector(value, f"parameters.{key}")
                expected = groups[key]
                if len(given) != len(expected):
                    kind = "weights" if key == "w" else "biases"
                    detail = (f"missing {_count_list(expected[len(given):])}" if len(given) < len(expected)
                              else f"{len(given) - len(expected)} extra")
                    raise check.fail(f"parameters.{key}", f"{len(given)} {kind} given, {detail}",
                                     f"{len(expected)}: {expected[0]}..{expected[-1]}")
                for name, number in zip(expected, given):
                    give(name, number, f"parameters.{key}")
            elif key in weights or key in biases:
                give(key, value, f"parameters.{key}")
            else:
                raise check.fail(f"parameters.{key}", "unknown parameter",
                                 f"w = [...] and b = [...], or single ones {weights[0]}..{weights[-1]}, "
                                 f"{biases[0]}..{biases[-1]}")
    else:
        rows = layered.weight_rows(network)
        bias_rows = layered.bias_names(network)
        widths = network.widths()
        known = [f"W{n}" for n in range(1, len(rows) + 1)] + [f"b{n}" for n in range(1, len(rows) + 1)]
        for key, value in table.items():
            if key not in known:
                raise check.fail(f"parameters.{key}", "unknown parameter", one_of(known, key))
            n = int(key[1:])
            units, fan_in = widths[n], widths[n - 1]
            if key.startswith("W"):
                shape = f"a {units}x{fan_in} matrix (rows = layer {n}'s units, columns = its inputs)"
                if not isinstance(value, list) or not all(isinstance(r, list) for r in value):
                    raise check.fail(f"parameters.{key}", f"is {describe(value)}", shape)
                if len(value) != units or any(len(r) != fan_in for r in value):
                    got = f"{len(value)}x{'/'.join(sorted({str(len(r)) for r in value})) or 0}"
                    raise check.fail(f"parameters.{key}", f"shape {got} does not fit the network", shape)
                for j, (row, names) in enumerate(zip(value, rows[n - 1]), 1):
                    for k, (number, name) in enumerate(zip(row, names), 1):
                        give(name, number, f"parameters.{key}[{j},{k}]")
            else:
                given = check.vector(value, f"parameters.{key}")
                if len(given) != units:
                    raise check.fail(f"parameters.{key}", f"has {len(given)} entries",
                                     f"{units}, one per unit of layer {n}")
                for number, name in zip(given, bias_rows[n - 1]):
                    give(name, number, f"parameters.{key}")
    order = layered.parameter_order(network)
    missing = [name for name in order if name not in values]
    if missing:
        raise check.fail("parameters", f"{len(missing)} parameter{'s' * (len(missing) != 1)} missing: "
                         f"{_count_list(missing)}", f"all {len(order)} of {order[0]}..{order[-1]}")
    return {name: values[name] for name in order}


def _layered_data(check: Checker, network: layered.LayeredNetwork, table: dict, folder: Path | None) -> dict:
    check.keys(table, "data", LAYERED_DATA_KEYS)
    if "file" in table:
        for key in ("x", "t"):
            if key in table:
                raise check.fail(f"data.{key}", "given together with file",
                                 "x and t inline, or a file, not both")
        _check_data_file(check, table["file"], folder)
        return datafile.layered_data(check, network, table, folder)
    for key in ("inputs", "targets", "label"):
        if key in table:
            raise check.fail(f"data.{key}", "given without file",
                             "file = \"data.csv\"; inputs, targets and label name its columns")
    for key in ("x", "t"):
        if key not in table:
            raise check.fail(f"data.{key}", "missing", "inputs x and targets t, one sample or a list of samples")
    xs = check.samples(table["x"], "data.x", len(network.inputs), "input")
    ts = check.samples(table["t"], "data.t", network.layers[-1].units, "output unit")
    if len(xs) != len(ts):
        raise check.fail("data", f"{len(xs)} input samples but {len(ts)} target samples", "as many of each")
    data = {name: tuple(row[k] for row in xs) for k, name in enumerate(network.inputs)}
    data.update({name: tuple(row[k] for row in ts) for k, name in enumerate(network.targets)})
    return data


def _check_data_file(check: Checker, written, folder: Path | None) -> None:
    """A data file is read whole: a device or a pipe (/dev/zero) never ends, so only a regular file is read."""
    import stat

    if not isinstance(written, str):
        return  # datafile says what it expected
    if "\x00" in written:
        raise check.fail("data.file", "contains a NUL character", "a path to a CSV file")
    path = Path(written) if Path(written).is_absolute() else (folder or Path()) / written
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # datafile names what is wrong (missing, unreadable)
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise check.fail("data.file", f"'{written[:60]}' is not a regular file", "a CSV file")


def _equations_form(check: Checker, network: dict, parameters_table: dict, data_table: dict, text: str | None,
                    folder: Path | None):
    check.keys(network, "network", EQUATIONS_KEYS)
    source = check.text(network["equations"], "network.equations")
    if isinstance(parameters_table.get("init"), str):
        raise check.fail("parameters.init", "init needs a layered network: it needs each weight's fan-in and fan-out",
                         "the equations form lists every parameter: name = number")
    for section, table in (("parameters", parameters_table), ("data", data_table)):
        for name in table:
            if len(str(name)) > MAX_NAME_LENGTH:
                raise check.fail(f"{section}.{str(name)[:20]}...", f"a name of {len(str(name))} characters",
                                 f"at most {MAX_NAME_LENGTH}")
    parameters = {name: check.number(v, f"parameters.{name}") for name, v in parameters_table.items()}
    if not parameters:
        raise check.fail("parameters", "no parameters", "at least one trained parameter: name = number")
    data: dict[str, tuple] = {}
    batch = None
    inline = {name: value for name, value in data_table.items() if name not in ("file",) + datafile.TRAINING_KEYS}
    for name in ("inputs", "targets", "label"):
        value = inline.get(name)
        if isinstance(value, str) or isinstance(value, list) and any(isinstance(v, str) for v in value):
            raise check.fail(f"data.{name}", f"{name} names columns for a layered network",
                             "in the equations form each data name is read from the column of the same name")
    if "file" in data_table:
        read = [name for name in datafile.names_read(source) if name not in parameters and name not in inline]
        _check_data_file(check, data_table["file"], folder)
        data, rows = datafile.equations_data(check, data_table["file"], read, folder)
        batch = ("file", rows) if data else None
    for name, value in inline.items():
        if isinstance(value, list):
            values = tuple(check.vector(value, f"data.{name}"))
            if not values:
                raise check.fail(f"data.{name}", "is an empty list", "a number, or one number per sample")
            if batch is not None and len(values) != batch[1]:
                if batch[0] == "file":
                    raise check.fail(f"data.{name}", f"has {len(values)} samples but the file has {batch[1]}",
                                     "one number, or one per row of the file")
                raise check.fail(f"data.{name}", f"has {len(values)} samples but data.{batch[0]} has {batch[1]}",
                                 "the same number of samples for every list")
            batch = batch or (name, len(values))
            data[name] = values
        else:
            data[name] = (check.number(value, f"data.{name}"),)
    size = batch[1] if batch else 1
    data = {name: values * size if len(values) == 1 else values for name, values in data.items()}
    for name in data:
        if name in parameters:
            raise check.fail(f"data.{name}", f"'{name}' is both a parameter and data", "one or the other")
    loss = check.text(network["loss"], "network.loss") if "loss" in network else None
    outputs = None
    if "outputs" in network:
        if not isinstance(network["outputs"], list):
            raise check.fail("network.outputs", f"is {describe(network['outputs'])}", "a list of node names")
        outputs = [check.text(v, f"network.outputs: entry {i}") for i, v in enumerate(network["outputs"], 1)]
    offset = _equations_line(text)
    program = parse_equations(source, parameters=list(parameters), data=list(data), loss=loss, outputs=outputs,
                              file=check.label, line_offset=offset)
    return program, parameters, data


def _equations_line(text: str | None) -> int:
    """Line of the file just before the equations text, so errors name the file's own line."""
    if text is None:
        return 0
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"\s*equations\s*=\s*(\"\"\"|''')\s*$", line):
            return number
    return 0
