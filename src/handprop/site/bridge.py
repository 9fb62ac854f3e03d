"""The static site's Python side: what the page's Web Worker (assets/python-worker.js) calls in the browser's
Python. It answers a task of the page (serve/tasks.py's TASKS, the same functions `handprop serve` runs) as
`handprop serve` answers it: JSON in, JSON out, bad input as the command line's one line.
"""

from __future__ import annotations

import json
import traceback

from ..core.errors import HandpropError


def answer(task: str, data: str) -> str:
    """The answer to one task, as JSON: the task's own answer; {ok: false, error} for bad input (as `handprop
    serve` answers it), for a computation out of memory, and for an internal error (its traceback in `internal`).

    >>> from handprop.problem.files import example_path
    >>> json.loads(answer("solve", json.dumps({"text": example_path("homework").read_text()})))["title"]
    'Machine Learning Homework 1'
    >>> json.loads(answer("solve", json.dumps({"text": "[network", "label": "hw.toml"})))["error"]  # doctest: +ELLIPSIS
    "hw.toml: end of file: invalid TOML: ..."
    >>> json.loads(answer("step", json.dumps({"text": "x ="})))["error"]  # doctest: +ELLIPSIS
    '<text>: end of file: invalid TOML: Invalid value (a valid TOML document)'
    """
    from ..serve.tasks import TASKS

    try:
        request = json.loads(data)
        if task not in TASKS or not isinstance(request, dict) or not isinstance(request.get("text"), str):
            raise HandpropError(None, None, "the request is not one of the page's", "solve, check, step or download")
        return json.dumps(TASKS[task](request))
    except HandpropError as error:
        return json.dumps({"ok": False, "error": error.line()})
    except MemoryError:
        return json.dumps({"ok": False, "error": "the computation needed more memory than the browser gives it "
                                                 "(a smaller problem or fewer steps; the command line has no limit)"})
    except Exception:
        return json.dumps({"ok": False, "error": "internal error", "internal": traceback.format_exc()})

