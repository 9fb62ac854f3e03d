"""The package's shape, as docs/architecture.md draws it: no import cycles (imports inside functions count),
no private name used across modules, a first-line docstring in every module, few modules at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import handprop

SRC = Path(handprop.__file__).parent
PACKAGES = ("core", "problem", "engine", "render", "pytorch", "teach", "serve", "cli")


def modules() -> dict[str, Path]:
    """dotted name -> file, for every module of the package (a package's __init__ under its own name)."""
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = ["handprop", *path.relative_to(SRC).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set) -> dict[str, list[str]]:
    """The package's modules this one imports, anywhere in it, each with the names taken from it."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module
            for alias in node.names:
                target = f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module
                found.setdefault(target, []).append(alias.name if target == module else "")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name, [])
    resolved: dict[str, list[str]] = {}
    for target, names in found.items():
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.setdefault(target, []).extend(names)
    return resolved


def graph() -> dict[str, dict[str, list[str]]]:
    known = modules()
    return {name: imports(name, path, set(known)) for name, path in known.items()}


def cycles(edges: dict[str, set]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_counting_imports_inside_functions():
    # A package's __init__ importing its own modules is no cycle: it only hands their names on.
    edges = {name: {t for t in targets if not t.startswith(name + ".")} for name, targets in graph().items()}
    assert cycles(edges) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_private_name_is_used_across_modules():
    private = [f"{name} takes {taken} from {target}" for name, targets in graph().items()
               for target, names in targets.items() for taken in names
               if taken.startswith("_") and not taken.startswith("__")]
    assert private == []


def test_every_module_says_what_it_holds():
    for name, path in modules().items():
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert docstring and docstring.splitlines()[0].strip(), name


def test_the_top_holds_few_modules_and_each_stage_has_its_room():
    top = [p.name for p in SRC.glob("*.py")]
    assert len(top) <= 12, top
    assert all((SRC / package / "__init__.py").is_file() for package in PACKAGES)
