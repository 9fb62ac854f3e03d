"""Self-attention over a sequence (`attention`), lowered to scalar equations as nn.MultiheadAttention computes it
with query = key = value = x (batch_first=True; Vaswani et al. 2017, "Attention Is All You Need", section 3.2).

For an input x[t,j] of T steps and E features, heads H and d = E / H features per head (all 1-based; head h owns
the features i = (h-1)d + 1 ... hd):

    q[t,i] = sum_j Wq[i,j] x[t,j] + bq[i]        k[t,i], v[t,i] alike with Wk, bk and Wv, bv    # (T, E) each
    s[h,t,u] = (sum over i of head h of q[t,i] k[u,i]) / sqrt(d)                               # (H, T, T)
    alpha[h,t,:] = softmax(s[h,t,:])                     over the keys u; causal: u = 1 ... t only
    c[t,i] = sum_u alpha[h,t,u] v[u,i]                   h the head of i: the heads concatenated   # (T, E)
    z[t,i] = sum_j Wo[i,j] c[t,j] + bo[i]                with residual: m[t,i] this, z[t,i] = x[t,i] + m[t,i]

Names, layer n, and nn.MultiheadAttention's tensors (E rows each, stacked q, k, v in in_proj_weight):

    Wq{n}[i,j] = in_proj_weight[i-1, j-1]      bq{n}[i] = in_proj_bias[i-1]
    Wk{n}[i,j] = in_proj_weight[E+i-1, j-1]    bk{n}[i] = in_proj_bias[E+i-1]
    Wv{n}[i,j] = in_proj_weight[2E+i-1, j-1]   bv{n}[i] = in_proj_bias[2E+i-1]
    Wo{n}[i,j] = out_proj.weight[i-1, j-1]     bo{n}[i] = out_proj.bias[i-1]

and the nodes q{n}[t,i], k{n}[t,i], v{n}[t,i], s{n}[h,t,u], alpha{n}[h,t,u] (need_weights=True,
average_attn_weights=False gives them as weights[0, h-1, t-1, u-1]), c{n}[t,i], m{n}[t,i] (with residual) and the
layer's output z{n}[t,i] (o[t,i] or y[t,i] when it is the last layer). A causal layer writes no score past its
query (torch's mask adds -inf there, so its weight is exactly 0). With d = 1 the scores are not divided (torch's
factor is exactly 1). torch scales q by sqrt(1/d) before the product (need_weights=True) or q and k each by
d**-1/4 (scaled_dot_product_attention); the product divided by sqrt(d), as the paper writes it, agrees with either
to rounding.

Initialisation by `init`: Wq, Wk and Wv with the fans torch's xavier_uniform_ sees in the stacked
in_proj_weight (fan_in E, fan_out 3E), Wo with out_proj's (E, E); biases as every other layer's (0, or drawn with
`uniform`), where torch sets them to 0.
"""

from __future__ import annotations

from ...core.program import Apply, Const, Equation, Ref
from .base import Grid, Kind, Tensor, TorchModule, describe_shape, equation, grid_names, times, total

MAX_HEADS = 100_000


def _flag(check, entry: dict, key: str, where: str, default: bool) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise check.fail(f"{where}: {key}", f"is {value!r}", "true or false")
    return value


def _bias(check, entry: dict, where: str) -> bool:
    """bias = true (the default, as torch's) or false; "per_unit" and "none" as the other layer kinds write it."""
    value = entry.get("bias", True)
    if isinstance(value, bool):
        return value
    if value in ("per_unit", "none"):
        return value == "per_unit"
    raise check.fail(f"{where}: bias", f"is {value!r}", "true (in_proj_bias and out_proj.bias) or false")


