"""The worked solution in matrix form (explain --notation matrix): every matrix entry read back from the
Markdown and held to the engine's records, every product of the numbers shown evaluated, a wide layer
summarised, pdflatex, Chromium, and bad input."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

np = pytest.importorskip("numpy")  # the independent check of the matrices

import handprop
from conftest import ARTIFACTS, ROOT
from handprop.problem.layered import LOSSES, bias_names, unit_names, weight_rows
from handprop.render import explain
from handprop.render.mathtex import name_latex
from handprop.render.numbers import fixed

GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("HANDPROP_UPDATE_GOLDEN") == "1"  # rewrite the golden file (then look at it!)
DOTS = {r"\cdots", r"\vdots", r"\ddots"}


def deep() -> handprop.Problem:
    """Three layers, tanh then sigmoid, mean squared error, a batch of two, drawn weights."""
    return handprop.from_layers(3, [{"units": 4, "activation": "tanh"}, {"units": 3, "activation": "sigmoid"},
                                    {"units": 2, "activation": "sigmoid"}], loss="mse",
                                x=[[0.1, 0.2, 0.3], [0.3, -0.1, 0.5]], t=[[0, 1], [1, 0]], naming="layered",
                                init="xavier_uniform", seed=2, lr=0.5, title="Deep")


def wide(**options) -> handprop.Problem:
    """10 inputs, 8 sigmoid units, 12 softmax outputs, a batch of two, Adam: wider than a line holds."""
    x = [[0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8, 0.9, 1.0], [0.5, 0.5, -0.5, 0.5, 0.5, -0.5, 0.5, 0.5, 0.5, -0.5]]
    t = [[1 if j == 2 else 0 for j in range(12)], [1 if j == 0 else 0 for j in range(12)]]
    return handprop.from_layers(10, [{"units": 8, "activation": "sigmoid"}, {"units": 12, "activation": "softmax"}],
                                loss="cross_entropy", x=x, t=t, naming="layered", init="xavier_uniform", seed=3,
                                optimizer=options.get("optimizer", "adam"), lr=0.01, title="Wide")


PROBLEMS = {"homework": lambda: handprop.load("homework"),
            "regression_batch": lambda: handprop.load("regression_batch"), "deep": deep, "wide": wide}


# -- reading the Markdown back --------------------------------------------------------------------------

def chains(markdown: str) -> dict:
    """anchor -> the chain's steps (LaTeX), as the Markdown writes them: one line, or aligned one per line."""
    found = {}
    for anchor, body in re.findall(r'<a id="([^"]+)"></a>\n\n\$\$\n(.*?)\n\$\$', markdown, re.S):
        if body.startswith(r"\begin{aligned}"):
            lines = body.split("\n")[1:-1]
            steps = [line.removesuffix(r" \\").split("&= ", 1)[1] for line in lines]
            steps.insert(0, lines[0].split(" &= ")[0])
        else:
            steps = body.split(" = ")
        found[anchor] = steps
    return found


def matrices(step: str) -> list[list[list[str]]]:
    """Every bmatrix in a step, as rows of cells."""
    return [[row.split(" & ") for row in body.split(r" \\ ")]
            for body in re.findall(r"\\begin\{bmatrix\} (.*?) \\end\{bmatrix\}", step)]


def cut(length: int, most: int) -> list:
    """The entries a side of `length` shows: all up to `most`, else the first most - 2, dots and the last."""
    return list(range(length)) if length <= most else [*range(most - 2), None, length - 1]


def side_limit(decimals: int) -> int:
    return {0: 7, 1: 6, 2: 5, 3: 4, 4: 4}.get(decimals, 3)


# -- what the records say each chain shows ----------------------------------------------------------------

