"""handprop exercise --like a network of layer kinds: variants with the same layers, shapes, loss and optimizer,
new numbers on the grid; each file parsed back, each key worked out again by `solve`, each sheet graded."""

from __future__ import annotations

import math
import tomllib

import pytest

from conftest import run_process, write

import handprop
from handprop.problem.spec import from_dict
from handprop.render import explain
from handprop.teach.exercise_kinds import degenerate, spec_from

FILES = ("{}.toml", "{}-sheet.md", "{}-sheet.html", "{}-key.md", "{}-key.html")
LIKES = ("cnn_homework", "conv1d_signal", "rnn_three_steps", "attention_two_tokens")


def exercise(cli, folder, *args):
    result = cli(["exercise", *args, "-o", str(folder)])
    assert result.status == 0 and result.err == "", result.err
    return result


def read(folder, stem: str = "variant-01") -> dict:
    return tomllib.loads((folder / f"{stem}.toml").read_text())


def flat(value) -> list:
    return [v for item in value for v in flat(item)] if isinstance(value, list) else [value]


def table(markdown: str) -> list[list[str]]:
    """The rows of the Result table (name | initial | gradient | updated) of a sheet or a key, as cells."""
    lines = markdown[markdown.index("| name | initial | gradient | updated |"):].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_same_seed_gives_byte_identical_files_and_another_seed_others(cli, tmp_path):
    exercise(cli, tmp_path / "a", "--like", "cnn_homework", "--count", "2", "--seed", "5")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(f.format(f"variant-0{i}") for i in (1, 2) for f in FILES)
    again = run_process(["exercise", "--like", "cnn_homework", "--count", "2", "--seed", "5",
                         "-o", str(tmp_path / "b")])
    assert again.status == 0, again.err
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    exercise(cli, tmp_path / "c", "--like", "cnn_homework", "--count", "2", "--seed", "6")
    for i in (1, 2):
        assert read(tmp_path / "a", f"variant-0{i}") != read(tmp_path / "c", f"variant-0{i}")
    assert read(tmp_path / "a", "variant-01") != read(tmp_path / "a", "variant-02")


@pytest.mark.parametrize("like", LIKES)
def test_variants_keep_the_network_and_draw_on_the_grid(cli, tmp_path, like):
    exercise(cli, tmp_path, "--like", like, "--count", "2", "--seed", "3")
    original = handprop.load(like)
    for stem in ("variant-01", "variant-02"):
        raw = read(tmp_path, stem)
        problem = from_dict(raw, label=stem)  # the TOML parsed back: the same network of layer kinds
        assert problem.stack == original.stack
        assert problem.optimizer.name == original.optimizer.name and problem.optimizer.lr == original.optimizer.lr
        assert raw["display"] == {"decimals": 2}
        for name, value in raw["parameters"].items():
            values = flat(value)
            assert all(v == round(v, 1) and v != 0 and -0.5 <= v <= 0.9 for v in values), (name, values)
        xs, ts = flat(raw["data"]["x"]), flat(raw["data"]["t"])
        given = [v for name in original.stack.inputs for v in original.data[name]]
        if all(v == int(v) for v in given):  # an image of small whole numbers keeps them
            assert all(isinstance(v, int) and min(given) <= v <= max(given) for v in xs), xs
        else:  # one digit finer than the weights
            assert all(v == round(v, 2) and min(given) <= v <= max(given) for v in xs)
            assert xs != [round(v, 1) for v in xs]
        if original.stack.loss == "cross_entropy":
            assert sorted(ts) == [0] * (len(ts) - 1) + [1]
        else:
            assert all(v == round(v, 1) for v in ts)
        assert len(xs) == len(original.stack.inputs) and len(ts) == len(original.stack.targets)


def test_the_problem_file_lays_tensors_out_as_matrices(cli, tmp_path):
    exercise(cli, tmp_path, "--like", "cnn_homework", "--seed", "1")
    text = (tmp_path / "variant-01.toml").read_text()
    assert '  { type = "conv2d", channels = 1, kernel = 2, activation = "relu" },' in text
    assert '  { type = "maxpool2d", kernel = 2, stride = 1 },' in text
    lines = text.splitlines()
    x = lines.index(next(line for line in lines if line.startswith("x = ")))
    assert [len(line) for line in lines[x:x + 4]] == [len(lines[x])] * 3 + [len(lines[x]) + 1]  # ]]] ends the last
    assert all(line.startswith("      [") for line in lines[x + 1:x + 4])
    k = lines.index(next(line for line in lines if line.startswith("K1 = [[[[")))
    assert lines[k + 1].startswith("        [") and lines[k + 1].endswith("]]]]")


