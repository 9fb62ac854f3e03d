"""The NumPy kernels of the sequence layer kinds and the per-sample normalisations, on a batch: rnn, lstm, gru
(problem/kinds/recurrent.py), attention (kinds/attention.py), layernorm, batchnorm and dropout (kinds/norms.py).

Each computes what its layer's equations say, for every sample at once, and its backward pass: the gradients of its
parameters and, unless it is the first layer, dL/d(its input). A sequence is (batch, T, F), as PyTorch's
batch_first; a recurrent layer keeps its values time-major, (T, batch, units), so that one step is one contiguous
matrix: the input side of every gate is one product over the batch and every step, the hidden side one product per
step (the recurrence), and the gradients of the weights one product each after the backward loop over the steps.
An LSTM keeps each step's values as contiguous (units, batch) matrices instead, its four gates' pre-activations one
product per step and its weights' gradients one product per step (see LSTM).

The gates' nonlinearities are the op table's kernels (numpy_kernels.ACTIVATIONS, by the names the kinds give them,
recurrent.GATE_ACTIVATIONS), run on each step's view of the layer's matrices; attention's softmax is the same
kernel over every (sample, head, query) row, a causal query's later keys at -inf, so that their weight is exactly
0 and their gradient 0, as the equations that write no score there.

Layer data (an initial state, a dropout mask) is the kernel's `data`, (batch, entries) in the order of the kind's
data_names, set by the engine before each forward pass.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from ..problem.kinds.recurrent import GATE_ACTIVATIONS
from .numpy_batches import cached
from .numpy_kernels import ACTIVATIONS, LayerBuffers

# The op names of the nonlinearities the equations apply inside the layers (the gates' from recurrent.py)
TANH = GATE_ACTIVATIONS["g"]
SIGMOID = GATE_ACTIVATIONS["i"]
SOFTMAX = "softmax"


class _Steps:
    """One activation's matrices over every step, (T, batch, units), and each step's view as the activation kernels
    read a LayerBuffers. h, a and delta may be given (views into larger arrays); the scratches are its own."""

    def __init__(self, steps: int, batch: int, units: int, kernel, dtype, *, h=None, a=None, delta=None):
        shape = (steps, batch, units)
        self.kernel = kernel
        self.h = np.empty(shape, dtype) if h is None else h
        self.a = self.h if kernel.in_place else (np.empty(shape, dtype) if a is None else a)
        self.delta = np.empty(shape, dtype) if delta is None else delta
        scratches = [np.empty(shape, dtype) for _ in range(3)]
        mask = np.empty(shape, bool)
        self.at = [SimpleNamespace(h=self.h[t], a=self.a[t], delta=self.delta[t], scratch=scratches[0][t],
                                   scratch2=scratches[1][t], scratch3=scratches[2][t], mask=mask[t])
                   for t in range(steps)]

    def forward(self, t: int) -> None:
        self.kernel.forward(self.at[t])

    def backward(self, t: int) -> None:
        self.kernel.backward(self.at[t])


class _Recurrent:
    """What rnn, lstm and gru share: the gates' weights stacked as torch's (G x H rows, gate by gate), the input side
    of every gate for every step at once, and the weights' gradients from the deltas of every step.

    tensors: (values, gradient) pairs in the kind's order: Wi of each gate, Wh of each gate, then (with bias) bi of
    each gate and bh of each gate."""

    gates = 1

    def __init__(self, layer, tensors, dtype):
        G = self.gates
        self.Wi, self.Wh = tensors[:G], tensors[G:2 * G]
        self.bi, self.bh = (tensors[2 * G:3 * G], tensors[3 * G:4 * G]) if layer.setting("bias") else (None, None)
        self.steps, self.features = layer.shape_in
        self.hidden = layer.setting("hidden")
        self.last = layer.setting("return") == "last"
        self.dtype = dtype
        self.data = None  # (batch, states x H): the initial states, set by the engine
        self._buffers: dict = {}

    @staticmethod
    def _stacked(pairs, which: int):
        return np.concatenate([pair[which] for pair in pairs])

    @staticmethod
    def _unstack(matrix, pairs) -> None:
        for block, pair in zip(np.split(matrix, len(pairs)), pairs):
            np.copyto(pair[1], block)

    def _common(self, batch: int) -> SimpleNamespace:
        T, H, F, G = self.steps, self.hidden, self.features, self.gates
        d = self.dtype
        return SimpleNamespace(
            x=np.empty((T, batch, F), d),  # the input, time-major
            states=np.empty((T + 1, batch, H), d),  # h[0] (the initial state) ... h[T]
            inputs=np.empty((T, batch, G * H), d),  # every gate's input side, W_i? x[t] + b_i?
            hidden=np.empty((batch, G * H), d),  # one step's hidden side, W_h? h[t-1] + b_h?
            d_in=np.empty((T, batch, G * H), d),  # dL/d(the input side) of every gate, every step
            d_h=np.empty((batch, H), d))  # dL/dh[t], carried down the steps

    def _input_side(self, x, u) -> None:
        batch = len(x)
        T, F = self.steps, self.features
        np.copyto(u.x, x.transpose(1, 0, 2))
        np.matmul(u.x.reshape(T * batch, F), self._stacked(self.Wi, 0).T, out=u.inputs.reshape(T * batch, -1))
        if self.bi is not None:
            u.inputs += self._stacked(self.bi, 0)
        np.copyto(u.states[0], self.data[:, :self.hidden])
        self._Wh = self._stacked(self.Wh, 0)
        self._bh = self._stacked(self.bh, 0) if self.bh is not None else None

    def _hidden_side(self, u, t: int) -> np.ndarray:
        """W_h? h[t-1] + b_h? of every gate at step t (from 0)."""
        np.matmul(u.states[t], self._Wh.T, out=u.hidden)
        if self._bh is not None:
            u.hidden += self._bh
        return u.hidden

    def _output(self, u, z) -> None:
        if self.last:
            np.copyto(z, u.states[-1])
        else:
            np.copyto(z, u.states[1:].transpose(1, 0, 2))

    def _delta_at(self, delta, u, t: int) -> None:
        """dL/dh[t] += what the layer's output gives it."""
        if self.last:
            if t == self.steps - 1:
                np.copyto(u.d_h, delta)
            else:
                return
        else:
            u.d_h += delta[:, t]

    def _weights_gradients(self, u, d_hidden, dx) -> None:
        """dW_i?, db_i? from the input side's deltas, dW_h?, db_h? from the hidden side's, and dx."""
        T, F, H = self.steps, self.features, self.hidden
        batch = u.x.shape[1]
        rows_in = u.d_in.reshape(T * batch, -1)
        rows_hidden = d_hidden.reshape(T * batch, -1)
        self._unstack(rows_in.T @ u.x.reshape(T * batch, F), self.Wi)
        self._unstack(rows_hidden.T @ u.states[:-1].reshape(T * batch, H), self.Wh)
        if self.bi is not None:
            self._unstack(rows_in.sum(axis=0), self.bi)
            self._unstack(rows_hidden.sum(axis=0), self.bh)
        if dx is not None:
            np.copyto(dx, (rows_in @ self._stacked(self.Wi, 0)).reshape(T, batch, F).transpose(1, 0, 2))


