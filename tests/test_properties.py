"""Property tests: random networks and random equation programs against finite differences and PyTorch.

Random layered networks (1-4 layers, widths 1-6, every activation, every loss, batches of 1-4) and random
equation programs (every operator and function, written as text and parsed) are held to three oracles:
central finite differences of the loss (relative 1e-6), PyTorch autograd in float64 (relative 1e-10), through
`verify` and, for layered networks, through an nn.Sequential built here independently of handprop's own
mapping; and the parameters after 3 steps of every optimizer, with random settings, to torch.optim's.

Examples are drawn deterministically (derandomize), so a run is repeatable. HANDPROP_PROPERTY_EXAMPLES=N
runs N examples per test instead of the defaults; HANDPROP_PROPERTY_RANDOM=1 draws new ones each run
(docs/verify.md, "The property tests").
"""

from __future__ import annotations

import importlib.util
import math
import os
import re

import pytest

pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, assume, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import handprop  # noqa: E402
from handprop import HandpropError  # noqa: E402
from handprop.problem.layered import LOSSES, bias_names, weight_rows  # noqa: E402
from handprop.core.ops import ACTIVATIONS, FUNCTIONS, OPS  # noqa: E402
from handprop.core.optim import OPTIMIZERS  # noqa: E402
from handprop.problem.spec import from_dict  # noqa: E402
from handprop.core.program import Apply, Const, Ref  # noqa: E402
from handprop.verify import AMPLIFIED, CHAOTIC, FLOOR, verify  # noqa: E402

HAS_TORCH = importlib.util.find_spec("torch") is not None
requires_torch = pytest.mark.skipif(not HAS_TORCH, reason="needs torch (pip install 'handprop[torch]')")
TORCH_TOLERANCE = 1e-10
KINK_MARGIN = 1e-4  # examples with a kinked op's argument nearer 0 than this are not drawn


def _examples(default: int) -> int:
    given_count = os.environ.get("HANDPROP_PROPERTY_EXAMPLES")
    return int(given_count) if given_count else default


