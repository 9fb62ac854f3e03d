"""The page's fields: a problem's shape, activations, loss, optimizer, parameters and data, each edited in place.

`fields(problem, raw)` lists what the page draws; `edit_text(text, edits)` makes a list of field edits to
the problem's text and gives the new text, which is then checked and worked out like any other. TOML is
edited with tomlkit, which keeps the file's comments and layout; JSON and YAML are written anew (YAML
loses its comments). A field is named by a path:

    network.inputs  network.layers.N.units  network.layers.N.activation  network.layers.N.alpha (any setting)
    network.layers.add  network.layers.N.remove  network.loss
    optimizer.name  optimizer.lr  optimizer.steps  optimizer.momentum ...  optimizer.betas.1
    parameter.w4  parameter.W1[2,1]  data.x1.0 (input x1 of sample 0)  data.c (an equations constant)
    samples.add (a copy of the last sample)  samples.N.remove

A new weight or bias (when a layer grows) gets a two-decimal value drawn from its place, so that the same
edit always gives the same numbers; a new input gets one too, a new target 0.
"""

from __future__ import annotations

import math
import random

from ..core.errors import HandpropError, one_of

MAX_FORM_PARAMETERS = 2_000  # shape edits stop here: a page of 2,000 derivations takes a few seconds
MAX_FORM_CELLS = 600  # fields drawn for the parameters or the data; beyond this they are edited in the text
WRITTEN_EXTRA = 4  # "One more step" writes decimals shown + this: no 17-digit floats, and the values read back near


# --- reading values from a field ---------------------------------------------------------------------------

def _number(value, label: str, where: str):
    text = str(value).strip()
    try:  # a whole number stays one (t = [1, 0]) unless it is too long to be exact as a float
        number = int(text) if text.lstrip("+-").isdecimal() and len(text) <= 15 else float(text)
    except ValueError:
        raise HandpropError(label, where, f"'{text[:40]}' is not a number", "a number, such as 0.5") from None
    if not math.isfinite(number):
        raise HandpropError(label, where, f"'{text[:40]}' is not a finite number", "a number, such as 0.5")
    return number


def _whole(value, label: str, where: str, low: int = 1) -> int:
    number = _number(value, label, where)
    if number != int(number) or number < low:
        raise HandpropError(label, where, f"'{str(value).strip()[:40]}' is not a whole number of {low} or more",
                            f"a whole number of {low} or more")
    return int(number)


def _index(text: str) -> bool:
    """Whether a path's part is an index (a sample's, a layer's): a few plain digits."""
    return text.isdecimal() and text.isascii() and len(text) <= 9


def _fresh(*place) -> float:
    """A new parameter's or input's value: two decimals in [-0.5, 0.5], fixed by its place."""
    return round(random.Random("/".join(map(str, place))).uniform(-0.5, 0.5), 2)


# --- the document: the text as an editable tree -------------------------------------------------------------

def _document(text: str, kind: str, label: str):
    """The text as a tree to edit (tomlkit's for TOML, plain for JSON and YAML), checked as a file is."""
    from ..problem.files import parse_text

    raw = parse_text(text, kind, label)
    if kind == "toml":
        import tomlkit

        return tomlkit.parse(text)
    return raw


def _plain(document) -> dict:
    return document.unwrap() if hasattr(document, "unwrap") else document


def _text(document, kind: str) -> str:
    if kind == "toml":
        from ..problem.toml_writer import edited_text

        return edited_text(document)
    if kind == "json":
        return _json(document) + "\n"
    import yaml

    return yaml.safe_dump(document, sort_keys=False, default_flow_style=None, allow_unicode=True, width=100)


def _json(value, indent: str = "") -> str:
    """JSON with an object's keys one per line, and short lists (of numbers, of rows) on one line."""
    import json

    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, (dict, list)) or (isinstance(value, list) and len(indent) + len(flat) <= 100):
        return flat
    inner = indent + "  "
    if isinstance(value, list):
        return "[\n" + ",\n".join(inner + _json(v, inner) for v in value) + "\n" + indent + "]"
    items = (inner + json.dumps(str(k)) + ": " + _json(v, inner) for k, v in value.items())
    return "{\n" + ",\n".join(items) + "\n" + indent + "}"


def refuse_data_file(raw: dict, label: str) -> None:
    """The server reads no file but the one it was started with: a problem reading a data file is refused."""
    if isinstance(raw.get("data"), dict) and "file" in raw["data"]:
        raise HandpropError(label, "data.file", "handprop serve reads no data files",
                            "a problem with its data inline: x and t; `handprop train` reads data files")