def expected(solution) -> dict:
    """anchor -> the matrices its chain shows, in order, each the full matrix of the records' numbers (or
    names, as LaTeX text), before any summarising."""
    network, traces, records = solution.problem.network, solution.traces, solution.parameters
    after = solution.history[0].parameters
    batch = len(traces)

    def nodes(names, record="values"):
        return [[getattr(trace, record)[name] for trace in traces] for name in names]

    def each(rows, value):
        return [[value(name) for name in row] for row in rows]

    def transpose(matrix):
        return [list(column) for column in zip(*matrix)]

    found = {}
    previous = list(network.inputs)
    layers = list(zip(weight_rows(network), bias_names(network), unit_names(network)))
    for number, (weights, biases, units) in enumerate(layers, start=1):
        pre, post = [h for h, _ in units], [a for _, a in units]
        column = [[b] for b in biases]
        initial = lambda name: records[name].initial  # noqa: E731
        gradient = lambda name: records[name].gradient  # noqa: E731
        found[f"initial-W{number}"] = [each(weights, name_latex), each(weights, initial)]
        found[f"initial-b{number}"] = [each(column, name_latex), each(column, initial)]
        found[f"forward-pre-{number}"] = [each(weights, initial), nodes(previous), each(column, initial), nodes(pre)]
        found[f"forward-post-{number}"] = [nodes(pre), nodes(post)]
        found[f"gradient-W{number}"] = [nodes(pre, "adjoints"), transpose(nodes(previous)), each(weights, gradient)]
        found[f"gradient-b{number}"] = ([nodes(pre, "adjoints"), [["1"]] * batch, each(column, gradient)]
                                        if batch > 1 else [each(column, gradient)])
        found[f"update-W{number}"] = [each(weights, initial), each(weights, gradient), each(weights, after.__getitem__)]
        found[f"update-b{number}"] = [each(column, initial), each(column, gradient), each(column, after.__getitem__)]
        if number < len(layers):
            above_weights, _, above_units = layers[number]
            derivatives = [[trace.partials[a][h] for trace in traces] for h, a in units]
            found[f"delta-{number}"] = [transpose(each(above_weights, initial)),
                                        nodes([h for h, _ in above_units], "adjoints"),
                                        nodes(post, "adjoints"), derivatives, nodes(pre, "adjoints")]
        previous = post
    targets = list(network.targets)
    data = solution.problem.data
    found["data-x"] = [[[name_latex(x)] for x in network.inputs]] * (batch == 1) + [
        [[data[x][k] for k in range(batch)] for x in network.inputs]]
    found["data-t"] = [[[name_latex(t)] for t in targets]] * (batch == 1) + [
        [[data[t][k] for k in range(batch)] for t in targets]]
    return found


def entries_agree(shown, full, decimals: int, most: int, *, given: bool) -> None:
    """A displayed matrix is the full one, summarised, each number the record's at the decimals shown (or as
    the problem gave it, for the initial values and data)."""
    rows, columns = cut(len(full), most), cut(len(full[0]), most)
    assert len(shown) == len(rows) and all(len(row) == len(columns) for row in shown), (shown, full)
    for i, row in zip(rows, shown):
        for j, cell in zip(columns, row):
            if i is None or j is None:
                assert cell in DOTS, cell
            elif isinstance(full[i][j], str):
                assert cell == full[i][j], (cell, full[i][j])
            elif given:
                assert abs(float(cell) - full[i][j]) <= 0.5 * 10 ** -decimals + 1e-12, (cell, full[i][j])
            else:
                assert cell == fixed(full[i][j], decimals), (cell, full[i][j])


def worked(name: str, **options):
    solution = handprop.solve(PROBLEMS[name]())
    decimals = solution.decimals if solution.decimals is not None else 4
    return solution, explain(solution, notation="matrix", **options), decimals


@pytest.mark.parametrize("name", ["homework", "regression_batch", "deep", "wide"])
def test_every_matrix_entry_is_the_records(name):
    solution, markdown, decimals = worked(name)
    found = chains(markdown)
    want = expected(solution)
    for anchor, full in want.items():
        if anchor.startswith(("update-W", "update-b")) and not solution.problem.optimizer.is_plain_sgd:
            continue  # another optimizer's update: test_other_optimizers_show_their_state
        shown = [m for step in found[anchor] for m in matrices(step)]
        assert len(shown) == len(full) or (anchor.startswith("forward-post") and len(shown) == 1), anchor
        for displayed, matrix in zip(shown, full):
            entries_agree(displayed, matrix, decimals, side_limit(decimals),
                          given=anchor.startswith(("initial", "data")))
    # the chains the table above does not list: the loss, the output layer's delta
    assert found["loss-value"][-1] == fixed(solution.traces[0].values["L"], decimals)
    output = unit_names(solution.problem.network)[-1]
    last = len(unit_names(solution.problem.network))
    delta = matrices(found[f"delta-{last}"][-1])[0]
    entries_agree(delta, [[t.adjoints[o] for t in solution.traces] for o, _ in output], decimals,
                  side_limit(decimals), given=False)