def _settings(default: int):
    return settings(max_examples=_examples(default), deadline=None, database=None,
                    derandomize=not os.environ.get("HANDPROP_PROPERTY_RANDOM"),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


def floats(low: float, high: float):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


# ---------------------------------------------------------------------------------------------- strategies

@st.composite
def optimizer_sections(draw, name: str | None = None, steps: int = 3) -> dict:
    """An [optimizer] section with random valid settings (torch.optim's ranges)."""
    name = name or draw(st.sampled_from(sorted(OPTIMIZERS)))
    section = {"name": name, "lr": draw(floats(0.001, 0.5)), "steps": steps}
    eps = st.sampled_from([1e-10, 1e-8, 1e-6, 1e-3])
    weight_decay = st.one_of(st.just(0.0), floats(0.0, 0.2))
    if name == "sgd":
        momentum = draw(st.one_of(st.just(0.0), floats(0.05, 0.99)))
        nesterov = momentum > 0 and draw(st.booleans())
        section.update(momentum=momentum, nesterov=nesterov, weight_decay=draw(weight_decay),
                       dampening=0.0 if nesterov else draw(st.one_of(st.just(0.0), floats(0.0, 1.0))))
    elif name in ("adam", "adamw"):
        section.update(betas=[draw(floats(0.0, 0.99)), draw(floats(0.5, 0.9999))], eps=draw(eps),
                       weight_decay=draw(weight_decay), amsgrad=draw(st.booleans()))
    elif name == "rmsprop":
        section.update(alpha=draw(floats(0.5, 0.999)), eps=draw(eps), weight_decay=draw(weight_decay),
                       momentum=draw(st.one_of(st.just(0.0), floats(0.05, 0.95))), centered=draw(st.booleans()))
    elif name == "adagrad":
        section.update(lr_decay=draw(floats(0.0, 0.2)), eps=draw(eps), weight_decay=draw(weight_decay))
    return section  # an optimizer added later: its defaults


def _activation(draw, choices) -> dict:
    layer = {"activation": draw(st.sampled_from(choices))}
    if layer["activation"] == "leaky_relu":
        layer["alpha"] = draw(floats(0.01, 0.5))
    if layer["activation"] in ("elu", "celu"):
        layer["alpha"] = draw(floats(0.1, 2.0))
    if layer["activation"] == "gelu":
        layer["approximate"] = draw(st.sampled_from(["none", "tanh"]))
    if layer["activation"] == "hardtanh":
        layer["min_val"] = draw(floats(-2.0, -0.1))
        layer["max_val"] = draw(floats(0.1, 2.0))
    return layer


@st.composite
def layered_problems(draw, optimizer: str | None = None) -> dict:
    """A random layered network; the output activation keeps the loss in its domain."""
    widths = [draw(st.integers(1, 6)) for _ in range(draw(st.integers(1, 4)) + 1)]
    loss = draw(st.sampled_from(sorted(LOSSES)))
    final = {"cross_entropy": ["softmax", "sigmoid"], "binary_cross_entropy": ["sigmoid"]}.get(loss, list(ACTIVATIONS))
    layers = [dict(units=units, **_activation(draw, ACTIVATIONS)) for units in widths[1:-1]]
    layers.append(dict(units=widths[-1], **_activation(draw, final)))
    batch = draw(st.integers(1, 4))
    weight = floats(-1.0, 1.0)
    matrices = [[[draw(weight) for _ in range(widths[n - 1])] for _ in range(widths[n])] for n in range(1, len(widths))]
    biases = [[draw(floats(-0.5, 0.5)) for _ in range(widths[n])] for n in range(1, len(widths))]
    naming = draw(st.sampled_from(["sequential", "layered"]))
    if naming == "sequential":
        parameters = {"w": [w for matrix in matrices for row in matrix for w in row], "b": sum(biases, [])}
    else:
        parameters = {f"W{n}": matrix for n, matrix in enumerate(matrices, 1)}
        parameters.update({f"b{n}": bias for n, bias in enumerate(biases, 1)})
    outputs = widths[-1]
    targets = []
    for _ in range(batch):
        if loss == "binary_cross_entropy":
            targets.append([draw(st.sampled_from([0.0, 1.0])) for _ in range(outputs)])
        elif loss == "cross_entropy":
            weights = [draw(floats(0.0, 1.0)) for _ in range(outputs)]
            total = sum(weights)
            targets.append([w / total for w in weights] if total > 0 else [1.0] + [0.0] * (outputs - 1))
        else:
            targets.append([draw(floats(-1.0, 1.0)) for _ in range(outputs)])
    inputs = [[draw(floats(-2.0, 2.0)) for _ in range(widths[0])] for _ in range(batch)]
    return {"network": {"inputs": widths[0], "layers": layers, "loss": loss, "naming": naming},
            "parameters": parameters, "data": {"x": inputs, "t": targets},
            "optimizer": draw(optimizer_sections(optimizer))}


def _forms(a, b, alpha) -> dict:
    """Expression forms, each defined wherever its arguments are: name -> text."""
    forms = {
        "add": f"({a}) + ({b})", "sub": f"({a}) - ({b})", "mul": f"({a})*({b})",
        "div": f"({a})/(1 + ({b})**2)", "div2": f"({a})/(1.5 + tanh({b}))", "neg": f"-({a})",
        "square": f"({a})**2", "cube": f"(tanh({a}))**3", "inverse": f"(1 + ({a})**2)**-1",
        "power": f"(1 + ({a})**2)**(tanh({b}))", "root": f"(0.5 + sigmoid({a}))**1.5",
        "relu": f"relu({a})", "leaky_relu": f"leaky_relu({a}, {alpha})", "leaky_default": f"leaky_relu({a})",
        "abs": f"abs({a})", "elu": f"elu({a}, alpha={alpha})", "elu_default": f"elu({a})", "selu": f"selu({a})",
        "celu": f"celu({a}, {alpha})", "gelu": f"gelu({a})", "gelu_tanh": f"gelu({a}, approximate='tanh')",
        "silu": f"silu({a})", "mish": f"mish({a})", "softsign": f"softsign({a})",
        "hardtanh": f"hardtanh({a}, min_val=-0.7, max_val=0.9)", "hardsigmoid": f"hardsigmoid({a})",
        "logsigmoid": f"logsigmoid({a})",
        "sigmoid": f"sigmoid({a})", "tanh": f"tanh({a})", "softplus": f"softplus({a})",
        "exp": f"exp(tanh({a}))", "gauss": f"exp(-(({a})**2))",
        "log": f"log(1 + ({a})**2)", "log_softplus": f"log(softplus({a}))", "log_sigmoid": f"log(sigmoid({a}))",
        "sqrt": f"sqrt(1 + ({a})**2)", "sqrt_softplus": f"sqrt(0.1 + softplus({a}))",
    }
    forms.update({"max": f"max({a}, {b})", "max3": f"max({a}, {b}, 0.1)", "min": f"min({a}, {b})",
                  "clamp": f"clamp({a}, -0.7, 0.9)"})
    if "bce" in FUNCTIONS:
        forms["bce"] = f"bce(sigmoid(3*tanh({a})), sigmoid({b}))"
    return forms


@st.composite
def expressions(draw, leaves: list, depth: int) -> str:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(leaves))
    a = draw(expressions(leaves, depth - 1))
    b = draw(expressions(leaves, depth - 1))
    forms = _forms(a, b, repr(draw(floats(0.01, 0.5))))
    form = draw(st.sampled_from(sorted(forms)))
    event(f"form {form}")
    return forms[form]


