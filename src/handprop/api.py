"""Problems from Python: a problem's text, or its parts as keyword arguments.

Each builds the same dict a problem file parses to and hands it to problem.from_dict, so a problem made
here is checked exactly as a file is, and its errors name the same places (`network.layers: layer 2`).
"""

from __future__ import annotations

from pathlib import Path

from .problem.files import parse_text
from .problem.spec import Problem, from_dict
from .problem.spec import load as load_file


def load(source: str) -> Problem:
    """Load a problem from a path, an example's name, "-" (standard input), or the problem's own text.

    `source` is taken as text when it is not an existing path and contains a newline, "[" or "=", or
    starts with "{": JSON when it starts with "{", else TOML.

    >>> load("homework").title
    'Machine Learning Homework 1'
    >>> text = '''
    ... [network]
    ... equations = "L = (w*x - t)**2"
    ... [parameters]
    ... w = 0.5
    ... [data]
    ... x = 2.0
    ... t = 1.5
    ... [optimizer]
    ... lr = 0.1
    ... '''
    >>> load(text).parameters
    {'w': 0.5}
    """
    if _is_text(source):
        kind = "json" if source.lstrip().startswith("{") else "toml"
        label = "<text>"
        return from_dict(parse_text(source, kind, label), label=label, text=source if kind == "toml" else None)
    return load_file(source)


def _is_text(source: str) -> bool:
    if not isinstance(source, str) or source == "-":
        return False
    looks_like_text = source.lstrip().startswith("{") or any(mark in source for mark in ("\n", "[", "="))
    if not looks_like_text:
        return False
    try:
        return not Path(source).exists()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL: not a path
        return True


def from_layers(inputs: int | list, layers: list, *, loss: str, weights=None, biases=None, x, t,
                optimizer: str | dict = "sgd", lr: float = 0.1, steps: int = 1, naming: str = "sequential",
                init: str | None = None, seed: int = 0, title: str = "Layered network") -> Problem:
    """A layered network, as a problem file's [network] layers, from Python values.

    layers: each a dict as in a file ({"units": 3, "activation": "relu"}), a (units, activation) pair, or
    a number of units (identity). weights: one flat list w1, w2, ... (sequential naming), or one matrix per
    layer, rows = units, columns = inputs (as torch.nn.Linear.weight); biases: one flat list (sequential),
    or one list per layer. Without weights and biases, `init` names a scheme that draws them (seeded).
    optimizer: a name, or a dict of settings as an [optimizer] section ({"name": "adam", "lr": 0.01}).

    >>> p = from_layers(2, [(3, "relu"), (2, "softmax")], loss="cross_entropy",
    ...                 weights=[0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4],
    ...                 biases=[0.3, 0.3, 0.3, 0.7, 0.7], x=[0.26, 0.33], t=[1, 0], lr=0.5)
    >>> from handprop import solve
    >>> round(solve(p).loss, 4)
    0.644
    """
    network = {"inputs": _plain(inputs), "layers": [_layer(layer) for layer in layers], "loss": loss,
               "naming": naming}
    parameters: dict = {}
    if weights is None and biases is None:
        parameters["init"] = init or "he_uniform"
        parameters["seed"] = seed
    else:
        weights, biases = _plain(weights), _plain(biases)
        if naming == "sequential":
            parameters["w"] = _flat(weights)
            parameters["b"] = _flat(biases)
        else:
            for n, matrix in enumerate(weights or [], 1):
                parameters[f"W{n}"] = matrix
            for n, vector in enumerate(biases or [], 1):
                parameters[f"b{n}"] = vector
    raw = {"title": title, "network": network, "parameters": parameters, "data": {"x": _plain(x), "t": _plain(t)},
           "optimizer": _optimizer(optimizer, lr, steps)}
    return from_dict(raw, label="<from_layers>")


def from_equations(text: str, *, parameters: dict, data: dict, loss: str | None = None, outputs: list | None = None,
                   optimizer: str | dict = "sgd", lr: float = 0.1, steps: int = 1,
                   title: str = "Equations") -> Problem:
    """A problem in the equations form: the equations' text, the parameters' values, the data.

    Each data value is a number or a list with one number per sample.

    >>> p = from_equations("h = w*x + b\\na = sigmoid(h)\\nL = 1/2*(a - t)**2",
    ...                    parameters={"w": 0.5, "b": 0.1}, data={"x": [1.0, 2.0], "t": [0.3, 0.8]}, lr=0.5)
    >>> p.batch_size, p.program.loss
    (2, 'L')
    """
    network: dict = {"equations": text}
    if loss is not None:
        network["loss"] = loss
    if outputs is not None:
        network["outputs"] = list(outputs)
    raw = {"title": title, "network": network, "parameters": {k: _plain(v) for k, v in parameters.items()},
           "data": {k: _plain(v) for k, v in data.items()}, "optimizer": _optimizer(optimizer, lr, steps)}
    return from_dict(raw, label="<from_equations>")


def _optimizer(optimizer: str | dict, lr: float, steps: int) -> dict:
    if isinstance(optimizer, dict):
        table = {key: _plain(value) for key, value in optimizer.items()}
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
        if len(layer) > 2:
            entry["alpha"] = layer[2]
        return entry
    return {"units": layer}


def _plain(value):
    """NumPy arrays and tuples as the lists and numbers a parsed file holds."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _flat(value):
    """A list of per-layer lists flattened, in order; a flat list as it is."""
    if isinstance(value, list) and value and all(isinstance(item, list) for item in value):
        return [number for item in value for number in _flat(item)]
    return value
