"""handprop exercise: deterministic variants in the homework's style, each with a sheet and a key that solves it.

The variants' numbers are checked independently: the hidden units' h from the problem file's own weights,
and the key's Result table against the network worked out by hand (test_grade.by_hand).
"""

from __future__ import annotations

import math
import tomllib

import pytest

from conftest import run_process, write
from test_grade import by_hand

import handprop
from handprop.teach.answers import read_answers
from handprop.render import explain

FILES = ("{}.toml", "{}-sheet.md", "{}-sheet.html", "{}-key.md", "{}-key.html")


def exercise(cli, folder, *args):
    result = cli(["exercise", *args, "-o", str(folder)])
    assert result.status == 0 and result.err == "", result.err
    return result


def hidden_h(variant: dict) -> list[float]:
    """h1, h2, h3 of a 2-3-2 variant, from its file's numbers."""
    w, b, x = variant["parameters"]["w"], variant["parameters"]["b"], variant["data"]["x"]
    return [w[2 * j] * x[0] + w[2 * j + 1] * x[1] + b[j] for j in range(3)]


def read(folder, stem: str) -> dict:
    return tomllib.loads((folder / f"{stem}.toml").read_text())


def test_the_same_seed_gives_byte_identical_files_and_another_seed_others(cli, tmp_path):
    result = exercise(cli, tmp_path / "a", "--count", "2", "--seed", "5")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(f.format(f"variant-0{i}") for i in (1, 2) for f in FILES)
    assert result.out.splitlines()[0] == str(tmp_path / "a" / "variant-01.toml")
    # Another process (another hash seed), the same files.
    again = run_process(["exercise", "--count", "2", "--seed", "5", "-o", str(tmp_path / "b")])
    assert again.status == 0
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    exercise(cli, tmp_path / "c", "--count", "2", "--seed", "6")
    assert (tmp_path / "a" / "variant-01.toml").read_text() != (tmp_path / "c" / "variant-01.toml").read_text()
    # Fewer variants are the first ones of more.
    exercise(cli, tmp_path / "d", "--count", "1", "--seed", "5")
    assert (tmp_path / "d" / "variant-01-key.md").read_bytes() == (tmp_path / "a" / "variant-01-key.md").read_bytes()


def test_variants_look_like_the_homework(cli, tmp_path):
    exercise(cli, tmp_path, "--count", "6", "--seed", "11")
    for i in range(1, 7):
        variant = read(tmp_path, f"variant-0{i}")
        assert variant["title"] == f"Machine Learning Homework 1, variant 0{i}"
        assert variant["network"]["layers"] == [{"units": 3, "activation": "relu"},
                                                {"units": 2, "activation": "softmax"}]
        assert variant["optimizer"] == {"name": "sgd", "lr": 0.5, "steps": 1}
        assert variant["display"] == {"decimals": 2}
        for value in variant["parameters"]["w"] + variant["parameters"]["b"]:
            assert value == round(value, 1) and value != 0
        for value in variant["data"]["x"]:
            assert value == round(value, 2) and 0 < value < 1
        assert sorted(variant["data"]["t"]) == [0, 1]  # one-hot
        # Not degenerate: no unit at h = 0 (to the answers' 2 decimals), not all dead, outputs not saturated.
        h = hidden_h(variant)
        assert min(abs(v) for v in h) >= 0.01 and max(h) > 0
        assert max(by_hand(variant["parameters"]["w"], variant["parameters"]["b"], variant["data"]["x"],
                           variant["data"]["t"])[f"out{k}"] for k in (1, 2)) <= 0.99


@pytest.mark.parametrize("inactive", ["some", "none"])
def test_inactive_units_as_asked(cli, tmp_path, inactive):
    exercise(cli, tmp_path, "--count", "4", "--seed", "2", "--inactive", inactive)
    for i in range(1, 5):
        h = hidden_h(read(tmp_path, f"variant-0{i}"))
        if inactive == "some":
            assert any(v <= 0 for v in h), h
        else:
            assert all(v > 0 for v in h), h