@st.composite
def equation_problems(draw) -> dict:
    """A random equations program over 2-3 parameters and 1-2 data names, with a loss line at the end."""
    parameters = [f"p{i}" for i in range(1, draw(st.integers(2, 3)) + 1)]
    data = [f"d{i}" for i in range(1, draw(st.integers(1, 2)) + 1)]
    lines, nodes, probabilities = [], [], []
    for i in range(1, draw(st.integers(1, 4)) + 1):
        leaves = parameters + data + nodes + ["0.5", "2"]
        lines.append(f"u{i} = {draw(expressions(leaves, draw(st.integers(1, 3))))}")
        nodes.append(f"u{i}")
    if draw(st.booleans()):
        count = draw(st.integers(2, 3))
        arguments = [draw(expressions(parameters + data + nodes, 1)) for _ in range(count)]
        probabilities = [f"s{j}" for j in range(1, count + 1)]
        lines.append(f"{', '.join(probabilities)} = softmax({', '.join(arguments)})")
        nodes += probabilities
        event("softmax")
    terms = []
    for node in nodes:
        coefficient = repr(round(draw(floats(-1.0, 1.0)), 3))
        if node in probabilities and draw(st.booleans()):
            terms.append(f"({coefficient})*log({node})")  # ln of a softmax output: log_softmax of its logits
        else:
            terms.append(f"({coefficient})*{node}")
    read = set(re.findall(r"[A-Za-z_]\w*", "\n".join(lines)))
    terms += [f"0.25*({p})**2" for p in parameters if p not in read]
    terms += [f"0.25*{d}*{parameters[0]}" for d in data if d not in read]
    lines.append("L = " + " + ".join(terms))
    batch = draw(st.integers(1, 3))
    values = {d: [draw(floats(-2.0, 2.0)) for _ in range(batch)] for d in data}
    return {"network": {"equations": "\n".join(lines) + "\n", "loss": "L"},
            "parameters": {p: draw(floats(-1.5, 1.5)) for p in parameters},
            "data": {d: v if batch > 1 else v[0] for d, v in values.items()},
            "optimizer": draw(optimizer_sections())}


# ---------------------------------------------------------------------------------------------- helpers

