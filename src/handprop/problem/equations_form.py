"""The equations form, checked: [network] equations (with loss and outputs), [parameters] as name = number,
[data] as name = number or one number per sample, inline or from a CSV file's columns."""

from __future__ import annotations

import re

from . import data_files
from .checks import Checker
from .checks import MAX_NAME_LENGTH
from .files import describe

KEYS = ("equations", "loss", "outputs")


def program(check: Checker, network: dict, parameters_table: dict, data_table: dict, text: str | None,
            folder: str | None):
    """The equations form's program, parameters and data: the equations parsed against the names given."""
    check.keys(network, "network", KEYS)
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
    inline = {name: value for name, value in data_table.items() if name not in ("file",) + data_files.TRAINING_KEYS}
    for name in ("inputs", "targets", "label"):
        value = inline.get(name)
        if isinstance(value, str) or isinstance(value, list) and any(isinstance(v, str) for v in value):
            raise check.fail(f"data.{name}", f"{name} names columns for a layered network",
                             "in the equations form each data name is read from the column of the same name")
    if "file" in data_table:
        read = [name for name in data_files.names_read(source) if name not in parameters and name not in inline]
        data_files.check_data_file(check, data_table["file"], folder)
        data, rows = data_files.equations_data(check, data_table["file"], read, folder)
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
    offset = equations_line(text)
    from .equations import parse_equations  # with the ast module: only for equations

    program = parse_equations(source, parameters=list(parameters), data=list(data), loss=loss, outputs=outputs,
                              file=check.label, line_offset=offset)
    return program, parameters, data


def equations_line(text: str | None) -> int:
    """Line of the file just before the equations text, so errors name the file's own line."""
    if text is None:
        return 0
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"\s*equations\s*=\s*(\"\"\"|''')\s*$", line):
            return number
    return 0
