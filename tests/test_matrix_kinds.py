"""The matrix form of a network of layer kinds (explain --notation matrix on a stack): every matrix entry read
back from the Markdown and held to the engine's records, the convolution's patches unfolded here again
(im2col) independently of the renderer, the kernel's gradient as delta X~^T, and every format written."""

from __future__ import annotations

import re
from itertools import product

import pytest

np = pytest.importorskip("numpy")  # the independent im2col of the checks
from test_matrix import chains, cut, matrices, side_limit

import handprop
from handprop.problem.spec import from_dict
from handprop.render import explain
from handprop.render.derivation_kinds_grids import layers_of
from handprop.render.mathtex import name_latex
from handprop.render.numbers import fixed, given, readable

EXAMPLES = ("cnn_homework", "conv1d_signal", "rnn_three_steps", "lstm_step", "batchnorm_batch_of_4",
            "attention_two_tokens", "transformer_block")
DECIMALS = 4
DOTS = {r"\cdots", r"\vdots", r"\ddots"}
NUMBER = re.compile(r"-?\d+(\.\d+)?")


BUILT = ("gru_three_steps", "lstm_three_steps", "dropout_grid", "batchnorm_features", "batchnorm_channels")
BATCHNORM = ("batchnorm_batch_of_4", "batchnorm_features", "batchnorm_channels")


def recurrent(kind: str, steps: int = 3, hidden: int = 2, features: int = 2, seed: int = 1) -> handprop.Problem:
    """A GRU or an LSTM layer over a few steps, its numbers drawn (seeded), then one SGD step."""
    rng = np.random.default_rng(seed)
    parameters = {}
    for gate in {"gru": "rzn", "lstm": "ifgo"}[kind]:
        parameters[f"Wi{gate}1"] = rng.uniform(-1, 1, (hidden, features)).round(2).tolist()
        parameters[f"Wh{gate}1"] = rng.uniform(-1, 1, (hidden, hidden)).round(2).tolist()
        parameters[f"bi{gate}1"] = rng.uniform(-1, 1, hidden).round(2).tolist()
        parameters[f"bh{gate}1"] = rng.uniform(-1, 1, hidden).round(2).tolist()
    return from_dict({"network": {"input_shape": [steps, features], "layers": [{"type": kind, "hidden": hidden}],
                                  "loss": "half_sse"},
                      "parameters": parameters, "optimizer": {"name": "sgd", "lr": 0.5},
                      "data": {"x": rng.uniform(-1, 1, (steps, features)).round(2).tolist(), "t": [0.5] * hidden}})


def dropout_grid() -> handprop.Problem:
    """Dropout on a (2, 3) grid, then a dense layer after a flatten; Adam, so that the update has its quantities."""
    return from_dict({"network": {"input_shape": [2, 3], "layers": [
        {"type": "dropout", "p": 0.5}, {"type": "flatten"}, {"units": 2, "activation": "softmax"}],
        "loss": "cross_entropy"},
        "parameters": {"W3": [[0.1, -0.2, 0.3, 0.4, -0.5, 0.6], [-0.3, 0.2, 0.1, -0.4, 0.5, 0.2]], "b3": [0.1, -0.1]},
        "optimizer": {"name": "adam", "lr": 0.1},
        "data": {"x": [[1.0, -2.0, 0.5], [0.25, 1.5, -1.0]], "mask1": [[1, 0, 1], [0, 1, 1]], "t": [1.0, 0.0]}})


