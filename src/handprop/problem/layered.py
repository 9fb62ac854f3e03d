"""Layered network -> Program: the same equations the homework writes.

A layered network (inputs, then dense layers with an activation each, then a
loss) lowers to one equation per unit and one for the loss:

    h1 = w1*x1 + w2*x2 + b1        a1 = relu(h1)
    o1 = w7*a1 + w8*a2 + w9*a3 + b4    y1, y2 = softmax(o1, o2)
    L = -t1*log(y1) - t2*log(y2)

Naming. `sequential` (the homework's): weights w1, w2, ... layer by layer,
unit by unit, input by input; biases b1, b2, ... across all layers; hidden
units h/a and output units o/y numbered on across layers. `layered` (as
torch.nn.Linear): W1[j,k] is layer 1's weight from input k to unit j, b1[j] its
bias; hidden nodes h1[j], a1[j]; outputs o[j], y[j]; all 1-based.

Losses equal PyTorch's with mean reduction over the batch (the engine takes
that mean; the equations here are per sample).
"""

from __future__ import annotations

from ..core.frozen import dataclass

from ..core.ops import OPS
from ..core.program import Apply, Const, Equation, Expr, Program, Ref


NO_ACTIVATION = "identity"  # a layer's activation when none is named
HIDDEN = "relu"  # a new hidden layer's activation (the homework's)


# A dense layer's bias: one per unit (torch.nn.Linear's), one for the whole layer (the classic 2-2-2 example's b1,
# b2), or none (nn.Linear(bias=False)).
BIAS_KINDS = ("per_unit", "shared", "none")


@dataclass(frozen=True)
class Layer:
    units: int
    activation: str
    params: tuple = ()  # the activation's settings, as the op table orders them: (("alpha", 0.01),)
    bias: str = "per_unit"  # one of BIAS_KINDS

    @property
    def bias_count(self) -> int:
        return {"per_unit": self.units, "shared": 1, "none": 0}[self.bias]

    def __post_init__(self):
        if not self.params:  # every setting present, its default where none was given
            object.__setattr__(self, "params", OPS[self.activation].settings({}))


@dataclass(frozen=True)
class LayeredNetwork:
    inputs: tuple  # input names, x1, x2, ...
    layers: tuple  # of Layer; the last is the output layer
    loss: str
    naming: str = "sequential"

    @property
    def targets(self) -> tuple:
        return tuple(f"t{j}" for j in range(1, self.layers[-1].units + 1))

    def widths(self) -> list[int]:
        return [len(self.inputs)] + [layer.units for layer in self.layers]

    @property
    def parameter_count(self) -> int:
        """Weights and biases, counted from the widths (no name is made)."""
        widths = self.widths()
        return sum(fan_in * layer.units + layer.bias_count for fan_in, layer in zip(widths, self.layers))

    @property
    def classification(self) -> str | None:
        """'categorical' (right when argmax y = argmax t), 'binary' (one output, right when y and t fall on the
        same side of 0.5), or None for a regression."""
        classes, last = LOSSES[self.loss].classes, self.layers[-1]
        if classes == "categorical" and (last.units > 1 or OPS[last.activation].multi_output):
            return classes
        return classes if classes == "binary" and last.units == 1 else None


# Parameters of a layered network written out as equations (the worked solution, the diagram, the scalar
# engine): about 10 us and 1 kB each; `train` takes larger networks' steps on the NumPy engine, which never
# writes them out.
MAX_WRITTEN = 200_000
BALANCED_SUM = 16  # beyond this many terms a sum is built as a balanced tree: its depth stays log2 of its length


def total(terms: list[Expr]) -> Expr:
    """w1*x1 + w2*x2 + ... + b: added left to right, as written; a long sum (a wide layer) pairwise, so that
    nothing that walks the tree recurses as deep as the layer is wide. Both print the same."""
    if len(terms) > BALANCED_SUM:
        middle = len(terms) // 2
        return Apply("add", (total(terms[:middle]), total(terms[middle:])))
    summed = terms[0]
    for term in terms[1:]:
        summed = Apply("add", (summed, term))
    return summed


def _mean_of_squares(ys, ts, divisor: float) -> Expr:
    squares = [Apply("pow", (Apply("sub", (Ref(y), Ref(t))), Const(2.0))) for y, t in zip(ys, ts)]
    summed = total(squares)
    return summed if divisor == 1 else Apply("div", (summed, Const(divisor)))


def _cross_entropy(ys, ts) -> Expr:
    # -t1*log(y1) - t2*log(y2) - ..., as the homework writes it; a long one (a wide softmax) is
    # -(t1*log(y1) + ... ) with the sum built pairwise, so that its depth stays small.
    terms = [Apply("mul", (Ref(t), Apply("log", (Ref(y),)))) for y, t in zip(ys, ts)]
    if len(terms) > BALANCED_SUM:
        return Apply("neg", (total(terms),))
    written: Expr = Apply("mul", (Apply("neg", (Ref(ts[0]),)), Apply("log", (Ref(ys[0]),))))
    for term in terms[1:]:
        written = Apply("sub", (written, term))
    return written


