"""A layered network as the homework's Figure 1 would draw it: columns of units, an edge per weight.

Inputs on the left, then each layer's units (a circle per unit, its pre-activation and activation
written beneath), then the loss. Every edge's label is centred on its own edge, at a point along it
where the label overlaps no other label and covers no node, and where no other edge passes through
its centre; the gap between two columns widens until every label of the gap has such a place. Layers
wider than MAX_LABELLED_UNITS keep their edges (and their tooltips) but drop the labels, and say so.
"""

from __future__ import annotations

import math

from ..core.ops import OPS
from ..problem.layered import LOSSES, unit_biases, unit_names, weight_rows
from .geometry import Box, OrientedBox, distance_to_segment, union
from .numbers import fixed
from .scene import FONT_SIZE, LINE, Edge, Label, Node, Scene, Text, label_size, name_runs

MAX_LABELLED_UNITS = 8  # beyond this a gap's labels cannot all stay readable
RADIUS = 21.0
MARGIN = 24.0
TOP = 64.0  # room for the layer titles
GAP_MIN, GAP_STEP, GAP_MAX = 170.0, 20.0, 1400.0
STRICT_EDGES, STRICT_GAP_MAX = 24, 600.0  # gaps this sparse get labels that no other edge runs through
POSITIVE, NEGATIVE, NEUTRAL = "#2166ac", "#c2410c", "#6b7280"
# Where along its edge a label may sit, the middle first; the ends last, for dense gaps of long labels (∂L/∂w₃₆ = …).
_FRACTIONS = [0.5, 0.42, 0.58, 0.34, 0.66, 0.46, 0.54, 0.38, 0.62, 0.3, 0.7, 0.26, 0.74, 0.22, 0.78, 0.18, 0.82,
              0.14, 0.86, 0.1, 0.9]


def number(value: float, decimals: int) -> str:
    """A number for a diagram: fixed decimals, with a true minus sign."""
    return fixed(value, decimals).replace("-", "\u2212")


def gradient_number(value: float, decimals: int) -> str:
    """A node's gradient for a diagram; one that is no finite number (dL/dy of a softmax output that
    underflowed to 0, never formed by the engine, which takes the gradient to the logit directly) says so."""
    return number(value, decimals) if math.isfinite(value) else "beyond a float"


def gradient_words(value: float) -> str:
    """A node's gradient for a tooltip: its digits, or why there are none."""
    return repr(value) if math.isfinite(value) else "beyond a float (the output underflowed to 0; see its logit's)"


def node_gradient(solution, name: str, sample: int = 0) -> float:
    """A node's gradient as the diagrams show it: of the batch's mean loss (the records' own, carrying the 1/batch
    factor), at one sample, so that with the parameters' gradients (of the mean loss too) the chain rule
    multiplies out; NaN where it is no finite number."""
    record = solution.nodes.get(name)
    if record is None:  # a name the records do not keep: the sample's own adjoint, of its own loss
        return solution.traces[sample].adjoints.get(name, 0.0) / solution.batch_size
    value = record.gradients[sample]
    return math.nan if value is None else value


def gradient_runs(loss: str, name: str, value: float, decimals: int) -> tuple:
    """∂L/∂w₁ = 0.01, with the loss's own name."""
    return ((f"\u2202{loss}/\u2202", 1.0),) + name_runs(name) + ((" = " + gradient_number(value, decimals), 1.0),)


def edge_color(value: float) -> str:
    return POSITIVE if value > 0 else NEGATIVE if value < 0 else NEUTRAL


class _Column:
    """One column's units: name shown in the circle, lines written beneath, tooltip; and a bias node."""

    def __init__(self, units: list[tuple], bias_node: str | None):
        self.units = units  # (name, lines, title)
        self.bias_node = bias_node  # the bias node's id when biases are drawn as nodes feeding the next layer
        self.ys: list[float] = []
        self.bias_y: float | None = None


