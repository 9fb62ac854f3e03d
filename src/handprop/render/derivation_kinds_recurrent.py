"""A recurrent layer (rnn, lstm, gru) in a network of layer kinds' worked solution, as a course writes it.

Forward, step by step in time, each gate as vectors and matrices with the numbers put in (torch's order and
biases, problem/kinds/recurrent.py):

    rnn    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    lstm   i, f, g, o = sigma, sigma, tanh, sigma(W_i? x_t + b_i? + W_h? h_{t-1} + b_h?)
           c_t = f_t (.) c_{t-1} + i_t (.) g_t        h_t = o_t (.) tanh(c_t)
    gru    r, z = sigma(...)    n_t = tanh(W_in x_t + b_in + r_t (.) (W_hn h_{t-1} + b_hn))
           h_t = (1 - z_t) (.) n_t + z_t (.) h_{t-1}

then backpropagation through time: from the last step back, each step's nodes by the chain rule (dL/dh_t gathers
the loss's share and step t+1's), and each weight's gradient as its sum over the steps,

    dL/dW[j,k] = sum_t dL/dm_{t,j} dm_{t,j}/dW[j,k]     (m the gate's node at step t: delta_t h_{t-1}^T, summed)

every factor the engine's recorded adjoint or local partial, every total the recorded gradient.
"""

from __future__ import annotations

from ..problem.kinds import KINDS
from ..problem.kinds.recurrent import GATE_ACTIVATIONS
from .derivation_backward import bracketed, chain
from .derivation_kinds_grids import letter
from .document import Math, Paragraph
from .mathtex import name_latex, partial, to_latex
from .matrices import applied, bmatrix, side_limit

GATE_WORDS = {"i": "the input gate", "f": "the forget gate", "g": "the candidate", "o": "the output gate",
              "r": "the reset gate", "z": "the update gate", "n": "the candidate"}