def kink_distance(problem, solution) -> float:
    """The smallest distance of an argument from its op's kink (relu, leaky_relu or abs at 0; max and min where
    two arguments tie) over every sample, at the initial parameters."""
    nearest = math.inf

    def walk(expr, env):
        nonlocal nearest
        if isinstance(expr, Const):
            return expr.value
        if isinstance(expr, Ref):
            return env[expr.name]
        args = [walk(arg, env) for arg in expr.args]
        settings = dict(expr.params)
        for kink in OPS[expr.op].kinks(**settings):
            nearest = min(nearest, abs(args[0] - kink))
        if not OPS[expr.op].arity and not OPS[expr.op].multi_output:  # max, min: a kink where two arguments tie
            ordered = sorted(args)
            nearest = min([nearest] + [b - a for a, b in zip(ordered, ordered[1:])])
        return OPS[expr.op].forward(*args, **settings)

    for trace in solution.traces:
        for eq in problem.program.equations:
            top = eq.expr
            for expr in top.args if isinstance(top, Apply) and OPS[top.op].multi_output else (top,):
                walk(expr, trace.values)
    return nearest


def solvable(raw: dict):
    """The problem and its solution after one step, or the example is not drawn (an overflow, say)."""
    problem = from_dict(raw)
    try:
        solution = handprop.solve(problem)
    except HandpropError:
        assume(False)
    assume(abs(solution.loss) < 1e6)
    assume(kink_distance(problem, solution) > KINK_MARGIN)
    return problem, solution


def check_report(report, raw: dict) -> None:
    rows = "\n".join(f"{c.name}: {c}" for c in report.worst()[:5])
    assert report.passed, f"{raw}\n{rows}"
    # A kink within the step can only come from an argument that crosses 0 as θ moves by 2h.
    assert not report.kinks, f"{raw}\n{rows}"
    if HAS_TORCH:
        assert report.torch_version is not None, report.torch_skipped


# ---------------------------------------------------------------------------------------------- properties

@_settings(60)
@given(layered_problems())
def test_layered_networks_agree_with_finite_differences_and_torch(raw):
    problem, _ = solvable(raw)
    event(f"loss {raw['network']['loss']}")
    check_report(verify(problem, steps=3), raw)


@_settings(120)
@given(equation_problems())
def test_equation_programs_agree_with_finite_differences_and_torch(raw):
    problem, _ = solvable(raw)
    check_report(verify(problem, steps=3), raw)


def _torch_model(problem):
    """An nn.Sequential for a layered problem, built from its layers, not from its equations."""
    import torch

    network = problem.network
    widths = network.widths()
    modules = []
    final = len(network.layers)
    activations = {"identity": torch.nn.Identity, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid,
                   "tanh": torch.nn.Tanh, "softplus": torch.nn.Softplus, "selu": torch.nn.SELU, "silu": torch.nn.SiLU,
                   "mish": torch.nn.Mish, "softsign": torch.nn.Softsign, "hardsigmoid": torch.nn.Hardsigmoid,
                   "logsigmoid": torch.nn.LogSigmoid}
    settings_of = {"elu": lambda alpha: torch.nn.ELU(alpha), "celu": lambda alpha: torch.nn.CELU(alpha),
                   "gelu": lambda approximate: torch.nn.GELU(approximate=approximate),
                   "hardtanh": lambda min_val, max_val: torch.nn.Hardtanh(min_val, max_val)}
    for n, (layer, rows, biases) in enumerate(zip(network.layers, weight_rows(network), bias_names(network)), 1):
        linear = torch.nn.Linear(widths[n - 1], widths[n], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[problem.parameters[w] for w in row] for row in rows],
                                             dtype=torch.float64))
            linear.bias.copy_(torch.tensor([problem.parameters[b] for b in biases], dtype=torch.float64))
        modules.append(linear)
        if layer.activation == "softmax":
            # Cross-entropy takes the logits (torch.nn.functional.cross_entropy), so the last softmax is its own.
            if not (n == final and network.loss == "cross_entropy"):
                modules.append(torch.nn.Softmax(dim=1))
        elif layer.activation == "leaky_relu":
            modules.append(torch.nn.LeakyReLU(dict(layer.params)["alpha"]))
        elif layer.activation in settings_of:
            modules.append(settings_of[layer.activation](**dict(layer.params)))
        else:
            modules.append(activations[layer.activation]())
    return torch.nn.Sequential(*modules)


