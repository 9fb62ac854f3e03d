"""The NumPy kernels of the layer kinds over grids: convolution, max and average pooling, and dense, on a batch.

Each computes what its layer's equations say (problem/kinds/grids.py), for every sample at once, and its
backward pass: the gradients of its parameters and, unless it is the first layer, dL/d(its input). Shapes are
PyTorch's: a grid is (batch, C, L) or (batch, C, H, W); a convolution's kernel K is (O, C, *kernel).

Convolution, as im2col: the input (zero-padded) is read through numpy.lib.stride_tricks.sliding_window_view, a
view with one window per output position, and copied once into `cols`, sample by sample a (C x kernel, positions)
matrix (each row one tap of the kernel read at every position, so the copy moves whole rows of positions), kept
for the backward pass; then z = K cols for every sample in one batched product, written in z's own layout,
dL/dK = the sum over samples of delta cols.T and dL/dcols = K.T delta. The gradient of the input adds each tap's
row back onto the grid: one slice of the grid per kernel offset (kh x kw additions of a strided slice), never a
Python loop over positions.

Max-pooling is the running maximum over the window's entries in reading order, one kernel offset at a time over
every window (np.maximum keeps the first of equals). Its backward pass gives each window's gradient to its first
largest entry in reading order, ties included, as torch and the op `maxpool` (core/functions.py: first_largest,
to_first): scanning the offsets in that order, the first entry equal to the window's maximum takes the gradient.
Average pooling divides the window's sum by its size, as the equations' div.
"""

from __future__ import annotations

import math
from itertools import product
from types import SimpleNamespace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .numpy_batches import cached
from .numpy_stack_sequence import SEQUENCE_KERNELS


def windows(x: np.ndarray, kernel: tuple, stride: tuple) -> np.ndarray:
    """(batch, C, *positions, *kernel): a view of x (batch, C, *sizes), one window per output position.

    >>> windows(np.arange(5.0).reshape(1, 1, 5), (2,), (2,))[0, 0].tolist()
    [[0.0, 1.0], [2.0, 3.0]]
    """
    dims = len(kernel)
    view = sliding_window_view(x, kernel, axis=tuple(range(2, 2 + dims)))
    return view[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)]


def add_windows(dx: np.ndarray, d_windows: np.ndarray, kernel: tuple, stride: tuple) -> None:
    """dx (batch, C, *sizes) += each window's gradient d_windows (batch, C, *positions, *kernel) at its place.

    One strided slice of dx per kernel offset: within one offset the windows' entries are distinct places, so
    the additions of overlapping windows (a stride below the kernel) accumulate, as the chain rule's sum.

    >>> dx = np.zeros((1, 1, 3))
    >>> add_windows(dx, np.ones((1, 1, 2, 2)), (2,), (1,))
    >>> dx.tolist()
    [[[1.0, 2.0, 1.0]]]
    """
    positions = d_windows.shape[2:2 + len(kernel)]
    for offset in product(*(range(k) for k in kernel)):
        place = tuple(slice(i, i + s * (p - 1) + 1, s) for i, s, p in zip(offset, stride, positions))
        dx[(slice(None), slice(None)) + place] += d_windows[(Ellipsis,) + offset]


