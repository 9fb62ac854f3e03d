"""The NumPy engine for layered networks: the scalar engine's answers, a whole batch at a time.

Scope: a layered network (dense layers, one activation each, one loss), many steps and large layers.
The scalar engine (scalar.py) interprets the lowered equations sample by sample and keeps every value;
this engine keeps one matrix per quantity and nothing else, and gives the same loss, gradients and
updates to rounding (1e-12 relative in float64). Conventions are the op table's (ops.py) and
torch.nn.functional's: relu'(0) = 0, leaky_relu'(0) = alpha, softplus linear above 20, softmax with
the row maximum subtracted, ln y of a softmax output taken from the logits (log-softmax).

Shapes follow torch.nn.Linear: W[n] is (units, fan_in), b[n] is (units,), activations are
(batch, units), so a layer is h = a_prev @ W.T + b. The batch loss is the mean of the per-sample
losses; the 1/batch is folded into dL/do of the output layer, so every gradient is already a mean.

Backward, per layer n from the last: given delta = dL/dh[n]  (batch, units)
    dL/dW[n] = delta.T @ a[n-1]      dL/db[n] = sum of delta over the batch
    dL/da[n-1] = delta @ W[n]        dL/dh[n-1] = dL/da[n-1] * f'(h[n-1])   (softmax: its Jacobian-vector product)
and no gradient with respect to the inputs. Every step writes into buffers made once per batch size.
"""

from __future__ import annotations

import math

import numpy as np

from . import layered
from .errors import HandpropError
from .optim import Optimizer, OptimizerConfig

_SOFTPLUS_THRESHOLD = 20.0  # as ops.py and torch.nn.functional.softplus: x itself above it
_BUFFER_SIZES_KEPT = 4  # batch sizes whose buffers stay cached (a full batch and a last, shorter one)


class _Buffers:
    """One layer's matrices for one batch size; `a` is `h` itself for the identity."""

    def __init__(self, batch: int, units: int, activation: str, dtype, *, output: bool):
        self.h = np.empty((batch, units), dtype)  # (batch, units) pre-activation
        self.a = self.h if activation == "identity" else np.empty((batch, units), dtype)  # (batch, units)
        self.delta = np.empty((batch, units), dtype)  # (batch, units) dL/dh, then dL/da on its way down
        self.scratch = np.empty((batch, units), dtype)
        self.scratch2 = np.empty((batch, units), dtype) if output or activation == "softplus" else None
        self.mask = np.empty((batch, units), bool)
        self.row_max = np.empty((batch, 1), dtype)  # softmax: the subtracted maximum
        self.row_sum = np.empty((batch, 1), dtype)  # softmax: sum of the exponentials
        self.row_dot = np.empty((batch, 1), dtype)


def _sigmoid(x, out, scratch, mask) -> None:
    # As ops._sigmoid, split by sign so that exp never overflows: 1/(1 + e^-x) for x >= 0, e^x/(1 + e^x) below.
    np.greater_equal(x, 0.0, out=mask)
    np.abs(x, out=scratch)
    np.negative(scratch, out=scratch)
    np.exp(scratch, out=scratch)  # e^-|x|, at most 1
    np.add(scratch, 1.0, out=out)
    np.maximum(scratch, mask, out=scratch)  # the numerator: 1 where x >= 0, e^x below
    np.divide(scratch, out, out=out)


# Each activation's forward and its backward (delta *= f'(h), in place) side by side.

def _identity_forward(u: _Buffers, alpha: float) -> None:
    pass  # u.a is u.h


def _identity_backward(u: _Buffers, alpha: float) -> None:
    pass


def _relu_forward(u: _Buffers, alpha: float) -> None:
    np.maximum(u.h, 0.0, out=u.a)


def _relu_backward(u: _Buffers, alpha: float) -> None:
    np.greater(u.h, 0.0, out=u.mask)  # relu'(0) = 0, as the homework's u(0) = 0
    np.multiply(u.delta, u.mask, out=u.delta)


def _leaky_relu_forward(u: _Buffers, alpha: float) -> None:
    # x if x > 0 else alpha*x is max(x, alpha*x) for alpha <= 1 and min(x, alpha*x) above.
    np.multiply(u.h, alpha, out=u.a)
    (np.maximum if alpha <= 1 else np.minimum)(u.h, u.a, out=u.a)


def _leaky_relu_backward(u: _Buffers, alpha: float) -> None:
    np.less_equal(u.h, 0.0, out=u.mask)  # leaky_relu'(0) = alpha
    np.multiply(u.delta, alpha, out=u.delta, where=u.mask)


