"""Recurrent layer kinds, unrolled over the sequence: rnn (Elman), lstm and gru, as nn.RNN, nn.LSTM and nn.GRU
(one layer, batch_first=True) compute them, with both of PyTorch's biases and its gate order.

A sample is a sequence x[t,f] (t = 1..T steps, f = 1..F features); layer n's hidden state at step t is h{n}[t,j]
(j = 1..H), its initial state h{n}[0,j]. Each gate's pre-activation is written as PyTorch's documentation writes it,

    W_i?[j,:] x[t,:] + b_i?[j] + W_h?[j,:] h[t-1,:] + b_h?[j]          (? the gate: h, or i f g o, or r z n)

and the recurrences are (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU):

    rnn    h[t] = tanh(pre_h)            (or relu, nonlinearity = "relu")
    lstm   i[t] = sigmoid(pre_i)   f[t] = sigmoid(pre_f)   g[t] = tanh(pre_g)   o[t] = sigmoid(pre_o)
           c[t] = f[t] c[t-1] + i[t] g[t]        h[t] = o[t] tanh(c[t])
    gru    r[t] = sigmoid(pre_r)   z[t] = sigmoid(pre_z)
           n[t] = tanh(W_in x[t] + b_in + r[t] (W_hn h[t-1] + b_hn))
           h[t] = (1 - z[t]) n[t] + z[t] h[t-1]

The tensors are named as PyTorch's documentation names them, one per gate: Wii1[j,k] is the input weight of gate i
(W_ii), Whf1[j,k] the hidden weight of gate f (W_hf), bii1[j] and bhi1[j] its two biases; an Elman layer's are Wih1,
Whh1, bih1, bhh1. Gate number q (0-based, in the order above) of H units is rows q*H .. q*H + H - 1 of torch's
stacked weight_ih_l0, weight_hh_l0, bias_ih_l0 and bias_hh_l0.

>>> from handprop.problem.spec import from_dict
>>> problem = from_dict({"network": {"input_shape": [2, 1], "layers": [{"type": "rnn", "hidden": 1}], "loss": "mse"},
...                      "parameters": {"Wih1": [[0.5]], "Whh1": [[-1.0]], "bih1": [0.0], "bhh1": [0.0]},
...                      "data": {"x": [[1.0], [2.0]], "t": [0.0]}})
>>> [equation.target for equation in problem.program.equations]
['h1[1,1]', 'h1[2,1]', 'L']
"""

from __future__ import annotations

from ...core.program import Apply, Const, Expr, Ref
from .base import Grid, Kind, StackLayer, Tensor, TorchModule, describe_shape, equation, grid_names, times, total

MAX_HIDDEN = 100_000
RETURNS = ("last", "all")
NONLINEARITIES = ("tanh", "relu")
GATE_ACTIVATIONS = {"i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid", "r": "sigmoid", "z": "sigmoid"}


def _bias(check, entry: dict, where: str) -> bool:
    """bias = "per_unit" (b_ih and b_hh, one per unit of each gate: the default) or "none"; true and false as
    PyTorch's bias=."""
    value = entry.get("bias", "per_unit")
    if isinstance(value, bool):
        return value
    if value in ("per_unit", "none"):
        return value == "per_unit"
    raise check.fail(f"{where}: bias", f"is {value!r}",
                     "\"per_unit\" (b_ih and b_hh, one per unit of each gate) or \"none\"")


def _depth(value) -> int:
    depth = 0
    while isinstance(value, list) and value:
        value, depth = value[0], depth + 1
    return depth


def _state(check, value, where: str, hidden: int, n: int) -> list:
    """One initial state: H numbers."""
    numbers = check.vector(value, where)
    if len(numbers) != hidden:
        raise check.fail(where, f"{len(numbers)} number{'s' * (len(numbers) != 1)}",
                         f"{hidden}, one per hidden unit of layer {n}")
    return numbers


def _over_steps(letter: str, n: int, steps: int, hidden: int) -> Grid:
    """A node at every step, 0 (the initial state's) to T: letter{n}[t,j], t the row, j from 1."""
    return Grid((steps + 1, hidden), tuple(f"{letter}{n}[{t},{j}]" for t in range(steps + 1)
                                           for j in range(1, hidden + 1)))


