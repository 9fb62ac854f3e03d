"""A network of layer kinds (problem.stack) as a diagram: each value a grid of numbered cells, coloured by value.

Stages left to right, wrapping into rows a page wide: the input, then each layer's output (its pre-activation and,
beneath or beside it, its activation), then the loss with the targets. Between two stages an arrow titled with the
layer's kind, settings and output shape, and beneath it the layer's parameter tensors as small grids (a kernel
K{n}[o,c] per pair of channels, a bias as a row). A grid (C, H, W) is drawn as C grids H x W; (A, B) as one
matrix, time across for a recurrent layer's input and output; a vector as a column (a flatten: the grid unrolled).
Pooling windows are outlined on the grid they pool, each max's cell framed (the entry its gradient goes to, read
from the engine's local partials); an attention layer's probability rows (its softmax outputs) are drawn as a
heat-map. Cells show names, values, gradients dL/d(node), or for parameters their updated values, as `show`
says; a cell's colour is its number against the largest of its grid's group (blue positive, orange negative).

Grids beyond MAX_SIDE rows or columns, vectors beyond MAX_VECTOR, more than MAX_GRIDS channels and more than
MAX_LAYERS layers are cut, with an ellipsis and a note, so that the drawing stays bounded.
"""

from __future__ import annotations

import math
from ..core.frozen import dataclass, field, replace
from itertools import product

from ..core.ops import OPS
from ..core.program import Apply, names_in
from ..problem.kinds import KINDS
from ..problem.kinds.base import Grid, StackLayer, grid_names
from ..problem.kinds.grids import Conv, Dense, Pool
from ..problem.layered import LOSSES
from .diagram_layered import NEGATIVE, POSITIVE, gradient_number, gradient_words, number
from .geometry import Box, text_width, union
from .scene import FONT_SIZE, LINE, Edge, Node, Scene, Text

MAX_SIDE = 8  # rows or columns of a grid drawn: beyond, the first ones, an ellipsis and the last
MAX_VECTOR = 12  # entries of a vector drawn
MAX_GRIDS = 3  # grids of one value drawn (channels, kernel pairs, attention heads)
MAX_LAYERS = 12  # layers drawn: beyond, the first and the last ones, and a note between
PAGE_WIDTH = 1000.0  # a row of stages wraps beyond this
TENSORS_WIDE = 300.0  # a layer's parameter tensors side by side up to this width, then in another row
CELL_HEIGHT, CELL_FONT = 22.0, 10.0
MARGIN, TITLE_HEIGHT, ROW_GAP, GAP_PAD = 24.0, 38.0, 36.0, 14.0
RECURRENT = ("rnn", "lstm", "gru")  # kinds whose (T, H) grids are drawn with time across
GREY, DARK = "#6b7280", "#1f2937"
WINDOW, MAXIMUM = "#7c3aed", "#111827"


@dataclass
class _View:
    """One layer as lowered: its input grid, the kind's output grid, the grid after its activation, its equations."""

    n: int
    layer: object
    kind: object
    inputs: Grid
    made: Grid
    activated: Grid | None
    equations: list

    @property
    def output(self) -> Grid:
        return self.activated or self.made


def _views(stack) -> list[_View]:
    """The layers' grids and equations, named as stack.lower names them."""
    x = Grid(stack.input_shape, stack.inputs)
    tensors = {tensor.name: tensor.grid() for tensor in stack.tensors()}
    views = []
    for n, layer in enumerate(stack.layers, 1):
        kind = KINDS[layer.type]
        last = n == len(stack.layers)
        activated = layer.activation != StackLayer.activation  # the default: none
        prefix = ("o" if activated else "y") if last else f"{kind.prefix}{n}"
        named = Grid(layer.shape_out, grid_names(prefix, layer.shape_out))
        if isinstance(kind, (Conv, Dense)):  # its output is all it shows: not written out again (the costly ones)
            made, out = [], named
        else:
            try:
                made, out = kind.lower(layer, n, x, tensors, prefix)
            except NotImplementedError:  # a kind lowered over the whole batch only (batch-norm)
                made, out = [], named
        after = Grid(out.shape, grid_names("y" if last else f"a{n}", out.shape)) if activated else None
        views.append(_View(n, layer, kind, x, out, after, made))
        x = after or out
    return views


