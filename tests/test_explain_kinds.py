"""The worked solution of a network of layer kinds (render/derivation_kinds*.py): every convolution output's sum
and every kernel gradient's sum hold the records' numbers, max-pooling routes to the first largest, the three
formats carry them, and the document grows linearly with the image."""

from __future__ import annotations

import re

import pytest

from handprop import load, solve
from handprop.core.errors import HandpropError
from handprop.render import explain
from handprop.render.derivation import build
from handprop.render.derivation_backward import slug
from handprop.render.document import Chain, Paragraph, Section
from handprop.render.numbers import fixed

STRIDED = """
title = "Two channels, stride 2, padding 1, average pooling"
[network]
input_shape = [2, 5, 5]
layers = [
  { type = "conv2d", channels = 2, kernel = 3, stride = 2, padding = 1, activation = "relu" },
  { type = "avgpool2d", kernel = 2, stride = 1 },
  { type = "conv2d", channels = 1, kernel = 2, activation = "tanh" },
  { type = "flatten" },
  { units = 3, activation = "softmax" },
]
loss = "cross_entropy"
[parameters]
init = "xavier_uniform"
seed = 3
[data]
x = [[[1,2,0,1,2],[0,1,3,1,0],[2,1,0,0,1],[1,0,1,2,1],[0,1,2,1,0]],[[0,1,0,1,1],[1,1,0,0,2],[2,0,1,0,1],[0,2,1,1,0],[1,0,0,1,2]]]
t = [1, 0, 0]
[optimizer]
lr = 0.1
"""

# A 1x1 kernel of weight 1 copies the image, so the max-pooling windows hold ties: [[1, 3], [3, 0]] (the first 3
# at (1, 2)) and [[2, 2], [2, 2]] (all four tied: the first, at (1, 3)).
TIES = """
[network]
input_shape = [1, 2, 4]
layers = [
  { type = "conv2d", channels = 1, kernel = 1, bias = "none" },
  { type = "maxpool2d", kernel = 2 },
  { type = "flatten" },
  { units = 1 },
]
loss = "mse"
[parameters]
K1 = [[[[1.0]]]]
W4 = [[0.5, -1.0]]
b4 = [0.0]
[data]
x = [[[1, 3, 2, 2], [3, 0, 2, 2]]]
t = [1.0]
"""


def _solve(tmp_path, text: str, name: str = "p.toml"):
    path = tmp_path / name
    path.write_text(text)
    return solve(load(str(path)))


@pytest.fixture(params=["cnn_homework", "conv1d_signal", "strided"])
def solution(request, tmp_path):
    return _solve(tmp_path, STRIDED) if request.param == "strided" else solve(load(request.param))


def _blocks(document):
    """Every block of the document, subsections opened."""
    stack = list(document.sections)
    while stack:
        block = stack.pop(0)
        if isinstance(block, Section):
            stack[:0] = list(block.blocks)
        else:
            yield block


def _chains(document) -> dict:
    return {block.anchor: block for block in _blocks(document) if isinstance(block, Chain) and block.anchor}


def _number(text: str) -> float:
    return float(text.replace(r"\left", "").replace(r"\right", "").strip("() "))


def _evaluate(numbers: str) -> float:
    """A sum of products of numbers as the document writes it: 0.1 \\cdot 1 + (-0.2) \\cdot 2 + 0.05."""
    total = 0.0
    for term in re.split(r" \+ (?![^()]*\))", numbers):
        if "underbrace" in term:
            continue  # terms that are 0, counted
        product = 1.0
        for factor in term.split(r"\cdot"):
            product *= _number(factor)
        total += product
    return total


def _names(expr) -> list:
    """The names an expression reads, left to right."""
    if hasattr(expr, "name"):
        return [expr.name]
    return [name for arg in getattr(expr, "args", ()) for name in _names(arg)]


def _conv_layers(solution):
    return [n for n, layer in enumerate(solution.problem.stack.layers, 1) if layer.type.startswith("conv")]


def test_each_convolution_output_is_its_sum_with_the_records_numbers(solution):
    document = build(solution)
    chains = _chains(document)
    trace = solution.traces[0]
    for n in _conv_layers(solution):
        outputs = [eq for eq in solution.problem.program.equations if eq.target.startswith(f"z{n}[")]
        assert outputs
        for eq in outputs:
            block = chains[f"node-{slug(eq.target)}"]
            assert block.steps[-1] == fixed(trace.values[eq.target], 4)
            numbers = block.steps[-2]
            if r"\cdots" in numbers or "underbrace" in numbers:  # a long sum, summarised: its ends are shown
                continue
            assert abs(_evaluate(numbers) - trace.values[eq.target]) < 5e-3
            # each factor is a recorded value, in the equation's order
            shown = [float(fixed(trace.values[name], 4)) for name in _names(eq.expr)]
            assert [_number(t) for t in re.split(r" \+ | \\cdot ", numbers)] == pytest.approx(shown)


def test_each_kernel_gradient_sums_delta_times_input_to_the_records_gradient(solution):
    chains = _chains(build(solution))
    trace = solution.traces[0]
    for n in _conv_layers(solution):
        for name in [p for p in solution.parameters if p.startswith((f"K{n}[", f"b{n}["))]:
            block = chains[f"grad-{slug(name)}"]
            assert block.steps[-1] == fixed(trace.adjoints[name], 4) == fixed(solution.parameters[name].gradient, 4)
            if r"\cdots" not in block.steps[-2]:
                assert abs(_evaluate(block.steps[-2]) - trace.adjoints[name]) < 5e-3
            assert r"\delta^{[" in block.steps[-3]


