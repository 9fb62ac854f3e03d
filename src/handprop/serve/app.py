"""`handprop serve`'s app: the routes of a local page to edit a problem and see its solution change as you type.

The page (serve/assets/) posts the problem's text to /api/solve; the answer is the diagram, the Result
table and the worked solution as HTML, or the CLI's one-line message for bad input. Flask is imported
only here, and only when the app is made. The server reads the file it was started with (and the
packaged examples and assets), writes that file only on an explicit save, and reads no data files.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ..core.errors import HandpropError
from .tasks import DOWNLOADS, TASKS
from .worker import DEFAULT_TIME_LIMIT, Worker

MAX_BODY_BYTES = 1_000_000  # as files.MAX_FILE_BYTES: a problem is a few kB
ASSETS = {"app.js": "text/javascript", "style.css": "text/css"}


def create_app(text: str, *, kind: str = "toml", label: str = "problem.toml", path: Path | None = None,
               hosts: tuple | None = ("127.0.0.1", "localhost", "[::1]"),
               time_limit: float | None = DEFAULT_TIME_LIMIT):
    """The Flask app for one problem: `text` is shown first; `path`, when given, is where Save writes.

    `hosts` are the Host headers answered (a page on another site cannot reach the app through a DNS
    name that points at this machine); None answers any. Each computation runs in a worker process
    and is stopped after `time_limit` seconds; None works in the app's own process, without a limit.
    The worker is `app.extensions["handprop.worker"]` (its `close()` stops it).
    """
    import flask

    app = flask.Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    start = {"text": text, "kind": kind, "label": label, "can_save": path is not None}
    worker = Worker(time_limit=time_limit) if time_limit is not None else None
    app.extensions["handprop.worker"] = worker

    def compute(task: str, data: dict):
        data = {key: data.get(key) for key in ("text", "kind", "label", "lr", "decimals", "by_hand", "edits", "what")}
        return worker.call(task, data) if worker is not None else TASKS[task](data)

    def answer(payload: dict, status: int = 200):
        return flask.jsonify(payload), status

    def body() -> dict:
        data = flask.request.get_json(silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            flask.abort(400, "the body is not a JSON object with the problem's text")
        return data

    @app.before_request
    def check_host():
        if hosts is not None and flask.request.host.rsplit(":", 1)[0] not in hosts:
            flask.abort(403, "this host name is not served")

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
        return answer(compute("solve", body()))

    @app.post("/api/step")
    def step():
        return answer(compute("step", body()))

    @app.route("/api/<what>", methods=["GET", "POST"])
    def download(what: str):
        """The worked solution as HTML, Markdown or LaTeX, or the diagram as SVG, as a file to save."""
        if what not in DOWNLOADS:
            flask.abort(404, "no such download")
        values = flask.request.values
        if not isinstance(values.get("text"), str):
            flask.abort(400, "no problem text given")
        try:
            result = compute("download", {**values.to_dict(), "what": what})
        except HandpropError as error:
            return flask.Response(error.line() + "\n", status=400, mimetype="text/plain")
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