def batchnorm_net(shape: tuple, batch: int, seed: int, activation: dict = {}) -> handprop.Problem:  # noqa: B006
    """BatchNorm on (F,) or (C, L) over a batch, its numbers drawn (seeded), a flatten for a grid, then a dense
    layer of 2 units; Adam, so that the update has its quantities."""
    rng = np.random.default_rng(seed)
    size, dense = int(np.prod(shape)), 2 if len(shape) == 1 else 3
    layers = [{"type": "batchnorm", **activation, "momentum": 0.2,
               "running_mean": rng.uniform(-1, 1, shape[0]).round(2).tolist()}]
    layers += [{"type": "flatten"}] if len(shape) > 1 else []
    return from_dict({"network": {"input_shape": list(shape), "layers": layers + [{"units": 2, "activation": "tanh"}],
                                  "loss": "mse"},
                      "parameters": {"gamma1": rng.uniform(0.5, 1.5, shape[0]).round(2).tolist(),
                                     "beta1": rng.uniform(-0.5, 0.5, shape[0]).round(2).tolist(),
                                     f"W{dense}": rng.uniform(-1, 1, (2, size)).round(2).tolist(),
                                     f"b{dense}": rng.uniform(-1, 1, 2).round(2).tolist()},
                      "optimizer": {"name": "adam", "lr": 0.1},
                      "data": {"x": rng.uniform(-2, 2, (batch, *shape)).round(2).tolist(),
                               "t": rng.uniform(-1, 1, (batch, 2)).round(2).tolist()}})


@pytest.fixture(scope="module")
def solved():
    found = {name: handprop.solve(handprop.load(name)) for name in EXAMPLES}
    found["gru_three_steps"] = handprop.solve(recurrent("gru"))
    found["lstm_three_steps"] = handprop.solve(recurrent("lstm", seed=2))
    found["dropout_grid"] = handprop.solve(dropout_grid())
    rng = np.random.default_rng(7)
    found["batchnorm_features"] = handprop.solve(batchnorm_net((3,), int(rng.integers(2, 5)), 3))
    found["batchnorm_channels"] = handprop.solve(batchnorm_net((2, 3), int(rng.integers(2, 5)), 4, {"activation": "relu"}))
    return found


@pytest.mark.parametrize("name", EXAMPLES + BUILT)
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
        numbers |= {fixed(record.initial, DECIMALS), fixed(record.gradient, DECIMALS), fixed(record.updated, DECIMALS)}
    stack = getattr(solution.problem, "stack", None)
    for layer in stack.layers if stack is not None else ():  # the running statistics before the step, as given
        numbers |= {given(v) for key in ("running_mean", "running_var") for v in dict(layer.settings).get(key, ())}
    for step in solution.history:
        numbers |= {fixed(v, DECIMALS) for v in step.parameters.values()}
        numbers |= {fixed(v, DECIMALS) for v in step.gradients.values()}
        numbers |= {readable(v, DECIMALS) for state in step.state.values() for v in state.values()}
    return numbers


def factors(cell: str) -> list[str]:
    """A cell's numbers: itself, or each factor of a product written a \\cdot b (a negative one in brackets)."""
    return [part.strip().removeprefix("(").removesuffix(")") for part in cell.split(r"\cdot")]


@pytest.mark.parametrize("name", EXAMPLES + BUILT)
def test_every_entry_shown_is_a_record(solved, name):
    solution = solved[name]
    numbers = recorded(solution)
    markdown = explain(solution, notation="matrix")
    found = [(anchor, number) for anchor, steps in chains(markdown).items() if anchor.startswith(("mk", "update"))
             for step in steps for matrix in matrices(step) for row in matrix for cell in row
             for number in factors(cell) if NUMBER.fullmatch(number)]
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


# -- exact: the sums and formulas the matrix form writes give the records ------------------------------------

def gate_rows(solution, n: int, t: int, side: str) -> tuple[np.ndarray, np.ndarray]:
    """A step's gates stacked as PyTorch's: their gradients, and each gate's recorded slope in its bias b{side}?."""
    layer = layers_of(solution.problem)[n - 1]
    trace = solution.traces[0]
    hidden = layer.layer.setting("hidden")
    gates = [gate for gate in "ifgorzn" if f"Wi{gate}{n}" in {t.name for t in layer.tensors}]
    names = [(f"{gate}{n}[{t},{j}]", f"b{side}{gate}{n}[{j}]") for gate in gates for j in range(1, hidden + 1)]
    return (np.array([trace.adjoints[m] for m, _ in names]), np.array([trace.partials[m][b] for m, b in names]))


