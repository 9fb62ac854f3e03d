"""The attention layer kind against nn.MultiheadAttention in float64: outputs, attention weights, loss, every
gradient (parameters and inputs), and the parameters after one SGD and one Adam step; its one-line errors."""

from __future__ import annotations

import random

import pytest

from handprop.core.errors import HandpropError
from handprop.problem.spec import from_dict
from handprop.solver import solve

torch = pytest.importorskip("torch")
F = torch.nn.functional
DOUBLE = torch.float64
TOLERANCE = 1e-12
ADAM_EPS = 1e-8  # torch.optim.Adam's default, as handprop's


def random_case(seed: int) -> dict:
    """A random attention problem: shapes, switches, parameters and data, and the head that takes a loss."""
    rng = random.Random(seed)
    steps, features = rng.randint(1, 3), rng.randint(2, 4)
    heads = rng.choice([h for h in range(1, features + 1) if features % h == 0])
    case = {"steps": steps, "features": features, "heads": heads, "causal": rng.random() < 0.5,
            "bias": rng.random() < 0.5, "residual": rng.random() < 0.5, "batch": rng.choice([1, 2]),
            "head": rng.choice(["mse", "dense"]), "need_weights": rng.random() < 0.5, "lr": rng.choice([0.1, 0.5])}

    def matrix(rows, columns):
        return [[rng.uniform(-1, 1) for _ in range(columns)] for _ in range(rows)]

    parameters = {f"W{letter}1": matrix(features, features) for letter in "qkvo"}
    if case["bias"]:
        parameters.update({f"b{letter}1": [rng.uniform(-0.5, 0.5) for _ in range(features)] for letter in "qkvo"})
    layers = [{"type": "attention", "heads": heads, "causal": case["causal"], "bias": case["bias"],
               "residual": case["residual"]}]
    if rng.random() < 0.5:
        layers[0]["embed_dim"] = features
    xs = [matrix(steps, features) for _ in range(case["batch"])]
    if case["head"] == "mse":
        loss, ts = "mse", [matrix(steps, features) for _ in range(case["batch"])]
    else:
        units = rng.randint(2, 3)
        layers += [{"type": "flatten"}, {"units": units, "activation": "softmax"}]
        parameters["W3"], parameters["b3"] = matrix(units, steps * features), [rng.uniform(-0.5, 0.5)
                                                                               for _ in range(units)]
        labels = [rng.randrange(units) for _ in range(case["batch"])]
        loss, ts = "cross_entropy", [[float(j == label) for j in range(units)] for label in labels]
        case["units"] = units
    case["raw"] = {"network": {"input_shape": [steps, features], "layers": layers, "loss": loss},
                   "parameters": parameters, "data": {"x": xs, "t": ts}}
    return case


def problem(raw: dict, optimizer: dict | None = None):
    return from_dict({**raw, "optimizer": optimizer or {"lr": 0.1}}, label="attention.toml")


def torch_run(case: dict, optimizer: str):
    """torch's forward, backward and one optimizer step on the case, with handprop's tensors copied into an
    nn.MultiheadAttention (in_proj_weight = [Wq; Wk; Wv] stacked by rows) and an nn.Linear head."""
    raw, features, steps = case["raw"], case["features"], case["steps"]
    p = {name: torch.tensor(value, dtype=DOUBLE) for name, value in raw["parameters"].items()}
    attention = torch.nn.MultiheadAttention(features, case["heads"], bias=case["bias"], batch_first=True,
                                            dtype=DOUBLE)
    with torch.no_grad():
        attention.in_proj_weight.copy_(torch.cat([p["Wq1"], p["Wk1"], p["Wv1"]]))
        attention.out_proj.weight.copy_(p["Wo1"])
        if case["bias"]:
            attention.in_proj_bias.copy_(torch.cat([p["bq1"], p["bk1"], p["bv1"]]))
            attention.out_proj.bias.copy_(p["bo1"])
    modules = [attention]
    if case["head"] == "dense":
        linear = torch.nn.Linear(steps * features, case["units"], dtype=DOUBLE)
        with torch.no_grad():
            linear.weight.copy_(p["W3"])
            linear.bias.copy_(p["b3"])
        modules.append(linear)
    x = torch.tensor(raw["data"]["x"], dtype=DOUBLE, requires_grad=True)
    t = torch.tensor(raw["data"]["t"], dtype=DOUBLE)
    mask = torch.triu(torch.ones(steps, steps, dtype=torch.bool), diagonal=1) if case["causal"] else None
    attended, weights = attention(x, x, x, need_weights=case["need_weights"], attn_mask=mask,
                                  average_attn_weights=False)
    out = x + attended if case["residual"] else attended
    if case["head"] == "mse":
        outputs, loss = out, F.mse_loss(out, t)
    else:
        logits = modules[1](out.flatten(1))
        outputs, loss = torch.softmax(logits, dim=1), F.cross_entropy(logits, t)
    loss.backward()
    grads = {"in_proj_weight": attention.in_proj_weight.grad, "out_proj.weight": attention.out_proj.weight.grad}
    if case["bias"]:
        grads.update({"in_proj_bias": attention.in_proj_bias.grad, "out_proj.bias": attention.out_proj.bias.grad})
    if case["head"] == "dense":
        grads.update({"weight": modules[1].weight.grad, "bias": modules[1].bias.grad})
    grads = {name: g.clone() for name, g in grads.items()}
    params = [q for module in modules for q in module.parameters()]
    step = torch.optim.SGD(params, lr=case["lr"]) if optimizer == "sgd" else torch.optim.Adam(params, lr=case["lr"])
    step.step()
    after = {"in_proj_weight": attention.in_proj_weight, "out_proj.weight": attention.out_proj.weight}
    if case["bias"]:
        after.update({"in_proj_bias": attention.in_proj_bias, "out_proj.bias": attention.out_proj.bias})
    if case["head"] == "dense":
        after.update({"weight": modules[1].weight, "bias": modules[1].bias})
    return {"loss": loss.item(), "outputs": outputs.detach(), "weights": weights, "grads": grads,
            "after": {name: value.detach().clone() for name, value in after.items()}, "x_grad": x.grad}


