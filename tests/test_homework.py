"""The founding example: the homework's published Result table, and its values at full precision."""

from __future__ import annotations

import json
import math

import pytest

import handprop

# The homework's Result table: name -> (initial, gradient, updated), at 2 decimals.
PUBLISHED = {
    "w1": ("0.10", "0.01", "0.09"), "w2": ("0.50", "0.02", "0.49"), "w3": ("0.20", "-0.05", "0.22"),
    "w4": ("0.40", "-0.06", "0.43"), "w5": ("0.40", "0.01", "0.39"), "w6": ("0.10", "0.02", "0.09"),
    "w7": ("0.10", "-0.23", "0.22"), "w8": ("0.50", "-0.23", "0.61"), "w9": ("0.30", "-0.21", "0.40"),
    "w10": ("0.20", "0.23", "0.08"), "w11": ("0.10", "0.23", "-0.01"), "w12": ("0.40", "0.21", "0.30"),
    "b1": ("0.30", "0.05", "0.28"), "b2": ("0.30", "-0.19", "0.39"), "b3": ("0.30", "0.05", "0.28"),
    "b4": ("0.70", "-0.47", "0.94"), "b5": ("0.70", "0.47", "0.46"),
}


def homework_by_hand() -> dict:
    """The homework's own computation, written out independently of handprop."""
    x1, x2, t1, t2, lr = 0.26, 0.33, 1.0, 0.0, 0.5
    w = dict(zip([f"w{i}" for i in range(1, 13)], [0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]))
    b = dict(zip([f"b{i}" for i in range(1, 6)], [0.3, 0.3, 0.3, 0.7, 0.7]))
    p = {**w, **b}
    h1 = p["w1"] * x1 + p["w2"] * x2 + p["b1"]
    h2 = p["w3"] * x1 + p["w4"] * x2 + p["b2"]
    h3 = p["w5"] * x1 + p["w6"] * x2 + p["b3"]
    a1, a2, a3 = max(h1, 0), max(h2, 0), max(h3, 0)
    o1 = p["w7"] * a1 + p["w8"] * a2 + p["w9"] * a3 + p["b4"]
    o2 = p["w10"] * a1 + p["w11"] * a2 + p["w12"] * a3 + p["b5"]
    y1 = math.exp(o1) / (math.exp(o1) + math.exp(o2))
    y2 = math.exp(o2) / (math.exp(o1) + math.exp(o2))
    loss = -t1 * math.log(y1) - t2 * math.log(y2)
    dL_o1 = (-t1 / y1) * (y1 * (1 - y1)) + (-t2 / y2) * (-y1 * y2)
    dL_o2 = (-t1 / y1) * (-y1 * y2) + (-t2 / y2) * (y2 * (1 - y2))
    u = lambda h: 1.0 if h > 0 else 0.0  # noqa: E731 - the homework's step function
    g = {"w7": dL_o1 * a1, "w8": dL_o1 * a2, "w9": dL_o1 * a3, "b4": dL_o1,
         "w10": dL_o2 * a1, "w11": dL_o2 * a2, "w12": dL_o2 * a3, "b5": dL_o2}
    for (wa, wb, bb), (wo1, wo2), h in ((("w1", "w2", "b1"), ("w7", "w10"), h1),
                                        (("w3", "w4", "b2"), ("w8", "w11"), h2),
                                        (("w5", "w6", "b3"), ("w9", "w12"), h3)):
        upstream = (dL_o1 * p[wo1] + dL_o2 * p[wo2]) * u(h)
        g[wa], g[wb], g[bb] = upstream * x1, upstream * x2, upstream
    updated = {name: p[name] - lr * g[name] for name in p}
    return {"outputs": (y1, y2), "loss": loss, "initial": p, "gradient": g, "updated": updated,
            "nodes": {"h1": h1, "h2": h2, "h3": h3, "a1": a1, "a2": a2, "a3": a3, "o1": o1, "o2": o2,
                      "y1": y1, "y2": y2, "L": loss}}


