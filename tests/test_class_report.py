"""The class report: a folder of submissions, each graded against its own variant; the shares and mistakes."""

import csv
import json

import pytest

from handprop import load
from handprop.cli import main
from handprop.render.class_report import render_class_csv, render_class_html
from handprop.teach.class_report import grade_class
from handprop.teach.exercise import spec_from, variants
from handprop.teach.mistakes import answer_values
from handprop.teach.names import label


def _answers(variant, *, flip=False, carry=False):
    """out1, dL/dw1 and w1' of the variant: right, dL/dw1 negated, and w1' from that negated gradient."""
    problem = variant.problem
    values = {label(q, problem): v for q, v in answer_values(variant.solution).items()}
    gradient = -values["dL/dw1"] if flip else values["dL/dw1"]
    updated = problem.parameters["w1"] - 0.5 * gradient if carry else values["w1'"]
    return f"out1,{values['out1']:.4f}\ndL/dw1,{gradient:.4f}\nw1',{updated:.4f}\n"


@pytest.fixture(scope="module")
def drawn():
    return variants(spec_from(load("homework")), seed=3, count=3)


@pytest.fixture
def klass(tmp_path, drawn):
    folder = tmp_path / "variants"
    folder.mkdir()
    for v in drawn:
        (folder / f"{v.stem}.toml").write_text(v.text)
    roster = [("ada", "A. L."), ("bob", "B. M."), ("cy", "C. N."), ("dee", "D. O.")]
    with open(folder / "roster.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "name", "variant", "problem", "key"])
        for k, (student, name) in enumerate(roster):
            stem = drawn[k % 3].stem
            writer.writerow([student, name, stem, f"{stem}.toml", f"{stem}-key.md"])
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / "ada.csv").write_text(_answers(drawn[0]))
    (submissions / "bob.csv").write_text(_answers(drawn[1], flip=True, carry=True))
    (submissions / "cy.csv").write_text(_answers(drawn[2], flip=True))
    (submissions / "dee.csv").write_bytes(b"\xff\xfe\x00bad")  # unreadable
    (submissions / "eve.md").write_text("variant: variant-99\n" + _answers(drawn[0]))  # no such variant
    (submissions / "fay.csv").write_text("# variant-02\n" + _answers(drawn[1]))  # not in the roster: named inside
    return folder, submissions


def test_each_student_against_their_variant(klass):
    report = grade_class(str(klass[0]), str(klass[1]))
    by_id = {s.id: s for s in report.students}
    assert [s.id for s in report.students] == ["ada", "bob", "cy", "dee", "eve", "fay"]
    assert by_id["ada"].report.count("correct") == 3 and by_id["ada"].variant == "variant-01"
    statuses = {sid: [(g.label, g.status) for g in by_id[sid].report.grades] for sid in ("ada", "bob", "cy", "fay")}
    assert statuses["bob"] == [("out1", "correct"), ("dL/dw1", "wrong"), ("w1'", "carried_forward")]
    assert statuses["cy"] == [("out1", "correct"), ("dL/dw1", "wrong"), ("w1'", "correct")]
    assert all(s == "correct" for _, s in statuses["fay"])
    assert by_id["fay"].variant == "variant-02"
    assert not by_id["dee"].graded and "UTF-8" in by_id["dee"].reason
    assert not by_id["eve"].graded and "variant-99" in by_id["eve"].reason
    assert len(report.graded) == 4 and len(report.not_graded) == 2


def test_shares_and_most_common_mistake(klass):
    report = grade_class(str(klass[0]), str(klass[1]))
    shares = {q.label: q for q in report.questions}
    assert shares["dL/dw1"].counts == {"correct": 2, "carried_forward": 0, "wrong": 2, "not_answered": 0}
    assert shares["dL/dw1"].share("wrong") == 0.5
    assert shares["w1'"].counts["carried_forward"] == 1 and shares["w1'"].share("correct") == 0.75
    assert shares["loss"].share("not_answered") == 1.0
    top = report.mistakes[0]
    assert (top.mistake, top.answers, top.students) == ("sign_flipped", 2, ("bob", "cy"))