class Conv:
    """conv1d and conv2d (nn.Conv1d, nn.Conv2d): z[o, p] = sum over c, i of K[o, c, i] x[c, p s + i - pad] + b[o].

    K, b, dK, db are views into the engine's flat vectors (b and db None without a bias).
    """

    def __init__(self, layer, K, b, dK, db, dtype):
        self.K, self.b, self.dK, self.db = K, b, dK, db
        self.kernel, self.stride = layer.setting("kernel"), layer.setting("stride")
        self.padding = layer.setting("padding")
        self.shape_in, self.shape_out = layer.shape_in, layer.shape_out
        self.dims = len(self.kernel)
        self.dtype = dtype
        self.taps = layer.shape_in[0] * math.prod(self.kernel)  # C x kernel: one row of cols
        self.positions = math.prod(layer.shape_out[1:])
        dims = self.dims
        # the windows' view (batch, C, *positions, *kernel) read as (batch, C, *kernel, *positions)
        self._to_cols = (0, 1, *range(2 + dims, 2 + 2 * dims), *range(2, 2 + dims))
        self._buffers: dict = {}  # batch size -> SimpleNamespace of its matrices

    def _made(self, batch: int):
        padded = tuple(n + 2 * p for n, p in zip(self.shape_in[1:], self.padding))
        channels, O = self.shape_in[0], len(self.K)

        def make():
            d = self.dtype
            return SimpleNamespace(
                grid=np.zeros((batch, channels, *padded), d) if any(self.padding) else None,  # its rim stays 0
                cols=np.empty((batch, channels, *self.kernel, *self.shape_out[1:]), d),
                per_sample=np.empty((batch, O, self.taps), d),  # each sample's share of dL/dK
                d_cols=np.empty((batch, channels, *self.kernel, *self.shape_out[1:]), d),
                d_grid=np.empty((batch, channels, *padded), d))

        return cached(self._buffers, batch, make)

    def _interior(self, grid: np.ndarray) -> np.ndarray:
        return grid[(slice(None), slice(None)) + tuple(slice(p, p + n) for p, n in zip(self.padding,
                                                                                        self.shape_in[1:]))]

    def forward(self, x: np.ndarray, z: np.ndarray) -> None:
        """z (batch, O, *positions) from x (batch, C, *sizes)."""
        batch = len(x)
        u = self._made(batch)
        if u.grid is not None:
            np.copyto(self._interior(u.grid), x)
            x = u.grid
        # cols (batch, C, *kernel, *positions): sample by sample a (C x kernel, positions) matrix, each row one
        # tap of K's rows read at every position (rows of positions copied whole)
        np.copyto(u.cols, windows(x, self.kernel, self.stride).transpose(self._to_cols))
        O = len(self.K)
        z3 = z.reshape(batch, O, self.positions)
        np.matmul(self.K.reshape(O, self.taps), u.cols.reshape(batch, self.taps, self.positions), out=z3)
        if self.b is not None:
            z3 += self.b.reshape(O, 1)

    def backward(self, x: np.ndarray, delta: np.ndarray, dx) -> None:
        """dK, db from delta = dL/dz (batch, O, *positions), x read from the forward pass's cols; dx (batch, C,
        *sizes) = dL/dx unless None."""
        batch, O = len(delta), len(self.K)
        u = self._made(batch)
        cols = u.cols.reshape(batch, self.taps, self.positions)
        d3 = delta.reshape(batch, O, self.positions)
        np.matmul(d3, cols.transpose(0, 2, 1), out=u.per_sample)  # (batch, O, C x kernel)
        np.sum(u.per_sample, axis=0, out=self.dK.reshape(O, self.taps))
        if self.db is not None:
            np.sum(d3, axis=(0, 2), out=self.db)
        if dx is None:
            return
        np.matmul(self.K.reshape(O, self.taps).T, d3, out=u.d_cols.reshape(batch, self.taps, self.positions))
        d_grid = u.d_grid
        d_grid.fill(0.0)
        # each kernel offset's gradient back at its place: one strided slice of the grid per offset
        positions = self.shape_out[1:]
        for offset in product(*(range(k) for k in self.kernel)):
            place = tuple(slice(i, i + s * (p - 1) + 1, s) for i, s, p in zip(offset, self.stride, positions))
            d_grid[(slice(None), slice(None)) + place] += u.d_cols[(slice(None), slice(None)) + offset]
        np.copyto(dx, self._interior(d_grid) if any(self.padding) else d_grid)


