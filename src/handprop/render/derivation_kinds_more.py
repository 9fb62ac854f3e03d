"""Which writer takes a layer of a kind beyond convolution, pooling, flatten and dense: recurrent layers
(derivation_kinds_recurrent.py), normalisation and dropout (derivation_kinds_norms.py), attention
(derivation_kinds_attention.py), told apart by their Kind objects. A kind none of them writes is written node by
node, as the scalar form writes any node.
"""

from __future__ import annotations

from ..problem.kinds import KINDS
from ..problem.kinds.recurrent import Recurrent
from .derivation_kinds_recurrent import RecurrentWriting
from .document import Paragraph


class MoreKinds(RecurrentWriting):
    """Mixed into the kinds builder: more_forward and more_backward for the kinds written here."""

    def more_forward(self, layer) -> list:
        kind = KINDS[layer.type]
        if isinstance(kind, Recurrent):
            return self.recurrent_forward(layer)
        return [Paragraph(("Written node by node:",))] + [c for eq in layer.equations
                                                          for c in self.g.forward_chains(eq)]

    def more_backward(self, layer) -> list | None:
        """The layer's backward blocks, or None for the kinds derivation_kinds_backward.py writes itself."""
        kind = KINDS[layer.type]
        if isinstance(kind, Recurrent):
            return self.recurrent_backward(layer)
        if layer.type in ("layernorm", "dropout", "attention"):
            return self.generic_backward(layer)
        return None
