"""Reading a problem file: a path, an example's name, or standard input -> a dict; and writing a file whole.

TOML, JSON and YAML share one schema and are told apart by the file's
extension (standard input: JSON when it starts with `{`, else TOML). Syntax
errors name the line and column. The text is untrusted (docs/safety.md): it is
read up to a size limit, YAML is loaded with a safe loader that also refuses
aliases and tags, and the parsed document is walked once to refuse deep
nesting and integers too large for any use, before anything else reads it.
"""

from __future__ import annotations

import os
import sys

from ..core.errors import HandpropError, one_of

# The packaged examples' folder (EXAMPLES_DIR is the same as a Path): os.path, as pathlib costs time at start-up.
EXAMPLES_FOLDER = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "examples")
EXTENSIONS = {".toml": "toml", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}
MAX_FILE_BYTES = 1_000_000  # a hand-sized problem is a few kB; this stops a runaway file early
MAX_NESTING = 20  # a problem needs 4 levels (parameters.W1: rows: numbers); more is no problem file
MAX_NUMBER_DIGITS = 400  # a float has at most 309 digits before its point; longer runs are no usable number,
#                          and converting one costs time quadratic in its length
MAX_INTEGER_BITS = 1100  # beyond 2**1024 an integer is not even a float; refused before anything computes with it
_YAML_PLAIN_TAGS = {f"tag:yaml.org,2002:{kind}" for kind in ("str", "int", "float", "bool", "null", "seq", "map",
                                                            "merge")}


def example_names() -> list[str]:
    """The packaged examples, by name.

    >>> "homework" in example_names()
    True
    """
    return sorted(stem for stem, suffix in map(os.path.splitext, os.listdir(EXAMPLES_FOLDER)) if suffix in EXTENSIONS)


def __getattr__(name: str):
    if name == "EXAMPLES_DIR":
        from pathlib import Path

        return Path(EXAMPLES_FOLDER)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def example_path(name: str):
    """The packaged example `name`'s file, as a Path; KeyError when there is none."""
    from pathlib import Path

    return Path(_example_file(name))


def _example_file(name: str) -> str:
    for suffix in EXTENSIONS:
        path = os.path.join(EXAMPLES_FOLDER, f"{name}{suffix}")
        if os.path.isfile(path):
            return path
    raise KeyError(name)


def read_source(spec: str):
    """Find and read a problem: returns (label for messages, text, format, Path or None)."""
    label, text, kind, path = read_file(spec)
    if path is None:
        return label, text, kind, None
    from pathlib import Path

    return label, text, kind, Path(path)


def read_file(spec: str) -> tuple[str, str, str, str | None]:
    """Find and read a problem: returns (label for messages, text, format, the file's path or None)."""
    if spec == "-":
        text = _read_stdin()
        kind = "json" if text.lstrip().startswith("{") else "toml"
        return "<stdin>", text, kind, None
    path = spec
    if not os.path.exists(path) and os.sep not in spec and "." not in spec:
        try:
            path = _example_file(spec)
        except KeyError:
            raise HandpropError(spec, None, "no such file or example",
                                "a path, - for standard input, or an example: " + one_of(example_names(), spec)) from None
        label = spec
    else:
        label = spec
    suffix = _suffix(path)
    kind = EXTENSIONS.get(suffix.lower())
    if kind is None:
        raise HandpropError(label, None, f"unknown file type '{suffix or '(none)'}'",
                            "one of: " + ", ".join(EXTENSIONS))
    try:
        if os.stat(path).st_size > MAX_FILE_BYTES:
            raise HandpropError(label, None, "file too large", f"at most {MAX_FILE_BYTES} bytes")
        with open(path, "rb") as stream:  # read no more than the limit, whatever stat said (a pipe, /dev/zero)
            data = stream.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise HandpropError(label, None, "file too large", f"at most {MAX_FILE_BYTES} bytes")
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


def _suffix(path: str) -> str:
    """The file name's extension, as Path.suffix gives it ('' for none, and for a name such as .toml)."""
    name = os.path.basename(path.rstrip(os.sep))
    stem, suffix = os.path.splitext(name)
    return suffix if stem and not name.endswith(".") else ""


