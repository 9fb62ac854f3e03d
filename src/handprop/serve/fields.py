"""What the page's Fields tab draws for a problem: groups of fields, each named by its path in form.py.

A group has a title, and any of: `fields` (a row of labelled inputs), `tables` (a grid: the layers, a layer's
weights and biases unit by unit, the samples) and a `note`. A field is {id, label, type, value} with
`options` for a choice; `type` is number, integer, choice, switch or action.
"""

from __future__ import annotations

from .form import MAX_FORM_CELLS


def _shown(value) -> str:
    """A value as the text a person types: 1 for 1.0, else the shortest text that reads back exactly."""
    if isinstance(value, bool):
        return "true" if value else "false"
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def _field(id: str, label: str, type: str = "number", value="", **extra) -> dict:
    shown = value if isinstance(value, str) else _shown(value)
    return {"id": id, "label": label, "type": type, "value": shown, **extra}


def fields(problem, raw: dict) -> list[dict]:
    """The page's groups of fields for a problem (validated) and its parsed text.

    >>> from handprop.problem.files import example_path, parse_text
    >>> from handprop.serve.tasks import load_text
    >>> text = example_path("homework").read_text()
    >>> groups = fields(load_text(text), parse_text(text, "toml", "hw"))
    >>> [group["title"] for group in groups]
    ['Network', 'Optimizer', 'Parameters', 'Data']
    >>> [cell["label"] for cell in groups[2]["tables"][0]["rows"][0]["cells"]]
    ['w1', 'w2', 'b1']
    """
    if problem.stack is not None:
        network = {"title": "Network", "note": "A network of layer kinds (" + ", ".join(
            layer.type for layer in problem.stack.layers) + "): its layers are edited in the Text tab."}
    elif problem.network is None:
        network = {"title": "Network", "note": "The equations form: its network is its equations, edited in the "
                                               "Text tab."}
    else:
        network = _network(problem.network)
    groups = [network]
    groups += [_optimizer(problem.optimizer), _parameters(problem, raw), _data(problem, raw)]
    return groups


def _network(network) -> dict:
    from ..core.ops import ACTIVATIONS, OPS
    from ..problem.layered import LOSSES

    rows = []
    last = len(network.layers) - 1
    # A column for each setting the layers' activations have (an alpha, say), when one has it.
    settings = list(dict.fromkeys(name for layer in network.layers for name, _ in layer.params))
    for n, layer in enumerate(network.layers):
        where = f"network.layers.{n}"
        cells = [_field(f"{where}.units", "units", "integer", layer.units),
                 _field(f"{where}.activation", "activation", "choice", layer.activation, options=list(ACTIVATIONS))]
        params = {p.name: p for p in OPS[layer.activation].params}
        values = dict(layer.params)
        for name in settings:
            param = params.get(name)
            if param is None:
                cells.append(None)
            elif param.choices:
                cells.append(_field(f"{where}.{name}", name, "choice", values[name], options=list(param.choices)))
            else:
                cells.append(_field(f"{where}.{name}", name, value=values[name]))
        if last:
            cells.append(None if n == last else _field(f"{where}.remove", "remove", "action",
                                                       title="remove this hidden layer"))
        rows.append({"label": "output layer" if n == last else f"hidden layer {n + 1}", "cells": cells})
    columns = ["units", "activation"] + settings + [""] * bool(last)
    return {"title": "Network", "fields": [
        _field("network.inputs", "inputs", "integer", len(network.inputs)),
        _field("network.loss", "loss", "choice", network.loss, options=list(LOSSES)),
        _field("network.layers.add", "add a hidden layer", "action", title="a hidden layer before the output layer"),
    ], "tables": [{"caption": "Layers", "columns": columns, "rows": rows}]}


def _optimizer(optimizer) -> dict:
    from ..core.optim import OPTIMIZERS

    shown = [_field("optimizer.name", "optimizer", "choice", optimizer.name, options=list(OPTIMIZERS)),
             _field("optimizer.lr", "learning rate", value=optimizer.lr),
             _field("optimizer.steps", "steps", "integer", optimizer.steps)]
    for key, default in OPTIMIZERS[optimizer.name].items():
        value = optimizer.option(key)
        if isinstance(default, bool):
            shown.append(_field(f"optimizer.{key}", key, "switch", value))
        elif isinstance(default, tuple):
            shown += [_field(f"optimizer.{key}.{i}", f"{key}[{i}]", value=v) for i, v in enumerate(value)]
        else:
            shown.append(_field(f"optimizer.{key}", key, value=value))
    return {"title": "Optimizer", "fields": shown}


