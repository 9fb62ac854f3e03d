"""The decision boundary of a 2-input classification network: its predicted class over a grid of the plane.

The grid spans the data's range with a margin around it; its predictions are the NumPy engine's own forward pass
(engine/numpy_engine.py's outputs) at the given parameters, so the plot shows what training computed, not a
second implementation of the network. render/boundary_plot.py draws it.
"""

from __future__ import annotations

from .core.frozen import dataclass, replace

from .core.errors import HandpropError

MARGIN = 0.15  # of each axis's span, on each side: the points do not sit on the plot's edge
RESOLUTION = 160  # grid points along each axis


@dataclass(frozen=True)
class BoundaryGrid:
    """The plane's predictions and the data, for a plot; arrays are NumPy's."""

    inputs: tuple  # the two input names: the x and y axes
    classes: tuple  # each class's name, e.g. ("t1", "t2"), or for one binary output ("t1 = 0", "t1 = 1")
    x: object  # (columns,): the grid's first input
    y: object  # (rows,): the grid's second input
    probabilities: object  # (rows, columns, classes): each class's probability at each grid point
    points: object  # (samples, 2): the data's inputs
    labels: object  # (samples,): each sample's class, an index into classes

    @property
    def predicted(self):
        """(rows, columns): the predicted class at each grid point."""
        return self.probabilities.argmax(axis=2)


def check_boundary(problem, option: str = "--boundary") -> None:
    """Refuse, in one line naming what the problem is instead, a problem without a 2-input classification network.

    >>> from handprop import load
    >>> check_boundary(load("xor"))
    >>> check_boundary(load("regression_batch"))
    Traceback (most recent call last):
    ...
    handprop.core.errors.HandpropError: ...
    """
    network = problem.network
    if network is None:
        why = "a network of layer kinds" if problem.stack is not None else "a problem written as equations"
    elif len(network.inputs) != 2:
        why = f"a network with {len(network.inputs)} input{'s' if len(network.inputs) != 1 else ''}"
    elif network.classification is None:
        why = f"a regression, with the {network.loss} loss"
    else:
        return
    raise HandpropError(problem.source, None, f"{option} needs a classification problem with 2 inputs: this is {why}",
                        "a layered network with 2 inputs and a softmax or one sigmoid output, as the moons and xor "
                        "examples")


def decision_grid(problem, parameters: dict, *, resolution: int = RESOLUTION, margin: float = MARGIN,
                  dtype: str = "float64") -> BoundaryGrid:
    """The predictions of the network at `parameters` over a grid around the problem's data.

    >>> from handprop import load
    >>> grid = decision_grid(load("xor"), load("xor").parameters, resolution=5)
    >>> grid.probabilities.shape, grid.classes
    ((5, 5, 2), ('t1 = 0', 't1 = 1'))
    """
    import numpy as np

    from .engine.choice import make_engine

    check_boundary(problem)
    network = problem.network
    first, second = network.inputs
    points = np.column_stack([np.asarray(problem.data[first], float), np.asarray(problem.data[second], float)])
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high > low, high - low, 1.0)  # one sample, or a column of equal values: a unit square
    low, high = low - margin * span, high + margin * span
    x, y = np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    xx, yy = np.meshgrid(x, y)  # (rows, columns): row i is y[i]
    data = {first: tuple(xx.ravel()), second: tuple(yy.ravel())}
    data.update({target: (0.0,) * xx.size for target in network.targets})  # unused: only the outputs are read
    grid_problem = replace(problem, data=data, batch_size=xx.size)
    engine = make_engine(grid_problem, engine="numpy", dtype=dtype)
    engine.set_parameters(parameters)
    outputs = np.asarray(engine.outputs(), float)  # (rows * columns, outputs)
    targets = np.column_stack([np.asarray(problem.data[t], float) for t in network.targets])  # (samples, outputs)
    if network.classification == "binary":  # one sigmoid output: y is the probability of t = 1
        probabilities = np.column_stack([1.0 - outputs[:, 0], outputs[:, 0]])
        labels = (targets[:, 0] > 0.5).astype(int)
        classes = (f"{network.targets[0]} = 0", f"{network.targets[0]} = 1")
    else:
        probabilities, labels, classes = outputs, targets.argmax(axis=1), tuple(network.targets)
    return BoundaryGrid((first, second), classes, x, y, probabilities.reshape(resolution, resolution, -1), points,
                        labels)