class Recurrent(Kind):
    """A recurrent layer: its gates (each with its input and hidden weights and two biases), unrolled step by step."""

    keys = ("hidden", "return", "bias")
    prefix = "h"
    gates: tuple = ()  # in PyTorch's order: its rows of the stacked weights
    states = ("h",)  # the states carried from step to step, each with its initial value in [data]
    nodes: tuple = ()  # the gates' own nodes at each step (an Elman layer's one "gate" is h itself)

    def read(self, check, entry, where, shape):
        if len(shape) != 2:
            raise check.fail(where, f"{self.words} takes a sequence (T, F), but its input is {describe_shape(shape)}",
                             "input_shape = [T, F]: T steps of F features (or a recurrent layer with return = \"all\" "
                             "before it)")
        if "hidden" not in entry:
            raise check.fail(where, "hidden missing", "hidden = the number of hidden units")
        hidden = check.integer(entry["hidden"], f"{where}: hidden", 1, MAX_HIDDEN)
        returned = check.text(entry.get("return", "last"), f"{where}: return")
        if returned not in RETURNS:
            raise check.fail(f"{where}: return", f"is {returned!r}",
                             "\"last\" (the last step's hidden state) or \"all\" (every step's)")
        settings = {"hidden": hidden, "return": returned, "bias": _bias(check, entry, where)}
        return settings, ((hidden,) if returned == "last" else (shape[0], hidden))

    def data_keys(self, layer, n):
        return tuple(f"{state}0_{n}" for state in self.states)

    def data_names(self, layer, n):
        return tuple(f"{state}{n}[0,{j}]" for state in self.states for j in range(1, layer.setting("hidden") + 1))

    def read_data(self, check, layer, n, table, samples):
        """The initial states: 0 unless given as one vector of H numbers (every sample's) or a list of one such
        vector per sample (torch's h_0[0, s, :])."""
        hidden = layer.setting("hidden")
        found = {}
        for state, key in zip(self.states, self.data_keys(layer, n)):
            value, where = table.get(key), f"data.{key}"
            if value is None:
                rows = [[0.0] * hidden] * samples
            elif _depth(value) == 2:
                if len(value) != samples:
                    raise check.fail(where, f"{len(value)} initial states for {samples} sample{'s' * (samples != 1)}",
                                     f"one vector of {hidden} (every sample's), or one such vector per sample")
                rows = [_state(check, row, f"{where}: sample {k}", hidden, n) for k, row in enumerate(value, 1)]
            else:
                rows = [_state(check, value, where, hidden, n)] * samples
            found.update((f"{state}{n}[0,{j + 1}]", tuple(row[j] for row in rows)) for j in range(hidden))  # data_names
        return found

    def tensors(self, layer, n):
        hidden, features = layer.setting("hidden"), layer.shape_in[1]
        # torch's reset_parameters draws every weight and bias from U(-1/sqrt(H), 1/sqrt(H)): fan_in = H makes
        # init = "uniform" that distribution.
        found = [Tensor(f"Wi{gate}{n}", (hidden, features), hidden, hidden) for gate in self.gates]
        found += [Tensor(f"Wh{gate}{n}", (hidden, hidden), hidden, hidden) for gate in self.gates]
        if layer.setting("bias"):
            found += [Tensor(f"b{side}{gate}{n}", (hidden,), hidden, hidden, bias=True)
                      for side in "ih" for gate in self.gates]
        return found

    def lower(self, layer, n, x, parameters, prefix):
        steps, hidden = layer.shape_in[0], layer.setting("hidden")
        nodes = {letter: _over_steps(letter, n, steps, hidden) for letter in self.states + self.nodes}
        equations = []
        for t in range(1, steps + 1):
            equations += self.step(layer, n, t, x, parameters, nodes)
        # Its output is its hidden states themselves, h{n}[T,j] (or every step's h{n}[t,j]), also as the last layer:
        # no equation copies them to o or y, and the prefix is not used.
        h = nodes["h"]
        if layer.setting("return") == "last":
            return equations, Grid((hidden,), tuple(h.at(steps, j) for j in range(hidden)))
        return equations, Grid((steps, hidden), h.names[hidden:])

    def part(self, parameters: dict, side: str, gate: str, n: int, j: int, source: Grid, row: int) -> list:
        """W_{side gate}[j,:] source[row,:] + b_{side gate}[j]: one side of a gate's pre-activation, as terms."""
        weights, bias = parameters[f"W{side}{gate}{n}"], parameters.get(f"b{side}{gate}{n}")
        terms = [times(weights.at(j, k), source.at(row, k)) for k in range(weights.shape[1])]
        return terms + ([Ref(bias.at(j))] if bias is not None else [])

    def pre(self, parameters: dict, gate: str, n: int, j: int, t: int, x: Grid, h: Grid) -> Expr:
        """A gate's pre-activation at step t (1-based) for unit j (0-based): its input part, then its hidden part,
        as torch's documentation writes them (W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)."""
        return total(self.part(parameters, "i", gate, n, j, x, t - 1)
                     + self.part(parameters, "h", gate, n, j, h, t - 1))

    def gate(self, parameters: dict, gate: str, n: int, t: int, x: Grid, nodes: dict, hidden: int) -> list:
        """A gate's nodes at step t: its activation of its pre-activation, one equation per unit."""
        return [equation(nodes[gate].at(t, j), Apply(GATE_ACTIVATIONS[gate], (self.pre(parameters, gate, n, j, t, x,
                                                                                        nodes["h"]),)))
                for j in range(hidden)]

    def step(self, layer: StackLayer, n: int, t: int, x: Grid, parameters: dict, nodes: dict) -> list:
        """Step t's equations (t from 1): its gates, unit by unit, then its states."""
        raise NotImplementedError

    def torch_modules(self, layer, n):
        """handprop.pytorch.modules.Recurrent around nn.RNN / nn.LSTM / nn.GRU (one layer, batch_first): its
        tensors torch's stacked ones, each gate's block of H rows in torch's order; its initial states (h0, and an
        LSTM's c0) None here, given by pytorch/interop.py from [data] (h0_{n}, c0_{n})."""
        hidden, features = layer.setting("hidden"), layer.shape_in[1]
        arguments = {"input_size": features, "hidden_size": hidden, "bias": layer.setting("bias"), "batch_first": True}
        if self.name == "rnn":
            arguments["nonlinearity"] = layer.setting("nonlinearity")
        rows = len(self.gates) * hidden
        # torch's attribute, handprop's tensor of each gate (W or b, then the side, the gate, n), one gate's shape
        parts = [("weight_ih_l0", "Wi", (hidden, features)), ("weight_hh_l0", "Wh", (hidden, hidden))]
        if layer.setting("bias"):
            parts += [("bias_ih_l0", "bi", (hidden,)), ("bias_hh_l0", "bh", (hidden,))]
        tensors = tuple((f"module.{attribute}", (rows, *shape[1:]),
                         tuple(name for gate in self.gates for name in grid_names(f"{tensor}{gate}{n}", shape)))
                        for attribute, tensor, shape in parts)
        states = {f"{state}0": None for state in self.states}
        return [TorchModule("handprop.Recurrent", {"module": TorchModule(self.name.upper(), arguments),
                                                   "return_": layer.setting("return"), **states}, tensors)]

    def terms(self, layer):
        # each gate's pre-activation for one unit: F + H products and as many sums with its two biases, then its
        # activation; and a few more for the states (an LSTM's cell, a GRU's blend)
        steps, features, hidden = layer.shape_in[0], layer.shape_in[1], layer.setting("hidden")
        return steps * hidden * (len(self.gates) * (2 * (features + hidden + 2) + 1) + 6)


