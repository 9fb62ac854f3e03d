"""handprop exercise --roster: a variant per student, drawn from the seed and the id alone; --lms gradescope: an
autograder that grades a student's answers against their own variant, run here in a folder laid out as
Gradescope lays it out."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile

import pytest

ROSTER = "id,name\ns1,Ada Lovelace\ns2,Alan Turing\n"


def exercise(cli, folder, *args):
    result = cli(["exercise", *args, "-o", str(folder)])
    assert result.status == 0 and result.err == "", result.err
    return result


def roster(tmp_path, text: str, name: str = "roster-in.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def files(folder) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_roster_gives_a_variant_per_student_named_by_id(cli, tmp_path):
    out = tmp_path / "out"
    exercise(cli, out, "--roster", roster(tmp_path, ROSTER), "--seed", "5")
    names = set(files(out))
    for student in ("s1", "s2"):
        assert {f"{student}.toml", f"{student}-sheet.md", f"{student}-sheet.html", f"{student}-key.md",
                f"{student}-key.html"} <= names
        assert f"variant for {student}" in (out / f"{student}.toml").read_text()
    assert (out / "s1.toml").read_text() != (out / "s2.toml").read_text()
    rows = list(csv.reader(io.StringIO((out / "roster.csv").read_text())))
    assert rows == [["id", "name", "variant", "problem", "key"],
                    ["s1", "Ada Lovelace", "s1", "s1.toml", "s1-key.html"],
                    ["s2", "Alan Turing", "s2", "s2.toml", "s2-key.html"]]


def test_the_roster_is_deterministic_and_a_new_student_changes_nobody_else(cli, tmp_path):
    first, again, more, other = (tmp_path / n for n in ("first", "again", "more", "other"))
    exercise(cli, first, "--roster", roster(tmp_path, ROSTER), "--seed", "5", "--lms", "gradescope")
    exercise(cli, again, "--roster", roster(tmp_path, ROSTER), "--seed", "5", "--lms", "gradescope")
    assert files(first) == files(again)
    exercise(cli, more, "--roster", roster(tmp_path, "id,name\ns0,Grace Hopper\n" + ROSTER.split("\n", 1)[1]),
             "--seed", "5")
    kept = {name: data for name, data in files(more).items() if name.startswith(("s1", "s2"))}
    assert kept == {name: data for name, data in files(first).items() if name.startswith(("s1", "s2"))}
    assert "s0.toml" in files(more)
    exercise(cli, other, "--roster", roster(tmp_path, ROSTER), "--seed", "6")
    assert files(other)["s1.toml"] != files(first)["s1.toml"]


def test_a_roster_of_layer_kinds(cli, tmp_path):
    out = tmp_path / "out"
    exercise(cli, out, "--like", "conv1d_signal", "--roster", roster(tmp_path, "id\nab-1\n"))
    assert "variant for ab-1" in (out / "ab-1.toml").read_text()


@pytest.mark.parametrize("text, says", [
    ("name\nAda\n", "no `id` column"),
    ("id\ns1\ns1\n", "already on line 2"),
    ("id\nAb\nab\n", "already on line 2"),
    ("id,name\n,Ada\n", "an empty id"),
    ("id\n../x\n", "starts with a dot"),
    ("id\n.hidden\n", "starts with a dot"),
    ("id\na/b\n", "path separator"),
    ("id\n/\n", "path separator"),
    ("id\na\\b\n", "path separator"),
    ("id\n\"a\x01b\"\n", "control character"),
    ("", "the roster is empty"),
    ("id\n", "the roster is empty"),
    ("id,variant\ns1,x\n", "which roster.csv adds"),
])
def test_a_bad_roster_is_one_line_and_exit_2(cli, tmp_path, text, says):
    out = tmp_path / "out"
    result = cli(["exercise", "--roster", roster(tmp_path, text), "-o", str(out)])
    assert result.status == 2 and result.out == ""
    assert says in result.err and result.err.count("\n") == 1, result.err
    assert not out.exists()


def test_a_missing_roster_and_an_unknown_lms_are_one_line_and_exit_2(cli, tmp_path):
    result = cli(["exercise", "--roster", str(tmp_path / "none.csv"), "-o", str(tmp_path / "out")])
    assert result.status == 2 and "cannot read" in result.err and result.err.count("\n") == 1
    result = cli(["exercise", "--lms", "blackboard", "-o", str(tmp_path / "out")])
    assert result.status == 2 and "unknown learning-management system 'blackboard'" in result.err
    assert result.err.count("\n") == 1 and not (tmp_path / "out").exists()


def autograder(cli, tmp_path):
    """The roster's variants with --lms gradescope, the zip unpacked into a folder laid out as Gradescope's."""
    out = tmp_path / "out"
    exercise(cli, out, "--roster", roster(tmp_path, ROSTER), "--seed", "5", "--lms", "gradescope")
    root = tmp_path / "autograder"
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True)
    with zipfile.ZipFile(out / "gradescope-autograder.zip") as archive:
        assert {"setup.sh", "run_autograder", "variants/index.csv", "variants/s1.toml", "variants/s2.toml",
                "handprop-src/pyproject.toml", "handprop-src/src/handprop/__init__.py"} <= set(archive.namelist())
        archive.extractall(root / "source")
    return out, root


def right_answers(problem_file) -> dict:
    from handprop import load, solve
    from handprop.teach.lms import questions

    problem = load(str(problem_file))
    return {q.name: round(q.value, problem.decimals) for q in questions(solve(problem), problem.decimals)}


def run_autograder(root, answers: dict, *, sid: str | None, extra: str = "") -> dict:
    text = extra + "".join(f"{name},{value}\n" for name, value in answers.items())
    (root / "submission" / "answers.csv").write_text(text)
    users = [{"email": "student@example.com", "id": 1234, "name": "A Student", "sid": sid}] if sid else []
    (root / "submission_metadata.json").write_text(json.dumps({"id": 1, "users": users}))
    done = subprocess.run([sys.executable, str(root / "source" / "run_autograder")], capture_output=True, text=True,
                          env={**os.environ, "AUTOGRADER_ROOT": str(root)}, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_run_autograder_grades_a_correct_submission_against_the_students_variant(cli, tmp_path):
    out, root = autograder(cli, tmp_path)
    answers = right_answers(out / "s2.toml")
    results = run_autograder(root, answers, sid="s2")
    assert len(results["tests"]) == len(answers) and results["score"] == len(answers)
    assert [t["name"] for t in results["tests"]] == list(answers)
    assert all(t["score"] == t["max_score"] == 1 and t["status"] == "passed" for t in results["tests"])
    # The same answers are another student's wrong ones: graded against s1's variant, they fail.
    assert run_autograder(root, answers, sid="s1")["score"] < len(answers) / 2


def test_run_autograder_names_the_mistake_of_a_partly_wrong_submission(cli, tmp_path):
    out, root = autograder(cli, tmp_path)
    answers = right_answers(out / "s1.toml")
    flipped = next(name for name, value in answers.items() if name.startswith("dL/dw") and abs(value) >= 0.05)
    answers[flipped] = -answers[flipped]
    del answers["b5'"]
    results = run_autograder(root, answers, sid="s1")
    tests = {t["name"]: t for t in results["tests"]}
    assert tests[flipped]["score"] == 0 and tests[flipped]["status"] == "failed"
    assert "sign flipped" in tests[flipped]["output"]
    assert tests["b5'"]["score"] == 0 and tests["b5'"]["output"] == "not answered"
    assert results["score"] == sum(t["score"] for t in results["tests"]) <= len(tests) - 2


def test_run_autograder_finds_the_variant_named_in_the_file_or_says_it_cannot(cli, tmp_path):
    out, root = autograder(cli, tmp_path)
    answers = right_answers(out / "s1.toml")
    results = run_autograder(root, answers, sid=None, extra="variant,s1\n")
    assert results["score"] == len(answers)
    results = run_autograder(root, answers, sid="nobody")
    assert results["score"] == 0 and results["tests"] == [] and results["output"].startswith("not graded: ")
