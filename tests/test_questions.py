"""Every question a course asks of a small network: each step in full, frozen parameters, the gradients of
the data, and a gradient-only question without an optimizer; each held to PyTorch in float64."""

from __future__ import annotations

import json

import pytest

import handprop
from conftest import random_network, write
from handprop.problem.spec import from_dict

torch = pytest.importorskip("torch")

OPTIMIZER_CASES = [
    {"name": "sgd", "lr": 0.1},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    {"name": "sgd", "lr": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1},
    {"name": "adam", "lr": 0.01},
    {"name": "adam", "lr": 0.02, "betas": [0.8, 0.95], "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True},
    {"name": "adamw", "lr": 0.03, "weight_decay": 0.2, "amsgrad": True},
    {"name": "rmsprop", "lr": 0.01},
    {"name": "rmsprop", "lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.05},
    {"name": "adagrad", "lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "eps": 1e-8},
]
STEPS = 4


def _torch_run(problem, steps: int, frozen=()):
    """torch's model and optimizer for the problem (frozen parameters left out of the optimizer), stepped:
    per step the loss, the outputs, every parameter's gradient, its value after and torch.optim's state."""
    from handprop.problem.layered import bias_names, weight_rows

    model, _ = handprop.to_torch(problem)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    entries = []  # (torch parameter, {handprop name: index in it})
    for linear, rows, biases in zip(linears, weight_rows(problem.network), bias_names(problem.network)):
        entries.append((linear.weight, {name: (j, k) for j, row in enumerate(rows) for k, name in enumerate(row)}))
        entries.append((linear.bias, {name: j for j, name in enumerate(biases)}))
    kept = [(p, names) for p, names in entries if not all(name in frozen for name in names)]
    settings = {k: (tuple(v) if isinstance(v, list) else v) for k, v in problem.optimizer.options.items()}
    kind = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
            "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}[problem.optimizer.name]
    optimizer = kind([p for p, _ in kept], lr=problem.optimizer.lr, **settings)
    x = torch.tensor([list(v) for v in zip(*[problem.data[n] for n in problem.network.inputs])], dtype=torch.float64)
    t = torch.tensor([list(v) for v in zip(*[problem.data[n] for n in problem.network.targets])], dtype=torch.float64)
    records = []
    for _ in range(steps):
        optimizer.zero_grad()
        output = model(x)
        loss = torch.nn.functional.cross_entropy(output, t)
        loss.backward()
        gradients = {name: p.grad[index].item() for p, names in entries for name, index in names.items()}
        outputs = torch.softmax(output, dim=1).tolist()
        optimizer.step()
        after = {name: p.detach()[index].item() for p, names in entries for name, index in names.items()}
        state = {name: {key: (value.item() if value.dim() == 0 else value[index].item())
                        for key, value in optimizer.state[p].items() if value is not None}
                 for p, names in kept for name, index in names.items()}
        records.append((loss.item(), outputs, gradients, after, state))
    return records, model, x


def _problem(section: dict, frozen=()):
    raw = random_network([3, 4, 2], "tanh", "softmax", "cross_entropy", 3, seed=11,
                         optimizer=dict(section, steps=STEPS, **({"frozen": list(frozen)} if frozen else {})))
    return from_dict(raw)


@pytest.mark.parametrize("section", OPTIMIZER_CASES, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
@pytest.mark.parametrize("engine", ["scalar", "numpy"])
def test_every_step_in_json_is_torchs_loss_outputs_gradients_parameters_and_state(section, engine):
    problem = _problem(section)
    document = json.loads(handprop.solve(problem, engine=engine).to_json())
    expected, _, _ = _torch_run(problem, STEPS)
    assert len(document["steps"]) == STEPS
    for step, (loss, outputs, gradients, after, state) in zip(document["steps"], expected):
        assert step["loss"] == pytest.approx(loss, rel=1e-12)
        assert step["outputs"] == [pytest.approx(row, rel=1e-12, abs=1e-15) for row in outputs]
        for name in after:
            assert step["gradients"][name] == pytest.approx(gradients[name], rel=1e-12, abs=1e-15), name
            assert step["parameters"][name] == pytest.approx(after[name], rel=1e-12, abs=1e-14), name
            assert set(step["state"][name]) == set(state[name]), name
            for key, value in state[name].items():
                assert step["state"][name][key] == pytest.approx(value, rel=1e-12, abs=1e-15), (name, key)


def test_outputs_after_are_the_prediction_at_the_final_parameters():
    problem = _problem({"name": "adam", "lr": 0.05})
    solution = handprop.solve(problem)
    _, model, x = _torch_run(problem, STEPS)
    with torch.no_grad():
        expected = torch.softmax(model(x), dim=1).tolist()
    assert [list(row) for row in solution.outputs_after] == [pytest.approx(row, rel=1e-12) for row in expected]
    assert json.loads(solution.to_json())["outputs_after"] == [pytest.approx(row, rel=1e-12) for row in expected]


# --- frozen parameters

@pytest.mark.parametrize("section", [{"name": "sgd", "lr": 0.2, "weight_decay": 0.1},
                                     {"name": "adam", "lr": 0.05}, {"name": "rmsprop", "lr": 0.01, "momentum": 0.3}])
@pytest.mark.parametrize("engine", ["scalar", "numpy"])
def test_frozen_parameters_are_left_out_of_the_optimizer_as_torchs(section, engine):
    problem = _problem(section, frozen=["b*"])
    assert problem.optimizer.frozen == ("b1[1]", "b1[2]", "b1[3]", "b1[4]", "b2[1]", "b2[2]")
    solution = handprop.solve(problem, engine=engine)
    expected, _, _ = _torch_run(problem, STEPS, frozen=problem.optimizer.frozen)
    for name, record in solution.parameters.items():
        assert record.updated == pytest.approx(expected[-1][3][name], rel=1e-12, abs=1e-14), name
        if name.startswith("b"):
            assert record.updated == record.initial and record.gradient != 0  # shown, never applied
    last = json.loads(solution.to_json())["steps"][-1]["state"]
    assert not any(name.startswith("b") for name in last)


def test_a_frozen_name_that_matches_nothing_is_refused_with_the_closest(cli, tmp_path):
    text = (handprop.problem.files.EXAMPLES_DIR / "homework.toml").read_text().replace(
        "steps = 1", 'steps = 1\nfrozen = ["b1", "bb*"]')
    result = cli(["solve", write(tmp_path, "frozen.toml", text)])
    assert result.status == 2
    assert "optimizer.frozen: entry 2: 'bb*' names no parameter" in result.err


def test_frozen_biases_in_the_homework(cli, tmp_path):
    text = (handprop.problem.files.EXAMPLES_DIR / "homework.toml").read_text().replace(
        "steps = 1", 'steps = 1\nfrozen = ["b1", "b2", "b3", "b4", "b5"]')
    solution = handprop.load(write(tmp_path, "frozen.toml", text))
    records = handprop.solve(solution).parameters
    assert all(records[f"b{k}"].updated == records[f"b{k}"].initial for k in range(1, 6))
    assert records["w7"].updated == pytest.approx(0.21656863300095243, rel=1e-12)  # the homework's own step


# --- the gradients of the data

def test_every_data_value_has_its_gradient_as_torchs():
    raw = random_network([3, 4, 2], "sigmoid", "identity", "mse", 3, seed=5)
    problem = from_dict(raw)
    solution = handprop.solve(problem)
    model, _ = handprop.to_torch(problem)
    x = torch.tensor(raw["data"]["x"], dtype=torch.float64, requires_grad=True)
    t = torch.tensor(raw["data"]["t"], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.mse_loss(model(x), t).backward()
    for k in range(3):
        for j in range(3):
            assert solution.nodes[f"x{j + 1}"].gradients[k] == pytest.approx(x.grad[k, j].item(), rel=1e-12)
        for j in range(2):
            assert solution.nodes[f"t{j + 1}"].gradients[k] == pytest.approx(t.grad[k, j].item(), rel=1e-12)


def test_nodes_and_json_list_the_data(cli):
    table = cli(["solve", "homework", "--nodes"]).out
    assert "\nx1 " in table and "\nt2 " in table
    nodes = json.loads(cli(["solve", "homework", "--format", "json"]).out)["nodes"]
    assert list(nodes)[:4] == ["x1", "x2", "t1", "t2"] and set(nodes["x1"]) == {"value", "gradient"}


# --- a gradient-only question, and a function of the parameters alone

FUNCTION = '[network]\nequations = "f = (x*y + z)**2"\n[parameters]\nx = 1\ny = 2\nz = 3\n'


def test_a_function_without_data_or_optimizer_gives_its_gradient_only(cli, tmp_path):
    path = write(tmp_path, "f.toml", FUNCTION)
    result = cli(["solve", path])
    assert result.status == 0 and "gradients only (no optimizer)" in result.out
    assert "updated" not in result.out
    rows = {line.split()[0]: line.split()[1:] for line in result.out.splitlines()[4:]}
    assert rows["f"] == ["25.0000"] and rows["x"] == ["1.0000", "20.0000"] and rows["z"] == ["3.0000", "10.0000"]
    document = json.loads(cli(["solve", path, "--format", "json"]).out)
    assert document["optimizer"] is None and document["loss_after"] is None and document["steps"] == []
    assert document["parameters"]["y"] == {"initial": 2.0, "gradient": 10.0, "updated": None}


def test_step_k_of_the_table_and_its_bad_values(cli, tmp_path):
    path = write(tmp_path, "q.toml", '[network]\nequations = "L = (w - 3)**2"\n[parameters]\nw = 0\n'
                                     '[optimizer]\nname = "sgd"\nmomentum = 0.9\nlr = 0.1\nsteps = 3\n')
    out = cli(["solve", path, "--step", "2", "--format", "csv"]).out.splitlines()
    # By hand: w = 0.6 after step 1; g = 2(0.6 - 3) = -4.8; b = 0.9(-6) - 4.8 = -10.2; w = 0.6 + 1.02 = 1.62.
    w = dict(zip(out[0].split(","), out[2].split(",")))
    assert float(w["initial"]) == pytest.approx(0.6) and float(w["gradient"]) == pytest.approx(-4.8)
    assert float(w["updated"]) == pytest.approx(1.62)
    assert cli(["solve", path, "--step", "all"]).out.count("step ") == 3
    for args, message in ((["--step", "4"], "--step: is 4 (a whole number from 1 to 3)"),
                          (["--step", "2", "--nodes"], "--nodes: the nodes are worked out at the initial"),
                          (["--step", "1", "--format", "json"], "JSON holds every step already")):
        result = cli(["solve", path, *args])
        assert result.status == 2 and message in result.err, result.err
    result = cli(["solve", write(tmp_path, "f.toml", FUNCTION), "--step", "1"])
    assert result.status == 2 and "has no optimizer" in result.err


# --- the worked solution of these questions

def _last_value(block: str) -> str:
    """The number a chain of equalities ends in."""
    import re

    return re.findall(r"= (-?\d+\.\d+)", block)[-1]


def test_explain_inputs_derives_each_data_values_gradient():
    solution = handprop.solve(handprop.load("homework"))
    text = solution.explain(inputs=True)
    section = text.split("## Gradients of the inputs")[1].split("\n## ")[0]
    for name in ("x1", "x2", "t1", "t2"):
        block = section.split(f'<a id="grad-{name}"></a>')[1].split("$$")[1]
        assert _last_value(block) == f"{solution.nodes[name].gradients[0]:.2f}", (name, block)  # the homework's 2
    assert "Gradients of the inputs" not in solution.explain()


def test_the_worked_solution_of_a_plain_function_reads_like_one(tmp_path):
    solution = handprop.solve(handprop.load(write(tmp_path, "f.toml", FUNCTION)))
    text = solution.explain()
    assert "## The value of $f$" in text and "## Loss" not in text
    assert "## Update" not in text and "Data:" not in text and "| updated |" not in text
    assert "the gradients are the answer" in text


def test_a_frozen_parameter_is_said_to_be_so_in_the_update(tmp_path):
    text = (handprop.problem.files.EXAMPLES_DIR / "homework.toml").read_text().replace(
        "steps = 1", 'steps = 1\nfrozen = ["b*"]')
    worked = handprop.solve(handprop.load(write(tmp_path, "frozen.toml", text))).explain()
    assert "Frozen, left out of the optimizer" in worked
    assert "b_{1}' = b_{1} \\text{ (frozen)} = 0.30" in worked


@pytest.mark.parametrize("section", OPTIMIZER_CASES, ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_every_steps_update_lines_evaluate_to_the_recorded_values(section):
    """Each step's update, written with the numbers, ends in the parameter the step gave (its state lines
    read the step before's state): the last line of each parameter's chain at every step."""
    problem = _problem(section)
    solution = handprop.solve(problem)
    text = solution.explain()
    for k in range(1, STEPS + 1):
        for name, value in solution.history[k - 1].parameters.items():
            anchor = f'<a id="update-{name.replace("[", "-").replace(",", "-").rstrip("]")}{"" if k == 1 else f"-{k}"}"></a>'
            assert _last_value(text.split(anchor)[1].split("$$")[1]) == f"{value:.4f}", (k, name)


# --- a layer's bias: one per unit, one shared by the layer, or none

CLASSIC = ('[network]\ninputs = 2\nlayers = [ { units = 2, activation = "sigmoid", bias = "shared" }, '
           '{ units = 2, activation = "sigmoid", bias = "shared" } ]\nloss = "half_sse"\n[parameters]\n'
           'w = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55]\nb = [0.35, 0.60]\n[data]\nx = [0.05, 0.10]\n'
           't = [0.01, 0.99]\n[optimizer]\nlr = 0.5\n')


def _shared_bias_torch(problem, steps: int):
    """The network with one scalar bias per layer, in torch, stepped by torch.optim.SGD: the parameters after."""
    import math

    weights = [torch.tensor([[problem.parameters[f"w{4 * n + 2 * j + k + 1}"] for k in range(2)] for j in range(2)],
                            dtype=torch.float64, requires_grad=True) for n in range(2)]
    biases = [torch.tensor(problem.parameters[f"b{n + 1}"], dtype=torch.float64, requires_grad=True) for n in range(2)]
    optimizer = torch.optim.SGD(weights + biases, lr=problem.optimizer.lr)
    x = torch.tensor([0.05, 0.10], dtype=torch.float64)
    t = torch.tensor([0.01, 0.99], dtype=torch.float64)
    for _ in range(steps):
        optimizer.zero_grad()
        a = torch.sigmoid(weights[0] @ x + biases[0])
        y = torch.sigmoid(weights[1] @ a + biases[1])
        (0.5 * ((y - t) ** 2).sum()).backward()
        optimizer.step()
    assert math.isfinite(biases[0].item())
    return ({f"w{4 * n + 2 * j + k + 1}": weights[n][j, k].item() for n in range(2) for j in range(2) for k in range(2)}
            | {f"b{n + 1}": biases[n].item() for n in range(2)})


@pytest.mark.parametrize("engine", ["scalar", "numpy"])
def test_a_shared_bias_is_one_parameter_for_the_layer_as_in_the_classic_example(tmp_path, engine):
    problem = handprop.load(write(tmp_path, "classic.toml", CLASSIC.replace("lr = 0.5", "lr = 0.5\nsteps = 4")))
    assert list(problem.parameters)[-2:] == ["b1", "b2"] and len(problem.parameters) == 10
    solution = handprop.solve(problem, engine=engine)
    expected = _shared_bias_torch(problem, 4)
    for name, record in solution.parameters.items():
        assert record.updated == pytest.approx(expected[name], rel=1e-12), name


def test_the_classic_example_gives_its_published_numbers():
    solution = handprop.solve(handprop.load("backprop_step_by_step"))
    assert solution.outputs[0] == pytest.approx((0.75136507, 0.772928465), abs=5e-9)
    assert solution.loss == pytest.approx(0.298371109, abs=5e-9)
    published = {"w5": 0.35891648, "w6": 0.408666186, "w7": 0.511301270, "w8": 0.561370121,
                 "w1": 0.149780716, "w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229}
    for name, value in published.items():
        assert solution.parameters[name].updated == pytest.approx(value, abs=5e-9), name


@pytest.mark.parametrize("engine", ["scalar", "numpy"])
def test_a_layer_without_bias_is_torchs_linear_without_bias(engine):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    torch.manual_seed(0)
    x, t = torch.randn(5, 3, dtype=torch.float64), torch.randint(0, 2, (5,))
    problem = handprop.from_torch(model.double(), x, t, optimizer={"name": "adam", "lr": 0.05}, steps=3)
    assert problem.network.layers[0].bias == "none" and "b1[1]" not in problem.parameters
    solution = handprop.solve(problem, engine=engine)
    back, optimizer = handprop.to_torch(problem)
    assert back[0].bias is None
    for _ in range(3):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(back(x), t).backward()
        optimizer.step()
    for j in range(4):
        for k in range(3):
            assert solution.parameters[f"W1[{j + 1},{k + 1}]"].updated == pytest.approx(back[0].weight[j, k].item(),
                                                                                      rel=1e-12)


NO_BIAS = ('[network]\ninputs = 2\nlayers = [ { units = 2, activation = "sigmoid", bias = "none" }, { units = 1 } ]\n'
           'loss = "mse"\nnaming = "layered"\n[parameters]\nW1 = [[1, 2], [3, 4]]\nb1 = [0, 0]\nW2 = [[1, 1]]\n'
           'b2 = [0]\n[data]\nx = [1, 2]\nt = [1]\n[optimizer]\nlr = 0.1\n')


@pytest.mark.parametrize("text, message", [
    (CLASSIC.replace('bias = "shared"', 'bias = "each"', 1), "bias: unknown bias kind 'each' (one of: per_unit"),
    (NO_BIAS, 'parameters.b1: layer 1 has no bias (bias = "none")'),
    (CLASSIC.replace("b = [0.35, 0.60]", "b = [0.35, 0.60, 0.1]"), "parameters.b: 3 biases given, 1 extra"),
])
def test_bias_kinds_bad_input(cli, tmp_path, text, message):
    result = cli(["solve", write(tmp_path, "bad.toml", text)])
    assert result.status == 2 and message in result.err, result.err


def test_a_shared_bias_has_no_linear_in_torch(tmp_path):
    problem = handprop.load(write(tmp_path, "classic.toml", CLASSIC))
    with pytest.raises(handprop.HandpropError, match="a bias shared by a layer's units has no nn.Linear"):
        handprop.to_torch(problem)


def test_a_frozen_part_of_a_tensor_has_no_torch_optimizer(tmp_path):
    text = (handprop.problem.files.EXAMPLES_DIR / "homework.toml").read_text().replace(
        "steps = 1", 'steps = 1\nfrozen = ["b1"]')
    with pytest.raises(handprop.HandpropError, match="torch.optim freezes whole tensors"):
        handprop.to_torch(handprop.load(write(tmp_path, "frozen.toml", text)))
    verified = __import__("handprop.verify", fromlist=["verify"]).verify(
        handprop.load(write(tmp_path, "frozen.toml", text)))
    assert verified.passed  # verify's own torch oracle holds every parameter apart, and leaves b1 out


def test_the_sigmoid_neuron_gives_its_published_gradients(cli):
    solution = handprop.solve(handprop.load("sigmoid_neuron"))
    assert not solution.trained and round(solution.loss, 2) == 0.73
    assert solution.nodes["dot"].values == (1.0,)
    # The notes' rounding: dx = [0.39, -0.59], dw = [-0.2, -0.39, 0.2].
    assert [round(solution.nodes[x].gradients[0], 2) for x in ("x0", "x1")] == [0.39, -0.59]
    assert [round(solution.parameters[w].gradient, 2) for w in ("w0", "w1", "w2")] == [-0.2, -0.39, 0.2]
    table = cli(["solve", "sigmoid_neuron", "--nodes"]).out
    assert "x0     -1.000     0.393" in table and "updated" not in table


def test_the_micrograd_expression_gives_its_published_numbers():
    solution = handprop.solve(handprop.load("micrograd_expression"))
    assert f"{solution.loss:.4f}" == "24.7041"
    assert f"{solution.parameters['a'].gradient:.4f}" == "138.8338"
    assert f"{solution.parameters['b'].gradient:.4f}" == "645.5773"
    assert {"c", "c'", "c''", "d", "d'", "d''", "g", "g'"} <= set(solution.nodes)
