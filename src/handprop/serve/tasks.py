"""The page's tasks: a problem from its text, the solution's parts as the page shows them, one more step,
and a download. The app runs them in the worker process (worker.py), or in its own process without a time
limit; each takes and returns plain JSON-ready values.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..core.errors import HandpropError
from .form import refuse_data_file, stepped_text

MAX_STEPS = 1_000  # each edit is worked out at once; `handprop train` takes longer runs
BOUNDARY_CELLS = 40  # the page's decision boundary: a coarse grid, drawn as SVG rectangles
MAX_CHECKED = 5_000  # answers in one check: the Result table's unknowns, for the largest problem with fields
KINDS = ("toml", "json", "yaml")
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
    """The page's pieces: the diagram (SVG), the Result table, the worked solution (HTML) and the step-through
    over them (walk.py)."""
    from ..render import diagram
    from ..render.derivation import build
    from ..display import result_table_html, sections_html
    from .walk import walk

    # Where each bias drawn on its unit enters the diagram, for the page to trace its chain-rule path.
    units = {}
    network = solution.problem.network
    if network is not None:
        from ..problem.layered import bias_names, unit_names

        for layer_biases, layer_units in zip(bias_names(network), unit_names(network)):
            units.update({b: post for b, (_, post) in zip(layer_biases, layer_units)})
    svg = diagram(solution, show="values", decimals=decimals)
    html = sections_html(build(solution, decimals=decimals))
    return {"diagram": svg, "bias_units": units, "table": result_table_html(solution, decimals=decimals),
            "html": html, "walk": walk(solution, html=html, svg=svg, decimals=decimals),
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
            "boundary": boundary_part(solution), **solution_parts(solution, decimals=decimals)}


def boundary_part(solution, *, cells: int = BOUNDARY_CELLS) -> dict | None:
    """The decision boundary the page draws, at the parameters after the problem's steps: a coarse grid of
    predicted classes (rows from the lowest second input up) with the data's points; None for a problem that
    is not a 2-input classification, or whose samples are all of one class (no boundary to show), and where
    NumPy is not installed.
    """
    from ..boundary import check_boundary, decision_grid

    problem = solution.problem
    try:
        check_boundary(problem)
    except HandpropError:
        return None
    network = problem.network
    targets = [problem.data[t] for t in network.targets]
    labels = {(targets[0][k] > 0.5 if len(targets) == 1 else max(range(len(targets)), key=lambda j: targets[j][k]))
              for k in range(problem.batch_size)}
    if len(labels) < 2:
        return None
    try:  # the browser's Python of `handprop site` has no NumPy: its page shows no boundary
        import numpy  # noqa: F401
    except ImportError:
        return None
    grid = decision_grid(problem, {name: record.updated if record.updated is not None else record.initial
                                   for name, record in solution.parameters.items()}, resolution=cells)
    confidence = grid.probabilities.max(axis=2)
    return {"inputs": list(grid.inputs), "classes": list(grid.classes), "steps": solution.steps,
            "x": [float(v) for v in grid.x], "y": [float(v) for v in grid.y],
            "predicted": grid.predicted.tolist(), "confidence": confidence.round(3).tolist(),
            "points": grid.points.tolist(), "labels": grid.labels.tolist()}


def check_answer(data: dict) -> dict:
    """The answer to /api/check: each typed answer marked as `handprop grade` marks it.

    `answers` is {name: typed text}, named as in an answers file (out1, loss, loss', dL/dw1, w1'); blank
    ones are left out. Each answer gets {status, mistake, follows_from}: status correct, carried_forward,
    wrong, or not_a_number (text that is not a number, marked, not an error); `expected` (the right value)
    only when `reveal` is true.
    """
    from ..teach.answers import Answer, number
    from ..teach.grading import grade
    from ..teach.names import Names

    text, kind, label = _request(data)
    typed = data.get("answers")
    if not isinstance(typed, dict) or not all(isinstance(v, str) for v in typed.values()):
        raise HandpropError(label, None, "answers is not an object of texts", "{name: typed text}, such as out1: 0.53")
    if len(typed) > MAX_CHECKED:
        raise HandpropError(label, None, f"{len(typed)} answers", f"at most {MAX_CHECKED}")
    problem = load_text(text, kind=kind, label=label, lr=data.get("lr"))
    names = Names(problem, label)
    marks, answers = {}, []
    for line, (name, written) in enumerate(typed.items(), 1):
        if not written.strip():
            continue
        parsed = number(written)
        if parsed is None:
            marks[name] = {"status": "not_a_number", "mistake": "not a number"}
            continue
        quantity, shown = names.resolve(name, line)
        answers.append(Answer(quantity, shown, written.strip(), parsed[0], parsed[1], line))
    report = grade(problem, answers) if answers else None
    for answer, graded in zip(answers, report.grades if report else ()):
        mark = {"status": graded.status, "mistake": graded.cause, "follows_from": list(graded.follows_from)}
        if data.get("reveal") is True:
            mark["expected"] = graded.expected
        marks[list(typed)[answer.line - 1]] = mark
    return {"ok": True, "answers": marks}


def step_answer(data: dict) -> dict:
    """The answer to /api/step: the text with its parameters after one more optimizer step, written at the
    decimals shown plus a few, and the optimizer's state after it, for the page to send with its next step
    (steps.py: two steps so taken are `steps = 2`)."""
    from .form import written
    from .steps import one_more_step

    text, kind, label = _request(data)
    problem = load_text(text, kind=kind, label=label, lr=data.get("lr"))
    decimals = _decimals(data)
    after, state = one_more_step(problem, data.get("state"))
    shown = decimals if decimals is not None else problem.decimals
    for name, entry in state["parameters"].items():
        entry["written"] = written(after[name], shown)
    return {"ok": True, "text": stepped_text(text, problem, kind=kind, values=after, decimals=decimals),
            "state": state}


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


TASKS = {"solve": solve_answer, "step": step_answer, "download": download_answer, "check": check_answer}