def _problem(document, label: str):
    from ..problem.spec import from_dict

    plain = _plain(document)
    refuse_data_file(plain, label)
    return from_dict(plain, label=label)


def _section(document, name: str, label: str):
    table = document.get(name)
    if not isinstance(table, dict):
        raise HandpropError(label, name, f"no [{name}] table to edit", f"a [{name}] section")
    return table


# --- edits ---------------------------------------------------------------------------------------------------

def edit_text(text: str, edits: list, *, kind: str = "toml", label: str = "<text>") -> str:
    """The text with each edit ({"field": path, "value": text}) made in turn.

    >>> from handprop.problem.files import example_path
    >>> after = edit_text(example_path("homework").read_text(), [{"field": "parameter.w4", "value": "0.35"}])
    >>> [line for line in after.splitlines() if line.startswith("w = ")]
    ['w = [0.1, 0.5, 0.2, 0.35, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]']
    """
    document = _document(text, kind, label)
    for edit in edits:
        if not isinstance(edit, dict) or not isinstance(edit.get("field"), str):
            raise HandpropError(label, None, "an edit is not {field, value}", "a field's path and its value")
        _edit(document, edit["field"], edit.get("value", ""), label)
    return _text(document, kind)


def _edit(document, field: str, value, label: str) -> None:
    from ..problem.layered import LOSSES
    from ..core.ops import ACTIVATIONS

    if not isinstance(value, (str, int, float)):
        raise HandpropError(label, field, "the value is not text or a number", "what the field holds")
    value = value if isinstance(value, str) else str(value).lower()  # JSON's true arrives as True
    parts = field.split(".")
    if parts[0] == "parameter" and len(parts) >= 2:
        name = field.split(".", 1)[1]
        _set_parameters(document, _problem(document, label), {name: _number(value, label, name)}, label)
    elif parts[0] == "data" and (len(parts) == 2 or len(parts) == 3 and _index(parts[2])):
        _set_data(document, parts[1], int(parts[2]) if len(parts) == 3 else None, _number(value, label, field),
                  label)
    elif field == "samples.add" or parts[0] == "samples" and parts[2:] == ["remove"] and _index(parts[1]):
        _set_samples(document, _problem(document, label), None if field == "samples.add" else int(parts[1]), label)
    elif parts[0] == "optimizer" and len(parts) in (2, 3):
        _set_optimizer(document, parts[1:], value, label)
    elif field == "network.loss":
        _choose(_section(document, "network", label), "loss", value, LOSSES, label, field)
    elif field in ("network.inputs", "network.layers.add") or (
            parts[:2] == ["network", "layers"] and len(parts) == 4 and _index(parts[2])):
        _set_network(document, parts[2:], value, label, ACTIVATIONS)
    else:
        raise HandpropError(label, field, "is not a field the page edits", "a field drawn on the page")


def _choose(table, key: str, value, known, label: str, where: str) -> None:
    if value not in known:
        raise HandpropError(label, where, f"unknown choice '{str(value)[:40]}'", one_of(known, str(value)))
    table[key] = value


def _set_optimizer(document, parts: list, value, label: str) -> None:
    from ..core.optim import OPTIMIZERS

    table = _section(document, "optimizer", label)
    key, where = parts[0], "optimizer." + ".".join(parts)
    if key == "name":
        _choose(table, "name", value, OPTIMIZERS, label, where)
        for old in [k for k in table if k not in ("name", "lr", "steps", *OPTIMIZERS[value])]:
            del table[old]  # another optimizer's settings
        return
    name = _plain(table).get("name", "sgd")
    default = OPTIMIZERS.get(name, {}).get(key) if isinstance(name, str) else None  # a bad name: lr and steps only
    if key == "steps":
        table[key] = _whole(value, label, where)
    elif key == "lr" or isinstance(default, float):
        table[key] = _number(value, label, where)
    elif isinstance(default, bool):
        table[key] = str(value).strip().lower() in ("true", "1", "on", "yes")
    elif isinstance(default, tuple) and len(parts) == 2 and parts[1] in ("0", "1"):
        given = _plain(table).get(key)
        pair = list(given) if isinstance(given, list) and len(given) == 2 else list(default)
        pair[int(parts[1])] = _number(value, label, where)
        table[key] = pair
    else:
        raise HandpropError(label, where, "is not a setting of this optimizer", "a field drawn on the page")


