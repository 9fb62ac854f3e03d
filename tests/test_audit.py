"""Inputs an outside audit found handprop failing on: each now answered, or refused in one line."""

from __future__ import annotations

import json
import math

import pytest

import handprop
from conftest import write

HUGE = '[network]\nequations = "L = (w*x - t)**2"\n[parameters]\nw = 1e13\n[data]\nx = 1\nt = 0\n[optimizer]\nlr = 0.1\n'


# --- hand rounding of numbers past Decimal's default 28 digits

@pytest.mark.parametrize("args", [["solve", "--round-intermediate", "2"], ["explain", "--round-intermediate", "2"],
                                  ["solve", "--compare-rounding", "2"]])
def test_hand_rounding_works_for_a_loss_of_1e26(cli, tmp_path, args):
    result = cli([args[0], write(tmp_path, "big.toml", HUGE), *args[1:]])
    assert result.status == 0, result.err
    assert "Traceback" not in result.err and result.err == ""


def test_the_pages_by_hand_switch_works_for_a_loss_of_1e26():
    pytest.importorskip("tomlkit")
    from handprop.serve.tasks import solve_answer

    answer = solve_answer({"text": HUGE, "by_hand": True})
    assert answer["ok"], answer


def test_hand_rounding_keeps_every_digit_of_a_large_double():
    from handprop.core.rounding import hand_round

    for value in (1e26, 123456789012345678901234567890.0, 1.7976931348623157e308, -3.0000000000000004e200):
        assert hand_round(value, 2) == value and hand_round(value, 15) == value


# --- centred RMSprop: s - g_avg^2 can round below 0, where torch's step is NaN

def _torch_rmsprop_states(gradients: list, alpha: float) -> list:
    """torch's square_avg and grad_avg after each step, and whether the parameter has become NaN."""
    torch = pytest.importorskip("torch")
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.RMSprop([p], lr=0.1, alpha=alpha, centered=True)
    states = []
    for g in gradients:
        p.grad = torch.tensor([g], dtype=torch.float64)
        optimizer.step()
        state = optimizer.state[p]
        states.append((state["square_avg"].item(), state["grad_avg"].item(), math.isnan(p.item())))
    return states


@pytest.mark.parametrize("seed", range(40))
def test_centred_rmsprop_state_is_torchs_to_the_last_bit_and_nan_at_the_same_step(seed):
    import random

    from handprop.core.optim import Optimizer, OptimizerConfig, optimizer_step

    rng = random.Random(seed)
    alpha = rng.choice([0.1, 0.5, 0.9, 0.99])
    g = rng.uniform(-10, 10)
    gradients = [g] * 30 if seed % 2 else [g + rng.uniform(-1e-9, 1e-9) * g for _ in range(30)]
    expected = _torch_rmsprop_states(gradients, alpha)
    optimizer = Optimizer(OptimizerConfig("rmsprop", 0.1, options={"centered": True, "alpha": alpha}))
    theta = 0.0
    nan_seen = False
    for grad, (square_avg, grad_avg, nan) in zip(gradients, expected):
        theta = optimizer_step(optimizer, {"w": theta}, {"w": grad})["w"]
        nan_seen = nan_seen or math.isnan(theta)
        state = optimizer.state["w"]
        assert (state["s"], state["g_avg"]) == (square_avg, grad_avg)
        assert nan_seen == nan


def test_the_numpy_paths_multiply_add_rounds_a_near_cancellation_once():
    import random

    np = pytest.importorskip("numpy")

    from handprop.core.optim import fused_multiply_add
    from handprop.engine.numpy_engine import multiply_add

    rng = random.Random(3)
    a = np.array([rng.uniform(-10, 10) for _ in range(2000)])
    c = a * a * (1 + np.array([rng.uniform(-1e-12, 1e-12) for _ in range(2000)]))
    result = multiply_add(-a, a, c)
    assert [float(r) for r in result] == [fused_multiply_add(-x, x, z) for x, z in zip(a.tolist(), c.tolist())]


