"""The diagram: valid SVG, every parameter on it once, labels that overlap nothing, in a real browser too."""

from __future__ import annotations

import itertools
import os
import random
import re
import xml.etree.ElementTree as ElementTree

import pytest

import handprop
from conftest import ARTIFACTS, write
from handprop.problem.spec import from_dict
from handprop.render import diagram
from handprop.render.diagram_graph import graph_scene
from handprop.render.diagram_layered import MAX_LABELLED_UNITS, layered_scene
from handprop.render.geometry import distance_to_segment

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = "/usr/bin/chromium"


def network(widths: list[int], naming: str = "sequential", seed: int = 1):
    rng = random.Random(seed)
    last = {"units": widths[-1], "activation": "softmax" if widths[-1] > 1 else "sigmoid"}
    layers = [{"units": w, "activation": "tanh"} for w in widths[1:-1]] + [last]
    weights = sum(a * b for a, b in zip(widths, widths[1:]))
    return handprop.solve(from_dict({
        "network": {"inputs": widths[0], "layers": layers, "loss": "cross_entropy" if widths[-1] > 1 else "mse"},
        "parameters": {"w": [round(rng.uniform(-1, 1), 2) for _ in range(weights)],
                       "b": [round(rng.uniform(-1, 1), 2) for _ in range(sum(widths[1:]))]},
        "data": {"x": [0.5] * widths[0], "t": [1] + [0] * (widths[-1] - 1)}, "optimizer": {"lr": 0.1}}))


def texts(svg: str) -> list[str]:
    root = ElementTree.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


# -- the SVG -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("example", ["homework", "homework_equations", "shared_weight", "regression_batch",
                                     "logistic_bce"])
@pytest.mark.parametrize("show", ["names", "values", "gradients", "updates"])
def test_svg_parses_and_is_self_contained(example, show):
    svg = diagram(handprop.solve(handprop.load(example)), show=show)
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("viewBox").startswith("0 0 ")
    assert "font-family" in root.attrib and "sans-serif" in root.get("font-family")
    assert not re.search(r"(href|url\()", svg), "nothing outside the file"
    for group in root.iter(f"{SVG}g"):
        assert group.find(f"{SVG}title") is not None and group.find(f"{SVG}title").text


@pytest.mark.parametrize("bias", ["units", "nodes"])
def test_homework_has_each_parameter_name_exactly_once(bias):
    shown = texts(diagram(handprop.solve(handprop.load("homework")), bias=bias))
    names = [f"w{i}" for i in range(1, 13)] + [f"b{i}" for i in range(1, 6)]
    for name in names:
        count = sum(1 for text in shown if re.search(rf"(^|[^\w]){name}($|[^\w])", text.replace("+ ", "")))
        assert count == 1, (name, bias)


def test_values_gradients_and_updates_are_the_engines():
    solution = handprop.solve(handprop.load("homework"))
    for show, field, label in (("values", "initial", "{} = "), ("gradients", "gradient", "\u2202L/\u2202{} = "),
                               ("updates", "updated", "{}\u2032 = ")):
        shown = texts(diagram(solution, show=show, decimals=4))
        for name, record in solution.parameters.items():
            expected = (label.format(name) + f"{getattr(record, field):.4f}").replace("-", "\u2212")
            assert expected in shown or f"+ {expected}" in shown or f"+ {name}, {expected}" in shown, (show, expected)


def test_node_values_are_the_engines():
    solution = handprop.solve(handprop.load("homework"))
    shown = texts(diagram(solution, show="gradients", decimals=3))
    trace = solution.traces[0]
    for name in ("h1", "a1", "o2", "y2"):
        assert f"{name} = {trace.values[name]:.3f}".replace("-", "\u2212") in shown
    assert f"\u2202L/\u2202a2 = {trace.adjoints['a2']:.3f}".replace("-", "\u2212") in shown


# -- geometry ------------------------------------------------------------------------------------------

def _inside(shape, x: float, y: float) -> bool:
    u, v = shape.local(x, y)
    return abs(u) < shape.width / 2 and abs(v) < shape.height / 2


def _samples(shape, count: int = 9):
    """Points spread over a turned rectangle, for an overlap check independent of the layout's own."""
    (ux, uy), (vx, vy) = shape.axes()
    for i, j in itertools.product(range(count), repeat=2):
        a = (i + 0.5) / count - 0.5
        b = (j + 0.5) / count - 0.5
        yield shape.cx + a * shape.width * ux + b * shape.height * vx, shape.cy + a * shape.width * uy + b * shape.height * vy


SHAPES = [([2, 3, 2], "units"), ([3, 4, 4, 2], "units"), ([1, 1, 1], "nodes"), ([2, 3, 2], "nodes"),
          ([8, 8, 3], "units"), ([4, 8, 8, 2], "nodes")]


@pytest.mark.parametrize("widths, bias", SHAPES)
@pytest.mark.parametrize("show", ["names", "values", "gradients"])
def test_labels_overlap_no_label_and_no_node(widths, bias, show):
    scene = layered_scene(network(widths), show=show, bias=bias, decimals=2)
    labels = [e for e in scene.edges if e.label]
    assert len(labels) == sum(a * b for a, b in zip(widths, widths[1:])) + (sum(widths[1:]) if bias == "nodes" else 0)
    for first, second in itertools.combinations(labels, 2):
        if first.label.shape.bounds.overlaps(second.label.shape.bounds):
            assert not any(_inside(second.label.shape, x, y) for x, y in _samples(first.label.shape)), \
                (first.id, second.id)
    for edge in labels:
        shape = edge.label.shape
        (x0, y0), (x1, y1) = edge.points
        assert distance_to_segment(shape.cx, shape.cy, x0, y0, x1, y1) < 0.5, edge.id  # centred on its own edge
        for node in scene.nodes:
            near = shape.bounds.grown(60)
            if not (near.x0 < node.cx < near.x1 and near.y0 < node.cy < near.y1):
                continue
            for x, y in _samples(shape):
                if node.shape == "circle":
                    assert (x - node.cx) ** 2 + (y - node.cy) ** 2 >= node.r ** 2, (edge.id, node.id)
                else:
                    assert not (node.box.x0 < x < node.box.x1 and node.box.y0 < y < node.box.y1), (edge.id, node.id)
                for text in node.texts:
                    box = text.box
                    assert not (box.x0 < x < box.x1 and box.y0 < y < box.y1), (edge.id, node.id, text.runs)


