"""`handprop site`: the page of `handprop serve` as a static site, whose Python runs in the browser (Pyodide).

The site is a folder any static host serves: index.html (serve's page, with the problem it opens on), the
page's assets, a Web Worker that starts Pyodide and answers the page's tasks with serve/tasks.py's TASKS
(bridge.py), wheels of handprop and the pure-Python packages the page needs (wheels.py), the examples, and
handprop-site.json, which marks the folder as a site handprop built so that a rebuild may write into it.
Pyodide comes from its CDN at the version pinned here, or is copied into the site (`--pyodide DIR`, an
unpacked npm package `pyodide` of that version), and then the site needs no network at all.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from ..core.errors import HandpropError

PYODIDE_VERSION = "0.29.5"  # the one pin: the CDN's URL, the --pyodide check and .ci/run's `npm pack` read it
PYODIDE_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
PYODIDE_FILES = ("pyodide.js", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
PYODIDE_EXTRA = ("pyodide.mjs", "package.json")  # copied when present: the ES module and the version it says
MARKER = "handprop-site.json"
WHEEL_PROJECTS = ("latex2mathml", "PyYAML", "tomlkit")  # the worked solution's MathML, YAML files, TOML field edits
ON_DEMAND = ("PyYAML",)  # fetched the first time Python imports it (a YAML file), not at the worker's start
PAGE_ASSETS = ("app.js", "fields.js", "answers.js", "boundary.js", "steps.js", "style.css")
SITE_ASSETS = ("site.js", "python-worker.js")


def pyodide_version(folder: Path) -> str | None:
    """The version a Pyodide distribution says it is (its package.json, else its pyodide-lock.json); None when
    the folder says none."""
    for name, keys in (("package.json", ("version",)), ("pyodide-lock.json", ("info", "version"))):
        try:
            value = json.loads((folder / name).read_text(encoding="utf-8"))
            for key in keys:
                value = value[key]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(value, str):
            return value
    return None


def check_pyodide(spec: str) -> Path:
    """The folder of a Pyodide distribution of the pinned version, or HandpropError saying what it is instead."""
    folder = Path(spec)
    fetch = f"npm pack pyodide@{PYODIDE_VERSION} and tar xzf pyodide-{PYODIDE_VERSION}.tgz give one in package/"
    if not folder.is_dir():
        raise HandpropError(None, "--pyodide", f"{spec}: no such folder", f"an unpacked npm package pyodide; {fetch}")
    missing = [name for name in PYODIDE_FILES if not (folder / name).is_file()]
    if missing:
        raise HandpropError(None, "--pyodide", f"{spec} is not a Pyodide distribution (it has no {', '.join(missing)})",
                            f"an unpacked npm package pyodide@{PYODIDE_VERSION}; {fetch}")
    version = pyodide_version(folder)
    if version != PYODIDE_VERSION:
        raise HandpropError(None, "--pyodide", f"{spec} is Pyodide {version or 'of an unknown version'}",
                            f"Pyodide {PYODIDE_VERSION}, the version this handprop pins; {fetch}")
    return folder


def check_output(spec: str) -> Path:
    """The site's folder: new, empty, or a site handprop built before (its marker file); else HandpropError."""
    folder = Path(spec)
    if folder.exists() and not folder.is_dir():
        raise HandpropError(None, "-o", f"{spec} is a file", "a folder for the site: new, empty, or a site handprop built")
    try:
        used = folder.is_dir() and any(folder.iterdir())
    except OSError as exc:
        raise HandpropError(None, "-o", f"{spec}: cannot read: {exc.strerror or exc}", "a folder you can write") from None
    if used and built_files(folder) is None:
        raise HandpropError(None, "-o", f"{spec} is not empty and is not a handprop site (it has no {MARKER})",
                            "a new or empty folder, or a site handprop built before")
    return folder