class RNN(Recurrent):
    """nn.RNN: h[t,j] = tanh (or relu) of its pre-activation."""

    name = "rnn"
    keys = Recurrent.keys + ("nonlinearity",)
    gates = ("h",)
    words = "a recurrent (Elman) layer"

    def read(self, check, entry, where, shape):
        settings, out = super().read(check, entry, where, shape)
        nonlinearity = check.text(entry.get("nonlinearity", "tanh"), f"{where}: nonlinearity")
        if nonlinearity not in NONLINEARITIES:
            raise check.fail(f"{where}: nonlinearity", f"is {nonlinearity!r}", "\"tanh\" or \"relu\", as nn.RNN")
        settings["nonlinearity"] = nonlinearity
        return settings, out

    def step(self, layer, n, t, x, parameters, nodes):
        h = nodes["h"]
        return [equation(h.at(t, j), Apply(layer.setting("nonlinearity"), (self.pre(parameters, "h", n, j, t, x, h),)))
                for j in range(layer.setting("hidden"))]


class LSTM(Recurrent):
    """nn.LSTM: the gates i, f, g, o, then the cell state c and the hidden state h."""

    name = "lstm"
    gates = ("i", "f", "g", "o")
    nodes = gates
    states = ("h", "c")
    words = "an LSTM layer"

    def step(self, layer, n, t, x, parameters, nodes):
        hidden = layer.setting("hidden")
        i, f, g, o, c, h = (nodes[letter] for letter in "ifgoch")
        equations = [made for gate in self.gates for made in self.gate(parameters, gate, n, t, x, nodes, hidden)]
        equations += [equation(c.at(t, j), Apply("add", (times(f.at(t, j), c.at(t - 1, j)), times(i.at(t, j),
                                                                                                   g.at(t, j)))))
                      for j in range(hidden)]
        equations += [equation(h.at(t, j), Apply("mul", (o.ref(t, j), Apply("tanh", (c.ref(t, j),)))))
                      for j in range(hidden)]
        return equations


class GRU(Recurrent):
    """nn.GRU: the gates r and z, the candidate n (r scales n's hidden part, its bias b_hn inside), then h."""

    name = "gru"
    gates = ("r", "z", "n")
    nodes = gates
    words = "a GRU layer"

    def step(self, layer, n, t, x, parameters, nodes):
        hidden = layer.setting("hidden")
        r, z, candidate, h = (nodes[letter] for letter in "rznh")
        equations = self.gate(parameters, "r", n, t, x, nodes, hidden) + self.gate(parameters, "z", n, t, x, nodes,
                                                                                    hidden)
        for j in range(hidden):
            reset = Apply("mul", (r.ref(t, j), total(self.part(parameters, "h", "n", n, j, h, t - 1))))
            pre = total(self.part(parameters, "i", "n", n, j, x, t - 1) + [reset])
            equations.append(equation(candidate.at(t, j), Apply("tanh", (pre,))))
        for j in range(hidden):  # h = (1 - z) n + z h_prev, as torch's documentation writes it
            kept = Apply("mul", (Apply("sub", (Const(1.0), z.ref(t, j))), candidate.ref(t, j)))
            equations.append(equation(h.at(t, j), Apply("add", (kept, Apply("mul", (z.ref(t, j), h.ref(t - 1, j)))))))
        return equations


KINDS = {kind.name: kind for kind in (RNN(), LSTM(), GRU())}
