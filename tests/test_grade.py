"""handprop grade: correct sheets score full marks, each common mistake is found, errors carried forward
are told apart, and malformed answer files are refused with one clear line.

The students' sheets are computed here, independently of handprop: the homework worked out by hand in
plain Python, with the mistake applied where a student makes it.
"""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_UP, Decimal

import pytest

from conftest import write

W = [0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]
B = [0.3, 0.3, 0.3, 0.7, 0.7]
X, T, LR = (0.26, 0.33), (1.0, 0.0), 0.5


def half_up(value: float, places: int) -> float:
    return float(Decimal(repr(value)).quantize(Decimal(10) ** -places, rounding=ROUND_HALF_UP))


def by_hand(w=W, b=B, x=X, t=T, lr=LR, *, places=None, relu_u=None, cross_terms=True, swap_targets=False,
            updated_in_backward=False) -> dict:
    """A 2-3-2 ReLU/softmax/cross-entropy network worked out as a student does, mistakes switched on by name;
    places rounds every intermediate value. Returns answer name -> value (out1, loss, dL/dw1, w1', h1, ...)."""
    r = (lambda v: v) if places is None else (lambda v: half_up(v, places))
    if swap_targets:
        t = (t[1], t[0])
    p = {f"w{i}": v for i, v in enumerate(w, 1)} | {f"b{i}": v for i, v in enumerate(b, 1)}
    h = [r(w[2 * j] * x[0] + w[2 * j + 1] * x[1] + b[j]) for j in range(3)]
    a = [max(v, 0.0) for v in h]
    o = [r(sum(w[6 + 3 * k + j] * a[j] for j in range(3)) + b[3 + k]) for k in range(2)]
    e = [math.exp(v) for v in o]
    y = [r(v / sum(e)) for v in e]
    loss = r(-sum(tk * math.log(yk) for tk, yk in zip(t, y)))
    dy = [r(-t[k] / y[k]) for k in range(2)]
    # dy_i/do_k = y_i (delta_ik - y_k); without the cross terms only the diagonal is kept.
    jacobian = [[r(y[i] * ((i == k) - y[k])) if cross_terms or i == k else 0.0 for k in range(2)] for i in range(2)]
    do = [r(sum(r(dy[i] * jacobian[i][k]) for i in range(2))) for k in range(2)]
    g = {}
    for k in range(2):
        for j in range(3):
            g[f"w{7 + 3 * k + j}"] = r(do[k] * a[j])
        g[f"b{4 + k}"] = do[k]

    def update(name: str) -> float:
        return r(p[name] - lr * g[name])

    second = {f"w{n}": update(f"w{n}") if updated_in_backward else p[f"w{n}"] for n in range(7, 13)}
    da = [r(sum(r(do[k] * second[f"w{7 + 3 * k + j}"]) for k in range(2))) for j in range(3)]
    u = [1.0 if v > 0 else 0.0 for v in h]
    for unit, value in (relu_u or {}).items():
        u[unit - 1] = value
    dh = [r(da[j] * u[j]) for j in range(3)]
    for j in range(3):
        g[f"w{2 * j + 1}"], g[f"w{2 * j + 2}"], g[f"b{j + 1}"] = r(dh[j] * x[0]), r(dh[j] * x[1]), dh[j]
    answers = {"out1": y[0], "out2": y[1], "loss": loss}
    answers |= {f"dL/d{n}": g[n] for n in p} | {f"{n}'": update(n) for n in p}
    for j in range(3):
        answers |= {f"h{j + 1}": h[j], f"a{j + 1}": a[j], f"dL/dh{j + 1}": dh[j], f"dL/da{j + 1}": da[j]}
    for k in range(2):
        answers |= {f"o{k + 1}": o[k], f"dL/do{k + 1}": do[k]}
    return answers


FINAL = ["out1", "out2", "loss"] + [f"dL/d{n}" for n in [f"w{i}" for i in range(1, 13)] + [f"b{i}" for i in
                                                                                           range(1, 6)]]
