"""The page's step-through: the forward pass equation by equation, in the program's order, then the backward
pass node by node, in the worked solution's order. Each step names the program's node(s), the worked
solution's element it is explained in (`anchor`), the diagram's elements to mark (`shapes`: its data-node
ids; `edges`: its data-edge ids) and a caption. Worked out here from the program and the records, and
matched to the ids the page's own diagram and worked solution hold, so the page only marks what it is told.
"""

from __future__ import annotations

import re
from html import unescape

_SUBSCRIPT = str.maketrans("0123456789", "\u2080\u2081\u2082\u2083\u2084\u2085\u2086\u2087\u2088\u2089")
_IDS = re.compile(r'\bid="([^"]+)"')
_NODES = re.compile(r'<g data-node="([^"]*)"')
_EDGES = re.compile(r'<g data-edge="([^"]*)" data-source="([^"]*)" data-target="([^"]*)"')
_STAGE = re.compile(r"cell-s(\d+)-")  # a layer-kinds diagram's cell: its stage is the stack's layer number


def walk(solution, *, html: str, svg: str, decimals: int | None = None) -> list[dict]:
    """The steps, each {phase, node, anchor, shapes, edges, text}: phase "forward" (one per equation, its
    targets joined by ", " as `node`) or "backward" (one per computed node, the loss first).

    >>> from handprop import load, solve
    >>> from handprop.serve.tasks import solution_parts
    >>> parts = solution_parts(solve(load("homework")))
    >>> [(s["phase"], s["node"], s["anchor"]) for s in parts["walk"]][2::9]
    [('forward', 'h3', 'node-h3'), ('backward', 'y1', 'backward-y1'), ('backward', 'h3', 'backward-h3')]
    >>> parts["walk"][2]["text"], parts["walk"][2]["edges"]
    ('h₃ = w₅·x₁ + w₆·x₂ + b₃ = 0.44', ['edge-w5', 'edge-w6'])
    """
    from ..render.diagram_graph import expression_text
    from ..render.numbers import DEFAULT_DECIMALS, fixed
    from ..render.derivation_backward import slug

    places = decimals if decimals is not None else (solution.decimals if solution.decimals is not None
                                                    else DEFAULT_DECIMALS)
    program = solution.problem.program
    anchors = {unescape(name): k for k, name in enumerate(_IDS.findall(html))}
    first = next(iter(anchors), "")
    shapes_of = _shapes(solution, [unescape(n) for n in _NODES.findall(svg)])
    edges = [tuple(map(unescape, e)) for e in _EDGES.findall(svg)]
    arrows = [e for e, source, target in edges if e.startswith("arrow-")]  # a kinds diagram's, one per stage

    def diagram(names: tuple) -> tuple[list, list]:
        shapes = [s for name in names for s in shapes_of(name)]
        targets = {s.removeprefix("node-") for s in shapes} | set(names) | {", ".join(names)}
        marked = [e for e, source, target in edges if target and target in targets]
        for s in shapes:  # a kinds diagram's stage is reached by its arrow: the k-th arrow into stage k
            stage = _STAGE.match(s)
            number = int(stage.group(1)) if stage else (len(arrows) if s == f"node-{program.loss}" else 0)
            if 0 < number <= len(arrows) and arrows[number - 1] not in marked:
                marked.append(arrows[number - 1])
        return list(dict.fromkeys(shapes)), marked

    def stage_anchor(shapes: list, phase: str) -> str | None:
        for s in shapes:
            stage = _STAGE.match(s)
            if stage and f"{phase}-layer-{stage.group(1)}" in anchors:
                return f"{phase}-layer-{stage.group(1)}"
        return None

    def value(values) -> str:
        shown = fixed(values[0], places) if values else "?"
        return shown + (" (sample 1)" if solution.problem.batch_size > 1 else "")

    steps, equations = [], program.equations
    previous = "forward" if "forward" in anchors else first
    for eq in equations:
        shapes, marked = diagram(eq.targets)
        anchor = next((f"node-{slug(t)}" for t in eq.targets if f"node-{slug(t)}" in anchors), None)
        anchor = anchor or stage_anchor(shapes, "forward") or previous
        previous = anchor
        values = ", ".join(value(solution.nodes[t].values) for t in eq.targets)
        text = f"{', '.join(eq.targets)} = {expression_text(eq.expr)} = {values}"
        steps.append({"phase": "forward", "node": ", ".join(eq.targets), "anchor": anchor, "shapes": shapes,
                      "edges": marked, "text": _subscripts(text)})
    backward = []
    fallback = "backward" if "backward" in anchors else first
    for number, eq in enumerate(reversed(equations)):
        for place, target in enumerate(eq.targets):
            shapes, marked = diagram((target,))
            anchor = next((a for a in (f"backward-{slug(target)}", f"grad-{slug(target)}") if a in anchors), None)
            anchor = anchor or stage_anchor(shapes, "backward") or fallback
            gradients = solution.nodes[target].gradients
            text = f"\u2202{program.loss}/\u2202{target} = {value(gradients) if gradients else '?'}"
            backward.append(((anchors.get(anchor, 0), number, place), {
                "phase": "backward", "node": target, "anchor": anchor, "shapes": shapes, "edges": marked,
                "text": _subscripts(text)}))
    backward.sort(key=lambda entry: entry[0])  # the worked solution's order; within one anchor, backward's
    return steps + [step for _, step in backward]


def _shapes(solution, nodes: list):
    """A function from a program's name to the diagram's node ids drawing it: its own node (or its equation's,
    for a multi-output op), a layered network's unit for its sum as for its activation, a kinds diagram's cells."""
    known = set(nodes)
    units = {}
    if solution.problem.network is not None:
        from ..problem.layered import unit_names

        units = {pre: post for layer in unit_names(solution.problem.network) for pre, post in layer}
    joint = {}
    for eq in solution.problem.program.equations:
        for target in eq.targets:
            joint[target] = ", ".join(eq.targets)
    cells: dict[str, list] = {}
    for node in nodes:
        cell = re.fullmatch(r"cell-s\d+-(?:pre-)?(.+)", node)
        if cell:
            cells.setdefault(cell.group(1), []).append(node)

    def shapes(name: str) -> list:
        for candidate in (name, units.get(name), joint.get(name)):
            if candidate and f"node-{candidate}" in known:
                return [f"node-{candidate}"]
        return cells.get(name, [])

    return shapes


def _subscripts(text: str) -> str:
    """A name's trailing number as a subscript, as the worked solution writes it: w12 -> w₁₂."""
    return re.sub(r"(?<![\w.])([A-Za-z]+)(\d+)\b", lambda m: m.group(1) + m.group(2).translate(_SUBSCRIPT), text)