def _binary_cross_entropy(ys, ts) -> Expr:
    # bce(y, t) = -(t ln y + (1 - t) ln(1 - y)), logs clamped at -100, averaged over the outputs
    # (torch.nn.BCELoss, mean).
    summed = total([Apply("bce", (Ref(y), Ref(t))) for y, t in zip(ys, ts)])
    return summed if len(ys) == 1 else Apply("div", (summed, Const(float(len(ys)))))


class Loss:
    """A layered network's loss: its per-sample equation, and the words and choices that go with it."""

    def __init__(self, build, description: str, words: str, formula: str, short: str, sheet: str, output: str,
                 classes: str | None = None, targets: tuple[float, float] | None = None):
        self.build = build  # (output names, target names) -> the per-sample loss expression
        self.description = description  # its formula, and torch's name for it
        self.words = words  # its name, in the worked solution's description of the network
        self.formula = formula  # its per-sample formula as LaTeX, set as maths beside the words (n: the outputs)
        self.short = short  # on the diagram
        self.sheet = sheet  # on a problem sheet
        self.output = output  # the output activation an exercise pairs it with
        self.classes = classes  # "categorical" (argmax of the outputs), "binary" (one output, 0.5), or None
        self.targets = targets  # the range its targets must lie in (lowest, highest), or None for any number


LOSSES = {
    "cross_entropy": Loss(_cross_entropy, "-sum_i t_i ln y_i per sample (torch.nn.CrossEntropyLoss on the logits "
                                          "when the outputs are a softmax)", "cross-entropy",
                          r"-\sum_j t_j \ln y_j", "cross-entropy", "cross-entropy, L = −Σ t_j ln y_j",
                          "softmax", "categorical"),
    "binary_cross_entropy": Loss(_binary_cross_entropy, "-(t ln y + (1 - t) ln(1 - y)), logs clamped at -100, mean "
                                                        "over outputs (torch.nn.BCELoss)",
                                 "binary cross-entropy",
                                 r"-\frac{1}{n} \sum_{j=1}^{n} \bigl(t_j \ln y_j + (1 - t_j) \ln(1 - y_j)\bigr)",
                                 "binary cross-entropy", "binary cross-entropy, averaged over the outputs", "sigmoid",
                                 "binary", targets=(0.0, 1.0)),
    "mse": Loss(lambda ys, ts: _mean_of_squares(ys, ts, float(len(ys))),
                "mean over outputs of (y - t)^2 (torch.nn.MSELoss)", "mean squared error",
                r"\frac{1}{n} \sum_{j=1}^{n} (y_j - t_j)^2", "mean squared error",
                "mean squared error over the outputs", "sigmoid"),
    "half_sse": Loss(lambda ys, ts: _mean_of_squares(ys, ts, 2.0), "1/2 sum over outputs of (y - t)^2",
                     "half the sum of squared errors", r"\tfrac{1}{2} \sum_j (y_j - t_j)^2",
                     "half sum of squared errors", "half the sum of squared errors, ½ Σ (y_j − t_j)²",
                     "sigmoid"),
}
NAMINGS = ("sequential", "layered")


def parameter_names(network: LayeredNetwork) -> tuple[list[str], list[str]]:
    """Weight and bias names in the naming's order.

    >>> w, b = parameter_names(LayeredNetwork(("x1", "x2"), (Layer(3, "relu"), Layer(2, "softmax")), "mse"))
    >>> w[:3], w[-1], b
    (['w1', 'w2', 'w3'], 'w12', ['b1', 'b2', 'b3', 'b4', 'b5'])
    """
    names = layer_names(network)
    weights = [w for layer in names for row in layer["W"] for w in row]
    biases = [b for layer in names for b in layer["b"]]
    return weights, biases


def unit_biases(network: LayeredNetwork) -> list[list]:
    """Per layer, each unit's bias name (the same one for a shared bias), or None for a layer without."""
    return [layer["unit_bias"] for layer in layer_names(network)]


def parameter_order(network: LayeredNetwork) -> list[str]:
    """Sequential: w1..wn then b1..bm, as the homework lists them; layered: W1, b1, W2, b2, ... as torch."""
    if network.naming == "sequential":
        weights, biases = parameter_names(network)
        return weights + biases
    return [name for layer in layer_names(network) for name in [w for row in layer["W"] for w in row] + layer["b"]]