FINAL += [name[4:] + "'" for name in FINAL[3:]]


def sheet(answers: dict, names=FINAL, places: int = 4) -> str:
    return "name,value\n" + "".join(f"{n},{answers[n]:.{places}f}\n" for n in names)


def graded(cli, tmp_path, text: str, problem: str = "homework", *extra) -> tuple:
    result = cli(["grade", problem, write(tmp_path, "answers.csv", text), "--format", "json", *extra])
    assert result.err == "", result.err
    report = json.loads(result.out)
    return result.status, {e["name"]: e for e in report["entries"]}, report


def inactive_homework(tmp_path) -> str:
    """The homework with b2 = -0.5: h2 = 0.2*0.26 + 0.4*0.33 - 0.5 < 0, so unit 2 is inactive."""
    from handprop.problem.files import example_path

    text = example_path("homework").read_text().replace("b = [0.3, 0.3, 0.3, 0.7, 0.7]", "b = [0.3, -0.5, 0.3, 0.7, 0.7]")
    return write(tmp_path, "inactive.toml", text)


# -- correct sheets -------------------------------------------------------------------------------------------

def test_a_correct_sheet_at_full_precision_scores_full_marks(cli, tmp_path):
    answers = by_hand()
    result = cli(["grade", "homework", write(tmp_path, "answers.csv", sheet(answers))])
    assert result.status == 0 and result.err == ""
    assert "Full marks: all 37 answers correct." in result.out
    assert result.out.count("\u2713") == 37 and "\u2717" not in result.out


PUBLISHED_TABLE = """parameter\tinitial\tgradient\tupdate outputs
out1\t\t\t0.53
out2\t\t\t0.47
loss\t\t\t0.64
$w_1$\t0.1\t0.01\t0.09
$w_2$\t0.5\t0.02\t0.49
$w_3$\t0.2\t-0.05\t0.22
$w_4$\t0.4\t-0.06\t0.43
$w_5$\t0.4\t0.01\t0.39
$w_6$\t0.1\t0.02\t0.09
$w_7$\t0.1\t-0.23\t0.22
$w_8$\t0.5\t-0.23\t0.61
$w_9$\t0.3\t-0.21\t0.40
$w_{10}$\t0.2\t0.23\t0.08
$w_{11}$\t0.1\t0.23\t-0.01
$w_{12}$\t0.4\t0.21\t0.30
$b_1$\t0.3\t0.05\t0.28
$b_2$\t0.3\t-0.19\t0.39
$b_3$\t0.3\t0.05\t0.28
$b_4$\t0.7\t-0.47\t0.94
$b_5$\t0.7\t0.47\t0.46
"""


def test_the_published_homework_table_scores_full_marks(cli, tmp_path):
    # As the homework's solution prints it (tab-separated, outputs and loss in the last column), and as the
    # problem sheet's Markdown table.
    status, entries, report = graded(cli, tmp_path, PUBLISHED_TABLE)
    assert status == 0 and report["passed"] and report["score"]["correct"] == 37
    assert entries["w1'"]["given"] == 0.09 and entries["out1"]["given"] == 0.53
    rows = [line.split("\t") for line in PUBLISHED_TABLE.splitlines()[1:]]
    markdown = "| name | initial | gradient | updated |\n|:---|---:|---:|---:|\n"
    markdown += "".join(f"| {n} | {i} | {g} | {u} |\n" for n, i, g, u in rows)
    result = cli(["grade", "homework", write(tmp_path, "answers.md", markdown)])
    assert result.status == 0 and "Full marks: all 37 answers correct." in result.out


def test_a_sheet_rounded_by_hand_at_two_decimals_scores_full_marks(cli, tmp_path):
    answers = by_hand(places=2)
    # Rounding every step changes these, so that they are wrong at full precision yet right by hand.
    assert (answers["out1"], answers["w1'"], answers["dL/dw7"]) == (0.52, 0.10, -0.24)
    status, entries, report = graded(cli, tmp_path, sheet(answers, places=2))
    assert status == 0 and report["score"] == {"correct": 37, "carried_forward": 0, "wrong": 0, "answered": 37,
                                               "not_answered": 0}
    assert entries["out1"]["by_hand_decimals"] == 2 and entries["w1'"]["by_hand_decimals"] == 2


