"""Problems that train on real data: CSV files, batch settings, and drawn initial parameters."""

from __future__ import annotations

import math
import statistics

import pytest

import handprop
from conftest import write
from handprop.problem import data_files as datafile
from handprop.problem import layered as lowering
from handprop.problem.spec import TrainingConfig
from handprop.problem.initialisers import SCHEMES, initial_values, scale
from handprop.problem.layered import Layer, LayeredNetwork
from handprop.core.optim import Optimizer, optimizer_step
from handprop.engine.interpreter import run_batch


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.status == 2, result.err
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("handprop: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


LAYERED = """
[network]
inputs = {inputs}
layers = [ {{ units = 3, activation = "relu" }}, {{ units = {units}, activation = "{output}" }} ]
loss = "{loss}"
[parameters]
{parameters}
[data]
{data}
[optimizer]
lr = 0.1
"""


def layered(data: str, *, parameters: str = 'init = "he_uniform"', units: int = 2, inputs: str = "2",
            output: str = "softmax", loss: str = "cross_entropy") -> str:
    return LAYERED.format(data=data, parameters=parameters, units=units, inputs=inputs, output=output, loss=loss)


def equations(data: str, parameters: str = "w = 0.5\nb = 0.1") -> str:
    return (f'[network]\nequations = """\nh = w*x + b\nL = c * (h - t)**2\n"""\n[parameters]\n{parameters}\n'
            f"[data]\n{data}\n[optimizer]\nlr = 0.1\n")


def problem(tmp_path, text: str, csv: str | None = None, csv_name: str = "d.csv"):
    if csv is not None:
        write(tmp_path, csv_name, csv)
    return handprop.load(write(tmp_path, "p.toml", text))


# The packaged examples.

def test_xor_example_loads_and_learns():
    p = handprop.load("xor")
    assert p.data == {"x1": (0.0, 0.0, 1.0, 1.0), "x2": (0.0, 1.0, 0.0, 1.0), "t1": (0.0, 1.0, 1.0, 0.0)}
    assert p.network.widths() == [2, 4, 1]
    a = math.sqrt(6 / (2 + 4))
    assert all(abs(p.parameters[f"w{k}"]) <= a for k in range(1, 9))
    solution = handprop.solve(p)
    assert solution.loss > 0.6 and solution.loss_after < 0.05


def test_xor_solves_on_the_command_line(cli):
    result = cli(["solve", "xor"])
    assert result.status == 0 and "loss" in result.out and "out1 (sample 4)" in result.out


def test_moons_example_loads_and_learns_in_mini_batches():
    p = handprop.load("moons")
    assert p.batch_size == 200 and p.training == TrainingConfig(32, 100, True, 1)
    assert p.network.widths() == [2, 8, 2]
    assert {p.data["t1"][k] + p.data["t2"][k] for k in range(200)} == {1.0}  # one-hot
    assert sum(p.data["t2"]) == 100  # two moons of 100 points
    assert p.parameters == initial_values(p.network, "he_uniform", seed=1)  # init's seed is [data]'s
    # A few epochs of mini-batches (a plain loop here; the train command has its own) bring the loss down.
    optimizer, current = Optimizer(p.optimizer), dict(p.parameters)
    first, _, _ = run_batch(p.program, current, p.data, p.batch_size, backward=False)
    for _ in range(5):
        for start in range(0, 200, 32):
            batch = {name: values[start:start + 32] for name, values in p.data.items()}
            _, gradients, _ = run_batch(p.program, current, batch, len(batch["x1"]))
            current = optimizer_step(optimizer, current, gradients)
    last, _, _ = run_batch(p.program, current, p.data, p.batch_size, backward=False)
    assert last < 0.5 * first


def test_data_files_are_not_listed_as_examples(cli):
    names = [line.split()[0] for line in cli(["examples"]).out.splitlines()]
    assert "xor" in names and "moons" in names and not any(name.endswith("csv") for name in names)


# Columns mapped to the network's data names.

def test_inputs_and_targets_from_named_columns(tmp_path):
    csv = "id,b,a,u,v\n7,1.5,2,1,0\n8,3,4.25,0,1\n"
    p = problem(tmp_path, layered('file = "d.csv"\ninputs = ["a", "b"]\ntargets = ["u", "v"]'), csv)
    assert p.data == {"x1": (2.0, 4.25), "x2": (1.5, 3.0), "t1": (1.0, 0.0), "t2": (0.0, 1.0)}
    assert p.batch_size == 2


def test_default_columns_are_the_network_names(tmp_path):
    csv = "t2,p,q,t1\n0,1,2,1\n"
    p = problem(tmp_path, layered('file = "d.csv"', inputs='["p", "q"]'), csv)
    assert p.data == {"p": (1.0,), "q": (2.0,), "t1": (1.0,), "t2": (0.0,)}


def test_label_column_becomes_one_hot_targets(tmp_path):
    csv = "x1,x2,class\n0,0,2\n0,1,0\n1,0,1.0\n1,1,2\n"
    p = problem(tmp_path, layered('file = "d.csv"\nlabel = "class"', units=3), csv)
    assert p.data["t1"] == (0.0, 1.0, 0.0, 0.0)
    assert p.data["t2"] == (0.0, 0.0, 1.0, 0.0)
    assert p.data["t3"] == (1.0, 0.0, 0.0, 1.0)


def test_text_labels_are_sorted_to_give_the_class_order(tmp_path):
    csv = "x1,x2,animal\n0,0,dog\n0,1,cat\n1,0,bird\n1,1, cat \n"
    p = problem(tmp_path, layered('file = "d.csv"\nlabel = "animal"', units=3), csv)
    classes = [[p.data[t][k] for t in ("t1", "t2", "t3")].index(1.0) for k in range(4)]
    assert classes == [2, 1, 0, 1]  # bird, cat, dog


@pytest.mark.parametrize("labels, expected", [(["0", "1", "1.0", "0"], (0.0, 1.0, 1.0, 0.0)),
                                              (["yes", "no", "yes", "no"], (1.0, 0.0, 1.0, 0.0))])
def test_one_output_unit_takes_two_classes(tmp_path, labels, expected):
    csv = "x1,x2,y\n" + "".join(f"{k},{k % 2},{label}\n" for k, label in enumerate(labels))
    p = problem(tmp_path, layered('file = "d.csv"\nlabel = "y"', units=1, output="sigmoid",
                                  loss="binary_cross_entropy"), csv)
    assert p.data["t1"] == expected and p.network.targets == ("t1",)


def test_csv_details_quotes_bom_crlf_blank_lines_and_spaces(tmp_path):
    (tmp_path / "d.csv").write_bytes(b'\xef\xbb\xbfx1, x2 ,t1,t2,note\r\n\r\n1, 2 ,1,0,"a, b"\r\n  \r\n'
                                     b'3,4,0,1,"say ""hi""\r\nand more"\r\n')
    p = problem(tmp_path, layered('file = "d.csv"'))
    assert p.data["x2"] == (2.0, 4.0) and p.data["t2"] == (0.0, 1.0)


def test_inline_data_gives_the_same_problem_as_a_file(tmp_path):
    inline = problem(tmp_path, layered("x = [[0.5, 1.0], [2.0, -1.0]]\nt = [[1, 0], [0, 1]]\nseed = 4"))
    from_file = problem(tmp_path, layered('file = "d.csv"\nlabel = "c"\nseed = 4'), "x1,x2,c\n0.5,1,0\n2,-1,1\n")
    assert inline.data == from_file.data and inline.parameters == from_file.parameters


def test_path_is_relative_to_the_problem_file_folder(tmp_path, monkeypatch, cli):
    folder = tmp_path / "problems"
    folder.mkdir()
    (folder / "data").mkdir()
    write(folder / "data", "d.csv", "x1,x2,t1,t2\n1,2,1,0\n")
    path = write(folder, "p.toml", layered('file = "data/d.csv"'))
    monkeypatch.chdir(tmp_path)
    assert handprop.load(path).data["x1"] == (1.0,)
    assert cli(["solve", "problems/p.toml"]).status == 0


def test_standard_input_reads_relative_to_the_working_directory(tmp_path, monkeypatch, cli):
    write(tmp_path, "d.csv", "x1,x2,t1,t2\n1,2,1,0\n")
    monkeypatch.chdir(tmp_path)
    result = cli(["solve", "-"], stdin=layered('file = "d.csv"'))
    assert result.status == 0 and "loss" in result.out


def test_absolute_path(tmp_path):
    csv_path = write(tmp_path, "d.csv", "x1,x2,t1,t2\n1,2,1,0\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    p = handprop.load(write(elsewhere, "p.toml", layered(f"file = {csv_path!r}")))
    assert p.data["x2"] == (2.0,)


# Equations problems.

def test_equations_read_every_data_name_from_its_column(tmp_path):
    p = problem(tmp_path, equations('file = "d.csv"\nc = 0.5'), "note,t,x\nfirst,2,1\nsecond,4,2\nthird,5.5,3\n")
    assert p.data == {"x": (1.0, 2.0, 3.0), "t": (2.0, 4.0, 5.5), "c": (0.5, 0.5, 0.5)}  # "note" is not read
    assert p.batch_size == 3
    solution = handprop.solve(p)
    expected = statistics.fmean(0.5 * (0.5 * x + 0.1 - t) ** 2 for x, t in ((1, 2), (2, 4), (3, 5.5)))
    assert solution.loss == pytest.approx(expected, rel=1e-12)


def test_equations_inline_list_beside_a_file(tmp_path):
    p = problem(tmp_path, equations('file = "d.csv"\nc = [1.0, 2.0]'), "x,t\n1,2\n3,4\n")
    assert p.data["c"] == (1.0, 2.0) and p.data["x"] == (1.0, 3.0)


def test_names_read_by_equations():
    assert datafile.names_read("h = w*x + b\na = relu(h)\nL = (a - t)**2") == ["w", "x", "b", "t"]
    assert datafile.names_read("y1, y2 = softmax(o, p)\nL = -t*log(y1)") == ["o", "p", "t"]


# Batch settings.

def test_batch_settings_with_inline_data(tmp_path):
    p = problem(tmp_path, layered("x = [[1, 2], [3, 4], [5, 6]]\nt = [[1, 0], [0, 1], [1, 0]]\n"
                                  "batch_size = 2\nepochs = 7\nshuffle = true\nseed = 9"))
    assert p.training == TrainingConfig(batch_size=2, epochs=7, shuffle=True, seed=9)
    assert p.batch_size == 3  # solve's batch stays the whole data set


def test_batch_settings_default(tmp_path):
    p = problem(tmp_path, equations("x = [1.0, 2.0]\nt = [1.0, 0.0]\nc = 1"))
    assert p.training == TrainingConfig(None, None, False, 0)


# Initialisation.

NETWORK = LayeredNetwork(("x1", "x2", "x3"), (Layer(5, "relu"), Layer(4, "tanh"), Layer(2, "softmax")),
                         "cross_entropy")


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_init_is_deterministic_for_a_seed(scheme):
    first = initial_values(NETWORK, scheme, seed=3)
    assert first == initial_values(NETWORK, scheme, seed=3)
    assert list(first) == list(lowering.parameter_order(NETWORK))
    if scheme != "zeros":
        assert first != initial_values(NETWORK, scheme, seed=4)


def test_zeros_are_exact():
    assert set(initial_values(NETWORK, "zeros", seed=5).values()) == {0.0}


def _layer_values(network, values):
    """Per layer: (fan_in, fan_out, weights, biases)."""
    widths = network.widths()
    for n, (rows, biases) in enumerate(zip(lowering.weight_rows(network),
                                           lowering.bias_names(network)), 1):
        yield widths[n - 1], widths[n], [values[w] for row in rows for w in row], [values[b] for b in biases]


@pytest.mark.parametrize("scheme, bound", [
    ("xavier_uniform", lambda fan_in, fan_out: math.sqrt(6 / (fan_in + fan_out))),
    ("he_uniform", lambda fan_in, fan_out: math.sqrt(6 / fan_in)),
    ("uniform", lambda fan_in, fan_out: 1 / math.sqrt(fan_in)),
])
def test_uniform_schemes_stay_within_their_bound(scheme, bound):
    values = initial_values(NETWORK, scheme, seed=11)
    for fan_in, fan_out, weights, biases in _layer_values(NETWORK, values):
        a = bound(fan_in, fan_out)
        assert scale(scheme, fan_in, fan_out) == pytest.approx(a)
        assert all(-a <= w <= a for w in weights)
        assert max(abs(w) for w in weights) > a / 2  # spread over the interval, not squeezed into it
        if scheme == "uniform":
            assert all(-a <= b <= a for b in biases) and any(b != 0 for b in biases)
        else:
            assert biases == [0.0] * len(biases)


WIDE = LayeredNetwork(tuple(f"x{k}" for k in range(1, 201)), (Layer(150, "relu"), Layer(100, "identity")), "mse")


@pytest.mark.parametrize("scheme, std", [
    ("he_normal", lambda fan_in, fan_out: math.sqrt(2 / fan_in)),
    ("xavier_normal", lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out))),
    ("he_uniform", lambda fan_in, fan_out: math.sqrt(6 / fan_in) / math.sqrt(3)),  # U(-a, a) has std a/sqrt(3)
    ("xavier_uniform", lambda fan_in, fan_out: math.sqrt(6 / (fan_in + fan_out)) / math.sqrt(3)),
])
def test_sample_standard_deviation_of_a_wide_layer(scheme, std):
    values = initial_values(WIDE, scheme, seed=2)
    for fan_in, fan_out, weights, biases in _layer_values(WIDE, values):
        assert abs(statistics.fmean(weights)) < 0.05 * std(fan_in, fan_out)
        assert statistics.pstdev(weights) == pytest.approx(std(fan_in, fan_out), rel=0.10)
        assert biases == [0.0] * fan_out


