"""`handprop site` in a real browser: the site built with a bundled Pyodide, served by `python -m http.server` on
127.0.0.1, driven in the system's Chromium. Needs the npm package pyodide of the pinned version, unpacked, named
by HANDPROP_PYODIDE (.ci/run fetches it with `npm pack`); without it these tests skip, saying so."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, run_process, write
from handprop.problem.files import example_path
from handprop.site import PYODIDE_VERSION

HOMEWORK = example_path("homework").read_text(encoding="utf-8")
TIME_LIMIT = 5  # seconds: the homework's first solve in the browser takes about 1
SLOW = HOMEWORK.replace("{ units = 3, activation = \"relu\" }",  # as test_serve.py's: many seconds of work
                        "{ units = 300, activation = \"relu\" }, { units = 300, activation = \"relu\" }").replace(
    "w = [0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]\nb = [0.3, 0.3, 0.3, 0.7, 0.7]",
    'init = "he_uniform"')
LOCAL = "http://127.0.0.1:"
READY = "document.getElementById('status').textContent === 'up to date'"


def pyodide_folder() -> Path:
    spec = os.environ.get("HANDPROP_PYODIDE")
    if not spec:
        pytest.skip(f"HANDPROP_PYODIDE is not set: an unpacked npm package pyodide@{PYODIDE_VERSION} "
                    f"(npm pack pyodide@{PYODIDE_VERSION}; .ci/run fetches it)")
    return Path(spec)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def needs() -> None:
    """Skip, saying why, without Playwright, tomlkit (the site carries it), Chromium or the Pyodide package."""
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("tomlkit")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    pyodide_folder()


def served(tmp_path_factory, *options):
    """A site built with these options, served by python -m http.server on 127.0.0.1: its URL (a generator)."""
    needs()
    folder = tmp_path_factory.mktemp("site") / "public"
    built = run_process(["site", "-o", str(folder), *options])
    assert built.status == 0, built.err
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                               "--directory", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"{LOCAL}{port}/"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site's URL: built with the bundled Pyodide and a short time limit."""
    yield from served(tmp_path_factory, "--pyodide", str(pyodide_folder()), "--time-limit", str(TIME_LIMIT))


@pytest.fixture(scope="module")
def browser():
    needs()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Any name but the local address resolves to nothing: a request that would leave fails, and is recorded.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        yield launched
        launched.close()


class Visit:
    """A page of the site in a fresh browser context, with every URL it (and its worker) asked for."""

    def __init__(self, browser, url: str, width: int = 1280, height: int = 800):
        self.context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        self.urls = []
        self.errors = []
        self.context.on("request", lambda request: self.urls.append(request.url))
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(url)

    def ready(self, timeout: float = 60_000):
        self.page.wait_for_function(READY, timeout=timeout)
        return self.page

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, site):
    opened = []

    def open_page(url: str = "", **size) -> Visit:
        opened.append(Visit(browser, site + url, **size))
        return opened[-1]

    yield open_page
    for each in opened:
        assert each.errors == []
        assert all(url.startswith(site) or url.startswith(("data:", "blob:")) for url in each.urls), \
            [url for url in each.urls if not url.startswith(site)]
        each.close()


def row(page, name: str) -> list[str]:
    return page.evaluate("""(name) => {
        const row = [...document.querySelectorAll('#table tbody tr')].find(r => r.cells[0].textContent === name);
        return row ? [...row.cells].slice(1).map(c => c.textContent) : null; }""", name)


def python_answered(page) -> None:
    """Until the browser's Python has answered an edit (the first answer is the one the site was built with)."""
    page.wait_for_function("window.handpropSiteState && window.handpropSiteState().answered > 0", timeout=60_000)


