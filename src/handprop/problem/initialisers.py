"""Initial parameters of a layered network, drawn by a named scheme (`[parameters] init = "..."`).

The formulas are torch.nn.init's with their default gains; fan_in is a layer's inputs, fan_out its units:

    xavier_uniform  W ~ U(-a, a),  a = sqrt(6 / (fan_in + fan_out))    xavier_uniform_, gain 1
    xavier_normal   W ~ N(0, s),   s = sqrt(2 / (fan_in + fan_out))    xavier_normal_, gain 1
    he_uniform      W ~ U(-a, a),  a = sqrt(6 / fan_in)                kaiming_uniform_, fan_in, gain sqrt(2)
    he_normal       W ~ N(0, s),   s = sqrt(2 / fan_in)                kaiming_normal_, fan_in, gain sqrt(2)
    uniform         W, b ~ U(-a, a),  a = 1 / sqrt(fan_in)             torch.nn.Linear's own initialisation
    zeros           W = 0                                               zeros_

Biases are 0, except for `uniform`, where they are drawn as torch.nn.Linear draws them.

The numbers come from Python's random.Random(seed): the same seed gives the same parameters on every
machine, but they are not the numbers torch's generator draws. They are drawn layer by layer, each
layer's weights row by row (unit by unit, input by input, the order of torch.nn.Linear.weight), then
that layer's biases.
"""

from __future__ import annotations

import math

from .layered import LayeredNetwork, layer_names

# scheme -> (weight distribution, bound or standard deviation from fan_in and fan_out)
SCHEMES = {
    "xavier_uniform": ("uniform", lambda fan_in, fan_out: math.sqrt(6.0 / (fan_in + fan_out))),
    "xavier_normal": ("normal", lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out))),
    "he_uniform": ("uniform", lambda fan_in, fan_out: math.sqrt(6.0 / fan_in)),
    "he_normal": ("normal", lambda fan_in, fan_out: math.sqrt(2.0 / fan_in)),
    "uniform": ("uniform", lambda fan_in, fan_out: 1.0 / math.sqrt(fan_in)),
    "zeros": ("zeros", lambda fan_in, fan_out: 0.0),
}


def scale(scheme: str, fan_in: int, fan_out: int) -> float:
    """The scheme's bound a (uniform) or standard deviation s (normal) for one layer.

    >>> round(scale("xavier_uniform", 2, 4), 6)
    1.0
    """
    return SCHEMES[scheme][1](fan_in, fan_out)


def initial_values(network: LayeredNetwork, scheme: str, *, seed: int = 0) -> dict:
    """Every parameter's initial value, in the network's parameter order.

    >>> from handprop.problem.layered import Layer
    >>> network = LayeredNetwork(("x1", "x2"), (Layer(4, "tanh"), Layer(1, "sigmoid")), "binary_cross_entropy")
    >>> values = initial_values(network, "xavier_uniform", seed=1)
    >>> len(values), all(abs(values[f"w{k}"]) <= 1.0 for k in range(1, 9)), values["b1"]
    (17, True, 0.0)
    """
    import random  # only when a scheme is used

    distribution, _ = SCHEMES[scheme]
    rng = random.Random(seed)
    widths = network.widths()
    # The network's parameter order (layered.parameter_order): layer by layer, W then b, as drawn; with
    # sequential naming all the weights before all the biases.
    values: dict[str, float] = {}
    biases = {} if network.naming == "sequential" else values
    for n, layer in enumerate(layer_names(network), 1):
        a = scale(scheme, widths[n - 1], widths[n])
        names = [name for row in layer["W"] for name in row]
        if distribution == "uniform":
            values.update(zip(names, [rng.uniform(-a, a) for _ in names]))
        elif distribution == "normal":
            values.update(zip(names, [rng.gauss(0.0, a) for _ in names]))
        else:
            values.update(dict.fromkeys(names, 0.0))
        biases.update((name, rng.uniform(-a, a) if scheme == "uniform" else 0.0) for name in layer["b"])
    if biases is not values:
        values.update(biases)
    return values