class RecurrentWriting:
    """Mixed into the kinds builder (derivation_kinds.py): uses its g, trace, n, loss, sum_chain, tensor_chains."""

    # -- pieces -----------------------------------------------------------------------------

    def column(self, names, entry=None) -> str:
        """A column of the names' values (or entry(name))."""
        entry = entry or (lambda name: self.n(self.trace.values[name]))
        return bmatrix(len(names), 1, lambda i, j: entry(names[i]), side_limit(self.g.decimals))

    def matrix_of(self, name: str, rows: int, columns: int | None) -> str:
        """A parameter tensor Wx{n}[j,k] (or a bias, columns None) as a matrix (a column) of its values."""
        most = side_limit(self.g.decimals)
        if columns is None:
            return bmatrix(rows, 1, lambda i, j: self.n(self.trace.values[f"{name}[{i + 1}]"]), most)
        return bmatrix(rows, columns, lambda i, j: self.n(self.trace.values[f"{name}[{i + 1},{j + 1}]"]), most)

    def state(self, letter: str, n: int, t: int, hidden: int) -> tuple:
        return tuple(f"{letter}{n}[{t},{j}]" for j in range(1, hidden + 1))

    def gate_sum(self, layer, gate: str, t: int, reset: bool = False) -> tuple[str, str]:
        """A gate's pre-activation in symbols and with the numbers: W_i? x_t + b_i? + W_h? h_{t-1} + b_h?; a GRU
        candidate's hidden part inside r_t (.) (...)."""
        n = layer.number
        steps, features = layer.layer.shape_in
        hidden, bias = layer.layer.setting("hidden"), layer.layer.setting("bias")
        x = layer.inputs[(t - 1) * features:t * features]
        h = self.state("h", n, t - 1, hidden)
        W = lambda side: rf"W^{{[{n}]}}_{{{side}{gate}}}"  # noqa: E731
        b = lambda side: rf"b^{{[{n}]}}_{{{side}{gate}}}"  # noqa: E731
        x_symbol, h_symbol = rf"x_{{{t}}}", rf"h^{{[{n}]}}_{{{t - 1}}}"
        inner = [f"{W('i')} {x_symbol}"] + ([b("i")] if bias else [])
        inner_numbers = [self.matrix_of(f"Wi{gate}{n}", hidden, features) + " " + self.column(x)]
        inner_numbers += [self.matrix_of(f"bi{gate}{n}", hidden, None)] if bias else []
        outer = [f"{W('h')} {h_symbol}"] + ([b("h")] if bias else [])
        outer_numbers = [self.matrix_of(f"Wh{gate}{n}", hidden, hidden) + " " + self.column(h)]
        outer_numbers += [self.matrix_of(f"bh{gate}{n}", hidden, None)] if bias else []
        if reset:
            r = self.state("r", n, t, hidden)
            return (" + ".join(inner) + rf" + r_{{{t}}} \odot \left({' + '.join(outer)}\right)",
                    " + ".join(inner_numbers) + rf" + {self.column(r)} \odot \left({' + '.join(outer_numbers)}\right)")
        return " + ".join(inner + outer), " + ".join(inner_numbers + outer_numbers)

    # -- forward ----------------------------------------------------------------------------

    def recurrent_forward(self, layer) -> list:
        kind = KINDS[layer.type]
        n = layer.number
        steps = layer.layer.shape_in[0]
        hidden = layer.layer.setting("hidden")
        lstm, gru = "c" in kind.states, "r" in kind.gates
        blocks: list = [Paragraph((f"The sequence is read one step at a time, t = 1 … {steps}, each step's "
                                   "hidden state made from its input ", Math("x_t"), " and the state before it, ",
                                   Math(rf"h^{{[{n}]}}_{{t-1}}"), " (torch's weights and biases, one of each per "
                                   "gate and side). The initial state" + ("s" if lstm else "") + ":"))]
        blocks.append(chain(rf"h^{{[{n}]}}_{{0}}", [self.column(self.state("h", n, 0, hidden))]))
        if lstm:
            blocks.append(chain(rf"c^{{[{n}]}}_{{0}}", [self.column(self.state("c", n, 0, hidden))]))
        for t in range(1, steps + 1):
            blocks.append(Paragraph((f"Step {t}:",)))
            for gate in kind.gates:
                activation = layer.layer.setting("nonlinearity") if not kind.nodes else GATE_ACTIVATIONS.get(
                    gate, GATE_ACTIVATIONS["g"])  # a GRU's candidate is a tanh, as an LSTM's g
                symbols, numbers = self.gate_sum(layer, gate, t, reset=gru and gate == "n")
                target = self.state(gate, n, t, hidden)
                blocks.append(chain(rf"{gate}^{{[{n}]}}_{{{t}}}", [
                    applied(activation, (), symbols), applied(activation, (), numbers), self.column(target)]))
            if lstm:
                c, h = self.state("c", n, t, hidden), self.state("h", n, t, hidden)
                column = {letter: self.column(self.state(letter, n, t, hidden)) for letter in "ifgo"}
                blocks.append(chain(rf"c^{{[{n}]}}_{{{t}}}", [
                    rf"f_{{{t}}} \odot c_{{{t - 1}}} + i_{{{t}}} \odot g_{{{t}}}",
                    rf"{column['f']} \odot {self.column(self.state('c', n, t - 1, hidden))} + {column['i']} \odot "
                    rf"{column['g']}", self.column(c)]))
                blocks.append(chain(rf"h^{{[{n}]}}_{{{t}}}", [
                    rf"o_{{{t}}} \odot \tanh(c_{{{t}}})", rf"{column['o']} \odot \tanh{self.column(c)}",
                    self.column(h)]))
            elif gru:
                z, h = self.column(self.state("z", n, t, hidden)), self.state("h", n, t, hidden)
                blocks.append(chain(rf"h^{{[{n}]}}_{{{t}}}", [
                    rf"(1 - z_{{{t}}}) \odot n_{{{t}}} + z_{{{t}}} \odot h_{{{t - 1}}}",
                    rf"\left(1 - {z}\right) \odot {self.column(self.state('n', n, t, hidden))} + {z} \odot "
                    rf"{self.column(self.state('h', n, t - 1, hidden))}", self.column(h)]))
        return blocks

    # -- backward ---------------------------------------------------------------------------

    def recurrent_backward(self, layer) -> list:
        """Backpropagation through time: each step's nodes from the last step back, then the weights' sums."""
        g, trace = self.g, self.trace
        kind = KINDS[layer.type]
        n = layer.number
        steps = layer.layer.shape_in[0]
        hidden = layer.layer.setting("hidden")
        order = [t for eq in layer.equations for t in eq.targets]
        blocks: list = [Paragraph(("Backpropagation through time: from the last step back. ",
                                   Math(rf"\delta_t = \partial {name_latex(self.loss)} / \partial h^{{[{n}]}}_t"),
                                   " gathers the loss's share (where the loss or the next layer reads ",
                                   Math("h_t"), ") and step t + 1's, through every gate that reads ",
                                   Math("h_t"), "; each gate's node is then found from the nodes it feeds.",))]
        for t in range(steps, 0, -1):
            blocks.append(Paragraph((f"Step {t}:",)))
            own = [name for name in reversed(order) if f"[{t}," in name]
            blocks += [self.node(name) for name in own]
        blocks.append(Paragraph(("The weights are shared by every step, so each weight's gradient is a sum over the "
                                 "steps of its share at each: ",
                                 Math(r"\frac{\partial L}{\partial W_{hh}} = \sum_t (\delta_t \odot f'_t)\, "
                                      r"h_{t-1}^\top"), ", ",
                                 Math(r"\frac{\partial L}{\partial W_{ih}} = \sum_t (\delta_t \odot f'_t)\, x_t^\top"),
                                 ", ", Math(r"\frac{\partial L}{\partial b} = \sum_t \delta_t \odot f'_t"),
                                 ", with ", Math("f'_t"), " the activation's derivative at step t (for an LSTM or a "
                                 "GRU, each gate's node in place of h, with its own). Entry by entry, the node's "
                                 "gradient times its local derivative:")))
        inside = set(order)
        for tensor in layer.tensors:
            for name in tensor.names:
                readers = [m for m in g.readers.get(name, ()) if m in inside and m in trace.partials]
                m = f"{letter(readers[0])}_{{t,{_unit(readers[0])}}}" if readers else ""
                general = (rf"\sum_{{t=1}}^{{{steps}}} \frac{{\partial {name_latex(self.loss)}}}{{\partial {m}}}\, "
                           rf"\frac{{\partial {m}}}{{\partial {name_latex(name)}}}") if readers else None
                blocks.append(self.sum_chain(name, readers, general, lambda m, name=name: self.shared_term(m, name)))
            blocks += self.tensor_chains(tensor, lambda name: self.n(trace.adjoints[name]), gradient=True)
        if self.writes_input(layer):
            blocks.append(Paragraph(("The input's gradient, each step's input read by that step's gates:",)))
            blocks += [self.node(name) for name in layer.inputs]
        if g.inputs:
            blocks += [self.node(name) for state in kind.states for name in self.state(state, n, 0, hidden)]
        return blocks

    def shared_term(self, m: str, name: str) -> tuple[str, str, bool]:
        """dL/dm times dm/dname: symbols, the recorded numbers, and whether it is 0."""
        trace = self.trace
        other = trace.partials[m][name]
        return (f"{partial(self.loss, m)} {to_latex(self.g.symbols[m][name])}",
                rf"{bracketed(self.n(trace.adjoints[m]))} \cdot {bracketed(self.n(other))}",
                trace.adjoints[m] == 0 or other == 0)


def _unit(name: str) -> str:
    """A step node's unit index: h1[2,3] -> 3."""
    return name[name.index(",") + 1:-1]