def test_answers_right_from_the_students_own_rounded_values_are_correct(cli, tmp_path):
    # dL/dh1 = 0.05 is right at 2 decimals; 0.05 * 0.26 = 0.013 is then right, although 0.0123 is the value.
    status, entries, _ = graded(cli, tmp_path, "dL/dh1,0.05\ndL/dw1,0.013\n")
    assert status == 0 and entries["dL/dw1"]["status"] == "correct"
    assert entries["dL/dw1"]["from_own_answers"] == pytest.approx(0.013)


# -- each mistake -----------------------------------------------------------------------------------------------

def diagnosed(entries: dict, names, mistake: str) -> None:
    for name in names:
        assert entries[name]["status"] == "wrong" and entries[name]["mistake"] == mistake, (name, entries[name])


def test_the_gradients_sign_flipped(cli, tmp_path):
    answers = by_hand()
    answers["dL/dw7"] = -answers["dL/dw7"]
    answers["w7'"] = 0.1 - LR * answers["dL/dw7"]  # the student updates with the flipped gradient
    status, entries, _ = graded(cli, tmp_path, sheet(answers))
    assert status == 1
    diagnosed(entries, ["dL/dw7"], "sign_flipped")
    assert entries["w7'"]["status"] == "carried_forward" and entries["w7'"]["follows_from"] == ["dL/dw7"]


@pytest.mark.parametrize("name, value, mistake", [
    ("w8'", lambda g: 0.5 + LR * g["dL/dw8"], "update_added"),
    ("w9'", lambda g: 0.3 - g["dL/dw9"], "lr_left_out"),
    ("b4'", lambda g: 0.7 - LR * LR * g["dL/db4"], "lr_twice"),
    ("b1'", lambda g: 0.3, "not_updated"),
])
def test_update_mistakes(cli, tmp_path, name, value, mistake):
    answers = by_hand()
    answers[name] = value(answers)
    status, entries, report = graded(cli, tmp_path, sheet(answers))
    assert status == 1 and report["score"]["wrong"] == 1
    diagnosed(entries, [name], mistake)


def test_the_wrong_input_in_a_product(cli, tmp_path):
    answers = by_hand()
    answers["dL/dw1"] = answers["dL/dh1"] * X[1]  # x2 instead of x1
    answers["dL/dw9"] = answers["dL/do1"] * answers["a1"]  # a1 instead of a3
    status, entries, _ = graded(cli, tmp_path, sheet(answers))
    diagnosed(entries, ["dL/dw1", "dL/dw9"], "wrong_factor")
    assert "dL/dh1·x2 instead of dL/dh1·x1" in entries["dL/dw1"]["cause"]
    assert any("numbering" in text for text in entries["dL/dw1"]["also"])  # dL/dw2 is the same number


def test_a_neighbours_value(cli, tmp_path):
    answers = by_hand()
    answers["dL/dw3"] = answers["dL/dw2"]  # w2 feeds another unit: not the wrong input of w3's product
    answers["w6'"] = answers["w5'"]
    answers["b3'"] = answers["b2'"]
    status, entries, _ = graded(cli, tmp_path, sheet(answers))
    diagnosed(entries, ["dL/dw3", "w6'", "b3'"], "neighbour")
    assert entries["dL/dw3"]["cause"].startswith("dL/dw2 written for dL/dw3")
    assert entries["w3'"]["status"] == "correct"


