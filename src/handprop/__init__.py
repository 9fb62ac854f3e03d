"""handprop: a small neural network worked out the way a person does by hand.

>>> import handprop
>>> solution = handprop.solve(handprop.load("homework"))
>>> round(solution.loss, 4)
0.644
"""

from .errors import HandpropError
from .problem import Problem, load
from .records import NodeRecord, ParameterRecord, Solution
from .render import render
from .solver import solve

__version__ = "0.1.0"
__all__ = ["HandpropError", "NodeRecord", "ParameterRecord", "Problem", "Solution", "load", "render", "solve",
           "__version__"]
