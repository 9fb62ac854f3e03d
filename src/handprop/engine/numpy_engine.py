"""The NumPy engine for layered networks: the scalar engine's answers, a whole batch at a time.

Scope: a layered network (dense layers, one activation each, one loss), many steps and large layers.
The interpreter (interpreter.py) works the lowered equations out sample by sample and keeps every value;
this engine keeps one matrix per quantity and nothing else, and gives the same loss, gradients and
updates to rounding (1e-12 relative in float64). The activation and loss kernels, and their
conventions, are in numpy_kernels.py.

Shapes follow torch.nn.Linear: W[n] is (units, fan_in), b[n] is (units,), activations are
(batch, units), so a layer is h = a_prev @ W.T + b. The batch loss is the mean of the per-sample
losses; the 1/batch is folded into dL/do of the output layer, so every gradient is already a mean.

Backward, per layer n from the last: given delta = dL/dh[n]  (batch, units)
    dL/dW[n] = delta.T @ a[n-1]      dL/db[n] = sum of delta over the batch
    dL/da[n-1] = delta @ W[n]        dL/dh[n-1] = dL/da[n-1] * f'(h[n-1])   (softmax: its Jacobian-vector product)
and no gradient with respect to the inputs. The (batch, units) matrices are stored unit by unit, so the
products are written as h.T = W @ a_prev.T and dL/da[n-1].T = W.T @ delta.T into C-contiguous
(units, batch) arrays, and the sum over the batch of dL/db[n] as delta.T times a vector of ones (a product is
cheaper than a sum for small layers). With OpenBLAS on one thread, a step took 7-8% less time this way
(unit by unit) than with row-major matrices for a 784-128-10 network at batch 64, and about 10% more for ten
layers of 32 units at batch 16, where NumPy's per-call overhead dominates (benchmarks/bench_training.py). What
each layer reads and writes is looked up once per batch size (the plan), not at every step.

Memory: every parameter lives in one flat vector `theta`, and W[n], b[n] are views into it; the
gradients likewise in one flat vector. An elementwise optimizer step is then a few whole-vector
operations however many layers there are, and a snapshot of the parameters is one copy. Each step
writes into buffers made once per batch size (numpy_batches.py picks the batch's rows).
"""

from __future__ import annotations

import math
from ..core.frozen import dataclass
from functools import partial
from types import SimpleNamespace

import numpy as np

from ..problem import layered
from ..core.errors import HandpropError
from ..core.fusion import fused_logs
from ..core.optim import Optimizer, OptimizerConfig, fused_multiply_add, sqrt_or_nan
from .numpy_batches import Samples, cached
from .numpy_kernels import ACTIVATIONS, LOSSES, LayerBuffers, softmax_cross_entropy

_SGD_CHUNK = 32_768  # parameters per pass of plain SGD: lr*g stays in cache for the subtraction that follows
_PER_UNIT, _SHARED, _NONE = "per_unit", "shared", "none"  # a layer's bias, as layered.Layer.bias says it
_BIAS_GRADIENT = {"per_unit": _PER_UNIT, "shared": _SHARED, "none": _NONE}


def _bound(kernel, settings: dict):
    """An activation's kernel with the op's settings given: called with the layer's buffers alone."""
    return partial(kernel, **settings) if settings else kernel


@dataclass(frozen=True)
class _Dense:
    """One layer's views into the flat parameter and gradient vectors, and its activation's kernels."""

    W: np.ndarray  # (units, fan_in)
    b: np.ndarray  # (units,)
    dL_dW: np.ndarray  # (units, fan_in)
    dL_db: np.ndarray  # (units,)
    forward: object
    backward: object
    settings: dict  # the activation's settings, as keywords: {"alpha": 0.01}
    bias: str = "per_unit"  # b is (units,), (1,) shared by the units (broadcast), or (0,): none


