"""`handprop serve`: a local page to edit a problem and see its solution change as you type.

The page (serve_assets/) posts the problem's text to /api/solve; the answer is the diagram, the Result
table and the worked solution as HTML, or the CLI's one-line message for bad input. Flask is imported
only here, and only when the app is made. The server reads the file it was started with (and the
packaged examples and assets), writes that file only on an explicit save, and reads no data files.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from .errors import HandpropError

MAX_BODY_BYTES = 1_000_000  # as files.MAX_FILE_BYTES: a problem is a few kB
MAX_STEPS = 1_000  # each edit is worked out at once; `handprop train` takes longer runs
KINDS = ("toml", "json", "yaml")
ASSETS = {"app.js": "text/javascript", "style.css": "text/css"}
_HEADER = re.compile(r"^\[\[?[A-Za-z_\"'][^\]\n]*\]\]?[ \t]*(#.*)?$", re.MULTILINE)  # [table] at a line's start
_PARAMETERS = re.compile(r"^\[[ \t]*parameters[ \t]*\][ \t]*(#.*)?$", re.MULTILINE)


def load_text(text: str, *, kind: str = "toml", label: str = "<text>", lr: str | float | None = None):
    """A problem from its text, checked as a file is; `lr`, when given, replaces the optimizer's.

    Data files are refused: the server reads no file but its own.

    >>> from handprop.files import example_path
    >>> load_text(example_path("homework").read_text(), lr="0.1").optimizer.lr
    0.1
    """
    from .files import parse_text
    from .problem import from_dict

    if kind not in KINDS:
        raise HandpropError(label, None, f"unknown kind '{kind}'", "toml, json or yaml")
    raw = parse_text(text, kind, label)
    data = raw.get("data")
    if isinstance(data, dict) and "file" in data:
        raise HandpropError(label, "data.file", "handprop serve reads no data files", "inline data: x and t")
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
    from .render import diagram
    from .render.derivation import build
    from .render.notebook import _sections_html, result_table_html

    # Where each bias drawn on its unit enters the diagram, for the page to trace its chain-rule path.
    units = {}
    network = solution.problem.network
    if network is not None:
        from .layered import bias_names, unit_names

        for layer_biases, layer_units in zip(bias_names(network), unit_names(network)):
            units.update({b: post for b, (_, post) in zip(layer_biases, layer_units)})
    return {"diagram": diagram(solution, show="values", decimals=decimals), "bias_units": units,
            "table": result_table_html(solution, decimals=decimals),
            "html": _sections_html(build(solution, decimals=decimals)),
            "title": solution.title, "lr": solution.problem.optimizer.lr}


def stepped_text(text: str, problem, *, kind: str = "toml") -> str:
    """The problem's TOML text with its [parameters] section rewritten to the values after one more step.

    >>> from handprop.files import example_path
    >>> text = example_path("homework").read_text()
    >>> after = stepped_text(text, load_text(text))
    >>> "w = [0.1, 0.5, 0.2, 0.4, 0.4" in after, after.count("[parameters]")
    (False, 1)
    """
    from .layered import bias_names, weight_rows
    from .solver import solve

    label = problem.source
    if kind != "toml":
        raise HandpropError(label, None, "one more step rewrites TOML text only", "a TOML problem")
    header = _PARAMETERS.search(text)
    if header is None:
        raise HandpropError(label, "parameters", "no [parameters] section at the start of a line to rewrite",
                            "a [parameters] section")
    following = _HEADER.search(text, header.end())
    end = following.start() if following else len(text)
    updated = {name: record.updated for name, record in solve(problem, steps=1).parameters.items()}

    def numbers(names) -> str:
        return "[" + ", ".join(repr(float(updated[name])) for name in names) + "]"

    network = problem.network
    if network is None:
        lines = [f"{name} = {updated[name]!r}" for name in problem.parameters]
    elif network.naming == "sequential":
        rows, biases = weight_rows(network), bias_names(network)
        lines = [f"w = {numbers([w for layer in rows for row in layer for w in row])}",
                 f"b = {numbers([b for layer in biases for b in layer])}"]
    else:
        lines = []
        for n, (rows, biases) in enumerate(zip(weight_rows(network), bias_names(network)), 1):
            lines.append(f"W{n} = [" + ", ".join(numbers(row) for row in rows) + "]")
            lines.append(f"b{n} = {numbers(biases)}")
    body = text[header.end():end]
    blank = body[len(body.rstrip()):]  # the blank lines before the next section stay
    result = text[:header.end()] + "\n" + "\n".join(lines) + (blank or "\n") + text[end:]
    if load_text(result, label=label).parameters != updated:
        raise HandpropError(label, "parameters", "could not be rewritten in place", "w = [...] and b = [...]")
    return result


def create_app(text: str, *, kind: str = "toml", label: str = "problem.toml", path: Path | None = None,
               hosts: tuple = ("127.0.0.1", "localhost", "[::1]")):
    """The Flask app for one problem: `text` is shown first; `path`, when given, is where Save writes.

    `hosts` are the Host headers answered (a page on another site cannot reach the app through a DNS
    name that points at this machine); None answers any.
    """
    import flask

    app = flask.Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    start = {"text": text, "kind": kind, "label": label, "can_save": path is not None}

    def answer(payload: dict, status: int = 200):
        return flask.jsonify(payload), status

    def body() -> dict:
        data = flask.request.get_json(silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            flask.abort(400, "the body is not a JSON object with the problem's text")
        return data

    def problem_of(data: dict):
        return load_text(data["text"], kind=str(data.get("kind") or "toml"),
                         label=str(data.get("label") or "<text>")[:200], lr=data.get("lr"))

    def decimals_of(data) -> int | None:
        from .problem import MAX_DECIMALS

        value = data.get("decimals")
        if value in (None, ""):
            return None
        if not str(value).isdigit() or not 0 <= int(value) <= MAX_DECIMALS:
            raise HandpropError(None, "decimals", f"'{str(value)[:20]}' is out of range", f"0 to {MAX_DECIMALS}")
        return int(value)

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
        template = (resources.files(__package__) / "serve_assets" / "index.html").read_text(encoding="utf-8")
        initial = json.dumps(start).replace("<", "\\u003c")
        return flask.Response(template.replace("{{initial}}", initial), mimetype="text/html")

    @app.get("/assets/<name>")
    def asset(name: str):
        if name == "math-font.woff2":
            font = resources.files(__package__) / "render" / "assets" / name
            return flask.Response(font.read_bytes(), mimetype="font/woff2")
        if name not in ASSETS:
            flask.abort(404, "no such asset")
        asset_text = (resources.files(__package__) / "serve_assets" / name).read_text(encoding="utf-8")
        return flask.Response(asset_text, mimetype=ASSETS[name])

    @app.get("/api/examples")
    def examples():
        return answer({"ok": True, "examples": _examples()})

    @app.get("/api/examples/<name>")
    def example(name: str):
        from .files import EXTENSIONS, example_path

        if name not in {entry["name"] for entry in _examples()}:
            flask.abort(404, "no such example")
        file = example_path(name)
        return answer({"ok": True, "text": file.read_text(encoding="utf-8"), "kind": EXTENSIONS[file.suffix],
                       "label": file.name})

    @app.post("/api/solve")
    def solve_text():
        from .solver import solve

        data = body()
        decimals = decimals_of(data)
        # By hand: every intermediate value rounded to the decimals shown (4 when none are chosen).
        by_hand = (decimals if decimals is not None else 4) if data.get("by_hand") is True else None
        return answer({"ok": True, **solution_parts(solve(problem_of(data), round_intermediate=by_hand),
                                                    decimals=decimals)})

    @app.post("/api/step")
    def step():
        data = body()
        return answer({"ok": True, "text": stepped_text(data["text"], problem_of(data),
                                                        kind=str(data.get("kind") or "toml"))})

    @app.route("/api/explain.<extension>", methods=["GET", "POST"])
    @app.route("/api/<kind>.<extension>", methods=["GET", "POST"])
    def download(extension: str, kind: str = "explain"):
        """The worked solution as HTML, Markdown or LaTeX, or the diagram as SVG, as a file to save."""
        from .render import diagram, explain
        from .solver import solve

        formats = {("explain", "html"): ("html", "text/html"), ("explain", "md"): ("markdown", "text/markdown"),
                   ("explain", "tex"): ("latex", "application/x-tex"), ("diagram", "svg"): (None, "image/svg+xml")}
        if (kind, extension) not in formats:
            flask.abort(404, "no such download")
        format, mimetype = formats[(kind, extension)]
        values = flask.request.values
        if not isinstance(values.get("text"), str):
            flask.abort(400, "no problem text given")
        try:
            problem = problem_of(values)
            decimals = decimals_of(values)
            solution = solve(problem)
            content = (diagram(solution, show="values", decimals=decimals) if format is None
                       else explain(solution, format=format, decimals=decimals))
        except HandpropError as error:
            return flask.Response(error.line() + "\n", status=400, mimetype="text/plain")
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(problem.source).stem or "problem")
        return flask.Response(content, mimetype=mimetype,
                              headers={"Content-Disposition": f'attachment; filename="{stem}.{extension}"'})

    @app.post("/api/save")
    def save():
        from .cli import _write

        data = body()
        if path is None:
            raise HandpropError(None, None, "nothing to save to", "start handprop serve with a problem file")
        _write(data["text"], str(path))
        return answer({"ok": True, "saved": str(path)})

    return app


def _examples() -> list[dict]:
    """The packaged examples the page can work: those with their data inline."""
    from .files import EXTENSIONS, example_names, example_path, parse_text

    listed = []
    for name in example_names():
        file = example_path(name)
        raw = parse_text(file.read_text(encoding="utf-8"), EXTENSIONS[file.suffix], file.name)
        if not (isinstance(raw.get("data"), dict) and "file" in raw["data"]):
            listed.append({"name": name, "title": str(raw.get("title", name))})
    return listed
