"""The NumPy engine's data: the samples as matrices, and each step's batch of them.

A batch given as None is the whole data set. A slice, or consecutive indices (what a training schedule
without shuffling yields), is a view of the data: no copy. Other indices are gathered into buffers
made once per batch size.
"""

from __future__ import annotations

import numpy as np

SIZES_KEPT = 4  # batch sizes whose buffers stay cached (a full batch and a last, shorter one)


def cached(cache: dict, batch: int, make):
    """cache[batch], made by make() the first time; the oldest batch size is dropped beyond SIZES_KEPT."""
    found = cache.get(batch)
    if found is None:
        if len(cache) >= SIZES_KEPT:
            cache.pop(next(iter(cache)))
        found = cache[batch] = make()
    return found


def consecutive(rows, samples: int):
    """Rows that are consecutive indices as a slice; other rows as given.

    >>> consecutive([4, 5, 6], 10), consecutive([4, 6], 10), consecutive(range(2, 5), 10)
    (slice(4, 7, None), [4, 6], slice(2, 5, None))
    """
    if isinstance(rows, range) and rows.step == 1 and 0 <= rows.start <= rows.stop <= samples:
        return slice(rows.start, rows.stop)
    if (isinstance(rows, list) and rows and type(rows[0]) is int and 0 <= rows[0] <= samples - len(rows)
            and rows == list(range(rows[0], rows[0] + len(rows)))):
        return slice(rows[0], rows[0] + len(rows))
    return rows


class Samples:
    """A layered problem's inputs X (samples, inputs) and targets T (samples, outputs), and their batches.

    >>> from handprop import load
    >>> samples = Samples(load("homework"), np.dtype("float64"))
    >>> x, t = samples.batch([0])
    >>> x.tolist(), t.tolist()
    ([[0.26, 0.33]], [[1.0, 0.0]])
    """

    def __init__(self, problem, dtype: np.dtype):
        network = problem.network
        # problem.data holds one tuple per name; the engine wants one row per sample.
        columns = np.array([problem.data[name] for name in network.inputs + network.targets], dtype)
        self.X = np.ascontiguousarray(columns[:len(network.inputs)].T)  # (samples, inputs)
        self.T = np.ascontiguousarray(columns[len(network.inputs):].T)  # (samples, outputs)
        self._gathered: dict[int, tuple] = {}  # batch size -> (x, t) buffers for rows given as indices

    def batch(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """(x, t) for the rows: the data themselves, a view, or rows gathered into a buffer."""
        if rows is None:
            return self.X, self.T
        rows = consecutive(rows, len(self.X))
        if isinstance(rows, slice):
            x, t = self.X[rows], self.T[rows]
        else:
            rows = np.asarray(rows)
            if rows.dtype == bool:
                rows = np.flatnonzero(rows)
            x_buffer, t_buffer = cached(self._gathered, len(rows), lambda: (
                np.empty((len(rows), self.X.shape[1]), self.X.dtype),
                np.empty((len(rows), self.T.shape[1]), self.T.dtype)))
            x, t = np.take(self.X, rows, axis=0, out=x_buffer), np.take(self.T, rows, axis=0, out=t_buffer)
        if len(x) == 0:
            raise ValueError("rows selects no samples")
        return x, t