def test_no_arguments_prints_the_published_table(cli):
    result = cli([])
    assert result.status == 0 and result.err == ""
    rows = {line.split()[0]: line.split()[1:] for line in result.out.splitlines()[4:] if line.strip()}
    assert rows["out1"] == ["0.53"] and rows["out2"] == ["0.47"]
    assert rows["loss"][0] == "0.64"
    for name, published in PUBLISHED.items():
        assert tuple(rows[name]) == published, name
    assert [line.split()[0] for line in result.out.splitlines()[4:]][3:] == list(PUBLISHED)


@pytest.mark.parametrize("example", ["homework", "homework_equations"])
def test_full_precision_matches_the_hand_computation(example):
    solution = handprop.solve(handprop.load(example))
    expected = homework_by_hand()
    assert solution.output_values[0] == pytest.approx(expected["outputs"], rel=1e-14)
    assert solution.loss == pytest.approx(expected["loss"], rel=1e-14)
    for name, record in solution.parameters.items():
        assert record.initial == expected["initial"][name]
        assert record.gradient == pytest.approx(expected["gradient"][name], rel=1e-12, abs=1e-15), name
        assert record.updated == pytest.approx(expected["updated"][name], rel=1e-12, abs=1e-15), name
    for name, value in expected["nodes"].items():
        assert solution.nodes[name].values[0] == pytest.approx(value, rel=1e-14), name


def test_loss_after_is_the_loss_at_the_updated_parameters():
    solution = handprop.solve(handprop.load("homework"))
    hand = homework_by_hand()
    p, x1, x2 = hand["updated"], 0.26, 0.33
    a = [max(p[f"w{2 * i + 1}"] * x1 + p[f"w{2 * i + 2}"] * x2 + p[f"b{i + 1}"], 0) for i in range(3)]
    o1 = p["w7"] * a[0] + p["w8"] * a[1] + p["w9"] * a[2] + p["b4"]
    o2 = p["w10"] * a[0] + p["w11"] * a[1] + p["w12"] * a[2] + p["b5"]
    assert solution.loss_after == pytest.approx(math.log(math.exp(o1) + math.exp(o2)) - o1, rel=1e-13)


def test_layered_and_equations_forms_agree_exactly():
    layered = handprop.solve(handprop.load("homework"))
    equations = handprop.solve(handprop.load("homework_equations"))
    assert layered.loss == equations.loss and layered.loss_after == equations.loss_after
    assert layered.output_values == equations.output_values
    assert layered.parameters == equations.parameters
    for name in ("h1", "h2", "h3", "a1", "a2", "a3", "o1", "o2", "y1", "y2", "L"):
        assert layered.nodes[name] == equations.nodes[name]


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_json_and_yaml_give_the_same_answer(tmp_path, suffix):
    import tomllib

    import yaml

    from handprop.problem.files import example_path

    raw = tomllib.loads(example_path("homework").read_text())
    path = tmp_path / f"hw{suffix}"
    path.write_text(json.dumps(raw) if suffix == ".json" else yaml.safe_dump(raw))
    assert handprop.solve(handprop.load(str(path))).parameters == handprop.solve(handprop.load("homework")).parameters


def test_relu_derivative_at_zero_is_zero_as_the_homework(tmp_path):
    # h1 = 0 exactly: u(0) = 0, so w1, w2 and b1 get no gradient.
    from handprop.problem.spec import from_dict

    raw = {"network": {"inputs": 1, "layers": [{"units": 1, "activation": "relu"}, {"units": 1}], "loss": "mse"},
           "parameters": {"w": [1.0, 2.0], "b": [-1.0, 0.5]}, "data": {"x": [1.0], "t": [0.0]},
           "optimizer": {"lr": 0.1}}
    solution = handprop.solve(from_dict(raw))
    assert solution.nodes["h1"].values == (0.0,)
    assert solution.parameters["w1"].gradient == 0.0 and solution.parameters["b1"].gradient == 0.0
    assert solution.parameters["b2"].gradient == pytest.approx(2 * 0.5)
