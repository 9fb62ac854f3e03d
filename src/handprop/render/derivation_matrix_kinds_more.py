"""The matrix form of a recurrent layer, a normalisation, dropout and attention in a network of layer kinds
(derivation_matrix_kinds.py writes the others)."""

from __future__ import annotations

from .derivation_matrix_kinds_grids import MatrixKinds


class MatrixKindsMore(MatrixKinds):
    def writers(self, layer):
        return super().writers(layer)
