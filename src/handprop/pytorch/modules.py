"""Wrappers that let a recurrent layer, self-attention and dropout with a given mask sit in an nn.Sequential, as
handprop's layer kinds do.

nn.RNN, nn.LSTM and nn.GRU return a tuple (output, state), and nn.MultiheadAttention takes (query, key, value) and
returns (output, weights): neither can be one step of an nn.Sequential as it is. `Recurrent` and `SelfAttention`
take one tensor and give one tensor, and compute what handprop's `rnn`, `lstm`, `gru` and `attention` layers compute
(docs/layer-kinds.md). Their parameters are the wrapped module's own (`module.weight_ih_l0`,
`attention.in_proj_weight`, ...), so a state_dict and torch.optim see torch's tensors unchanged.

A recurrent layer's initial states (handprop's `h0_n`, `c0_n` in [data]) are buffers of the wrapper, not inputs: an
nn.Sequential passes one tensor from module to module. A state of shape (H,) is every sample's; one of shape
(batch, H) gives each sample its own (torch's h_0[0, s, :]), and the model then takes batches of that size only.
None (the default) is torch's zero state. `FixedDropout` is nn.Dropout in training mode with the mask given (a
buffer, [data]'s `mask{n}`): nn.Dropout draws a new mask at each call, which no worked solution can follow.

This module imports torch: handprop imports it only inside functions that need it. `handprop export --to torch`
copies these classes' source into the script it writes, so that the script needs only torch.
"""

from __future__ import annotations

import torch

from ..core.errors import HandpropError


class Recurrent(torch.nn.Module):
    """A one-layer, batch_first nn.RNN, nn.LSTM or nn.GRU that returns the last step's hidden state, (batch, H),
    or every step's, (batch, T, H), from initial states held as buffers (None: zeros).

    >>> layer = Recurrent(torch.nn.GRU(3, 2, batch_first=True), return_="all")
    >>> layer(torch.zeros(4, 5, 3)).shape
    torch.Size([4, 5, 2])
    """

    def __init__(self, module, return_="last", h0=None, c0=None):
        super().__init__()
        if return_ not in ("last", "all"):
            raise ValueError(f"return_ is {return_!r}: 'last' (the last step's hidden state) or 'all' (every step's)")
        self.module = module  # its tensors are module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, ...
        self.return_ = return_
        as_tensor = (lambda state: state if state is None or isinstance(state, torch.Tensor)
                     else torch.tensor(state, dtype=torch.get_default_dtype()))
        self.register_buffer("h0", as_tensor(h0))  # (H,) every sample's, or (batch, H)
        self.register_buffer("c0", as_tensor(c0))  # an LSTM's cell state, likewise

    def initial(self, state, x):
        """A state as torch takes it, (num_layers = 1, batch, H); None where it is not given (zeros)."""
        if state is None:
            return None
        return state.expand(x.shape[0], -1).unsqueeze(0) if state.dim() == 1 else state.unsqueeze(0)

    def forward(self, x):  # x: (batch, T, F)
        h0, c0 = self.initial(self.h0, x), self.initial(self.c0, x)
        if isinstance(self.module, torch.nn.LSTM):
            if h0 is not None or c0 is not None:  # torch takes both or neither: the one not given is 0
                zeros = torch.zeros(1, x.shape[0], self.module.hidden_size, dtype=x.dtype, device=x.device)
                h0 = zeros if h0 is None else h0
                c0 = zeros if c0 is None else c0
                output, _ = self.module(x, (h0, c0))
            else:
                output, _ = self.module(x)
        else:
            output, _ = self.module(x, h0)
        return output[:, -1, :] if self.return_ == "last" else output  # (batch, H) or (batch, T, H)


class SelfAttention(torch.nn.Module):
    """A batch_first nn.MultiheadAttention called with query = key = value = x, (batch, T, E) -> (batch, T, E);
    causal: query t attends to keys 1 ... t only (torch's boolean attn_mask, True above the diagonal); residual:
    x + attention(x).

    >>> layer = SelfAttention(torch.nn.MultiheadAttention(4, 2, batch_first=True), causal=True)
    >>> layer(torch.zeros(1, 3, 4)).shape
    torch.Size([1, 3, 4])
    """

    def __init__(self, attention, causal=False, residual=False):
        super().__init__()
        self.attention = attention  # its tensors: attention.in_proj_weight, in_proj_bias, out_proj.weight, ...
        self.causal = causal
        self.residual = residual

    def forward(self, x):  # x: (batch, T, E)
        steps = x.shape[1]
        mask = torch.triu(torch.ones(steps, steps, dtype=torch.bool, device=x.device), 1) if self.causal else None
        attended, _ = self.attention(x, x, x, attn_mask=mask, need_weights=False)
        return x + attended if self.residual else attended