def _text_boxes(cx: float, cy: float, lines) -> list[Box]:
    return [Text(cx, cy + RADIUS + 4 + (k + 0.8) * LINE, line, size=FONT_SIZE - 1).box for k, line in enumerate(lines)]


def _place_gap(source: _Column, target: _Column, gap: float, edges: list[tuple], strict: bool) -> dict | None:
    """Label boxes for the gap's edges (in the gap's own coordinates, source column at x = 0), or None."""
    circles, boxes = [], []
    for x, column in ((0.0, source), (gap, target)):
        for (name, lines, _), y in zip(column.units, column.ys):
            circles.append((x, y, RADIUS + 2))
            boxes.extend(_text_boxes(x, y, lines))
        if column.bias_y is not None:
            circles.append((x, column.bias_y, RADIUS * 0.7 + 2))
    segments = [(0.0, y0, gap, y1) for _, y0, y1, _ in edges]
    labels: list[tuple] = []  # (shape, its bounding box): the box rules most pairs out cheaply
    placed: dict[str, OrientedBox] = {}
    for (name, y0, y1, size), segment in zip(edges, segments):
        angle = math.atan2(y1 - y0, gap)
        for t in _FRACTIONS:
            cx, cy = t * gap, y0 + t * (y1 - y0)
            label = OrientedBox(cx, cy, size[0], size[1], angle)
            padded = label.grown(2.5)
            bounds = padded.bounds
            if any(bounds.overlaps(b) and padded.overlaps(other) for other, b in labels):
                continue
            if any(bounds.overlaps(b) and padded.overlaps(b) for b in boxes):
                continue
            if any(padded.hits_circle(*c) for c in circles):
                continue
            others = [s for s in segments if s is not segment]
            if strict and any(label.crossed_by(*s) for s in others):
                continue  # strict: no other edge runs through the label
            if not strict and any(distance_to_segment(cx, cy, *s) < 6 for s in others):
                continue  # relaxed: no other edge runs through the label's centre
            labels.append((label, label.bounds))
            placed[name] = label
            break
        else:
            return None
    return placed


def _gap(source: _Column, target: _Column, edges: list[tuple]) -> tuple[float, dict]:
    """The narrowest gap that gives every label a place: clear of other edges where that can be had
    (sparse gaps), else clear of other labels with no other edge through its centre."""
    crowd = max(len(source.units), len(target.units))
    if len(edges) <= STRICT_EDGES:
        gap = GAP_MIN
        while gap <= STRICT_GAP_MAX:
            placed = _place_gap(source, target, gap, edges, strict=True)
            if placed is not None:
                return gap, placed
            gap += GAP_STEP
    gap = max(GAP_MIN, 34.0 * crowd)  # a dense gap needs room in proportion to its busiest column
    while gap <= GAP_MAX:
        placed = _place_gap(source, target, gap, edges, strict=False)
        if placed is not None:
            return gap, placed
        gap += GAP_STEP
    raise AssertionError("no room for the labels")  # pragma: no cover - MAX_LABELLED_UNITS keeps this away