def _sigmoid_forward(u: _Buffers, alpha: float) -> None:
    _sigmoid(u.h, u.a, u.scratch, u.mask)


def _sigmoid_backward(u: _Buffers, alpha: float) -> None:
    np.subtract(1.0, u.a, out=u.scratch)
    np.multiply(u.a, u.scratch, out=u.scratch)  # y (1 - y)
    np.multiply(u.delta, u.scratch, out=u.delta)


def _tanh_forward(u: _Buffers, alpha: float) -> None:
    np.tanh(u.h, out=u.a)


def _tanh_backward(u: _Buffers, alpha: float) -> None:
    np.multiply(u.a, u.a, out=u.scratch)
    np.subtract(1.0, u.scratch, out=u.scratch)  # 1 - y^2
    np.multiply(u.delta, u.scratch, out=u.delta)


def _softplus_forward(u: _Buffers, alpha: float) -> None:
    np.minimum(u.h, _SOFTPLUS_THRESHOLD, out=u.scratch)  # no overflow where x itself is taken
    np.exp(u.scratch, out=u.scratch)
    np.log1p(u.scratch, out=u.a)
    np.greater(u.h, _SOFTPLUS_THRESHOLD, out=u.mask)
    np.copyto(u.a, u.h, where=u.mask)


def _softplus_backward(u: _Buffers, alpha: float) -> None:
    _sigmoid(u.h, u.scratch, u.scratch2, u.mask)
    np.greater(u.h, _SOFTPLUS_THRESHOLD, out=u.mask)
    np.maximum(u.scratch, u.mask, out=u.scratch)  # 1 above the threshold (sigmoid <= 1), sigmoid(x) below
    np.multiply(u.delta, u.scratch, out=u.delta)


def _softmax_forward(u: _Buffers, alpha: float) -> None:
    np.maximum.reduce(u.h, axis=1, keepdims=True, out=u.row_max)  # (batch, 1)
    np.subtract(u.h, u.row_max, out=u.a)
    np.exp(u.a, out=u.a)
    np.add.reduce(u.a, axis=1, keepdims=True, out=u.row_sum)  # (batch, 1)
    np.divide(u.a, u.row_sum, out=u.a)


def _softmax_backward(u: _Buffers, alpha: float) -> None:
    # dL/do = y * (dL/dy - sum_i dL/dy_i y_i), the Jacobian y_i (delta_ij - y_j) applied to dL/dy.
    np.multiply(u.delta, u.a, out=u.scratch)
    np.add.reduce(u.scratch, axis=1, keepdims=True, out=u.row_dot)  # (batch, 1)
    np.subtract(u.delta, u.row_dot, out=u.delta)
    np.multiply(u.delta, u.a, out=u.delta)


_ACTIVATIONS = {
    "identity": (_identity_forward, _identity_backward),
    "relu": (_relu_forward, _relu_backward),
    "leaky_relu": (_leaky_relu_forward, _leaky_relu_backward),
    "sigmoid": (_sigmoid_forward, _sigmoid_backward),
    "tanh": (_tanh_forward, _tanh_backward),
    "softplus": (_softplus_forward, _softplus_backward),
    "softmax": (_softmax_forward, _softmax_backward),
}


# Each loss: the batch's mean loss, and u.delta = (1/batch) dL_k/dy for each sample k (the output layer's
# activation backward follows). The per-sample formulas are layered.LOSSES's.

def _softmax_cross_entropy(u: _Buffers, t, batch: int) -> float:
    # ln y = o - logsumexp(o), from the softmax's own row maximum and sum: exact where y rounds to 0.
    np.log(u.row_sum, out=u.row_dot)
    np.add(u.row_dot, u.row_max, out=u.row_dot)  # (batch, 1) logsumexp(o)
    np.subtract(u.h, u.row_dot, out=u.scratch)  # (batch, n_out) ln y
    np.multiply(u.scratch, t, out=u.scratch)
    loss = -float(u.scratch.sum()) / batch
    # dL/do = y sum(t) - t: the softmax's Jacobian applied to dL/dy = -t/y, written out.
    np.add.reduce(t, axis=1, keepdims=True, out=u.row_dot)  # (batch, 1) sum of t
    np.multiply(u.a, u.row_dot, out=u.delta)
    np.subtract(u.delta, t, out=u.delta)
    np.multiply(u.delta, 1.0 / batch, out=u.delta)
    return loss


def _cross_entropy(u: _Buffers, t, batch: int) -> float:
    np.log(u.a, out=u.scratch)
    np.multiply(u.scratch, t, out=u.scratch)
    loss = -float(u.scratch.sum()) / batch
    np.divide(t, u.a, out=u.delta)
    np.multiply(u.delta, -1.0 / batch, out=u.delta)  # dL/dy = -t/y
    return loss