@dataclass
class _Block:
    """Drawn things in the block's own coordinates (top left at 0, 0), its size, and where its cells are."""

    nodes: list = field(default_factory=list)
    texts: list = field(default_factory=list)
    edges: list = field(default_factory=list)
    cells: dict = field(default_factory=dict)  # (grid key, name) -> Box
    width: float = 0.0
    height: float = 0.0

    def put(self, other: _Block, dx: float, dy: float) -> None:
        self.nodes += [_move_node(n, dx, dy) for n in other.nodes]
        self.texts += [_move_text(t, dx, dy) for t in other.texts]
        self.edges += [replace(e, points=tuple((x + dx, y + dy) for x, y in e.points)) for e in other.edges]
        self.cells.update({key: Box(b.x0 + dx, b.y0 + dy, b.x1 + dx, b.y1 + dy) for key, b in other.cells.items()})
        self.width = max(self.width, other.width + dx)
        self.height = max(self.height, other.height + dy)

    def text(self, x: float, y: float, words: str, *, size: float = FONT_SIZE - 1, color: str = GREY,
             anchor: str = "start", weight: str = "normal") -> None:
        t = Text(x, y, ((words, 1.0),), size=size, anchor=anchor, color=color, weight=weight)
        self.texts.append(t)
        self.width = max(self.width, t.box.x1)
        self.height = max(self.height, t.box.y1)


def _move_text(t: Text, dx: float, dy: float) -> Text:
    return replace(t, x=t.x + dx, y=t.y + dy)


def _move_node(n: Node, dx: float, dy: float) -> Node:
    return replace(n, cx=n.cx + dx, cy=n.cy + dy, texts=tuple(_move_text(t, dx, dy) for t in n.texts))


def _shown(count: int, limit: int) -> list:
    """Indices drawn of an axis: all, or the first ones, None (an ellipsis) and the last."""
    return list(range(count)) if count <= limit else list(range(limit - 2)) + [None, count - 1]