@pytest.mark.parametrize("like", LIKES)
def test_every_key_solves_its_variant_and_grades_full_marks(cli, tmp_path, like):
    exercise(cli, tmp_path, "--like", like, "--seed", "2")
    path = tmp_path / "variant-01.toml"
    solution = handprop.solve(handprop.load(str(path)))
    key = (tmp_path / "variant-01-key.md").read_text()
    assert key == explain(solution, format="markdown")
    assert (tmp_path / "variant-01-key.html").read_text() == explain(solution, format="html")
    # The key's Result table holds solve's numbers, to the variant's 2 decimals; the grader takes them as right.
    rows = table(key)
    outputs = len(solution.output_names)
    names = [f"out{j}" for j in range(1, outputs + 1)] + ["loss"] + list(solution.parameters)
    assert len(rows) == len(names)
    answers = []
    for name, row in zip(names, rows):
        if name.startswith("out"):
            assert float(row[1]) == round(solution.output_values[0][int(name[3:]) - 1], 2)
            answers.append(f"{name},{row[1]}")
        elif name == "loss":
            assert float(row[1]) == round(solution.loss, 2)
            answers.append(f"loss,{row[1]}")
        else:
            record = solution.parameters[name]
            assert (float(row[2]), float(row[3])) == (round(record.gradient, 2), round(record.updated, 2)), name
            answers += [f"dL/d{name},{row[2]}", f"{name}',{row[3]}"]
    result = cli(["grade", str(path), write(tmp_path, "answers.csv", "\n".join(answers) + "\n")])
    assert result.status == 0 and f"Full marks: all {len(answers)} answers correct." in result.out, result.out


@pytest.mark.parametrize("like", LIKES)
def test_the_sheet_shows_the_tensors_and_marks_every_unknown(cli, tmp_path, like):
    exercise(cli, tmp_path, "--like", like, "--seed", "4")
    solution = handprop.solve(handprop.load(str(tmp_path / "variant-01.toml")))
    markdown = (tmp_path / "variant-01-sheet.md").read_text()
    html = (tmp_path / "variant-01-sheet.html").read_text()
    assert "| layer | kind | activation | shape after it |" in markdown and r"\begin{bmatrix}" in markdown
    assert '<table class="matrix">' in html and "<svg" in html and "<script" not in html
    rows = table(markdown)
    outputs = len(solution.output_names)
    assert [row[1:] for row in rows[:outputs + 1]] == [["?", "", ""]] * (outputs + 1)  # outputs and the loss
    parameters = rows[len(solution.output_names) + 1:]
    assert [row[0] for row in parameters] == list(solution.parameters)
    assert all(row[2:] == ["?", "?"] and float(row[1]) == solution.parameters[row[0]].initial for row in parameters)
    found = [solution.loss] + [v for r in solution.parameters.values() for v in (r.gradient, r.updated)]
    found += [node.values[0] for name, node in solution.nodes.items() if name not in solution.problem.data]
    for text in (markdown, html):  # nothing the student is to find (a number of more digits than the given ones)
        assert f"| {solution.loss:.2f} |" not in text
        for value in found:
            assert len(repr(value)) < 7 or repr(value) not in text, value
    if like == "cnn_homework":  # the image as a matrix, in both
        x = read(tmp_path)["data"]["x"][0]
        assert r"\mathrm{x[1]} = \begin{bmatrix} " + " & ".join(map(str, x[0])) + r" \\" in markdown
        assert "<tr>" + "".join(f"<td>{v}</td>" for v in x[0]) + "</tr>" in html


@pytest.mark.parametrize("like", ["lstm_step", "transformer_block", "batchnorm_batch_of_4"])
def test_layer_data_norms_and_a_batch_are_kept(cli, tmp_path, like):
    from handprop.problem.files import example_names

    if like not in example_names():
        pytest.skip(f"no example {like}")
    exercise(cli, tmp_path, "--like", like, "--seed", "1")
    original, raw = handprop.load(like), read(tmp_path)
    variant = handprop.load(str(tmp_path / "variant-01.toml"))
    assert variant.stack == original.stack and variant.batch_size == original.batch_size
    for key in ("h0_1", "c0_1"):  # an LSTM's initial state, as given
        assert raw["data"].get(key) == tomllib.loads(original.path.read_text())["data"].get(key)
    assert {name: value for name, value in variant.data.items() if name.startswith(("h1[0,", "c1[0,"))} == \
        {name: value for name, value in original.data.items() if name.startswith(("h1[0,", "c1[0,"))}
    result = cli(["grade", str(tmp_path / "variant-01.toml"), write(tmp_path, "one.csv", "loss,0.12\n")])
    assert result.status in (0, 1) and "loss" in result.out


