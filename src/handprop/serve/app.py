"""`handprop serve`: a local page to edit a problem and see its solution change as you type.

The page (serve/assets/) posts the problem's text to /api/solve; the answer is the diagram, the Result
table and the worked solution as HTML, or the CLI's one-line message for bad input. Flask is imported
only here, and only when the app is made. The server reads the file it was started with (and the
packaged examples and assets), writes that file only on an explicit save, and reads no data files.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from ..core.errors import HandpropError
from .form import refuse_data_file, stepped_text  # noqa: F401  (stepped_text: part of this module's API)
from .worker import DEFAULT_TIME_LIMIT, Worker

MAX_BODY_BYTES = 1_000_000  # as files.MAX_FILE_BYTES: a problem is a few kB
MAX_STEPS = 1_000  # each edit is worked out at once; `handprop train` takes longer runs
KINDS = ("toml", "json", "yaml")
ASSETS = {"app.js": "text/javascript", "style.css": "text/css"}
DOWNLOADS = {"explain.html": ("html", "text/html"), "explain.md": ("markdown", "text/markdown"),
             "explain.tex": ("latex", "application/x-tex"), "diagram.svg": (None, "image/svg+xml")}


def load_text(text: str, *, kind: str = "toml", label: str = "<text>", lr: str | float | None = None):
    """A problem from its text, checked as a file is; `lr`, when given, replaces the optimizer's.

    Data files are refused: the server reads no file but its own.

    >>> from handprop.problem.files import example_path
    >>> load_text(example_path("homework").read_text(), lr="0.1").optimizer.lr
    0.1
    """
    from ..problem.files import parse_text
    from ..problem.spec import from_dict

    if kind not in KINDS:
        raise HandpropError(label, None, f"unknown kind '{kind}'", "toml, json or yaml")
    raw = parse_text(text, kind, label)
    refuse_data_file(raw, label)
    if lr not in (None, ""):
        try:
            rate = float(lr)
        except (TypeError, ValueError):
            raise HandpropError(None, "learning rate", f"'{str(lr)[:40]}' is not a number",
                                "a positive number, such as 0.5") from None
        optimizer = raw.setdefault("optimizer", {})
        if not isinstance(optimizer, dict):
            raise HandpropError(label, "optimizer", "is not a table", "[optimizer] with name, lr, steps")
        optimizer["lr"] = rate
    problem = from_dict(raw, label=label, text=text if kind == "toml" else None)
    if problem.optimizer.steps > MAX_STEPS:
        raise HandpropError(label, "optimizer.steps", f"{problem.optimizer.steps} steps",
                            f"at most {MAX_STEPS} in handprop serve; `handprop train` takes more")
    return problem


def solution_parts(solution, *, decimals: int | None = None) -> dict:
    """The page's three pieces: the diagram (SVG), the Result table and the worked solution (HTML)."""
    from ..render import diagram
    from ..render.derivation import build
    from ..display import _sections_html, result_table_html

    # Where each bias drawn on its unit enters the diagram, for the page to trace its chain-rule path.
    units = {}
    network = solution.problem.network
    if network is not None:
        from ..problem.layered import bias_names, unit_names

        for layer_biases, layer_units in zip(bias_names(network), unit_names(network)):
            units.update({b: post for b, (_, post) in zip(layer_biases, layer_units)})
    return {"diagram": diagram(solution, show="values", decimals=decimals), "bias_units": units,
            "table": result_table_html(solution, decimals=decimals),
            "html": _sections_html(build(solution, decimals=decimals)),
            "title": solution.title, "lr": solution.problem.optimizer.lr}


def _request(data: dict) -> tuple[str, str, str]:
    """The text, its kind and its label from a request's fields."""
    return data["text"], str(data.get("kind") or "toml"), str(data.get("label") or "<text>")[:200]


def _decimals(data: dict) -> int | None:
    from ..problem.spec import MAX_DECIMALS

    value = data.get("decimals")
    if value in (None, ""):
        return None
    if not (str(value).isascii() and str(value).isdecimal() and len(str(value)) <= 2) or int(value) > MAX_DECIMALS:
        raise HandpropError(None, "decimals", f"'{str(value)[:20]}' is out of range", f"0 to {MAX_DECIMALS}")
    return int(value)


def solve_answer(data: dict) -> dict:
    """The answer to /api/solve: the request's edits made to its text, then the solution's parts and fields.

    An edit or a text that fails answers {ok: false, error, field, text}: the message, the field it is
    shown beside (the failing or the last edit's), and the text with the edits made before it.
    """
    from ..problem.files import parse_text
    from .fields import fields
    from .form import edit_text
    from ..solver import solve

    text, kind, label = _request(data)
    edits = data.get("edits") or []
    if not isinstance(edits, list):
        raise HandpropError(label, None, "edits is not a list", "a list of {field, value}")
    field = None
    try:
        for edit in edits:
            field = edit.get("field") if isinstance(edit, dict) else None
            text = edit_text(text, [edit], kind=kind, label=label)
        decimals = _decimals(data)
        problem = load_text(text, kind=kind, label=label, lr=data.get("lr"))
        # By hand: every intermediate value rounded to the decimals shown (4 when none are chosen).
        by_hand = (decimals if decimals is not None else 4) if data.get("by_hand") is True else None
        solution = solve(problem, round_intermediate=by_hand)
    except HandpropError as error:
        return {"ok": False, "error": error.line(), "field": field, "text": text}
    return {"ok": True, "text": text, "fields": fields(problem, parse_text(text, kind, label)),
            **solution_parts(solution, decimals=decimals)}


def step_answer(data: dict) -> dict:
    """The answer to /api/step: the text with its parameters after one more optimizer step."""
    text, kind, label = _request(data)
    return {"ok": True, "text": stepped_text(text, load_text(text, kind=kind, label=label, lr=data.get("lr")),
                                             kind=kind)}


def download_answer(data: dict) -> dict:
    """A download's content: the worked solution (HTML, Markdown, LaTeX) or the diagram (SVG)."""
    from ..render import diagram, explain
    from ..solver import solve

    text, kind, label = _request(data)
    format, mimetype = DOWNLOADS[data["what"]]
    problem = load_text(text, kind=kind, label=label, lr=data.get("lr"))
    decimals = _decimals(data)
    solution = solve(problem)
    content = (diagram(solution, show="values", decimals=decimals) if format is None
               else explain(solution, format=format, decimals=decimals))
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(problem.source).stem or "problem")
    return {"content": content, "mimetype": mimetype, "filename": f"{stem}.{data['what'].split('.')[1]}"}


TASKS = {"solve": solve_answer, "step": step_answer, "download": download_answer}


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
        from ..cli import _write

        data = body()
        if path is None:
            raise HandpropError(None, None, "nothing to save to", "start handprop serve with a problem file")
        _write(data["text"], str(path))
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
