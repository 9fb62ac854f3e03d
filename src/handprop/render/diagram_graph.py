"""An equation problem as its computation graph, laid out in layers from the inputs to the loss.

One node per equation, showing its expression, value and gradient dL/dnode (L the loss, by its own
name; for a batch, the mean loss, and the nodes at sample 1); parameters and data as
leaves. The layout is the layered one of Sugiyama et al.: each equation one layer right of the deepest
name it reads, each leaf just left of its first reader; an edge that spans several layers passes
through a bend point in each, so no edge runs through a node; a name read more than SPAN layers to the
right is drawn again beside that reader instead, so that the drawing grows as the program does; barycentre
sweeps then order each layer to reduce crossings.
"""

from __future__ import annotations

from ..core.errors import HandpropError
from ..core.ops import OPS
from ..core.program import Apply, Const, names_in
from .diagram_layered import MARGIN, NEUTRAL, batch_note, finish, gradient_runs, gradient_words, node_gradient, number
from .geometry import text_width
from .numbers import significant
from .scene import FONT_SIZE, LINE, Edge, Node, Text, name_runs

LAYER_GAP = 70.0  # between the widest node of a layer and the next layer
ROW_GAP = 22.0
SWEEPS = 12
SPAN = 2  # layers an edge may cross: a name read further right is drawn again beside its reader
MAX_BOXES = 5_000  # boxes a drawing holds (equations, leaves, copies): beyond, it is refused before it is laid out
EXPRESSION_CHARACTERS = 34  # a longer expression is cut, with an ellipsis; the tooltip has it whole


# How a node's box writes each arithmetic operator (the op table's infix ops); functions are written as called.
ARITHMETIC_TEXT = {"add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0}\u00b7{1}", "div": "{0}/{1}", "pow": "{0}^{1}",
                   "neg": "-{0}"}


def expression_text(expr, parent: int = 0) -> str:
    """An expression in plain text, as a person types it: w*x + b, relu(h), elu(h, alpha=0.5)."""
    if isinstance(expr, Const):
        return significant(expr.value)
    if not isinstance(expr, Apply):
        return "".join(text for text, _ in name_runs(expr.name))  # a name's later version as c′, c″, c⁽³⁾
    op = OPS[expr.op]
    if op.infix:
        args = [expression_text(a, op.precedence + (1 if i else 0)) for i, a in enumerate(expr.args)]
        text = ARITHMETIC_TEXT[expr.op].format(*args)
        return f"({text})" if op.precedence < parent else text
    settings = [f"{name}={value:g}" if not isinstance(value, str) else f"{name}={value!r}"
                for name, value in expr.params]
    return f"{expr.op}({', '.join([expression_text(a) for a in expr.args] + settings)})"


def _layers(program) -> dict:
    layer: dict[str, int] = {}
    for eq in program.equations:
        depth = 1 + max((layer.get(n, 0) for n in names_in(eq.expr)), default=0)
        layer[eq.label] = depth
        for target in eq.targets:
            layer[target] = depth
    readers = program.readers()
    for leaf in list(program.parameters) + list(program.data):
        layer[leaf] = min(layer[r] for r in readers.get(leaf, ())) - 1 if leaf in readers else 0
    return layer


