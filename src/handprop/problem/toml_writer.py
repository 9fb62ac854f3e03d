"""Writing TOML: the one place handprop turns values into TOML text (exercise variants' problem files) and
writes an edited TOML document (the local page's, with tomlkit, which keeps its comments). Every text is read
back with the standard library's tomllib before it is used, so what handprop writes is TOML whatever a title
holds: a newline, quotes, backslashes, control characters, any Unicode.

Values are written as TOML 1.0 (https://toml.io/en/v1.0.0): strings as basic strings, with the escapes the
spec names (\\n, \\", \\\\, ...) and \\uXXXX for the other control characters, every other character as itself;
numbers as Python's repr (the shortest text that reads back as the same float); lists and inline tables.
"""

from __future__ import annotations

import math
import re

from ..core.errors import HandpropError

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_string(text: str) -> str:
    """A TOML basic string.

    >>> print(toml_string('Übung 1: "∂L/∂w"\\nline 2 \\\\ end'))
    "Übung 1: \\"∂L/∂w\\"\\nline 2 \\\\ end"
    """
    escaped = _NEEDS_ESCAPE.sub(lambda m: _ESCAPES.get(m.group(0), f"\\u{ord(m.group(0)):04X}"), text)
    return f'"{escaped}"'


def toml_comment(text: str) -> str:
    """A comment line: a newline or another control character in the text (from a title) as a space.

    >>> toml_comment("in the style of Homework\\n2")
    '# in the style of Homework 2'
    """
    return "# " + re.sub(r"[\x00-\x08\x0a-\x1f\x7f]", " ", text)


def toml_key(key: str) -> str:
    """A key: bare when it may be (w1, b_2, dL-dw), else quoted ("W1[1,2]", "隐藏").

    >>> toml_key("w1"), toml_key("W1[1,2]")
    ('w1', '"W1[1,2]"')
    """
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


def toml_value(value) -> str:
    """A value: a string, a bool, a number, a list of values, or a dict as an inline table.

    >>> toml_value([0.1, -2, True, "relu"]), toml_value({"units": 3, "activation": "relu"})
    ('[0.1, -2, true, "relu"]', '{ units = 3, activation = "relu" }')
    >>> toml_value(float("-inf")), toml_value(1e-05)
    ('-inf', '1e-05')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, (int, float)):
        return repr(value)  # the shortest text that reads back as the number: 0.3, -0.2, 1, inf
    raise TypeError(f"no TOML for {type(value).__name__}")


def checked(text: str, label: str = "<TOML written>") -> str:
    """The text, once tomllib has read it back: a writer's slip is an error here, not a broken file later."""
    import tomllib

    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HandpropError(label, None, f"handprop wrote invalid TOML: {exc}", "a bug to report") from None
    return text


def edited_text(document) -> str:
    """An edited tomlkit document as text (its comments and layout kept), checked as any TOML written is."""
    import tomlkit

    return checked(tomlkit.dumps(document))