def test_relu_derivative_taken_as_1_for_an_inactive_unit(cli, tmp_path):
    problem = inactive_homework(tmp_path)
    b = [0.3, -0.5, 0.3, 0.7, 0.7]
    right, wrong = by_hand(b=b), by_hand(b=b, relu_u={2: 1.0})
    assert right["h2"] < 0 and right["dL/dw3"] == 0 and wrong["dL/dw3"] != 0
    status, entries, _ = graded(cli, tmp_path, sheet(wrong), problem)
    diagnosed(entries, ["dL/dw3", "dL/dw4", "dL/db2"], "relu_derivative")
    assert "inactive unit h2" in entries["dL/dw3"]["cause"]
    assert entries["w3'"]["status"] == "carried_forward"
    assert entries["dL/dw1"]["status"] == "correct" and entries["dL/dw7"]["status"] == "correct"


def test_relu_derivative_taken_as_0_for_an_active_unit(cli, tmp_path):
    status, entries, _ = graded(cli, tmp_path, sheet(by_hand(relu_u={1: 0.0})))
    diagnosed(entries, ["dL/dw1", "dL/dw2", "dL/db1"], "relu_derivative")
    assert "active unit h1" in entries["dL/dw1"]["cause"]


def test_softmax_derivative_without_its_cross_terms(cli, tmp_path):
    answers = by_hand(cross_terms=False)
    assert answers["dL/do2"] == 0 and answers["dL/do1"] == pytest.approx(by_hand()["dL/do1"])
    status, entries, _ = graded(cli, tmp_path, sheet(answers))
    diagnosed(entries, ["dL/dw10", "dL/dw11", "dL/dw12", "dL/db5", "dL/dw1", "dL/dw4", "dL/db3"],
              "softmax_no_cross_terms")
    assert entries["dL/dw7"]["status"] == "correct"  # with t = (1, 0), dL/do1 has no cross term to lose
    assert entries["w10'"]["status"] == "carried_forward"


def test_targets_swapped(cli, tmp_path):
    answers = by_hand(swap_targets=True)
    status, entries, _ = graded(cli, tmp_path, sheet(answers))
    diagnosed(entries, ["loss", "dL/dw1", "dL/dw7", "dL/db4", "dL/db5"], "targets_swapped")
    assert entries["out1"]["status"] == "correct"  # the forward pass does not read the targets
    assert entries["b4'"]["status"] == "carried_forward" and entries["b4'"]["follows_from"] == ["dL/db4"]


def test_updated_weights_used_in_the_backward_pass(cli, tmp_path):
    answers = by_hand(updated_in_backward=True)
    status, entries, _ = graded(cli, tmp_path, sheet(answers))
    layer_one = [f"dL/dw{i}" for i in range(1, 7)] + ["dL/db1", "dL/db2", "dL/db3"]
    diagnosed(entries, layer_one, "updated_weights_in_backward")
    assert all(entries[f"dL/dw{i}"]["status"] == "correct" for i in range(7, 13))


def test_mistakes_found_at_the_students_precision(cli, tmp_path):
    # The same mistakes, worked with every step rounded to 2 decimals.
    answers = by_hand(places=2, swap_targets=True)
    _, entries, _ = graded(cli, tmp_path, sheet(answers, places=2))
    diagnosed(entries, ["loss", "dL/dw7"], "targets_swapped")
    answers = by_hand(places=2)
    answers["dL/dw8"] = -answers["dL/dw8"]
    _, entries, _ = graded(cli, tmp_path, sheet(answers, places=2))
    diagnosed(entries, ["dL/dw8"], "sign_flipped")


# -- error carried forward ---------------------------------------------------------------------------------------

