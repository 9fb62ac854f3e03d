"""Engines: the interpreter that records every value, local partial and adjoint; the compiled scalar path
and the NumPy engine that take many steps; and the choice between them."""