def check_range(source: str, dtype: np.dtype, what: str, names: list, values) -> None:
    """Every value is one the dtype holds (float32's largest is 3.4e38), or the first that is not is refused."""
    largest = float(np.finfo(dtype).max)
    beyond = np.flatnonzero(np.abs(np.asarray(values, np.float64)) > largest)
    if beyond.size:
        k = int(beyond[0])
        raise HandpropError(source, f"{what} {names[k]}", f"{values[k]!r} is beyond {dtype.name}'s largest number, "
                            f"{largest:.4g}", f"--dtype float64, or values within ±{largest:.2g}")


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

    name = "numpy"

    def __init__(self, problem, *, dtype: str = "float64"):
        network = problem.network
        if not isinstance(network, layered.LayeredNetwork):
            raise ValueError(f"{problem.source}: the NumPy engine needs a layered network, not equations")
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype {dtype!r}: expected 'float64' or 'float32'")
        self.network = network
        self.source = problem.source
        self.dtype = np.dtype(dtype)
        # The flat layout: W1 row by row, b1, W2, b2, ...
        flat_names = []
        for rows, biases in zip(layered.weight_rows(network), layered.bias_names(network)):
            flat_names += [name for row in rows for name in row] + list(biases)
        # the program's order, without writing it out
        self.hold_parameters(problem, tuple(layered.parameter_order(network)), flat_names,
                             network.inputs + network.targets)
        self.W, self.b, self.dL_dW, self.dL_db = {}, {}, {}, {}  # n -> views: (units, fan_in), (units,)
        self._layers: list[_Dense] = []
        start = 0
        for n, (layer, fan_in) in enumerate(zip(network.layers, network.widths()), 1):
            middle, end = start + layer.units * fan_in, start + layer.units * fan_in + layer.bias_count
            self.W[n] = self.theta[start:middle].reshape(layer.units, fan_in)
            self.dL_dW[n] = self.gradient[start:middle].reshape(layer.units, fan_in)
            self.b[n], self.dL_db[n] = self.theta[middle:end], self.gradient[middle:end]
            kernel = ACTIVATIONS[layer.activation]
            self._layers.append(_Dense(self.W[n], self.b[n], self.dL_dW[n], self.dL_db[n], kernel.forward,
                                       kernel.backward, dict(layer.params), layer.bias))
            start = end
        self.samples = Samples(problem, self.dtype)
        self.X, self.T = self.samples.X, self.samples.T  # (samples, inputs), (samples, outputs)
        # Cross-entropy of softmax outputs: ln y from the logits and dL/do directly, as torch's cross_entropy,
        # wherever the program's one rewrite (core/fusion.py) takes the outputs' logs from the logits.
        head = layered.head(network)
        self._fused = set(fused_logs(head)) == set(head.outputs)
        unit_targets = bool(np.all(self.T.sum(axis=1) == 1.0))  # one-hot rows: dL/do = y - t
        self._loss = partial(softmax_cross_entropy, unit_targets=unit_targets) if self._fused else LOSSES[network.loss]
        self._buffers: dict[int, SimpleNamespace] = {}  # batch size -> each layer's matrices, and the plan

    def hold_parameters(self, problem, order: tuple, flat_names: list, data_names: tuple) -> None:
        """The flat parameter and gradient vectors, laid out as flat_names, with what the methods below use: the
        program's order, each name's place, plain SGD's chunks and the snapshot's buffer. In float32, a parameter or
        a datum (of data_names) beyond its range is refused first. (An engine made on this one calls it too.)"""
        self.order = order
        self._position = {name: i for i, name in enumerate(flat_names)}  # each name's place in the layout
        self._flat_names = flat_names
        self._index = np.array([self._position[name] for name in order], np.intp)  # program order -> flat
        values = [problem.parameters[name] for name in flat_names]
        if self.dtype != np.float64:  # refused before the cast, which would make them inf (with a warning)
            check_range(problem.source, self.dtype, "parameter", flat_names, values)
            for name in data_names:
                check_range(problem.source, self.dtype, "data", [f"{name}, sample {k + 1}"
                                                                  for k in range(len(problem.data[name]))],
                             problem.data[name])
        self.theta = np.array(values, self.dtype)
        self.gradient = np.zeros_like(self.theta)
        size = self.theta.size
        update = np.empty(min(size, _SGD_CHUNK), self.dtype)  # plain SGD's lr * g, one chunk at a time
        self._sgd_chunks = [(self.theta[i:i + _SGD_CHUNK], self.gradient[i:i + _SGD_CHUNK],
                             update[:min(_SGD_CHUNK, size - i)]) for i in range(0, size, _SGD_CHUNK)]
        self._saved, self._snapshots = None, 0  # the latest snapshot's copy of theta (made at the first)

    # --- parameters and gradients by name

    def _named(self, flat: np.ndarray) -> dict:
        return dict(zip(self.order, flat[self._index].tolist()))

    def parameters(self) -> dict:
        """name -> current value, in the program's order.

        >>> from handprop import load
        >>> NumpyEngine(load("homework")).parameters()["b5"]
        0.7
        """
        return self._named(self.theta)

    def set_parameters(self, values: dict) -> None:
        """Set the named parameters (all or some of them) in place.

        >>> from handprop import load
        >>> engine = NumpyEngine(load("homework"))
        >>> engine.set_parameters({"w1": 0.25})
        >>> engine.W[1][0, 0]
        np.float64(0.25)
        """
        unknown = set(values) - set(self._position)
        if unknown:
            raise ValueError(f"unknown parameters: {', '.join(sorted(unknown))}")
        places = [self._position[name] for name in values]
        self.theta[places] = np.array(list(values.values()), self.dtype)

    def snapshot(self) -> int:
        """Keep a copy of the parameters (one copy into a buffer made once); a token for parameters_of.

        Only the latest snapshot is kept: the training loop's last parameters whose loss was finite.

        >>> from handprop import load
        >>> engine = NumpyEngine(load("homework"))
        >>> token = engine.snapshot()
        >>> engine.set_parameters({"w1": 9.0})
        >>> engine.parameters_of(token)["w1"]
        0.1
        """
        if self._saved is None:
            self._saved = np.empty_like(self.theta)
        np.copyto(self._saved, self.theta)
        self._snapshots += 1
        return self._snapshots

    def parameters_of(self, token: int) -> dict:
        """name -> value at the snapshot `token` (which must be the latest one).

        >>> from handprop import load
        >>> engine = NumpyEngine(load("homework"))
        >>> engine.parameters_of(engine.snapshot()) == engine.parameters()
        True
        """
        if token != self._snapshots or self._saved is None:
            raise ValueError(f"snapshot {token} is gone: only the latest ({self._snapshots}) is kept")
        return self._named(self._saved)

    def first_non_finite(self) -> tuple | None:
        """The first gradient or parameter that is not a finite number, as (what, name, value); None if all are.

        >>> from handprop import load
        >>> engine = NumpyEngine(load("homework"))
        >>> engine.set_parameters({"w3": float("nan")})
        >>> engine.first_non_finite()
        ('value', 'w3', nan)
        """
        for what, flat in (("gradient", self.gradient), ("value", self.theta)):
            with np.errstate(over="ignore", invalid="ignore"):
                total = float(flat.sum())  # an infinity or a NaN anywhere shows in the sum
            if not math.isfinite(total):
                bad = np.flatnonzero(~np.isfinite(flat))
                if bad.size:
                    return what, self._flat_names[bad[0]], float(flat[bad[0]])
        return None

    def gradients(self) -> dict:
        """name -> dL/dname from the last loss_and_gradients, in the program's order.

        >>> from handprop import load
        >>> engine = NumpyEngine(load("homework"))
        >>> _ = engine.loss_and_gradients()
        >>> round(engine.gradients()["b4"], 4)
        -0.4748
        """
        return self._named(self.gradient)

    # --- forward, loss, backward

    def _layer_buffers(self, batch: int) -> list[LayerBuffers]:
        return self._plan(batch).buffers

    def _plan(self, batch: int) -> SimpleNamespace:
        """The batch size's buffers, and what each layer's forward and backward pass reads and writes, looked up
        once: with ten layers of 32 units at batch 16, a step is mostly NumPy's per-call overhead and Python's."""
        def make():
            last = len(self.network.layers) - 1
            buffers = [LayerBuffers(batch, layer.units, ACTIVATIONS[layer.activation], self.dtype, output=i == last)
                       for i, layer in enumerate(self.network.layers)]
            forward, backward = [], []
            for n, (layer, u) in enumerate(zip(self._layers, buffers)):
                below = buffers[n - 1] if n else None
                forward.append((layer.W, below.a.T if n else None, u.h.T, u.h,
                                None if layer.bias == "none" else layer.b, _bound(layer.forward, layer.settings), u))
            for n in range(len(buffers) - 1, -1, -1):
                layer, u = self._layers[n], buffers[n]
                below = buffers[n - 1] if n else None
                backward.append((u.delta, u.delta.T, below.a if n else None, layer.dL_dW,
                                 _BIAS_GRADIENT[layer.bias], layer.dL_db, layer.W.T, below.delta.T if n else None,
                                 _bound(self._layers[n - 1].backward, self._layers[n - 1].settings) if n else None,
                                 below))
            return SimpleNamespace(buffers=buffers, forward=forward, backward=backward, ones=np.ones(batch, self.dtype))
        return cached(self._buffers, batch, make)

    def _forward(self, x) -> list[LayerBuffers]:
        plan = self._plan(len(x))
        x_t = x.T  # (fan_in, batch)
        matmul, add = np.matmul, np.add  # out given by position: less overhead per call
        for W, a_prev_t, h_t, h, b, activation, u in plan.forward:
            matmul(W, x_t if a_prev_t is None else a_prev_t, h_t)  # (units, batch): h transposed
            if b is not None:
                add(h, b, h)  # a shared bias, shape (1,), is added to every unit
            activation(u)
        return plan.buffers

    def loss_and_gradients(self, rows=None) -> float:
        """Mean loss over the rows (None: every sample); keeps dL/dW[n] and dL/db[n].

        >>> from handprop import load
        >>> round(NumpyEngine(load("homework")).loss_and_gradients(rows=[0]), 4)
        0.644
        """
        # An overflow or a log of 0 shows as a loss, gradient or parameter that is not finite, which the
        # callers check and report in one line: NumPy's own warnings would only add lines before it.
        with np.errstate(all="ignore"):
            return self._loss_and_gradients(rows)

    def forward_loss(self, rows) -> tuple:
        """(x, the layers' buffers, the output's, the mean loss) of the rows' batch; the output's delta is then
        dL/dy / batch, or dL/do where the loss is fused with a softmax. A loss that is not finite is refused."""
        x, t = self.samples.batch(rows)
        buffers = self._forward(x)
        output = buffers[-1]
        loss = self._loss(output, t, len(x))
        if not math.isfinite(loss):
            raise HandpropError(self.source, "loss", f"is {loss} (not finite)",
                                "outputs inside the loss's domain, e.g. y strictly between 0 and 1")
        return x, buffers, output, loss

    def _loss_and_gradients(self, rows) -> float:
        x, buffers, output, loss = self.forward_loss(rows)
        layers = self._layers
        if not self._fused:
            layers[-1].backward(output, **layers[-1].settings)
        plan = self._plan(len(x))
        ones = plan.ones
        matmul, dot = np.matmul, np.dot  # out given by position: less overhead per call
        for delta, delta_t, a_prev, dL_dW, bias, dL_db, W_t, below_delta_t, activation, below in plan.backward:
            matmul(delta_t, x if a_prev is None else a_prev, dL_dW)  # (units, fan_in)
            if bias is _PER_UNIT:
                dot(delta_t, ones, dL_db)  # (units,): the sum over the batch, one product (faster than a sum)
            elif bias is _SHARED:
                dL_db[0] = delta.sum()  # one bias, read by every unit: the sum of their deltas
            if below is not None:
                matmul(W_t, delta_t, below_delta_t)  # (fan_in, batch): dL/da[n-1] transposed
                activation(below)
        return loss

    def outputs(self, rows=None) -> np.ndarray:
        """The network's outputs y, (samples, outputs).

        >>> from handprop import load
        >>> NumpyEngine(load("homework")).outputs().round(4)
        array([[0.5252, 0.4748]])
        """
        x, _ = self.samples.batch(rows)
        with np.errstate(all="ignore"):  # a value that overflowed is checked where it is shown
            return self._forward(x)[-1].a.copy()

    def accuracy(self, rows=None) -> float | None:
        """Share of samples classified right; None for a regression.

        As the network's classification says (problem/layered.py): argmax y == argmax t, or, for one output with
        binary cross-entropy, (y > 0.5) == (t > 0.5).

        >>> from handprop import load
        >>> NumpyEngine(load("homework")).accuracy()
        1.0
        """
        kind = self.network.classification
        if kind is None:
            return None
        x, t = self.samples.batch(rows)
        with np.errstate(all="ignore"):  # the loss logged beside it is checked
            y = self._forward(x)[-1].a
        if kind == "categorical":
            return float(np.mean(np.argmax(y, axis=1) == np.argmax(t, axis=1)))
        return float(np.mean((y > 0.5) == (t > 0.5)))

    # --- optimizer steps

    def make_optimizer(self, config: OptimizerConfig) -> Optimizer:
        """An Optimizer for this engine's arrays (its square root and maximum are NumPy's).

        >>> from handprop import load
        >>> problem = load("homework")
        >>> NumpyEngine(problem).make_optimizer(problem.optimizer).config.lr
        0.5
        """
        return Optimizer(config, sqrt=np.sqrt, maximum=np.maximum, fma=multiply_add)

    def step(self, optimizer: Optimizer) -> None:
        """One step of the optimizer on every parameter at once, from the last gradients.

        Plain SGD updates in place, a cache-sized chunk of the flat vector at a time; the other rules go through
        Optimizer.update with the whole vector as one slot (every rule is elementwise). An Optimizer
        made with the scalar path's square root and maximum is given NumPy's.

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
            with np.errstate(all="ignore"):  # an update that overflows is found by first_non_finite
                for theta, grad, update in self._sgd_chunks:
                    np.multiply(grad, lr, out=update)
                    np.subtract(theta, update, out=theta)  # theta - lr g, as the scalar path
            return
        frozen = self._frozen(optimizer.config.frozen)
        if frozen is not None:
            kept = self.theta[frozen]  # a copy: left out of the optimizer, as torch's, so never updated
        if optimizer.sqrt is sqrt_or_nan or optimizer.maximum is max or optimizer.fma is fused_multiply_add:
            optimizer.sqrt, optimizer.maximum, optimizer.fma = np.sqrt, np.maximum, multiply_add
        # A copy of the gradient: the optimizer may keep it as state (SGD's first momentum buffer), and the
        # gradient vector is overwritten by the next loss_and_gradients. A square root of a negative number is
        # NaN, as torch's: the values are checked after the step, without NumPy's warning before the message.
        with np.errstate(all="ignore"):
            np.copyto(self.theta, optimizer.update("parameters", self.theta, self.gradient.copy()))
        if frozen is not None:
            self.theta[frozen] = kept

    def _frozen(self, names: tuple):
        """The flat positions of the frozen parameters, or None when there are none."""
        if not names:
            return None
        if getattr(self, "_frozen_for", None) != names:
            self._frozen_for = names
            self._frozen_positions = np.array(sorted(self._position[name] for name in names), np.intp)
        return self._frozen_positions

    def optimizer_state(self, optimizer: Optimizer) -> dict:
        """name -> the optimizer's quantities for that parameter after the last step (none for a frozen one)."""
        vectors = optimizer.state.get("parameters", {})
        frozen = set(optimizer.config.frozen)
        return {name: {key: float(vector[self._position[name]]) if np.ndim(vector) else float(vector)
                       for key, vector in vectors.items()}
                for name in self.order if name not in frozen and vectors}


def multiply_add(a, b, c):
    """a b + c for arrays, as a fused multiply-add where it matters: the product's rounding error (Dekker's
    exact product) is added back, so that a difference of nearly equal numbers, c - a b, is rounded once.

    >>> float(multiply_add(np.array([0.1]), np.array([0.1]), np.array([-0.01]))[0])
    9.020562075079397e-19
    """
    a, b, c = np.asarray(a, float), np.asarray(b, float), np.asarray(c, float)
    product = a * b
    with np.errstate(over="ignore", invalid="ignore"):
        split_a, split_b = a * 134217729.0, b * 134217729.0  # Veltkamp's split: 2^27 + 1
        a_high = split_a - (split_a - a)
        b_high = split_b - (split_b - b)
        a_low, b_low = a - a_high, b - b_high
        error = ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low
        result = (product + c) + error
    return np.where(np.isfinite(result), result, product + c)