def test_homework_labels_are_crossed_by_no_other_edge():
    scene = layered_scene(handprop.solve(handprop.load("homework")), show="values", decimals=2)
    for edge in scene.edges:
        if edge.label:
            for other in scene.edges:
                if other is not edge:
                    assert not edge.label.shape.crossed_by(*other.points[0], *other.points[-1]), (edge.id, other.id)


def test_wider_layers_drop_edge_labels_and_say_so():
    solution = network([2, MAX_LABELLED_UNITS + 1, 2])
    scene = layered_scene(solution)
    assert not any(e.label for e in scene.edges) and len(scene.edges) > 2 * (MAX_LABELLED_UNITS + 1)
    assert any("edge labels left out" in text for _, text, _ in scene.legend)
    assert all(e.title for e in scene.edges)


def test_computation_graph_edges_pass_through_no_node():
    for example in ("homework_equations", "shared_weight"):
        scene = graph_scene(handprop.solve(handprop.load(example)))
        boxes = {n.id: n.box for n in scene.nodes}
        for edge in scene.edges:
            for (x0, y0), (x1, y1) in zip(edge.points, edge.points[1:]):
                for node_id, box in boxes.items():
                    if node_id in (f"node-{edge.source}", f"node-{edge.target}") or \
                            node_id.startswith("node-") and edge.target in node_id.split("node-")[1].split(", "):
                        continue
                    for k in range(1, 20):
                        x, y = x0 + (x1 - x0) * k / 20, y0 + (y1 - y0) * k / 20
                        assert not (box.x0 + 1 < x < box.x1 - 1 and box.y0 + 1 < y < box.y1 - 1), (edge.id, node_id)


def _crossings(scene) -> int:
    segments = [(a, b, e.id) for e in scene.edges for a, b in zip(e.points, e.points[1:])]

    def cross(p, q, r, s) -> bool:
        def orient(a, b, c):
            return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        return orient(p, q, r) * orient(p, q, s) < 0 and orient(r, s, p) * orient(r, s, q) < 0

    return sum(1 for (p, q, e), (r, s, f) in itertools.combinations(segments, 2) if e != f and cross(p, q, r, s))


def test_computation_graph_has_few_crossings():
    solution = handprop.solve(handprop.load("homework_equations"))
    scene = graph_scene(solution)
    unordered = graph_scene(solution, sweeps=0)
    assert _crossings(scene) < _crossings(unordered) and _crossings(scene) <= 15
    equations = [n for n in scene.nodes if n.id.startswith("node-") and n.fill != "#eff6ff" and n.fill != "#f3f4f6"]
    assert len(equations) == 10  # h1..h3, a1..a3, o1, o2, (y1, y2), L


# -- command line --------------------------------------------------------------------------------------

def test_diagram_command(cli, tmp_path):
    result = cli(["diagram"])
    assert result.status == 0 and result.out.startswith("<svg")
    out = tmp_path / "figure.svg"
    assert cli(["diagram", "homework", "--show", "gradients", "-o", str(out)]).status == 0
    assert ElementTree.parse(out).getroot().tag == f"{SVG}svg"


@pytest.mark.parametrize("args, fragment", [
    (["diagram", "-o", "figure.png"], "a diagram is written as SVG"),
    (["diagram", "--show", "weights"], "invalid choice: 'weights'"),
    (["diagram", "--bias", "none"], "invalid choice: 'none'"),
])
def test_diagram_bad_usage(cli, args, fragment):
    result = cli(args)
    assert result.status == 2 and result.out == "" and len(result.err.splitlines()) == 1 and fragment in result.err


def test_diagram_of_a_bad_file(cli, tmp_path):
    result = cli(["diagram", write(tmp_path, "p.toml", "[network]\nlayers = 3\n")])
    assert result.status == 2 and "handprop: error:" in result.err


# -- in Chromium ---------------------------------------------------------------------------------------

def test_homework_diagram_in_chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    svg = diagram(handprop.solve(handprop.load("homework")), show="values")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.set_content(f"<!DOCTYPE html><html><body style='margin:0'>{svg}</body></html>")
        box = page.evaluate("(() => { const b = document.querySelector('svg').getBBox(); "
                            "return [b.width, b.height]; })()")
        assert box[0] > 100 and box[1] > 100
        # Each label's text, as the browser sets it, fits the box the layout measured for it.
        fits = page.evaluate("""Array.from(document.querySelectorAll('g[data-label]')).map(g => {
            const text = g.querySelector('text').getBBox(), rect = g.querySelector('rect').getBBox();
            return [g.getAttribute('data-label'), text.width <= rect.width, text.height <= rect.height + 2]; })""")
        assert len(fits) == 12 and all(w and h for _, w, h in fits), fits  # the 12 weights; biases on units
        page.locator("svg").screenshot(path=str(ARTIFACTS / "diagram-homework.png"))
        browser.close()
