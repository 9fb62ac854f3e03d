"""The static site's Python side: what the page's Web Worker (assets/python-worker.js) calls in the browser's
Python. It answers a task of the page (serve/tasks.py's TASKS, the same functions `handprop serve` runs) as
`handprop serve` answers it: JSON in, JSON out, bad input as the command line's one line. A package only some
problems need (PyYAML) is left out of the worker's start and installed the first time Python imports it
(on_demand).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import json
import sys
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



class OnDemand:
    """A finder for sys.meta_path: the first import of a top-level name in `wheels` ({name: wheel's URL}) has
    `load(url)` install that wheel into site-packages (the worker fetches and unpacks it), then imports it as any
    installed package; every other name is left to the finders after it.

    >>> installed = []
    >>> finder = OnDemand({"nosuchpackage_ondemand": "wheels/x.whl"}, installed.append)
    >>> finder.find_spec("json", None) is None, finder.find_spec("nosuchpackage_ondemand.sub", None), installed
    (True, None, [])
    >>> finder.find_spec("nosuchpackage_ondemand", None), installed   # installed, yet nothing there: not found
    (None, ['wheels/x.whl'])
    >>> finder.find_spec("nosuchpackage_ondemand", None), installed   # once only
    (None, ['wheels/x.whl'])
    """

    def __init__(self, wheels: dict, load) -> None:
        self.wheels = dict(wheels)
        self.load = load

    def find_spec(self, name, path, target=None):
        url = self.wheels.pop(name, None) if path is None else None  # a top-level name, the first time
        if url is None:
            return None
        try:
            self.load(url)
        except Exception as exc:
            raise ImportError(f"{name}: could not fetch {url}: {exc}", name=name) from None
        importlib.invalidate_caches()
        return importlib.machinery.PathFinder.find_spec(name)


def on_demand(wheels, load) -> None:
    """Install `wheels` ({top-level name: wheel's URL}) the first time Python imports one (OnDemand)."""
    wheels = dict(wheels)
    if wheels:
        sys.meta_path.append(OnDemand(wheels, load))