def test_init_seed_from_parameters_over_data(tmp_path):
    network = "x = [[1, 2]]\nt = [[1, 0]]\nseed = 5"
    from_data = problem(tmp_path, layered(network, parameters='init = "xavier_normal"'))
    own = problem(tmp_path, layered(network, parameters='init = "xavier_normal"\nseed = 8'))
    assert from_data.parameters == initial_values(from_data.network, "xavier_normal", seed=5)
    assert own.parameters == initial_values(own.network, "xavier_normal", seed=8)
    default = problem(tmp_path, layered("x = [[1, 2]]\nt = [[1, 0]]", parameters='init = "uniform"'))
    assert default.parameters == initial_values(default.network, "uniform", seed=0)


def test_init_with_layered_naming(tmp_path):
    text = layered("x = [[1, 2]]\nt = [[1, 0]]", parameters='init = "he_normal"').replace(
        'loss = "cross_entropy"', 'loss = "cross_entropy"\nnaming = "layered"')
    p = problem(tmp_path, text)
    assert list(p.parameters)[:3] == ["W1[1,1]", "W1[1,2]", "W1[2,1]"] and p.parameters["b2[2]"] == 0.0


# Bad input: one line, exit 2, naming the file, the place and what was expected.

GOOD_CSV = "x1,x2,class\n0,0,0\n0,1,1\n1,0,1\n"
LABEL = 'file = "d.csv"\nlabel = "class"'