def handprop_tensor(values: dict, case: dict, torch_name: str) -> list[float]:
    """handprop's numbers in the order of torch's tensor of that name (flattened)."""
    features, steps = case["features"], case["steps"]
    square = [(i, j) for i in range(1, features + 1) for j in range(1, features + 1)]
    if torch_name == "in_proj_weight":
        return [values[f"W{letter}1[{i},{j}]"] for letter in "qkv" for i, j in square]
    if torch_name == "in_proj_bias":
        return [values[f"b{letter}1[{i}]"] for letter in "qkv" for i in range(1, features + 1)]
    if torch_name == "out_proj.weight":
        return [values[f"Wo1[{i},{j}]"] for i, j in square]
    if torch_name == "out_proj.bias":
        return [values[f"bo1[{i}]"] for i in range(1, features + 1)]
    if torch_name == "weight":
        return [values[f"W3[{j},{k}]"] for j in range(1, case["units"] + 1) for k in range(1, steps * features + 1)]
    return [values[f"b3[{j}]"] for j in range(1, case["units"] + 1)]


def assert_close(ours: list[float], theirs: list[float], what: str, slack: list[float] | None = None) -> None:
    """Each entry within 1e-12 of the tensor's largest entry (or of itself, if larger): relative agreement that
    a gradient which is 0 in exact arithmetic (bk's: a softmax ignores a constant added to its row) meets as
    rounding noise. slack: a further allowance per entry."""
    assert len(ours) == len(theirs), what
    scale = max(abs(b) for b in theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        allowed = TOLERANCE * max(abs(b), scale) + (slack[k] if slack else 0.0)
        assert abs(a - b) <= allowed, f"{what}[{k}]: handprop {a!r}, torch {b!r}"


SEEDS = range(24)


@pytest.mark.parametrize("seed", SEEDS)
def test_attention_agrees_with_torch(seed):
    case = random_case(seed)
    for optimizer in ("sgd", "adam"):
        ours = solve(problem(case["raw"], {"name": optimizer, "lr": case["lr"]}))
        theirs = torch_run(case, optimizer)
        assert ours.loss == pytest.approx(theirs["loss"], rel=TOLERANCE, abs=0)
        for sample in range(case["batch"]):
            assert_close(list(ours.output_values[sample]), theirs["outputs"][sample].flatten().tolist(), "outputs")
            x_names = [f"x[{t},{f}]" for t in range(1, case["steps"] + 1) for f in range(1, case["features"] + 1)]
            assert_close([ours.nodes[name].gradients[sample] for name in x_names],
                         theirs["x_grad"][sample].flatten().tolist(), "dL/dx")
            if theirs["weights"] is not None:  # need_weights: each head's softmax, 0 past a causal query
                for h in range(case["heads"]):
                    for t in range(case["steps"]):
                        row = theirs["weights"][sample, h, t].tolist()
                        seen = t + 1 if case["causal"] else case["steps"]
                        assert all(w == 0.0 for w in row[seen:])
                        assert_close([ours.nodes[f"alpha1[{h + 1},{t + 1},{u}]"].values[sample]
                                      for u in range(1, seen + 1)], row[:seen], "alpha")
        gradients = {name: record.gradient for name, record in ours.parameters.items()}
        updated = {name: record.updated for name, record in ours.parameters.items()}
        for name, grad in theirs["grads"].items():
            ours_grad = handprop_tensor(gradients, case, name)
            assert_close(ours_grad, grad.flatten().tolist(), f"dL/d{name}")
            slack = None
            if optimizer == "adam":
                # One Adam step moves θ by lr g / (|g| + eps): a gradient near 0 (bk's, in rounding noise) moves
                # it by up to lr |Δg| eps / (|g| + eps)^2 per difference Δg of the gradients checked above.
                slack = [2 * case["lr"] * abs(a - b) * ADAM_EPS / (min(abs(a), abs(b)) + ADAM_EPS) ** 2
                         for a, b in zip(ours_grad, grad.flatten().tolist())]
            assert_close(handprop_tensor(updated, case, name), theirs["after"][name].flatten().tolist(),
                         f"{optimizer} {name}", slack)


def test_the_key_bias_gradient_is_zero_to_rounding():
    """A softmax ignores a constant added to its row, so bk never changes a score's softmax: dL/dbk is 0."""
    case = next(c for c in map(random_case, range(100)) if c["bias"] and c["steps"] > 1)
    ours = solve(problem(case["raw"]))
    largest = max(abs(r.gradient) for r in ours.parameters.values())
    assert largest > 1e-3
    assert all(abs(ours.parameters[f"bk1[{i}]"].gradient) <= 1e-14 * largest
               for i in range(1, case["features"] + 1))


def test_causal_writes_no_score_past_its_query():
    case = random_case(3)
    case["raw"]["network"]["layers"][0].update(causal=True)
    raw = case["raw"]
    raw["network"]["input_shape"] = [3, 2]
    raw["network"]["layers"] = [{"type": "attention", "causal": True, "bias": False}]
    raw["parameters"] = {f"W{letter}1": [[0.5, -0.25], [0.75, 1.0]] for letter in "qkvo"}
    raw["data"] = {"x": [[1.0, 2.0], [0.5, -1.0], [-2.0, 0.25]], "t": [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]}
    nodes = problem(raw).program.nodes
    scores = [name for name in nodes if name.startswith("s1[")]
    assert scores == ["s1[1,1,1]", "s1[1,2,1]", "s1[1,2,2]", "s1[1,3,1]", "s1[1,3,2]", "s1[1,3,3]"]
    # the first query sees only itself: its weight is 1 and its output is v's first row projected
    solution = solve(problem(raw))
    assert solution.nodes["alpha1[1,1,1]"].values == (1.0,)
    v = [sum(w * x for w, x in zip(row, raw["data"]["x"][0])) for row in raw["parameters"]["Wv1"]]
    out = [sum(w * c for w, c in zip(row, v)) for row in raw["parameters"]["Wo1"]]
    assert [solution.nodes[f"y[1,{i}]"].values[0] for i in (1, 2)] == pytest.approx(out, rel=1e-15)


def test_verify_agrees(tmp_path, capsys):
    from handprop.cli import main

    path = tmp_path / "attention.toml"
    path.write_text("""
[network]
input_shape = [3, 2]
layers = [{ type = "attention", heads = 2, causal = true, residual = true }]
loss = "mse"
[parameters]
init = "xavier_uniform"
seed = 4
[data]
x = [[1.0, -0.5], [0.25, 2.0], [-1.5, 0.75]]
t = [[0.5, 0.5], [0.0, 1.0], [1.0, 0.0]]
[optimizer]
lr = 0.1
""")
    assert main(["verify", str(path)]) == 0
    assert "verdict: ok" in capsys.readouterr().out


def test_init_uses_torch_fans():
    """xavier_uniform draws Wq, Wk, Wv within sqrt(6 / (E + 3E)), in_proj_weight's fans, Wo within sqrt(6 / 2E)."""
    raw = {"network": {"input_shape": [2, 4], "layers": [{"type": "attention", "heads": 2}], "loss": "mse"},
           "parameters": {"init": "xavier_uniform", "seed": 1},
           "data": {"x": [[0.0] * 4] * 2, "t": [[0.0] * 4] * 2}}
    parameters = problem(raw).parameters
    in_bound, out_bound = (6 / 16) ** 0.5, (6 / 8) ** 0.5
    in_proj = [v for name, v in parameters.items() if name[:2] in ("Wq", "Wk", "Wv")]
    out_proj = [v for name, v in parameters.items() if name.startswith("Wo")]
    assert len(in_proj) == 48 and all(abs(v) <= in_bound for v in in_proj)
    assert max(abs(v) for v in out_proj) > in_bound and all(abs(v) <= out_bound for v in out_proj)
    assert all(v == 0.0 for name, v in parameters.items() if name.startswith("b"))


def _raw(shape, layer):
    return {"network": {"input_shape": shape, "layers": [layer], "loss": "mse"},
            "parameters": {"init": "xavier_uniform"},
            "data": {"x": [[0.0] * shape[-1]] * shape[0], "t": [[0.0] * shape[-1]] * shape[0]}}


@pytest.mark.parametrize("shape, layer, message", [
    ([4], {"type": "attention"}, "attention takes a sequence (T, E), but its input is (4)"),
    ([1, 2, 2], {"type": "attention"}, "attention takes a sequence (T, E), but its input is (1, 2, 2)"),
    ([2, 4], {"type": "attention", "embed_dim": 6}, "embed_dim: is 6, but its input has 4 features"),
    ([2, 4], {"type": "attention", "heads": 3}, "3 heads do not divide embed_dim 4"),
    ([2, 4], {"type": "attention", "heads": 0}, "heads: is the value 0 (a whole number from 1"),
    ([2, 4], {"type": "attention", "causal": "yes"}, "causal: is 'yes'"),
])
def test_bad_input_is_one_line(shape, layer, message):
    with pytest.raises(HandpropError) as error:
        problem(_raw(shape, layer))
    text = str(error.value)
    assert message in text and "\n" not in text


def test_transformer_block_example_agrees_with_torch():
    """The packaged block: attention with a residual, nn.LayerNorm over each token, flatten, nn.Linear, softmax
    and cross-entropy, against torch's modules: loss, every gradient, and the parameters after one SGD step."""
    from handprop.problem.files import example_names
    from handprop.problem.kinds import KINDS
    from handprop.problem.spec import load

    if "layernorm" not in KINDS or "transformer_block" not in example_names():
        pytest.skip("no layernorm kind, or no transformer_block example")
    problem_ = load("transformer_block")
    ours = solve(problem_)
    values = problem_.parameters
    steps, features = problem_.stack.input_shape

    def tensor(name, shape):
        names = [key for key in values if key.startswith(f"{name}[")]
        return torch.tensor([values[key] for key in names], dtype=DOUBLE).reshape(shape)

    attention = torch.nn.MultiheadAttention(features, 2, batch_first=True, dtype=DOUBLE)
    norm = torch.nn.LayerNorm(features, dtype=DOUBLE)
    linear = torch.nn.Linear(steps * features, 2, dtype=DOUBLE)
    square = (features, features)
    with torch.no_grad():
        attention.in_proj_weight.copy_(torch.cat([tensor(f"W{c}1", square) for c in "qkv"]))
        attention.in_proj_bias.copy_(torch.cat([tensor(f"b{c}1", (features,)) for c in "qkv"]))
        attention.out_proj.weight.copy_(tensor("Wo1", square))
        attention.out_proj.bias.copy_(tensor("bo1", (features,)))
        norm.weight.copy_(tensor("gamma2", (features,)))
        norm.bias.copy_(tensor("beta2", (features,)))
        linear.weight.copy_(tensor("W4", (2, steps * features)))
        linear.bias.copy_(tensor("b4", (2,)))
    x = torch.tensor([[problem_.data[f"x[{t},{j}]"][0] for j in range(1, features + 1)]
                      for t in range(1, steps + 1)], dtype=DOUBLE).unsqueeze(0)
    target = torch.tensor([[problem_.data["t1"][0], problem_.data["t2"][0]]], dtype=DOUBLE)
    logits = linear(norm(x + attention(x, x, x, need_weights=False)[0]).flatten(1))
    loss = F.cross_entropy(logits, target)
    loss.backward()
    assert ours.loss == pytest.approx(loss.item(), rel=TOLERANCE, abs=0)
    modules = {"1": attention, "2": norm, "4": linear}
    pairs = [("in_proj_weight", [f"W{c}1" for c in "qkv"]), ("in_proj_bias", [f"b{c}1" for c in "qkv"]),
             ("out_proj.weight", ["Wo1"]), ("out_proj.bias", ["bo1"]), ("2.weight", ["gamma2"]),
             ("2.bias", ["beta2"]), ("4.weight", ["W4"]), ("4.bias", ["b4"])]
    lr = problem_.optimizer.lr
    for torch_name, names in pairs:
        owner, attribute = (modules["1"], torch_name) if torch_name[0] not in "24" else \
            (modules[torch_name[0]], torch_name[2:])
        parameter = owner.get_parameter(attribute)
        ordered = [key for name in names for key in values if key.startswith(f"{name}[")]
        assert_close([ours.parameters[key].gradient for key in ordered], parameter.grad.flatten().tolist(),
                     f"dL/d{torch_name}")
        assert_close([ours.parameters[key].updated for key in ordered],
                     (parameter - lr * parameter.grad).detach().flatten().tolist(), f"sgd {torch_name}")