def test_the_homework_table_appears_and_edits_are_worked_out_in_the_browser(visit):
    ARTIFACTS.mkdir(exist_ok=True)
    shown = visit()
    page = shown.page
    page.wait_for_selector("#table table")
    assert row(page, "w1") == ["0.10", "0.01", "0.09"]
    # Editing w1: the browser's Python works it out (no server: http.server answers GET only).
    page.fill('[data-field="parameter.w1"]', "0.3")
    page.wait_for_function("(v) => document.querySelector('#table').textContent.includes(v)", arg="0.30", timeout=60_000)
    shown.ready()
    python_answered(page)
    assert row(page, "w1")[0] == "0.30" and "w = [0.3, 0.5" in page.input_value("#text")
    page.screenshot(path=str(ARTIFACTS / "site-homework.png"))

    # An edit that is not usable: the one-line message beside the field, the last good solution kept.
    page.fill('[data-field="parameter.w2"]', "abc")
    page.wait_for_selector(".field-error")
    assert page.text_content(".field-error") == "homework: w2: 'abc' is not a number (a number, such as 0.5)"
    assert row(page, "w1")[0] == "0.30" and page.evaluate("document.body.classList.contains('stale')")
    page.screenshot(path=str(ARTIFACTS / "site-field-error.png"))
    page.fill('[data-field="parameter.w2"]', "0.5")
    page.wait_for_selector(".field-error", state="detached")

    # The text, in its tab: its error as the command line says it.
    page.click("#tab-text")
    page.fill("#text", HOMEWORK.replace("lr = 0.5", "lr = oops"))
    page.wait_for_selector("#error:not([hidden])")
    assert page.text_content("#error").startswith("homework: line ") and "invalid TOML" in page.text_content("#error")
    assert row(page, "w1")[0] == "0.10" or row(page, "w1")[0] == "0.30"
    assert any(url.endswith("pyodide.asm.wasm") for url in shown.urls)  # the worker's requests are recorded too
    assert any("/wheels/handprop-" in url for url in shown.urls)
    assert not any("/wheels/pyyaml-" in url for url in shown.urls)  # fetched only when a YAML file is opened


def test_the_learning_modes_run_in_the_browser(visit):
    page = visit().ready()
    # One more step: the parameters after it, written into the text.
    page.click("#step")
    page.wait_for_function("document.getElementById('history').textContent.includes('after step 1')", timeout=60_000)
    page.wait_for_function(READY)
    assert "w = [0.0939" in page.input_value("#text") or "0.09" in row(page, "w1")[0]
    page.click("#undo")
    page.wait_for_function(READY)
    # Check my answers: an answer marked as `handprop grade` marks it.
    page.check("#check-answers")
    page.fill('#table input[data-answer="out1"]', "0.53")
    page.wait_for_selector('#table .mark.correct', timeout=60_000)
    page.uncheck("#check-answers")
    # The step-through.
    before = page.evaluate("window.handpropWalk().at")
    page.click("#walk button:has-text('Next')")
    assert page.evaluate("window.handpropWalk().at") == before + 1


def test_downloads_and_save_are_made_in_the_browser(visit):
    page = visit().ready()
    with page.expect_download() as saved:
        page.click("#save")
    assert saved.value.suggested_filename == "homework.toml"
    assert Path(saved.value.path()).read_text() == HOMEWORK
    with page.expect_download(timeout=60_000) as worked:
        page.click("#download-html")
    assert worked.value.suggested_filename == "homework.html"
    assert "<html" in Path(worked.value.path()).read_text()
    with page.expect_download(timeout=60_000) as drawn:
        page.click('button[data-download="diagram.svg"]')
    assert Path(drawn.value.path()).read_text().lstrip().startswith("<svg")


def test_a_share_link_round_trips_the_problem(visit):
    page = visit().ready()
    edited = HOMEWORK.replace("lr = 0.5", "lr = 0.25")
    page.click("#tab-text")
    page.fill("#text", edited)
    page.wait_for_function(READY)
    page.click("#share")
    page.wait_for_selector("#share-link:not([hidden])")
    link = page.input_value("#share-link")
    assert link.split("#")[1].startswith("handprop=1.") and page.url == link
    assert len(link) < 2000  # a link a mail or a chat carries whole
    other = visit(link.split("/", 3)[3]).ready()
    assert other.input_value("#text") == edited
    assert "lr 0.25" in other.text_content("#table")
    other.screenshot(path=str(ARTIFACTS / "site-shared.png"))


@pytest.mark.parametrize("fragment, said", [
    ("cut", "This link's problem cannot be read: the link is cut short or damaged. The default problem is shown."),
    ("#lesson=3&token=abc", "This link is not a handprop problem link. The default problem is shown."),
])
def test_a_link_cut_short_or_not_handprops_says_so_and_opens_the_default_problem(visit, fragment, said):
    if fragment == "cut":
        page = visit().ready()
        page.click("#share")
        page.wait_for_selector("#share-link:not([hidden])")
        link = page.input_value("#share-link")
        fragment = link[link.index("#"):len(link) - 40]
    page = visit(fragment).ready()
    assert page.text_content("#notice") == said
    assert page.input_value("#text") == HOMEWORK and row(page, "w1") == ["0.10", "0.01", "0.09"]