def numbers(matrix: list[list[str]]) -> np.ndarray:
    return np.array([[float(cell) for cell in row] for row in matrix])


def rounded_product(a: np.ndarray, b: np.ndarray, decimals: int) -> np.ndarray:
    """How far a product of two matrices of rounded numbers may be from the product of the exact ones."""
    e = 0.5 * 10 ** -decimals
    return e * (np.abs(a) @ np.ones(b.shape) + np.ones(a.shape) @ np.abs(b)) + a.shape[1] * e * e


@pytest.mark.parametrize("name", ["homework", "regression_batch", "deep"])
def test_every_product_written_in_numbers_evaluates_to_its_result(name):
    solution, markdown, decimals = worked(name)
    found, e = chains(markdown), 0.5 * 10 ** -decimals
    batch = solution.batch_size
    for anchor, steps in found.items():
        if anchor.startswith("forward-pre"):  # W X + b = H
            w, x, b = map(numbers, matrices(steps[-2]))
            h = numbers(matrices(steps[-1])[0])
            assert np.all(np.abs(w @ x + b - h) <= rounded_product(w, x, decimals) + 2 * e + 1e-12), anchor
        elif anchor.startswith("gradient-W"):  # (1/B) Delta A^T = dL/dW
            delta, a = map(numbers, matrices(steps[-2]))
            g = numbers(matrices(steps[-1])[0])
            assert np.all(np.abs(delta @ a / batch - g) <= rounded_product(delta, a, decimals) / batch + e + 1e-12)
        elif anchor.startswith("update-") and len(steps) == 4:  # W - gamma G = W'
            w, g = map(numbers, matrices(steps[-2]))
            lr = float(re.search(r" - ([0-9.e-]+) \\begin", steps[-2]).group(1))
            assert np.all(np.abs(w - lr * g - numbers(matrices(steps[-1])[0])) <= e * (2 + lr) + 1e-12), anchor
        elif anchor.startswith("delta-") and len(steps) == 5:  # (W^T Delta) (.) f'(H)
            wt, delta_above = map(numbers, matrices(steps[2]))
            upstream, derivative = map(numbers, matrices(steps[3]))
            delta = numbers(matrices(steps[4])[0])
            assert np.all(np.abs(wt @ delta_above - upstream) <= rounded_product(wt, delta_above, decimals) + e + 1e-12)
            assert np.all(np.abs(upstream * derivative - delta) <= e * (np.abs(upstream) + np.abs(derivative) + 1) + e)


def test_the_homework_reads_as_a_textbook_writes_it():
    markdown = explain(handprop.solve(handprop.load("homework")), notation="matrix")
    found = chains(markdown)
    assert found["forward-pre-1"][:2] == ["h^{[1]}", r"W^{[1]} x + b^{[1]}"]
    assert found["forward-post-2"][:2] == ["y", r"\operatorname{softmax}(o)"]
    assert found["loss-value"][:2] == ["L", r"-t^\top \ln y"]
    assert found["delta-2"][:2] == [r"\delta^{[2]}", "y - t"]
    assert found["gradient-W2"][1] == r"\delta^{[2]} a^{[1]\top}"
    assert found["gradient-b2"][1] == r"\delta^{[2]}"
    assert found["delta-1"][1] == r"\left(W^{[2]\top} \delta^{[2]}\right) \odot f'(h^{[1]})"
    assert found["gradient-W1"][1] == r"\delta^{[1]} x^\top"
    assert found["update-W1"][:2] == [r"W^{[1]\prime}", r"W^{[1]} - \gamma \frac{\partial L}{\partial W^{[1]}}"]
    # the homework's own numbers: h = (0.49, 0.48, 0.44), y = (0.53, 0.47), dL/do = (-0.47, 0.47)
    assert matrices(found["forward-pre-1"][-1]) == [[["0.49"], ["0.48"], ["0.44"]]]
    assert matrices(found["delta-2"][-1]) == [[["-0.47"], ["0.47"]]]
    assert "u(h_{1})" in markdown  # ReLU's derivative, as the scalar form names it
    assert r"W^{[1]} &= \begin{bmatrix} w_{1} & w_{2} \\ w_{3} & w_{4} \\ w_{5} & w_{6} \end{bmatrix}" in markdown