def graph_scene(solution, *, show: str = "names", decimals: int = 4, sweeps: int = SWEEPS):
    problem = solution.problem
    program = problem.program
    trace = solution.traces[0]
    layer = _layers(program)
    owner = {t: eq.label for eq in program.equations for t in eq.targets}  # node name -> its equation's node

    loss = program.loss
    batch = solution.batch_size
    boxes: dict[str, tuple] = {}  # node id -> (lines of runs, fill, stroke, title)
    # One convention throughout (batch_note): every gradient is of the batch's mean loss; a node's, at sample 1.
    for name in program.parameters:
        record = solution.parameters[name]
        lines = [name_runs(name), ((f"= {number(record.initial, decimals)}", 1.0),),
                 gradient_runs(loss, name, record.gradient, decimals)]
        if show == "updates":
            lines.append(name_runs(name + "'") + ((f" = {number(record.updated, decimals)}", 1.0),))
        boxes[name] = (lines, "#eff6ff", "#2166ac", f"parameter {name} = {record.initial!r}; d{loss}/d{name} = "
                                                     f"{record.gradient!r}" + (f" (mean {loss} over the batch of {batch})"
                                                                               if batch > 1 else "")
                       + f"; updated {record.updated!r}")
    for name in program.data:  # data: given, never updated, but with a gradient like any node
        gradient = node_gradient(solution, name)
        boxes[name] = ([name_runs(name), ((f"= {number(trace.values[name], decimals)}", 1.0),),
                        gradient_runs(loss, name, gradient, decimals)],
                       "#f3f4f6", "#6b7280", f"data {name} = {trace.values[name]!r}; d{loss}/d{name} = {gradient_words(gradient)}")
    for eq in program.equations:
        text = expression_text(eq.expr)
        full = f"{eq.label} = {text}"
        if len(text) > EXPRESSION_CHARACTERS:
            text = text[:EXPRESSION_CHARACTERS - 1] + "\u2026"
        lines = [tuple(r for t in eq.targets for r in name_runs(t) + ((", ", 1.0),))[:-1], ((text, 1.0),)]
        for t in eq.targets:
            lines.append(((f"= {number(trace.values[t], decimals)}", 1.0),) if len(eq.targets) == 1 else
                         name_runs(t) + ((f" = {number(trace.values[t], decimals)}", 1.0),))
            lines.append(gradient_runs(loss, t, node_gradient(solution, t), decimals))
        is_loss = loss in eq.targets
        boxes[eq.label] = (lines, "#fff7ed" if is_loss else "#ffffff", "#9a3412" if is_loss else "#1f2937",
                           full + "; " + "; ".join(f"{t} = {trace.values[t]!r}, d{loss}/d{t} = "
                                                  f"{gradient_words(node_gradient(solution, t))}" for t in eq.targets))

    # Edges, each broken into one step per layer through bend points. A name read more than SPAN layers
    # to the right of where it is drawn (a leaf that every equation of a long chain reads) is drawn again,
    # small, just left of that reader, as textbooks repeat it: an edge across every layer would need a bend
    # point in each, and the drawing would grow as the square of the chain.
    links = []
    copies = 0
    for eq in program.equations:
        for name in names_in(eq.expr):
            source = owner.get(name, name)
            if layer[eq.label] - layer[source] > SPAN:
                copies += 1
                copy = f"copy:{copies}"
                lines, fill, stroke, title = boxes[source]
                value = trace.values[name]
                boxes[copy] = ([name_runs(name), ((f"= {number(value, decimals)}", 1.0),)], fill, stroke,
                               f"{name} = {value!r}, drawn again beside its reader {eq.label}")
                layer[copy] = layer[eq.label] - 1
                source = copy
            links.append((source, eq.label, name))
    if len(boxes) > MAX_BOXES:
        raise HandpropError(problem.source, None, f"too large to draw: {len(boxes):,} boxes",
                            f"at most {MAX_BOXES:,}; `handprop explain` writes the same equations out")
    order: dict[int, list[str]] = {}
    for node_id in boxes:
        order.setdefault(layer[node_id], []).append(node_id)
    chains = []
    for source, target, name in links:
        path = [source]
        for step in range(layer[source] + 1, layer[target]):
            bend = f"bend:{source}>{target}:{step}"
            order.setdefault(step, []).append(bend)
            path.append(bend)
        path.append(target)
        chains.append((path, name, target))
    neighbours: dict[str, list[str]] = {}
    for path, _, _ in chains:
        for a, b in zip(path, path[1:]):
            neighbours.setdefault(a, []).append(b)
            neighbours.setdefault(b, []).append(a)
    layers = sorted(order)
    for sweep in range(sweeps):
        sequence = layers[1:] if sweep % 2 == 0 else layers[-2::-1]
        for index in sequence:
            reference = index - 1 if sweep % 2 == 0 else index + 1
            position = {n: i for i, n in enumerate(order.get(reference, []))}
            current = {n: i for i, n in enumerate(order[index])}

            def centre(node_id: str, position=position, current=current) -> float:
                near = [position[n] for n in neighbours.get(node_id, []) if n in position]
                return sum(near) / len(near) if near else current[node_id]

            order[index].sort(key=centre)

    # Sizes and places.
    size = {}
    for node_id, (lines, _, _, _) in boxes.items():
        width = max(text_width(line, FONT_SIZE) for line in lines) + 20
        size[node_id] = (max(width, 44.0), len(lines) * LINE + 12)
    column_width = {i: max((size[n][0] for n in order[i] if n in size), default=10.0) for i in layers}
    heights = {i: sum(size[n][1] if n in size else 8.0 for n in order[i]) + ROW_GAP * (len(order[i]) - 1)
               for i in layers}
    tallest = max(heights.values())
    place: dict[str, tuple] = {}
    column_edges: dict[int, tuple] = {}  # layer -> (left, right) of its column
    x = MARGIN
    for i in layers:
        column_edges[i] = (x, x + column_width[i])
        x += column_width[i] / 2
        y = MARGIN + (tallest - heights[i]) / 2
        for n in order[i]:
            h = size[n][1] if n in size else 8.0
            place[n] = (x, y + h / 2)
            y += h + ROW_GAP
        x += column_width[i] / 2 + LAYER_GAP

    nodes = []
    for node_id, (lines, fill, stroke, title) in boxes.items():
        cx, cy = place[node_id]
        w, h = size[node_id]
        top = cy - h / 2 + 6
        texts = tuple(Text(cx, top + (k + 0.8) * LINE, line, weight="bold" if k == 0 else "normal",
                           color="#111827" if k == 0 else "#374151") for k, line in enumerate(lines))
        shown = node_id.replace(":", "-") if node_id.startswith("copy:") else f"node-{node_id}"
        nodes.append(Node(shown, cx, cy, "rect", w, h, fill, stroke, texts, title))
    # Ports: a node's incoming edges meet its left side spread out, in the order they arrive; outgoing
    # edges leave its right side the same way.
    incoming: dict[str, list] = {}
    outgoing: dict[str, list] = {}
    for number_, (path, _, _) in enumerate(chains):
        incoming.setdefault(path[-1], []).append((place[path[-2]][1], number_))
        outgoing.setdefault(path[0], []).append((place[path[1]][1], number_))
    port_in, port_out = {}, {}
    for ports, found in ((port_in, incoming), (port_out, outgoing)):
        for node_id, arrivals in found.items():
            arrivals.sort()
            height = size[node_id][1] * 0.6
            for k, (_, number_) in enumerate(arrivals):
                offset = 0.0 if len(arrivals) == 1 else -height / 2 + height * k / (len(arrivals) - 1)
                ports[number_] = place[node_id][1] + offset
    edges = []
    for number_, (path, name, target) in enumerate(chains):
        # Out of the source's side to its column's edge, across (through a bend point in each layer it
        # passes), and in from the target column's edge: between columns there are only edges.
        first, last = place[path[0]], place[path[-1]]
        points = [(first[0] + size[path[0]][0] / 2, port_out[number_]),
                  (column_edges[layer[path[0]]][1], port_out[number_])]
        points += [place[p] for p in path[1:-1]]
        points += [(column_edges[layer[path[-1]]][0], port_in[number_]),
                   (last[0] - size[path[-1]][0] / 2, port_in[number_])]
        points = [p for k, p in enumerate(points) if k == 0 or p != points[k - 1]]
        partials = [f"d{t}/d{name} = {gradient_words(trace.partials[t][name])}" for t in target.split(", ")
                    if name in trace.partials.get(t, {})]
        edges.append(Edge(f"edge-{name}-{target}", name, target, tuple(points), NEUTRAL, 1.3,
                          f"{name} \u2192 {target}; " + "; ".join(partials), arrow=True))
    legend = [("note", f"each node: its expression, its value and its gradient \u2202{loss}/\u2202node"),
              ("note", "blue: parameters (trained); grey: data")]
    if copies:
        legend.append(("note", "a small box without a gradient: a name drawn again beside a reader far from it "
                               "(its gradient is on the original)"))
    if batch > 1:
        legend.append(("note", batch_note(solution)))
    return finish(nodes, edges, [], legend, problem.title)