def test_every_key_solves_its_own_problem_file(cli, tmp_path):
    exercise(cli, tmp_path, "--count", "3", "--seed", "4", "--inactive", "some")
    for i in range(1, 4):
        stem = f"variant-0{i}"
        path = tmp_path / f"{stem}.toml"
        solution = handprop.solve(handprop.load(str(path)))
        assert (tmp_path / f"{stem}-key.md").read_text() == explain(solution, format="markdown")
        # The key's Result table, against the network worked out by hand from the file's numbers.
        variant = read(tmp_path, stem)
        right = by_hand(variant["parameters"]["w"], variant["parameters"]["b"], variant["data"]["x"],
                        variant["data"]["t"])
        key = read_answers((tmp_path / f"{stem}-key.md").read_text(), solution.problem)
        assert len(key) == 38  # outputs, loss, loss after, 17 gradients, 17 updated parameters
        for answer in key:
            if answer.label != "loss'":
                assert abs(answer.value - right[answer.label]) <= 0.005 + 1e-12, (stem, answer.label)
        # And the grader agrees the key is right.
        graded = cli(["grade", str(path), str(tmp_path / f"{stem}-key.md")])
        assert graded.status == 0 and "Full marks: all 38 answers correct." in graded.out
        html = (tmp_path / f"{stem}-key.html").read_text()
        assert html.startswith("<!DOCTYPE html>") and "<svg" in html


def test_the_sheet_asks_the_homeworks_questions_and_gives_nothing_away(cli, tmp_path):
    exercise(cli, tmp_path, "--seed", "3")
    markdown = (tmp_path / "variant-01-sheet.md").read_text()
    for text in ("# Machine Learning Homework 1, variant 01", "1. the outputs of the network (out1, out2);",
                 "2. the loss;", "3. the gradient of every parameter (w1 … b5);",
                 "4. every parameter after updating by gradient descent with learning rate 0.5 (one step).",
                 "is in the HTML sheet (variant-01-sheet.html)", "| name | initial | gradient | updated |",
                 "| out1 |  |  |  |", "| loss |  |  |  |", "h1 takes x1 through w1, x2 through w2, and the bias b1"):
        assert text in markdown, text
    variant = read(tmp_path, "variant-01")
    assert f"| w1 | {variant['parameters']['w'][0]:g} |  |  |" in markdown
    assert f"| x1 | {variant['data']['x'][0]:g} |" in markdown
    html = (tmp_path / "variant-01-sheet.html").read_text()
    assert "<svg" in html and "<script" not in html and "http://" not in html and "https://" not in html
    solution = handprop.solve(handprop.load(str(tmp_path / "variant-01.toml")))
    assert "h1 = ?" in html and "L = ?" in html
    for record in solution.parameters.values():
        assert repr(record.gradient) not in html and repr(record.updated) not in html
    assert repr(solution.loss) not in html and repr(solution.traces[0].values["h1"]) not in html


