"""`handprop serve`: the app's API through Flask's test client, and the page in a real browser."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("flask")

from conftest import ARTIFACTS, served_page  # noqa: E402
from handprop.core.errors import HandpropError  # noqa: E402
from handprop.problem.files import example_path  # noqa: E402
from handprop.render.numbers import fixed  # noqa: E402
from handprop.serve.app import create_app  # noqa: E402
from handprop.serve.form import written  # noqa: E402
from handprop.serve.tasks import load_text  # noqa: E402
from handprop.solver import solve  # noqa: E402

HOMEWORK = example_path("homework").read_text(encoding="utf-8")
# A 2-300-300-2 network: its worked page takes over a minute, and memory grows by tens of MB a second.
SLOW = HOMEWORK.replace("{ units = 3, activation = \"relu\" }",
                        "{ units = 300, activation = \"relu\" }, { units = 300, activation = \"relu\" }").replace(
    "w = [0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]\nb = [0.3, 0.3, 0.3, 0.7, 0.7]",
    'init = "he_uniform"')


@pytest.fixture(scope="module")
def app():
    """One app for the module's tests, with its worker process (and so the time limit) as `serve` runs it."""
    made = create_app(HOMEWORK, label="homework")
    yield made
    made.extensions["handprop.worker"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def post(client, url, text, **fields):
    return client.post(url, json={"text": text, "label": "homework", **fields})


def test_page_is_served_with_its_assets(client):
    page = client.get("/")
    assert page.status_code == 200 and b"<textarea" in page.data and b"Machine Learning Homework 1" in page.data
    assert b"http" not in page.data.replace(b"http-equiv", b"")  # no CDN: every asset from the app
    for name in ("app.js", "fields.js", "style.css", "math-font.woff2"):
        assert client.get(f"/assets/{name}").status_code == 200
    assert client.get("/assets/../serve.py").status_code == 404


def test_solve_answers_the_table_diagram_and_worked_solution(client):
    answer = post(client, "/api/solve", HOMEWORK).get_json()
    assert answer["ok"] and "0.53" in answer["table"]
    assert answer["diagram"].startswith("<svg") and "<math" in answer["html"] and answer["lr"] == 0.5
    four = post(client, "/api/solve", HOMEWORK, decimals="4", lr="0.1").get_json()
    updated = solve(load_text(HOMEWORK, lr=0.1)).parameters["w7"].updated
    assert fixed(updated, 4) in four["table"]


def test_broken_text_gives_the_one_line_error(client):
    broken = HOMEWORK.replace("lr = 0.5", "lr = -1")
    answer = post(client, "/api/solve", broken).get_json()
    with pytest.raises(HandpropError) as raised:
        load_text(broken, label="homework")
    assert answer == {"ok": False, "error": raised.value.line(), "field": None, "text": broken}
    assert "\n" not in answer["error"]
    assert "optimizer.lr" in answer["error"]
    assert post(client, "/api/solve", HOMEWORK, lr="fast").get_json()["error"].startswith("learning rate:")
    assert not post(client, "/api/solve", HOMEWORK, decimals="99").get_json()["ok"]


def test_data_files_and_long_runs_are_refused(client):
    moons = example_path("moons").read_text(encoding="utf-8")
    assert "reads no data files" in post(client, "/api/solve", moons).get_json()["error"]
    many = HOMEWORK.replace("steps = 1", "steps = 5000")
    assert "at most 1000" in post(client, "/api/solve", many).get_json()["error"]


def test_oversized_and_malformed_bodies(client):
    big = client.post("/api/solve", data=b"{" + b" " * 1_100_000 + b"}", content_type="application/json")
    assert big.status_code == 413 and big.get_json()["ok"] is False
    bad = client.post("/api/solve", data=b'{"text": ', content_type="application/json")
    assert bad.status_code == 400 and bad.get_json()["error"]
    assert client.post("/api/solve", data=b'["text"]', content_type="application/json").status_code == 400


def test_internal_error_is_caught_and_the_server_keeps_going(monkeypatch):
    import handprop.serve.tasks as serve

    def broken(*args, **options):
        raise RuntimeError("boom")

    client = create_app(HOMEWORK, label="homework", time_limit=None).test_client()  # works in this process
    monkeypatch.setattr(serve, "solution_parts", broken)
    answer = post(client, "/api/solve", HOMEWORK)
    assert answer.status_code == 500 and answer.get_json() == {"ok": False, "error": "internal error"}
    monkeypatch.undo()
    assert post(client, "/api/solve", HOMEWORK).get_json()["ok"]


def test_other_host_names_are_refused(client):
    assert client.get("/", headers={"Host": "attacker.example"}).status_code == 403


@pytest.mark.parametrize("name", ["homework", "homework_equations", "shared_weight"])
def test_step_rewrites_the_parameters_to_their_values_after_one_step(client, name):
    text = example_path(name).read_text(encoding="utf-8")
    answer = post(client, "/api/step", text).get_json()
    assert answer["ok"]
    problem = load_text(text)
    expected = {n: r.updated for n, r in solve(problem, steps=1).parameters.items()}
    # the text holds them at the decimals shown plus WRITTEN_EXTRA; the state, exactly
    assert load_text(answer["text"]).parameters == {n: written(v, problem.decimals) for n, v in expected.items()}
    assert {n: e["value"] for n, e in answer["state"]["parameters"].items()} == expected
    assert answer["text"].count("[parameters]") == 1 and "[optimizer]" in answer["text"]


@pytest.mark.parametrize("name, kind", [("logistic_bce", "json"), ("regression_batch", "yaml")])
def test_step_on_json_and_yaml(client, name, kind):
    text = example_path(name).read_text(encoding="utf-8")
    answer = client.post("/api/step", json={"text": text, "kind": kind, "label": name}).get_json()
    problem = load_text(text, kind=kind)
    expected = {n: written(r.updated, problem.decimals) for n, r in solve(problem, steps=1).parameters.items()}
    assert answer["ok"] and load_text(answer["text"], kind=kind).parameters == expected


def test_worker_errors_and_time_limit():
    from handprop.serve.worker import Worker

    worker = Worker(time_limit=60)
    try:
        with pytest.raises(RuntimeError, match="KeyError"):  # a failure inside the worker: "internal error"
            worker.call("no-such-task", {})
        with pytest.raises(HandpropError, match="invalid TOML"):  # bad input comes back as the same error
            worker.call("step", {"text": "[network"})
        assert "invalid TOML" in worker.call("solve", {"text": "[network"})["error"]
        assert worker.call("solve", {"text": HOMEWORK})["title"] == "Machine Learning Homework 1"
    finally:
        worker.close()


def test_a_computation_past_the_time_limit_is_stopped_and_the_server_goes_on():
    """A 2-300-300-2 network's worked page takes seconds; the limit here is 0.5 s."""
    limited = create_app(HOMEWORK, label="homework", time_limit=0.5)
    try:
        client = limited.test_client()
        answer = post(client, "/api/solve", SLOW).get_json()
        assert answer == {"ok": False, "error": "the computation took longer than 0.5 s and was stopped "
                                                "(a smaller problem or fewer steps; the command line has no limit)"}
        assert post(client, "/api/solve", HOMEWORK).get_json()["ok"]  # a new worker answers the next one
    finally:
        limited.extensions["handprop.worker"].close()


def test_solve_with_field_edits(client):
    answer = post(client, "/api/solve", HOMEWORK, edits=[{"field": "parameter.w1", "value": "0.2"},
                                                          {"field": "optimizer.lr", "value": "0.1"}]).get_json()
    problem = load_text(answer["text"], label="homework")
    assert answer["ok"] and problem.parameters["w1"] == 0.2 and problem.optimizer.lr == 0.1
    assert fixed(solve(problem).parameters["w1"].updated, 2) in answer["table"]
    cells = {c["id"]: c["value"] for g in answer["fields"] for t in g.get("tables", []) for r in t["rows"]
             for c in r["cells"] if c}
    assert cells["parameter.w1"] == "0.2"
    bad = post(client, "/api/solve", HOMEWORK, edits=[{"field": "parameter.w2", "value": "0.9"},
                                                       {"field": "parameter.w1", "value": "x"}]).get_json()
    assert bad == {"ok": False, "error": "homework: w1: 'x' is not a number (a number, such as 0.5)",
                   "field": "parameter.w1", "text": HOMEWORK.replace("0.1, 0.5, 0.2", "0.1, 0.9, 0.2")}
    invalid = post(client, "/api/solve", HOMEWORK, edits=[{"field": "optimizer.lr", "value": "-1"}]).get_json()
    assert invalid["field"] == "optimizer.lr" and "optimizer.lr: is -1.0 (a learning rate of 0 or more)" in invalid["error"]
    assert "lr = -1" in invalid["text"]  # the edit is kept in the text, for the next edit to mend
    assert post(client, "/api/solve", HOMEWORK, edits="w1").get_json()["error"] == \
        "homework: edits is not a list (a list of {field, value})"


def test_examples_and_their_texts(client):
    names = [e["name"] for e in client.get("/api/examples").get_json()["examples"]]
    assert "homework" in names and "moons" not in names  # moons reads a data file
    example = client.get("/api/examples/homework").get_json()
    assert example["text"] == HOMEWORK and example["kind"] == "toml"
    assert client.get("/api/examples/..%2Fcli").status_code == 404


def test_worked_solution_download(client):
    page = post(client, "/api/explain.html", HOMEWORK)
    assert page.status_code == 200 and page.data.startswith(b"<!DOCTYPE html>")
    assert page.headers["Content-Disposition"] == 'attachment; filename="homework.html"'
    bad = post(client, "/api/explain.html", "[network")
    assert bad.status_code == 400 and bad.get_json()["ok"] is False and bad.get_json()["error"].startswith("homework")


def test_save_writes_only_the_file_it_started_with(tmp_path):
    target = tmp_path / "mine.toml"
    target.write_text(HOMEWORK)
    client = create_app(HOMEWORK, label=str(target), path=target, time_limit=None).test_client()
    assert client.post("/api/save", json={"text": HOMEWORK + "# edited\n"}).get_json()["ok"]
    assert target.read_text().endswith("# edited\n") and sorted(tmp_path.iterdir()) == [target]
    assert not create_app(HOMEWORK, time_limit=None).test_client().post("/api/save", json={"text": "x"}).get_json()["ok"]


@pytest.mark.parametrize("missing", ["flask", "tomlkit"])
def test_serve_without_flask_or_tomlkit_is_a_one_line_error(cli, monkeypatch, missing):
    import sys

    monkeypatch.setitem(sys.modules, missing, None)
    result = cli(["serve", "homework", "--port", "0"])
    assert result.status == 2 and result.err == ("handprop: error: handprop serve needs Flask and tomlkit "
                                                 "(pip install 'handprop[serve]')\n")


def test_serve_refuses_a_problem_with_a_data_file_at_once(cli):
    result = cli(["serve", "moons", "--port", "0"])
    assert result.status == 2 and result.err == ("handprop: error: moons: data.file: handprop serve reads no "
                                                 "data files (a problem with its data inline: x and t; "
                                                 "`handprop train` reads data files)\n")


@pytest.mark.parametrize("limit", ["0", "-1", "nan", "inf", "3601"])
def test_serve_time_limit_out_of_range(cli, limit):
    result = cli(["serve", "homework", "--port", "0", "--time-limit", limit])
    assert result.status == 2 and "--time-limit" in result.err and "\n" not in result.err.rstrip("\n")


def test_serve_time_limit_not_a_number(cli):
    result = cli(["serve", "homework", "--time-limit", "soon"])
    assert result.status == 2 and "--time-limit" in result.err and result.err.count("\n") == 1


# -- only the page itself, on the names the server is reached by ------------------------------------

COMPUTING = ["/api/solve", "/api/step", "/api/save", "/api/explain.html", "/api/explain.md", "/api/explain.tex",
             "/api/diagram.svg"]


@pytest.mark.parametrize("url", COMPUTING)
def test_a_form_or_a_get_from_another_site_computes_nothing(client, url):
    """A form on any site can post urlencoded, multipart or text/plain, and an <img> can GET: all refused."""
    fields = {"text": HOMEWORK, "label": "homework"}
    for refused in (client.post(url, data=fields), client.post(url, data=fields, content_type="multipart/form-data"),
                    client.post(url, data='{"text": "x"}', content_type="text/plain"),
                    client.post(url, data=fields, headers={"Origin": "http://localhost"})):
        assert refused.status_code == 403 and refused.get_json()["ok"] is False
        assert "\n" not in refused.get_json()["error"]
    assert client.get(url, query_string=fields).status_code in (403, 405)


@pytest.mark.parametrize("url", COMPUTING)
@pytest.mark.parametrize("header", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                    {"Origin": "http://localhost:9999"}, {"Origin": "https://localhost.evil.example"},
                                    {"Referer": "http://evil.example/page.html"}])
