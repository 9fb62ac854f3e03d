"""handprop: a small neural network worked out the way a person does by hand.

>>> import handprop
>>> solution = handprop.solve(handprop.load("homework"))
>>> round(solution.loss, 4)
0.644
"""

from .api import from_equations, from_layers, load
from .errors import HandpropError
from .problem import Problem
from .records import NodeRecord, ParameterRecord, Solution
from .render import diagram, explain, render
from .solver import solve
from .torch_interop import from_torch, to_torch

__version__ = "0.1.0"
__all__ = ["HandpropError", "NodeRecord", "ParameterRecord", "Problem", "Solution", "diagram", "explain",
           "from_equations", "from_layers", "from_torch", "load", "render", "solve", "to_torch", "__version__"]