def _torch_loss(problem, out, t):
    import torch
    import torch.nn.functional as F

    network = problem.network
    if network.loss == "cross_entropy":
        if network.layers[-1].activation == "softmax":
            return F.cross_entropy(out, t)  # probabilities as targets
        return -(t * torch.log(out)).sum(dim=1).mean()
    if network.loss == "binary_cross_entropy":
        return F.binary_cross_entropy(out, t)
    if network.loss == "mse":
        return F.mse_loss(out, t)
    return (0.5 * ((out - t) ** 2).sum(dim=1)).mean()


def _torch_sequential(problem):
    """Loss and gradients at the initial parameters, and the parameters after the steps, by nn and torch.optim."""
    import torch

    model = _torch_model(problem)
    network = problem.network
    x = torch.tensor([[problem.data[name][k] for name in network.inputs] for k in range(problem.batch_size)],
                     dtype=torch.float64)
    t = torch.tensor([[problem.data[name][k] for name in network.targets] for k in range(problem.batch_size)],
                     dtype=torch.float64)
    config = problem.optimizer
    kinds = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
             "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}
    optimizer = kinds[config.name](model.parameters(), lr=config.lr, **dict(config.options))
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    loss = gradients = None
    for step in range(config.steps):
        optimizer.zero_grad()
        value = _torch_loss(problem, model(x), t)
        value.backward()
        if step == 0:
            loss, gradients = value.item(), _by_name(problem, linears, lambda p: p.grad)
        optimizer.step()
    return loss, gradients, _by_name(problem, linears, lambda p: p.detach())


def _by_name(problem, linears, pick) -> dict:
    values = {}
    for linear, rows, biases in zip(linears, weight_rows(problem.network), bias_names(problem.network)):
        weight, bias = pick(linear.weight), pick(linear.bias)
        for j, row in enumerate(rows):
            for k, name in enumerate(row):
                values[name] = weight[j, k].item()
            values[biases[j]] = bias[j].item()
    return values


def _close(a: float, b: float, scale: float, rounding: float) -> bool:
    """Within 1e-10 relative (absolute below FLOOR of the scale), or within the rounding amplified; a value
    that rounding alone moves by more than CHAOTIC of itself is not compared (as verify does)."""
    size = max(abs(a), abs(b), FLOOR * scale)
    if rounding > CHAOTIC * size:
        event("a value not compared: rounding alone moves it too far")
        return True
    return abs(a - b) <= TORCH_TOLERANCE * size + AMPLIFIED * rounding


@requires_torch
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@_settings(20)
@given(data=st.data())
def test_layered_networks_agree_with_nn_sequential_and_torch_optim(optimizer, data):
    raw = data.draw(layered_problems(optimizer))
    problem, _ = solvable(raw)
    solution = handprop.solve(problem)
    after = handprop.solve(problem, steps=3)
    # The rounding the computation amplifies (a tiny gradient that a normalising optimizer scales up).
    from handprop.pytorch.oracle import rounding_spread

    spread = rounding_spread(problem, steps=3)
    loss, gradients, updated = _torch_sequential(problem)
    assert _close(solution.loss, loss, max(1.0, abs(loss)), spread.loss), (raw, solution.loss, loss)
    scale = max([1.0, abs(loss)] + [abs(g) for g in gradients.values()])
    sizes = max([1.0] + [abs(v) for v in list(problem.parameters.values()) + list(updated.values())])
    for name, record in solution.parameters.items():
        assert _close(record.gradient, gradients[name], scale, spread.gradients[name]), \
            (raw, name, record.gradient, gradients[name])
        new = after.parameters[name].updated
        assert _close(new, updated[name], sizes, spread.updated[name]), (raw, name, new, updated[name])


def test_every_function_appears_in_the_equation_forms():
    used = set(re.findall(r"([a-z_]+)\(", " ".join(_forms("a", "b", "0.1").values())))
    assert set(FUNCTIONS) - {"softmax"} <= used  # softmax has a line of its own