def fill(value: float | None, scale: float) -> str:
    """A cell's colour: white at 0, deeper blue (positive) or orange (negative) with the size against the scale."""
    if value is None or not math.isfinite(value):
        return "#e5e7eb"
    strength = 0.7 * min(1.0, abs(value) / scale) if scale > 0 else 0.0
    base = POSITIVE if value > 0 else NEGATIVE
    channels = [int(base[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 + (c - 255) * strength):02x}" for c in channels)


def in_first_sample(name: str) -> str:
    """A node's name in sample 1 of a network lowered over its whole batch (the sample first among its indices)."""
    base, _, index = name.partition("[")
    return f"{base}[1,{index}" if index else f"{base}[1]"


class _Show:
    """What a cell shows and how it is coloured: a node's name, value or gradient; a parameter's name, value,
    gradient or updated value."""

    def __init__(self, solution, show: str, decimals: int):
        self.solution, self.show, self.decimals = solution, show, decimals

    def node(self, name: str) -> tuple[str, float | None, str]:
        nodes = self.solution.nodes
        record = nodes[name] if name in nodes else nodes[in_first_sample(name)]
        value = record.values[0]
        gradient = record.gradients[0] if record.gradients else None
        words = gradient_words(gradient if gradient is not None else math.inf)
        title = f"{name} = {value!r}; dL/d{name} = {words}"
        if self.show == "gradients":
            text = "\u2014" if gradient is None else gradient_number(gradient, self.decimals)
            return text, gradient, title
        return (name if self.show == "names" else number(value, self.decimals)), value, title

    def parameter(self, name: str) -> tuple[str, float | None, str]:
        record = self.solution.parameters[name]
        title = (f"{name} = {record.initial!r}; dL/d{name} = {record.gradient!r}; after the update "
                 f"{record.updated!r}")
        shown = {"names": record.initial, "values": record.initial, "gradients": record.gradient,
                 "updates": record.updated}[self.show]
        return (name if self.show == "names" else number(shown, self.decimals)), shown, title


def _grids(grid: Grid, time_across: bool) -> list[tuple[str, list]]:
    """A value as grids to draw: (caption, rows of names with None for an ellipsis), MAX_GRIDS at most."""
    shape, at = grid.shape, grid.at
    if len(shape) == 1:
        return [("", [[None] if i is None else [at(i)] for i in _shown(shape[0], MAX_VECTOR)])]
    if len(shape) == 2:
        rows, columns = (shape[1], shape[0]) if time_across else shape
        cell = (lambda r, c: at(c, r)) if time_across else at
        return [("time \u2192" if time_across else "",
                 [[None if r is None or c is None else cell(r, c) for c in _shown(columns, MAX_SIDE)]
                  for r in _shown(rows, MAX_SIDE)])]
    leading = list(product(*(range(n) for n in shape[:-2])))
    found = []
    for lead in leading[:MAX_GRIDS]:
        caption = ("" if len(leading) == 1 else f"channel {lead[0] + 1}" if len(lead) == 1 else
                   "[" + ",".join(str(i + 1) for i in lead) + "]")
        found.append((caption, [[None if r is None or c is None else at(*lead, r, c)
                                 for c in _shown(shape[-1], MAX_SIDE)] for r in _shown(shape[-2], MAX_SIDE)]))
    if len(leading) > MAX_GRIDS:
        found.append((f"+ {len(leading) - MAX_GRIDS} more", []))
    return found


def _draw_grids(key: str, grids: list, describe, marked: frozenset = frozenset()) -> _Block:
    """Grids stacked top to bottom, each with its caption; every cell a Node with its number, coloured against
    the largest number of the block."""
    described = {name: describe(name) for _, rows in grids for row in rows for name in row if name is not None}
    scale = max((abs(v) for _, v, _ in described.values() if v is not None and math.isfinite(v)), default=0.0)
    width = max([text_width(((text, 1.0),), CELL_FONT) + 10 for text, _, _ in described.values()] + [30.0])
    block, y = _Block(), 0.0
    for caption, rows in grids:
        if caption:
            block.text(0, y + 11, caption, size=CELL_FONT)
            y += 15
        for r, row in enumerate(rows):
            for c, name in enumerate(row):
                cx, cy = (c + 0.5) * width, y + (r + 0.5) * CELL_HEIGHT
                if name is None:  # an ellipsis: a row's left out (vertical dots), or a column's
                    mark = "\u22ee" if not any(row) else "\u22ef"
                    block.text(cx, cy + 4, mark, size=CELL_FONT, anchor="middle")
                    continue
                text, value, title = described[name]
                bold = name in marked
                inner = Text(cx, cy + 3.5, ((text, 1.0),), size=CELL_FONT, color=DARK, weight="bold" if bold else "normal")
                block.nodes.append(Node(f"cell-{key}-{name}", cx, cy, "cell", width, CELL_HEIGHT, fill(value, scale),
                                        "#9ca3af", (inner,), title))
                if bold:
                    block.nodes.append(Node(f"max-{key}-{name}", cx, cy, "frame", width - 5, CELL_HEIGHT - 5, "none",
                                            MAXIMUM, (), f"{name}: the largest of its pooling window, where its "
                                                         f"gradient goes"))
                block.cells[(key, name)] = Box.around(cx, cy, width, CELL_HEIGHT)
        block.width = max(block.width, width * max((len(row) for row in rows), default=0))
        y += len(rows) * CELL_HEIGHT + (8 if rows else 0)
        block.height = max(block.height, y)
    return block


def _side_by_side(parts: list[tuple[_Block, str]], vertical: bool) -> _Block:
    """Blocks one after another (beneath, or beside), each joined to the one before by its words (an activation)."""
    block = _Block()
    for index, (part, words) in enumerate(parts):
        if index and vertical:
            top = block.height + 4
            block.text(0, top + 12, f"\u2193 {words}", size=CELL_FONT, color=DARK)
            block.put(part, 0, top + 18)
        elif index:
            left = block.width + 8
            block.text(left, CELL_HEIGHT / 2 + 4, f"\u2192 {words}", size=CELL_FONT, color=DARK)
            block.put(part, block.width + 8, 0)
        else:
            block.put(part, 0, 0)
    return block


def _title(block: _Block, words: str, detail: str) -> _Block:
    titled = _Block()
    titled.text(0, 13, words, size=FONT_SIZE, color="#111827", weight="bold")
    titled.text(0, 28, detail, size=CELL_FONT)
    titled.put(block, 0, TITLE_HEIGHT)
    return titled


def _base(grid: Grid) -> str:
    return grid.names[0].split("[")[0]


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _summary(layer) -> str:
    """A layer's kind and settings in a few words: conv2d 1→1, 2×2 kernel."""
    words = [layer.type]
    settings = dict(layer.settings)
    for key, value in settings.items():
        if key in ("channels", "units"):
            words.append(f"{layer.shape_in[0]}\u2192{value}")
        elif key == "kernel":
            words.append("\u00d7".join(map(str, value)) + (" window" if "pool" in layer.type else " kernel"))
        elif key == "bias":
            words += [] if value else ["no bias"]
        elif key == "padding":
            words += [f"padding {'×'.join(map(str, value))}"] if any(value) else []
        elif key == "stride":
            words += [f"stride {'×'.join(map(str, value))}"] if value != settings.get("kernel") and any(
                s != 1 for s in value) else []
        elif isinstance(value, bool):
            words += [key] if value else []
        elif isinstance(value, (int, float, str)):  # a tensor's given values (a running mean) are left out
            words.append(f"{key} {value}")
    return words[0] + (" " + ", ".join(words[1:]) if len(words) > 1 else "")


def _gap(label: str, shape: str, tensors: list) -> _Block:
    """The arrow between two stages: its words above, the layer's parameter tensors beneath."""
    block = _Block()
    lines = [label + ":", shape] if shape else [label]
    width = max(text_width(((line, 1.0),), FONT_SIZE - 1) for line in lines)
    below, x, y, row = _Block(), 0.0, 0.0, 0.0
    for tensor_block in tensors:  # side by side, in rows no wider than TENSORS_WIDE (or the widest tensor)
        if x and x + tensor_block.width > TENSORS_WIDE:
            x, y, row = 0.0, y + row + 8, 0.0
        below.put(tensor_block, x, y)
        x, row = x + tensor_block.width + 14, max(row, tensor_block.height)
    width = max(width, below.width, 40.0) + 2 * GAP_PAD
    for k, line in enumerate(lines):
        block.text(width / 2, 11 + k * LINE, line, anchor="middle", color=DARK)
    arrow_y = TITLE_HEIGHT + CELL_HEIGHT / 2
    block.edges.append(Edge(f"arrow-{label}", "", "", ((4, arrow_y), (width - 4, arrow_y)), "#374151", 1.5,
                            f"{label}: {shape}" if shape else label, arrow=True))
    block.put(below, GAP_PAD, arrow_y + 10)
    block.width = width
    return block


def _tensor_block(tensor, show: _Show) -> _Block:
    grid = tensor.grid()
    if len(tensor.shape) == 1:  # a bias as a row
        rows = [[None if i is None else grid.at(i) for i in _shown(tensor.shape[0], MAX_VECTOR)]]
        grids = [("", rows)]
    else:
        grids = _grids(grid, False)
    drawn = _draw_grids(tensor.name, grids, show.parameter)
    block = _Block()
    block.text(0, 11, f"{tensor.name} {_shape(tensor.shape)}", size=CELL_FONT, color=DARK)
    block.put(drawn, 0, 16)
    return block


def _attention(view: _View, show: _Show) -> _Block | None:
    """The layer's probability rows (softmax outputs) as heat-maps, square ones per head where they divide so."""
    rows = [eq.targets for eq in view.equations
            if isinstance(eq.expr, Apply) and OPS[eq.expr.op].multi_output and OPS[eq.expr.op].probability]
    if not rows:
        return None
    size = len(rows[0])
    per = size if len(rows) % size == 0 and all(len(r) == size for r in rows) else len(rows)
    heads = [rows[i:i + per] for i in range(0, len(rows), per)]
    grids = []
    for h, head in enumerate(heads[:MAX_GRIDS]):
        picked = [None if r is None else head[r] for r in _shown(len(head), MAX_SIDE)]
        grids.append((f"head {h + 1}" if len(heads) > 1 else "",
                      [[None] * len(_shown(size, MAX_SIDE)) if row is None else
                       [None if c is None else row[c] for c in _shown(len(row), MAX_SIDE)] for row in picked]))
    if len(heads) > MAX_GRIDS:
        grids.append((f"+ {len(heads) - MAX_GRIDS} more", []))
    block = _Block()
    block.text(0, 11, "attention weights (each row a softmax)", size=CELL_FONT, color=DARK)
    block.put(_draw_grids(f"attention{view.n}", grids, show.node), 0, 16)
    return block


def _stage(key: str, view: _View | None, grid: Grid, show: _Show, marked: frozenset, time_across: bool) -> _Block:
    """A stage: the layer's output (pre-activation, then activation), or the input; titled. The grid the next
    layer reads is keyed `key`, a pre-activation `key`-pre."""
    if view is None:
        body = _draw_grids(key, _grids(grid, time_across), show.node, marked)
        return _title(body, f"input {_base(grid)}", _shape(grid.shape))
    made = _steps(view, show) or view.made
    parts = [(_draw_grids(f"{key}-pre" if view.activated else key, _grids(made, time_across or made is not view.made),
                          show.node, marked), "")]
    if view.activated is not None:
        parts.append((_draw_grids(key, _grids(view.activated, time_across), show.node, marked),
                      OPS[view.layer.activation].words))
    body = _side_by_side(parts, vertical=len(view.made.shape) > 1)
    heat = _attention(view, show)
    if heat is not None:
        body.put(heat, 0, body.height + 10)
    names = _base(view.made) + (f" \u2192 {_base(view.activated)}" if view.activated else "")
    if view.made.names == view.inputs.names:
        names = f"{_base(view.made)}, unrolled" if len(view.made.shape) == 1 else _base(view.made)
    detail = _shape(view.made.shape) + (f" \u00b7 {OPS[view.layer.activation].words}" if view.activated else "")
    return _title(body, names, detail)


def _steps(view: _View, show: _Show) -> Grid | None:
    """A recurrent layer that returns its last step only, unrolled: every step's hidden state h{n}[t,j] (its last
    column the output), where the solution holds them."""
    if view.layer.type not in RECURRENT or len(view.made.shape) != 1:
        return None
    shape = (view.layer.shape_in[0], view.made.shape[0])
    grid = Grid(shape, grid_names(_base(view.made), shape))
    nodes = show.solution.nodes
    found = all(name in nodes or in_first_sample(name) in nodes for name in grid.names)
    return grid if found and grid.names[-shape[1]:] == view.made.names else None


def _pools(views: list, trace) -> tuple[dict, frozenset]:
    """Each pooling layer's windows (the names of its input each output reads), and every max's entry: the one
    its local partial routes the gradient to."""
    windows, marked = {}, set()
    for view in views:
        if not isinstance(view.kind, Pool):
            continue
        inputs = set(view.inputs.names)
        windows[view.n] = [[name for name in names_in(eq.expr) if name in inputs] for eq in view.equations]
        for eq in view.equations:  # a max routes its gradient to one entry; an average to all of them
            routed = [name for name, d in trace.partials.get(eq.target, {}).items() if d and name in inputs]
            if len(routed) == 1 and len(set(names_in(eq.expr))) > 1:
                marked.update(routed)
    return windows, frozenset(marked)


def kinds_scene(solution, *, show: str = "names", decimals: int = 4) -> Scene:
    """The diagram of a network of layer kinds.

    >>> from handprop.problem.spec import from_dict
    >>> import handprop
    >>> problem = from_dict({"network": {"input_shape": [1, 2, 2], "loss": "mse", "layers": [
    ...     {"type": "flatten"}, {"units": 1}]}, "parameters": {"W2": [[1, 1, 1, 1]], "b2": [0]},
    ...     "data": {"x": [[[1, 2], [3, 4]]], "t": [1]}})
    >>> kinds_scene(handprop.solve(problem)).nodes[0].id
    'cell-x-x[1,1,1]'
    """
    stack = solution.problem.stack
    views = _views(stack)
    shower = _Show(solution, show, decimals)
    windows, marked = _pools(views, solution.traces[0])
    notes = []
    layers = views if len(views) <= MAX_LAYERS else views[:MAX_LAYERS - 2] + [None] + views[-2:]
    if len(views) > MAX_LAYERS:
        notes.append(f"layers {MAX_LAYERS - 1} to {len(views) - 2} of {len(views)} left out of the drawing")
    recurrent = [view.layer.type in RECURRENT for view in views]
    pieces = [_stage("x", None, Grid(stack.input_shape, stack.inputs), shower, marked, recurrent[0])]
    for view in layers:
        if view is None:
            pieces += [_gap("\u22ef", "", []), _Block()]
            continue
        tensors = [_tensor_block(t, shower) for t in view.kind.tensors(view.layer, view.n)]
        pieces.append(_gap(_summary(view.layer), _shape(view.layer.shape_out), tensors))
        time_across = recurrent[view.n - 1] or (view.n < len(views) and recurrent[view.n])
        pieces.append(_stage(f"s{view.n}", view, view.made, shower, marked, time_across))
    pieces += [_gap(LOSSES[stack.loss].short, "", []), _loss(solution, shower, decimals)]

    drawn = _Block()
    x, y, row_height = MARGIN, MARGIN, 0.0
    for index, piece in enumerate(pieces):
        gap = index % 2 == 1  # a gap starts a new row when it and its stage do not fit on this one
        if gap and x > MARGIN and x + piece.width + pieces[index + 1].width > PAGE_WIDTH:
            x, y, row_height = MARGIN, y + row_height + ROW_GAP, 0.0
        drawn.put(piece, x, y)
        x += piece.width + (0 if index % 2 else 4)
        row_height = max(row_height, piece.height)

    for n, groups in windows.items():
        key = f"s{n - 1}" if n > 1 else "x"
        seen, overlapping = set(), False
        for names in groups:
            overlapping |= bool(seen & set(names))
            seen |= set(names)
        if overlapping:
            groups = groups[:1]
            notes.append(f"layer {n}: its windows overlap; the first is outlined")
        for k, names in enumerate(groups):
            found = [drawn.cells[(key, name)] for name in names if (key, name) in drawn.cells]
            if found:
                box = union(found)
                drawn.nodes.append(Node(f"window-{n}-{k + 1}", (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2, "frame",
                                        box.width - 2, box.height - 2, "none", WINDOW, (),
                                        f"layer {n} ({views[n - 1].layer.type}): window {k + 1}"))
    return _finish(solution, show, drawn, bool(windows), bool(marked), notes)


def _loss(solution, show: _Show, decimals: int) -> _Block:
    """The targets, and the loss's box."""
    stack = solution.problem.stack
    names = stack.sample_targets(1) if getattr(stack, "batch", 0) else stack.targets  # sample 1's
    targets = _draw_grids("t", _grids(Grid(stack.output_shape, tuple(names)), False), show.node)
    block = _Block()
    block.text(0, 11, "targets t", size=CELL_FONT, color=DARK)
    block.put(targets, 0, 16)
    runs = (("L = " + number(solution.loss, decimals), 1.0),)
    words = (LOSSES[stack.loss].short, 1.0),
    width = max(text_width(runs, FONT_SIZE), text_width(words, FONT_SIZE - 1)) + 20
    cx, cy = block.width + 16 + width / 2, CELL_HEIGHT / 2 + 16
    node = Node("node-L", cx, cy, "rect", width, 40, "#fff7ed", "#9a3412",
                (Text(cx, cy - 2, runs, weight="bold"), Text(cx, cy + 13, words, size=FONT_SIZE - 1, color="#374151")),
                f"L = {solution.loss!r} ({LOSSES[stack.loss].short}, mean over the batch); after the update "
                f"{solution.loss_after!r}")
    block.nodes.append(node)
    block.width, block.height = cx + width / 2, max(block.height, cy + 20)
    return _title(block, "loss", "")


def _finish(solution, show: str, drawn: _Block, windows: bool, marked: bool, notes: list) -> Scene:
    """The drawing with its legend beneath, sized around it."""
    nodes, texts, edges = drawn.nodes, drawn.texts, drawn.edges
    shown = {"names": "each cell: its name, coloured by its value",
             "values": "each cell: its value",
             "gradients": "each cell: the gradient \u2202L/\u2202(node) of a node, dL/d\u03b8 of a parameter",
             "updates": "each cell: a node's value; a parameter's value after the update"}[show]
    legend = [shown, "colour: blue positive, orange negative, deeper the larger against its grid's largest"]
    if windows:
        legend.append("pooling windows outlined" + ("; each window's max framed (its gradient goes there)"
                                                   if marked else ""))
    samples = getattr(solution.problem.stack, "batch", 0) or solution.batch_size
    if samples > 1:
        legend.append(f"values: sample 1 of {samples}")
    legend += notes
    extent = union([n.box for n in nodes] + [t.box for t in texts] + [Box(MARGIN, MARGIN, MARGIN, MARGIN)])
    bottom = extent.y1 + 18
    placed = []
    for words in legend:
        bottom += LINE + 3
        texts.append(Text(MARGIN, bottom, ((words, 1.0),), size=FONT_SIZE - 1, anchor="start", color="#374151"))
        placed.append(("note", words, bottom - 4))
    width = max([extent.x1] + [t.box.x1 for t in texts]) + MARGIN
    return Scene(width, bottom + MARGIN, tuple(nodes), tuple(edges), tuple(texts), tuple(placed),
                 solution.problem.title, "A network of layer kinds: each layer's values as grids, its parameters "
                                         "beneath the arrows")