def test_the_formats_carry_the_sums(solution):
    document = build(solution)
    chains = _chains(document)
    first = next(a for a in chains if a.startswith("node-z"))
    kernel = next(a for a in chains if a.startswith("grad-K"))
    markdown = explain(solution)
    latex = explain(solution, format="latex")
    html = explain(solution, format="html")
    for anchor in (first, kernel):
        assert chains[anchor].steps[-2] in markdown
        assert chains[anchor].steps[-2] in latex
        assert f'id="{anchor}"' in html
    assert "Forward pass" in html and "<math" in html
    assert r"\begin{bmatrix}" in markdown and r"\begin{bmatrix}" in latex


def test_max_pooling_routes_to_the_first_largest(tmp_path):
    solution = _solve(tmp_path, TIES)
    trace = solution.traces[0]
    # the engine's routing: to z1[1,1,2] (the first 3) and z1[1,1,3] (the first of four 2s)
    assert trace.adjoints["z1[1,2,1]"] == 0 and trace.adjoints["z1[1,1,2]"] != 0
    assert trace.adjoints["z1[1,1,3]"] != 0 and trace.adjoints["z1[1,1,4]"] == 0
    text = [" ".join(p if isinstance(p, str) else p.latex for p in block.parts)
            for block in _blocks(build(solution)) if isinstance(block, Paragraph)]
    routes = [t for t in text if " goes to " in t]
    assert len(routes) == 2
    assert "goes to  z^{[1]}_{1,1,2}" in routes[0] and "the first of the 2 tied at 3.0000" in routes[0]
    assert "goes to  z^{[1]}_{1,1,3}" in routes[1] and "the first of the 4 tied at 2.0000" in routes[1]
    assert "the other 3 get 0" in routes[1]
    gathered = _chains(build(solution))  # the gradient matrix: the routed entries, 0 elsewhere
    markdown = explain(solution)
    row = " & ".join(fixed(trace.adjoints[f"z1[1,1,{j}]"], 4) for j in range(1, 5))
    assert row in markdown and gathered


def test_inputs_and_hidden_inputs(solution):
    chains = _chains(build(solution))
    assert not any(a.startswith("grad-x-") for a in chains)
    with_inputs = _chains(build(solution, inputs=True))
    trace = solution.traces[0]
    for name in solution.problem.stack.inputs:
        block = with_inputs[f"grad-{slug(name)}"]
        assert block.steps[-1] == fixed(trace.adjoints[name], 4)
        if r"\cdots" not in block.steps[-2]:
            assert abs(_evaluate(block.steps[-2]) - trace.adjoints[name]) < 5e-3
    if len(_conv_layers(solution)) > 1:  # a hidden convolution's input gradient is always written
        hidden = [a for a in chains if a.startswith("grad-p2-")]
        assert hidden


def test_the_document_grows_linearly_with_the_image(tmp_path):
    def problem(size: int) -> str:
        image = [[[(i * 7 + j * 3) % 5 - 2 for j in range(size)] for i in range(size)]]
        return (f"[network]\ninput_shape = [1, {size}, {size}]\nlayers = [\n"
                "  { type = \"conv2d\", channels = 2, kernel = 5, padding = 2, activation = \"relu\" },\n"
                "  { type = \"maxpool2d\", kernel = 2 },\n  { type = \"flatten\" },\n"
                "  { units = 3, activation = \"softmax\" },\n]\nloss = \"cross_entropy\"\n"
                "[parameters]\ninit = \"he_uniform\"\nseed = 1\n"
                f"[data]\nx = [{image}]\nt = [0, 1, 0]\n")

    sizes = {}
    for size in (8, 16):
        markdown = explain(_solve(tmp_path, problem(size), f"p{size}.toml"))
        sizes[size] = len(markdown)
        assert max(len(line) for line in markdown.splitlines()) < 2_000  # 25 terms a sum, summarised
    assert sizes[16] / sizes[8] < 4.6  # four times the entries


def test_other_kinds_fall_back_node_by_node(monkeypatch):
    from handprop.render import derivation_kinds_grids

    monkeypatch.setattr(derivation_kinds_grids, "KNOWN", ("conv2d", "maxpool2d", "flatten"))
    solution = solve(load("cnn_homework"))
    markdown = explain(solution)
    assert "Written node by node" in markdown
    chains = _chains(build(solution))
    assert chains["grad-W4-1-1"].steps[-1] == fixed(solution.parameters["W4[1,1]"].gradient, 4)


def test_matrix_notation_writes_the_convolution_as_a_product_of_matrices():
    # --notation matrix on a network of layer kinds (tests/test_matrix_kinds.py checks its every entry)
    document = explain(solve(load("cnn_homework")), notation="matrix")
    assert r"Z^{[1]} &= K^{[1]} \tilde{X}^{[1]} + b^{[1]} \mathbf{1}^\top" in document


def test_expand_keeps_the_generic_form():
    with pytest.raises(HandpropError, match="--expand"):
        build(solve(load("cnn_homework")), expand=True)