def layered_scene(solution, *, show: str = "names", bias: str = "units", decimals: int = 4) -> Scene:
    problem = solution.problem
    network = problem.network
    trace = solution.traces[0]
    records = solution.parameters
    rows, biases, units = weight_rows(network), unit_biases(network), unit_names(network)
    # A layer's biases as nodes: every layer's with bias="nodes"; a bias shared by a layer's units always, as one
    # node feeding every unit (the classic 2-2-2 example's figure). A layer without bias has none.
    as_node = [layer.bias == "shared" or (bias == "nodes" and layer.bias != "none") for layer in network.layers]
    largest = max((abs(v) for v in problem.parameters.values()), default=0.0) or 1.0
    labelled = max(network.widths()) <= MAX_LABELLED_UNITS

    loss = problem.program.loss

    def label_runs(name: str, *, bias: bool = False) -> tuple:
        """A parameter's label as a textbook writes it: w₁ = 0.10, ∂L/∂w₁ = 0.01, w₁′ = 0.09 after the update;
        a bias written under its unit (`bias`) keeps its name first: + b₁, ∂L/∂b₁ = 0.01."""
        record = records[name]
        if show == "names":
            return name_runs(name)
        if show == "values":
            return name_runs(name) + ((" = " + number(record.initial, decimals), 1.0),)
        if show == "updates":
            return name_runs(name + "'") + ((" = " + number(record.updated, decimals), 1.0),)
        gradient = gradient_runs(loss, name, record.gradient, decimals)
        return name_runs(name) + ((", ", 1.0),) + gradient if bias else gradient

    def value_line(name: str) -> tuple:
        return name_runs(name) + ((" = " + number(trace.values[name], decimals), 1.0),)

    def input_lines(x: str) -> list:
        lines = [value_line(x)]
        if show == "gradients":  # an input is given, not trained, but the loss has a gradient with respect to it
            lines.append(gradient_runs(loss, x, node_gradient(solution, x), decimals))
        return lines

    columns = [_Column([(x, input_lines(x), f"input {x} = {trace.values[x]!r}; d{loss}/d{x} = "
                                            f"{gradient_words(node_gradient(solution, x))}") for x in network.inputs],
                       "bias-1" if as_node[0] else None)]
    for index, layer in enumerate(network.layers):
        cells = []
        for j, (h, a) in enumerate(units[index]):
            lines = [value_line(h), value_line(a)]
            if show == "gradients":
                lines.append(gradient_runs(loss, a, node_gradient(solution, a), decimals))
            if not as_node[index] and biases[index][j] is not None:
                lines.insert(0, (("+ ", 1.0),) + label_runs(biases[index][j], bias=True))
            title = (f"{h} = {trace.values[h]!r}; {a} = {OPS[layer.activation].words}({h}) = "
                     f"{trace.values[a]!r}; d{loss}/d{a} = {gradient_words(node_gradient(solution, a))}; "
                     f"d{loss}/d{h} = {gradient_words(node_gradient(solution, h))}")
            cells.append((a, lines, title))
        last = index == len(network.layers) - 1
        columns.append(_Column(cells, None if last or not as_node[index + 1] else f"bias-{index + 2}"))

    lines_per_unit = max(len(cell[1]) for column in columns for cell in column.units)
    pitch = 2 * RADIUS + lines_per_unit * LINE + 22
    rows_high = max(len(c.units) for c in columns) + (1 if any(as_node) else 0)
    for column in columns:
        count = len(column.units) + (1 if column.bias_node else 0)
        top = TOP + RADIUS + (rows_high - count) * pitch / 2
        if column.bias_node:
            column.bias_y, top = top, top + pitch
        column.ys = [top + j * pitch for j in range(len(column.units))]

    # Edges of each gap, widest label first among equals, then the gap that fits them.
    xs = [MARGIN + 70.0]
    placements = []
    for index in range(1, len(columns)):
        source, target = columns[index - 1], columns[index]
        gap_edges = []
        for j, (unit, row) in enumerate(zip(target.units, rows[index - 1])):
            for k, name in enumerate(row):
                gap_edges.append((name, source.ys[k], target.ys[j], label_size(label_runs(name))))
            b = biases[index - 1][j]
            if source.bias_y is not None and (j == 0 or b != biases[index - 1][0]):  # a shared bias's label once
                gap_edges.append((b, source.bias_y, target.ys[j], label_size(label_runs(b))))
        gap, placed = _gap(source, target, gap_edges) if labelled else (GAP_MIN + 40, {})
        placements.append(placed)
        xs.append(xs[-1] + gap)

    nodes, edges, texts = [], [], []
    sources_of = [[x for x in network.inputs]] + [[a for _, a in layer] for layer in units]
    for index, (column, x) in enumerate(zip(columns, xs)):
        for (name, lines, title), y in zip(column.units, column.ys):
            inner = [Text(x, y + 4.5, name_runs(name), size=FONT_SIZE + 1, weight="bold")]
            beneath = [Text(x, box.y1 - 0.25 * (FONT_SIZE - 1), line, size=FONT_SIZE - 1, color="#374151")
                       for line, box in zip(lines, _text_boxes(x, y, lines))]
            nodes.append(Node(f"node-{name}", x, y, "circle", 2 * RADIUS, 2 * RADIUS,
                              "#eef2f7" if index == 0 else "#ffffff", "#1f2937", tuple(inner + beneath), title))
        if column.bias_y is not None:
            nodes.append(Node(column.bias_node, x, column.bias_y, "circle", 1.4 * RADIUS, 1.4 * RADIUS, "#f3f4f6",
                              "#6b7280", (Text(x, column.bias_y + 4.5, (("1", 1.0),)),),
                              f"bias input of layer {index + 1}: the constant 1"))
    for index in range(1, len(columns)):
        source, target, placed = columns[index - 1], columns[index], placements[index - 1]
        x0, x1 = xs[index - 1], xs[index]
        for j, ((unit, _, _), row) in enumerate(zip(target.units, rows[index - 1])):
            pairs = [(name, sources_of[index - 1][k], source.ys[k]) for k, name in enumerate(row)]
            if source.bias_y is not None:
                pairs.append((biases[index - 1][j], "1", source.bias_y))
            for name, origin, y0 in pairs:
                value = problem.parameters[name]
                label = None
                shared = origin == "1" and network.layers[index - 1].bias == "shared"
                if name in placed and not (shared and j > 0):
                    shape = placed[name]
                    label = Label(OrientedBox(shape.cx + x0, shape.cy, shape.width, shape.height, shape.angle),
                                  label_runs(name), edge_color(value))
                edges.append(Edge(f"edge-{name}" + (f"-{unit}" if shared else ""), origin, unit,
                                  ((x0, y0), (x1, target.ys[j])), edge_color(value),
                                  1.0 + 3.0 * (abs(value) / largest),
                                  f"{name}: from {origin} to {unit}; value {value!r}; gradient d{loss}/d{name} = "
                                  f"{records[name].gradient!r}; after the update {records[name].updated!r}",
                                  label, dashed=origin == "1"))

    # The loss, to the right of the outputs.
    outputs = columns[-1]
    loss_x = xs[-1] + 130
    loss_y = sum(outputs.ys) / len(outputs.ys)
    loss_texts = (Text(loss_x, loss_y - 2, name_runs(loss) + ((" = " + number(solution.loss, decimals), 1.0),),
                       weight="bold"),
                  Text(loss_x, loss_y + 14, ((LOSSES[network.loss].short, 1.0),), size=FONT_SIZE - 1, color="#374151"))
    loss_width = max(t.box.width for t in loss_texts) + 20
    nodes.append(Node(f"node-{loss}", loss_x, loss_y, "rect", loss_width, 44, "#fff7ed", "#9a3412", loss_texts,
                      f"{loss} = {solution.loss!r} ({LOSSES[network.loss].short}, mean over the batch); "
                      f"after the update {solution.loss_after!r}"))
    for (name, _, _), y in zip(outputs.units, outputs.ys):
        edges.append(Edge(f"edge-{name}-{loss}", name, loss, ((xs[-1], y), (loss_x - loss_width / 2, loss_y)),
                          NEUTRAL, 1.0, f"{name} enters the loss {loss}"))

    titles = ["inputs"] + [f"hidden layer {i + 1}: {OPS[layer.activation].words}"
                           for i, layer in enumerate(network.layers[:-1])]
    titles.append(f"outputs: {OPS[network.layers[-1].activation].words}")
    for title, x in zip(titles + ["loss"], xs + [loss_x]):
        texts.append(Text(x, TOP - 30, ((title, 1.0),), weight="bold", color="#111827"))
    legend = _legend(show, as_node, labelled, solution)
    return finish(nodes, edges, texts, legend, problem.title)