def test_multi_student_csv(tmp_path, drawn):
    folder = tmp_path / "v"
    folder.mkdir()
    for v in drawn:
        (folder / f"{v.stem}.toml").write_text(v.text)
    rows = [["id", "variant", "out1", "dL/dw1", "w1'"]]
    for student, v, flip in (("ada", drawn[0], False), ("bob", drawn[1], True), ("cy", None, False)):
        cells = [line.split(",")[1] for line in _answers(v or drawn[0], flip=flip).splitlines()]
        rows.append([student, v.stem if v else "", *cells])
    path = tmp_path / "class.csv"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n")
    report = grade_class(str(folder), str(path))
    by_id = {s.id: s for s in report.students}
    assert by_id["ada"].report.count("correct") == 3
    assert [g.mistake for g in by_id["bob"].report.grades if g.status == "wrong"] == ["sign_flipped"]
    assert not by_id["cy"].graded and "no variant" in by_id["cy"].reason


@pytest.mark.parametrize("form", ["table", "csv", "json", "html"])
def test_formats_from_the_command(klass, tmp_path, form, capsys):
    out = tmp_path / f"report.{form}"
    assert main(["grade", str(klass[0]), str(klass[1]), "--format", form, "-o", str(out)]) == 1  # two not graded
    text = out.read_text()
    if form == "json":
        document = json.loads(text)
        assert document["graded"] == 4 and document["not_graded"] == 2
        assert document["mistakes"][0]["mistake"] == "sign_flipped"
        assert {q["name"]: q["shares"]["wrong"] for q in document["questions"]}["dL/dw1"] == 0.5
    elif form == "csv":
        rows = list(csv.DictReader(text.splitlines()))
        assert {r["id"]: r["graded"] for r in rows}["dee"] == "no"
    elif form == "html":
        try:
            import matplotlib  # noqa: F401
            assert text.count("<svg") == 2
        except ImportError:
            assert "need matplotlib" in text
        assert "sign_flipped" in text
    else:
        assert "not graded:" in text and "sign_flipped" in text


def test_bad_command_inputs_exit_2(klass, tmp_path, capsys):
    assert main(["grade", str(klass[0]), str(tmp_path / "nowhere")]) == 2
    assert main(["grade", str(tmp_path / "empty"), str(klass[1])]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["grade", str(tmp_path / "empty"), str(klass[1])]) == 2
    err = capsys.readouterr().err
    assert all(line.startswith("handprop: error") for line in err.splitlines())


def test_one_student_form_unchanged(tmp_path, capsys):
    path = tmp_path / "answers.csv"
    path.write_text("out1,0.53\ndL/dw1,-0.01\nw1',0.11\n")
    assert main(["grade", "homework", str(path), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert [e["status"] for e in document["entries"]] == ["correct", "wrong", "carried_forward"]
    assert document["answers"] == str(path)


def test_renderers_without_students_graded(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "x.csv").write_text("nonsense\n")
    report = grade_class("homework", str(tmp_path / "s"))
    assert not report.graded and report.not_graded[0].reason
    assert "x" in render_class_csv(report) and "<html" in render_class_html(report)


def test_a_roster_s_keys_graded_as_submissions_score_every_question_and_no_more(cli, tmp_path):
    # The key also answers the loss after the update, which the sheet does not ask: 37 of 37, not 38 of 37.
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns1,Ada\ns2,Bo\n")
    out, submissions = tmp_path / "out", tmp_path / "submissions"
    assert cli(["exercise", "--roster", str(roster), "-o", str(out), "--seed", "3"]).status == 0
    submissions.mkdir()
    for student in ("s1", "s2"):
        (submissions / f"{student}.md").write_text((out / f"{student}-key.md").read_text())
    result = cli(["grade", str(out), str(submissions), "--format", "json"])
    import json

    report = json.loads(result.out)
    assert result.status == 0, result.err
    assert report["title"] == "Machine Learning Homework 1"
    assert [(s["id"], s["correct"], s["questions"], s["score"]) for s in report["students"]] == [
        ("s1", 37, 37, 1.0), ("s2", 37, 37, 1.0)]
