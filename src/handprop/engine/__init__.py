"""Engines: the interpreter that records every value, local partial and adjoint; the compiled scalar path
and the NumPy engine that take many steps; and the choice between them."""

ENGINES = ("auto", "scalar", "numpy")  # who takes many steps: engine/choice.py
DTYPES = ("float64", "float32")