CONSTANT_GRADIENT = ('[network]\nequations = "L = w*x"\n[parameters]\nw = 0.5958982125476968\n'
                     '[data]\nx = 1.6036019670024908\n[optimizer]\nname = "rmsprop"\ncentered = true\n'
                     'alpha = 0.1\nlr = 0.1\nsteps = 20\n')


def test_a_nan_step_of_centred_rmsprop_is_refused_at_torchs_step_in_one_line(cli, tmp_path):
    torch = pytest.importorskip("torch")
    p = torch.tensor([0.5958982125476968], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.RMSprop([p], lr=0.1, alpha=0.1, centered=True)
    nan_step = None
    for step in range(1, 21):
        optimizer.zero_grad()
        (p * 1.6036019670024908).sum().backward()
        optimizer.step()
        if nan_step is None and math.isnan(p.item()):
            nan_step = step
    assert nan_step is not None
    path = write(tmp_path, "linear.toml", CONSTANT_GRADIENT)
    for command in (["solve"], ["explain"], ["verify"], ["train"]):
        result = cli([*command, path])
        assert result.status == 2, (command, result.err)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"handprop: error: {path}: step {nan_step}, parameter w"), (
            command, result.err)
        assert "s - g_avg^2 rounded below 0" in lines[0]
        assert "nan" not in _without_the_reason(result.out).lower()


@pytest.mark.parametrize("seed", range(12))
def test_centred_rmsprop_agrees_with_torch_over_many_steps(seed):
    """20 steps of the audit's problem; near the minimum d is small and a last-bit difference in the gradient
    grows (1e-10 after 40 steps), so 20 steps, held to 1e-10."""
    torch = pytest.importorskip("torch")
    import random

    rng = random.Random(seed)
    w, x, t = rng.uniform(-2, 2), rng.uniform(-2, 2), rng.uniform(-2, 2)
    p = torch.tensor([w], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.RMSprop([p], lr=0.1, alpha=0.1, centered=True, momentum=0.5 * (seed % 2))
    for _ in range(20):
        optimizer.zero_grad()
        ((p * x - t) ** 2).sum().backward()
        optimizer.step()
    solution = handprop.from_equations("L = (w*x - t)**2", parameters={"w": w}, data={"x": x, "t": t},
                                       optimizer={"name": "rmsprop", "centered": True, "alpha": 0.1,
                                                  "momentum": 0.5 * (seed % 2)}, lr=0.1, steps=20)
    assert handprop.solve(solution).parameters["w"].updated == pytest.approx(p.item(), rel=1e-10)


# --- a value that stops being a number is never shown as an answer

OVERFLOW = '[network]\nequations = """\nh = relu(w*x)\nL = (h - t)**2\n"""\n[parameters]\nw = 1\n[data]\nx = 1e154\nt = 0\n[optimizer]\nlr = 0.1\nsteps = 3\n'


@pytest.mark.parametrize("command", [["solve"], ["solve", "--format", "json"], ["solve", "--round-intermediate", "3"],
                                     ["explain"], ["verify"], ["diagram"], ["train"], ["train", "--format", "json"]])
def test_an_overflowing_gradient_is_refused_naming_the_parameter_and_step(cli, tmp_path, command):
    path = write(tmp_path, "overflow.toml", OVERFLOW)
    result = cli([command[0], path, *command[1:]])
    assert result.status == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"handprop: error: {path}: step 1, parameter w: "), result.err
    assert "gradient" in lines[0] and "inf" in lines[0]
    answers = _without_the_reason(result.out)
    assert "inf" not in answers and "nan" not in answers.lower()


def test_an_overflowing_gradient_of_one_sample_names_the_sample(cli, tmp_path):
    text = OVERFLOW.replace("x = 1e154", "x = [1, 1e154]").replace("t = 0", "t = [0, 0]").replace("steps = 3",
                                                                                               "steps = 1")
    result = cli(["solve", write(tmp_path, "batch.toml", text)])
    assert result.status == 2 and "parameter w, sample 2: its gradient dL/dw is inf" in result.err, result.err


