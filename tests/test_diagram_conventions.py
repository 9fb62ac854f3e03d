"""The diagrams' conventions: one kind of gradient throughout (of the batch's mean loss, nodes at the shown
sample) so that the chain rule multiplies out on the drawing, the loss's own name, edge labels as textbooks
write them in the SVG and the TikZ, and the page's dark theme."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

import handprop
from conftest import ARTIFACTS, served_page
from handprop.problem.spec import from_dict
from handprop.render import diagram, explain
from handprop.render.diagram_graph import graph_scene
from handprop.render.tikz import figure_tikz

SVG = "{http://www.w3.org/2000/svg}"
STYLE = Path(handprop.__file__).parent / "serve" / "assets" / "style.css"

# A batch of three, a weight read twice (two paths to sum) and a loss named E.
BATCH_E = {
    "title": "A batch, a loss named E",
    "network": {"equations": "h = w*x + b\na = tanh(h)\ny = w*a + c\nE = 1/2*(y - t)**2"},
    "parameters": {"w": 0.5, "b": 0.1, "c": -0.2},
    "data": {"x": [1.0, 2.0, -0.5], "t": [0.3, 0.8, 0.1]},
    "optimizer": {"lr": 0.5},
}


def texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in ElementTree.fromstring(svg).iter(f"{SVG}text")]


def _graph_numbers(scene, loss: str):
    """From the drawing alone (its tooltips, at full precision): each node's gradient, each edge's local
    partial, each parameter's gradient."""
    node_gradient, parameter_gradient = {}, {}
    for node in scene.nodes:
        for name, value in re.findall(rf"(?:^|; |data )(\w+) = [^;,]+[,;] d{loss}/d\1 = ([-\d.e+]+)", node.title):
            node_gradient[name] = float(value)
        match = re.match(rf"parameter (\w+) = [^;]+; d{loss}/d\1 = ([-\d.e+]+)", node.title)
        if match:
            parameter_gradient[match.group(1)] = float(match.group(2))
    partials = []
    for edge in scene.edges:
        for target, value in re.findall(r"d(\w+)/d" + re.escape(edge.source) + r" = ([-\d.e+]+)", edge.title):
            partials.append((edge.source, target, float(value)))
    return node_gradient, partials, parameter_gradient


@pytest.mark.parametrize("example", [BATCH_E, "shared_weight"])
def test_the_chain_rule_multiplies_out_on_the_graph(example):
    solution = handprop.solve(from_dict(example) if isinstance(example, dict) else handprop.load(example))
    loss, size = solution.problem.program.loss, solution.batch_size
    assert size > 1
    node_gradient, partials, parameter_gradient = _graph_numbers(graph_scene(solution), loss)
    assert set(parameter_gradient) == set(solution.parameters)
    for name, record in solution.parameters.items():
        assert parameter_gradient[name] == pytest.approx(record.gradient, rel=1e-12)  # the mean loss's
        # Sample 1, as drawn: each reader's gradient times the edge's local partial, summed over the readers.
        shown = sum(node_gradient[target] * partial for source, target, partial in partials if source == name)
        # Samples 2.., from the records: the same sum; with the drawn one it gives the parameter's gradient.
        rest = sum(solution.nodes[t].gradients[k] * trace.partials[t][name]
                   for k, trace in enumerate(solution.traces) if k > 0
                   for t in trace.partials if name in trace.partials[t])
        assert shown + rest == pytest.approx(record.gradient, rel=1e-9, abs=1e-15), name
        # And the drawn sample's part is its own gradient of its own loss, over the batch size.
        assert shown == pytest.approx(solution.traces[0].adjoints[name] / size, rel=1e-9, abs=1e-15)
    # The loss node's own gradient is the sample's share of the mean: 1/N.
    assert node_gradient[loss] == pytest.approx(1 / size)


def test_a_single_sample_multiplies_out_on_the_drawing_alone():
    solution = handprop.solve(handprop.load("homework_equations"))
    node_gradient, partials, parameter_gradient = _graph_numbers(graph_scene(solution), solution.problem.program.loss)
    assert set(parameter_gradient) == set(solution.parameters)
    for name, gradient in parameter_gradient.items():
        shown = sum(node_gradient[target] * partial for source, target, partial in partials if source == name)
        assert shown == pytest.approx(gradient, rel=1e-9, abs=1e-15), name


