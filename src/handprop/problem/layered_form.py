"""The layered form, checked: [network] inputs, layers and loss; [parameters] listed or drawn by a scheme;
[data] inputs and targets inline or from a CSV file. Each function returns what the Problem holds."""

from __future__ import annotations

import re

from ..core.errors import one_of
from ..core.ops import ACTIVATIONS, OPS
from . import data_files, layered
from .checks import Checker
from .checks import MAX_NAME_LENGTH
from .files import describe
from .initialisers import SCHEMES, initial_values

KEYS = ("inputs", "layers", "loss", "naming")
SETTINGS = tuple(dict.fromkeys(p.name for name in ACTIVATIONS for p in OPS[name].params))  # a layer's other keys
DATA_KEYS = ("x", "t", "file", "inputs", "targets", "label") + data_files.TRAINING_KEYS
# Limits on what a problem file may ask for, checked before anything is built (docs/safety.md).
MAX_UNITS = 100_000  # inputs, or units in one layer: refused from the number alone, before any name is made
MAX_LAYERS = 1_000  # a hand-worked network has two or three; 1,000 still solves in well under a second
MAX_PARAMETERS = 1_000_000  # counted from the widths; solve keeps every value, partial and adjoint (~30 s, 2 GB)


def network(check: Checker, table: dict) -> layered.LayeredNetwork:
    """[network] of the layered form: inputs, layers (units, activation), loss and naming."""
    check.keys(table, "network", KEYS)
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
        check.keys(entry, where, ("units", "activation", "bias") + SETTINGS)
        if "units" not in entry:
            raise check.fail(where, "units missing", "units = a whole number")
        units = check.integer(entry["units"], f"{where}: units", 1, MAX_UNITS)
        activation = check.text(entry.get("activation", layered.NO_ACTIVATION), f"{where}: activation")
        if activation not in ACTIVATIONS:
            raise check.fail(f"{where}: activation", f"unknown activation '{activation}'",
                             one_of(ACTIVATIONS, activation))
        bias = check.text(entry.get("bias", "per_unit"), f"{where}: bias")
        if bias not in layered.BIAS_KINDS:
            raise check.fail(f"{where}: bias", f"unknown bias kind '{bias}'", one_of(layered.BIAS_KINDS, bias))
        given = {key: value for key, value in entry.items() if key not in ("units", "activation", "bias")}
        layers.append(layered.Layer(units, activation, check.op_settings(OPS[activation], given, where), bias))
    loss = check.text(table["loss"], "network.loss")
    if loss not in layered.LOSSES:
        raise check.fail("network.loss", f"unknown loss '{loss}'", one_of(layered.LOSSES, loss))
    naming = check.text(table.get("naming", "sequential"), "network.naming")
    if naming not in layered.NAMINGS:
        raise check.fail("network.naming", f"unknown naming '{naming}'", one_of(layered.NAMINGS, naming))
    network = layered.LayeredNetwork(inputs, tuple(layers), loss, naming)
    parameters = network.parameter_count
    if parameters > MAX_PARAMETERS:  # counted from the widths, before a single name is made
        raise check.fail("network.layers", f"{parameters:,} parameters", f"at most {MAX_PARAMETERS:,}")
    return network


def _count_list(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def drawn(check: Checker, table: dict, seed: int) -> tuple[str, int] | None:
    """(scheme, seed) when [parameters] asks for its values to be drawn (init, and seed or the data's); None
    when they are listed. A seed without init, or values listed beside it, are refused."""
    if "init" in table:
        listed = [key for key in table if key not in ("init", "seed")]
        if listed:
            raise check.fail(f"parameters.{listed[0]}", "listed together with init",
                             "either init = \"...\" or every value listed, not both")
        scheme = check.text(table["init"], "parameters.init")
        if scheme not in SCHEMES:
            raise check.fail("parameters.init", f"unknown init '{scheme}'", one_of(SCHEMES, scheme))
        return scheme, check.seed(table.get("seed", seed), "parameters.seed")
    if "seed" in table:
        raise check.fail("parameters.seed", "seed given without init",
                         "init = \"he_uniform\" or another scheme, to draw the parameters")
    return None


def parameters(check: Checker, network: layered.LayeredNetwork, table: dict, seed: int) -> dict:
    """[parameters]: every weight and bias listed (w/b, W1/b1, or one by one), or drawn by an init scheme."""
    scheme = drawn(check, table, seed)
    if scheme is not None:
        return initial_values(network, scheme[0], seed=scheme[1])
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
                    if not expected:
                        raise check.fail(f"parameters.{key}", f"{len(given)} {kind} given",
                                         "none: every layer has bias = \"none\"")
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
                                 f"w = [...] and b = [...], or single ones {weights[0]}..{weights[-1]}"
                                 + (f", {biases[0]}..{biases[-1]}" if biases else " (no biases)"))
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
                layer = network.layers[n - 1]
                if layer.bias == "none":
                    raise check.fail(f"parameters.{key}", f"layer {n} has no bias (bias = \"none\")",
                                     "no b for it, or bias = \"per_unit\" or \"shared\" in its layer")
                if layer.bias == "shared" and not isinstance(value, list):
                    value = [value]  # one number for the layer's one bias
                given = check.vector(value, f"parameters.{key}")
                if len(given) != layer.bias_count:
                    raise check.fail(f"parameters.{key}", f"has {len(given)} entries",
                                     f"{units}, one per unit of layer {n}" if layer.bias == "per_unit" else
                                     f"one number: layer {n}'s bias is shared by its units")
                for number, name in zip(given, bias_rows[n - 1]):
                    give(name, number, f"parameters.{key}")
    order = layered.parameter_order(network)
    missing = [name for name in order if name not in values]
    if missing:
        raise check.fail("parameters", f"{len(missing)} parameter{'s' * (len(missing) != 1)} missing: "
                         f"{_count_list(missing)}", f"all {len(order)} of {order[0]}..{order[-1]}")
    return {name: values[name] for name in order}


def data(check: Checker, network: layered.LayeredNetwork, table: dict, folder: str | None) -> dict:
    """[data]: inputs x and targets t inline (one sample or a list of them), or read from a CSV file."""
    check.keys(table, "data", DATA_KEYS)
    if "file" in table:
        for key in ("x", "t"):
            if key in table:
                raise check.fail(f"data.{key}", "given together with file",
                                 "x and t inline, or a file, not both")
        data_files.check_data_file(check, table["file"], folder)
        return check_targets(check, network, data_files.layered_data(check, network, table, folder), "data.file")
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
    return check_targets(check, network, data, "data.t")


def check_targets(check: Checker, network: layered.LayeredNetwork, data: dict, where: str) -> dict:
    """The data, its targets checked against the loss's range (binary cross-entropy's are from 0 to 1, as
    torch.nn.BCELoss requires)."""
    loss = layered.LOSSES[network.loss]
    if loss.targets is not None:
        lowest, highest = loss.targets
        for name in network.targets:
            for k, value in enumerate(data[name]):
                if not lowest <= value <= highest:
                    raise check.fail(where, f"sample {k + 1}: target {name} = {value!r}",
                                     f"targets of {loss.short} from {lowest:g} to {highest:g}")
    return data
