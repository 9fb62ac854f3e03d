"""The Python API: load (path, example, text), Problem.from_layers / from_equations, Solution's methods."""

import json

import pytest

import handprop
from handprop import HandpropError, Problem

HOMEWORK_W = [0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]
HOMEWORK_B = [0.3, 0.3, 0.3, 0.7, 0.7]


@pytest.fixture(scope="module")
def homework():
    return handprop.solve(handprop.load("homework"))


def test_all_is_exported():
    for name in handprop.__all__:
        assert hasattr(handprop, name), name


def test_load_example_path_and_text(tmp_path, homework):
    from handprop.problem.files import example_path

    text = example_path("homework").read_text()
    by_path = handprop.load(str(example_path("homework")))
    by_text = handprop.load(text)
    assert by_text.parameters == by_path.parameters == homework.problem.parameters
    assert by_text.source == "<text>"


def test_load_json_text():
    text = json.dumps({"network": {"equations": "L = (w*x - t)**2"}, "parameters": {"w": 0.5},
                       "data": {"x": 2.0, "t": 1.5}, "optimizer": {"lr": 0.1}})
    solution = handprop.solve(handprop.load(text))
    assert solution.loss == pytest.approx(0.25, rel=1e-15)


def test_load_text_errors_are_handprop_errors():
    with pytest.raises(HandpropError, match="<text>"):
        handprop.load("[network]\nlayers = 3\n")
    with pytest.raises(HandpropError):
        handprop.load("no-such-example")


def test_existing_path_wins_over_text(tmp_path, monkeypatch):
    from handprop.problem.files import example_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a=b.toml").write_text(example_path("homework").read_text())
    assert handprop.load("a=b.toml").title == "Machine Learning Homework 1"


def test_from_layers_is_the_homework(homework):
    problem = Problem.from_layers(2, [{"units": 3, "activation": "relu"}, (2, "softmax")], loss="cross_entropy",
                                  weights=HOMEWORK_W, biases=HOMEWORK_B, x=[0.26, 0.33], t=[1, 0], lr=0.5)
    solution = handprop.solve(problem)
    assert solution.loss == homework.loss
    assert {n: p.updated for n, p in solution.parameters.items()} == \
        {n: p.updated for n, p in homework.parameters.items()}


def test_from_layers_layered_naming_and_matrices():
    problem = Problem.from_layers(2, [(3, "relu"), (2, "softmax")], loss="cross_entropy", naming="layered",
                                  weights=[[HOMEWORK_W[0:2], HOMEWORK_W[2:4], HOMEWORK_W[4:6]],
                                           [HOMEWORK_W[6:9], HOMEWORK_W[9:12]]],
                                  biases=[HOMEWORK_B[:3], HOMEWORK_B[3:]], x=[0.26, 0.33], t=[1, 0],
                                  optimizer={"name": "sgd", "lr": 0.5})
    assert problem.parameters["W2[1,3]"] == 0.3 and problem.parameters["b2[2]"] == 0.7
    assert handprop.solve(problem).loss == pytest.approx(0.6440167232228217, rel=1e-14)


def test_from_layers_numpy_values_and_init():
    np = pytest.importorskip("numpy")
    problem = Problem.from_layers(2, [3, (1, "sigmoid")], loss="mse", x=np.array([[0.0, 1.0], [1.0, 0.0]]),
                                  t=np.array([[1.0], [0.0]]), init="xavier_uniform", seed=3, optimizer="adam",
                                  lr=0.01, steps=3)
    assert problem.batch_size == 2 and problem.optimizer.name == "adam" and problem.optimizer.steps == 3
    assert len(problem.parameters) == 3 * 2 + 3 + 3 + 1


@pytest.mark.parametrize("layer, settings", [((3, "leaky_relu", 0.2), (("alpha", 0.2),)),
                                             ((3, "elu", {"alpha": 0.5}), (("alpha", 0.5),)),
                                             ({"units": 3, "activation": "hardtanh", "max_val": 2.0},
                                              (("min_val", -1.0), ("max_val", 2.0))),
                                             ((3, "gelu", {"approximate": "tanh"}), (("approximate", "tanh"),))])
def test_from_layers_takes_an_activations_settings(layer, settings):
    problem = Problem.from_layers(2, [layer, (2, "softmax")], loss="cross_entropy", weights=HOMEWORK_W,
                                  biases=HOMEWORK_B, x=[0.26, 0.33], t=[1, 0])
    assert problem.network.layers[0].params == settings


def test_from_layers_refuses_a_setting_out_of_range_as_a_file_would():
    with pytest.raises(HandpropError, match=r"network.layers: layer 1: alpha: celu's alpha is -1"):
        Problem.from_layers(2, [(3, "celu", -1), (2, "softmax")], loss="cross_entropy", weights=HOMEWORK_W,
                            biases=HOMEWORK_B, x=[0.26, 0.33], t=[1, 0])


def test_from_layers_error_names_the_place():
    with pytest.raises(HandpropError, match="parameters.w"):
        Problem.from_layers(2, [(3, "relu"), (2, "softmax")], loss="cross_entropy", weights=[0.1], biases=HOMEWORK_B,
                            x=[0.26, 0.33], t=[1, 0])


def test_from_equations():
    problem = Problem.from_equations("h = w*x + b\na = sigmoid(h)\nL = 1/2*(a - t)**2",
                                     parameters={"w": 0.5, "b": 0.1}, data={"x": [1.0, 2.0], "t": [0.3, 0.8]},
                                     lr=0.5, steps=2, outputs=["a"])
    solution = handprop.solve(problem)
    assert solution.output_names == ("a",)
    assert solution.steps == 2
    with pytest.raises(HandpropError, match="parameters"):
        Problem.from_equations("L = (w*x)**2", parameters={}, data={"x": 1.0})


def test_solution_outputs_and_names(homework):
    assert homework.output_names == ("y1", "y2")
    assert homework.outputs == homework.output_values
    assert homework.outputs[0][0] == pytest.approx(0.5251786843138394, rel=1e-14)
    assert homework.nodes["h1"].values[0] == pytest.approx(0.491)
    assert homework.parameters["w7"].gradient == pytest.approx(-0.23313726600190485, rel=1e-12)


@pytest.mark.parametrize("format", ["table", "markdown", "csv", "json"])
def test_solution_table(homework, format):
    assert homework.table(format=format) == handprop.render(homework, format=format)
    assert homework.table(format=format, decimals=6, nodes=True) == \
        handprop.render(homework, format=format, decimals=6, nodes=True)


def test_solution_explain_diagram_json(homework):
    assert homework.explain() == handprop.explain(homework)
    assert homework.explain(format="latex").lstrip().startswith("\\documentclass")
    assert "<math" in homework.explain(format="html")
    assert homework.diagram(show="gradients", bias="nodes") == handprop.diagram(homework, show="gradients",
                                                                                bias="nodes")
    assert json.loads(homework.to_json())["output_names"] == ["y1", "y2"]


@pytest.mark.parametrize("call", [lambda s: s.table(format="xml"), lambda s: s.explain(format="docx"),
                                  lambda s: s.diagram(show="everything"), lambda s: s.diagram(bias="edges")])
def test_unknown_choices_are_handprop_errors(homework, call):
    with pytest.raises(HandpropError, match="one of"):
        call(homework)


def test_import_stays_light():
    import subprocess
    import sys

    code = "import sys, handprop; print(any(m in sys.modules for m in ('numpy', 'torch', 'latex2mathml')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
