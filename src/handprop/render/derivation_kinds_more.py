"""Which writer takes a layer of a kind beyond convolution, pooling, flatten and dense: recurrent layers
(derivation_kinds_recurrent.py), normalisation and dropout (derivation_kinds_norms.py), attention
(derivation_kinds_attention.py), told apart by their Kind objects; a batch-norm network's sections
(derivation_kinds_batch.py). A kind none of them writes is written node by
node, as the scalar form writes any node.
"""

from __future__ import annotations

from ..problem.kinds import KINDS
from ..problem.kinds.attention import Attention
from ..problem.kinds.norms import Dropout, LayerNorm
from ..problem.kinds.recurrent import Recurrent
from .derivation_kinds_attention import AttentionWriting
from .derivation_kinds_batch import BatchWriting
from .derivation_kinds_norms import NormWriting
from .derivation_kinds_recurrent import RecurrentWriting
from .document import Paragraph


class MoreKinds(RecurrentWriting, AttentionWriting, NormWriting, BatchWriting):
    """Mixed into the kinds builder: more_forward and more_backward for the kinds written here."""

    def more_forward(self, layer) -> list:
        kind = KINDS[layer.type]
        if isinstance(kind, Recurrent):
            return self.recurrent_forward(layer)
        if isinstance(kind, Attention):
            return self.attention_forward(layer)
        if isinstance(kind, LayerNorm):
            return self.layernorm_forward(layer)
        if isinstance(kind, Dropout):
            return self.dropout_forward(layer)
        return [Paragraph(("Written node by node:",))] + [c for eq in layer.equations
                                                          for c in self.g.forward_chains(eq)]

    def more_backward(self, layer) -> list | None:
        """The layer's backward blocks, or None for the kinds derivation_kinds_backward.py writes itself."""
        kind = KINDS[layer.type]
        if isinstance(kind, Recurrent):
            return self.recurrent_backward(layer)
        if isinstance(kind, Attention):
            return self.attention_backward(layer)
        if isinstance(kind, LayerNorm):
            return self.layernorm_backward(layer)
        if isinstance(kind, Dropout):
            return self.dropout_backward(layer)
        return None