@pytest.mark.parametrize("name", ["lstm_step", "lstm_three_steps", "gru_three_steps"])
def test_bptt_sums_are_the_records_gradients(solved, name):
    solution = solved[name]
    layer = layers_of(solution.problem)[0]
    trace = solution.traces[0]
    steps, features = layer.layer.shape_in
    hidden = layer.layer.setting("hidden")
    tensors = {t.name: t for t in layer.tensors}
    gates = [gate for gate in "ifgorzn" if f"Wi{gate}1" in tensors]
    stacked = lambda prefix: np.array([[trace.adjoints[w] for w in tensors[f"{prefix}{gate}1"].names]  # noqa: E731
                                       for gate in gates]).reshape(len(gates) * hidden, -1)
    h = lambda t: np.array([trace.values[f"h1[{t},{j}]"] for j in range(1, hidden + 1)])  # noqa: E731
    x = lambda t: np.array([trace.values[name] for name in layer.inputs[(t - 1) * features:t * features]])  # noqa: E731
    delta = lambda t, side: np.prod(gate_rows(solution, 1, t, side), axis=0)  # noqa: E731
    assert np.allclose(sum(np.outer(delta(t, "h"), h(t - 1)) for t in range(1, steps + 1)), stacked("Wh"), atol=1e-12)
    assert np.allclose(sum(np.outer(delta(t, "i"), x(t)) for t in range(1, steps + 1)), stacked("Wi"), atol=1e-12)
    assert np.allclose(sum(delta(t, "h") for t in range(1, steps + 1)), stacked("bh").ravel(), atol=1e-12)
    weights = np.array([[solution.parameters[w].initial for w in tensors[f"Wh{gate}1"].names] for gate in gates])
    weights = weights.reshape(len(gates) * hidden, hidden)
    for t in range(1, steps):  # dL/dh_t = (z_{t+1} (.) dL/dh_{t+1}) + W_hh^T delta^h_{t+1}, as written
        after = np.array([trace.adjoints[f"h1[{t + 1},{j}]"] for j in range(1, hidden + 1)])
        direct = np.array([trace.partials[f"h1[{t + 1},{j}]"].get(f"h1[{t},{j}]", 0.0) for j in range(1, hidden + 1)])
        dh = np.array([trace.adjoints[f"h1[{t},{j}]"] for j in range(1, hidden + 1)])
        assert np.allclose(direct * after + weights.T @ delta(t + 1, "h"), dh, atol=1e-12)
    anchors = set(chains(explain(solution, notation="matrix")))
    assert {f"mk1-dgates{steps}", "mk1-delta1", "mk1-dWhh", "mk1-dWih", "mk1-dbih", "mk1-dbhh"} <= anchors
    assert ("mk1-dc1" in anchors) == ("ifgo" == "".join(gates))


def test_layernorm_input_gradient_is_the_records(solved):
    solution = solved["transformer_block"]
    layer = layers_of(solution.problem)[1]
    trace = solution.traces[0]
    rows, columns = layer.layer.shape_in
    grid = lambda base, record="values": np.array([getattr(trace, record)[f"{base}[{t},{j}]"]  # noqa: E731
                                                   for t in range(1, rows + 1)
                                                   for j in range(1, columns + 1)]).reshape(rows, columns)
    vector = lambda base, record="values": np.array([getattr(trace, record)[f"{base}[{t}]"]  # noqa: E731
                                                     for t in range(1, rows + 1)])
    gamma = np.array([solution.parameters[f"gamma2[{j}]"].initial for j in range(1, columns + 1)])
    d_xhat = grid("n2", "adjoints") * gamma[None, :]
    assert np.allclose(d_xhat, grid("xhat2", "adjoints"), atol=1e-12)
    d_rstd = (d_xhat * grid("d2")).sum(axis=1)
    d_var = d_rstd * np.array([trace.partials[f"rstd2[{t}]"][f"var2[{t}]"] for t in range(1, rows + 1)])
    assert np.allclose(d_var, vector("var2", "adjoints"), atol=1e-12)
    d_d = d_xhat * vector("rstd2")[:, None] + 2 / columns * d_var[:, None] * grid("d2")
    d_mu = -d_d.sum(axis=1)
    assert np.allclose(d_mu, vector("mu2", "adjoints"), atol=1e-12)
    d_x = d_d + d_mu[:, None] / columns
    inputs = np.array([trace.adjoints[name] for name in layer.inputs]).reshape(rows, columns)
    assert np.allclose(d_x, inputs, atol=1e-12)
    assert np.allclose((grid("n2", "adjoints") * grid("xhat2")).sum(axis=0),
                       [trace.adjoints[f"gamma2[{j}]"] for j in range(1, columns + 1)], atol=1e-12)
    anchors = set(chains(explain(solution, notation="matrix")))
    assert {"mk2-dxhat", "mk2-drstd", "mk2-dvar", "mk2-dd", "mk2-dmu", "mk2-dx", "mk2-dgamma", "mk2-dbeta"} <= anchors