def _set_data(document, name: str, sample: int | None, number, label: str) -> None:
    problem = _problem(document, label)
    table = _section(document, "data", label)
    where = f"data.{name}"
    if name not in problem.data:
        raise HandpropError(label, where, f"no data named '{name}'", "a data name of the problem")
    if sample is not None and sample >= problem.batch_size:
        raise HandpropError(label, where, f"no sample {sample + 1}", f"samples 1 to {problem.batch_size}")
    network = problem.network
    if problem.stack is not None:
        stack = problem.stack
        if name not in stack.inputs and name not in stack.targets:
            raise HandpropError(label, where, "a layer's own data (a mask, an initial state) is edited in the text",
                                "an input x[...] or a target")
        key, shape = ("x", stack.input_shape) if name in stack.inputs else ("t", stack.output_shape)
        indices = _indexed(name)[1] if "[" in name else [int(name[1:]) - 1]
        values = table[key]
        batched = _depth(values) == len(shape) + 1
        _put(values, ([sample or 0] if batched else []) + indices, number)
        return
    if network is None:
        if sample is None or not isinstance(table.get(name), list):
            table[name] = number
        else:
            table[name][sample] = number
        return
    key, names = ("x", network.inputs) if name in network.inputs else ("t", network.targets)
    rows, index = table[key], names.index(name)
    if rows and isinstance(rows[0], list):
        rows[sample or 0][index] = number
    else:
        rows[index] = number


def _depth(value) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value, depth = value[0], depth + 1
    return depth


def _set_samples(document, problem, remove: int | None, label: str) -> None:
    """Add a copy of the last sample (remove None), or remove sample `remove` (0-based)."""
    table = _section(document, "data", label)
    if remove is not None and not 0 <= remove < problem.batch_size:
        raise HandpropError(label, "data", f"no sample {remove + 1}", f"samples 1 to {problem.batch_size}")
    if remove is not None and problem.batch_size == 1:
        raise HandpropError(label, "data", "the only sample cannot be removed", "at least one sample")
    network = problem.network
    if problem.stack is not None:  # layer kinds: x and t are tensors, one sample or a list of them
        from copy import deepcopy

        for key, shape in (("x", problem.stack.input_shape), ("t", problem.stack.output_shape)):
            values = table[key]
            if _depth(values) == len(shape):  # one sample: a list of it, twice
                table[key] = [deepcopy(_plain(values)) for _ in range(2)]
            elif remove is not None:
                del values[remove]
            else:
                values.append(deepcopy(_plain(values)[-1]))
        return
    keys = ["x", "t"] if network is not None else [name for name in problem.data if name in table]
    lists = [key for key in keys if isinstance(table[key], list)]
    if network is None and lists:
        keys = lists  # the other names are constants, the same for every sample
    from copy import deepcopy

    for key in keys:
        values = table[key]
        single = network is not None and not (values and isinstance(values[0], list))
        if remove is not None:
            del values[remove]
        elif single or network is None and not isinstance(values, list):
            # New objects each: YAML would write one list used twice as an alias.
            table[key] = [deepcopy(_plain(values)) for _ in range(2)]
        else:
            values.append(deepcopy(_plain(values)[-1]))


def _set_parameters(document, problem, values: dict, label: str) -> None:
    """Set each named parameter where the text lists it; drawn (init) parameters are all written out."""
    from ..problem.layered import parameter_names

    table = _section(document, "parameters", label)
    unknown = [name for name in values if name not in problem.parameters]
    if unknown:
        raise HandpropError(label, f"parameter {unknown[0]}", "no such parameter", "a parameter of the problem")
    network = problem.network
    if problem.stack is not None:  # layer kinds: each tensor a nested list
        if "init" in table:
            _write_stack_parameters(document, problem.stack, {**problem.parameters, **values})
            return
        for name, number in values.items():
            key, indices = _indexed(name)
            _put(table[key], indices, number)
        return
    if "init" in table:
        _write_parameters(document, network, {**problem.parameters, **values})
        return
    for name, number in values.items():
        if name in table or network is None:
            table[name] = number
        elif network.naming == "sequential":
            weights, biases = parameter_names(network)
            key, names = ("w", weights) if name in weights else ("b", biases)
            table[key][names.index(name)] = number
        else:  # W2[j,k] or b2[j], 1-based
            key, _, place = name.rstrip("]").partition("[")
            indices = [int(i) - 1 for i in place.split(",")]
            if len(indices) == 2:
                table[key][indices[0]][indices[1]] = number
            else:
                table[key][indices[0]] = number


def _indexed(name: str) -> tuple[str, list[int]]:
    """K1[1,2,1,1] -> ("K1", [0, 1, 0, 0]): a tensor's key and the 0-based place of the entry."""
    key, _, place = name.rstrip("]").partition("[")
    return key, [int(i) - 1 for i in place.split(",")] if place else []