class RNN(_Recurrent):
    """nn.RNN: h[t] = f(W_ih x[t] + b_ih + W_hh h[t-1] + b_hh), f tanh or relu (the op table's kernel)."""

    gates = 1

    def __init__(self, layer, tensors, dtype):
        super().__init__(layer, tensors, dtype)
        self.kernel = ACTIVATIONS[layer.setting("nonlinearity")]

    def _made(self, batch: int):
        def make():
            u = self._common(batch)
            u.act = _Steps(self.steps, batch, self.hidden, self.kernel, self.dtype, a=u.states[1:], delta=u.d_in)
            return u
        return cached(self._buffers, batch, make)

    def forward(self, x, z) -> None:
        u = self._made(len(x))
        self._input_side(x, u)
        for t in range(self.steps):
            np.add(u.inputs[t], self._hidden_side(u, t), out=u.act.h[t])
            u.act.forward(t)
        self._output(u, z)

    def backward(self, x, delta, dx) -> None:
        u = self._made(len(delta))
        u.d_h.fill(0.0)
        for t in range(self.steps - 1, -1, -1):
            self._delta_at(delta, u, t)
            np.copyto(u.act.delta[t], u.d_h)
            u.act.backward(t)  # dL/d(pre-activation)
            np.matmul(u.act.delta[t], self._Wh, out=u.d_h)
        self._weights_gradients(u, u.d_in, dx)


