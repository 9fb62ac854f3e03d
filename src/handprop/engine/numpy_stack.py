"""The NumPy engine for networks of layer kinds: convolution, pooling, flatten, dense, recurrent layers, attention,
layer-norm and dropout (numpy_stack_sequence.py), a whole batch at a time.

Scope: a stack (problem/kinds/stack.py) of the kinds numpy_stack_kernels.KERNELS computes, any activation of
numpy_kernels.ACTIVATIONS, any loss. It gives the scalar engine's loss, gradients and updates to rounding (1e-12
relative in float64) without writing out the equations; a stack holding another kind is refused with its name,
and `auto` keeps it on the scalar engine (engine/choice.py). The layers' data
(initial states, dropout masks) are read as more columns after the inputs, and each such kernel is given its own.
A network with batch-norm is lowered over its whole batch as one sample (kinds/stack.py): this engine reads that
sample back as its batch, every sample at once.

It is the dense NumPy engine (numpy_engine.py) with other layers: the same flat vectors of parameters and
gradients (here in the program's own order: each tensor in C order, as PyTorch's state_dict), the same optimizer
steps, snapshots and checks, inherited; the same activation and loss kernels, softmax and cross-entropy fused
from the logits where core/fusion.py would fuse them. Each layer's values are (batch, entries) matrices stored
sample by sample, so a layer reads its input as a grid (batch, C, H, W) without a copy, and a flatten is no work.

Backward, from the last layer: delta = dL/dh of its entries; the layer's kernel gives its parameters' gradients
and dL/d(its input), which the activation below turns into that layer's delta; the first layer gives no
gradient of the inputs.
"""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import numpy as np

from ..core.errors import HandpropError
from ..core.fusion import fused_logs
from ..problem import layered
from ..problem.kinds import KINDS
from .numpy_batches import Samples, cached
from .numpy_engine import NumpyEngine
from .numpy_kernels import ACTIVATIONS, LOSSES, LayerBuffers, softmax_cross_entropy
from .numpy_stack_kernels import KERNELS


class _Layer:
    """A layer that computes: its kernel, its activation's kernels and settings, and the shapes it takes and
    gives (one sample's)."""

    def __init__(self, kernel, layer, activation):
        self.kernel = kernel
        self.activation = ACTIVATIONS[activation]
        self.settings = dict(layer.params)  # {"alpha": 0.01}
        self.shape_in, self.shape_out = layer.shape_in, layer.shape_out
        self.units = int(np.prod(layer.shape_out))


class _Coupled:
    """A coupled network's data (problem/kinds/stack.py: one sample holding every sample's x[s,...], layer data and
    t[s,...]) as the engine's batch, one row per sample. Its rows are that one sample: every batch is the whole."""

    def __init__(self, stack, data: dict, dtype):
        from ..problem.kinds.stack import in_sample

        samples = range(1, stack.batch + 1)
        self.X = np.array([[data[in_sample(name, s)][0] for name in stack.inputs + stack.layer_data]
                           for s in samples], dtype)
        self.T = np.array([[data[name][0] for name in stack.sample_targets(s)] for s in samples], dtype)

    def batch(self, rows) -> tuple[np.ndarray, np.ndarray]:
        return self.X, self.T


def unsupported(stack) -> tuple | None:
    """The first layer this engine does not compute, as (its number, its type); None when it takes them all.

    >>> from handprop.problem.kinds.base import StackLayer
    >>> from handprop.problem.kinds.stack import Stack
    >>> unsupported(Stack((3,), (StackLayer("dense", (("units", 2), ("bias", True)), (3,), (2,)),), "mse")) is None
    True
    """
    for n, layer in enumerate(stack.layers, 1):
        if layer.type not in KERNELS:
            return n, layer.type
    return None