def test_json_from_another_origin_is_refused(client, url, header):
    refused = client.post(url, json={"text": HOMEWORK, "label": "homework"}, headers=header)
    assert refused.status_code == 403 and refused.get_json() == {"ok": False,
                                                                 "error": "this request comes from another site's page"}


def test_json_from_the_page_itself_is_answered(client):
    for header in ({"Origin": "http://localhost"}, {"Referer": "http://localhost/"}, {}):
        answer = client.post("/api/solve", json={"text": HOMEWORK}, headers=header)
        assert answer.status_code == 200 and answer.get_json()["ok"]
    # At the server's port, by any name it is reached by, or through a forwarded port (that of Host).
    at_8765 = {"base_url": "http://127.0.0.1:8765"}
    for origin in ("http://localhost:8765", "http://[::1]:8765", "http://127.0.0.1:8765"):
        answer = client.post("/api/step", json={"text": HOMEWORK}, headers={"Origin": origin}, **at_8765)
        assert answer.status_code == 200
    forwarded = client.post("/api/step", json={"text": HOMEWORK}, headers={"Origin": "http://localhost:9000",
                                                                           "Host": "localhost:9000"}, **at_8765)
    assert forwarded.status_code == 200
    assert client.post("/api/step", json={"text": HOMEWORK}, headers={"Origin": "http://localhost:9000"},
                       **at_8765).status_code == 403


