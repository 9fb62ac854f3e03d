"""`handprop serve` (issue 17, item 4): the fields in view at 1280x800, the path's own colour and the sticky
diagram, numbers written back at the decimals shown plus a few, undo/redo, and "One more step" carrying the
optimizer's state (two clicks with Adam are `steps = 2`)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("flask")

from conftest import ARTIFACTS, close_to, served_page  # noqa: E402

from handprop.problem.files import example_path  # noqa: E402
from handprop.serve.app import create_app  # noqa: E402
from handprop.serve.form import WRITTEN_EXTRA  # noqa: E402
from handprop.serve.tasks import load_text  # noqa: E402
from handprop.solver import solve  # noqa: E402

HOMEWORK = example_path("homework").read_text(encoding="utf-8")
ADAM = HOMEWORK.replace('name = "sgd"', 'name = "adam"').replace("lr = 0.5", "lr = 0.1")
SHOWN = load_text(HOMEWORK).decimals  # the homework shows 2 decimals


def _parameters_section(text: str) -> str:
    return text[text.index("[parameters]"):text.index("[data]")]


# -- the step task's state, through Flask's test client -----------------------------------------------------

@pytest.fixture
def client():
    made = create_app(ADAM, label="homework", time_limit=None)
    return made.test_client()


def _step(client, text, **fields):
    return client.post("/api/step", json={"text": text, "label": "homework", **fields}).get_json()


def test_two_steps_with_the_state_sent_back_are_steps_2(client):
    first = _step(client, ADAM)
    assert first["ok"] and first["state"]["optimizer"] == "adam" and first["state"]["t"] == 1
    assert set(first["state"]["parameters"]["w1"]["kept"]) == {"m", "v"}
    second = _step(client, first["text"], state=first["state"])
    reference = solve(load_text(ADAM), steps=2).parameters
    assert second["state"]["t"] == 2
    for name, record in reference.items():
        assert close_to(second["state"]["parameters"][name]["value"], record.updated)
    # Without the state, the second step restarts Adam (and starts from the rounded text): not steps = 2.
    fresh = _step(client, first["text"])
    assert fresh["state"]["t"] == 1
    assert not close_to(fresh["state"]["parameters"]["w1"]["value"], reference["w1"].updated, 1e-6)


def test_an_edited_parameter_starts_from_the_text_and_another_optimizer_starts_afresh(client):
    first = _step(client, ADAM)
    edited = first["text"].replace("w = [", "w = [0.25, ", 1)
    edited = re.sub(r"w = \[0\.25, [^,]+,", "w = [0.25,", edited, count=1)
    assert load_text(edited).parameters["w1"] == 0.25
    after = _step(client, edited, state=first["state"])
    assert after["ok"] and after["state"]["t"] == 2
    sgd = _step(client, first["text"].replace('name = "adam"', 'name = "sgd"'), state=first["state"])
    assert sgd["ok"] and sgd["state"]["optimizer"] == "sgd" and sgd["state"]["t"] == 1


@pytest.mark.parametrize("state", [
    "nonsense", 7, [], {"optimizer": "adam"}, {"optimizer": "adam", "t": "x", "parameters": {}},
    {"optimizer": "adam", "t": 0, "parameters": {}}, {"optimizer": "adam", "t": True, "parameters": {}},
    {"optimizer": 5, "t": 1, "parameters": {}}, {"optimizer": "adam", "t": 1, "parameters": []},
    "w1-not-a-dict", "w1-nan", "w1-unknown-kept", "w1-string",
])
def test_a_malformed_state_is_one_line(client, state):
    first = _step(client, ADAM)
    if isinstance(state, str) and state.startswith("w1-"):
        good = first["state"]
        entry = good["parameters"]["w1"]
        good["parameters"]["w1"] = {"w1-not-a-dict": [1, 2], "w1-nan": {**entry, "value": float("nan")},
                                    "w1-unknown-kept": {**entry, "kept": {"m": 0.1, "z": 1.0}},
                                    "w1-string": {**entry, "written": "0.1"}}[state]
        state = good
    body = client.post("/api/step", data=_json({"text": first["text"], "label": "homework", "state": state}),
                       content_type="application/json")
    answer = body.get_json()
    assert body.status_code == 200 and answer["ok"] is False
    assert answer["error"].startswith("step state: ") and "\n" not in answer["error"]


def _json(value) -> str:
    import json

    return json.dumps(value)  # NaN as the bare word: what a page's JSON.stringify would not send, refused


def test_the_text_holds_at_most_the_decimals_shown_plus_a_few(client):
    for decimals, shown in (("", SHOWN), ("3", 3), ("8", 8)):
        answer = _step(client, ADAM, decimals=decimals)
        numbers = re.findall(r"-?\d+\.(\d+)", _parameters_section(answer["text"]))
        assert numbers and max(len(d) for d in numbers) <= shown + WRITTEN_EXTRA


# -- in a real browser ---------------------------------------------------------------------------------------

@pytest.fixture
def page():
    for page in served_page(ADAM, "homework", width=1280):
        page.set_viewport_size({"width": 1280, "height": 800})
        page.wait_for_function("document.querySelector('#table table') !== null")
        yield page


def _text(page) -> str:
    return page.evaluate("document.querySelector('#text').value")


def test_every_field_is_in_view_at_1280x800_without_an_inner_scroller(page):
    page.wait_for_selector('[data-field="parameter.b5"]')
    page.screenshot(path=str(ARTIFACTS / "serve-17-fields-1280x800.png"))
    scrollers = page.evaluate("""() => [...document.querySelectorAll('#editor, #editor *')].filter((e) => {
        const style = getComputedStyle(e);
        return e.offsetParent !== null && /(auto|scroll)/.test(style.overflowY + style.overflowX)
               && (e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1); }).map((e) => e.id || e.tagName)""")
    assert scrollers == []
    ids = page.evaluate("[...document.querySelectorAll('#fields [data-field]')].map((e) => e.dataset.field)")
    assert "parameter.w12" in ids and "parameter.b5" in ids
    for field in ids:
        box = page.evaluate("""(id) => { const e = document.querySelector(`[data-field="${CSS.escape(id)}"]`);
            e.scrollIntoView({ block: "nearest", inline: "nearest" }); const r = e.getBoundingClientRect();
            return [r.left, r.top, r.right, r.bottom, window.innerWidth, window.innerHeight,
                    document.querySelector('#editor').getBoundingClientRect().right]; }""", field)
        left, top, right, bottom, width, height, column = box
        assert -1 <= left and right <= min(width, column) + 1 and -1 <= top and bottom <= height + 1, (field, box)
    # a long error wraps in full inside the column
    page.fill('[data-field="parameter.w12"]', "abc " * 40)
    page.wait_for_selector(".field-error")
    error = page.evaluate("""() => { const e = document.querySelector('.field-error'); const r = e.getBoundingClientRect();
        return [e.scrollWidth <= e.clientWidth + 1, r.right <= document.querySelector('#editor').getBoundingClientRect().right]; }""")
    assert error == [True, True]
    page.screenshot(path=str(ARTIFACTS / "serve-17-error-1280x800.png"))


def test_the_path_has_its_own_colour_and_the_diagram_stays_in_view(page):
    page.wait_for_function("document.querySelector('#diagram svg') !== null")
    page.click('#diagram g[data-label="edge-w1"]')
    page.wait_for_selector("#diagram g.path")
    colours = page.evaluate("""() => {
        const line = document.querySelector('#diagram g.path line, #diagram g.path polyline');
        const legend = getComputedStyle(document.querySelector('#path-legend'), '::before').backgroundColor;
        return [getComputedStyle(line).stroke, legend]; }""")
    assert colours[0] == colours[1] == "rgb(124, 58, 237)"
    svg = page.inner_html("#diagram")
    negative = re.search(r'stroke="(#[0-9a-f]{6})"[^>]*/>\s*$', svg.split("negative weight")[0], re.M)
    assert "#c2410c" in svg and colours[0] != "rgb(194, 65, 12)"  # the legend's negative weight
    assert negative is None or negative.group(1) != "#7c3aed"
    for fraction in (0.3, 0.6, 0.95):  # the worked solution scrolled: the diagram still in view
        page.evaluate("(f) => window.scrollTo(0, f * document.documentElement.scrollHeight)", fraction)
        box = page.evaluate("""() => { const r = document.querySelector('#diagram svg').getBoundingClientRect();
            return [r.top, r.bottom, window.innerHeight, window.scrollY]; }""")
        assert box[3] > 0 and 0 <= box[0] and box[1] <= box[2], box
    page.screenshot(path=str(ARTIFACTS / "serve-17-sticky-diagram.png"))
    # the marked derivation is scrolled to just below the sticky diagram, not under it
    page.click('#diagram g[data-label="edge-w7"]')
    page.wait_for_timeout(200)
    under = page.evaluate("""() => document.querySelector('#param-w7').getBoundingClientRect().top
                                    >= document.querySelector('#figure').getBoundingClientRect().bottom - 1""")
    assert under


def test_two_steps_with_adam_are_steps_2_and_undo_redo(page):
    assert page.is_disabled("#undo") and page.is_disabled("#redo")  # undo past the first state: disabled
    page.keyboard.press("Control+z")
    assert _text(page) == ADAM
    page.click("#step")
    page.wait_for_function("(t) => document.querySelector('#text').value !== t", arg=ADAM)
    once = _text(page)
    page.wait_for_function("window.handpropHistory().states.length === 2")
    page.click("#step")
    page.wait_for_function("(t) => document.querySelector('#text').value !== t", arg=once)
    twice = _text(page)
    page.wait_for_function("!document.body.classList.contains('stale') && "
                           "document.querySelector('#status').textContent === 'up to date'")
    page.screenshot(path=str(ARTIFACTS / "serve-17-two-steps.png"))
    history = page.evaluate("window.handpropHistory()")
    state = history["states"][-1]["step"]
    reference = solve(load_text(ADAM), steps=2).parameters
    assert state["t"] == 2 and history["at"] == 2
    for name, record in reference.items():
        assert close_to(state["parameters"][name]["value"], record.updated)  # steps = 2, to 1e-12
        assert abs(load_text(twice).parameters[name] - record.updated) <= 0.5 * 10 ** -(SHOWN + WRITTEN_EXTRA)
    numbers = re.findall(r"-?\d+\.(\d+)", _parameters_section(twice))
    assert numbers and max(len(d) for d in numbers) <= SHOWN + WRITTEN_EXTRA
    page.click("#undo")
    page.wait_for_function("(t) => document.querySelector('#text').value === t", arg=once)
    assert not page.is_disabled("#redo")
    page.keyboard.press("Control+Shift+z")
    page.wait_for_function("(t) => document.querySelector('#text').value === t", arg=twice)
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    page.wait_for_function("(t) => document.querySelector('#text').value === t", arg=ADAM)
    assert page.is_disabled("#undo")
    page.wait_for_function("document.querySelector('#status').textContent === 'up to date'")
    # a field edit is a state too: undone, the field holds its old value again
    page.fill('[data-field="parameter.w1"]', "0.3")
    page.wait_for_function("document.querySelector('#text').value.includes('0.3,') && "
                           "window.handpropHistory().at === 1")
    page.click("#undo")
    page.wait_for_function("(t) => document.querySelector('#text').value === t", arg=ADAM)
    page.wait_for_function("document.querySelector('[data-field=\"parameter.w1\"]').value === '0.1'")