def _put(nested, indices: list[int], number) -> None:
    for i in indices[:-1]:
        nested = nested[i]
    nested[indices[-1]] = number


def _nested(values: list, shape: tuple):
    if len(shape) <= 1:
        return list(values)
    size = len(values) // shape[0]
    return [_nested(values[k * size:(k + 1) * size], shape[1:]) for k in range(shape[0])]


def _write_stack_parameters(document, stack, values: dict) -> None:
    """Replace [parameters] by every tensor of a network of layer kinds, each a nested list of its shape."""
    document["parameters"] = {tensor.name: _nested([values[name] for name in tensor.names], tensor.shape)
                              for tensor in stack.tensors()}


def _write_parameters(document, network, values: dict) -> None:
    """Replace [parameters] by every value, listed as the network's naming lists them (None: equations)."""
    from ..problem.layered import bias_names, weight_rows

    if network is None:
        document["parameters"] = dict(values)
        return
    rows, biases = weight_rows(network), bias_names(network)
    if network.naming == "sequential":
        table = {"w": [values[w] for layer in rows for row in layer for w in row],
                 "b": [values[b] for layer in biases for b in layer]}
    else:
        table = {}
        for n, (layer, layer_biases) in enumerate(zip(rows, biases), 1):
            table[f"W{n}"] = [[values[w] for w in row] for row in layer]
            if layer_biases:  # a layer without bias lists none
                table[f"b{n}"] = [values[b] for b in layer_biases]
    document["parameters"] = table


def stepped_text(text: str, problem, *, kind: str = "toml", values: dict | None = None,
                 decimals: int | None = None) -> str:
    """The problem's text with its parameters replaced by `values` (by default their values after one more
    optimizer step), each written at the decimals shown plus WRITTEN_EXTRA (see written).

    >>> from handprop.problem.files import example_path
    >>> from handprop.serve.tasks import load_text
    >>> text = example_path("homework").read_text()
    >>> after = stepped_text(text, load_text(text))
    >>> load_text(after).parameters["w1"], "# w1..w12 and b1..b5" in after  # the homework shows 2 decimals: 2 + 4
    (0.093827, True)
    """
    if values is None:
        from ..solver import solve

        values = {name: record.updated for name, record in solve(problem, steps=1).parameters.items()}
    document = _document(text, kind, problem.source)
    shown = decimals if decimals is not None else problem.decimals
    _set_parameters(document, problem, {name: written(value, shown) for name, value in values.items()},
                    problem.source)
    return _text(document, kind)


def written(value: float, shown: int | None) -> float:
    """A stepped parameter as the text holds it: rounded to the decimals shown (the problem's, else
    DEFAULT_DECIMALS) plus WRITTEN_EXTRA, by the rule every shown number follows (render/numbers.fixed).

    >>> written(0.09379767441860465, None), written(-0.123456789, 2)
    (0.09379767, -0.123457)
    """
    from ..render.numbers import DEFAULT_DECIMALS, fixed

    return float(fixed(value, (DEFAULT_DECIMALS if shown is None else shown) + WRITTEN_EXTRA))


# --- the network's shape ------------------------------------------------------------------------------------

def _set_network(document, parts: list, value, label: str, activations) -> None:
    from ..core.ops import OPS
    from ..problem.layered import HIDDEN

    problem = _problem(document, label)
    network = problem.network
    if network is None:
        raise HandpropError(label, "network", "the equations form has no layers to edit",
                            "edit the equations in the text")
    table = _section(document, "network", label)
    layers = table["layers"]
    count = len(network.layers)
    if parts and _index(parts[0]) and not 0 <= int(parts[0]) < count:
        raise HandpropError(label, "network.layers", f"no layer {int(parts[0]) + 1}", f"layers 1 to {count}")
    widths = network.widths()
    keep = list(range(count))  # new layer n takes the parameters of old layer keep[n] (None: none)
    if not parts:  # network.inputs
        widths[0] = _whole(value, label, "network.inputs")
    elif parts == ["add"]:  # a hidden layer just before the output layer, as the last hidden one
        last = _plain(layers)[-2] if count > 1 else {"units": 2, "activation": HIDDEN}
        layers.insert(count - 1, _like(layers, last))
        widths.insert(count, last["units"])
        keep.insert(count - 1, None)
    elif parts[1:] == ["remove"]:
        n = int(parts[0])
        if n == count - 1:
            raise HandpropError(label, "network.layers", "the output layer cannot be removed",
                                "remove a hidden layer")
        del layers[n]
        del widths[n + 1]
        del keep[n]
    elif parts[1:] == ["units"]:
        widths[int(parts[0]) + 1] = _whole(value, label, f"network.layers: layer {int(parts[0]) + 1}: units")
    elif parts[1:] == ["activation"]:
        layer = layers[int(parts[0])]
        _choose(layer, "activation", value, activations, label,
                f"network.layers: layer {int(parts[0]) + 1}: activation")
        kept = {p.name for p in OPS[value].params}
        for old in [key for key in layer if key not in ("units", "activation") and key not in kept]:
            del layer[old]  # a setting of the activation it had
        return
    elif len(parts) == 2 and parts[1] in _settings(layers[int(parts[0])]):
        param = _settings(layers[int(parts[0])])[parts[1]]
        where = f"network.layers: layer {int(parts[0]) + 1}: {parts[1]}"
        layers[int(parts[0])][parts[1]] = value if param.choices else _number(value, label, where)
        return
    else:
        raise HandpropError(label, "network." + ".".join(parts), "is not a field the page edits",
                            "a field drawn on the page")
    _reshape(document, problem, widths, keep, label)