class NumpyStackEngine(NumpyEngine):
    """A stack's loss, gradients and optimizer steps, computed with NumPy arrays.

    >>> from handprop.problem.spec import from_dict
    >>> problem = from_dict({"network": {"input_shape": [1, 3, 3], "loss": "mse", "layers": [
    ...     {"type": "conv2d", "channels": 1, "kernel": 2, "activation": "relu"},
    ...     {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"}, {"units": 1}]},
    ...     "parameters": {"K1": [[[[1.0, 0.0], [0.0, 1.0]]]], "b1": [0.0], "W4": [[2.0]], "b4": [0.5]},
    ...     "data": {"x": [[[1, 2, 3], [4, 5, 6], [7, 8, 9]]], "t": [20.0]}})
    >>> engine = NumpyStackEngine(problem)
    >>> engine.loss_and_gradients(), engine.gradients()["K1[1,1,2,2]"]
    (72.25, 306.0)
    """

    name = "numpy"

    def __init__(self, problem, *, dtype: str = "float64"):
        stack = problem.stack
        if stack is None:
            raise ValueError(f"{problem.source}: the NumPy engine of layer kinds needs a network of them")
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype {dtype!r}: expected 'float64' or 'float32'")
        missing = unsupported(stack)
        if missing is not None:
            n, kind = missing
            raise HandpropError(None, "--engine numpy", f"the NumPy engine does not take {kind} layers "
                                f"(network.layers: layer {n})", "--engine scalar, or auto")
        self.stack = stack
        self.source = problem.source
        self.dtype = np.dtype(dtype)
        order = tuple(stack.parameter_order())
        data_names = stack.batch_data() if stack.batch else stack.inputs + stack.layer_data + stack.targets
        self.hold_parameters(problem, order, list(order), data_names)
        views, start = {}, 0  # tensor name -> (its values, its gradient), views into the flat vectors
        for tensor in stack.tensors():
            end = start + tensor.size
            views[tensor.name] = (self.theta[start:end].reshape(tensor.shape),
                                  self.gradient[start:end].reshape(tensor.shape))
            start = end
        self._layers = []
        start = len(stack.inputs)  # a layer's data (an initial state, a mask): its columns after the inputs
        for n, layer in enumerate(stack.layers, 1):
            if KERNELS[layer.type] is None:
                continue  # a flatten: the next layer reads the same values
            tensors = [views[tensor.name] for tensor in KINDS[layer.type].tensors(layer, n)]
            made = _Layer(KERNELS[layer.type](layer, tensors, self.dtype), layer, layer.activation)
            end = start + len(KINDS[layer.type].data_names(layer, n))
            made.data = slice(start, end) if end > start else None
            start = end
            self._layers.append(made)
        # problem.data as Samples reads a layered network's: one row per sample, its inputs (and the layers' data)
        # then its targets
        if stack.batch:  # a coupled network (batch-norm): its one sample holds the batch, which is this engine's
            self.samples = _Coupled(stack, problem.data, self.dtype)
        else:
            self.samples = Samples(SimpleNamespace(network=SimpleNamespace(inputs=stack.inputs + stack.layer_data,
                                                                           targets=stack.targets),
                                                   data=problem.data), self.dtype)
        self._inputs = len(stack.inputs)
        self.X, self.T = self.samples.X, self.samples.T  # (samples, inputs and layer data), (samples, outputs)
        # The loss reads the last layer's entries as a dense network's output layer: fused as it would be.
        last = stack.layers[-1]
        output = layered.Layer(int(np.prod(stack.output_shape)), last.activation, last.params)
        head = layered.head(layered.LayeredNetwork(("x1",), (output,), stack.loss))
        self._fused = set(fused_logs(head)) == set(head.outputs)
        unit_targets = bool(np.all(self.T.sum(axis=1) == 1.0))  # one-hot rows: dL/do = y - t
        self._loss = partial(softmax_cross_entropy, unit_targets=unit_targets) if self._fused else LOSSES[stack.loss]
        self._buffers: dict = {}  # batch size -> each layer's matrices

    def _layer_buffers(self, batch: int) -> list[LayerBuffers]:
        last = len(self._layers) - 1
        return cached(self._buffers, batch, lambda: [
            LayerBuffers(batch, layer.units, layer.activation, self.dtype, output=i == last, order="C")
            for i, layer in enumerate(self._layers)])

    def _forward(self, x) -> list[LayerBuffers]:
        """x: (batch, inputs and the layers' data)."""
        batch = len(x)
        buffers = self._layer_buffers(batch)
        a_prev = x[:, :self._inputs]  # (batch, inputs), read as the first layer's grid
        for layer, u in zip(self._layers, buffers):
            if layer.data is not None:
                layer.kernel.data = x[:, layer.data]
            layer.kernel.forward(a_prev.reshape(batch, *layer.shape_in), u.h.reshape(batch, *layer.shape_out))
            layer.activation.forward(u, **layer.settings)
            a_prev = u.a
        return buffers

    def _loss_and_gradients(self, rows) -> float:
        x, buffers, output, loss = self.forward_loss(rows)
        batch = len(x)
        layers = self._layers
        if not self._fused:
            layers[-1].activation.backward(output, **layers[-1].settings)
        x = x[:, :self._inputs]
        for n in range(len(layers) - 1, -1, -1):
            layer, u = layers[n], buffers[n]
            below = buffers[n - 1] if n else None
            a_prev = below.a if n else x
            layer.kernel.backward(a_prev.reshape(batch, *layer.shape_in), u.delta.reshape(batch, *layer.shape_out),
                                  below.delta.reshape(batch, *layer.shape_in) if n else None)
            if n:
                layers[n - 1].activation.backward(below, **layers[n - 1].settings)
        return loss

    def outputs(self, rows=None) -> np.ndarray:
        """The network's outputs, (samples, outputs); a coupled network's as the scalar engine's, its one sample's."""
        found = super().outputs(rows)
        return found.reshape(1, -1) if self.stack.batch else found

    def accuracy(self, rows=None) -> float | None:
        """None, as the scalar engine's for a network of layer kinds: `train` logs the same columns on both."""
        return None