def _legend(show: str, as_node: list, labelled: bool, solution) -> list[tuple]:
    loss = solution.problem.program.loss
    shown = {"names": "the parameter's name", "values": "the parameter's name and value",
             "gradients": f"the loss's gradient with respect to the parameter (\u2202{loss}/\u2202w = \u2026)",
             "updates": "the parameter's value after the update (w\u2032 = \u2026)"}[show]
    legend = [("positive", "positive weight"), ("negative", "negative weight"),
              ("width", "line width grows with the weight's size")]
    legend.append(("note", f"edge labels: {shown}" if labelled else
                   f"edge labels left out: a layer has more than {MAX_LABELLED_UNITS} units (hover an edge)"))
    kinds = {layer.bias for layer in solution.problem.network.layers}
    if all(as_node) or (any(as_node) and kinds <= {"shared", "none"}):
        legend.append(("note", "biases: the edges from the nodes marked 1" + (
            ", one bias shared by a layer's units" if "shared" in kinds else "")))
    elif any(as_node):
        legend.append(("note", "biases: the edges from the nodes marked 1 (a layer's shared bias), or written under "
                               "each unit (+ b)"))
    elif kinds != {"none"}:
        legend.append(("note", "biases: written under each unit (+ b)"))
    if "none" in kinds:
        legend.append(("note", "a layer without bias: no + b"))
    if solution.batch_size > 1:
        legend.append(("note", batch_note(solution, gradients=show == "gradients")))
    return legend