def test_golden():
    markdown = explain(handprop.solve(handprop.load("homework")), notation="matrix")
    path = GOLDEN / "homework-matrix.md"
    if UPDATE:
        path.write_text(markdown, encoding="utf-8")
    assert markdown == path.read_text(encoding="utf-8")


def test_a_batch_is_a_matrix_with_a_column_per_sample_and_its_gradient_the_mean():
    solution, markdown, _ = worked("regression_batch")
    found = chains(markdown)
    assert "one column per sample" in markdown
    assert found["forward-pre-1"][:2] == ["H^{[1]}", r"W^{[1]} X + b^{[1]}"]
    assert len(matrices(found["data-x"][-1])[0]) == 2 and len(matrices(found["data-x"][-1])[0][0]) == 3
    assert found["gradient-W1"][1] == r"\frac{1}{3} \Delta^{[1]} X^\top"
    assert found["gradient-b1"][1] == r"\frac{1}{3} \Delta^{[1]} \mathbf{1}"
    assert found["batch-loss"][-1] == fixed(solution.loss, 4)
    # --sample picks the sample whose loss is written out with its numbers
    second = chains(explain(solution, notation="matrix", sample=2))
    assert second["loss-value"][0] == "L^{(2)}"
    assert second["loss-value"][-1] == fixed(solution.traces[1].values["L"], 4)


def test_a_wide_layer_is_summarised_so_that_a_line_fits():
    solution, markdown, decimals = worked("wide")
    most = side_limit(decimals)
    for steps in chains(markdown).values():
        for step in steps:
            for matrix in matrices(step):
                assert len(matrix) <= most and all(len(row) <= most for row in matrix)
    assert r"\cdots" in markdown and r"\vdots" in markdown and r"\ddots" in markdown
    assert f"A side of more than {most} entries is shown as its first {most - 2}" in markdown
    assert r"(o_{1}, o_{2}, \ldots, o_{12})^\top" in markdown
    # more decimals, fewer entries: each line still fits
    narrow = chains(explain(solution, notation="matrix", decimals=6))
    assert max(len(row) for steps in narrow.values() for step in steps for m in matrices(step) for row in m) == 3


def test_other_optimizers_show_their_state_as_matrices():
    solution, markdown, decimals = worked("wide")
    state, after = solution.history[0].state, solution.history[0].parameters
    weights = weight_rows(solution.problem.network)[0]
    assert "Adam with learning rate" in markdown and r"\hat m = \frac{m}{1 - \beta_1^t}" in markdown
    shown = re.findall(r'<a id="state-(\w+)-W1"></a>\n\n\$\$\n(.*?)\n\$\$', markdown, re.S)
    assert [key for key, _ in shown] == list(state[weights[0][0]])  # m, v, m_hat, v_hat: the records' order
    for key, body in shown:
        rows, columns = cut(len(weights), side_limit(decimals)), cut(len(weights[0]), side_limit(decimals))
        matrix = matrices(body)[0]
        for i, row in zip(rows, matrix):
            for j, cell in zip(columns, row):
                if i is not None and j is not None:
                    value = state[weights[i][j]][key]
                    assert cell == fixed(value, decimals) or r"\times 10^" in cell, (key, cell, value)
    final = matrices(chains(markdown)["update-W1"][-1])[0]
    assert final[0][0] == fixed(after[weights[0][0]], decimals)


def test_several_steps_and_one_step_asked_for():
    solution = handprop.solve(handprop.load("regression_batch"), steps=3)
    markdown = explain(solution, notation="matrix")
    assert all(f'<a id="update-step-{k}"></a>' in markdown for k in (1, 2, 3))
    found = chains(explain(solution, notation="matrix", step=2))
    assert "update-W1" not in found
    before, after = solution.history[0].parameters, solution.history[1].parameters
    gradients = solution.history[1].gradients
    w, g, w_after = (matrices(found["update-W1-2"][-2]) + matrices(found["update-W1-2"][-1]))
    assert w[0][0] == fixed(before["W1[1,1]"], 4) and g[0][0] == fixed(gradients["W1[1,1]"], 4)
    assert w_after[0][0] == fixed(after["W1[1,1]"], 4)