def _without_the_reason(out: str) -> str:
    """A stopped run's output without the error's own line, which names the value that stopped it."""
    if out.lstrip().startswith("{"):
        run = json.loads(out)
        run.pop("stopped")
        return json.dumps(run)
    return "\n".join(line for line in out.splitlines() if "training stopped:" not in line)


def _diverging(engine: str, seed: int) -> handprop.Problem:
    from conftest import random_network
    from handprop.problem.spec import from_dict

    output, loss = [("sigmoid", "binary_cross_entropy"), ("identity", "mse"), ("softmax", "cross_entropy")][seed % 3]
    raw = random_network([3, 5, 2], "relu", output, loss, batch=4, seed=seed,
                         optimizer={"name": ["sgd", "adam", "rmsprop"][seed % 3], "lr": 10.0 ** (4 + seed % 5)})
    return from_dict(raw)


@pytest.mark.parametrize("engine", ["scalar", "numpy"])
@pytest.mark.parametrize("seed", range(9))
def test_training_never_steps_with_or_shows_a_value_that_is_not_a_number(engine, seed):
    from handprop.training import TrainingDiverged, train

    if engine == "numpy":
        pytest.importorskip("numpy")

    problem = _diverging(engine, seed)
    try:
        result = train(problem, steps=200, engine=engine)
    except TrainingDiverged as exc:
        result = exc.result
        assert exc.where.startswith("step ")
    assert all(math.isfinite(loss) for loss in result.losses)
    assert all(math.isfinite(value) for value in result.final.values())
    assert all(math.isfinite(entry.loss) for entry in result.log)


def test_a_run_whose_parameters_overflow_stops_at_the_step_with_the_last_good_parameters():
    from handprop.training import TrainingDiverged, train

    problem = handprop.from_equations("L = (w*x - t)**2", parameters={"w": 1.0}, data={"x": 10.0, "t": 0.0}, lr=1.0,
                                      steps=400)
    with pytest.raises(TrainingDiverged) as caught:
        train(problem)
    # Each step multiplies w by 1 - 2 lr x^2 = -199, and the loss 100 w^2 overflows once w passes 1e153: at
    # step 68, whose loss is that of w after 67 steps. The last good parameters are the last whose loss was a
    # number: w after 66 steps.
    assert caught.value.where.startswith("step 68, node L")
    assert caught.value.result.final["w"] == pytest.approx((-199.0) ** 66, rel=1e-9)
    assert caught.value.result.steps == 66 and caught.value.result.stopped == caught.value.line()


@pytest.mark.parametrize("format", ["json", "csv", "table"])
def test_a_stopped_runs_last_good_parameters_go_where_format_and_output_say(cli, tmp_path, format):
    path = write(tmp_path, "diverge.toml", '[network]\nequations = "L = (w*x - t)**2"\n[parameters]\nw = 1\n'
                                           '[data]\nx = 10\nt = 0\n[optimizer]\nlr = 1\nsteps = 400\n')
    out = tmp_path / f"run.{ {'table': 'txt'}.get(format, format)}"
    result = cli(["train", path, "-o", str(out)])
    assert result.status == 2 and result.out == ""
    assert len(result.err.strip().splitlines()) == 1 and "step 68" in result.err
    text = out.read_text()
    assert "inf" not in _without_the_reason(text) and "nan" not in _without_the_reason(text)
    if format == "json":
        run = json.loads(text)
        assert run["steps"] == 66 and run["stopped"] == result.err.strip().removeprefix("handprop: error: ")
        assert run["parameters"]["w"]["final"] == pytest.approx((-199.0) ** 66, rel=1e-9)
    elif format == "csv":
        assert text.splitlines()[-1].startswith("stopped,66,,")
    else:
        assert "the last good ones, after step 66" in text


# --- a problem without data is one sample of nothing

PURE = {"sgd": '[network]\nequations = "L = (w - 3)**2"\n[parameters]\nw = 0\n[optimizer]\nname = "sgd"\n'
               'momentum = 0.9\nlr = 0.1\nsteps = 3\n',
        "adam": '[network]\nequations = "L = (w - 3)**2"\n[parameters]\nw = 0\n[data]\n[optimizer]\n'
                'name = "adam"\nlr = 0.1\nsteps = 3\n'}