class FixedDropout(torch.nn.Module):
    """nn.Dropout(p) in training mode with a given mask: x * mask / (1 - p), the mask (0 dropped, 1 kept) a buffer
    of one sample's shape, every sample's, or of (batch, *shape), one per sample (the model then takes batches of
    that size only). nn.Dropout draws its own mask at each call; this one is handprop's `dropout` layer.

    >>> layer = FixedDropout(0.5, [[1.0, 0.0, 1.0]])
    >>> layer(torch.ones(1, 3)).tolist()
    [[2.0, 0.0, 2.0]]
    """

    def __init__(self, p, mask):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"p is {p!r}: a drop probability from 0 to below 1")
        self.p = p
        self.register_buffer("mask", mask if isinstance(mask, torch.Tensor)
                             else torch.tensor(mask, dtype=torch.get_default_dtype()))

    def forward(self, x):  # x: (batch, *shape)
        sample = x.shape[1:]
        mask = self.mask.reshape(sample) if self.mask.numel() == sample.numel() else self.mask.reshape(x.shape)
        return x * mask / (1 - self.p)

    def extra_repr(self):
        return f"p={self.p}, mask of shape {tuple(self.mask.shape)}"


WRAPPERS = {"Recurrent": Recurrent, "SelfAttention": SelfAttention,
            "FixedDropout": FixedDropout}  # a TorchModule's "handprop.<name>"

# The settings handprop's layers compute, each wrapped module's attribute -> its one allowed value. Train or eval
# mode does not change these modules' results once their dropout is 0, so either is taken.
RECURRENT_SETTINGS = {"num_layers": 1, "bidirectional": False, "dropout": 0.0, "proj_size": 0, "batch_first": True}
ATTENTION_SETTINGS = {"batch_first": True, "dropout": 0.0, "add_zero_attn": False, "bias_k": None,
                      "_qkv_same_embed_dim": True}
RECURRENT_KINDS = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}
GATES = {"rnn": "h", "lstm": "ifgo", "gru": "rzn"}  # torch's order: the blocks of H rows of its stacked tensors


def _refuse(module, where: str, settings: dict) -> None:
    for attribute, allowed in settings.items():
        value = getattr(module, attribute, allowed)
        if value is allowed or value == allowed:
            continue
        if attribute == "bias_k":
            shown, wanted = "add_bias_kv=True", "add_bias_kv=False"
        elif attribute == "_qkv_same_embed_dim":
            shown, wanted = f"embed_dim={module.embed_dim}, kdim={module.kdim}, vdim={module.vdim}", "kdim = vdim = embed_dim"
        else:
            shown, wanted = f"{attribute}={value!r}", f"{attribute}={allowed!r}"
        raise HandpropError("model", where, f"{type(module).__name__}({shown})",
                            f"{wanted}, as handprop's layer kinds compute")


def _rows(tensor, blocks: int) -> list:
    """A stacked tensor's blocks of rows, each as nested lists in float64."""
    return [block.tolist() for block in tensor.detach().to(torch.float64).chunk(blocks, dim=0)]


def _state(state):
    return None if state is None else state.detach().to(torch.float64).tolist()


def read_layer(module, index: int, n: int) -> tuple[dict, dict, dict]:
    """A wrapper as handprop's layer n: (the layer's table, its parameters, its [data] entries); a setting
    handprop does not compute refused in one line naming the module's index in the nn.Sequential."""
    where = f"layer {index} ({type(module).__name__})"
    if isinstance(module, Recurrent):
        inner = module.module
        kind = RECURRENT_KINDS.get(type(inner).__name__)
        if kind is None:
            raise HandpropError("model", where, f"wraps {type(inner).__name__}", "nn.RNN, nn.LSTM or nn.GRU")
        _refuse(inner, where, RECURRENT_SETTINGS)
        gates = GATES[kind]
        layer = {"type": kind, "hidden": inner.hidden_size, "return": module.return_, "bias": inner.bias}
        if kind == "rnn":
            layer["nonlinearity"] = inner.nonlinearity
        parameters = {}
        for side in "ih":
            parameters.update((f"W{side}{gate}{n}", rows)
                              for gate, rows in zip(gates, _rows(getattr(inner, f"weight_{side}h_l0"), len(gates))))
        if inner.bias:
            for side in "ih":
                parameters.update((f"b{side}{gate}{n}", rows)
                                  for gate, rows in zip(gates, _rows(getattr(inner, f"bias_{side}h_l0"), len(gates))))
        data = {f"{state}0_{n}": _state(getattr(module, f"{state}0"))
                for state in ("h", "c") if getattr(module, f"{state}0") is not None}
        if kind != "lstm" and "c0_" + str(n) in data:
            raise HandpropError("model", where, f"a cell state c0 for {type(inner).__name__}",
                                "c0 only for an LSTM (None)")
        return layer, parameters, data
    attention = module.attention
    if not isinstance(attention, torch.nn.MultiheadAttention):
        raise HandpropError("model", where, f"wraps {type(attention).__name__}", "nn.MultiheadAttention")
    _refuse(attention, where, ATTENTION_SETTINGS)
    bias = attention.in_proj_bias is not None
    layer = {"type": "attention", "heads": attention.num_heads, "causal": bool(module.causal),
             "residual": bool(module.residual), "bias": bias}
    parameters = dict(zip((f"W{letter}{n}" for letter in "qkv"), _rows(attention.in_proj_weight, 3)))
    if bias:
        parameters.update(zip((f"b{letter}{n}" for letter in "qkv"), _rows(attention.in_proj_bias, 3)))
    parameters[f"Wo{n}"] = _rows(attention.out_proj.weight, 1)[0]
    if attention.out_proj.bias is not None:
        parameters[f"bo{n}"] = _rows(attention.out_proj.bias, 1)[0]
    return layer, parameters, {}
