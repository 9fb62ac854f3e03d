"""Reading a problem file: a path, an example's name, or standard input -> a dict.

TOML, JSON and YAML share one schema and are told apart by the file's
extension (standard input: JSON when it starts with `{`, else TOML). Syntax
errors name the line and column. YAML is loaded with the safe loader only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import HandpropError, one_of

EXAMPLES_DIR = Path(__file__).parent / "examples"
EXTENSIONS = {".toml": "toml", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}
MAX_FILE_BYTES = 1_000_000  # a hand-sized problem is a few kB; this stops a runaway file early


def example_names() -> list[str]:
    """The packaged examples, by name.

    >>> "homework" in example_names()
    True
    """
    return sorted(p.stem for p in EXAMPLES_DIR.iterdir() if p.suffix in EXTENSIONS)


def example_path(name: str) -> Path:
    for suffix in EXTENSIONS:
        path = EXAMPLES_DIR / f"{name}{suffix}"
        if path.is_file():
            return path
    raise KeyError(name)


def read_source(spec: str) -> tuple[str, str, str, Path | None]:
    """Find and read a problem: returns (label for messages, text, format, path or None)."""
    if spec == "-":
        text = sys.stdin.read()
        if len(text) > MAX_FILE_BYTES:
            raise HandpropError("<stdin>", None, "input too large", f"at most {MAX_FILE_BYTES} bytes")
        kind = "json" if text.lstrip().startswith("{") else "toml"
        return "<stdin>", text, kind, None
    path = Path(spec)
    if not path.exists() and os.sep not in spec and "." not in spec:
        try:
            path = example_path(spec)
        except KeyError:
            raise HandpropError(spec, None, "no such file or example",
                                "a path, - for standard input, or an example: " + one_of(example_names(), spec)) from None
        label = spec
    else:
        label = spec
    kind = EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        raise HandpropError(label, None, f"unknown file type '{path.suffix or '(none)'}'",
                            "one of: " + ", ".join(EXTENSIONS))
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise HandpropError(label, None, "file too large", f"at most {MAX_FILE_BYTES} bytes")
        data = path.read_bytes()
    except FileNotFoundError:
        raise HandpropError(label, None, "no such file", "a path to a problem file") from None
    except IsADirectoryError:
        raise HandpropError(label, None, "is a directory", "a problem file") from None
    except OSError as exc:
        raise HandpropError(label, None, f"cannot read: {exc.strerror or exc}", "a readable file") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HandpropError(label, f"byte {exc.start + 1}", "not UTF-8 text", "a text file in UTF-8") from None
    return label, text, kind, path


def parse_text(text: str, kind: str, label: str) -> dict:
    """Parse a problem's text into a dict, with syntax errors located by line and column."""
    if "\x00" in text:
        raise HandpropError(label, None, "contains a NUL character", "a text file")
    if kind == "toml":
        data = _parse_toml(text, label)
    elif kind == "json":
        data = _parse_json(text, label)
    else:
        data = _parse_yaml(text, label)
    if not isinstance(data, dict):
        raise HandpropError(label, None, f"the document is {describe(data)}", "a table of sections: [network], ...")
    return data


def _parse_toml(text: str, label: str) -> dict:
    import re
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)$", message)
        where = f"line {match.group(1)}, column {match.group(2)}" if match else "end of file"
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", message)
        raise HandpropError(label, where, f"invalid TOML: {message}", "a valid TOML document") from None
    except RecursionError:
        raise HandpropError(label, None, "invalid TOML: nested too deeply", "a valid TOML document") from None


def _parse_json(text: str, label: str):
    import json

    def refuse_constant(name: str):
        raise ValueError(name)

    try:
        return json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as exc:
        raise HandpropError(label, f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}",
                            "a valid JSON document") from None
    except ValueError as exc:
        raise HandpropError(label, None, f"invalid JSON: {exc} is not a number", "finite numbers") from None
    except RecursionError:
        raise HandpropError(label, None, "invalid JSON: nested too deeply", "a valid JSON document") from None


def _parse_yaml(text: str, label: str):
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency
        raise HandpropError(label, None, "YAML needs PyYAML", "pip install pyyaml") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise HandpropError(label, where, f"invalid YAML: {problem}", "a valid YAML document") from None
    except RecursionError:
        raise HandpropError(label, None, "invalid YAML: nested too deeply", "a valid YAML document") from None


def describe(value) -> str:
    """How a value of the wrong kind is named in an error message."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the text {value[:30]!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"the value {value!r}"