def batch_note(solution, *, gradients: bool = True) -> str:
    """The diagrams' one convention for a batch, in words."""
    loss, size = solution.problem.program.loss, solution.batch_size
    if not gradients:
        return f"node values: sample 1 of {size}"
    return (f"gradients of the mean loss {loss} over the batch of {size}; nodes for sample 1 (their gradients "
            f"carry the 1/{size}: summed over the samples they give the parameters')")


def finish(nodes, edges, texts, legend, title: str, description: str = "") -> Scene:
    """Shift everything so the drawing starts at the margin, and size the scene around it (legend below)."""
    boxes = [n.box for n in nodes] + [t.box for n in nodes for t in n.texts] + [t.box for t in texts]
    boxes += [e.label.shape.bounds for e in edges if e.label]
    extent = union(boxes)
    dx, dy = MARGIN - extent.x0, MARGIN - extent.y0
    moved_nodes = tuple(_move_node(n, dx, dy) for n in nodes)
    moved_edges = tuple(_move_edge(e, dx, dy) for e in edges)
    moved_texts = [_move_text(t, dx, dy) for t in texts]
    bottom = extent.y1 + dy + 18
    placed_legend = []
    for kind, text in legend:
        bottom += LINE + 3
        moved_texts.append(Text(MARGIN + (34 if kind != "note" else 0), bottom, ((text, 1.0),), size=FONT_SIZE - 1,
                                anchor="start", color="#374151"))
        placed_legend.append((kind, text, bottom - 4))
    width = max(extent.x1 + dx, max((t.box.x1 for t in moved_texts), default=0)) + MARGIN
    return Scene(width, bottom + MARGIN, moved_nodes, moved_edges, tuple(moved_texts), tuple(placed_legend), title,
                 description)


def _move_text(t: Text, dx: float, dy: float) -> Text:
    return Text(t.x + dx, t.y + dy, t.runs, t.size, t.anchor, t.color, t.weight)


def _move_node(n: Node, dx: float, dy: float) -> Node:
    return Node(n.id, n.cx + dx, n.cy + dy, n.shape, n.width, n.height, n.fill, n.stroke,
                tuple(_move_text(t, dx, dy) for t in n.texts), n.title)


def _move_edge(e: Edge, dx: float, dy: float) -> Edge:
    points = tuple((x + dx, y + dy) for x, y in e.points)
    label = None
    if e.label:
        s = e.label.shape
        label = Label(OrientedBox(s.cx + dx, s.cy + dy, s.width, s.height, s.angle), e.label.runs, e.label.color,
                      e.label.size)
    return Edge(e.id, e.source, e.target, points, e.color, e.width, e.title, label, e.dashed, e.arrow)
