"""The backward pass of an LSTM or a GRU layer in matrix form: backpropagation through time, a step at a time
from the last back, the gates stacked as PyTorch stacks them (i, f, g, o; r, z, n).

    dL/dh_t       the layer above's share at the last step; below it W_hh^T delta^h_{t+1} (plus a GRU's
                  z_{t+1} (.) dL/dh_{t+1}, its direct path)
    dL/dc_t       dL/dh_t (.) dh_t/dc_t + dL/dc_{t+1} (.) f_{t+1}                                   (LSTM)
    gates         each gate's gradient, the node reading it times its recorded local partial, stacked
    delta_t       the gates' gradients (.) their activations' derivatives, the recorded local partials of a
                  gate in its bias (a GRU's n in b_hn carries r_t: delta^h, the hidden side's)
    weights       dL/dW_hh = sum_t delta^h_t h_{t-1}^T, dL/dW_ih = sum_t delta_t x_t^T, dL/db = sum_t delta_t

Every number is a record: a product not recorded is written with its factors, and the next number shown is a
record (the step's adjoints, the weights' gradients).
"""

from __future__ import annotations

from ..problem.kinds import KINDS
from .derivation_backward import bracketed, chain
from .derivation_kinds_grids import KindsLayer
from .document import Math, Paragraph
from .matrices import bmatrix

# each gate's gradient in symbols, by the node that reads it (t the step)
GATE_GRADIENTS = {
    "i": r"\frac{{\partial L}}{{\partial c_{{{t}}}}} \odot g_{{{t}}}",
    "f": r"\frac{{\partial L}}{{\partial c_{{{t}}}}} \odot c_{{{s}}}",
    "g": r"\frac{{\partial L}}{{\partial c_{{{t}}}}} \odot i_{{{t}}}",
    "o": r"\frac{{\partial L}}{{\partial h_{{{t}}}}} \odot \tanh(c_{{{t}}})",
    "r": r"\frac{{\partial L}}{{\partial n_{{{t}}}}} \odot \frac{{\partial n_{{{t}}}}}{{\partial r_{{{t}}}}}",
    "z": r"\frac{{\partial L}}{{\partial h_{{{t}}}}} \odot (h_{{{s}}} - n_{{{t}}})",
    "n": r"\frac{{\partial L}}{{\partial h_{{{t}}}}} \odot (1 - z_{{{t}}})",
}

# each gate's activation's derivative at its pre-activation (problem/kinds/recurrent.py: sigma for i, f, o, r, z;
# tanh for an LSTM's g and a GRU's n)
DERIVATIVES = {gate: r"\sigma'(\cdot)" for gate in "ifozr"} | {gate: r"\tanh'(\cdot)" for gate in "gn"}


