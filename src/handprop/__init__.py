"""handprop: a small neural network worked out the way a person does by hand.

>>> import handprop
>>> solution = handprop.solve(handprop.load("homework"))
>>> round(solution.loss, 4)
0.644

The public names load with their modules when first used, so that the command line, which imports this
package first, pays only for what its command needs.
"""

__version__ = "0.1.0"

# The renderers' package is light, and its name is also the function's: bound here, before anything imports it.
from .render import diagram, explain, render  # noqa: E402

# name -> the module it lives in (relative to this package)
_PUBLIC = {"from_equations": ".api", "from_layers": ".api", "load": ".api", "HandpropError": ".core.errors",
           "Problem": ".problem.spec", "NodeRecord": ".records", "ParameterRecord": ".records",
           "Solution": ".records", "solve": ".solver", "from_torch": ".pytorch.interop", "to_torch": ".pytorch.interop"}

__all__ = ["HandpropError", "NodeRecord", "ParameterRecord", "Problem", "Solution", "diagram", "explain",
           "from_equations", "from_layers", "from_torch", "load", "render", "solve", "to_torch", "__version__"]


def __getattr__(name: str):
    """A public name, from its module (imported now, once)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'handprop' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(_PUBLIC[name], __name__), name)
    if name not in ("from_torch", "to_torch"):  # those stay a lookup: the interop module is PyTorch's side
        globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
