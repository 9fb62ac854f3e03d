"""The diagram of a network of layer kinds: every layer's cells with the solution's numbers, pooling windows, a
bounded drawing for a large network, and every kind drawn."""

from __future__ import annotations

import random
from xml.etree import ElementTree

import pytest

import handprop
from handprop.problem.kinds import KINDS
from handprop.problem.spec import from_dict
from handprop.render import diagram
from handprop.render.diagram_layered import gradient_number, number

SVG = "{http://www.w3.org/2000/svg}"

CNN = {
    "network": {"input_shape": [1, 4, 4], "loss": "cross_entropy", "layers": [
        {"type": "conv2d", "channels": 1, "kernel": 2, "activation": "relu"},
        {"type": "maxpool2d", "kernel": 2},
        {"type": "flatten"},
        {"units": 2, "activation": "softmax"}]},
    "parameters": {"K1": [[[[0.1, -0.2], [0.3, 0.4]]]], "b1": [0.05], "W4": [[0.5], [-0.3]], "b4": [0.1, -0.1]},
    "data": {"x": [[[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 1, 2]]], "t": [1, 0]},
    "optimizer": {"lr": 0.1},
}


@pytest.fixture(scope="module")
def cnn():
    return handprop.solve(from_dict(CNN))


def groups(svg: str) -> dict:
    """data-node id -> (its text, its title)."""
    root = ElementTree.fromstring(svg)
    found = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("data-node"):
            text = "".join("".join(t.itertext()) for t in group.iter(f"{SVG}text"))
            found[group.get("data-node")] = (text, group.find(f"{SVG}title").text)
    return found


@pytest.mark.parametrize("show", ["names", "values", "gradients", "updates"])
def test_svg_parses_and_holds_no_infinity(cnn, show):
    svg = diagram(cnn, show=show)
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    lowered = svg.lower()
    assert "inf" not in lowered.replace("information", "") and "nan" not in lowered


def test_every_layer_cell_holds_the_solutions_value(cnn):
    drawn = groups(diagram(cnn, show="values", decimals=4))
    values = {node_id.rsplit("-", 1)[1]: text for node_id, (text, _) in drawn.items() if node_id.startswith("cell-")}
    for name in [f"x[1,{i},{j}]" for i in range(1, 5) for j in range(1, 5)] + \
                [f"{p}[1,{i},{j}]" for p in ("z1", "a1") for i in range(1, 4) for j in range(1, 4)] + \
                ["p2[1,1,1]", "o[1]", "o[2]", "y[1]", "y[2]", "t1", "t2"]:
        assert values[name] == number(cnn.nodes[name].values[0], 4), name
    for name in ("K1[1,1,1,1]", "K1[1,1,2,2]", "b1[1]", "W4[1,1]", "W4[2,1]", "b4[2]"):
        assert values[name] == number(cnn.parameters[name].initial, 4), name
    assert drawn["node-L"][0].startswith("L = " + number(cnn.loss, 4))


def test_gradients_and_updates(cnn):
    drawn = groups(diagram(cnn, show="gradients", decimals=4))
    cells = {node_id.rsplit("-", 1)[1]: text for node_id, (text, _) in drawn.items() if node_id.startswith("cell-")}
    for name in ("z1[1,1,2]", "a1[1,1,2]", "p2[1,1,1]", "y[1]", "x[1,1,2]"):
        assert cells[name] == gradient_number(cnn.nodes[name].gradients[0], 4), name
    assert cells["K1[1,1,1,1]"] == number(cnn.parameters["K1[1,1,1,1]"].gradient, 4)
    updated = groups(diagram(cnn, show="updates", decimals=4))
    cells = {node_id.rsplit("-", 1)[1]: text for node_id, (text, _) in updated.items() if node_id.startswith("cell-")}
    assert cells["K1[1,1,2,1]"] == number(cnn.parameters["K1[1,1,2,1]"].updated, 4)
    assert cells["b4[1]"] == number(cnn.parameters["b4[1]"].updated, 4)
    names = groups(diagram(cnn, show="names"))
    assert names["cell-x-x[1,2,3]"][0] == "x[1,2,3]"


def test_the_pooling_window_is_outlined_and_its_max_marked(cnn):
    drawn = groups(diagram(cnn, show="values"))
    windows = [node_id for node_id in drawn if node_id.startswith("window-2-")]
    assert windows == ["window-2-1"]  # a 2x2 window, stride 2, over a 3x3 grid: one window
    marked = [node_id for node_id in drawn if node_id.startswith("max-")]
    # The engine routes the window's gradient to a1[1,1,2], its largest (1.75)
    assert marked == ["max-s1-a1[1,1,2]"]
    assert cnn.nodes["a1[1,1,2]"].values[0] == max(cnn.nodes[f"a1[1,{i},{j}]"].values[0]
                                                   for i in (1, 2) for j in (1, 2))
    root = ElementTree.fromstring(diagram(cnn))
    frames = [g for g in root.iter(f"{SVG}g") if (g.get("data-node") or "").startswith("window-")]
    assert frames[0].find(f"{SVG}rect").get("fill") == "none"


def test_arrows_are_titled_with_the_kind_and_shape(cnn):
    root = ElementTree.fromstring(diagram(cnn))
    titles = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g") if g.get("data-edge")]
    assert "conv2d 1\u21921, 2\u00d72 kernel: (1, 3, 3)" in titles
    assert "maxpool2d 2\u00d72 window: (1, 1, 1)" in titles