def test_the_filled_in_sheet_is_graded(cli, tmp_path):
    exercise(cli, tmp_path, "--seed", "8")
    variant = read(tmp_path, "variant-01")
    right = by_hand(variant["parameters"]["w"], variant["parameters"]["b"], variant["data"]["x"], variant["data"]["t"])
    lines = []
    for line in (tmp_path / "variant-01-sheet.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        name = cells[0]
        if line.startswith("| out") or line.startswith("| loss"):
            line = f"| {name} | {right[name]:.2f} |  |  |"
        elif line.startswith("| w") or line.startswith("| b"):
            line = f"| {name} | {cells[1]} | {right['dL/d' + name]:.2f} | {right[name + chr(39)]:.2f} |"
        lines.append(line)
    answers = write(tmp_path, "answers.md", "\n".join(lines) + "\n")
    result = cli(["grade", str(tmp_path / "variant-01.toml"), answers])
    assert result.status == 0 and "Full marks: all 37 answers correct." in result.out


def test_other_shapes_losses_and_grids(cli, tmp_path):
    exercise(cli, tmp_path, "--layers", "3-4-2", "--activation", "sigmoid", "--loss", "mse", "--decimals", "2",
             "--count", "2")
    variant = read(tmp_path, "variant-02")
    assert variant["network"]["inputs"] == 3 and variant["network"]["loss"] == "mse"
    assert variant["network"]["layers"] == [{"units": 4, "activation": "sigmoid"}, {"units": 2, "activation": "sigmoid"}]
    assert len(variant["parameters"]["w"]) == 3 * 4 + 4 * 2 and variant["display"] == {"decimals": 3}
    assert any(v != round(v, 1) for v in variant["parameters"]["w"])  # a finer grid
    assert all(v == round(v, 2) for v in variant["parameters"]["w"] + variant["parameters"]["b"])
    assert all(v == round(v, 3) and 0 < v < 1 for v in variant["data"]["x"] + variant["data"]["t"])
    solution = handprop.solve(handprop.load(str(tmp_path / "variant-02.toml")))
    assert all(0.01 <= y <= 0.99 for y in solution.output_values[0])
    exercise(cli, tmp_path / "deep", "--layers", "2-3-3-2", "--seed", "1")
    deep = read(tmp_path / "deep", "variant-01")
    assert [layer["activation"] for layer in deep["network"]["layers"]] == ["relu", "relu", "softmax"]
    assert math.isfinite(handprop.solve(handprop.load(str(tmp_path / "deep" / "variant-01.toml"))).loss)


@pytest.mark.parametrize("like, answers", [("regression_batch", 21), ("logistic_bce", 9)])
def test_variants_like_other_problems_and_their_keys_grade_full_marks(cli, tmp_path, like, answers):
    # regression_batch names its parameters as torch does (W1[1,2], written W^{[1]}_{1,2} in the key).
    exercise(cli, tmp_path, "--like", like)
    variant = read(tmp_path, "variant-01")
    assert variant["network"]["naming"] == handprop.load(like).network.naming
    result = cli(["grade", str(tmp_path / "variant-01.toml"), str(tmp_path / "variant-01-key.md")])
    assert result.status == 0 and f"Full marks: all {answers} answers correct." in result.out


@pytest.mark.parametrize("args, fragment", [
    (["--layers", "2-x-2"], "--layers: '2-x-2' is not a layer spec"),
    (["--layers", "2"], "--layers: '2' is not a layer spec"),
    (["--layers", "2-30-2"], "--layers: '2-30-2' is too large"),
    (["--activation", "rellu"], "unknown activation 'rellu' (did you mean 'relu'?"),
    (["--loss", "crossentropy"], "unknown loss 'crossentropy' (did you mean 'cross_entropy'?"),
    (["--count", "0"], "--count: 0 variants"),
    (["--inactive", "few"], "--inactive: unknown choice 'few'"),
    (["--activation", "sigmoid", "--inactive", "some"], "needs ReLU hidden units"),
    (["--like", "homework_equations"], "exercises are drawn for a layered network"),
    (["--decimals", "0"], "--decimals: 0 is out of range"),
])
def test_bad_options(cli, tmp_path, args, fragment):
    result = cli(["exercise", *args, "-o", str(tmp_path / "out")])
    assert result.status == 2 and result.out == "" and len(result.err.strip().splitlines()) == 1
    assert result.err.startswith("handprop: error: ") and fragment in result.err, result.err
    assert not (tmp_path / "out").exists()


def test_an_output_folder_that_cannot_be_written(cli, tmp_path):
    blocker = write(tmp_path, "file.txt", "not a folder")
    result = cli(["exercise", "-o", blocker])
    assert result.status == 2 and "is a file, not a folder" in result.err
    result = cli(["exercise", "-o", blocker + "/inside"])
    assert result.status == 2 and "cannot write" in result.err
    assert cli(["exercise"]).status == 2  # -o is required