def _binary_cross_entropy(u: _Buffers, t, batch: int) -> float:
    n_out = u.a.shape[1]
    one_minus_y, one_minus_t = u.scratch2, u.delta  # delta is free until the gradient is written into it
    np.subtract(1.0, u.a, out=one_minus_y)
    np.subtract(1.0, t, out=one_minus_t)
    np.log(one_minus_y, out=u.scratch)
    np.multiply(u.scratch, one_minus_t, out=u.scratch)
    total = float(u.scratch.sum())  # sum of (1 - t) ln(1 - y)
    np.log(u.a, out=u.scratch)
    np.multiply(u.scratch, t, out=u.scratch)
    total += float(u.scratch.sum())  # plus sum of t ln y
    # dL/dy = ((1 - t)/(1 - y) - t/y) / n_out
    np.divide(one_minus_t, one_minus_y, out=u.delta)
    np.divide(t, u.a, out=u.scratch)
    np.subtract(u.delta, u.scratch, out=u.delta)
    np.multiply(u.delta, 1.0 / (n_out * batch), out=u.delta)
    return -total / (n_out * batch)


def _squares(u: _Buffers, t, batch: int, divisor: float, slope: float) -> float:
    """sum (y - t)^2 / divisor per sample; dL/dy = slope (y - t)."""
    np.subtract(u.a, t, out=u.scratch)  # (batch, n_out) y - t
    np.multiply(u.scratch, u.scratch, out=u.scratch2)
    loss = float(u.scratch2.sum()) / divisor / batch
    np.multiply(u.scratch, slope / batch, out=u.delta)
    return loss


def _mse(u: _Buffers, t, batch: int) -> float:
    n_out = u.a.shape[1]
    return _squares(u, t, batch, float(n_out), 2.0 / n_out)


def _half_sse(u: _Buffers, t, batch: int) -> float:
    return _squares(u, t, batch, 2.0, 1.0)


_LOSSES = {"cross_entropy": _cross_entropy, "binary_cross_entropy": _binary_cross_entropy, "mse": _mse,
          "half_sse": _half_sse}