class LSTM(_Recurrent):
    """nn.LSTM: gates i, f, g, o; c[t] = f c[t-1] + i g; h[t] = o tanh(c[t]).

    Inside, every step's values are (units, batch) matrices, contiguous, and the gates are kept in the order
    o, i, f, g (torch's is i, f, g, o):
    - one product per step gives every gate's pre-activation, [W_h W_i b_i+b_h] times [h[t-1]; x[t]; 1];
    - the gates of one nonlinearity are adjacent rows (one call of the op table's kernel for o, i and f), and each
      step's row block [o i f g c[t-1]] puts i and f next to g and c[t-1], which they multiply (one product);
    - the backward pass first computes, over every step at once, what each gate multiplies times the gate's local
      derivative (its kernel's backward applied to it), on the gates copied gate by gate, (gate, T, H, batch), so
      that it runs over contiguous blocks; then each step down is a few products: o's gradient and dL/dc[t]
      through h[t] both come from dL/dh[t], and i, f and g's all from dL/dc[t], adjacent blocks;
    - in float32, the sigmoid gates o, i, f and the tanh gate g are one call of tanh (see Kernel.half_tanh);
    - the weights' and biases' gradients are one product per step, [dL/d(pre-activations)] times
      [h[t-1]; x[t]; 1], summed over the steps."""

    gates = 4
    ORDER = (3, 0, 1, 2)  # o, i, f, g from the kind's i, f, g, o

    def __init__(self, layer, tensors, dtype):
        super().__init__(layer, tensors, dtype)
        self.Wi, self.Wh = [self.Wi[q] for q in self.ORDER], [self.Wh[q] for q in self.ORDER]
        if self.bi is not None:
            self.bi, self.bh = [self.bi[q] for q in self.ORDER], [self.bh[q] for q in self.ORDER]
        # runs of adjacent gates with the same nonlinearity: (first row, end row, its kernel)
        H, names = self.hidden, [GATE_ACTIVATIONS["ifgo"[q]] for q in self.ORDER]
        self.runs, start = [], 0
        for q in range(1, 5):
            if q == 4 or names[q] != names[start]:
                self.runs.append((start * H, q * H, ACTIVATIONS[names[start]]))
                start = q
        self.cell = ACTIVATIONS[TANH]
        self.width = H + self.features + (self.bi is not None)  # [h; x; 1]
        self.W = np.empty((4 * H, self.width), dtype)  # [W_h W_i b_i+b_h], gate by gate
        # In float32, the gates o, i, f of a kernel that is (1 + tanh(x/2))/2 (the sigmoid) and g of tanh take one
        # call of tanh over all four gates: their rows of W halved (exact, a power of 2), then o, i, f's values
        # halved and 1/2 added. float64 keeps each gate's own kernel, as the op table's equations.
        self.half_tanh = (dtype == np.float32 and len(self.runs) == 2 and self.runs[0][2].half_tanh
                          and self.runs[1][2] is self.cell and self.runs[1][:2] == (3 * H, 4 * H))
        self.W_forward = np.empty((4 * H, self.width), dtype) if self.half_tanh else self.W
        self.WhT = np.empty((H, 4 * H), dtype)

    def _made(self, batch: int):
        T, H, F, d = self.steps, self.hidden, self.features, self.dtype

        def make():
            u = SimpleNamespace()
            u.z = np.empty((T + 1, self.width, batch), d)  # step t: [h[t-1]; x[t]; 1]; h[T] in the last
            u.z[:, H + F:] = 1.0
            u.pre = np.empty((T, 4 * H, batch), d)  # the gates' pre-activations
            u.rows = np.empty((T + 1, 5 * H, batch), d)  # step t: o, i, f, g and c[t-1]; c[T] in the last
            u.tanh_c = np.empty((T, H, batch), d)  # tanh(c[t])
            u.product = np.empty((2 * H, batch), d)
            # The backward pass's values over every step, gate by gate, (gate, T, H, batch), so that what is done
            # to every step at once runs over contiguous blocks: the gates o, i, f, g and c[t-1] copied from rows;
            # then o tanh'(c[t]) (dh[t]/dc[t]), each gate's local derivative times what it multiplies, and f
            # (dc[t]/dc[t-1])
            u.gates = np.empty((5, T, H, batch), d)
            u.local = np.empty((6, T, H, batch), d)
            scratch = [np.empty((4, T, H, batch), d) for _ in range(3)]
            mask = np.empty((4, T, H, batch), bool)
            # step t: dL/dc[t] through h[t], dL/d(pre-activation) of o, i, f, g, and dL/dc[t-1] through c[t]
            u.shares = np.empty((T, 6 * H, batch), d)
            u.d_in = u.shares[:, H:5 * H]  # (T, 4H, batch), each step's block contiguous
            u.nothing = np.zeros((H, batch), d)  # what c[T] gives dL/dc[T-1]
            u.d_h, u.d_c = np.empty((H, batch), d), np.empty((H, batch), d)
            u.per_step = np.empty((T, 4 * H, self.width), d)
            u.dW = np.empty((4 * H, self.width), d)

            step_scratch = [np.empty((4 * H, batch), d) for _ in range(3)]  # a forward step's, reused
            step_mask = np.empty((4 * H, batch), bool)

            def view(start, end, h, a):  # rows start to end of one step
                return SimpleNamespace(h=h, a=a, delta=None, scratch=step_scratch[0][start:end],
                                       scratch2=step_scratch[1][start:end], scratch3=step_scratch[2][start:end],
                                       mask=step_mask[start:end])

            def every(start, end, a, delta):  # gates start to end (in units of H) over every step
                shape = a.shape
                return SimpleNamespace(h=None, a=a, delta=delta, scratch=scratch[0][start:end].reshape(shape),
                                       scratch2=scratch[1][start:end].reshape(shape),
                                       scratch3=scratch[2][start:end].reshape(shape),
                                       mask=mask[start:end].reshape(shape))

            rows, z, product = u.rows, u.z, u.product
            # each step's views, made once: slicing is a good part of a step's time
            u.forward_steps = [(u.pre[t], z[t], [view(s, e, u.pre[t, s:e], rows[t, s:e]) for s, e, _ in self.runs],
                                view(0, 4 * H, u.pre[t], rows[t, :4 * H]), rows[t, :3 * H], rows[t, H:3 * H],
                                rows[t, 3 * H:], rows[t + 1, 4 * H:], view(0, H, rows[t + 1, 4 * H:], u.tanh_c[t]),
                                rows[t, :H], u.tanh_c[t], z[t + 1, :H]) for t in range(T)]
            u.halves = product[H:], product[:H]
            u.all_gates = [every(s // H, e // H, u.gates[s // H:e // H], u.local[1 + s // H:1 + e // H])
                           for s, e, _ in self.runs]
            u.all_cells = every(0, 1, u.tanh_c, u.local[0])
            u.backward_steps = [(u.local[:2, t], u.shares[t, :2 * H].reshape(2, H, batch), u.shares[t, :H],
                                 u.shares[t + 1, 5 * H:] if t < T - 1 else u.nothing, u.local[2:, t],
                                 u.shares[t, 2 * H:].reshape(4, H, batch), u.d_in[t]) for t in range(T)]
            return u
        return cached(self._buffers, batch, make)

    def forward(self, x, z) -> None:
        batch = len(x)
        u = self._made(batch)
        T, F, H = self.steps, self.features, self.hidden
        for q in range(4):
            block = self.W[q * H:(q + 1) * H]
            np.copyto(block[:, :H], self.Wh[q][0])
            np.copyto(block[:, H:H + F], self.Wi[q][0])
            if self.bi is not None:
                np.add(self.bi[q][0], self.bh[q][0], out=block[:, H + F])
        np.copyto(u.z[:T, H:H + F], x.transpose(1, 2, 0))
        np.copyto(u.z[0, :H], self.data[:, :H].T)
        np.copyto(u.rows[0, 4 * H:], self.data[:, H:].T)
        W, half_tanh, cell, product = self.W_forward, self.half_tanh, self.cell, u.product
        kernels = [kernel for _, _, kernel in self.runs]
        if half_tanh:
            np.multiply(self.W[:3 * H], 0.5, out=W[:3 * H])
            np.copyto(W[3 * H:], self.W[3 * H:])
        low, high = u.halves
        dot, multiply, add, tanh_gates = np.dot, np.multiply, np.add, cell.forward  # out given by position: faster
        for pre, state, gates, every_gate, oif, i_f, g_c, c, cell_view, o, tanh_c, h in u.forward_steps:
            dot(W, state, pre)
            if half_tanh:
                tanh_gates(every_gate)
                multiply(oif, 0.5, oif)
                add(oif, 0.5, oif)  # (1 + tanh(x/2)) / 2
            else:
                for kernel, view in zip(kernels, gates):
                    kernel.forward(view)
            multiply(i_f, g_c, product)  # i g, f c[t-1]
            add(low, high, c)  # c[t] = f c[t-1] + i g
            tanh_gates(cell_view)
            multiply(o, tanh_c, h)  # h[t] = o tanh(c[t])
        if self.last:
            np.copyto(z, u.z[T, :H].T)
        else:
            np.copyto(z, u.z[1:, :H].transpose(2, 0, 1))

    def backward(self, x, delta, dx) -> None:
        batch = len(delta)
        u = self._made(batch)
        T, F, H = self.steps, self.features, self.hidden
        gates, local = u.gates, u.local
        np.copyto(gates, u.rows[:T].reshape(T, 5, H, batch).transpose(1, 0, 2, 3))  # o, i, f, g, c[t-1]
        # what each gate multiplies, then times the gate's local derivative (its kernel's backward, in place)
        np.copyto(local[0], gates[0])  # o, for dh[t]/dc[t] = o tanh'(c[t])
        np.copyto(local[1], u.tanh_c)  # o: h = o tanh(c)
        np.copyto(local[2:4], gates[3:])  # i: times g; f: times c[t-1]
        np.copyto(local[4], gates[1])  # g: times i
        np.copyto(local[5], gates[2])  # f: dc[t]/dc[t-1]
        for (_, _, kernel), view in zip(self.runs, u.all_gates):
            kernel.backward(view)
        self.cell.backward(u.all_cells)
        np.copyto(self.WhT, self.W[:, :H].T)
        d_h, d_c = u.d_h, u.d_c
        d_h.fill(0.0)
        WhT, last = self.WhT, self.last
        dot, multiply, add = np.dot, np.multiply, np.add  # out given by position: faster
        for t in range(T - 1, -1, -1):
            by_h, d_by_h, share, carried, by_c, d_by_c, d_in = u.backward_steps[t]
            if not last:
                add(d_h, delta[:, t].T, d_h)
            elif t == T - 1:
                np.copyto(d_h, delta.T)
            multiply(by_h, d_h, d_by_h)  # dL/dc[t] through h[t], and o's dL/d(pre-activation)
            add(carried, share, d_c)  # dL/dc[t]: through c[t+1], and through h[t]
            multiply(by_c, d_c, d_by_c)  # i, f, g, and dL/dc[t-1] through c[t] (times f)
            if t:
                dot(WhT, d_in, d_h)
        np.matmul(u.d_in, u.z[:T].transpose(0, 2, 1), out=u.per_step)
        np.sum(u.per_step, axis=0, out=u.dW)
        for q in range(4):
            block = u.dW[q * H:(q + 1) * H]
            np.copyto(self.Wh[q][1], block[:, :H])
            np.copyto(self.Wi[q][1], block[:, H:H + F])
            if self.bi is not None:
                np.copyto(self.bi[q][1], block[:, H + F])
                np.copyto(self.bh[q][1], block[:, H + F])
        if dx is not None:
            np.copyto(dx, np.matmul(self.W[:, H:H + F].T, u.d_in).transpose(2, 0, 1))


class GRU(_Recurrent):
    """nn.GRU: r, z = sigmoid(...); n = tanh(W_in x + b_in + r (W_hn h[t-1] + b_hn)); h = (1 - z) n + z h[t-1]."""

    gates = 3

    def _made(self, batch: int):
        T, H, d = self.steps, self.hidden, self.dtype

        def make():
            u = self._common(batch)
            u.d_hidden = np.empty((T, batch, 3 * H), d)  # dL/d(the hidden side): r's, z's, then (W_hn h + b_hn)'s
            u.gate = [_Steps(T, batch, H, ACTIVATIONS[GATE_ACTIVATIONS[g]], d, delta=u.d_in[:, :, q * H:(q + 1) * H])
                      for q, g in enumerate("rz")]
            u.candidate = _Steps(T, batch, H, ACTIVATIONS[TANH], d, delta=u.d_in[:, :, 2 * H:])
            u.hidden_n = np.empty((T, batch, H), d)  # W_hn h[t-1] + b_hn, kept for the backward pass
            u.kept = np.empty((batch, H), d)
            return u
        return cached(self._buffers, batch, make)

    def forward(self, x, z) -> None:
        u = self._made(len(x))
        H = self.hidden
        self._input_side(x, u)
        r, zg = u.gate
        n = u.candidate
        for t in range(self.steps):
            hidden = self._hidden_side(u, t)
            np.add(u.inputs[t, :, :H], hidden[:, :H], out=r.h[t])
            np.add(u.inputs[t, :, H:2 * H], hidden[:, H:2 * H], out=zg.h[t])
            r.forward(t)
            zg.forward(t)
            np.copyto(u.hidden_n[t], hidden[:, 2 * H:])
            np.multiply(r.a[t], u.hidden_n[t], out=n.h[t])
            np.add(u.inputs[t, :, 2 * H:], n.h[t], out=n.h[t])
            n.forward(t)
            np.subtract(1.0, zg.a[t], out=u.kept)
            np.multiply(u.kept, n.a[t], out=u.states[t + 1])
            np.multiply(zg.a[t], u.states[t], out=u.kept)
            u.states[t + 1] += u.kept
        self._output(u, z)

    def backward(self, x, delta, dx) -> None:
        u = self._made(len(delta))
        H = self.hidden
        r, zg = u.gate
        n = u.candidate
        u.d_h.fill(0.0)
        for t in range(self.steps - 1, -1, -1):
            self._delta_at(delta, u, t)
            # h = (1 - z) n + z h[t-1]
            np.subtract(u.states[t], n.a[t], out=u.kept)
            np.multiply(u.d_h, u.kept, out=zg.delta[t])
            np.subtract(1.0, zg.a[t], out=u.kept)
            np.multiply(u.d_h, u.kept, out=n.delta[t])
            n.backward(t)  # dL/d(n's pre-activation): its input side's delta
            np.multiply(n.delta[t], u.hidden_n[t], out=r.delta[t])
            np.multiply(n.delta[t], r.a[t], out=u.d_hidden[t, :, 2 * H:])
            r.backward(t)
            zg.backward(t)
            u.d_hidden[t, :, :2 * H] = u.d_in[t, :, :2 * H]
            np.multiply(u.d_h, zg.a[t], out=u.kept)  # dL/dh[t-1] straight through z h[t-1]
            np.matmul(u.d_hidden[t], self._Wh, out=u.d_h)
            u.d_h += u.kept
        self._weights_gradients(u, u.d_hidden, dx)


class LayerNorm:
    """nn.LayerNorm over the last `axes` axes: mu, d = x - mu, var = mean d^2, rstd = 1/sqrt(var + eps),
    xhat = d rstd, n = xhat gamma + beta, row by row of (batch x groups, N)."""

    data = None

    def __init__(self, layer, tensors, dtype):
        shape = layer.shape_in
        self.size = math.prod(shape[len(shape) - layer.setting("axes"):])
        self.eps = layer.setting("eps")
        self.gamma, self.beta = tensors if tensors else (None, None)
        self.dtype = dtype
        self._buffers: dict = {}

    def _made(self, rows: int):
        return cached(self._buffers, rows, lambda: SimpleNamespace(
            d=np.empty((rows, self.size), self.dtype), xhat=np.empty((rows, self.size), self.dtype),
            rstd=np.empty((rows, 1), self.dtype), scratch=np.empty((rows, self.size), self.dtype)))

    def forward(self, x, out) -> None:
        x = x.reshape(-1, self.size)
        u = self._made(len(x))
        N = float(self.size)
        np.subtract(x, np.sum(x, axis=1, keepdims=True) / N, out=u.d)
        np.multiply(u.d, u.d, out=u.scratch)
        var = np.sum(u.scratch, axis=1, keepdims=True) / N
        np.divide(1.0, np.sqrt(var + self.eps), out=u.rstd)
        np.multiply(u.d, u.rstd, out=u.xhat)
        out = out.reshape(-1, self.size)
        if self.gamma is None:
            np.copyto(out, u.xhat)
        else:
            np.multiply(u.xhat, self.gamma[0].reshape(-1), out=out)
            out += self.beta[0].reshape(-1)

    def backward(self, x, delta, dx) -> None:
        delta = delta.reshape(-1, self.size)
        u = self._made(len(delta))
        N = float(self.size)
        if self.gamma is not None:
            np.multiply(delta, u.xhat, out=u.scratch)
            np.sum(u.scratch, axis=0, out=self.gamma[1].reshape(-1))
            np.sum(delta, axis=0, out=self.beta[1].reshape(-1))
        if dx is None:
            return
        d_xhat = delta * self.gamma[0].reshape(-1) if self.gamma is not None else delta
        # xhat = d rstd: dL/drstd = sum dxhat d; rstd = (var + eps)^(-1/2): dL/dvar = dL/drstd * -rstd^3 / 2
        np.multiply(d_xhat, u.d, out=u.scratch)
        d_var = np.sum(u.scratch, axis=1, keepdims=True) * (-0.5 * u.rstd ** 3)
        d_d = d_xhat * u.rstd + u.d * (d_var * (2.0 / N))  # var = mean d^2
        d_mu = -np.sum(d_d, axis=1, keepdims=True)
        np.add(d_d, d_mu / N, out=dx.reshape(-1, self.size))


class BatchNorm:
    """nn.BatchNorm1d/2d in training mode: the statistics of each channel over the batch and its positions (the
    engine's batch is the coupled network's, every sample of it at once), then as LayerNorm's. The running
    statistics are nodes of the equations, not parameters: training does not read them."""

    data = None

    def __init__(self, layer, tensors, dtype):
        self.eps = layer.setting("eps")
        self.gamma, self.beta = tensors if tensors else (None, None)
        self.channels = layer.shape_in[0]
        self.dims = len(layer.shape_in)
        self.dtype = dtype

    def _per_channel(self, v):
        return v.reshape((-1,) + (1,) * (self.dims - 1))

    def _sum(self, v):
        return np.sum(v, axis=(0, *range(2, v.ndim)), keepdims=True)

    def forward(self, x, out) -> None:
        N = float(x.size // self.channels)
        self.d = x - self._sum(x) / N
        var = self._sum(self.d * self.d) / N
        self.rstd = 1.0 / np.sqrt(var + self.eps)
        self.xhat = self.d * self.rstd
        if self.gamma is None:
            np.copyto(out, self.xhat)
        else:
            np.multiply(self.xhat, self._per_channel(self.gamma[0]), out=out)
            out += self._per_channel(self.beta[0])

    def backward(self, x, delta, dx) -> None:
        N = float(delta.size // self.channels)
        if self.gamma is not None:
            np.copyto(self.gamma[1], self._sum(delta * self.xhat).reshape(-1))
            np.copyto(self.beta[1], self._sum(delta).reshape(-1))
        if dx is None:
            return
        d_xhat = delta * self._per_channel(self.gamma[0]) if self.gamma is not None else delta
        d_var = self._sum(d_xhat * self.d) * (-0.5 * self.rstd ** 3)
        d_d = d_xhat * self.rstd + self.d * (d_var * (2.0 / N))
        np.add(d_d, -self._sum(d_d) / N, out=dx)


class Dropout:
    """nn.Dropout in training mode with its mask from the data: m = x mask / (1 - p)."""

    def __init__(self, layer, tensors, dtype):
        self.keep = 1.0 - layer.setting("p")
        self.data = None  # (batch, entries): the masks, set by the engine

    def forward(self, x, out) -> None:
        batch = len(x)
        self.mask = self.data
        np.multiply(x.reshape(batch, -1), self.mask, out=out.reshape(batch, -1))
        out /= self.keep

    def backward(self, x, delta, dx) -> None:
        if dx is not None:
            batch = len(delta)
            np.multiply(delta.reshape(batch, -1), 1.0 / self.keep, out=dx.reshape(batch, -1))
            dx.reshape(batch, -1)[...] *= self.mask


class Attention:
    """Multi-head self-attention, as nn.MultiheadAttention(x, x, x): q, k, v, each head's scores / sqrt(d) and their
    softmax over the keys, the context, the out-projection, and the residual.

    tensors: Wq, Wk, Wv, (bq, bk, bv), Wo, (bo), each a (values, gradient) pair."""

    data = None

    def __init__(self, layer, tensors, dtype):
        self.bias = layer.setting("bias")
        self.Wq, self.Wk, self.Wv = tensors[:3]
        if self.bias:
            self.bq, self.bk, self.bv = tensors[3:6]
            self.Wo, self.bo = tensors[6:8]
        else:
            self.Wo, self.bo = tensors[3], None
        self.steps, self.features = layer.shape_in
        self.heads = layer.setting("heads")
        self.width = self.features // self.heads
        self.scale = None if self.width == 1 else 1.0 / math.sqrt(float(self.width))
        self.causal, self.residual = layer.setting("causal"), layer.setting("residual")
        self.dtype = dtype
        self.softmax = ACTIVATIONS[SOFTMAX]
        self._buffers: dict = {}

    def _made(self, batch: int):
        T = self.steps
        return cached(self._buffers, batch, lambda: SimpleNamespace(
            weights=LayerBuffers(batch * self.heads * T, T, self.softmax, self.dtype, output=False, order="C")))

    def _split(self, m, batch):
        """(batch x T, E) as (batch, heads, T, d)."""
        return m.reshape(batch, self.steps, self.heads, self.width).transpose(0, 2, 1, 3)

    def _join(self, m, batch):
        return m.transpose(0, 2, 1, 3).reshape(batch * self.steps, self.features)

    def forward(self, x, out) -> None:
        batch = len(x)
        T, E = self.steps, self.features
        u = self._made(batch)
        rows = x.reshape(batch * T, E)
        self.rows = rows
        q, k, v = (rows @ W[0].T for W in (self.Wq, self.Wk, self.Wv))
        if self.bias:
            q += self.bq[0]
            k += self.bk[0]
            v += self.bv[0]
        self.q, self.k, self.v = (self._split(m, batch) for m in (q, k, v))
        scores = u.weights.h.reshape(batch, self.heads, T, T)
        np.matmul(self.q, self.k.transpose(0, 1, 3, 2), out=scores)
        if self.scale is not None:
            scores /= math.sqrt(float(self.width))  # as the equations' division by sqrt(d)
        if self.causal:
            scores[..., np.triu_indices(T, 1)[0], np.triu_indices(T, 1)[1]] = -np.inf
        self.softmax.forward(u.weights)
        self.alpha = u.weights.a.reshape(batch, self.heads, T, T)
        self.context = self._join(self.alpha @ self.v, batch)
        out = out.reshape(batch * T, E)
        np.matmul(self.context, self.Wo[0].T, out=out)
        if self.bo is not None:
            out += self.bo[0]
        if self.residual:
            out += rows

    def backward(self, x, delta, dx) -> None:
        batch = len(delta)
        T, E = self.steps, self.features
        u = self._made(batch)
        d_out = delta.reshape(batch * T, E)
        np.matmul(d_out.T, self.context, out=self.Wo[1])
        if self.bo is not None:
            np.sum(d_out, axis=0, out=self.bo[1])
        d_context = self._split(d_out @ self.Wo[0], batch)
        d_v = self.alpha.transpose(0, 1, 3, 2) @ d_context
        np.matmul(d_context, self.v.transpose(0, 1, 3, 2), out=u.weights.delta.reshape(batch, self.heads, T, T))
        self.softmax.backward(u.weights)  # dL/d(scores); 0 at a causal query's later keys
        d_scores = u.weights.delta.reshape(batch, self.heads, T, T)
        if self.scale is not None:
            d_scores *= 1.0 / math.sqrt(float(self.width))
        d_q = self._join(d_scores @ self.k, batch)
        d_k = self._join(d_scores.transpose(0, 1, 3, 2) @ self.q, batch)
        d_v = self._join(d_v, batch)
        rows = self.rows
        for d, W, b in ((d_q, self.Wq, self.bq if self.bias else None), (d_k, self.Wk, self.bk if self.bias else None),
                        (d_v, self.Wv, self.bv if self.bias else None)):
            np.matmul(d.T, rows, out=W[1])
            if b is not None:
                np.sum(d, axis=0, out=b[1])
        if dx is None:
            return
        d_x = d_q @ self.Wq[0] + d_k @ self.Wk[0] + d_v @ self.Wv[0]
        if self.residual:
            d_x += d_out
        np.copyto(dx.reshape(batch * T, E), d_x)


def _made_with(kind):
    return lambda layer, tensors, dtype: kind(layer, tensors, dtype)


# The kinds this module computes, by type: (layer, its tensors as (values, gradient) pairs in the kind's order,
# dtype) -> its kernel.
SEQUENCE_KERNELS = {
    "rnn": _made_with(RNN),
    "lstm": _made_with(LSTM),
    "gru": _made_with(GRU),
    "layernorm": _made_with(LayerNorm),
    "batchnorm": _made_with(BatchNorm),
    "dropout": _made_with(Dropout),
    "attention": _made_with(Attention),
}