def test_the_small_example_fits_a_page(cnn):
    root = ElementTree.fromstring(diagram(cnn, show="values"))
    assert float(root.get("width")) <= 1050 and float(root.get("height")) <= 800


def _large(seed: int = 1) -> dict:
    rng = random.Random(seed)
    x = [[[round(rng.uniform(-1, 1), 2) for _ in range(12)] for _ in range(12)] for _ in range(2)]
    layers = [{"type": "conv2d", "channels": 5, "kernel": 3, "padding": 1, "activation": "relu"}] * 2 + [
        {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"}, {"units": 30, "activation": "relu"},
        {"units": 10, "activation": "softmax"}]
    return {"network": {"input_shape": [2, 12, 12], "loss": "cross_entropy", "layers": layers},
            "parameters": {"init": "xavier_uniform", "seed": 2}, "data": {"x": x, "t": [1] + [0] * 9}}


def test_a_large_stack_stays_bounded():
    solution = handprop.solve(from_dict(_large()))
    svg = diagram(solution, show="gradients")
    root = ElementTree.fromstring(svg)
    cells = [g for g in root.iter(f"{SVG}g") if (g.get("data-node") or "").startswith("cell-")]
    assert len(cells) < 2_500 and len(svg) < 1_500_000
    assert "\u22ee" in svg and "+ 2 more" in svg  # rows and channels left out, and said so
    assert float(root.get("width")) <= 1100


def test_many_layers_are_cut_and_said_so():
    layers = [{"type": "conv1d", "channels": 1, "kernel": 1}] * 20 + [{"type": "flatten"}, {"units": 1}]
    problem = from_dict({"network": {"input_shape": [1, 3], "loss": "mse", "layers": layers},
                         "parameters": {"init": "xavier_uniform", "seed": 1},
                         "data": {"x": [[1, 2, 3]], "t": [0]}})
    svg = diagram(handprop.solve(problem))
    assert "left out of the drawing" in svg
    ElementTree.fromstring(svg)


# Every kind drawn on a small problem: the layer's output cells are there, with the solution's numbers.
KIND_LAYERS = {
    "conv1d": ([2, 5], [{"type": "conv1d", "channels": 2, "kernel": 2}], {}),
    "conv2d": ([1, 3, 3], [{"type": "conv2d", "channels": 2, "kernel": 2}], {}),
    "maxpool1d": ([1, 4], [{"type": "maxpool1d", "kernel": 2}], {}),
    "maxpool2d": ([1, 4, 4], [{"type": "maxpool2d", "kernel": 2}], {}),
    "avgpool1d": ([1, 4], [{"type": "avgpool1d", "kernel": 2}], {}),
    "avgpool2d": ([1, 4, 4], [{"type": "avgpool2d", "kernel": 2}], {}),
    "flatten": ([1, 2, 2], [{"type": "flatten"}], {}),
    "dense": ([3], [{"units": 2, "activation": "tanh"}], {}),
    "rnn": ([3, 2], [{"type": "rnn", "hidden": 2}], {}),
    "lstm": ([3, 2], [{"type": "lstm", "hidden": 2, "return": "all"}], {}),
    "gru": ([3, 2], [{"type": "gru", "hidden": 2}], {}),
    "layernorm": ([2, 3], [{"type": "layernorm"}], {}),
    "batchnorm": ([2, 3], [{"type": "batchnorm"}], {}),
    "dropout": ([4], [{"type": "dropout", "p": 0.5}], {"mask1": [1, 0, 1, 1]}),
    "attention": ([3, 2], [{"type": "attention", "heads": 1}], {}),
}


def _values(shape):
    if len(shape) == 1:
        return [round(0.3 * k - 0.4, 2) for k in range(shape[0])]
    return [_values(shape[1:]) for _ in range(shape[0])]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_drawn(kind):
    if kind not in KIND_LAYERS:
        pytest.skip(f"no small problem for {kind} here yet")
    shape, layers, data = KIND_LAYERS[kind]
    layers = layers + ([{"type": "flatten"}] if len(shape) > 1 or kind != "dense" else [])
    problem = {"network": {"input_shape": shape, "loss": "mse", "layers": layers + [{"units": 1}]},
               "parameters": {"init": "xavier_uniform", "seed": 3},
               "data": {"x": _values(shape), "t": [0.5], **data}}
    if kind == "batchnorm":  # its statistics are over a batch: two samples
        problem["data"].update(x=[_values(shape), _values(shape)[::-1]], t=[[0.5], [-0.5]])
    solution = handprop.solve(from_dict(problem))
    for show in ("values", "gradients"):
        svg = diagram(solution, show=show)
        assert "nan" not in svg.lower()
        drawn = groups(svg)
        texts = {text for text, _ in drawn.values()}
        assert f"L = {number(solution.loss, 4)}" in "".join(texts)
    drawn = groups(diagram(solution, show="values"))
    first = [node_id for node_id in drawn if node_id.startswith("cell-s1")]
    assert first, f"{kind}: its output drawn"
    if kind == "attention":
        assert any(node_id.startswith("cell-attention1-") for node_id in drawn)
    if kind.startswith("maxpool"):
        assert any(node_id.startswith("max-") for node_id in drawn)
    if kind.endswith(("pool1d", "pool2d")):
        assert any(node_id.startswith("window-1-") for node_id in drawn)


def test_the_html_worked_solution_holds_the_grid_diagram(cnn):
    from handprop.render import explain

    html = explain(cnn, format="html")
    assert "cell-x-x[1,1,1]" in html