class GatedBackward:
    """Mixed into the matrix form of a stack (derivation_matrix_kinds_more.py): uses its trace, names, matrix,
    column, laid and gradient_of."""

    def gate_stack(self, layer: KindsLayer, side: str, record: str = "initial", transpose: bool = False) -> str:
        """The gates' weights W{side}? (side "i" or "h") or biases b{side}? stacked as PyTorch's, one block of
        rows per gate; their initial values, or with record "adjoints" the sample's gradients."""
        n, gates = layer.number, KINDS[layer.type].gates
        tensors = {t.name: t for t in layer.tensors}
        blocks = [tensors[f"{side}{gate}{n}"] for gate in gates]
        names = [name for t in blocks for name in t.names]
        rows = sum(t.shape[0] for t in blocks)
        columns = len(names) // rows
        if record == "adjoints":
            value = lambda name: self.n(self.trace.adjoints[name])  # noqa: E731
        else:
            value = lambda name: self.n(getattr(self.solution.parameters[name], record))  # noqa: E731
        if transpose:
            return self.matrix(columns, rows, lambda i, j: value(names[j * columns + i]))
        return self.matrix(rows, columns, lambda i, j: value(names[i * columns + j]))

    def step_nodes(self, layer: KindsLayer, letter: str, t: int) -> list[str]:
        return self.names(f"{letter}{layer.number}", 1, layer.layer.setting("hidden"), t)

    def gate_nodes(self, layer: KindsLayer, t: int) -> list[str]:
        return [name for gate in KINDS[layer.type].gates for name in self.step_nodes(layer, gate, t)]

    def slopes(self, layer: KindsLayer, t: int, side: str) -> str:
        """Each gate node's recorded local partial in its bias b{side}?: its activation's derivative (a GRU's
        candidate in b_hn also carries r_t), stacked."""
        n, hidden = layer.number, layer.layer.setting("hidden")
        entries = [self.trace.partials[f"{gate}{n}[{t},{j + 1}]"][f"b{side}{gate}{n}[{j + 1}]"]
                   for gate in KINDS[layer.type].gates for j in range(hidden)]
        return self.matrix(len(entries), 1, lambda i, j: self.n(entries[i]))

    def delta(self, layer: KindsLayer, t: int, side: str) -> str:
        """delta_t as its factors: the gates' gradients (.) their slopes."""
        return rf"\left({self.column(self.gate_nodes(layer, t), 'adjoints')} \odot {self.slopes(layer, t, side)}\right)"

    def reader(self, layer: KindsLayer, name: str, t: int) -> str:
        """The node of step t that reads a gate node (c_t, h_t or a GRU's n_t)."""
        n, unit = layer.number, name[name.index(",") + 1:-1]
        for letter in "cnh":
            candidate = f"{letter}{n}[{t},{unit}]"
            if candidate != name and name in self.trace.partials.get(candidate, {}):
                return candidate
        raise KeyError(name)

    def gated_backward(self, layer: KindsLayer) -> list | None:
        n, kind = layer.number, KINDS[layer.type]
        steps, features = layer.layer.shape_in
        gates = kind.gates
        if f"bi{gates[0]}{n}" not in {t.name for t in layer.tensors}:
            return None  # no bias, no recorded slope: the course-style form's entry-by-entry sums
        lstm = "c" in kind.states
        last_only = layer.layer.setting("return") == "last"
        trace = self.trace
        letters = ", ".join(gates)
        g_t = lambda t: bmatrix(len(gates), 1, lambda i, j: f"{gates[i]}_{{{t}}}")  # noqa: E731
        hidden_side = "" if lstm else "^h"
        intro = ["Backpropagation through time, a step at a time from the last back, the gates stacked as PyTorch "
                 f"stacks them ({letters}). ", Math(r"\delta_t"), " is the gradient of the gates' pre-activations: "
                 "each gate's gradient times its activation's derivative, the recorded local partial of the gate in "
                 "its bias"]
        if not lstm:
            intro += ["; on the hidden side the candidate's rows also carry ", Math("r_t"), ", as it reads ",
                      Math(r"r_t \odot (W_{hn} h_{t-1} + b_{hn})"), ": that is ", Math(r"\delta^h_t")]
        blocks: list = [Paragraph((*intro, ":"))]
        for t in range(steps, 0, -1):
            blocks.append(Paragraph((f"Step {t}:",)))
            h_t = self.step_nodes(layer, "h", t)
            dh = rf"\frac{{\partial L}}{{\partial h_{{{t}}}}}"
            if t == steps or not last_only:
                words = "from the layer above" if t == steps else "from the layer above and from step t + 1"
                blocks.append(Paragraph((f"{words[0].upper()}{words[1:]}:",)))
                blocks.append(chain(dh, [self.column(h_t, "adjoints")], f"mk{n}-dh{t}"))
            else:
                symbols = rf"W_{{hh}}^\top \delta{hidden_side}_{{{t + 1}}}"
                numbers = f"{self.gate_stack(layer, 'Wh', transpose=True)} {self.delta(layer, t + 1, 'h')}"
                if not lstm:  # h_{t+1} reads h_t also directly, through z_{t+1}
                    after = self.step_nodes(layer, "h", t + 1)
                    direct = self.matrix(len(h_t), 1, lambda i, j: self.n(trace.partials[after[i]][h_t[i]]))
                    symbols = rf"z_{{{t + 1}}} \odot \frac{{\partial L}}{{\partial h_{{{t + 1}}}}} + " + symbols
                    numbers = rf"{direct} \odot {self.column(after, 'adjoints')} + " + numbers
                blocks.append(chain(dh, [symbols, numbers, self.column(h_t, "adjoints")], f"mk{n}-dh{t}"))
            if lstm:
                c_t = self.step_nodes(layer, "c", t)
                through_h = self.matrix(len(c_t), 1, lambda i, j: self.n(trace.partials[h_t[i]][c_t[i]]))
                symbols = rf"{dh} \odot o_{{{t}}} \odot \left(1 - \tanh^2(c_{{{t}}})\right)"
                numbers = rf"{self.column(h_t, 'adjoints')} \odot {through_h}"
                if t < steps:
                    c_next = self.step_nodes(layer, "c", t + 1)
                    kept = self.matrix(len(c_t), 1, lambda i, j: self.n(trace.partials[c_next[i]][c_t[i]]))
                    symbols += rf" + \frac{{\partial L}}{{\partial c_{{{t + 1}}}}} \odot f_{{{t + 1}}}"
                    numbers += rf" + {self.column(c_next, 'adjoints')} \odot {kept}"
                blocks.append(chain(rf"\frac{{\partial L}}{{\partial c_{{{t}}}}}",
                                    [symbols, numbers, self.column(c_t, "adjoints")], f"mk{n}-dc{t}"))
            nodes = self.gate_nodes(layer, t)
            readers = [self.reader(layer, name, t) for name in nodes]
            factors = self.matrix(len(nodes), 1, lambda i, j: rf"{bracketed(self.n(trace.adjoints[readers[i]]))} "
                                  rf"\cdot {bracketed(self.n(trace.partials[readers[i]][nodes[i]]))}")
            symbols = bmatrix(len(gates), 1, lambda i, j: GATE_GRADIENTS[gates[i]].format(t=t, s=t - 1))
            blocks.append(chain(rf"\frac{{\partial L}}{{\partial {g_t(t)}}}", [symbols, factors,
                                                                               self.column(nodes, "adjoints")],
                                f"mk{n}-dgates{t}"))
            derivatives = bmatrix(len(gates), 1, lambda i, j: DERIVATIVES[gates[i]])
            blocks.append(chain(rf"\delta_{{{t}}}", [rf"\frac{{\partial L}}{{\partial {g_t(t)}}} \odot {derivatives}",
                                                     self.delta(layer, t, "i")], f"mk{n}-delta{t}"))
            if not lstm:
                blocks.append(chain(rf"\delta^h_{{{t}}}", [self.delta(layer, t, "h")], f"mk{n}-deltah{t}"))
        blocks.append(Paragraph(("The weights are shared by every step: each gradient is a sum over the steps of "
                                 "outer products, each term with its factors, the sum the records' gradient:",)))
        for side, symbol, source in (("h", "h_{t-1}", lambda t: self.step_nodes(layer, "h", t - 1)),
                                     ("i", "x_t", lambda t: layer.inputs[(t - 1) * features:t * features])):
            mark = hidden_side if side == "h" else ""
            terms = " + ".join(f"{self.delta(layer, t, side)} {self.laid(source(t), 1, len(source(t)))}"
                               for t in range(1, steps + 1))
            blocks.append(chain(rf"\frac{{\partial L}}{{\partial W_{{{side}h}}}}" if side == "h" else
                                r"\frac{\partial L}{\partial W_{ih}}", [
                rf"\sum_{{t=1}}^{{{steps}}} \delta{mark}_t {symbol}^\top", terms,
                self.gate_stack(layer, f"W{side}", "adjoints")], f"mk{n}-dW{side}h"))
        for side in "ih":
            mark = hidden_side if side == "h" else ""
            blocks.append(chain(rf"\frac{{\partial L}}{{\partial b_{{{side}h}}}}", [
                rf"\sum_{{t=1}}^{{{steps}}} \delta{mark}_t",
                " + ".join(self.delta(layer, t, side) for t in range(1, steps + 1)),
                self.gate_stack(layer, f"b{side}", "adjoints")], f"mk{n}-db{side}h"))
        if self.writes_input(layer):
            blocks.append(Paragraph(("Each step's input, read by that step's gates:",)))
            for t in range(1, steps + 1):
                x_t = layer.inputs[(t - 1) * features:t * features]
                blocks.append(chain(rf"\frac{{\partial L}}{{\partial x_{{{t}}}}}", [
                    rf"W_{{ih}}^\top \delta_{{{t}}}", f"{self.gate_stack(layer, 'Wi', transpose=True)} "
                    f"{self.delta(layer, t, 'i')}", self.column(x_t, "adjoints")], f"mk{n}-dx{t}"))
        return blocks