# (case id, problem text, CSV text or None, fragments the message must hold)
CASES = [
    ("missing file", layered('file = "nowhere.csv"\nlabel = "class"'), None,
     ["nowhere.csv: no such file", "a relative path is read from the problem file's folder"]),
    ("empty file", layered(LABEL), "", ["d.csv: empty file", "a header row"]),
    ("header only", layered(LABEL), "x1,x2,class\n\n", ["d.csv: no data rows"]),
    ("no header", layered(LABEL), "0,0,0\n1,1,1\n", ["d.csv: line 1: the first row is numbers, not column names"]),
    ("duplicate column", layered(LABEL), "x1,x1,class\n0,0,0\n", ["d.csv: line 1: column 'x1' named twice"]),
    ("ragged row", layered(LABEL), "x1,x2,class\n0,0,0\n0,1\n",
     ["d.csv: line 3: 2 cells, but the header has 3 columns"]),
    ("row of empty cells", layered(LABEL), "x1,x2,class\n0,0,0\n,,\n", ["d.csv: line 3, column x1: empty cell"]),
    ("long row", layered(LABEL), "x1,x2,class\n0,0,0,9\n", ["d.csv: line 2: 4 cells, but the header has 3 columns"]),
    ("unclosed quote", layered(LABEL), 'x1,x2,class\n0,0,0\n1,"1,1\n', ["d.csv: line 3: cannot read CSV"]),
    ("one-column header", layered(LABEL), "x1 x2 class\n0 0 0\n",
     ["d.csv: column x1: no such column", "one of: x1 x2 class"]),
    ("line after a multi-line cell", layered(LABEL), 'x1,x2,class\n0,"0\n",0\n1,1\n',
     ["d.csv: line 4: 2 cells, but the header has 3 columns"]),
    ("unknown column", layered('file = "d.csv"\nlabel = "klass"'), GOOD_CSV,
     ["d.csv: column klass: no such column", "did you mean 'class'?", "one of: x1, x2, class"]),
    ("unknown input column", layered('file = "d.csv"\ninputs = ["x1", "x22"]\nlabel = "class"'), GOOD_CSV,
     ["d.csv: column x22: no such column", "did you mean 'x2'?"]),
    ("default input columns", layered(LABEL), "a,b,class\n0,0,0\n",
     ["d.csv: column x1: no such column", "inputs = [...]", "one of: a, b, class"]),
    ("default target columns", layered('file = "d.csv"'), GOOD_CSV,
     ["d.csv: column t1: no such column", "targets = [...] or label"]),
    ("non-numeric cell", layered(LABEL), "x1,x2,class\n0,0,0\n0,abc,1\n",
     ["d.csv: line 3, column x2: 'abc' is not a number"]),
    ("empty cell", layered(LABEL), "x1,x2,class\n0,,0\n", ["d.csv: line 2, column x2: empty cell"]),
    ("nan cell", layered(LABEL), "x1,x2,class\nnan,0,0\n", ["d.csv: line 2, column x1: 'nan' is not finite"]),
    ("infinite cell", layered(LABEL), "x1,x2,class\n0,-inf,0\n", ["d.csv: line 2, column x2: '-inf' is not finite"]),
    ("overflowing cell", layered(LABEL), "x1,x2,class\n0,1e999,0\n", ["line 2, column x2: '1e999' is not finite"]),
    ("label out of range", layered(LABEL), "x1,x2,class\n0,0,0\n0,1,2\n",
     ["d.csv: line 3, column class: label 2 is not a class of the output layer's 2 units", "0 to 1"]),
    ("label not whole", layered(LABEL), "x1,x2,class\n0,0,0.5\n",
     ["d.csv: line 2, column class: label 0.5 is not a class index"]),
    ("label negative", layered(LABEL), "x1,x2,class\n0,0,-1\n",
     ["line 2, column class: label -1 is not a class index"]),
    ("too many text classes", layered(LABEL), "x1,x2,class\n0,0,cat\n0,1,dog\n1,0,cat\n1,1,bird\n",
     ["d.csv: line 5, column class: label 'bird' makes 3 classes (bird, cat, dog)", "the output layer has 2 units"]),
    ("too few text classes", layered(LABEL, units=3), "x1,x2,class\n0,0,cat\n0,1,dog\n",
     ["d.csv: column class: 2 classes (cat, dog), but the output layer has 3 units"]),
    ("empty label", layered(LABEL), "x1,x2,class\n0,0,cat\n0,1,\n", ["d.csv: line 3, column class: empty label"]),
    ("binary label 2", layered(LABEL, units=1, output="sigmoid", loss="binary_cross_entropy"),
     "x1,x2,class\n0,0,1\n0,1,2\n",
     ["d.csv: line 3, column class: label 2 is not a class of the output layer's 1 unit", "0 or 1"]),
    ("binary three texts", layered(LABEL, units=1, output="sigmoid", loss="binary_cross_entropy"),
     "x1,x2,class\n0,0,a\n0,1,b\n1,1,c\n", ["line 4, column class: label 'c' makes 3 classes", "1 unit"]),
    ("binary one text", layered(LABEL, units=1, output="sigmoid", loss="binary_cross_entropy"),
     "x1,x2,class\n0,0,a\n0,1,a\n", ["d.csv: column class: 1 class (a), but the output layer has 1 unit",
                                     "two classes"]),
    # The problem file's own [data] and [parameters] keys.
    ("file not text", layered('file = 3\nlabel = "class"'), None, ["p.toml: data.file: is the value 3 (text)"]),
    ("file and x", layered('file = "d.csv"\nx = [1, 2]\nlabel = "class"'), GOOD_CSV,
     ["p.toml: data.x: given together with file"]),
    ("label without file", layered('x = [1, 2]\nt = [1, 0]\nlabel = "class"'), None,
     ["p.toml: data.label: given without file"]),
    ("targets and label", layered('file = "d.csv"\nlabel = "class"\ntargets = ["x1", "x2"]'), GOOD_CSV,
     ["p.toml: data: both targets and label given"]),
    ("targets count", layered('file = "d.csv"\ntargets = ["class"]'), GOOD_CSV,
     ["p.toml: data.targets: 1 column for 2 output units"]),
    ("inputs count", layered('file = "d.csv"\ninputs = ["x1"]\nlabel = "class"'), GOOD_CSV,
     ["p.toml: data.inputs: 1 column for 2 inputs"]),
    ("inputs not names", layered('file = "d.csv"\ninputs = [1, 2]\nlabel = "class"'), GOOD_CSV,
     ["p.toml: data.inputs: entry 1: is the value 1 (text)"]),
    ("data key typo", layered('fiel = "d.csv"\nlabel = "class"'), GOOD_CSV,
     ["p.toml: data.fiel: unknown key", "did you mean 'file'?"]),
    ("batch_size too large", layered(LABEL + "\nbatch_size = 64"), GOOD_CSV,
     ["p.toml: data.batch_size: batch_size 64 is larger than the 3 samples", "from 1 to 3"]),
    ("batch_size zero", layered("x = [1, 2]\nt = [1, 0]\nbatch_size = 0"), None,
     ["p.toml: data.batch_size: is the value 0"]),
    ("batch_size text", layered(LABEL + '\nbatch_size = "32"'), GOOD_CSV, ["data.batch_size: is the text '32'"]),
    ("epochs zero", layered(LABEL + "\nepochs = 0"), GOOD_CSV, ["p.toml: data.epochs: is the value 0"]),
    ("epochs fraction", layered(LABEL + "\nepochs = 2.5"), GOOD_CSV, ["p.toml: data.epochs: is the value 2.5"]),
    ("shuffle not boolean", layered(LABEL + "\nshuffle = 1"), GOOD_CSV,
     ["p.toml: data.shuffle: is the value 1 (true or false)"]),
    ("seed negative", layered(LABEL + "\nseed = -1"), GOOD_CSV,
     ["p.toml: data.seed: is the value -1 (a whole number 0 or more)"]),
    ("unknown init", layered(LABEL, parameters='init = "he_unifrom"'), GOOD_CSV,
     ["p.toml: parameters.init: unknown init 'he_unifrom'", "did you mean 'he_uniform'?", "xavier_normal"]),
    ("init not text", layered(LABEL, parameters="init = 1"), GOOD_CSV, ["p.toml: parameters.init: is the value 1"]),
    ("init and values", layered(LABEL, parameters='init = "zeros"\nw1 = 0.5'), GOOD_CSV,
     ["p.toml: parameters.w1: listed together with init", "not both"]),
    ("seed without init", layered(LABEL, parameters="seed = 1\nw = [0.1]"), GOOD_CSV,
     ["p.toml: parameters.seed: seed given without init"]),
    ("init seed negative", layered(LABEL, parameters='init = "zeros"\nseed = -2'), GOOD_CSV,
     ["p.toml: parameters.seed: is the value -2"]),
    # Equations problems.
    ("equations init", equations('file = "d.csv"\nc = 1', parameters='init = "he_uniform"'), "x,t\n1,2\n",
     ["p.toml: parameters.init: init needs a layered network: it needs each weight's fan-in and fan-out"]),
    ("equations missing column", equations('file = "d.csv"\nc = 1'), "x,tt\n1,2\n",
     ["d.csv: column t: no such column", "the equations read 't'", "did you mean 'tt'?"]),
    ("equations list length", equations('file = "d.csv"\nc = [1.0, 2.0, 3.0]'), "x,t\n1,2\n3,4\n",
     ["p.toml: data.c: has 3 samples but the file has 2"]),
    ("equations columns keys", equations('file = "d.csv"\nc = 1\ninputs = ["x"]'), "x,t\n1,2\n",
     ["p.toml: data.inputs: inputs names columns for a layered network"]),
    ("equations bad cell", equations('file = "d.csv"\nc = 1'), "x,t\n1,2\nfour,4\n",
     ["d.csv: line 3, column x: 'four' is not a number"]),
    ("equations batch_size", equations("x = [1.0, 2.0]\nt = [1.0, 0.0]\nc = 1\nbatch_size = 3"), None,
     ["p.toml: data.batch_size: batch_size 3 is larger than the 2 samples"]),
]