def test_without_an_optimizer_there_is_no_update(tmp_path):
    path = tmp_path / "gradients.toml"
    path.write_text('[network]\ninputs = 2\nlayers = [{ units = 2, activation = "tanh" }, { units = 1 }]\n'
                    'loss = "mse"\n[parameters]\nw = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]\nb = [0.1, 0.1, 0.1]\n'
                    "[data]\nx = [0.5, 1.0]\nt = [1.0]\n")
    markdown = explain(handprop.solve(handprop.load(str(path))), notation="matrix")
    assert '<a id="update">' not in markdown and "No optimizer" in markdown
    assert '<a id="gradient-W1"></a>' in markdown


def test_the_inputs_gradients():
    solution = handprop.solve(handprop.load("homework"))
    found = chains(explain(solution, notation="matrix", inputs=True))
    assert found["input-x"][1] == r"W^{[1]\top} \delta^{[1]}"
    assert matrices(found["input-x"][-1])[0] == [[fixed(solution.traces[0].adjoints[x], 2)] for x in ("x1", "x2")]
    assert matrices(found["input-t"][-1])[0] == [[fixed(solution.traces[0].adjoints[t], 2)] for t in ("t1", "t2")]


def test_worked_out_by_hand_shows_the_rounded_records(cli):
    result = cli(["explain", "--notation", "matrix", "--round-intermediate", "2"])
    assert result.status == 0 and "every intermediate value is rounded to 2 decimals" in result.out
    solution = handprop.solve(handprop.load("homework"), round_intermediate=2)
    found = chains(result.out)
    for anchor, full in expected(solution).items():
        if anchor.startswith(("forward", "gradient", "update", "delta")):
            shown = [m for step in found[anchor] for m in matrices(step)]
            for displayed, matrix in zip(shown, full):
                entries_agree(displayed, matrix, 2, side_limit(2), given=False)


CLASSIC = """[network]
inputs = 2
layers = [
  { units = 2, activation = "sigmoid", bias = "shared" },
  { units = 2, activation = "sigmoid", bias = "shared" },
]
loss = "half_sse"
[parameters]
w = [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55]
b = [0.35, 0.60]
[data]
x = [0.05, 0.10]
t = [0.01, 0.99]
[optimizer]
lr = 0.5
"""


def test_a_bias_shared_by_a_layer_is_a_number_added_to_every_unit(tmp_path):
    """The classic 2-2-2 example, whose published w5 after the step is 0.35891648."""
    path = tmp_path / "classic.toml"
    path.write_text(CLASSIC, encoding="utf-8")
    solution = handprop.solve(handprop.load(str(path)))
    markdown = explain(solution, notation="matrix")
    found = chains(markdown)
    assert "one bias added to every unit" in markdown
    assert found["initial-b1"] == ["b^{[1]}", "b_{1}", "0.35"]
    assert found["forward-pre-1"][1] == r"W^{[1]} x + b^{[1]}" and found["forward-pre-1"][2].endswith("+ 0.3500")
    assert found["gradient-b1"][1] == r"\mathbf{1}^\top \delta^{[1]}"
    assert found["gradient-b1"][-1] == fixed(solution.parameters["b1"].gradient, 4)
    assert found["update-b1"] == [r"b^{[1]\prime}", r"b^{[1]} - \gamma \frac{\partial L}{\partial b^{[1]}}",
                                  r"0.3500 - 0.5 \cdot " + fixed(solution.parameters["b1"].gradient, 4),
                                  fixed(solution.history[0].parameters["b1"], 4)]
    assert matrices(found["update-W2"][-1])[0][0][0] == "0.3589"
    for anchor, full in expected(solution).items():
        if anchor.startswith(("forward-pre", "gradient-W", "update-W", "delta")):
            shown = [m for step in found[anchor] for m in matrices(step)]
            full = [m for m in full if len(m) != 1 or len(m[0]) != 1]  # the shared bias: a number, no matrix
            for displayed, matrix in zip(shown, full):
                entries_agree(displayed, matrix, 4, side_limit(4), given=False)