def weight_rows(network: LayeredNetwork) -> list[list[list[str]]]:
    """Per layer, the weight names as a matrix: rows = units, columns = inputs (torch.nn.Linear.weight)."""
    return [layer["W"] for layer in layer_names(network)]


def bias_names(network: LayeredNetwork) -> list[list[str]]:
    """Per layer, its bias names: one per unit, one shared by its units, or none."""
    return [layer["b"] for layer in layer_names(network)]


def unit_names(network: LayeredNetwork) -> list[list[tuple[str, str]]]:
    """Per layer, each unit's (pre-activation, activation) node names: (h1, a1), ..., (o1, y1)."""
    return [list(zip(layer["pre"], layer["post"])) for layer in layer_names(network)]


def layer_names(network: LayeredNetwork) -> list[dict]:
    """Per layer: W (rows of weight names), b (its bias names: one per unit, one shared, or none), unit_bias
    (each unit's bias name, or None), pre (pre-activation nodes), post (activations)."""
    layers = []
    widths = network.widths()
    w_count = b_count = hidden_count = 0
    last = len(network.layers) - 1
    for index, layer in enumerate(network.layers):
        fan_in = widths[index]
        units = range(1, layer.units + 1)
        if network.naming == "sequential":
            weights = [[f"w{w_count + (j - 1) * fan_in + k}" for k in range(1, fan_in + 1)] for j in units]
            biases = [f"b{b_count + j}" for j in range(1, layer.bias_count + 1)]
            w_count += fan_in * layer.units
            b_count += layer.bias_count
            if index == last:
                pre, post = _output_units(network.naming, layer.units)
            else:
                pre = [f"h{hidden_count + j}" for j in units]
                post = [f"a{hidden_count + j}" for j in units]
                hidden_count += layer.units
        else:
            n = index + 1
            weights = [[f"W{n}[{j},{k}]" for k in range(1, fan_in + 1)] for j in units]
            biases = {"per_unit": [f"b{n}[{j}]" for j in units], "shared": [f"b{n}"], "none": []}[layer.bias]
            if index == last:
                pre, post = _output_units(network.naming, layer.units)
            else:
                pre, post = [f"h{n}[{j}]" for j in units], [f"a{n}[{j}]" for j in units]
        unit_bias = biases if layer.bias == "per_unit" else [biases[0] if biases else None] * layer.units
        layers.append({"W": weights, "b": biases, "unit_bias": unit_bias, "pre": pre, "post": post})
    return layers


def _output_units(naming: str, units: int) -> tuple[list[str], list[str]]:
    """The output layer's pre-activation and activation names: o1, y1, ... (sequential) or o[1], y[1], ..."""
    if naming == "sequential":
        return [f"o{j}" for j in range(1, units + 1)], [f"y{j}" for j in range(1, units + 1)]
    return [f"o[{j}]" for j in range(1, units + 1)], [f"y[{j}]" for j in range(1, units + 1)]


def _activations(layer: Layer, pre: list[str], post: list[str]) -> list[Equation]:
    if OPS[layer.activation].multi_output:
        return [Equation(tuple(post), Apply(layer.activation, tuple(Ref(p) for p in pre), layer.params))]
    return [Equation((a,), Apply(layer.activation, (Ref(h),), layer.params)) for h, a in zip(pre, post)]


def lower(network: LayeredNetwork) -> Program:
    """The network's equations, in the order they are computed."""
    equations = []
    previous = list(network.inputs)
    for layer, names in zip(network.layers, layer_names(network)):
        for row, bias, pre in zip(names["W"], names["unit_bias"], names["pre"]):
            terms: list[Expr] = [Apply("mul", (Ref(w), Ref(x))) for w, x in zip(row, previous)]
            equations.append(Equation((pre,), total(terms + ([Ref(bias)] if bias else []))))
        equations += _activations(layer, names["pre"], names["post"])
        previous = names["post"]
    equations.append(Equation(("L",), LOSSES[network.loss].build(previous, list(network.targets))))
    return Program(tuple(equations), tuple(parameter_order(network)), tuple(network.inputs) + network.targets,
                   "L", tuple(previous))


def head(network: LayeredNetwork) -> Program:
    """The output layer's activation and the loss, with the output layer's pre-activations as data: how the
    loss reads the outputs (what core/fusion.py rewrites), without writing out the whole network.

    >>> network = LayeredNetwork(("x1",), (Layer(3, "relu"), Layer(2, "softmax")), "cross_entropy")
    >>> [eq.label for eq in head(network).equations]
    ['y1, y2', 'L']
    """
    pre, post = _output_units(network.naming, network.layers[-1].units)
    equations = _activations(network.layers[-1], pre, post)
    equations.append(Equation(("L",), LOSSES[network.loss].build(post, list(network.targets))))
    return Program(tuple(equations), (), tuple(pre) + network.targets, "L", tuple(post))