def test_the_caption_and_legend_name_the_convention():
    solution = handprop.solve(from_dict(BATCH_E))
    words = "gradients of the mean loss E over the batch of 3; nodes for sample 1"
    assert any(words in t for t in texts(diagram(solution)))
    html = explain(solution, format="html")
    caption = re.search(r"<figcaption>(.*?)</figcaption>", html, re.DOTALL).group(1)
    assert words in caption
    single = explain(handprop.solve(handprop.load("homework_equations")), format="html")
    assert "batch" not in re.search(r"<figcaption>(.*?)</figcaption>", single, re.DOTALL).group(1)


def test_a_loss_named_e_is_written_e():
    solution = handprop.solve(from_dict(BATCH_E))
    for show in ("names", "values", "gradients", "updates"):
        shown = texts(diagram(solution, show=show))
        gradients = [t for t in shown if "\u2202" in t]
        assert gradients and all("\u2202E/\u2202" in t for t in gradients)
        assert not any("\u2202L" in t for t in shown)
    assert "\\partial $E/" in figure_tikz(solution, show="values", decimals=2)
    # A layered network's loss is L; its gradients say so, in the same notation.
    homework = texts(diagram(handprop.solve(handprop.load("homework")), show="gradients", decimals=2))
    assert any(t.startswith("\u2202L/\u2202a1 = ") for t in homework)


@pytest.mark.parametrize("show, svg_label, tikz_label", [
    ("values", "w1 = 0.10", r"w\textsubscript{1} = 0.10"),
    ("gradients", "\u2202L/\u2202w1 = ", r"$\partial $L/$\partial $w\textsubscript{1} = "),
    ("updates", "w1\u2032 = ", r"w\textsubscript{1}$'$ = "),
])
def test_edge_labels_in_textbook_notation(show, svg_label, tikz_label):
    solution = handprop.solve(handprop.load("homework"))
    svg = diagram(solution, show=show, decimals=2)
    root = ElementTree.fromstring(svg)
    labels = {group.get("data-label"): "".join(group.find(f"{SVG}text").itertext())
              for group in root.iter(f"{SVG}g") if group.get("data-label")}
    assert labels["edge-w1"].startswith(svg_label), labels["edge-w1"]
    assert "\u2207" not in svg and not any("\u2192" in t for t in labels.values())
    # The parameter's number is a subscript: w₁, not w1.
    label = next(g for g in root.iter(f"{SVG}g") if g.get("data-label") == "edge-w1")
    subscripts = [span.text for span in label.find(f"{SVG}text") if span.get("font-size")]
    assert subscripts == ["1"], subscripts
    tikz = figure_tikz(solution, show=show, decimals=2)
    assert tikz_label in tikz
    if show == "values":
        assert labels["edge-w1"] == "w1 = 0.10"


def test_page_css_has_a_dark_theme():
    css = STYLE.read_text()
    block = css[css.index("@media (prefers-color-scheme: dark)"):]
    assert "--ground:" in block and "--text:" in block
    assert "background: #fff" not in css  # every ground through the variables, so the dark block reaches it


@pytest.fixture(scope="module")
def page():
    yield from served_page((Path(handprop.__file__).parent / "examples" / "homework.toml").read_text(), "homework")


def _luminance(rgb: str) -> float:
    red, green, blue = (int(v) for v in re.findall(r"\d+", rgb)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_page_is_dark_under_a_dark_colour_scheme(page):
    page.emulate_media(color_scheme="light")
    assert _luminance(page.evaluate("getComputedStyle(document.body).backgroundColor")) > 0.9
    page.emulate_media(color_scheme="dark")
    assert _luminance(page.evaluate("getComputedStyle(document.body).backgroundColor")) < 0.2
    assert _luminance(page.evaluate("getComputedStyle(document.body).color")) > 0.7
    page.wait_for_selector("#diagram svg")
    page.screenshot(path=str(ARTIFACTS / "page-dark.png"))
    # The diagram keeps its white card, as on paper.
    assert page.evaluate("document.querySelector('#diagram svg rect').getAttribute('fill')") == "#ffffff"