def test_a_runaway_problem_is_stopped_and_the_page_goes_on(visit):
    page = visit().ready()
    python_answered(page)
    page.click("#tab-text")
    started = time.perf_counter()
    page.fill("#text", SLOW)
    page.wait_for_function("document.getElementById('error').textContent.includes('was stopped')", timeout=60_000)
    assert TIME_LIMIT <= time.perf_counter() - started < TIME_LIMIT + 30
    assert page.text_content("#error") == (f"the computation took longer than {TIME_LIMIT} s and was stopped "
                                           "(a smaller problem or fewer steps; the command line has no limit)")
    page.screenshot(path=str(ARTIFACTS / "site-stopped.png"))
    page.fill("#text", HOMEWORK.replace("lr = 0.5", "lr = 0.1"))  # a new worker answers the next edit
    page.wait_for_function(READY, timeout=60_000)
    assert "lr 0.1" in page.text_content("#table") and page.is_hidden("#error")


def test_a_problem_file_opened_or_dropped_is_worked_out_and_a_bad_one_is_the_command_lines_line(visit, tmp_path):
    shown = visit()
    page = shown.ready()
    good = write(tmp_path, "mine.yaml", example_path("regression_batch").read_text())
    page.set_input_files("#open-file", good)
    page.wait_for_function("(text) => document.getElementById('text').value === text", arg=Path(good).read_text())
    page.wait_for_function("document.getElementById('title').textContent === 'Regression on a batch of three' && "
                           + READY, timeout=60_000)
    assert page.input_value("#text") == Path(good).read_text() and page.is_hidden("#error")
    # PyYAML, left out of the worker's start, was fetched for it, once.
    assert sum("/wheels/pyyaml-" in url for url in shown.urls) == 1

    bad = write(tmp_path, "bad.toml", HOMEWORK.replace("loss = ", "loss = 'mse2' #"))
    cli = run_process(["solve", "bad.toml"], cwd=tmp_path)
    assert cli.status == 2
    page.evaluate("""([name, text]) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([text], name));
        document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true }));
    }""", ["bad.toml", Path(bad).read_text()])
    page.wait_for_selector("#error:not([hidden])", timeout=60_000)
    assert "handprop: error: " + page.text_content("#error") == cli.err.strip()

    page.evaluate("""() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(['x'], 'notes.txt'));
        document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true }));
    }""")
    page.wait_for_function("document.getElementById('error').textContent.startsWith('notes.txt')")
    assert page.text_content("#error") == "notes.txt: unknown file type '.txt' (one of: .toml, .json, .yaml, .yml)"


def test_the_site_on_a_phone(visit):
    page = visit(width=390, height=844).ready()
    page.screenshot(path=str(ARTIFACTS / "site-phone.png"))
    page.screenshot(path=str(ARTIFACTS / "site-phone-full.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 400


def test_a_site_without_a_bundled_pyodide_loads_the_pinned_one_from_its_cdn(browser, tmp_path_factory):
    """The CDN is played by the test, from the local package: the page asks it for the pinned version's files,
    cross-origin, from its worker."""
    import mimetypes
    from contextlib import contextmanager

    from handprop.site import PYODIDE_CDN

    local = pyodide_folder()
    with contextmanager(served)(tmp_path_factory) as url:
        asked = []

        def cdn(route):
            name = route.request.url[len(PYODIDE_CDN):]
            asked.append(name)
            route.fulfill(status=200, body=(local / name).read_bytes(), headers={
                "Access-Control-Allow-Origin": "*",
                "Content-Type": "application/wasm" if name.endswith(".wasm") else
                (mimetypes.guess_type(name)[0] or "application/octet-stream")})

        context = browser.new_context()
        context.route(PYODIDE_CDN + "**", cdn)
        page = context.new_page()
        page.goto(url)
        page.fill('[data-field="parameter.w1"]', "0.3")
        page.wait_for_function("window.handpropSiteState().answered > 0 && " + READY, timeout=60_000)
        assert row(page, "w1")[0] == "0.30"
        assert {"pyodide.js", "pyodide.asm.wasm", "python_stdlib.zip"} <= set(asked)
        context.close()