def test_momentum_on_a_quadratic_without_data_is_worked_out_as_by_hand(cli, tmp_path):
    # By hand: g = 2(w - 3); b = g, then 0.9 b + g; w' = w - 0.1 b: w = 0.6, 1.62, 2.814.
    result = cli(["solve", write(tmp_path, "pure.toml", PURE["sgd"]), "--format", "json"])
    assert result.status == 0, result.err
    steps = json.loads(result.out)["steps"]
    assert [step["parameters"]["w"] for step in steps] == pytest.approx([0.6, 1.62, 2.814], rel=1e-12)


@pytest.mark.parametrize("optimizer", sorted(PURE))
@pytest.mark.parametrize("command", [["solve"], ["explain"], ["verify"], ["diagram"], ["train"],
                                     ["solve", "--round-intermediate", "2"]])
def test_every_command_works_on_a_problem_without_data(cli, tmp_path, optimizer, command):
    result = cli([command[0], write(tmp_path, "pure.toml", PURE[optimizer]), *command[1:]])
    assert result.status == 0 and result.err == "", result.err
    if command[0] == "verify":
        assert "verdict: ok" in result.out
    elif len(command) == 1:  # the parameter after the 3 steps, as torch's (above, below)
        assert {"sgd": "2.814", "adam": "0.2996"}[optimizer] in result.out