def test_the_filled_in_sheet_is_graded(cli, tmp_path):
    exercise(cli, tmp_path, "--like", "rnn_three_steps", "--seed", "8")
    path = tmp_path / "variant-01.toml"
    solution = handprop.solve(handprop.load(str(path)))
    lines = []
    for line in (tmp_path / "variant-01-sheet.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| out"):
            line = f"| {cells[0]} | {solution.output_values[0][int(cells[0][3:]) - 1]:.2f} |  |  |"
        elif line.startswith("| loss"):
            line = f"| loss | {solution.loss:.2f} |  |  |"
        elif cells[0] in solution.parameters:
            record = solution.parameters[cells[0]]
            line = f"| {cells[0]} | {cells[1]} | {record.gradient:.2f} | {record.updated:.2f} |"
        lines.append(line)
    answers = write(tmp_path, "answers.md", "\n".join(lines) + "\n")
    result = cli(["grade", str(path), answers])
    count = 2 + 1 + 2 * len(solution.parameters)
    assert result.status == 0 and f"Full marks: all {count} answers correct." in result.out, result.out
    # A wrong kernel-style name with indices is read whole and graded wrong.
    wrong = write(tmp_path, "wrong.csv", "dL/dWhh1[1,2],9.99\n")
    result = cli(["grade", str(path), wrong])
    assert result.status == 1 and "dL/dWhh1[1,2]" in result.out


def test_a_kernel_whose_every_gradient_is_0_is_redrawn():
    like = handprop.load("cnn_homework")
    spec = spec_from(like)
    raw = tomllib.loads(like.path.read_text())
    raw["parameters"]["K1"] = [[[[-0.2, -0.1], [-0.4, -0.3]]]]  # every z below 0: every ReLU off
    raw["parameters"]["b1"] = [-0.1]
    dead = handprop.solve(from_dict(raw, label="dead"))
    assert degenerate(dead, spec) == "every gradient of K1 0"
    assert degenerate(handprop.solve(like), spec) is None
    raw["parameters"]["K1"] = [[[[0.5, 0.5], [0.5, 0.5]]]]  # windows of equal sums: tied maxima
    assert "tied" in degenerate(handprop.solve(from_dict(raw, label="tied")), spec)


@pytest.mark.parametrize("args, option", [
    (["--layers", "2-3-2"], "--layers"),
    (["--activation", "tanh"], "--activation"),
    (["--loss", "mse"], "--loss"),
    (["--inactive", "some"], "--inactive"),
    (["--inactive", "any"], "--inactive"),
])
def test_options_for_dense_networks_are_refused_in_one_line(cli, tmp_path, args, option):
    result = cli(["exercise", "--like", "cnn_homework", *args, "-o", str(tmp_path / "out")])
    assert result.status == 2 and result.out == "" and len(result.err.strip().splitlines()) == 1
    assert result.err.startswith(f"handprop: error: {option}: is for a network of dense layers, not of layer kinds (")
    assert not (tmp_path / "out").exists()


def test_another_grid_and_a_network_too_large_for_an_exercise(cli, tmp_path):
    exercise(cli, tmp_path, "--like", "rnn_three_steps", "--decimals", "2")
    raw = read(tmp_path)
    weights = flat(raw["parameters"]["Whh1"]) + flat(raw["parameters"]["Wih1"])
    assert all(v == round(v, 2) for v in weights) and raw["display"] == {"decimals": 3}
    assert all(v == round(v, 3) for v in flat(raw["data"]["x"]))
    big = write(tmp_path, "big.toml", "\n".join([
        "[network]", "input_shape = [1, 50, 50]",
        'layers = [{ type = "conv2d", channels = 1, kernel = 3 }, { type = "flatten" }, { units = 1 }]',
        'loss = "mse"', "[parameters]", 'init = "he_uniform"',
        "[data]", f"x = [{[[0.5] * 50] * 50}]", "t = [0.5]", "[optimizer]", "lr = 0.1"]))
    result = cli(["exercise", "--like", big, "-o", str(tmp_path / "big")])
    assert result.status == 2 and "too many for an exercise" in result.err
    assert math.isfinite(handprop.solve(handprop.load(str(tmp_path / "variant-01.toml"))).loss)


@pytest.mark.parametrize("example", ["rnn_three_steps", "lstm_step", "attention_two_tokens", "batchnorm_batch_of_4"])
def test_a_key_grades_itself_full_marks_whatever_its_names(example, tmp_path, cli):
    # The key writes \mathit{Wih}^{[1]}_{1,1}, y_{1,1} and \alpha^{[1]}_{1,2,1}: read back as Wih1[1,1], y[1,1],
    # alpha1[1,2,1].
    assert cli(["exercise", "--like", example, "-o", str(tmp_path)]).status == 0
    result = cli(["grade", str(tmp_path / "variant-01.toml"), str(tmp_path / "variant-01-key.md")])
    assert result.status == 0 and "Full marks" in result.out, result.out[-600:] + result.err