def test_a_save_from_another_site_writes_nothing(tmp_path):
    target = tmp_path / "mine.toml"
    target.write_text(HOMEWORK)
    client = create_app(HOMEWORK, label=str(target), path=target, time_limit=None).test_client()
    assert client.post("/api/save", data={"text": "x"}).status_code == 403
    assert client.post("/api/save", json={"text": "x"}, headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post("/api/save", json={"text": "x"}, headers={"Host": "evil.example"}).status_code == 403
    assert target.read_text() == HOMEWORK


@pytest.mark.parametrize("host", ["[::1]", "[::1]:8765", "localhost:8765", "127.0.0.1", "LOCALHOST"])
def test_loopback_names_with_or_without_a_port_are_answered(client, host):
    assert client.get("/", headers={"Host": host}).status_code == 200
    answer = client.post("/api/solve", json={"text": HOMEWORK}, headers={"Host": host})
    assert answer.status_code == 200 and answer.get_json()["ok"]


@pytest.mark.parametrize("host", ["[::1", "[::1]x", "::1", "localhost:http", "localhost.evil.example", "[::2]"])
def test_malformed_or_other_hosts_are_refused(client, host):
    assert client.get("/", headers={"Host": host}).status_code == 403


@pytest.fixture
def served(cli, monkeypatch):
    """The app `handprop serve ARGS` makes, and what it printed, without listening on any port."""
    import werkzeug.serving

    made = []

    class Server:
        port = 8765

        def serve_forever(self):
            raise KeyboardInterrupt

        def server_close(self):
            pass

    def make_server(host, port, app, threaded):
        made.append(app)
        return Server()

    monkeypatch.setattr(werkzeug.serving, "make_server", make_server)
    yield lambda *args: (cli(["serve", *args]), made[-1])
    for app in made:
        app.extensions["handprop.worker"].close()


def test_the_host_check_stays_on_for_every_address(served, tmp_path):
    import socket

    target = tmp_path / "mine.toml"
    target.write_text(HOMEWORK)
    result, app = served(str(target), "--host", "0.0.0.0", "--allow-host", "pc.example.org")
    assert result.status == 0 and "localhost" in result.out.splitlines()[1]
    client = app.test_client()
    evil = client.post("/api/save", json={"text": "# overwritten\n"}, headers={"Host": "evil.example"})
    assert evil.status_code == 403 and target.read_text() == HOMEWORK
    for host in ("localhost:8765", "127.0.0.1", "[::1]:8765", socket.gethostname(), "pc.example.org:8765"):
        answer = client.post("/api/save", json={"text": HOMEWORK}, headers={"Host": host})
        assert answer.status_code == 200 and answer.get_json()["ok"], host
    _, app = served(str(target), "--host", "192.0.2.7")
    client = app.test_client()
    assert client.get("/", headers={"Host": "192.0.2.7:8765"}).status_code == 200
    assert client.get("/", headers={"Host": "evil.example:8765"}).status_code == 403


@pytest.mark.parametrize("name", ["pc:8765", "", "a b", "http://pc", "[::1]:80"])
def test_serve_allow_host_is_a_name_without_a_port(cli, name):
    result = cli(["serve", "homework", "--port", "0", "--allow-host", name])
    assert result.status == 2 and result.err.startswith(f"handprop: error: --allow-host: '{name}' is not a host name (")
    assert result.err.count("\n") == 1


@pytest.mark.parametrize("limit", ["0", "-1", "99", "2000000"])
def test_serve_memory_limit_out_of_range(cli, limit):
    result = cli(["serve", "homework", "--port", "0", "--memory-limit", limit])
    assert result.status == 2
    assert result.err == f"handprop: error: --memory-limit: {limit} MB (100 to 1048576 megabytes)\n"


def test_serve_memory_limit_not_a_number(cli):
    result = cli(["serve", "homework", "--memory-limit", "lots"])
    assert result.status == 2 and "argument --memory-limit: invalid int value: 'lots'" in result.err
    assert result.err.count("\n") == 1


def test_deeply_nested_json_is_bad_input(client):
    deep = b"[" * 499_999 + b"]" * 499_999  # just under the body's limit: 1 MB
    nested = b'{"text": "", "edits": ' + b"[" * 40 + b"]" * 40 + b"}"
    for url in ("/api/solve", "/api/explain.html"):
        for body in (deep, nested):
            answer = client.post(url, data=body, content_type="application/json")
            assert answer.status_code == 400 and answer.get_json()["ok"] is False
            assert "\n" not in answer.get_json()["error"]
    assert post(client, "/api/solve", HOMEWORK).get_json()["ok"]


# -- one computation at a time, bounded ---------------------------------------------------------------

def _until(condition, timeout: float = 60) -> None:
    """Wait for something another thread does (a functional timeout, not a measure of speed)."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_newer_edit_from_the_page_replaces_its_older_ones_still_waiting():
    """A slow solve runs; three more from the same page queue behind it, then a light one: the three are
    answered "superseded" as each newer one arrives, and the light one runs as soon as the slow one stops."""
    app = create_app(HOMEWORK, label="homework", time_limit=6)
    turns = app.extensions["handprop.turns"]
    answers, order, threads = {}, [], []

    def send(name: str, text: str, page: str = "page-1") -> None:
        def run():
            answers[name] = post(app.test_client(), "/api/solve", text, page=page).get_json()
            order.append(name)
        threads.append(threading.Thread(target=run))
        threads[-1].start()

    try:
        send("running", SLOW)
        _until(lambda: turns.running)
        send("other page", HOMEWORK, page="page-2")  # another page's edit keeps its turn
        _until(lambda: turns.waiting == 1)
        send("stale 1", SLOW)
        _until(lambda: turns.waiting == 2)
        send("stale 2", SLOW)
        _until(lambda: "stale 1" in order)
        send("stale 3", SLOW)
        _until(lambda: "stale 2" in order)
        send("newest", HOMEWORK)
        _until(lambda: "stale 3" in order)
        assert "running" not in order  # the stale ones were dropped while the slow one still ran
        for thread in threads:
            thread.join(timeout=120)
    finally:
        app.extensions["handprop.worker"].close()
    superseded = {"ok": False, "superseded": True, "error": "a newer edit from this page replaced this one"}
    assert [answers[name] for name in ("stale 1", "stale 2", "stale 3")] == [superseded] * 3
    assert order == ["stale 1", "stale 2", "stale 3", "running", "other page", "newest"]
    assert "took longer than 6 s" in answers["running"]["error"] and answers["newest"]["ok"]


def test_a_computation_past_the_memory_limit_is_stopped_and_the_server_goes_on():
    resource = pytest.importorskip("resource")
    if resource.getrlimit(resource.RLIMIT_AS)[1] != resource.RLIM_INFINITY or sys.platform == "darwin":
        pytest.skip("no address-space limit to set here")
    limited = create_app(HOMEWORK, label="homework", time_limit=300, memory_limit=100)
    try:
        client = limited.test_client()
        assert post(client, "/api/solve", SLOW).get_json() == {
            "ok": False, "error": "the computation needed more than 100 MB and was stopped "
                                  "(a smaller problem or fewer steps; the command line has no limit)"}
        assert post(client, "/api/solve", HOMEWORK).get_json()["ok"]  # a new worker answers the next one
    finally:
        limited.extensions["handprop.worker"].close()


# -- in a real browser ---------------------------------------------------------------------------------

@pytest.fixture
def browser_page():
    yield from served_page(HOMEWORK, "homework")


def _row(page, name: str) -> list[str]:
    return page.evaluate("""(name) => {
        const row = [...document.querySelectorAll('#table tbody tr')].find(r => r.cells[0].textContent === name);
        return row ? [...row.cells].slice(1).map(c => c.textContent) : null; }""", name)


def _expected_row(text: str, name: str, places: int) -> list[str]:
    record = solve(load_text(text)).parameters[name]
    return [fixed(v, places).replace("-", "\u2212") for v in (record.initial, record.gradient, record.updated)]


def _table_has(page, value: str) -> None:
    page.wait_for_function("(e) => document.querySelector('#table').textContent.includes(e)", arg=value)


def test_the_page_recomputes_as_you_edit(browser_page):
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_function("document.querySelector('#table table') !== null")
    assert _row(page, "w1") == _expected_row(HOMEWORK, "w1", 2)
    page.select_option("#decimals", "4")
    _table_has(page, "0.1000")
    page.screenshot(path=str(ARTIFACTS / "serve-homework.png"))

    # w1 in its field: the table, the derivation and the text follow.
    page.fill('[data-field="parameter.w1"]', "0.2")
    edited = HOMEWORK.replace("w = [0.1, 0.5", "w = [0.2, 0.5")
    expected = _expected_row(edited, "w1", 4)
    _table_has(page, expected[2])
    assert _row(page, "w1") == expected and _row(page, "w2") == _expected_row(edited, "w2", 4)
    assert page.input_value("#text") == edited
    assert page.text_content("#param-w1").endswith(f"={expected[1]}\n")  # its gradient, worked out
    assert f"0.2000\u22120.5\u00b7{expected[1]}={expected[2]}" in page.text_content("#worked")  # its update

    # A value that is not a number: the message beside its field, the last good solution kept.
    page.fill('[data-field="parameter.w2"]', "abc")
    page.wait_for_selector(".field-error")
    assert page.text_content(".field-error") == "homework: w2: 'abc' is not a number (a number, such as 0.5)"
    assert page.evaluate("document.querySelector('.field-error').previousElementSibling.contains("
                         "document.querySelector('[data-field=\"parameter.w2\"]'))")
    assert _row(page, "w1") == expected and page.input_value("#text") == edited
    page.screenshot(path=str(ARTIFACTS / "serve-field-error.png"))
    page.fill('[data-field="parameter.w2"]', "0.5")
    page.wait_for_selector(".field-error", state="detached")

    # The text itself, in its tab: an error names the line.
    page.click("#tab-text")
    page.fill("#text", edited.replace("lr = 0.5", "lr = oops"))
    page.wait_for_selector("#error:not([hidden])")
    assert "line 21" in page.text_content("#error")
    assert _row(page, "w1") == expected  # the last good solution stays
    page.screenshot(path=str(ARTIFACTS / "serve-error.png"))
    page.fill("#text", edited)
    page.wait_for_selector("#error", state="hidden")

    page.click("#step")
    page.wait_for_function("(e) => document.querySelector('#text').value !== e", arg=edited)
    stepped = page.input_value("#text")
    after = _expected_row(stepped, "w1", 4)
    assert after[0] == expected[2]  # the new start is the old step's result
    _table_has(page, after[2])
    page.click("#tab-fields")
    page.wait_for_function("(e) => document.querySelector('[data-field=\"parameter.w1\"]').value === e",
                           arg=repr(load_text(stepped).parameters["w1"]))
    page.screenshot(path=str(ARTIFACTS / "serve-step.png"))

    page.click("#reset")
    page.wait_for_function("(e) => document.querySelector('#text').value === e", arg=HOMEWORK)
    _table_has(page, _expected_row(HOMEWORK, "w1", 4)[2])
    assert _row(page, "w1") == _expected_row(HOMEWORK, "w1", 4)
    assert page.locator("#example option").count() > 2


def test_the_shape_activations_loss_and_optimizer_in_their_fields(browser_page):
    page = browser_page
    page.wait_for_selector('[data-field="network.layers.add"]')
    page.click('[data-field="network.layers.add"]')
    page.wait_for_selector('[data-field="network.layers.1.remove"]')
    page.fill('[data-field="network.layers.1.units"]', "4")
    page.wait_for_selector('[data-field="parameter.w22"]')  # 2x3 + 3x4 + 4x2 = 26 weights
    page.select_option('[data-field="network.layers.1.activation"]', "tanh")
    page.select_option('[data-field="optimizer.name"]', "adam")
    page.wait_for_selector('[data-field="optimizer.betas.0"]')
    page.select_option('[data-field="network.loss"]', "mse")
    page.wait_for_function("document.querySelector('#text').value.includes('loss = \"mse\"') && "
                           "document.querySelector('#status').textContent === 'up to date'")
    assert "hidden layer 2: tanh" in page.text_content("#diagram")
    text = page.input_value("#text")
    problem = load_text(text, label="homework")
    assert problem.network.widths() == [2, 3, 4, 2] and problem.network.loss == "mse"
    assert problem.optimizer.name == "adam" and problem.network.layers[1].activation == "tanh"
    _table_has(page, fixed(solve(problem).parameters["w26"].updated, 2).replace("-", "\u2212"))
    assert _row(page, "w26") == _expected_row(text, "w26", 2)
    page.screenshot(path=str(ARTIFACTS / "serve-shape.png"))
    page.click('[data-field="network.layers.1.remove"]')
    page.wait_for_selector('[data-field="network.layers.1.remove"]', state="detached")
    assert load_text(page.input_value("#text")).network.widths() == [2, 3, 2]
    page.click('[data-field="samples.add"]')
    page.wait_for_selector('[data-field="samples.1.remove"]')
    page.fill('[data-field="data.x1.1"]', "0.9")
    page.wait_for_function("document.querySelector('#table').textContent.includes('out1 (sample 2)') && "
                           "document.querySelector('#text').value.includes('0.9')")
    assert load_text(page.input_value("#text")).data["x1"] == (0.26, 0.9)


def test_by_hand_rounds_every_intermediate_value(client):
    answer = post(client, "/api/solve", HOMEWORK, decimals="2", by_hand=True).get_json()
    by_hand = solve(load_text(HOMEWORK), round_intermediate=2)
    assert answer["ok"] and f">{fixed(by_hand.output_values[0][0], 2)}<" in answer["table"]  # 0.52, as by hand
    assert ">0.52<" in answer["table"] and ">0.53<" in post(client, "/api/solve", HOMEWORK, decimals="2").get_json()["table"]


def test_clicking_a_parameter_jumps_to_its_derivation_and_marks_its_path(browser_page):
    page = browser_page
    page.wait_for_function("document.querySelector('#diagram svg') !== null")
    page.click('#diagram g[data-label="edge-w1"]')
    marked = page.evaluate("[...document.querySelectorAll('#diagram g.path[data-edge]')].map(g => g.dataset.edge)")
    # w1 feeds a1; a1 feeds y1 and y2 (w7, w10); both outputs feed the loss.
    assert sorted(marked) == sorted(["edge-w1", "edge-w7", "edge-w10", "edge-y1-L", "edge-y2-L"])
    in_view = page.evaluate("""(() => { const r = document.getElementById('param-w1').getBoundingClientRect();
        return r.top >= -2 && r.top < window.innerHeight; })()""")
    assert in_view
    page.click("#table tbody tr:has(code:text-is('b5'))")
    marked = page.evaluate("[...document.querySelectorAll('#diagram g.path[data-edge]')].map(g => g.dataset.edge)")
    assert sorted(marked) == ["edge-y2-L"]  # b5 sits on y2: its own path is y2's edge to the loss
    page.screenshot(path=str(ARTIFACTS / "serve-path.png"))


@pytest.mark.parametrize("path, start", [("/api/explain.html", b"<!DOCTYPE html>"), ("/api/explain.md", b"# Machine"),
                                         ("/api/explain.tex", b"\\documentclass"), ("/api/diagram.svg", b"<svg")])
def test_downloads_in_every_format(client, path, start):
    response = post(client, path, HOMEWORK)
    assert response.status_code == 200 and response.data.startswith(start)
    assert "attachment" in response.headers["Content-Disposition"]
    assert post(client, "/api/explain.docx", HOMEWORK).status_code == 404


def test_the_download_buttons_save_files(browser_page, tmp_path):
    """The page fetches each file with a JSON request and saves it from a blob, under the name it always had."""
    page = browser_page
    page.wait_for_function("document.querySelector('#table table') !== null")
    for button, name, start in [("#download-html", "homework.html", "<!DOCTYPE html>"),
                                ("[data-download='explain.md']", "homework.md", "# Machine"),
                                ("[data-download='explain.tex']", "homework.tex", "\\documentclass"),
                                ("[data-download='diagram.svg']", "homework.svg", "<svg"),
                                ("#download", "homework.toml", HOMEWORK)]:
        with page.expect_download() as download:
            page.click(button)
        assert download.value.suggested_filename == name
        download.value.save_as(tmp_path / name)
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(start)


def test_a_download_of_a_broken_text_shows_its_error_on_the_page(browser_page):
    page = browser_page
    page.wait_for_function("document.querySelector('#table table') !== null")
    page.click("#tab-text")
    page.fill("#text", HOMEWORK.replace("lr = 0.5", "lr = oops"))
    page.wait_for_selector("#error:not([hidden])")
    page.evaluate("document.querySelector('#error').textContent = ''")
    page.click("[data-download='explain.tex']")
    page.wait_for_function("document.querySelector('#error').textContent.includes('line 21')")
    assert page.url.endswith("/")  # still the page: no navigation to a download

