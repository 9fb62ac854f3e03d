"""Layer kinds beyond the dense network: each a lowering of its layer to the same program of scalar equations.

base.py the grids of names and the Kind protocol; grids.py convolution, pooling, flatten and dense; stack.py the
network of them (a stack), lowered whole. Each kind module gives its KINDS, gathered here by type.
"""

from __future__ import annotations

from .grids import KINDS as GRID_KINDS

KINDS = dict(GRID_KINDS)  # type -> Kind
from .recurrent import KINDS as RECURRENT_KINDS  # noqa: E402
KINDS.update(RECURRENT_KINDS)  # recurrent kinds: rnn, lstm, gru
from .norms import KINDS as NORM_KINDS  # noqa: E402
KINDS.update(NORM_KINDS)  # normalisation and dropout: batchnorm, layernorm, dropout
from .attention import KINDS as ATTENTION_KINDS  # noqa: E402
KINDS.update(ATTENTION_KINDS)
