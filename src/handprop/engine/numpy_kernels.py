"""The NumPy engine's kernels: each activation's forward and backward, and each loss, on a whole batch.

Every kernel writes into the preallocated matrices of one layer (LayerBuffers) and allocates nothing
the size of a layer. Conventions are the op table's (core/ops.py) and torch.nn.functional's: relu'(0) = 0,
leaky_relu'(0) = alpha, softplus linear above 20, softmax with the row maximum subtracted; cross-entropy
of softmax outputs from the logits (log-softmax) where core/fusion.py rewrites the program so. The
per-sample loss formulas are problem/layered.py's LOSSES.

Shapes: every matrix here is (batch, units) unless its comment says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from ..core.frozen import dataclass

import numpy as np

from ..core.functions import (BCE_EPSILON, BCE_LOG_FLOOR, GELU_PDF, GELU_TANH_BETA, GELU_TANH_KAPPA,
                              HARDSIGMOID_SLOPE, SELU_NEGATIVE, SELU_SCALE, SOFTPLUS_THRESHOLD, SQRT1_2)


class LayerBuffers:
    """One layer's matrices for one batch size; `a` is `h` itself for the identity.

    Each (batch, units) matrix is stored unit by unit (Fortran order): its transpose, (units, batch), is
    C-contiguous, and the engine's products write into that transpose (see numpy_engine.py). With order="C",
    sample by sample, as the grids of numpy_stack.py.
    """

    def __init__(self, batch: int, units: int, kernel: "Kernel", dtype, *, output: bool, order: str = "F"):
        def matrix(kind=dtype):
            return np.empty((batch, units), kind, order=order)

        self.h = matrix()  # pre-activation
        self.a = self.h if kernel.in_place else matrix()
        self.delta = matrix()  # dL/dh, and dL/da on its way down
        self.scratch = matrix()
        self.scratch2 = matrix() if output or kernel.scratches > 1 else None
        self.scratch3 = matrix() if kernel.scratches > 2 else None
        self.mask = matrix(bool)
        self.row_max = np.empty((batch, 1), dtype)  # softmax: the subtracted maximum
        self.row_sum = np.empty((batch, 1), dtype)  # softmax: sum of the exponentials
        self.row_dot = np.empty((batch, 1), dtype)


@dataclass(frozen=True)
class Kernel:
    """An activation's forward (u.a from u.h) and backward (u.delta *= f'(h), in place), side by side; each
    takes the layer's buffers and the op's settings as keywords."""

    forward: Callable
    backward: Callable
    in_place: bool = False  # the identity: a is h itself
    scratches: int = 1  # scratch matrices the kernels need
    # f(x) = (1 + tanh(x / 2)) / 2, an identity (the sigmoid's): a caller whose rounding allows it (float32) may
    # compute f with the tanh kernel of a neighbouring block, its input halved
    half_tanh: bool = False


def _sigmoid(x, out, scratch, mask) -> None:
    # As ops._sigmoid, split by sign so that exp never overflows: 1/(1 + e^-x) for x >= 0, e^x/(1 + e^x) below.
    np.greater_equal(x, 0.0, out=mask)
    np.abs(x, out=scratch)
    np.negative(scratch, out=scratch)
    np.exp(scratch, out=scratch)  # e^-|x|, at most 1
    np.add(scratch, 1.0, out=out)
    np.maximum(scratch, mask, out=scratch)  # the numerator: 1 where x >= 0, e^x below
    np.divide(scratch, out, out=out)


def _nothing(u: LayerBuffers) -> None:
    pass  # the identity: u.a is u.h, and its derivative is 1


def _relu_forward(u: LayerBuffers) -> None:
    np.maximum(u.h, 0.0, out=u.a)


def _relu_backward(u: LayerBuffers) -> None:
    # relu'(h) = 1 where h > 0, else 0 (relu'(0) = 0, as the homework's u(0) = 0): the sign of a = max(h, 0),
    # a float, which multiplies the delta without the cast of a boolean mask (half the time of h > 0 at 32 x 16)
    np.sign(u.a, u.scratch)  # out given by position (less overhead per call), here and in tanh's forward
    np.multiply(u.delta, u.scratch, u.delta)


def _leaky_relu_forward(u: LayerBuffers, alpha: float) -> None:
    # x if x > 0 else alpha*x is max(x, alpha*x) for alpha <= 1 and min(x, alpha*x) above.
    np.multiply(u.h, alpha, out=u.a)
    (np.maximum if alpha <= 1 else np.minimum)(u.h, u.a, out=u.a)


def _leaky_relu_backward(u: LayerBuffers, alpha: float) -> None:
    np.less_equal(u.h, 0.0, out=u.mask)  # leaky_relu'(0) = alpha
    np.multiply(u.delta, alpha, out=u.delta, where=u.mask)


def _sigmoid_forward(u: LayerBuffers) -> None:
    _sigmoid(u.h, u.a, u.scratch, u.mask)


def _sigmoid_backward(u: LayerBuffers) -> None:
    np.subtract(1.0, u.a, out=u.scratch)
    np.multiply(u.a, u.scratch, out=u.scratch)  # y (1 - y)
    np.multiply(u.delta, u.scratch, out=u.delta)


def _tanh_forward(u: LayerBuffers) -> None:
    np.tanh(u.h, u.a)


def _tanh_backward(u: LayerBuffers) -> None:
    np.subtract(1.0, u.a, out=u.scratch)
    np.multiply(u.delta, u.scratch, out=u.delta)
    np.add(u.a, 1.0, out=u.scratch)
    np.multiply(u.delta, u.scratch, out=u.delta)  # 1 - y^2 as (1 - y)(1 + y), as the op table


def _softplus_forward(u: LayerBuffers) -> None:
    np.minimum(u.h, SOFTPLUS_THRESHOLD, out=u.scratch)  # no overflow where x itself is taken
    np.exp(u.scratch, out=u.scratch)
    np.log1p(u.scratch, out=u.a)
    np.greater(u.h, SOFTPLUS_THRESHOLD, out=u.mask)
    np.copyto(u.a, u.h, where=u.mask)


def _softplus_backward(u: LayerBuffers) -> None:
    _sigmoid(u.h, u.scratch, u.scratch2, u.mask)
    np.greater(u.h, SOFTPLUS_THRESHOLD, out=u.mask)
    np.maximum(u.scratch, u.mask, out=u.scratch)  # 1 above the threshold (sigmoid <= 1), sigmoid(x) below
    np.multiply(u.delta, u.scratch, out=u.delta)


def _elu_forward(u: LayerBuffers, alpha: float) -> None:
    _scaled_exponential(u, u.a, alpha)  # (e^x - 1) alpha, as torch
    np.greater(u.h, 0.0, out=u.mask)
    np.copyto(u.a, u.h, where=u.mask)


def _elu_backward(u: LayerBuffers, alpha: float) -> None:
    np.minimum(u.h, 0.0, out=u.scratch)
    np.exp(u.scratch, out=u.scratch)
    np.multiply(u.scratch, alpha, out=u.scratch)  # alpha e^x, alpha at 0
    np.greater(u.h, 0.0, out=u.mask)
    np.copyto(u.scratch, 1.0, where=u.mask)
    np.multiply(u.delta, u.scratch, out=u.delta)


def _scaled_exponential(u: LayerBuffers, out, negative: float, inner: float = 1.0) -> None:
    """out = (e^(x inner) - 1) negative at and below 0, x above: ELU's family (torch's elu kernel, with expm1)."""
    np.minimum(u.h, 0.0, out=u.scratch)  # e^x only where x <= 0: no overflow above
    np.multiply(u.scratch, inner, out=u.scratch)
    np.expm1(u.scratch, out=u.scratch)
    np.multiply(u.scratch, negative, out=out)


def _selu_forward(u: LayerBuffers) -> None:
    _scaled_exponential(u, u.a, SELU_NEGATIVE)
    np.greater(u.h, 0.0, out=u.mask)
    np.multiply(u.h, SELU_SCALE, out=u.scratch)
    np.copyto(u.a, u.scratch, where=u.mask)


def _selu_backward(u: LayerBuffers) -> None:
    np.minimum(u.h, 0.0, out=u.scratch)
    np.exp(u.scratch, out=u.scratch)
    np.multiply(u.scratch, SELU_NEGATIVE, out=u.scratch)  # scale alpha e^x, at 0 too
    np.greater(u.h, 0.0, out=u.mask)
    np.copyto(u.scratch, SELU_SCALE, where=u.mask)
    np.multiply(u.delta, u.scratch, out=u.delta)


def _celu_forward(u: LayerBuffers, alpha: float) -> None:
    _scaled_exponential(u, u.a, alpha, 1.0 / alpha)
    np.greater(u.h, 0.0, out=u.mask)
    np.copyto(u.a, u.h, where=u.mask)


def _celu_backward(u: LayerBuffers, alpha: float) -> None:
    inverse = 1.0 / float(np.float32(alpha))  # as torch, and the op table: 1/alpha from alpha in single precision
    np.minimum(u.h, 0.0, out=u.scratch)
    np.multiply(u.scratch, inverse, out=u.scratch)
    np.exp(u.scratch, out=u.scratch)
    np.multiply(u.scratch, inverse * alpha, out=u.scratch)  # e^(x/alpha), as torch's (1/alpha) alpha e^(x/alpha)
    np.greater(u.h, 0.0, out=u.mask)
    np.copyto(u.scratch, 1.0, where=u.mask)
    np.multiply(u.delta, u.scratch, out=u.delta)


_erf = np.frompyfunc(math.erf, 1, 1)  # NumPy has no erf: the standard library's, element by element


def _gelu_tanh_inner(u: LayerBuffers, out) -> None:
    """out = tanh(sqrt(2/pi) (x + 0.044715 x^3))."""
    np.multiply(u.h, u.h, out=out)
    np.multiply(out, u.h, out=out)
    np.multiply(out, GELU_TANH_KAPPA, out=out)
    np.add(out, u.h, out=out)
    np.multiply(out, GELU_TANH_BETA, out=out)
    np.tanh(out, out=out)


def _gelu_forward(u: LayerBuffers, approximate: str) -> None:
    if approximate == "tanh":
        _gelu_tanh_inner(u, u.scratch)
    else:
        np.multiply(u.h, SQRT1_2, out=u.scratch)
        np.copyto(u.scratch, _erf(u.scratch), casting="unsafe")
    np.add(u.scratch, 1.0, out=u.scratch)
    np.multiply(u.h, 0.5, out=u.a)
    np.multiply(u.a, u.scratch, out=u.a)  # x/2 (1 + erf(x/sqrt 2)), or its tanh form


def _gelu_backward(u: LayerBuffers, approximate: str) -> None:
    if approximate == "tanh":
        _gelu_tanh_inner(u, u.scratch)  # t
        np.subtract(1.0, u.scratch, out=u.scratch2)
        np.add(u.scratch, 1.0, out=u.scratch3)  # 1 + t
        np.multiply(u.scratch2, u.scratch3, out=u.scratch2)  # 1 - t^2 as (1 - t)(1 + t), as torch
        np.multiply(u.h, u.h, out=u.scratch)
        np.multiply(u.scratch, 3.0 * GELU_TANH_KAPPA, out=u.scratch)
        np.add(u.scratch, 1.0, out=u.scratch)
        np.multiply(u.scratch, GELU_TANH_BETA, out=u.scratch)  # the inner function's derivative
        np.multiply(u.scratch2, u.scratch, out=u.scratch2)
        np.multiply(u.scratch2, u.h, out=u.scratch2)
        np.multiply(u.scratch2, 0.5, out=u.scratch2)  # x/2 (1 - t^2) inner'
        np.multiply(u.scratch3, 0.5, out=u.scratch)  # (1 + t)/2
    else:
        np.multiply(u.h, u.h, out=u.scratch2)
        np.multiply(u.scratch2, -0.5, out=u.scratch2)
        np.exp(u.scratch2, out=u.scratch2)
        np.multiply(u.scratch2, GELU_PDF, out=u.scratch2)  # the normal density
        np.multiply(u.scratch2, u.h, out=u.scratch2)  # x phi(x)
        np.multiply(u.h, SQRT1_2, out=u.scratch)
        np.copyto(u.scratch, _erf(u.scratch), casting="unsafe")
        np.add(u.scratch, 1.0, out=u.scratch)
        np.multiply(u.scratch, 0.5, out=u.scratch)  # Phi(x)
    np.add(u.scratch, u.scratch2, out=u.scratch)
    np.multiply(u.delta, u.scratch, out=u.delta)


def _silu_forward(u: LayerBuffers) -> None:
    _sigmoid(u.h, u.a, u.scratch, u.mask)
    np.multiply(u.a, u.h, out=u.a)  # x sigmoid(x)


def _silu_backward(u: LayerBuffers) -> None:
    _sigmoid(u.h, u.scratch, u.scratch2, u.mask)  # s
    np.subtract(1.0, u.scratch, out=u.scratch2)
    np.multiply(u.scratch2, u.h, out=u.scratch2)
    np.add(u.scratch2, 1.0, out=u.scratch2)
    np.multiply(u.scratch, u.scratch2, out=u.scratch)  # s (1 + x (1 - s))
    np.multiply(u.delta, u.scratch, out=u.delta)


def _tanh_softplus(u: LayerBuffers, out) -> None:
    """out = tanh(ln(1 + e^x)); above 20 it is 1 to the last bit, and e^x is not taken there."""
    np.minimum(u.h, SOFTPLUS_THRESHOLD, out=out)
    np.exp(out, out=out)
    np.log1p(out, out=out)
    np.tanh(out, out=out)


def _mish_forward(u: LayerBuffers) -> None:
    _tanh_softplus(u, u.a)
    np.multiply(u.a, u.h, out=u.a)


def _mish_backward(u: LayerBuffers) -> None:
    _tanh_softplus(u, u.scratch3)  # t
    _sigmoid(u.h, u.scratch, u.scratch2, u.mask)
    np.multiply(u.scratch, u.h, out=u.scratch)  # x sigmoid(x)
    np.multiply(u.scratch3, u.scratch3, out=u.scratch2)
    np.subtract(1.0, u.scratch2, out=u.scratch2)
    np.multiply(u.scratch, u.scratch2, out=u.scratch)
    np.add(u.scratch, u.scratch3, out=u.scratch)  # t + x sigmoid(x) (1 - t^2)
    np.multiply(u.delta, u.scratch, out=u.delta)


def _softsign_forward(u: LayerBuffers) -> None:
    np.abs(u.h, out=u.scratch)
    np.add(u.scratch, 1.0, out=u.scratch)
    np.divide(u.h, u.scratch, out=u.a)


def _softsign_backward(u: LayerBuffers) -> None:
    # As torch's autograd of x / (|x| + 1): 1/b - ((x/b)/b) sign(x), b = |x| + 1.
    np.abs(u.h, out=u.scratch2)
    np.add(u.scratch2, 1.0, out=u.scratch)  # b
    np.divide(u.scratch2, u.scratch, out=u.scratch2)
    np.divide(u.scratch2, u.scratch, out=u.scratch2)  # ((x/b)/b) sign(x) is (|x|/b)/b to the last bit
    np.divide(1.0, u.scratch, out=u.scratch)
    np.subtract(u.scratch, u.scratch2, out=u.scratch)
    np.multiply(u.delta, u.scratch, out=u.delta)


def _hardtanh_forward(u: LayerBuffers, min_val: float, max_val: float) -> None:
    np.maximum(u.h, min_val, out=u.a)
    np.minimum(u.a, max_val, out=u.a)


def _hardtanh_backward(u: LayerBuffers, min_val: float, max_val: float) -> None:
    np.greater(u.h, min_val, out=u.mask)
    np.multiply(u.delta, u.mask, out=u.delta)
    np.less(u.h, max_val, out=u.mask)  # 0 at both corners, as torch
    np.multiply(u.delta, u.mask, out=u.delta)


def _hardsigmoid_forward(u: LayerBuffers) -> None:
    np.add(u.h, 3.0, out=u.a)
    np.maximum(u.a, 0.0, out=u.a)
    np.minimum(u.a, 6.0, out=u.a)
    np.divide(u.a, 6.0, out=u.a)


def _hardsigmoid_backward(u: LayerBuffers) -> None:
    np.greater(u.h, -3.0, out=u.mask)
    np.multiply(u.delta, u.mask, out=u.delta)
    np.less(u.h, 3.0, out=u.mask)
    np.multiply(u.delta, u.mask, out=u.delta)
    np.multiply(u.delta, HARDSIGMOID_SLOPE, out=u.delta)


def _logsigmoid_forward(u: LayerBuffers) -> None:
    np.abs(u.h, out=u.scratch)
    np.negative(u.scratch, out=u.scratch)
    np.exp(u.scratch, out=u.scratch)
    np.log1p(u.scratch, out=u.scratch)
    np.minimum(u.h, 0.0, out=u.a)
    np.subtract(u.a, u.scratch, out=u.a)  # min(x, 0) - ln(1 + e^-|x|)


def _logsigmoid_backward(u: LayerBuffers) -> None:
    np.abs(u.h, out=u.scratch)
    np.negative(u.scratch, out=u.scratch)
    np.exp(u.scratch, out=u.scratch)  # b = e^-|x|
    np.add(u.scratch, 1.0, out=u.scratch2)
    np.divide(u.scratch, u.scratch2, out=u.scratch)  # b/(1 + b): the derivative at and above 0
    np.less(u.h, 0.0, out=u.mask)
    np.subtract(1.0, u.scratch, out=u.scratch2)
    np.copyto(u.scratch, u.scratch2, where=u.mask)  # 1 - b/(1 + b) below 0
    np.multiply(u.delta, u.scratch, out=u.delta)


def _softmax_forward(u: LayerBuffers) -> None:
    np.maximum.reduce(u.h, axis=1, keepdims=True, out=u.row_max)  # (batch, 1)
    np.subtract(u.h, u.row_max, out=u.a)
    np.exp(u.a, out=u.a)
    np.add.reduce(u.a, axis=1, keepdims=True, out=u.row_sum)  # (batch, 1)
    np.divide(u.a, u.row_sum, out=u.a)


def _softmax_backward(u: LayerBuffers) -> None:
    # dL/do = y * (dL/dy - sum_i dL/dy_i y_i), the Jacobian y_i (delta_ij - y_j) applied to dL/dy.
    np.multiply(u.delta, u.a, out=u.scratch)
    np.add.reduce(u.scratch, axis=1, keepdims=True, out=u.row_dot)  # (batch, 1)
    np.subtract(u.delta, u.row_dot, out=u.delta)
    np.multiply(u.delta, u.a, out=u.delta)


# The activations, by op name: a test fails when an activation of the op table has no kernel here.
ACTIVATIONS = {
    "identity": Kernel(_nothing, _nothing, in_place=True),
    "relu": Kernel(_relu_forward, _relu_backward),
    "leaky_relu": Kernel(_leaky_relu_forward, _leaky_relu_backward),
    "sigmoid": Kernel(_sigmoid_forward, _sigmoid_backward, half_tanh=True),
    "tanh": Kernel(_tanh_forward, _tanh_backward),
    "softplus": Kernel(_softplus_forward, _softplus_backward, scratches=2),
    "elu": Kernel(_elu_forward, _elu_backward),
    "selu": Kernel(_selu_forward, _selu_backward),
    "celu": Kernel(_celu_forward, _celu_backward),
    "gelu": Kernel(_gelu_forward, _gelu_backward, scratches=3),
    "silu": Kernel(_silu_forward, _silu_backward, scratches=2),
    "mish": Kernel(_mish_forward, _mish_backward, scratches=3),
    "softsign": Kernel(_softsign_forward, _softsign_backward, scratches=2),
    "hardtanh": Kernel(_hardtanh_forward, _hardtanh_backward),
    "hardsigmoid": Kernel(_hardsigmoid_forward, _hardsigmoid_backward),
    "logsigmoid": Kernel(_logsigmoid_forward, _logsigmoid_backward, scratches=2),
    "softmax": Kernel(_softmax_forward, _softmax_backward),
}


# Each loss: the batch's mean loss, and u.delta = (1/batch) dL_k/dy for each sample k (the output layer's
# activation backward follows). `t` is (batch, n_out).

def softmax_cross_entropy(u: LayerBuffers, t, batch: int, *, unit_targets: bool = False) -> float:
    """Cross-entropy of softmax outputs from the logits, as torch's cross_entropy; u.delta = dL/do / batch.

    `unit_targets`: every target row sums to exactly 1 (one-hot rows do), so dL/do = y - t.
    """
    # ln y = o - logsumexp(o), from the softmax's own row maximum and sum: exact where y rounds to 0.
    np.log(u.row_sum, out=u.row_dot)
    np.add(u.row_dot, u.row_max, out=u.row_dot)  # (batch, 1) logsumexp(o)
    np.subtract(u.h, u.row_dot, out=u.scratch)  # ln y
    np.multiply(u.scratch, t, out=u.scratch)
    loss = -float(u.scratch.sum()) / batch
    # dL/do = y sum(t) - t: the softmax's Jacobian applied to dL/dy = -t/y, written out.
    if unit_targets:
        np.subtract(u.a, t, out=u.delta)
    else:
        np.add.reduce(t, axis=1, keepdims=True, out=u.row_dot)  # (batch, 1) sum of t
        np.multiply(u.a, u.row_dot, out=u.delta)
        np.subtract(u.delta, t, out=u.delta)
    np.multiply(u.delta, 1.0 / batch, out=u.delta)
    return loss


def _cross_entropy(u: LayerBuffers, t, batch: int) -> float:
    np.log(u.a, out=u.scratch)
    np.multiply(u.scratch, t, out=u.scratch)
    loss = -float(u.scratch.sum()) / batch
    np.divide(t, u.a, out=u.delta)
    np.multiply(u.delta, -1.0 / batch, out=u.delta)  # dL/dy = -t/y
    return loss


def _binary_cross_entropy(u: LayerBuffers, t, batch: int) -> float:
    """torch's binary cross-entropy, as the op table's bce: -(t max(ln y, -100) + (1 - t) max(ln(1 - y), -100)),
    ln(1 - y) as log1p(-y), ln 0 as -100; dL/dy = (y - t) / max(y (1 - y), eps), averaged over the outputs."""
    n_out = u.a.shape[1]
    logs, complements = u.scratch, u.scratch2
    np.log(u.a, out=logs)  # ln 0 = -inf (its warning silenced by the caller), clamped next
    np.maximum(logs, BCE_LOG_FLOOR, out=logs)
    np.multiply(logs, t, out=logs)
    total = float(logs.sum())  # sum of t ln y
    np.negative(u.a, out=complements)
    np.log1p(complements, out=complements)
    np.maximum(complements, BCE_LOG_FLOOR, out=complements)
    np.subtract(1.0, t, out=u.delta)  # delta is free until the gradient is written into it
    np.multiply(complements, u.delta, out=complements)
    total += float(complements.sum())  # plus sum of (1 - t) ln(1 - y)
    np.subtract(1.0, u.a, out=logs)
    np.multiply(logs, u.a, out=logs)
    np.maximum(logs, BCE_EPSILON, out=logs)  # max(y (1 - y), eps)
    np.subtract(u.a, t, out=u.delta)
    np.divide(u.delta, logs, out=u.delta)
    np.multiply(u.delta, 1.0 / (n_out * batch), out=u.delta)
    return -total / (n_out * batch)


def _squares(u: LayerBuffers, t, batch: int, divisor: float, slope: float) -> float:
    """sum (y - t)^2 / divisor per sample; dL/dy = slope (y - t)."""
    np.subtract(u.a, t, out=u.scratch)  # y - t
    loss = float(np.vdot(u.scratch.T, u.scratch.T)) / divisor / batch  # .T: C-contiguous, so no copy
    np.multiply(u.scratch, slope / batch, out=u.delta)
    return loss


def _mse(u: LayerBuffers, t, batch: int) -> float:
    n_out = u.a.shape[1]
    return _squares(u, t, batch, float(n_out), 2.0 / n_out)


def _half_sse(u: LayerBuffers, t, batch: int) -> float:
    return _squares(u, t, batch, 2.0, 1.0)


LOSSES = {"cross_entropy": _cross_entropy, "binary_cross_entropy": _binary_cross_entropy, "mse": _mse,
          "half_sse": _half_sse}