class Pool:
    """maxpool1d/2d and avgpool1d/2d (nn.MaxPool2d, nn.AvgPool2d): no parameters, no padding.

    Max-pooling takes each window's largest entry, the running maximum over the window's entries in reading order
    (one kernel offset at a time over every window at once). The backward pass gives each window's gradient to its
    first largest entry in reading order (to_first: ties go to the first): scanning the offsets in that order, an
    entry equal to its window's maximum takes what is left of the window's gradient, and leaves 0 to the later ones.
    """

    def __init__(self, layer, how: str, dtype):
        self.how = how
        self.kernel, self.stride = layer.setting("kernel"), layer.setting("stride")
        self.shape_in, self.shape_out = layer.shape_in, layer.shape_out
        self.size = math.prod(self.kernel)
        self.offsets = list(product(*(range(k) for k in self.kernel)))  # reading order
        self.dtype = dtype
        # the windows tile the grid: each entry is in one window at most, and in one exactly when the windows
        # cover the grid
        self.disjoint = all(s >= k for s, k in zip(self.stride, self.kernel))
        self.covered = self.disjoint and all(s == k and n == k * p for s, k, n, p in zip(
            self.stride, self.kernel, self.shape_in[1:], self.shape_out[1:]))
        self._buffers: dict = {}  # batch size -> (a mask, what is left of each window's gradient, a share)

    def _made(self, batch: int):
        shape = (batch, *self.shape_out)
        return cached(self._buffers, batch, lambda: (np.empty(shape, bool), np.empty(shape, self.dtype),
                                                     np.empty(shape, self.dtype)))

    def _place(self, offset: tuple) -> tuple:
        """The grid's entries at this offset of every window: a strided slice."""
        return (slice(None), slice(None)) + tuple(slice(i, i + s * (p - 1) + 1, s) for i, s, p in
                                                  zip(offset, self.stride, self.shape_out[1:]))

    def forward(self, x: np.ndarray, p: np.ndarray) -> None:
        """p (batch, C, *positions) from x (batch, C, *sizes)."""
        if self.how == "avg":
            np.sum(windows(x, self.kernel, self.stride), axis=tuple(range(-len(self.kernel), 0)), out=p)
            np.divide(p, float(self.size), out=p)  # the window's sum over its size, as the equations' div
            return
        self._largest = p  # kept for the backward pass (the engine's buffer of this layer's values)
        np.copyto(p, x[self._place(self.offsets[0])])
        for offset in self.offsets[1:]:
            np.maximum(p, x[self._place(offset)], out=p)  # a tie keeps the first

    def backward(self, x: np.ndarray, delta: np.ndarray, dx) -> None:
        """dx (batch, C, *sizes) = dL/dx from delta = dL/dp (batch, C, *positions); nothing when dx is None."""
        if dx is None:
            return
        if not self.covered:
            dx.fill(0.0)
        if self.how == "avg":
            # d (sum / size) / d x_i = 1/size, as the div's local partial
            share = delta * (1.0 / self.size)
            for offset in self.offsets:
                dx[self._place(offset)] += share
            return
        here, left, share = self._made(len(delta))
        largest = self._largest
        np.copyto(left, delta)
        last = len(self.offsets) - 1
        for k, offset in enumerate(self.offsets):
            entry = x[self._place(offset)]
            np.equal(entry, largest, out=here)  # the window's largest: the first such takes the gradient
            if self.disjoint:
                target = dx[self._place(offset)]
                np.multiply(left, here, out=target)  # the adjoint times the local partial, 1 or 0
            else:
                np.multiply(left, here, out=share)
                dx[self._place(offset)] += share  # overlapping windows (stride < kernel) accumulate
                target = share
            if k < last:
                np.subtract(left, target, out=left)  # nothing is left of the window's gradient once taken


class Dense:
    """A dense layer among the kinds (nn.Linear): h = a_prev W.T + b, W (units, inputs)."""

    def __init__(self, layer, W, b, dW, db, dtype):
        self.W, self.b, self.dW, self.db = W, b, dW, db

    def forward(self, x: np.ndarray, h: np.ndarray) -> None:
        np.matmul(x, self.W.T, out=h)  # (batch, units)
        if self.b is not None:
            h += self.b

    def backward(self, x: np.ndarray, delta: np.ndarray, dx) -> None:
        np.matmul(delta.T, x, out=self.dW)  # (units, inputs)
        if self.b is not None:
            np.sum(delta, axis=0, out=self.db)
        if dx is not None:
            np.matmul(delta, self.W, out=dx)  # (batch, inputs)


def _pool(how: str):
    return lambda layer, tensors, dtype: Pool(layer, how, dtype)


def _with_parameters(kind):
    """A kernel made with its weight and bias, each a (values, gradient) pair of views (no bias: None)."""
    def make(layer, tensors, dtype):
        weight, bias = (list(tensors) + [(None, None)] * 2)[:2]
        return kind(layer, weight[0], bias[0], weight[1], bias[1], dtype)
    return make


# The layer kinds this engine computes, by type: (layer, its tensors as (values, gradient) pairs of views in the
# kind's order, dtype) -> its kernel. A flatten is None: it lists the same values in C order, which the next layer
# reads as its own shape, so it does no work. The sequence kinds and normalisations: numpy_stack_sequence.py.
KERNELS = {
    "dense": _with_parameters(Dense),
    "conv1d": _with_parameters(Conv),
    "conv2d": _with_parameters(Conv),
    "maxpool1d": _pool("max"),
    "maxpool2d": _pool("max"),
    "avgpool1d": _pool("avg"),
    "avgpool2d": _pool("avg"),
    "flatten": None,
    **SEQUENCE_KERNELS,
}