def test_a_layer_without_a_bias_has_none_to_add_or_update(tmp_path):
    text = (handprop.problem.files.EXAMPLES_DIR / "homework.toml").read_text().replace(
        '{ units = 2, activation = "softmax" }', '{ units = 2, activation = "softmax", bias = "none" }').replace(
        "b = [0.3, 0.3, 0.3, 0.7, 0.7]", "b = [0.3, 0.3, 0.3]")
    path = tmp_path / "no-bias.toml"
    path.write_text(text, encoding="utf-8")
    found = chains(explain(handprop.solve(handprop.load(str(path))), notation="matrix"))
    assert found["forward-pre-2"][1] == r"W^{[2]} a^{[1]}"
    assert "gradient-b2" not in found and "update-b2" not in found and "initial-b2" not in found
    assert "gradient-b1" in found and "update-b1" in found


def test_an_underflowed_softmax_output_has_its_log_from_the_logits():
    problem = handprop.from_layers(1, [{"units": 2, "activation": "softmax"}], loss="cross_entropy",
                                   weights=[1000, -1000], biases=[0, 0], x=[1], t=[0, 1])
    markdown = explain(handprop.solve(problem), notation="matrix")
    found = chains(markdown)
    assert r"\ln y_j = o_j - \ln \sum_k e^{o_k}" in markdown and r"\ln \begin{bmatrix}" not in markdown
    assert matrices(found["loss-value"][2]) == [[["0.0000", "1.0000"]], [["0.0000"], ["-2000.0000"]]]
    assert found["loss-value"][-1] == "2000.0000"


def test_every_layered_loss_has_a_vector_form():
    from handprop.render.derivation_matrix import VECTOR_LOSSES

    assert set(VECTOR_LOSSES) == set(LOSSES)


@pytest.mark.parametrize("loss, output", [("binary_cross_entropy", "sigmoid"), ("half_sse", "identity"),
                                          ("mse", "softmax"), ("cross_entropy", "softmax")])
def test_every_loss_and_output_is_worked_out(loss, output):
    targets = [0.5, 0.3] if loss == "cross_entropy" else [1, 0]  # targets not summing to 1: through the Jacobian
    problem = handprop.from_layers(2, [{"units": 3, "activation": "softmax"}, {"units": 2, "activation": output}],
                                   loss=loss, x=[0.26, 0.33], t=targets, init="xavier_uniform", seed=1)
    solution = handprop.solve(problem)
    found = chains(explain(solution, notation="matrix"))
    assert "jacobian-1" in found  # a softmax hidden layer: its Jacobian
    gradient = matrices(found["gradient-y"][-1])[0]
    assert gradient == [[fixed(solution.traces[0].adjoints[y], 4)] for y in ("y1", "y2")]


# -- formats --------------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("name", ["homework", "regression_batch", "deep", "wide"])
def test_latex_compiles_and_every_line_fits_the_paper(tmp_path, name):
    solution = handprop.solve(PROBLEMS[name]())
    latex = explain(solution, format="latex", notation="matrix")
    assert r"\usepackage{amsmath,amssymb" in latex and r"\begin{bmatrix}" in latex
    (tmp_path / "solution.tex").write_text(latex, encoding="utf-8")
    for _ in range(2):
        done = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                               "solution.tex"], cwd=tmp_path, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stdout.decode(errors="replace")[-2000:]
    log = (tmp_path / "solution.log").read_text(errors="replace")
    # A line may reach a little into the right margin (1.1 in, 79 pt), never off the paper; the scalar form's
    # written-out sums of the wide network reach 1246 pt past it.
    overfull = [float(points) for points in re.findall(r"Overfull \\hbox \((\d+\.\d+)pt", log)]
    assert max(overfull, default=0) < 20, overfull
    if shutil.which("pdftoppm") and name in ("homework", "wide"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "2", "-l", "5", str(tmp_path / "solution.pdf"),
                        str(ARTIFACTS / f"matrix-{name}-pdf")], check=True, timeout=60)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_pdf_from_the_command_line(cli, tmp_path):
    out = tmp_path / "solution.pdf"
    assert cli(["explain", "regression_batch", "--notation", "matrix", "-o", str(out)]).status == 0
    assert out.read_bytes().startswith(b"%PDF")


def test_html_matrices_are_mathml_tables_with_their_brackets():
    page = explain(handprop.solve(handprop.load("homework")), format="html", notation="matrix")
    assert "<script" not in page and "bmatrix" not in page
    ids = re.findall(r' id="([^"]+)"', page)
    assert len(ids) == len(set(ids)) > 30
    several = explain(handprop.solve(wide(optimizer="adam"), steps=3), format="html", notation="matrix", inputs=True)
    ids = re.findall(r' id="([^"]+)"', several)
    assert len(ids) == len(set(ids))
    # each matrix in a row with its own brackets, its cells spaced as TeX spaces a bmatrix's columns
    assert page.count("<mrow><mo>[</mo><mtable>") == page.count("<mtable>") > 30
    assert 'style="padding: 0.2em 0.45em; padding-left: 0.1em"' in page