def built_files(folder: Path) -> list[str] | None:
    """The files a site handprop built in `folder` lists in its marker; None when the folder is not one."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("generator") != "handprop site":
        return None
    files = marker.get("files")
    return [f for f in files if isinstance(f, str)] if isinstance(files, list) else []


def site_examples() -> list[tuple[dict, str, str]]:
    """The examples the page lists (those with their data inline, as `handprop serve`'s): ({name, title, file},
    file name, text)."""
    from ..problem.files import EXTENSIONS, example_names, example_path, parse_text

    listed = []
    for name in example_names():
        file = example_path(name)
        text = file.read_text(encoding="utf-8")
        raw = parse_text(text, EXTENSIONS[file.suffix], file.name)
        if not (isinstance(raw.get("data"), dict) and "file" in raw["data"]):
            listed.append(({"name": name, "title": str(raw.get("title", name)), "file": file.name}, file.name, text))
    return listed


def site_files(*, text: str, kind: str, label: str, pyodide: Path | None, time_limit: float) -> dict[str, bytes]:
    """Every file of the site, by its path in the site's folder."""
    from ..problem.files import EXTENSIONS
    from .. import __version__
    from .wheels import handprop_wheel, installed_wheel

    files: dict[str, bytes] = {}
    wheels = [handprop_wheel()]
    on_demand = {}  # top-level name: the wheel's path, for the projects in ON_DEMAND
    for project in WHEEL_PROJECTS:
        try:
            name, content = installed_wheel(project)
            if project in ON_DEMAND:
                on_demand.update(dict.fromkeys(top_level(content), f"wheels/{name}"))
            wheels.append((name, content))
        except Exception:  # importlib.metadata.PackageNotFoundError, or a distribution without its files listed
            raise HandpropError(None, None, f"the site needs {project} installed, to put it in the site",
                                "pip install 'handprop[serve]'") from None
    for name, content in wheels:
        files[f"wheels/{name}"] = content
    serve_assets = resources.files("handprop.serve") / "assets"
    for name in PAGE_ASSETS:
        files[f"assets/{name}"] = (serve_assets / name).read_bytes()
    files["assets/math-font.woff2"] = (resources.files("handprop.render") / "assets" / "math-font.woff2").read_bytes()
    for name in SITE_ASSETS:
        files[f"assets/{name}"] = (resources.files(__package__) / "assets" / name).read_bytes()
    listed = []
    for entry, name, example_text in site_examples():
        files[f"examples/{name}"] = example_text.encode("utf-8")
        listed.append(entry)
    files["examples/index.json"] = json.dumps(listed, indent=1).encode("utf-8")
    if pyodide is not None:
        for name in PYODIDE_FILES + PYODIDE_EXTRA:
            if (pyodide / name).is_file():
                files[f"pyodide/{name}"] = (pyodide / name).read_bytes()
    config = {"version": __version__, "pyodide": "pyodide/" if pyodide is not None else PYODIDE_CDN,
              "pyodideVersion": PYODIDE_VERSION,
              "wheels": [f"wheels/{name}" for name, _ in wheels if f"wheels/{name}" not in on_demand.values()],
              "onDemand": on_demand,
              "timeLimit": time_limit, "extensions": EXTENSIONS}
    start = {"text": text, "kind": kind, "label": label, "can_save": True}
    files["start.json"] = json.dumps(first_answer(text, kind, label)).encode("utf-8")
    files["index.html"] = page(start, config).encode("utf-8")
    marker = {"generator": "handprop site", "handprop": __version__, "pyodide": PYODIDE_VERSION,
              "pyodide_bundled": pyodide is not None, "files": sorted(files) + [MARKER]}
    files[MARKER] = (json.dumps(marker, indent=1) + "\n").encode("utf-8")
    return files


def top_level(wheel: bytes) -> list[str]:
    """The top-level packages and modules a wheel installs."""
    import io
    import zipfile

    names = {entry.split("/")[0] for entry in zipfile.ZipFile(io.BytesIO(wheel)).namelist()}
    return sorted(n.removesuffix(".py") for n in names if not n.endswith((".dist-info", ".data")))


def first_answer(text: str, kind: str, label: str) -> dict:
    """The page's first request and its answer, worked out now by the same task the browser runs, for the page to
    show while the browser's Python starts (a few seconds); any other request waits for it. The answer is the
    browser's: no decision boundary, which needs NumPy (serve/tasks.py's boundary_part)."""
    from ..serve.tasks import TASKS

    request = {"text": text, "kind": kind, "label": label, "decimals": "", "by_hand": False, "edits": []}
    answer = TASKS["solve"](dict(request))
    if answer.get("ok"):
        answer["boundary"] = None
    return {"request": request, "answer": answer}


def page(start: dict, config: dict) -> str:
    """The site's index.html: serve's page, with the problem it opens on and the site's transport (site.js), which
    goes first in the head so that the browser's Python and the first answer start loading before anything else."""
    template = (resources.files("handprop.serve") / "assets" / "index.html").read_text(encoding="utf-8")
    said = json.dumps(start).replace("<", "\\u003c")
    configured = json.dumps(config).replace("<", "\\u003c")
    site = (f'<script id="site" type="application/json">{configured}</script>\n'
            '<script src="assets/site.js"></script>\n')
    marked = "<link "
    if "<head>" not in template or marked not in template.split("</head>")[0]:
        raise RuntimeError("serve's index.html has no link in its head to put the site's transport before")
    html = template.replace("{{initial}}", said).replace(marked, site + marked, 1)
    return html.replace("<title>handprop serve</title>", "<title>handprop</title>")


def build_site(out: str, *, text: str, kind: str, label: str, pyodide: str | None = None,
               time_limit: float | None = None) -> list[str]:
    """Write the site into `out` (refused, before anything is written, unless it is new, empty or a site handprop
    built); returns the files written. Each file is written whole or not at all; files an earlier build listed
    that this one has not are removed."""
    from ..problem.files import write_file
    from ..serve.worker import DEFAULT_TIME_LIMIT

    folder = check_output(out)
    distribution = check_pyodide(pyodide) if pyodide is not None else None
    files = site_files(text=text, kind=kind, label=label, pyodide=distribution,
                       time_limit=DEFAULT_TIME_LIMIT if time_limit is None else time_limit)
    before = built_files(folder) if folder.is_dir() else None
    for name in sorted(files, key=lambda n: n != MARKER):  # the marker first: a build that fails midway may be redone
        target = folder / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HandpropError(str(target.parent), None, f"cannot create: {exc.strerror or exc}", "a writable folder") from None
        write_file(str(target), files[name])
    inside = folder.resolve()
    for name in before or ():
        stale = folder / name
        if name in files or not stale.resolve().is_relative_to(inside):  # a marker names only the site's own files
            continue
        if stale.is_file():
            stale.unlink()
            if stale.parent != folder:
                try:
                    os.removedirs(stale.parent)  # its folders, while empty (the site's is not: its marker)
                except OSError:
                    pass
    return sorted(files)
