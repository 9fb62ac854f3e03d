"""The matrix form of a network of layer kinds (explain --notation matrix on a stack): every matrix entry read
back from the Markdown and held to the engine's records, the convolution's patches unfolded here again
(im2col) independently of the renderer, the kernel's gradient as delta X~^T, and every format written."""

from __future__ import annotations

import re
from itertools import product

import numpy as np
import pytest
from test_matrix import chains, cut, matrices, side_limit

import handprop
from handprop.render import explain
from handprop.render.derivation_kinds_grids import layers_of
from handprop.render.mathtex import name_latex
from handprop.render.numbers import fixed

EXAMPLES = ("cnn_homework", "conv1d_signal", "rnn_three_steps", "lstm_step", "batchnorm_batch_of_4",
            "attention_two_tokens", "transformer_block")
DECIMALS = 4
DOTS = {r"\cdots", r"\vdots", r"\ddots"}
NUMBER = re.compile(r"-?\d+(\.\d+)?")


@pytest.fixture(scope="module")
def solved():
    return {name: handprop.solve(handprop.load(name)) for name in EXAMPLES}


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("format", ["markdown", "latex", "html"])
def test_every_format_is_written(solved, name, format):
    text = explain(solved[name], format=format, notation="matrix")
    assert "<math" in text if format == "html" else "bmatrix" in text or "set out one by one as matrices" in text


def test_each_kind_has_its_matrices(solved):
    anchors = {name: set(chains(explain(solved[name], notation="matrix"))) for name in EXAMPLES}
    assert {"mk1-h1", "mk1-h3", "mk1-dWhh", "mk1-dWih", "mk1-dbhh"} <= anchors["rnn_three_steps"]
    assert {"mk1-gates1", "mk1-c1", "mk1-h1"} <= anchors["lstm_step"]
    assert {"mk1-q", "mk1-s1", "mk1-alpha1", "mk1-c1", "mk1-out", "mk1-ds1", "mk1-dWq"} <= anchors["attention_two_tokens"]
    assert {"mk1-s2", "mk1-residual", "mk2-mu", "mk2-xhat", "mk2-pre", "mk4-dW"} <= anchors["transformer_block"]


def recorded(solution) -> set[str]:
    """Every number the records hold, as the document writes them."""
    numbers = {"0", "1", fixed(0.0, DECIMALS), fixed(1.0, DECIMALS)}
    for trace in solution.traces:
        numbers |= {fixed(v, DECIMALS) for v in trace.values.values()}
        numbers |= {fixed(v, DECIMALS) for v in trace.adjoints.values()}
        numbers |= {fixed(v, DECIMALS) for partials in trace.partials.values() for v in partials.values()}
        numbers |= {f"{v:g}" for partials in trace.partials.values() for v in partials.values()}
    for record in solution.parameters.values():
        numbers |= {fixed(record.initial, DECIMALS), fixed(record.gradient, DECIMALS)}
    return numbers


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_entry_shown_is_a_record(solved, name):
    solution = solved[name]
    numbers = recorded(solution)
    markdown = explain(solution, notation="matrix")
    found = [(anchor, cell) for anchor, steps in chains(markdown).items() if anchor.startswith("mk")
             for step in steps for matrix in matrices(step) for row in matrix for cell in row
             if NUMBER.fullmatch(cell)]
    if layers_of(solution.problem) is not None:
        assert found
    assert [(anchor, cell) for anchor, cell in found if cell not in numbers] == []


# -- what the records say each chain shows, laid out here independently --------------------------------

def values(solution, names, record="values"):
    table = getattr(solution.traces[0], record)
    return np.array([table[name] for name in names])


def im2col(layer, grid: np.ndarray):
    """The patches of a (C, *sizes) grid under the layer's kernel: (C * kernel entries) x positions, names or
    None (padding) laid out as the names' grid."""
    settings = dict(layer.layer.settings)
    kernel, stride, padding = settings["kernel"], settings["stride"], settings["padding"]
    outs = layer.layer.shape_out[1:]
    rows = []
    for c in range(grid.shape[0]):
        for offset in product(*(range(k) for k in kernel)):
            row = []
            for position in product(*(range(o) for o in outs)):
                at = tuple(s * p + i - pad for s, p, i, pad in zip(stride, position, offset, padding))
                inside = all(0 <= a < size for a, size in zip(at, grid.shape[1:]))
                row.append(grid[(c, *at)] if inside else None)
            rows.append(row)
    return rows


