"""`handprop serve`'s app: the routes of a local page to edit a problem and see its solution change as you type.

The page (serve/assets/) posts the problem's text to /api/solve; the answer is the diagram, the Result
table and the worked solution as HTML, or the CLI's one-line message for bad input. Flask is imported
only here, and only when the app is made. The server reads the file it was started with (and the
packaged examples and assets), writes that file only on an explicit save, and reads no data files.
Only its own page may make it compute or write (hosts.py), and computations take turns (turns.py).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ..core.errors import HandpropError
from .hosts import LOOPBACK, from_page, normal, split_host
from .tasks import DOWNLOADS, TASKS
from .turns import Superseded, Turns
from .worker import DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT, Worker

MAX_BODY_BYTES = 1_000_000  # as files.MAX_FILE_BYTES: a problem is a few kB
MAX_BODY_NESTING = 10  # the page's bodies nest 3 deep ({edits: [{field, value}]}), a step's state 5
MAX_PAGE_ID = 100  # characters of the id a page names itself by
ASSETS = {"app.js": "text/javascript", "fields.js": "text/javascript", "answers.js": "text/javascript",
          "boundary.js": "text/javascript", "steps.js": "text/javascript", "style.css": "text/css"}
READING = ("GET", "HEAD", "OPTIONS")  # the methods that neither compute nor write
SUPERSEDED = {"ok": False, "superseded": True, "error": "a newer edit from this page replaced this one"}


def create_app(text: str, *, kind: str = "toml", label: str = "problem.toml", path: Path | None = None,
               hosts=LOOPBACK, time_limit: float | None = DEFAULT_TIME_LIMIT,
               memory_limit: int | None = DEFAULT_MEMORY_LIMIT):
    """The Flask app for one problem: `text` is shown first; `path`, when given, is where Save writes.

    `hosts` are the host names answered (hosts.served_names gives those of an address listened on):
    a request addressed to any other is refused, and one that computes or writes must also come from
    a page on one of them. Each computation runs in a worker process, stopped after `time_limit`
    seconds or when it needs more than `memory_limit` MB; a `time_limit` of None works in the app's own
    process, without either limit. The worker is `app.extensions["handprop.worker"]` (its `close()`
    stops it), the queue in front of it `app.extensions["handprop.turns"]`.
    """
    import flask

    app = flask.Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    start = {"text": text, "kind": kind, "label": label, "can_save": path is not None}
    names = frozenset(normal(name) for name in hosts)
    worker = Worker(time_limit=time_limit, memory_limit=memory_limit) if time_limit is not None else None
    turns = Turns()
    app.extensions["handprop.worker"] = worker
    app.extensions["handprop.turns"] = turns

    def compute(task: str, data: dict):
        page = data.get("page") if task == "solve" else None
        page = page if isinstance(page, str) and 0 < len(page) <= MAX_PAGE_ID else None
        data = {key: data.get(key) for key in ("text", "kind", "label", "lr", "decimals", "by_hand", "edits", "what",
                                                  "state", "answers", "reveal")}
        with turns.turn(page):
            return worker.call(task, data) if worker is not None else TASKS[task](data)

    def answer(payload: dict, status: int = 200):
        return flask.jsonify(payload), status

    def body() -> dict:
        try:
            data = json.loads(flask.request.get_data())
        except (ValueError, RecursionError):  # RecursionError: "[[[[...": not JSON a page sends
            flask.abort(400, "the body is not a JSON object with the problem's text")
        if _nested_deeper(data, MAX_BODY_NESTING):
            flask.abort(400, f"the body is nested more than {MAX_BODY_NESTING} levels deep "
                             "(a JSON object with the problem's text)")
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            flask.abort(400, "the body is not a JSON object with the problem's text")
        return data

    @app.before_request
    def check_request():
        request = flask.request
        addressed = split_host(request.host)
        if addressed is None or addressed[0] not in names:
            flask.abort(403, "this host name is not served (handprop serve --allow-host NAME adds one)")
        if request.method in READING:
            return
        port = request.environ.get("SERVER_PORT")
        if not from_page(request.headers.get("Origin"), request.headers.get("Referer"), request.host,
                         int(port) if str(port).isdecimal() else None, names):
            flask.abort(403, "this request comes from another site's page")
        # Another site's page can send a form (urlencoded, multipart, text/plain) without asking first,
        # but not JSON: the browser would ask first (a CORS preflight), and this server never agrees.
        if request.mimetype != "application/json":
            flask.abort(403, "the body is not JSON (Content-Type: application/json)")

    @app.errorhandler(HandpropError)
    def bad_input(error: HandpropError):
        return answer({"ok": False, "error": error.line()})

    @app.errorhandler(Exception)
    def failure(error: Exception):
        from werkzeug.exceptions import HTTPException

        if isinstance(error, HTTPException):
            return answer({"ok": False, "error": error.description or error.name}, error.code or 500)
        app.logger.exception("handprop serve: internal error")
        return answer({"ok": False, "error": "internal error"}, 500)

    @app.get("/")
    def page():
        template = (resources.files(__package__) / "assets" / "index.html").read_text(encoding="utf-8")
        initial = json.dumps(start).replace("<", "\\u003c")
        return flask.Response(template.replace("{{initial}}", initial), mimetype="text/html")

    @app.get("/assets/<name>")
    def asset(name: str):
        if name == "math-font.woff2":
            font = resources.files("handprop") / "render" / "assets" / name
            return flask.Response(font.read_bytes(), mimetype="font/woff2")
        if name not in ASSETS:
            flask.abort(404, "no such asset")
        asset_text = (resources.files(__package__) / "assets" / name).read_text(encoding="utf-8")
        return flask.Response(asset_text, mimetype=ASSETS[name])

    @app.get("/api/examples")
    def examples():
        return answer({"ok": True, "examples": _examples()})

    @app.get("/api/examples/<name>")
    def example(name: str):
        from ..problem.files import EXTENSIONS, example_path

        if name not in {entry["name"] for entry in _examples()}:
            flask.abort(404, "no such example")
        file = example_path(name)
        return answer({"ok": True, "text": file.read_text(encoding="utf-8"), "kind": EXTENSIONS[file.suffix],
                       "label": file.name})

    @app.post("/api/solve")
    def solve_text():
        try:
            return answer(compute("solve", body()))
        except Superseded:
            return answer(SUPERSEDED)

    @app.post("/api/check")
    def check():
        return answer(compute("check", body()))

    @app.post("/api/step")
    def step():
        return answer(compute("step", body()))

    @app.post("/api/<what>")
    def download(what: str):
        """The worked solution as HTML, Markdown or LaTeX, or the diagram as SVG, as a file to save."""
        if what not in DOWNLOADS:
            flask.abort(404, "no such download")
        try:
            result = compute("download", {**body(), "what": what})
        except HandpropError as error:
            return answer({"ok": False, "error": error.line()}, 400)
        return flask.Response(result["content"], mimetype=result["mimetype"],
                              headers={"Content-Disposition": f'attachment; filename="{result["filename"]}"'})

    @app.post("/api/save")
    def save():
        from ..problem.files import write_file

        data = body()
        if path is None:
            raise HandpropError(None, None, "nothing to save to", "start handprop serve with a problem file")
        write_file(str(path), data["text"])
        return answer({"ok": True, "saved": str(path)})

    if worker is not None:
        import threading

        threading.Thread(target=worker.start, name="handprop-serve-start", daemon=True).start()
    return app


def _nested_deeper(value, limit: int) -> bool:
    """Whether a JSON value holds lists or objects more than `limit` deep (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((inner, depth + 1) for inner in (item.values() if isinstance(item, dict) else item))
    return False


def _examples() -> list[dict]:
    """The packaged examples the page can work: those with their data inline."""
    from ..problem.files import EXTENSIONS, example_names, example_path, parse_text

    listed = []
    for name in example_names():
        file = example_path(name)
        raw = parse_text(file.read_text(encoding="utf-8"), EXTENSIONS[file.suffix], file.name)
        if not (isinstance(raw.get("data"), dict) and "file" in raw["data"]):
            listed.append({"name": name, "title": str(raw.get("title", name))})
    return listed