@pytest.mark.parametrize("text, csv, fragments", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, text, csv, fragments):
    if csv is not None:
        write(tmp_path, "d.csv", csv)
    result = cli(["solve", write(tmp_path, "p.toml", text)])
    assert_one_line_error(result, *fragments)


def test_csv_not_utf8(cli, tmp_path):
    (tmp_path / "d.csv").write_bytes(b"x1,x2,class\n0,0,0\n0,1,\xff\n")
    result = cli(["solve", write(tmp_path, "p.toml", layered(LABEL))])
    assert_one_line_error(result, "d.csv: line 3: not UTF-8 text (byte 23)")


def test_csv_is_a_directory(cli, tmp_path):
    (tmp_path / "d.csv").mkdir()
    assert_one_line_error(cli(["solve", write(tmp_path, "p.toml", layered(LABEL))]), "d.csv: is a directory")


def test_too_many_rows(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(datafile, "MAX_ROWS", 3)
    write(tmp_path, "d.csv", GOOD_CSV + "1,1,0\n")
    result = cli(["solve", write(tmp_path, "p.toml", layered(LABEL))])
    assert_one_line_error(result, "d.csv: line 5: more than 3 data rows", "at most 3 rows")


def test_missing_file_from_standard_input_names_the_working_directory(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli(["solve", "-"], stdin=layered(LABEL))
    assert_one_line_error(result, "d.csv: no such file", "read from the working directory")


def test_errors_are_handprop_errors_in_the_library(tmp_path):
    write(tmp_path, "d.csv", "x1,x2,class\n0,0,7\n")
    with pytest.raises(handprop.HandpropError) as caught:
        handprop.load(write(tmp_path, "p.toml", layered(LABEL)))
    assert (caught.value.file, caught.value.where) == ("d.csv", "line 2, column class")


def test_yaml_and_json_problems_read_files_too(tmp_path):
    write(tmp_path, "d.csv", "a,b,y\n1,2,no\n3,4,yes\n")
    yaml_text = ("network: {inputs: 2, layers: [{units: 1, activation: sigmoid}], loss: binary_cross_entropy}\n"
                 "parameters: {init: zeros}\n"
                 "data: {file: d.csv, inputs: [a, b], label: y, batch_size: 1, shuffle: yes}\n"
                 "optimizer: {lr: 0.5}\n")
    from_yaml = handprop.load(write(tmp_path, "p.yaml", yaml_text))
    json_text = ('{"network": {"inputs": 2, "layers": [{"units": 1, "activation": "sigmoid"}], '
                 '"loss": "binary_cross_entropy"}, "parameters": {"init": "zeros"}, '
                 '"data": {"file": "d.csv", "inputs": ["a", "b"], "label": "y", "batch_size": 1, "shuffle": true}, '
                 '"optimizer": {"lr": 0.5}}')
    from_json = handprop.load(write(tmp_path, "p.json", json_text))
    assert from_yaml.data == from_json.data == {"x1": (1.0, 3.0), "x2": (2.0, 4.0), "t1": (0.0, 1.0)}
    assert from_yaml.training == from_json.training == TrainingConfig(1, None, True, 0)