class Attention(Kind):
    """Multi-head self-attention, as nn.MultiheadAttention(E, heads, bias=..., batch_first=True)(x, x, x)."""

    name = "attention"
    keys = ("heads", "embed_dim", "causal", "bias", "residual")
    prefix = "z"
    words = "self-attention"

    def read(self, check, entry, where, shape):
        if len(shape) != 2:
            raise check.fail(where, f"attention takes a sequence (T, E), but its input is {describe_shape(shape)}",
                             "input_shape = [T, E]: T steps of E features")
        steps, features = shape
        heads = check.integer(entry.get("heads", 1), f"{where}: heads", 1, MAX_HEADS)
        if "embed_dim" in entry:
            embed_dim = check.integer(entry["embed_dim"], f"{where}: embed_dim", 1, MAX_HEADS)
            if embed_dim != features:
                raise check.fail(f"{where}: embed_dim", f"is {embed_dim}, but its input has {features} features",
                                 f"embed_dim = {features}, the input's E (or leave it out)")
        if features % heads:
            raise check.fail(f"{where}: heads", f"{heads} heads do not divide embed_dim {features}",
                             "a number of heads that divides E: " + ", ".join(
                                 str(h) for h in range(1, features + 1) if features % h == 0))
        settings = {"heads": heads, "causal": _flag(check, entry, "causal", where, False),
                    "bias": _bias(check, entry, where), "residual": _flag(check, entry, "residual", where, False)}
        return settings, (steps, features)

    def tensors(self, layer, n):
        features = layer.shape_in[1]
        bias = layer.setting("bias")
        found = []
        for letter in "qkv":  # in_proj_weight's fans: (3E, E)
            found.append(Tensor(f"W{letter}{n}", (features, features), features, 3 * features))
        if bias:
            found += [Tensor(f"b{letter}{n}", (features,), features, 3 * features, bias=True) for letter in "qkv"]
        found.append(Tensor(f"Wo{n}", (features, features), features, features))
        if bias:
            found.append(Tensor(f"bo{n}", (features,), features, features, bias=True))
        return found

    def lower(self, layer, n, x, parameters, prefix):
        """q, k, v row by row, then each head's scores, weights and context, then the out-projection.

        >>> from .base import StackLayer
        >>> layer = StackLayer("attention", (("heads", 1), ("causal", True), ("bias", False), ("residual", False)),
        ...                    (2, 2), (2, 2))
        >>> kind = Attention()
        >>> tensors = {t.name: t.grid() for t in kind.tensors(layer, 1)}
        >>> equations, out = kind.lower(layer, 1, Grid((2, 2), grid_names("x", (2, 2))), tensors, "y")
        >>> [eq.label for eq in equations if eq.target[0] in "sa"]
        ['s1[1,1,1]', 'alpha1[1,1,1]', 's1[1,2,1]', 's1[1,2,2]', 'alpha1[1,2,1], alpha1[1,2,2]']
        >>> out.names
        ('y[1,1]', 'y[1,2]', 'y[2,1]', 'y[2,2]')
        """
        steps, features = layer.shape_in
        heads, causal = layer.setting("heads"), layer.setting("causal")
        width = features // heads  # d, each head's features
        shape = (steps, features)
        equations: list[Equation] = []
        projected = {}
        for letter in "qkv":
            grid = Grid(shape, grid_names(f"{letter}{n}", shape))
            equations += _linear(grid, x, parameters[f"W{letter}{n}"], parameters.get(f"b{letter}{n}"))
            projected[letter] = grid
        q, k, v = projected["q"], projected["k"], projected["v"]
        scores = Grid((heads, steps, steps), grid_names(f"s{n}", (heads, steps, steps)))
        weights = Grid((heads, steps, steps), grid_names(f"alpha{n}", (heads, steps, steps)))
        for h in range(heads):
            own = range(h * width, (h + 1) * width)
            for t in range(steps):
                keys = range(t + 1) if causal else range(steps)  # a causal query sees keys 1 ... t only
                for u in keys:
                    product = total([times(q.at(t, i), k.at(u, i)) for i in own])
                    # / sqrt(d), as the paper; d = 1 divides by nothing (torch's factor is exactly 1)
                    scaled = product if width == 1 else Apply("div", (product, Apply("sqrt", (Const(float(width)),))))
                    equations.append(equation(scores.at(h, t, u), scaled))
                equations.append(Equation(tuple(weights.at(h, t, u) for u in keys),
                                          Apply("softmax", tuple(scores.ref(h, t, u) for u in keys))))
        context = Grid(shape, grid_names(f"c{n}", shape))
        for t in range(steps):
            for i in range(features):
                h = i // width
                keys = range(t + 1) if causal else range(steps)
                equations.append(equation(context.at(t, i), total([times(weights.at(h, t, u), v.at(u, i))
                                                                   for u in keys])))
        out = Grid(shape, grid_names(prefix, shape))
        if not layer.setting("residual"):
            return equations + _linear(out, context, parameters[f"Wo{n}"], parameters.get(f"bo{n}")), out
        attended = Grid(shape, grid_names(f"m{n}", shape))
        equations += _linear(attended, context, parameters[f"Wo{n}"], parameters.get(f"bo{n}"))
        equations += [equation(name, Apply("add", (Ref(before), Ref(after))))
                      for name, before, after in zip(out.names, x.names, attended.names)]
        return equations, out

    def torch_modules(self, layer, n):
        """handprop.pytorch.modules.SelfAttention around nn.MultiheadAttention(E, heads, bias=..., batch_first=True):
        in_proj_weight the rows of Wq, then Wk, then Wv (in_proj_bias likewise), out_proj Wo and bo."""
        features = layer.shape_in[1]
        bias = layer.setting("bias")
        square, vector = (features, features), (features,)
        parts = [("attention.in_proj_weight", (3 * features, features), [f"W{letter}{n}" for letter in "qkv"], square)]
        if bias:
            parts.append(("attention.in_proj_bias", (3 * features,), [f"b{letter}{n}" for letter in "qkv"], vector))
        parts.append(("attention.out_proj.weight", square, [f"Wo{n}"], square))
        if bias:
            parts.append(("attention.out_proj.bias", vector, [f"bo{n}"], vector))
        tensors = tuple((attribute, shape, tuple(name for tensor in stacked for name in grid_names(tensor, each)))
                        for attribute, shape, stacked, each in parts)
        attention = TorchModule("MultiheadAttention", {"embed_dim": features, "num_heads": layer.setting("heads"),
                                                       "bias": bias, "batch_first": True})
        return [TorchModule("handprop.SelfAttention", {"attention": attention, "causal": layer.setting("causal"),
                                                       "residual": layer.setting("residual")}, tensors)]

    def terms(self, layer):
        steps, features = layer.shape_in
        heads = layer.setting("heads")
        keys = steps * (steps + 1) // 2 if layer.setting("causal") else steps * steps  # (query, key) pairs
        projections = 4 * steps * features * (features + 1)  # q, k, v and the out-projection
        scores = heads * keys * (features // heads + 2)  # the products, the division, the softmax
        context = features * keys
        return projections + scores + context + (steps * features if layer.setting("residual") else 0)


def _linear(out: Grid, x: Grid, weights: Grid, bias: Grid | None) -> list[Equation]:
    """out[t,i] = sum_j W[i,j] x[t,j] + b[i], row t by row (nn.Linear on each step)."""
    steps, features = out.shape
    found = []
    for t in range(steps):
        for i in range(features):
            terms = [times(weights.at(i, j), x.at(t, j)) for j in range(x.shape[1])]
            if bias is not None:
                terms.append(Ref(bias.at(i)))
            found.append(equation(out.at(t, i), total(terms)))
    return found


KINDS = {"attention": Attention()}