def test_adam_on_a_quadratic_without_data_agrees_with_torch():
    torch = pytest.importorskip("torch")
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([w], lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        ((w - 3) ** 2).sum().backward()
        optimizer.step()
    from handprop.problem.files import parse_text
    from handprop.problem.spec import from_dict

    solution = handprop.solve(from_dict(parse_text(PURE["adam"], "toml", "pure.toml")))
    assert solution.parameters["w"].updated == pytest.approx(w.item(), rel=1e-14)


def test_the_pages_tasks_work_on_a_problem_without_data():
    pytest.importorskip("tomlkit")
    from handprop.serve.tasks import solve_answer

    answer = solve_answer({"text": PURE["sgd"]})
    assert answer["ok"], answer


# --- work limits, checked before the work

def _wide(inputs: int, layers: list, samples: int = 1) -> str:
    hidden = ", ".join(f'{{units = {units}, activation = "{activation}"}}' for units, activation in layers)
    x = "[" + ", ".join(["0.5"] * inputs) + "]"
    return (f'[network]\ninputs = {inputs}\nlayers = [{hidden}]\nloss = "mse"\n[parameters]\ninit = "he_uniform"\n'
            f'[data]\nx = [{", ".join([x] * samples)}]\nt = [{", ".join(["[0.0]"] * samples)}]\n'
            '[optimizer]\nlr = 0.1\n')


def test_verify_refuses_at_once_what_finite_differences_would_take_hours_over(cli, tmp_path):
    path = write(tmp_path, "wide.toml", _wide(200, [(200, "tanh"), (1, "identity")]))
    from conftest import Work

    with Work() as work:
        result = cli(["verify", path])
    assert result.status == 2 and "too large to check every gradient by finite differences" in result.err
    assert "40,401 parameters" in result.err and work.calls < 3_000_000


@pytest.mark.parametrize("command", ["solve", "explain", "diagram", "verify"])
@pytest.mark.parametrize("case", ["100000 inputs", "1000 layers"])
def test_a_network_too_large_to_work_out_is_refused_before_it_is_written_out(cli, tmp_path, command, case):
    from conftest import Work

    text = (_wide(100_000, [(9, "relu"), (1, "identity")]) if case == "100000 inputs"
            else _wide(31, [(31, "relu")] * 999 + [(1, "identity")]))
    path = write(tmp_path, "large.toml", text)
    with Work() as work:
        result = cli([command, path])
    assert result.status == 2 and len(result.err.strip().splitlines()) == 1
    assert "too large to" in result.err and result.out == ""
    # Drawing the 900,000 parameters is the work: about 5 calls each. Writing the network out as equations
    # (what the refusal came after) took 40 more.
    assert work.calls < 8_000_000, work.calls


def test_train_takes_a_network_too_large_to_write_out_on_the_numpy_engine(tmp_path):
    pytest.importorskip("numpy")
    from handprop.problem.spec import from_dict
    from handprop.training import train

    from conftest import random_network

    raw = random_network([3, 2, 1], "relu", "identity", "mse")
    raw["network"]["inputs"] = 100_000
    raw["network"]["layers"][0]["units"] = 3
    raw["parameters"] = {"init": "he_uniform"}
    raw["data"]["x"] = [[0.01] * 100_000]
    problem = from_dict(raw)
    assert len(problem.parameters) > 200_000
    result = train(problem, steps=2)
    assert result.engine == "numpy" and result.steps == 2
    assert "program" not in problem.__dict__  # never written out as equations
    with pytest.raises(handprop.HandpropError, match="too large to write out as equations"):
        problem.program


def test_a_data_file_of_100000_columns_without_the_target_is_refused_in_one_short_line(cli, tmp_path):
    from conftest import Work

    columns = [f"x{k}" for k in range(1, 100_001)]
    (tmp_path / "wide.csv").write_text(",".join(columns + ["t1"]) + "\n" + ",".join(["0.5"] * 100_001) + "\n")
    path = write(tmp_path, "wide.toml", '[network]\ninputs = 100000\nlayers = [{units = 8, activation = "relu"}, '
                                        '{units = 2, activation = "softmax"}]\nloss = "cross_entropy"\n'
                                        '[parameters]\ninit = "he_uniform"\n[data]\nfile = "wide.csv"\n'
                                        '[optimizer]\nlr = 0.1\n')
    with Work() as work:
        result = cli(["solve", path])
    assert result.status == 2 and "column t2: no such column" in result.err
    assert len(result.err) < 600 and "(100,001 in all)" in result.err
    assert work.calls < 3_000_000, work.calls


@pytest.mark.parametrize("samples, layers, what", [
    (30_000, [(700, "relu"), (700, "relu"), (1, "identity")], "parameters"),
    (200_000, [(300, "relu"), (1, "identity")], "units")])
def test_a_step_too_large_for_the_numpy_engine_is_refused_before_parameters_are_drawn(samples, layers, what):
    from handprop.problem.spec import MAX_STEP_PARAMETERS, MAX_STEP_UNITS, from_dict

    raw = {"network": {"inputs": 1, "layers": [{"units": u, "activation": a} for u, a in layers], "loss": "mse"},
           "parameters": {"init": "he_uniform"}, "data": {"x": [[0.5]] * samples, "t": [[0.0]] * samples},
           "optimizer": {"lr": 0.1}}
    with pytest.raises(handprop.HandpropError, match=f"samples x {what} at most") as caught:
        from_dict(raw)
    limit = MAX_STEP_PARAMETERS if what == "parameters" else MAX_STEP_UNITS
    assert f"{limit:,}" in str(caught.value)


def test_equations_too_large_for_one_step_are_refused_and_too_large_to_work_out_are_left_to_train(cli, tmp_path):
    from handprop.problem.spec import from_dict

    lines = "\n".join(f"h{i} = h{i - 1}*0.5 + x" for i in range(1, 2000))
    raw = {"network": {"equations": f"h0 = w*x\n{lines}\nL = (h1999 - t)**2"}, "parameters": {"w": 0.1},
           "data": {"x": [0.5] * 60_000, "t": [0.0] * 60_000}, "optimizer": {"lr": 0.1}}
    with pytest.raises(handprop.HandpropError, match="samples x operations of the equations at most"):
        from_dict(raw)
    raw["data"] = {"x": [0.5] * 200, "t": [0.0] * 200}
    problem = from_dict(raw)
    with pytest.raises(handprop.HandpropError, match="too large to work out in full: 4,001 operations x 200"):
        handprop.solve(problem)


# --- renderers that grow as the problem does

def _softmax(width: int):
    from handprop.problem.spec import from_dict

    targets = [0.0] * width
    targets[width // 2] = 1.0
    return from_dict({"network": {"inputs": 1, "layers": [{"units": width, "activation": "softmax"}],
                                  "loss": "cross_entropy"},
                      "parameters": {"init": "he_uniform"}, "data": {"x": [0.5], "t": targets},
                      "optimizer": {"lr": 0.1}})


@pytest.mark.parametrize("format", ["markdown", "latex"])
def test_explain_of_a_wide_softmax_grows_as_its_width(format):
    from conftest import Work
    from handprop.render import explain

    measured = {}
    for width in (60, 240):
        solution = handprop.solve(_softmax(width))
        with Work() as work:
            text = explain(solution, format=format)
        measured[width] = (len(text), work.calls)
    size_ratio = measured[240][0] / measured[60][0]
    calls_ratio = measured[240][1] / measured[60][1]
    # Four times the width: about four times the text and the work (it was sixteen times).
    assert size_ratio < 5 and calls_ratio < 5.5, (size_ratio, calls_ratio)


def test_a_wide_softmaxs_sums_are_summarised_with_the_zero_target_terms_folded():
    from handprop.render import explain

    text = explain(handprop.solve(_softmax(40)), format="markdown")
    assert r"e^{o_{1}} + e^{o_{2}} + \cdots + e^{o_{40}}" in text
    assert r"\underbrace{0 + \cdots + 0}_{39\ \text{terms}}" in text  # the loss, and each logit's chain rule
    assert "o_{17}" not in text.split("## Loss")[0].split("node-y1")[1].split("node-y2")[0]


def test_a_small_softmax_is_still_written_out_in_full():
    from handprop.render import explain

    text = explain(handprop.solve(_softmax(6)), format="markdown")
    assert r"e^{o_{1}} + e^{o_{2}} + e^{o_{3}} + e^{o_{4}} + e^{o_{5}} + e^{o_{6}}" in text
    assert r"\cdots" not in text and "underbrace" not in text


def test_a_softmax_too_wide_to_work_out_is_refused_at_once():
    from conftest import Work

    problem = _softmax(500)
    with Work() as work, pytest.raises(handprop.HandpropError, match="parameters and softmax partials"):
        handprop.solve(problem)
    assert work.calls < 1000


def _chain(lines: int) -> str:
    body = "\n".join(f"h{i} = h{i - 1}*0.5 + x" for i in range(1, lines))
    return (f'[network]\nequations = """\nh0 = w*x\n{body}\nL = (h{lines - 1} - t)**2\n"""\n[parameters]\nw = 0.1\n'
            '[data]\nx = 0.5\nt = 0\n[optimizer]\nlr = 0.1\n')


def test_the_diagram_of_a_long_chain_grows_as_the_chain(cli, tmp_path):
    from conftest import Work

    measured = {}
    for lines in (150, 600):
        out = tmp_path / f"chain{lines}.svg"
        with Work() as work:
            result = cli(["diagram", write(tmp_path, f"chain{lines}.toml", _chain(lines)), "-o", str(out)])
        assert result.status == 0, result.err
        measured[lines] = (out.stat().st_size, work.calls)
    assert measured[600][0] / measured[150][0] < 4.6 and measured[600][1] / measured[150][1] < 5, measured
    svg = (tmp_path / "chain150.svg").read_text()
    assert svg.count('data-node="copy-') > 100  # x drawn again beside its far readers
    assert "drawn again beside" in svg


def test_a_diagram_of_too_many_boxes_is_refused_before_it_is_laid_out(cli, tmp_path):
    result = cli(["diagram", write(tmp_path, "chain.toml", _chain(3000))])
    assert result.status == 2 and "too large to draw" in result.err and "at most 5,000" in result.err


# --- smaller ones

def test_pdflatex_runs_without_shell_escape(monkeypatch):
    import subprocess

    from handprop.render import pdf

    seen = []

    def run(arguments, **options):
        seen.append(arguments)
        return subprocess.CompletedProcess(arguments, 1, b"! stopped here", b"")

    monkeypatch.setattr(pdf.shutil, "which", lambda name: "/usr/bin/pdflatex")
    monkeypatch.setattr(pdf.subprocess, "run", run)
    with pytest.raises(handprop.HandpropError, match="stopped here"):
        pdf.latex_to_pdf(r"\documentclass{article}\begin{document}\immediate\write18{touch x}\end{document}")
    assert seen and "-no-shell-escape" in seen[0]


API_CASES = {
    "data value None": lambda h: h.from_equations("L = (w*x - t)**2", parameters={"w": 1.0}, data={"x": None, "t": 0}),
    "parameters a list": lambda h: h.from_equations("L = (w*x - t)**2", parameters=[1.0], data={"x": 1, "t": 0}),
    "data a list": lambda h: h.from_equations("L = (w*x - t)**2", parameters={"w": 1.0}, data=[1, 0]),
    "layers None": lambda h: h.from_layers(2, None, loss="mse", x=[1, 2], t=[0]),
    "load None": lambda h: h.load(None),
    "load a number": lambda h: h.load(5),
    "solve None": lambda h: h.solve(None),
    "solve steps 0": lambda h: h.solve(h.load("homework"), steps=0),
    "solve steps text": lambda h: h.solve(h.load("homework"), steps="2"),
    "solve unknown engine": lambda h: h.solve(h.load("homework"), steps=2, engine="gpu"),
    "solve unknown dtype": lambda h: h.solve(h.load("homework"), steps=2, dtype="float16"),
    "solve rounding -1": lambda h: h.solve(h.load("homework"), round_intermediate=-1),
    "render a problem": lambda h: h.render(h.load("homework")),
    "render unknown format": lambda h: h.render(h.solve(h.load("homework")), format="xml"),
    "render decimals 99": lambda h: h.render(h.solve(h.load("homework")), decimals=99),
    "explain unknown format": lambda h: h.explain(h.solve(h.load("homework")), format="docx"),
    "explain sample text": lambda h: h.explain(h.solve(h.load("homework")), sample="1"),
    "diagram unknown show": lambda h: h.diagram(h.solve(h.load("homework")), show="all"),
    "diagram unknown bias": lambda h: h.diagram(h.solve(h.load("homework")), bias="weights"),
    "table unknown format": lambda h: h.solve(h.load("homework")).table(format="xml"),
    "to_torch None": lambda h: h.to_torch(None),
}


@pytest.mark.parametrize("case", sorted(API_CASES))
def test_every_api_entry_point_raises_handprop_error_for_bad_values(case):
    with pytest.raises(handprop.HandpropError) as caught:
        API_CASES[case](handprop)
    assert len(str(caught.value).splitlines()) == 1 and "(" in str(caught.value)


def test_train_and_verify_raise_handprop_error_for_bad_values():
    from handprop.training import train
    from handprop.verify import verify

    problem = handprop.load("homework")
    for call in (lambda: train(None), lambda: train(problem, steps="3"), lambda: train(problem, engine="gpu"),
                 lambda: train(problem, every=0), lambda: verify(None), lambda: verify(problem, steps="2"),
                 lambda: verify(problem, tolerance="1e-6")):
        with pytest.raises(handprop.HandpropError):
            call()


def test_from_equations_without_data_is_a_function_of_the_parameters_alone():
    problem = handprop.from_equations("L = (w - 3)**2", parameters={"w": 0.0}, optimizer="adam", lr=0.1, steps=3)
    assert handprop.solve(problem).parameters["w"].updated == pytest.approx(0.29961847654925267, rel=1e-12)


@pytest.mark.parametrize("equation, parameter", [("\ufb01", "\ufb01"), ("fi", "\ufb01"), ("\ufb01", "w")])
def test_a_name_python_reads_in_its_nfkc_form_is_explained(cli, tmp_path, equation, parameter):
    text = (f'[network]\nequations = "L = ({equation}*x - t)**2"\n[parameters]\n"{parameter}" = 1\n'
            '[data]\nx = 1\nt = 0\n[optimizer]\nlr = 0.1\n')
    result = cli(["solve", write(tmp_path, "nfkc.toml", text)])
    assert result.status == 2 and len(result.err.strip().splitlines()) == 1
    assert "reads the name '\ufb01' as 'fi', its NFKC form" in result.err


SATURATED = ('[network]\ninputs = 2\nlayers = [{units = 3, activation = "sigmoid"}, {units = 1, activation = "sigmoid"}]\n'
             'loss = "binary_cross_entropy"\n[parameters]\nw = [900, -900, 700, -800, 500, 600, 300, -300, 200]\n'
             'b = [0, 0, 0, 0]\n[data]\nx = [[1, -1], [-1, 1], [2, 2], [-3, 1]]\nt = [[1], [0], [1], [0]]\n'
             '[optimizer]\nlr = 50\nsteps = 20\n')


def test_saturated_binary_cross_entropy_is_torchs_on_both_engines_without_a_warning(tmp_path):
    import warnings

    torch = pytest.importorskip("torch")
    from handprop.training import train

    problem = handprop.load(write(tmp_path, "saturated.toml", SATURATED))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy RuntimeWarning fails the test
        results = {engine: train(problem, steps=20, engine=engine).final for engine in ("scalar", "numpy")}
    model, optimizer = handprop.to_torch(problem)
    x = torch.tensor([[1.0, -1.0], [-1.0, 1.0], [2.0, 2.0], [-3.0, 1.0]], dtype=torch.float64)
    t = torch.tensor([[1.0], [0.0], [1.0], [0.0]], dtype=torch.float64)
    for _ in range(20):
        optimizer.zero_grad()
        torch.nn.functional.binary_cross_entropy(model(x), t).backward()
        optimizer.step()
    expected = {"w7": model[2].weight[0, 0].item(), "w8": model[2].weight[0, 1].item(), "b4": model[2].bias[0].item()}
    for engine, final in results.items():
        for name, value in expected.items():
            assert final[name] == pytest.approx(value, rel=1e-9, abs=1e-12), (engine, name)


def test_the_numpy_engine_prints_no_warning_where_handprop_checks_the_values(tmp_path):
    from conftest import run_process

    path = write(tmp_path, "saturated.toml", SATURATED.replace("lr = 50", "lr = 1e300"))
    for command in (["train", path, "--engine", "numpy"], ["solve", path, "--engine", "numpy"], ["explain", path]):
        result = run_process(command)
        assert "Warning" not in result.err and len(result.err.strip().splitlines()) <= 1, (command, result.err)
        assert result.status in (0, 2)


PLUS_MINUS_1000 = ('[network]\nequations = """\no1 = w*x\no2 = -w*x\ny1, y2 = softmax(o1, o2)\n'
                   'L = -t1*log(y1) - t2*log(y2)\n"""\n[parameters]\nw = 1000.0\n[data]\nx = 1.0\nt1 = 0\nt2 = 1\n'
                   '[optimizer]\nlr = 0.1\n')


@pytest.mark.parametrize("command", [["explain"], ["explain", "--format", "latex"], ["diagram", "--show", "gradients"],
                                     ["solve", "--nodes"], ["solve", "--format", "json"]])
def test_logits_of_plus_minus_1000_show_no_infinity(cli, tmp_path, command):
    path = write(tmp_path, "pm.toml", PLUS_MINUS_1000)
    result = cli([command[0], path, *command[1:]])
    assert result.status == 0, result.err
    assert "inf" not in result.out.replace("\\infty", "").lower().replace("info", "")
    if command[0] == "explain" and len(command) == 1:
        assert "1.0000 \\cdot (-2000.0000)" in result.out  # ln y2 as the engine takes it, from the logits
        assert "is no number a float can hold" in result.out


def test_an_underflowed_outputs_gradient_is_no_answer_to_grade():
    from handprop.teach.mistakes import Quantity, answer_values
    from handprop.problem.files import parse_text
    from handprop.problem.spec import from_dict

    values = answer_values(handprop.solve(from_dict(parse_text(PLUS_MINUS_1000, "toml", "pm.toml"))))
    assert Quantity("node_gradient", "y2", 0) not in values and values[Quantity("node_gradient", "o2", 0)] == -1.0
