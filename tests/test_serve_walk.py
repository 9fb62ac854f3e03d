"""`handprop serve`'s step-through (issue 17, item 4): the walk the solve task answers with (serve/walk.py),
and Play / Next / Previous and the arrow keys on the page."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("flask")

from conftest import ARTIFACTS, served_page  # noqa: E402

from handprop.problem.files import example_path  # noqa: E402
from handprop.serve.app import create_app  # noqa: E402
from handprop.serve.tasks import load_text  # noqa: E402

HOMEWORK = example_path("homework").read_text(encoding="utf-8")
WALK_COLOUR = "rgb(15, 159, 143)"  # --walk: neither the path's #7c3aed nor the legend's #2166ac, #c2410c


def _solved(name: str) -> tuple[dict, object]:
    path = example_path(name)
    text = path.read_text(encoding="utf-8")
    client = create_app(text, label=path.name, time_limit=None).test_client()
    answer = client.post("/api/solve", json={"text": text, "label": path.name}).get_json()
    assert answer["ok"], answer
    return answer, load_text(text, label=path.name).program


def _ids(answer: dict) -> tuple[set, set, set]:
    anchors = set(re.findall(r'\bid="([^"]+)"', answer["html"]))
    nodes = set(re.findall(r'data-node="([^"]+)"', answer["diagram"]))
    edges = set(re.findall(r'data-edge="([^"]+)"', answer["diagram"]))
    return anchors, nodes, edges


@pytest.mark.parametrize("name", ["homework", "homework_equations", "cnn_homework"])
def test_the_walk_is_every_equation_forward_then_every_node_backward(name):
    answer, program = _solved(name)
    walk = answer["walk"]
    forward = [s for s in walk if s["phase"] == "forward"]
    backward = [s for s in walk if s["phase"] == "backward"]
    assert walk == forward + backward
    assert [s["node"] for s in forward] == [", ".join(eq.targets) for eq in program.equations]
    computed = [t for eq in program.equations for t in eq.targets]
    assert sorted(s["node"] for s in backward) == sorted(computed) and len(backward) == len(computed)
    assert backward[0]["node"] == program.loss
    anchors, nodes, edges = _ids(answer)
    for step in walk:
        assert step["anchor"] in anchors, step
        assert step["shapes"] and set(step["shapes"]) <= nodes, step
        assert set(step["edges"]) <= edges, step
        assert step["text"]
    # The backward steps follow the worked solution: their anchors in the order the document has them.
    order = re.findall(r'\bid="([^"]+)"', answer["html"])
    positions = [order.index(s["anchor"]) for s in backward]
    assert positions == sorted(positions)


def test_the_homework_walk_names_each_equation_and_its_edges():
    answer, _ = _solved("homework")
    walk = answer["walk"]
    assert len(walk) == 10 + 11
    third = walk[2]
    assert third["anchor"] == "node-h3" and third["shapes"] == ["node-a3"]
    assert third["edges"] == ["edge-w5", "edge-w6"]
    assert third["text"] == "h₃ = w₅·x₁ + w₆·x₂ + b₃ = 0.44"
    softmax = walk[8]
    assert softmax["node"] == "y1, y2" and softmax["shapes"] == ["node-y1", "node-y2"]
    assert [s["anchor"] for s in walk[10:14]] == ["grad-L", "backward-y1", "backward-y2", "backward-o1"]
    assert walk[13]["text"].startswith("∂L/∂o₁ = ")


def test_the_equations_form_and_the_layer_kinds_differ_in_their_anchors():
    equations, _ = _solved("homework_equations")
    assert equations["walk"][2]["shapes"] == ["node-h3"]
    assert set(equations["walk"][2]["edges"]) >= {"edge-w5-h3", "edge-x1-h3"}
    kinds, program = _solved("cnn_homework")
    relu = next(s for s in kinds["walk"] if s["node"].startswith("a1["))
    assert relu["anchor"] == "forward-layer-1" and relu["shapes"][0].startswith("cell-s1-")
    assert relu["edges"] and relu["edges"][0].startswith("arrow-conv2d")
    assert any(s["anchor"].startswith("backward-layer-") for s in kinds["walk"])


# -- in a real browser ---------------------------------------------------------------------------------------

@pytest.fixture
def page():
    for page in served_page(HOMEWORK, "homework", width=1280):
        page.set_viewport_size({"width": 1280, "height": 800})
        page.wait_for_function("window.handpropWalk && window.handpropWalk().length > 0")
        yield page


def _state(page) -> dict:
    return page.evaluate("window.handpropWalk()")


def test_next_previous_and_the_arrow_keys(page):
    assert page.is_disabled('[data-walk="previous"]')  # at the start: nothing before
    for _ in range(3):
        page.click('[data-walk="next"]')
    state = _state(page)
    assert state["at"] == 2 and state["step"]["node"] == "h3"
    marked = page.evaluate("[...document.querySelectorAll('#diagram g.walk')].map((g) => g.dataset.node || g.dataset.edge)")
    assert sorted(marked) == ["edge-w5", "edge-w6", "node-a3"]
    colours = page.evaluate("""() => [getComputedStyle(document.querySelector('#diagram g.walk line, #diagram g.walk polyline')).stroke,
                                      getComputedStyle(document.querySelector('#diagram g.walk circle')).stroke]""")
    assert colours == [WALK_COLOUR, WALK_COLOUR]
    assert page.inner_text("#walk .walk-caption") == "forward 3 of 10: h₃ = w₅·x₁ + w₆·x₂ + b₃ = 0.44"
    box = page.evaluate("""() => { const r = document.querySelector('#node-h3').getBoundingClientRect();
        return [r.top, r.bottom, document.querySelector('#figure').getBoundingClientRect().bottom, window.innerHeight]; }""")
    assert box[2] - 1 <= box[0] and box[1] <= box[3], box  # below the sticky diagram, in view
    assert page.evaluate("document.querySelector('#node-h3').classList.contains('walk')")
    page.screenshot(path=str(ARTIFACTS / "serve-17-walk-forward-3.png"))
    page.keyboard.press("ArrowRight")
    assert _state(page)["at"] == 3
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert _state(page)["at"] == 1
    # In a text field the arrow keys move the caret, not the walk.
    page.click('[data-field="parameter.w1"]')
    page.keyboard.press("ArrowRight")
    assert _state(page)["at"] == 1
    # An edit (a new solution) starts the walk again.
    page.fill('[data-field="parameter.w1"]', "0.2")
    page.wait_for_function("window.handpropWalk().at === -1")
    assert page.is_disabled('[data-walk="previous"]')


def test_play_reaches_the_end_and_stops(page):
    page.click('[data-walk="play"]')
    assert _state(page)["playing"]
    page.wait_for_timeout(2000)
    middle = _state(page)["at"]
    assert 1 <= middle < 10
    page.wait_for_function("!window.handpropWalk().playing", timeout=30_000)
    state = _state(page)
    assert state["at"] == state["length"] - 1 and state["step"]["phase"] == "backward"
    assert page.is_disabled('[data-walk="next"]')
    assert page.inner_text("#walk .walk-caption").startswith("backward 11 of 11: ∂L/∂h₃ = ")
    page.wait_for_timeout(1000)
    assert _state(page)["at"] == state["length"] - 1  # stopped
    page.screenshot(path=str(ARTIFACTS / "serve-17-walk-end.png"))