def _settings(layer) -> dict:
    """The settings a layer's activation has, by name (none for an activation the op table does not know)."""
    from ..core.ops import OPS

    from ..problem.layered import NO_ACTIVATION

    activation = _plain(layer).get("activation", NO_ACTIVATION)
    return {p.name: p for p in OPS[activation].params} if activation in OPS else {}


def _like(items, value: dict):
    """A new entry for a list: in TOML an inline table written as its neighbours are, else a dict."""
    if not hasattr(items, "as_string"):
        return dict(value)
    import tomlkit

    table = tomlkit.inline_table()
    table.update(value)
    return table


def _reshape(document, problem, widths: list, keep: list, label: str) -> None:
    """Write the new widths, and resize the listed parameters and the inline data to fit them."""
    from ..problem.layered import NO_ACTIVATION, Layer, LayeredNetwork, bias_names, weight_rows

    old = problem.network
    total = sum(a * b + b for a, b in zip(widths, widths[1:]))  # at most: a shared or no bias has fewer
    if total > MAX_FORM_PARAMETERS:
        raise HandpropError(label, "network", f"{total:,} parameters", f"at most {MAX_FORM_PARAMETERS:,} on this "
                            "page; a larger network can be written in the text")
    table = document["network"]
    inputs = _plain(table)["inputs"]
    if isinstance(inputs, list):
        names = list(inputs[:widths[0]])
        k = 1
        while len(names) < widths[0]:
            names += [] if f"x{k}" in names else [f"x{k}"]
            k += 1
        table["inputs"] = names
    else:
        table["inputs"] = widths[0]
    for layer, units in zip(table["layers"], widths[1:]):
        if _plain(layer)["units"] != units:
            layer["units"] = units
    if "init" not in document["parameters"]:
        # The new widths' names (they depend on the widths and the naming alone), each given the value
        # of the same place (unit j, input k) in the old layer it keeps, or a fresh one.
        kinds = [old.layers[m].bias if m is not None else "per_unit" for m in keep]  # each layer keeps its kind
        new_network = LayeredNetwork(tuple(f"x{k}" for k in range(1, widths[0] + 1)),
                                     tuple(Layer(units, NO_ACTIVATION, bias=kind)
                                           for units, kind in zip(widths[1:], kinds)), old.loss, old.naming)
        values, rows, biases = problem.parameters, weight_rows(old), bias_names(old)
        new = {}
        for n, (new_rows, new_biases) in enumerate(zip(weight_rows(new_network), bias_names(new_network))):
            m = keep[n]
            for j, row in enumerate(new_rows):
                for k, weight in enumerate(row):
                    fits = m is not None and j < len(rows[m]) and k < len(rows[m][j])
                    new[weight] = values[rows[m][j][k]] if fits else _fresh("w", n, j, k)
            for j, bias in enumerate(new_biases):  # one per unit, one for the layer, or none
                fits = m is not None and j < len(biases[m])
                new[bias] = values[biases[m][j]] if fits else _fresh("b", n, j)
        _write_parameters(document, new_network, new)
    data = document["data"]
    for key, width, fill in (("x", widths[0], lambda i: abs(_fresh("x", i)) * 2), ("t", widths[-1], lambda i: 0)):
        rows = data[key]
        samples = rows if rows and isinstance(rows[0], list) else [rows]
        for sample in samples:
            while len(sample) > width:
                sample.pop()
            while len(sample) < width:
                sample.append(round(fill(len(sample)), 2))