def _parameters(problem, raw: dict) -> dict:
    group = {"title": "Parameters"}
    table = raw.get("parameters") if isinstance(raw.get("parameters"), dict) else {}
    if "init" in table:
        group["note"] = (f"Drawn by init = \"{table['init']}\"; editing one writes every value out in the text.")
    if len(problem.parameters) > MAX_FORM_CELLS:
        group["note"] = f"{len(problem.parameters):,} parameters: too many to draw here; edit them in the text."
        return group
    values = problem.parameters
    network = problem.network
    if problem.stack is not None:
        group["tables"] = [table for tensor in problem.stack.tensors() for table in _tensor_tables(tensor, values)]
        return group
    if network is None:
        group["fields"] = [_field(f"parameter.{name}", name, value=value) for name, value in values.items()]
        return group
    from ..problem.layered import bias_names, unit_names, weight_rows

    tables = []
    inputs = list(network.inputs)
    for n, (rows, biases, units) in enumerate(zip(weight_rows(network), bias_names(network), unit_names(network))):
        tables.append({
            "caption": f"Layer {n + 1}: into {units[0][0]}..{units[-1][0]}" if len(units) > 1
            else f"Layer {n + 1}: into {units[0][0]}",
            "columns": inputs + ["bias"],
            "rows": [{"label": pre, "cells": [_field(f"parameter.{w}", w, value=values[w]) for w in row]
                      + [_field(f"parameter.{b}", b, value=values[b])]}
                     for row, b, (pre, _) in zip(rows, biases, units)]})
        inputs = [post for _, post in units]
    group["tables"] = tables
    return group


def _tensor_tables(tensor, values: dict) -> list[dict]:
    """A parameter tensor as tables of fields: one per matrix of its last two axes (a kernel K1[o,c] as its rows
    and columns), a vector as one row."""
    from itertools import product

    shape = tensor.shape
    rows, columns = (shape[-2], shape[-1]) if len(shape) >= 2 else (1, shape[0])
    tables = []
    for lead in product(*(range(1, n + 1) for n in shape[:-2])):
        def name(i: int, j: int) -> str:
            index = (*lead, i, j) if len(shape) >= 2 else (j,)
            return f"{tensor.name}[{','.join(map(str, index))}]"

        caption = tensor.name + (f"[{','.join(map(str, lead))}]" if lead else "")
        tables.append({"caption": caption, "columns": [str(j) for j in range(1, columns + 1)],
                       "rows": [{"label": str(i) if len(shape) >= 2 else "", "cells": [
                           _field(f"parameter.{name(i, j)}", name(i, j), value=values[name(i, j)])
                           for j in range(1, columns + 1)]} for i in range(1, rows + 1)]})
    return tables


def _data(problem, raw: dict) -> dict:
    group = {"title": "Data"}
    names = list(problem.data)
    if len(names) * problem.batch_size > MAX_FORM_CELLS:
        group["note"] = (f"{problem.batch_size:,} samples of {len(names)} values: too many to draw here; "
                         "edit them in the text.")
        return group
    table = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    layered = problem.network is not None or problem.stack is not None  # x and t, one row per sample
    constants = [] if layered else [name for name in names if not isinstance(table.get(name), list)]
    listed = [name for name in names if name not in constants]
    if constants:
        group["fields"] = [_field(f"data.{name}", name, value=problem.data[name][0]) for name in constants]
    several = problem.batch_size > 1
    if listed:
        group["tables"] = [{"caption": "Inputs and targets" if layered else "Samples",
                            "columns": listed + [""] * several,
                            "rows": [{"label": f"sample {k + 1}",
                                      "cells": [_field(f"data.{name}.{k}", name, value=problem.data[name][k])
                                                for name in listed]
                                      + [_field(f"samples.{k}.remove", "remove", "action",
                                                title="remove this sample")] * several}
                                     for k in range(problem.batch_size)]}]
    group["fields"] = group.get("fields", []) + [
        _field("samples.add", "add a sample", "action", title="a copy of the last sample, at the end")]
    return group