def test_one_upstream_error_and_consistent_downstream_answers_follow_from_it(cli, tmp_path):
    right = by_hand()
    do1, a1, do2 = -0.6, right["a1"], right["dL/do2"]  # dL/do1 wrong (-0.4748 is right)
    da1 = do1 * 0.1 + do2 * 0.2
    text = sheet({"dL/do1": do1, "dL/dw7": do1 * a1, "w7'": 0.1 - LR * do1 * a1, "dL/db4": do1,
                  "b4'": 0.7 - LR * do1, "dL/da1": da1, "dL/dw1": da1 * X[0], "w1'": 0.1 - LR * da1 * X[0],
                  "dL/dw10": right["dL/dw10"]},
                 ["dL/do1", "dL/dw7", "w7'", "dL/db4", "b4'", "dL/da1", "dL/dw1", "w1'", "dL/dw10"])
    status, entries, report = graded(cli, tmp_path, text)
    assert status == 1 and entries["dL/do1"]["status"] == "wrong"
    for name, upstream in (("dL/dw7", "dL/do1"), ("w7'", "dL/dw7"), ("dL/db4", "dL/do1"), ("b4'", "dL/db4"),
                           ("dL/da1", "dL/do1"), ("dL/dw1", "dL/da1"), ("w1'", "dL/dw1")):
        assert entries[name]["status"] == "carried_forward", name
        assert entries[name]["follows_from"] == [upstream], name
    assert entries["dL/dw10"]["status"] == "correct"
    assert report["score"] == {"correct": 1, "carried_forward": 7, "wrong": 1, "answered": 9, "not_answered": 30}
    text_report = cli(["grade", "homework", str(tmp_path / "answers.csv")]).out
    assert "follows from dL/do1" in text_report
    assert "Score: 1 of 9 correct, 7 carried forward" in text_report


def test_a_forward_error_carries_through_unanswered_steps(cli, tmp_path):
    right = by_hand()
    h1 = 0.6  # 0.491 is right
    o1 = 0.1 * h1 + 0.5 * right["a2"] + 0.3 * right["a3"] + 0.7
    o2 = 0.2 * h1 + 0.1 * right["a2"] + 0.4 * right["a3"] + 0.7
    y1 = 1 / (1 + math.exp(o2 - o1))
    text = sheet({"h1": h1, "a1": h1, "out1": y1, "loss": -math.log(y1)}, ["h1", "a1", "out1", "loss"])
    _, entries, _ = graded(cli, tmp_path, text)
    assert entries["h1"]["status"] == "wrong"
    assert entries["a1"]["follows_from"] == ["h1"]
    assert entries["out1"]["follows_from"] == ["a1"]  # o1, not answered, is worked from the student's a1
    assert entries["loss"]["follows_from"] == ["out1"]


# -- the answers file ----------------------------------------------------------------------------------------

def test_names_in_every_spelling(cli, tmp_path):
    right = by_hand()
    spellings = {"y1": "out1", "dw1": "dL/dw1", "grad_w2": "dL/dw2", "w1_new": "w1'", "updated_w2": "w2'",
                 "o1": "o1", "dL/dh1": "dL/dh1", "w3\u2032": "w3'"}
    text = "".join(f"{written},{right[name]:.4f}\n" for written, name in spellings.items())
    status, entries, _ = graded(cli, tmp_path, text)
    assert status == 0 and set(entries) == {"y1", "dL/dw1", "dL/dw2", "w1'", "w2'", "o1", "dL/dh1", "w3'"}


def test_a_whole_number_is_taken_as_exact(cli, tmp_path):
    # "0" for a gradient of 0.47 is wrong: a whole number claims the problem's own precision, not +-0.5.
    _, entries, _ = graded(cli, tmp_path, "dL/do2,0\ndL/dw10,0\n")
    assert entries["dL/do2"]["status"] == "wrong" and entries["dL/do2"]["tolerance"] == pytest.approx(0.005)
    assert entries["dL/dw10"]["status"] == "carried_forward"


def test_tolerance_option(cli, tmp_path):
    status, entries, report = graded(cli, tmp_path, "out1,0.50\n", "homework", "--tolerance", "0.03")
    assert status == 0 and report["tolerance"] == 0.03 and entries["out1"]["tolerance"] == 0.03
    assert graded(cli, tmp_path, "out1,0.50\n", "homework", "--tolerance", "0.01")[0] == 1