def test_dropout_both_ways(solved):
    solution = solved["dropout_grid"]
    found = chains(explain(solution, notation="matrix"))
    trace = solution.traces[0]
    x = np.array([trace.values[f"x[{i},{j}]"] for i in (1, 2) for j in (1, 2, 3)]).reshape(2, 3)
    mask = np.array([[1, 0, 1], [0, 1, 1]])
    y = [m for step in found["mk1-pre"] for m in matrices(step)]
    assert y[-1] == shown_as(x * mask / 0.5, side_limit(DECIMALS))
    assert "mk1-dy" in found and "mk1-dx" not in found  # the data's gradient only with --inputs
    found = chains(explain(solution, notation="matrix", inputs=True))
    dy = np.array([trace.adjoints[f"m1[{i},{j}]"] for i in (1, 2) for j in (1, 2, 3)]).reshape(2, 3)
    dx = np.array([trace.adjoints[f"x[{i},{j}]"] for i in (1, 2) for j in (1, 2, 3)]).reshape(2, 3)
    assert np.allclose(dy * mask / 0.5, dx, atol=1e-12)
    assert [m for step in found["mk1-dx"] for m in matrices(step)][-1] == shown_as(dx, side_limit(DECIMALS))


@pytest.mark.parametrize("name", ["cnn_homework", "conv1d_signal", "lstm_step", "transformer_block", "dropout_grid"])
def test_update_matrices_are_the_records(solved, name):
    """Each tensor after the first step (a kernel a (o, c) slice at a time) and its gradient, as the records hold
    them."""
    solution = solved[name]
    found = chains(explain(solution, notation="matrix"))
    most = side_limit(DECIMALS)
    checked = 0
    for layer in layers_of(solution.problem):
        for tensor in layer.tensors:
            shape = tensor.shape
            if len(shape) <= 2:
                slices = [(tensor.name, list(tensor.names), (shape[0], 1) if len(shape) == 1 else shape)]
            else:
                size = len(tensor.names) // (shape[0] * shape[1])
                slices = [(f"{tensor.name}-{o + 1}-{c + 1}", list(tensor.names[at * size:(at + 1) * size]),
                           (size // shape[-1], shape[-1]))
                          for at, (o, c) in enumerate(product(range(shape[0]), range(shape[1])))]
            for key, names, (rows, columns) in slices:
                after = np.array([solution.history[0].parameters[w] for w in names]).reshape(rows, columns)
                gradient = np.array([solution.parameters[w].gradient for w in names]).reshape(rows, columns)
                got = [m for step in found[f"update-{key}"] for m in matrices(step)]
                assert got[-1] == shown_as(after, most), key
                if f"update-gradient-{key}" in found:
                    got = [m for step in found[f"update-gradient-{key}"] for m in matrices(step)]
                assert shown_as(gradient, most) in got, key
                checked += 1
    assert checked


# -- batch-norm: the whole batch as one matrix --------------------------------------------------------------

@pytest.mark.parametrize("name", BATCHNORM)
def test_batchnorm_matrices_are_the_records(solved, name):
    """mu, sigma^2, dL/dX (M x C: a row per sample and position), dL/dgamma, dL/dbeta, the dense dL/dW and the
    running statistics: the standard formulas on the records give the records, and the document shows them."""
    from handprop.render.derivation_kinds_batch import batch_layers

    solution = solved[name]
    trace, most = solution.traces[0], side_limit(DECIMALS)
    layers = batch_layers(solution.problem)
    norm = layers[0]
    samples, shape = len(norm.samples), norm.layer.shape_in
    channels, per, size = shape[0], int(np.prod(shape[1:])), int(np.prod(shape))
    m = samples * per

    def grid(names, record="values"):  # (M, C): row (s, p), column c
        table = getattr(trace, record)
        return np.array([[table[names[s * size + c * per + p]] for c in range(channels)]
                         for s in range(samples) for p in range(per)])

    def vector(base, record="values"):
        return np.array([getattr(trace, record)[f"{base}1[{c}]"] for c in range(1, channels + 1)])

    markdown = explain(solution, notation="matrix")
    found = chains(markdown)
    last = lambda anchor: [m for step in found[anchor] for m in matrices(step)][-1]  # noqa: E731
    x, dy = grid(norm.inputs), grid(norm.pre, "adjoints")
    mu, var, r = x.mean(axis=0), x.var(axis=0), 1 / np.sqrt(x.var(axis=0) + norm.layer.setting("eps"))
    assert np.allclose(mu, vector("mu"), atol=1e-12) and np.allclose(var, vector("var"), atol=1e-12)
    xhat = (x - mu) * r
    gamma = np.array([solution.parameters[f"gamma1[{c}]"].initial for c in range(1, channels + 1)])
    dxhat = dy * gamma
    dx = r / m * (m * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))  # the standard formula
    assert np.allclose(dx, grid(norm.inputs, "adjoints"), atol=1e-12)
    gradients = lambda base: np.array([solution.parameters[f"{base}1[{c}]"].gradient  # noqa: E731
                                       for c in range(1, channels + 1)])
    assert np.allclose((dy * xhat).sum(axis=0), gradients("gamma"), atol=1e-12)
    assert np.allclose(dy.sum(axis=0), gradients("beta"), atol=1e-12)
    momentum = norm.layer.setting("momentum")
    running_mean = momentum * mu + (1 - momentum) * np.array(norm.layer.setting("running_mean"))
    running_var = momentum * var * m / (m - 1) + (1 - momentum) * np.array(norm.layer.setting("running_var"))
    assert np.allclose(running_mean, vector("rmean"), atol=1e-12)
    assert np.allclose(running_var, vector("rvar"), atol=1e-12)
    column = lambda v: [[value] for value in v]  # noqa: E731
    assert last("mk1-mu") == shown_as(column(vector("mu")), most)
    assert last("mk1-var") == shown_as(column(vector("var")), most)
    assert last("mk1-dx") == shown_as(grid(norm.inputs, "adjoints"), most)
    assert last("mk1-dgamma") == shown_as(column(gradients("gamma")), most)
    assert last("mk1-dbeta") == shown_as(column(gradients("beta")), most)
    assert last("mk1-rmean") == shown_as(column(vector("rmean")), most)
    assert last("mk1-rvar") == shown_as(column(vector("rvar")), most)
    dense = layers[-1]
    n, units = dense.number, len(dense.pre) // samples
    delta = np.array([trace.adjoints[name] for name in dense.pre]).reshape(samples, units)
    a = np.array([trace.values[name] for name in dense.inputs]).reshape(samples, -1)
    weights = np.array([solution.parameters[w].gradient for w in dense.tensors[0].names]).reshape(units, -1)
    assert np.allclose(delta.T @ a, weights, atol=1e-12)
    assert last(f"mk{n}-dW") == shown_as(weights, most)
    assert "set out one by one" not in markdown
