"""handprop: a small neural network worked out the way a person does by hand.

>>> import handprop
>>> solution = handprop.solve(handprop.load("homework"))
>>> round(solution.loss, 4)
0.644
"""

from .api import from_equations, from_layers, load
from .core.errors import HandpropError
from .problem.spec import Problem
from .records import NodeRecord, ParameterRecord, Solution
from .render import diagram, explain, render
from .solver import solve

__version__ = "0.1.0"


def __getattr__(name: str):
    """from_torch and to_torch load with their module only when asked for (start-up time)."""
    if name in ("from_torch", "to_torch"):
        from .pytorch import interop as torch_interop

        return getattr(torch_interop, name)
    raise AttributeError(f"module 'handprop' has no attribute {name!r}")
__all__ = ["HandpropError", "NodeRecord", "ParameterRecord", "Problem", "Solution", "diagram", "explain",
           "from_equations", "from_layers", "from_torch", "load", "render", "solve", "to_torch", "__version__"]