@pytest.mark.parametrize("text, fragment", [
    ("out1,0.53\ndL/dw13,0.1\n", "line 2: unknown name 'dL/dw13' (did you mean"),
    ("out1,0.53\ndL/dw1,0.1x\n", "line 2: '0.1x' is not a number"),
    ("out1,0.53\ndL/dw1,0.01\nloss,0.64\ndw1,0.02\n", "dL/dw1 given twice, on lines 2 (dL/dw1) and 4 (dw1)"),
    ("", "no answers found"),
    ("\n\n", "no answers found"),
    ("name,value\nout1,0.53\nw1'\n", "line 3: w1' has no value"),
    ("name,value\nw1,0.1\n", "line 2: w1 alone is its initial value"),
    ("| name | initial | gradient | updated |\n|---|---|---|---|\n| w1 | 0.2 | 0.01 | |\n",
     "w1's initial value is 0.2 here but 0.1 in the problem"),
    ("| name | initial | gradient | updated |\n|---|---|---|---|\n| w13 | | 0.01 | |\n", "unknown name 'w13'"),
])
def test_malformed_answer_files(cli, tmp_path, text, fragment):
    result = cli(["grade", "homework", write(tmp_path, "answers.csv", text)])
    assert result.status == 2 and result.out == ""
    assert result.err.startswith("handprop: error: ") and len(result.err.strip().splitlines()) == 1
    assert fragment in result.err, result.err


def test_unknown_name_suggests_the_closest(cli, tmp_path):
    result = cli(["grade", "homework", write(tmp_path, "a.csv", "dL/dw11,0.23\noutt1,0.53\n")])
    assert "did you mean 'out1'?" in result.err and "line 2" in result.err


def test_missing_answers_file_and_bad_tolerance(cli, tmp_path):
    result = cli(["grade", "homework", str(tmp_path / "none.csv")])
    assert result.status == 2 and "cannot read" in result.err
    result = cli(["grade", "homework", write(tmp_path, "a.csv", "out1,0.53\n"), "--tolerance", "-1"])
    assert result.status == 2 and "--tolerance" in result.err


def test_the_text_report(cli, tmp_path):
    answers = by_hand()
    answers["dL/dw7"] = -answers["dL/dw7"]
    result = cli(["grade", "homework", write(tmp_path, "a.csv", sheet(answers, ["out1", "dL/dw7"]))])
    assert result.status == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("Grading ") and "Machine Learning Homework 1" in lines[0]
    assert any(line.startswith("\u2713  out1") and "0.5252" in line for line in lines)
    assert any(line.startswith("\u2717  dL/dw7") and "-0.233137" in line and "0.2331" in line and
               "sign flipped" in line for line in lines)
    assert lines[-1].startswith("Score: 1 of 2 correct, 0 carried forward")
    assert "Not answered: 35" in lines[-1]


@pytest.mark.parametrize("problem, count", [("homework", 61), ("regression_batch", 71)])
def test_handprops_own_tables_with_every_node_score_full_marks(cli, tmp_path, problem, count):
    # The outputs appear twice there (out1 and y1, alike), the loss node's gradient is dL/dL, and a batch's
    # rows name their sample: "h1[1] (sample 2)". The data's rows (x1, t1, ...) give their gradients: the
    # homework's four, the batch's three names in each of its three samples.
    table = cli(["solve", problem, "--nodes", "--format", "markdown"]).out
    result = cli(["grade", problem, write(tmp_path, "table.md", table)])
    assert result.status == 0 and f"Full marks: all {count} answers correct." in result.out, result.out


def test_a_mistake_whose_numbers_do_not_exist_at_the_answer_s_precision_is_skipped(cli, tmp_path):
    # lr 10: the output y2 after the update is 9e-11, 0.0 when worked to 1 decimal, and the hand-rounded
    # recomputation of the loss after it takes the log of 0: that mistake explains nothing, grading goes on.
    from handprop.problem.files import EXAMPLES_DIR

    problem = tmp_path / "hw.toml"
    problem.write_text((EXAMPLES_DIR / "homework.toml").read_text().replace("lr = 0.5", "lr = 10.0"))
    answers = tmp_path / "answers.csv"
    answers.write_text("name,value\nloss,0.1\nout1,0.5\n")
    result = cli(["grade", str(problem), str(answers)])
    assert result.status == 1 and result.err == "", result.err
    assert "✗  loss" in result.out and "✓  out1" in result.out
