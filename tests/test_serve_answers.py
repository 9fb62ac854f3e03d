"""`handprop serve`: checking typed answers as `handprop grade` does, and the decision boundary on the page."""

from __future__ import annotations

import csv

import pytest

pytest.importorskip("flask")

from conftest import ARTIFACTS, served_page
from handprop.boundary import decision_grid
from handprop.problem.files import example_path
from handprop.serve.app import create_app
from handprop.serve.tasks import BOUNDARY_CELLS, load_text
from handprop.solver import solve
from handprop.teach.grading import grade

HOMEWORK = example_path("homework").read_text(encoding="utf-8")


def _moons() -> str:
    """The moons example with its 200 points inline (the server reads no data file), 5 epochs."""
    with open(example_path("moons").with_name("moons.csv"), encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    x = [[float(r["x1"]), float(r["x2"])] for r in rows]
    t = [[1 - int(r["class"]), int(r["class"])] for r in rows]
    text = example_path("moons").read_text(encoding="utf-8")
    start, end = text.index('file = "moons.csv"'), text.index("batch_size")
    return text[:start] + f"x = {x}\nt = {t}\n" + text[end:].replace("epochs = 100", "epochs = 5")


MOONS = _moons()


@pytest.fixture(scope="module")
def client():
    app = create_app(HOMEWORK, label="homework", time_limit=None)
    return app.test_client()


def check(client, answers: dict, **fields):
    return client.post("/api/check", json={"text": HOMEWORK, "label": "homework", "answers": answers,
                                           **fields}).get_json()


def test_typed_answers_are_marked_as_grade_marks_them(client):
    answer = check(client, {"out1": "0.53", "dL/dw1": "-0.01", "w1'": "0.11", "loss": ""})
    assert answer["ok"]
    marks = answer["answers"]
    report = grade(load_text(HOMEWORK), "out1,0.53\ndL/dw1,-0.01\nw1',0.11\n")
    wrong = report.grades[1]
    assert marks["out1"] == {"status": "correct", "mistake": None, "follows_from": []}
    assert marks["dL/dw1"] == {"status": "wrong", "mistake": wrong.cause, "follows_from": []}
    assert wrong.mistake == "sign_flipped" and "sign" in marks["dL/dw1"]["mistake"]
    assert marks["w1'"] == {"status": "carried_forward", "mistake": None, "follows_from": ["dL/dw1"]}
    assert "loss" not in marks  # a blank cell is not marked
    assert all("expected" not in mark for mark in marks.values())  # hidden until asked


def test_the_answers_are_given_when_revealed(client):
    marks = check(client, {"out1": "0.1", "w1'": "0.1"}, reveal=True)["answers"]
    solution = solve(load_text(HOMEWORK))
    assert marks["out1"]["status"] == "wrong" and marks["out1"]["expected"] == solution.output_values[0][0]
    assert marks["w1'"]["expected"] == solution.parameters["w1"].updated


def test_text_that_is_not_a_number_is_marked_not_refused(client):
    answer = check(client, {"out1": "abc", "loss": "0.5.1", "dL/dw1": "0.01"})
    assert answer["ok"]
    assert answer["answers"]["out1"] == {"status": "not_a_number", "mistake": "not a number"}
    assert answer["answers"]["loss"]["status"] == "not_a_number"
    assert answer["answers"]["dL/dw1"]["status"] == "correct"


@pytest.mark.parametrize("answers", [["out1"], {"out1": 0.53}, None])
def test_a_malformed_check_is_one_line(client, answers):
    answer = check(client, answers)
    assert answer["ok"] is False and "\n" not in answer["error"] and "answers" in answer["error"]
    unknown = check(client, {"w99": "1"})
    assert unknown["ok"] is False and "unknown name 'w99'" in unknown["error"] and "\n" not in unknown["error"]
    broken = client.post("/api/check", json={"text": HOMEWORK.replace("lr = 0.5", "lr = -1"), "answers": {}})
    assert "optimizer.lr" in broken.get_json()["error"]


def test_the_solve_answer_has_the_boundary_for_2_input_classification(client):
    boundary = client.post("/api/solve", json={"text": MOONS, "label": "moons"}).get_json()["boundary"]
    assert boundary["inputs"] == ["x1", "x2"] and boundary["classes"] == ["t1", "t2"]
    assert len(boundary["predicted"]) == BOUNDARY_CELLS and len(boundary["predicted"][0]) == BOUNDARY_CELLS
    assert boundary["steps"] == solve(load_text(MOONS)).steps
    assert len(boundary["points"]) == 200 and sorted(set(boundary["labels"])) == [0, 1]
    assert {c for row in boundary["predicted"] for c in row} == {0, 1}
    # The engine's own prediction, at the parameters after the steps, at a few cells.
    problem = load_text(MOONS)
    final = {name: record.updated for name, record in solve(problem).parameters.items()}
    grid = decision_grid(problem, final, resolution=BOUNDARY_CELLS)
    for i, j in [(0, 0), (5, 30), (20, 20), (39, 12), (39, 39)]:
        assert boundary["predicted"][i][j] == grid.predicted[i, j]
    assert boundary["x"][0] == grid.x[0] and boundary["y"][-1] == grid.y[-1]


def test_no_boundary_for_other_problems(client):
    assert client.post("/api/solve", json={"text": HOMEWORK}).get_json()["boundary"] is None  # one sample
    regression = example_path("regression_batch").read_text(encoding="utf-8")
    answer = client.post("/api/solve", json={"text": regression, "kind": "yaml"}).get_json()
    assert answer["ok"] and answer["boundary"] is None


# -- in a real browser ---------------------------------------------------------------------------------

@pytest.fixture
def homework_page():
    yield from served_page(HOMEWORK, "homework")


@pytest.fixture
def moons_page():
    yield from served_page(MOONS, "moons")


def _mark(page, name: str) -> str:
    selector = f'#table input[data-answer="{name}"] + .mark'
    page.wait_for_function("(s) => document.querySelector(s) && document.querySelector(s).textContent !== ''",
                           arg=selector)
    return page.text_content(selector)


def test_checking_answers_in_the_table(homework_page):
    page = homework_page
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_function("document.querySelector('#table table') !== null")
    page.check("#check-answers")
    page.wait_for_selector('#table input[data-answer="out1"]')
    assert page.is_hidden("#worked") and page.is_hidden("#diagram") and page.is_visible("#reveal-answers")
    assert page.locator('#table input[data-answer="w1"]').count() == 0  # a given initial value stays
    assert "0.53" not in page.inner_text("#table")  # the answers are hidden
    page.fill('#table input[data-answer="out1"]', "0.53")
    page.fill('#table input[data-answer="dL/dw1"]', "-0.01")
    page.fill('#table input[data-answer="w1\'"]', "0.11")
    page.fill('#table input[data-answer="loss"]', "abc")
    assert _mark(page, "out1") == "\u2713"
    assert _mark(page, "dL/dw1").startswith("\u2717 the gradient's sign flipped")
    assert _mark(page, "w1'") == "\u21b3 carried forward from dL/dw1"
    assert _mark(page, "loss") == "\u2717 not a number"
    page.screenshot(path=str(ARTIFACTS / "serve-check.png"), full_page=True)

    page.click("#reveal-answers")
    page.wait_for_selector("#worked", state="visible")
    assert page.text_content('#table input[data-answer="out1"] ~ .expected') == "0.53"
    assert page.input_value('#table input[data-answer="out1"]') == "0.53"  # what was typed stays
    page.screenshot(path=str(ARTIFACTS / "serve-check-revealed.png"), full_page=True)

    # A new solution (an edit) keeps what was typed, and marks it again.
    page.fill('[data-field="parameter.w1"]', "0.2")
    page.wait_for_function("document.querySelector('#text').value.includes('w = [0.2')")
    page.wait_for_function("""document.querySelector('#table input[data-answer="dL/dw1"]') &&
        document.querySelector('#table input[data-answer="dL/dw1"]').value === '-0.01'""")
    page.wait_for_function("""document.querySelector('#table input[data-answer="out1"] + .mark')
        .textContent.startsWith('\u2717')""")  # out1 is now 0.52: the 0.53 typed is marked wrong
    page.uncheck("#check-answers")
    page.wait_for_selector("#table input.answer", state="detached")
    assert "0.52" in page.text_content("#table") and page.is_visible("#worked")


def test_the_moons_page_draws_the_decision_boundary(moons_page):
    page = moons_page
    page.wait_for_selector("#boundary svg circle")
    cells = page.evaluate("[...document.querySelectorAll('#boundary g[data-boundary=cells] rect')]"
                          ".map(r => r.getAttribute('fill'))")
    assert len(cells) == BOUNDARY_CELLS * BOUNDARY_CELLS and len(set(cells)) == 2
    assert page.locator("#boundary g[data-boundary=points] circle").count() == 200
    page.locator("#boundary").screenshot(path=str(ARTIFACTS / "serve-boundary.png"))
    page.screenshot(path=str(ARTIFACTS / "serve-moons.png"))


def test_no_boundary_on_the_homework_page(homework_page):
    page = homework_page
    page.wait_for_function("document.querySelector('#table table') !== null")
    assert page.is_hidden("#boundary") and page.locator("#boundary svg").count() == 0