def _read_stdin() -> str:
    """Standard input, up to the size limit: bytes decoded as a file's are, or text when it is text only."""
    label = "<stdin>"
    if sys.stdin is None:  # started with standard input closed
        raise HandpropError(label, None, "no standard input", "a problem file's text on standard input")
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        text = sys.stdin.read(MAX_FILE_BYTES + 1)
        if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
            raise HandpropError(label, None, "input too large", f"at most {MAX_FILE_BYTES} bytes")
        return text
    data = buffer.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise HandpropError(label, None, "input too large", f"at most {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HandpropError(label, f"byte {exc.start + 1}", "not UTF-8 text", "text in UTF-8") from None


def parse_text(text: str, kind: str, label: str) -> dict:
    """Parse a problem's text into a dict, with syntax errors located by line and column."""
    import re

    if "\x00" in text:
        raise HandpropError(label, None, "contains a NUL character", "a text file")
    if len(text) > MAX_FILE_BYTES:
        raise HandpropError(label, None, "text too large", f"at most {MAX_FILE_BYTES} characters")
    # A run starts where no digit precedes it, so the search stays linear in the text.
    digits = re.search(r"(?<![0-9_])[0-9][0-9_]{%d,}" % MAX_NUMBER_DIGITS, text)
    if digits:
        line = text.count("\n", 0, digits.start()) + 1
        column = digits.start() - (text.rfind("\n", 0, digits.start()) + 1) + 1
        raise HandpropError(label, f"line {line}, column {column}",
                            f"a number of more than {MAX_NUMBER_DIGITS} digits",
                            "a number as a person writes it, such as 0.5 or 1e-3")
    if kind == "toml":
        data = _parse_toml(text, label)
    elif kind == "json":
        data = _parse_json(text, label)
    else:
        data = _parse_yaml(text, label)
    if not isinstance(data, dict):
        raise HandpropError(label, None, f"the document is {describe(data)}", "a table of sections: [network], ...")
    _check_document(data, label)
    return data


def _check_document(data: dict, label: str) -> None:
    """Refuse nesting deeper than a problem needs and integers too large to use, in one walk without recursion."""
    stack = [(data, 0, None)]  # (container, depth, place); a place is (the parent's place, key or list index)
    while stack:
        container, depth, place = stack.pop()
        if depth >= MAX_NESTING:
            raise HandpropError(label, _place(place), f"nested more than {MAX_NESTING} levels deep",
                                "sections of keys, lists and numbers, as docs/problem-files.md shows")
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, value in items:
            if isinstance(value, (dict, list)):
                stack.append((value, depth + 1, (place, key)))
            elif type(value) is int and abs(value).bit_length() > MAX_INTEGER_BITS:
                raise HandpropError(label, _place((place, key)), "integer too large", "a number below 1e308")


def _place(place) -> str:
    """A place in the document as messages write it: parameters.w: entry 3 (list entries count from 1)."""
    keys = []
    while place is not None:
        place, key = place
        keys.append(key)
    text = ""
    for key in reversed(keys):
        text += f": entry {key + 1}" if isinstance(key, int) and text else f".{key}" if text else str(key)
    return text


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
    except (RecursionError, MemoryError):
        raise HandpropError(label, None, "invalid TOML: nested too deeply", "a valid TOML document") from None
    except ValueError:  # int() of a number with more digits than Python converts
        raise HandpropError(label, None, "invalid TOML: a number with too many digits",
                            "a number as a person writes it") from None


def _parse_json(text: str, label: str):
    import json

    class Refused(Exception):
        pass

    def refuse_constant(name: str):
        raise Refused(f"{name} is not a number", "finite numbers")

    def integer(digits: str) -> int:
        if len(digits) > MAX_NUMBER_DIGITS:
            raise Refused("a number with too many digits", "a number as a person writes it")
        return int(digits)

    try:
        return json.loads(text, parse_constant=refuse_constant, parse_int=integer)
    except json.JSONDecodeError as exc:
        raise HandpropError(label, f"line {exc.lineno}, column {exc.colno}", f"invalid JSON: {exc.msg}",
                            "a valid JSON document") from None
    except Refused as exc:
        what, expected = exc.args
        raise HandpropError(label, None, f"invalid JSON: {what}", expected) from None
    except (RecursionError, MemoryError):
        raise HandpropError(label, None, "invalid JSON: nested too deeply", "a valid JSON document") from None
    except ValueError:
        raise HandpropError(label, None, "invalid JSON: a number with too many digits",
                            "a number as a person writes it") from None


def _parse_yaml(text: str, label: str):
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is a dependency
        raise HandpropError(label, None, "YAML needs PyYAML", "pip install pyyaml") from None
    loader = _yaml_loader(yaml)(text)
    try:
        return loader.get_single_data()
    except _YamlRefused as exc:
        mark = exc.node.start_mark
        raise HandpropError(label, f"line {mark.line + 1}, column {mark.column + 1}", exc.what, exc.expected) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise HandpropError(label, where, f"invalid YAML: {problem}", "a valid YAML document") from None
    except (RecursionError, MemoryError):
        raise HandpropError(label, None, "invalid YAML: nested too deeply", "a valid YAML document") from None
    except (ValueError, KeyError, IndexError, TypeError):
        raise HandpropError(label, None, "invalid YAML: a value that cannot be read", "a valid YAML document") from None
    finally:
        loader.dispose()


class _YamlRefused(Exception):
    def __init__(self, node, what: str, expected: str):
        super().__init__(what)
        self.node, self.what, self.expected = node, what, expected


def _yaml_loader(yaml):
    """PyYAML's safe loader (libyaml's when present), checking the node graph before anything is built from it.

    Refused: aliases (`*name`, which can expand a small file exponentially, the "billion laughs"), tags other
    than plain strings, numbers, booleans, null, lists and maps (`!!binary`, `!!set`, `!!python/...`), a tag
    that makes a value other than it reads (`!!int abc`), and numbers longer than a person writes. Dates stay
    text, as in JSON.
    """
    base = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

    class Loader(base):
        def get_single_data(self):
            node = self.get_single_node()
            if node is None:
                return None
            self.check_nodes(node)
            return self.construct_document(node)

        def check_nodes(self, root) -> None:
            """One walk over the composed nodes, without recursion; an alias is a node reached a second time."""
            seen: set[int] = set()
            stack = [(root, 0)]
            while stack:
                node, depth = stack.pop()
                if id(node) in seen:
                    raise _YamlRefused(node, "a YAML alias (*name) repeats the node anchored here",
                                       "each value written out; aliases are not read")
                seen.add(id(node))
                if depth > MAX_NESTING:
                    raise _YamlRefused(node, f"nested more than {MAX_NESTING} levels deep",
                                       "sections of keys, lists and numbers, as docs/problem-files.md shows")
                if isinstance(node, yaml.ScalarNode):
                    self.check_scalar(node)
                elif node.tag not in _YAML_PLAIN_TAGS:
                    raise _YamlRefused(node, f"the YAML tag {_tag_name(node.tag)} is not read", "plain lists and maps")
                if isinstance(node, yaml.SequenceNode):
                    stack.extend((child, depth + 1) for child in node.value)
                elif isinstance(node, yaml.MappingNode):
                    stack.extend((part, depth + 1) for pair in node.value for part in pair)

        def check_scalar(self, node) -> None:
            plain = not node.style  # libyaml marks a plain scalar '', PyYAML None
            implicit = self.resolve(yaml.ScalarNode, node.value, (plain, not plain))
            if node.tag == "tag:yaml.org,2002:timestamp" and implicit == node.tag:
                node.tag = "tag:yaml.org,2002:str"
            elif node.tag != implicit and not (node.tag == "tag:yaml.org,2002:str" or
                                               node.tag == "tag:yaml.org,2002:merge" and node.value == "<<"):
                raise _YamlRefused(node, f"the YAML tag {_tag_name(node.tag)} on {node.value[:30]!r} is not read",
                                   "plain text, numbers, true/false and null, without tags")
            number = node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
            if number and len(node.value) > MAX_NUMBER_DIGITS:  # 1:0:0:... is base 60, quadratic to convert
                raise _YamlRefused(node, "a number with too many digits", "a number as a person writes it")

    return Loader


def _tag_name(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


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
    if isinstance(value, int) and abs(value).bit_length() > 64:
        return f"an integer of about {int(abs(value).bit_length() * 0.30103) + 1} digits"  # str() of it may refuse
    if hasattr(value, "isoformat"):  # TOML dates and times
        return f"the date or time {value.isoformat()}"
    return f"the value {value!r}"



def write_file(path: str, content: str | bytes) -> None:
    """Write a file whole or not at all, as `> path` would: into a temporary file beside it, then renamed over
    it, so that a failure never leaves half a file (or half an overwritten one), nor the temporary file.

    A file replaced keeps its permissions; a new one gets those the umask leaves of rw-rw-rw-. A symbolic
    link is written through, to the file it names.
    """
    data = _encoded(path, content)
    target = os.path.realpath(path)  # a link stays a link, as the shell's redirection keeps it
    temporary = None
    try:
        try:
            # Writing new content clears set-user-ID and set-group-ID; the permission bits are kept.
            mode = os.stat(target).st_mode & 0o777
        except FileNotFoundError:
            mode = None
        handle, temporary = _create_beside(target)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())  # a full disk is reported here, not as an empty file after the rename
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
        temporary = None
    except OSError as exc:
        raise HandpropError(path, None, f"cannot write: {exc.strerror or exc}", "a writable path") from None
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def _encoded(path: str, content: str | bytes) -> bytes:
    if isinstance(content, bytes):
        return content
    try:
        return content.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: no file's text holds one, but a page's or a program's can
        raise HandpropError(path, f"character {exc.start + 1}", "cannot write: not valid Unicode text",
                            "text without lone surrogates") from None


def _create_beside(target: str) -> tuple[int, str]:
    """A new, empty file in target's folder: (descriptor, path). Unlike tempfile.mkstemp, which makes it
    rw-------, it is opened with rw-rw-rw- so that the system applies the umask, as for any new file;
    the umask itself is not read, since reading it means setting it, for every thread at once."""
    import errno
    import secrets

    directory = os.path.dirname(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(10):  # 48 random bits: a name taken twice running is already a marvel
        name = os.path.join(directory, f".handprop-{secrets.token_hex(6)}.tmp")
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", directory)