class NumpyEngine:
    """A layered problem's loss, gradients and optimizer steps, computed with NumPy matrices.

    >>> from handprop import load
    >>> engine = NumpyEngine(load("homework"))
    >>> round(engine.loss_and_gradients(), 4), round(engine.gradients()["w7"], 4)
    (0.644, -0.2331)
    >>> engine.step(engine.make_optimizer(load("homework").optimizer))
    >>> round(engine.parameters()["w7"], 4)
    0.2166
    """

    def __init__(self, problem, *, dtype: str = "float64"):
        network = problem.network
        if not isinstance(network, layered.LayeredNetwork):
            raise ValueError(f"{problem.source}: the NumPy engine needs a layered network, not equations")
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype {dtype!r}: expected 'float64' or 'float32'")
        self.network = network
        self.source = problem.source
        self.dtype = np.dtype(dtype)
        self.order = tuple(problem.program.parameters)
        values = problem.parameters
        self.W: dict[int, np.ndarray] = {}  # n -> (units, fan_in), as torch.nn.Linear.weight
        self.b: dict[int, np.ndarray] = {}  # n -> (units,)
        self.names: dict[str, list[str]] = {}  # slot "W1", "b1", ... -> its parameters' names, row by row
        for n, (rows, biases) in enumerate(zip(layered.weight_rows(network), layered.bias_names(network)), 1):
            self.W[n] = np.array([[values[name] for name in row] for row in rows], self.dtype)
            self.b[n] = np.array([values[name] for name in biases], self.dtype)
            self.names[f"W{n}"] = [name for row in rows for name in row]
            self.names[f"b{n}"] = list(biases)
        self.dL_dW = {n: np.zeros_like(w) for n, w in self.W.items()}
        self.dL_db = {n: np.zeros_like(b) for n, b in self.b.items()}
        self._update = {slot: np.empty_like(self._slot(slot)) for slot in self.names}  # plain SGD's lr * g
        # problem.data holds one tuple per name; the engine wants one row per sample.
        by_name = [problem.data[name] for name in network.inputs + network.targets]
        columns = np.array(by_name, self.dtype)  # (inputs + outputs, samples)
        self.X = np.ascontiguousarray(columns[:len(network.inputs)].T)  # (samples, inputs)
        self.T = np.ascontiguousarray(columns[len(network.inputs):].T)  # (samples, outputs)
        last = network.layers[-1]
        # Softmax outputs with cross-entropy: ln y from the logits and dL/do directly, as torch's cross_entropy.
        self._fused = last.activation == "softmax" and network.loss == "cross_entropy"
        self._loss = _softmax_cross_entropy if self._fused else _LOSSES[network.loss]
        self._buffers: dict[int, list[_Buffers]] = {}
        self._gathered: dict[int, tuple] = {}  # batch size -> (x, t) buffers for rows given as indices

    # --- parameters and gradients by name

    def _slot(self, slot: str) -> np.ndarray:
        return (self.W if slot[0] == "W" else self.b)[int(slot[1:])]

    def _by_name(self, arrays) -> dict:
        flat: dict = {}
        for slot, names in self.names.items():
            flat.update(zip(names, arrays(slot).ravel().tolist()))
        return {name: flat[name] for name in self.order}

    def parameters(self) -> dict:
        """name -> current value, in the program's order.

        >>> from handprop import load
        >>> NumpyEngine(load("homework")).parameters()["b5"]
        0.7
        """
        return self._by_name(self._slot)

    def set_parameters(self, values: dict) -> None:
        """Set the named parameters (all or some of them) in place.

        >>> from handprop import load
        >>> engine = NumpyEngine(load("homework"))
        >>> engine.set_parameters({"w1": 0.25})
        >>> engine.W[1][0, 0]
        np.float64(0.25)
        """
        unknown = set(values) - set(self.order)
        if unknown:
            raise ValueError(f"unknown parameters: {', '.join(sorted(unknown))}")
        for slot, names in self.names.items():
            array = self._slot(slot)
            given = [(i, values[name]) for i, name in enumerate(names) if name in values]
            if len(given) == len(names):
                array[...] = np.array([value for _, value in given], self.dtype).reshape(array.shape)
            else:
                for i, value in given:
                    array.flat[i] = value

    def gradients(self) -> dict:
        """name -> dL/dname from the last loss_and_gradients, in the program's order.

        >>> from handprop import load
        >>> engine = NumpyEngine(load("homework"))
        >>> _ = engine.loss_and_gradients()
        >>> round(engine.gradients()["b4"], 4)
        -0.4748
        """
        return self._by_name(lambda slot: (self.dL_dW if slot[0] == "W" else self.dL_db)[int(slot[1:])])

    # --- forward, loss, backward

    def _layer_buffers(self, batch: int) -> list[_Buffers]:
        buffers = self._buffers.get(batch)
        if buffers is None:
            if len(self._buffers) >= _BUFFER_SIZES_KEPT:
                self._buffers.pop(next(iter(self._buffers)))
            last = len(self.network.layers) - 1
            buffers = [_Buffers(batch, layer.units, layer.activation, self.dtype, output=i == last)
                       for i, layer in enumerate(self.network.layers)]
            self._buffers[batch] = buffers
        return buffers

    def _batch(self, rows):
        """(x, t) for the rows: the data themselves, a view for a slice, else gathered into a buffer."""
        if rows is None:
            return self.X, self.T
        if isinstance(rows, slice):
            x, t = self.X[rows], self.T[rows]
        else:
            rows = np.asarray(rows)
            if rows.dtype == bool:
                rows = np.flatnonzero(rows)
            batch = len(rows)
            gathered = self._gathered.get(batch)
            if gathered is None:
                if len(self._gathered) >= _BUFFER_SIZES_KEPT:
                    self._gathered.pop(next(iter(self._gathered)))
                gathered = (np.empty((batch, self.X.shape[1]), self.dtype),
                            np.empty((batch, self.T.shape[1]), self.dtype))
                self._gathered[batch] = gathered
            x, t = np.take(self.X, rows, axis=0, out=gathered[0]), np.take(self.T, rows, axis=0, out=gathered[1])
        if len(x) == 0:
            raise ValueError("rows selects no samples")
        return x, t

    def _forward(self, x) -> list[_Buffers]:
        buffers = self._layer_buffers(len(x))
        a_prev = x  # (batch, fan_in)
        for n, (layer, u) in enumerate(zip(self.network.layers, buffers), 1):
            np.matmul(a_prev, self.W[n].T, out=u.h)  # (batch, units)
            np.add(u.h, self.b[n], out=u.h)
            _ACTIVATIONS[layer.activation][0](u, layer.alpha)
            a_prev = u.a
        return buffers

    def loss_and_gradients(self, rows=None) -> float:
        """Mean loss over the rows (None: every sample); keeps dL/dW[n] and dL/db[n].

        >>> from handprop import load
        >>> round(NumpyEngine(load("homework")).loss_and_gradients(rows=[0]), 4)
        0.644
        """
        x, t = self._batch(rows)
        batch = len(x)
        buffers = self._forward(x)
        layers = self.network.layers
        output = buffers[-1]
        loss = self._loss(output, t, batch)  # output.delta = dL/dy / batch, or dL/do when fused
        if not math.isfinite(loss):
            raise HandpropError(self.source, "loss", f"is {loss} (not finite)",
                                "outputs inside the loss's domain, e.g. y strictly between 0 and 1")
        if not self._fused:
            _ACTIVATIONS[layers[-1].activation][1](output, layers[-1].alpha)
        for n in range(len(layers), 0, -1):
            u = buffers[n - 1]
            a_prev = buffers[n - 2].a if n > 1 else x  # (batch, fan_in)
            np.matmul(u.delta.T, a_prev, out=self.dL_dW[n])  # (units, fan_in)
            np.add.reduce(u.delta, axis=0, out=self.dL_db[n])  # (units,)
            if n > 1:
                below = buffers[n - 2]
                np.matmul(u.delta, self.W[n], out=below.delta)  # (batch, fan_in) dL/da[n-1]
                _ACTIVATIONS[layers[n - 2].activation][1](below, layers[n - 2].alpha)
        return loss

    def outputs(self, rows=None) -> np.ndarray:
        """The network's outputs y, (samples, outputs).

        >>> from handprop import load
        >>> NumpyEngine(load("homework")).outputs().round(4)
        array([[0.5252, 0.4748]])
        """
        x, _ = self._batch(rows)
        return self._forward(x)[-1].a.copy()

    def accuracy(self, rows=None) -> float | None:
        """Share of samples classified right; None for a regression.

        Softmax outputs (or several outputs with cross-entropy): argmax y == argmax t; one sigmoid
        output with binary cross-entropy: (y > 0.5) == (t > 0.5).

        >>> from handprop import load
        >>> NumpyEngine(load("homework")).accuracy()
        1.0
        """
        last, loss = self.network.layers[-1], self.network.loss
        x, t = self._batch(rows)
        if last.activation == "softmax" or (loss == "cross_entropy" and last.units > 1):
            y = self._forward(x)[-1].a
            return float(np.mean(np.argmax(y, axis=1) == np.argmax(t, axis=1)))
        if last.units == 1 and last.activation == "sigmoid" and loss == "binary_cross_entropy":
            y = self._forward(x)[-1].a
            return float(np.mean((y > 0.5) == (t > 0.5)))
        return None

    # --- optimizer steps

    def make_optimizer(self, config: OptimizerConfig) -> Optimizer:
        """An Optimizer for this engine's arrays (its square root and maximum are NumPy's).

        >>> from handprop import load
        >>> problem = load("homework")
        >>> NumpyEngine(problem).make_optimizer(problem.optimizer).config.lr
        0.5
        """
        return Optimizer(config, sqrt=np.sqrt, maximum=np.maximum)

    def step(self, optimizer: Optimizer) -> None:
        """One step of the optimizer on every slot W1, b1, W2, ... from the last gradients.

        Plain SGD updates in place; the other rules go through Optimizer.update, slot by slot.
        An Optimizer made with math.sqrt and max (the scalar path's) is given NumPy's.

        >>> from handprop import load
        >>> problem = load("homework")
        >>> engine = NumpyEngine(problem)
        >>> _ = engine.loss_and_gradients()
        >>> engine.step(engine.make_optimizer(problem.optimizer))
        >>> round(engine.parameters()["b4"], 4)
        0.9374
        """
        optimizer.begin_step()
        if optimizer.config.is_plain_sgd:
            lr = optimizer.config.lr
            for n in self.W:
                for theta, grad, update in ((self.W[n], self.dL_dW[n], self._update[f"W{n}"]),
                                            (self.b[n], self.dL_db[n], self._update[f"b{n}"])):
                    np.multiply(grad, lr, out=update)
                    np.subtract(theta, update, out=theta)  # theta - lr g, as the scalar path
            return
        if optimizer.sqrt is math.sqrt or optimizer.maximum is max:
            optimizer.sqrt, optimizer.maximum = np.sqrt, np.maximum
        for n in self.W:
            # A copy of the gradient: the optimizer may keep it as state (SGD's first momentum buffer), and
            # the gradient buffers are overwritten by the next loss_and_gradients.
            self.W[n] = np.ascontiguousarray(optimizer.update(f"W{n}", self.W[n], self.dL_dW[n].copy()), self.dtype)
            self.b[n] = np.ascontiguousarray(optimizer.update(f"b{n}", self.b[n], self.dL_db[n].copy()), self.dtype)