@pytest.mark.parametrize("latex, expected", [
    (r"\mathbf{1}", "<mn>\U0001d7cf</mn>"),  # MathML Core draws no bold mathvariant: the bold digit itself
    (r"\Delta^{[1]}", '<mi mathvariant="normal">\u0394</mi>'),  # upright, as TeX sets capital Greek
    (r"x^\top \begin{bmatrix} 1 & 2 \end{bmatrix} y", "<mrow><mo>[</mo><mtable><mtr><mtd style="),
])
def test_mathml_mends_what_matrices_need(latex, expected):
    from handprop.render.mathml import mathml_row, serialize

    assert expected in serialize(mathml_row(latex, "block"))


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("no Chromium at /usr/bin/chromium")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


@pytest.mark.parametrize("name", ["homework", "wide"])
def test_html_in_chromium(browser, tmp_path, name):
    path = tmp_path / f"{name}.html"
    path.write_text(explain(handprop.solve(PROBLEMS[name]()), format="html", notation="matrix"), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(path.as_uri())
        page.evaluate("document.fonts.ready.then(() => true)")
        assert page.evaluate("""[...document.querySelectorAll('math')].filter(math => {
            const box = math.getBoundingClientRect(); return !(box.width > 0 && box.height > 0); }).length""") == 0
        # columns apart: in every matrix, each cell's number clear of the next one's by a few pixels
        gap = page.evaluate("""Math.min(...[...document.querySelectorAll('mtable:not([displaystyle]) > mtr')]
            .flatMap(row => {
                const cells = [...row.children].map(cell => {
                    const range = document.createRange(); range.selectNodeContents(cell);
                    return range.getBoundingClientRect(); });
                return cells.slice(1).map((cell, i) => cell.left - cells[i].right); }))""")
        assert gap >= 8, gap
        # a row vector's brackets as tall as its one row, not as the column beside it
        heights = page.evaluate("""[...document.querySelectorAll('#loss-value mtable:not([displaystyle])')].map(table =>
            table.parentElement.firstElementChild.getBoundingClientRect().height)""")
        if name == "homework":
            assert heights[0] < 0.75 * heights[1], heights
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"matrix-{name}.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        page.screenshot(path=str(ARTIFACTS / f"matrix-{name}-phone.png"), full_page=True)
        assert errors == []
    finally:
        page.close()


# -- bad input ------------------------------------------------------------------------------------------

def test_an_equations_problem_is_refused_in_one_line(cli):
    result = cli(["explain", "homework_equations", "--notation", "matrix"])
    assert result.status == 2 and result.out == "" and len(result.err.splitlines()) == 1
    assert result.err.startswith("handprop: error: homework_equations: --notation: the matrix form needs a "
                                 "layered network (")


@pytest.mark.parametrize("args, fragment", [
    (["--expand"], "--expand: the matrix form writes each gradient as a product of matrices"),
    (["--notation", "vector"], "invalid choice: 'vector'"),
    (["--sample", "2"], "--sample: sample 2 does not exist"),
])
def test_explain_matrix_bad_usage(cli, args, fragment):
    arguments = ["explain", "--notation", "matrix", *args] if "--notation" not in args else ["explain", *args]
    result = cli(arguments)
    assert result.status == 2 and result.out == "" and len(result.err.splitlines()) == 1
    assert fragment in result.err


def test_the_api_checks_the_notation():
    solution = handprop.solve(handprop.load("homework"))
    for call in (lambda: explain(solution, notation="vector"), lambda: solution.explain(notation=None),
                 lambda: handprop.explain(handprop.solve(handprop.load("homework_equations")), notation="matrix")):
        with pytest.raises(handprop.HandpropError) as caught:
            call()
        assert len(str(caught.value).splitlines()) == 1 and "notation" in str(caught.value)
    assert solution.explain(notation="matrix") == explain(solution, notation="matrix")
    assert solution.explain(notation="scalar") == explain(solution)