def expected_conv(solution, layer) -> dict:
    n = layer.number
    names = np.array(layer.inputs, dtype=object).reshape(layer.layer.shape_in)
    patches = im2col(layer, names)
    value = lambda name: 0.0 if name is None else solution.traces[0].values[name]
    x_tilde = [[value(name) for name in row] for row in patches]
    kernel, bias = layer.tensors[0], layer.tensors[1]
    out = layer.layer.shape_out[0]
    k = values(solution, kernel.names, "adjoints").reshape(out, -1)  # noqa: F841 - the sample's gradient
    k_initial = np.array([solution.parameters[name].initial for name in kernel.names]).reshape(out, -1)
    z = values(solution, layer.pre).reshape(out, -1)
    deltas = values(solution, layer.pre, "adjoints").reshape(out, -1)
    gradient = values(solution, kernel.names, "adjoints").reshape(out, -1)
    found = {f"mk{n}-patches": [[[name_latex(name) if name else "0" for name in row] for row in patches], x_tilde],
             f"mk{n}-pre": [k_initial, x_tilde, [[solution.parameters[b].initial] for b in bias.names], z],
             f"mk{n}-dK": [deltas, np.array(x_tilde).T, gradient],
             f"mk{n}-db": [[[solution.traces[0].adjoints[b]] for b in bias.names]]}
    if layer.activated:
        found[f"mk{n}-post"] = [z, values(solution, layer.post).reshape(out, -1)]
    return found


def expected_pool(solution, layer) -> dict:
    n = layer.number
    settings = dict(layer.layer.settings)
    names = np.array(layer.inputs, dtype=object).reshape(layer.layer.shape_in)
    windows = []
    for offset in product(*(range(k) for k in settings["kernel"])):
        row = []
        for c in range(layer.layer.shape_out[0]):
            for position in product(*(range(o) for o in layer.layer.shape_out[1:])):
                row.append(names[(c, *(s * p + i for s, p, i in zip(settings["stride"], position, offset)))])
        windows.append(row)
    return {f"mk{n}-windows": [[[name_latex(a) for a in row] for row in windows],
                               [[solution.traces[0].values[a] for a in row] for row in windows]],
            f"mk{n}-pre": [[list(values(solution, layer.pre))]],
            f"mk{n}-delta": [[list(values(solution, layer.pre, "adjoints"))]]}


def expected_dense(solution, layer) -> dict:
    n = layer.number
    weights, bias = layer.tensors
    units = len(layer.pre)
    initial = np.array([solution.parameters[w].initial for w in weights.names]).reshape(units, -1)
    x = [[v] for v in values(solution, layer.inputs)]
    deltas = [[v] for v in values(solution, layer.pre, "adjoints")]
    return {f"mk{n}-pre": [initial, x, [[solution.parameters[b].initial] for b in bias.names],
                           [[v] for v in values(solution, layer.pre)]],
            f"mk{n}-dW": [deltas, np.array(x).T, values(solution, weights.names, "adjoints").reshape(units, -1)],
            f"mk{n}-db": [deltas],
            f"mk{n}-dx": [initial.T, deltas, [[v] for v in values(solution, layer.inputs, "adjoints")]]}


def shown_as(expected, most: int) -> list[list[str]]:
    """The expected matrix as the document shows it: cut, each entry formatted (names kept)."""
    rows = [list(row) for row in expected]
    cells = []
    for i in cut(len(rows), most):
        line = []
        for j in cut(len(rows[0]), most):
            if i is None:
                line.append(r"\ddots" if j is None else r"\vdots")
            elif j is None:
                line.append(r"\cdots")
            else:
                entry = rows[i][j]
                line.append(entry if isinstance(entry, str) else fixed(float(entry), DECIMALS))
        cells.append(line)
    return cells


@pytest.mark.parametrize("name", ["cnn_homework", "conv1d_signal", "transformer_block"])
def test_conv_pool_dense_matrices_are_the_records(solved, name):
    solution = solved[name]
    markdown = explain(solution, notation="matrix")
    found, most = chains(markdown), side_limit(DECIMALS)
    expected = {}
    for layer in layers_of(solution.problem):
        if layer.type.startswith("conv"):
            expected.update(expected_conv(solution, layer))
        elif "pool" in layer.type:
            expected.update(expected_pool(solution, layer))
        elif layer.type == "dense":
            expected.update(expected_dense(solution, layer))
    assert expected
    for anchor, want in expected.items():
        got = [m for step in found[anchor] for m in matrices(step)]
        assert got == [shown_as(m, most) for m in want], anchor


@pytest.mark.parametrize("name", ["cnn_homework", "conv1d_signal"])
def test_kernel_gradient_is_delta_times_the_patches(solved, name):
    solution = solved[name]
    layer = layers_of(solution.problem)[0]
    found = expected_conv(solution, layer)
    deltas, x_tilde_t, gradient = found["mk1-dK"]
    assert np.allclose(np.array(deltas) @ np.array(x_tilde_t, dtype=float), gradient, atol=1e-12)


def test_a_stack_is_no_longer_refused():
    markdown = explain(handprop.solve(handprop.load("cnn_homework")), notation="matrix")
    assert r"\tilde{X}^{[1]}" in markdown and "col2im" in markdown or "im2col" in markdown


def test_expand_is_refused_in_one_line():
    with pytest.raises(handprop.HandpropError, match="--expand"):
        explain(handprop.solve(handprop.load("cnn_homework")), notation="matrix", expand=True)
