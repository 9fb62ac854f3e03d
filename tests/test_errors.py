"""Bad input: one line `handprop: error: FILE: WHERE: what (expected)`, exit 2, no traceback, nothing lost."""

from __future__ import annotations

import pytest

from conftest import run_process, write
from handprop.problem.files import example_path

HOMEWORK = example_path("homework").read_text()
EQUATIONS = example_path("homework_equations").read_text()


def homework(old: str, new: str) -> str:
    assert old in HOMEWORK
    return HOMEWORK.replace(old, new)


def equations(text: str, parameters: str = "w = 0.5\nb = 0.1", data: str = "x = [1.0, 2.0]\nt = [0.0, 1.0]") -> str:
    return f'[network]\nequations = """\n{text}\n"""\n[parameters]\n{parameters}\n[data]\n{data}\n[optimizer]\nlr = 0.1\n'


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.status == 2, result.err
    assert result.out == ""
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("handprop: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


# (case id, file name, file text, fragments the message must hold)
FILE_CASES = [
    ("toml syntax", "p.toml", "[network]\ninputs = = 2\n", ["p.toml: line 2, column 10", "invalid TOML"]),
    ("json syntax", "p.json", '{\n  "network": {\n    "inputs": 2,\n  }\n}', ["p.json: line 4, column 3", "invalid JSON"]),
    ("yaml syntax", "p.yaml", "network:\n  inputs: [1, 2\ndata: 3\n", ["p.yaml: line 3, column", "invalid YAML"]),
    ("not a table", "p.json", "[1, 2]", ["the document is a list", "a table of sections"]),
    ("empty yaml", "p.yaml", "", ["the document is empty"]),
    ("unknown extension", "p.txt", "x", ["unknown file type '.txt'", ".toml"]),
    ("missing network", "p.toml", homework("[network]", "[netwrk]"), ["netwrk: unknown key", "did you mean 'network'"]),
    ("missing data", "p.toml", homework("[data]\nx = [0.26, 0.33]\nt = [1, 0]", ""),
     ["data.x: missing", "inputs x and targets t"]),
    ("unknown activation", "p.toml", homework('"relu"', '"rleu"'),
     ["network.layers: layer 1: activation: unknown activation 'rleu'", "did you mean 'relu'", "identity, relu"]),
    ("unknown loss", "p.toml", homework('"cross_entropy"', '"crossentropy"'),
     ["network.loss: unknown loss 'crossentropy'", "did you mean 'cross_entropy'", "mse"]),
    ("unknown optimizer", "p.toml", homework('name = "sgd"', 'name = "sgdd"'),
     ["optimizer.name: unknown optimizer 'sgdd'", "did you mean 'sgd'"]),
    ("unknown naming", "p.toml", homework('"sequential"', '"numbered"'), ["network.naming: unknown naming 'numbered'"]),
    ("too few weights", "p.toml", homework("0.3, 0.2, 0.1, 0.4]", "0.3, 0.2, 0.1]"),
     ["parameters.w: 11 weights given, missing w12", "12: w1..w12"]),
    ("too many weights", "p.toml", homework("0.3, 0.2, 0.1, 0.4]", "0.3, 0.2, 0.1, 0.4, 0.9]"),
     ["parameters.w: 13 weights given, 1 extra"]),
    ("no biases", "p.toml", homework("b = [0.3, 0.3, 0.3, 0.7, 0.7]", ""),
     ["parameters: 5 parameters missing: b1, b2, b3, b4, b5"]),
    ("unknown parameter", "p.toml", homework("b = [", "w13 = 1\nb = ["), ["parameters.w13: unknown parameter"]),
    ("parameter twice", "p.toml", homework("b = [", "w3 = 1\nb = ["), ["w3 given twice"]),
    ("non-numeric", "p.toml", homework("0.5, 0.2, 0.4", '0.5, "x", 0.4'),
     ["parameters.w: entry 3: is the text 'x' (a number)"]),
    ("nan", "p.toml", homework("0.5, 0.2, 0.4", "0.5, nan, 0.4"), ["parameters.w: entry 3: is nan (a finite number)"]),
    ("infinite", "p.toml", homework("b = [0.3", "b = [inf"), ["parameters.b: entry 1: is inf (a finite number)"]),
    ("json nan", "p.json", '{"network": {}, "parameters": {"w": NaN}}', ["NaN is not a number"]),
    ("inputs too short", "p.toml", homework("x = [0.26, 0.33]", "x = [0.26]"), ["data.x: has 1 value (2, one per input)"]),
    ("targets too long", "p.toml", homework("t = [1, 0]", "t = [1, 0, 0]"),
     ["data.t: has 3 values (2, one per output unit)"]),
    ("batch mismatch", "p.toml", homework("x = [0.26, 0.33]", "x = [[0.26, 0.33], [0.1, 0.2]]"),
     ["data: 2 input samples but 1 target samples"]),
    ("sample too short", "p.toml", homework("x = [0.26, 0.33]", "x = [[0.26, 0.33], [0.1]]"),
     ["data.x: sample 2: has 1 value"]),
    ("no layers", "p.toml", homework("layers = [", "layerz = ["), ["network.layerz: unknown key", "did you mean 'layers'"]),
    ("lr missing", "p.toml", homework("lr = 0.5", ""), ["optimizer.lr: missing"]),
    ("lr negative", "p.toml", homework("lr = 0.5", "lr = -0.5"), ["optimizer.lr: is -0.5 (a learning rate of 0 or more)"]),
    ("steps zero", "p.toml", homework("steps = 1", "steps = 0"), ["optimizer.steps: is the value 0"]),
    ("optimizer key", "p.toml", homework('lr = 0.5', 'lr = 0.5\nmomentun = 0.9'),
     ["optimizer.momentun: unknown key", "did you mean 'momentum'"]),
    ("adam key on sgd", "p.toml", homework('lr = 0.5', 'lr = 0.5\nbetas = [0.9, 0.99]'), ["optimizer.betas: unknown key"]),
    ("nesterov", "p.toml", homework('lr = 0.5', 'lr = 0.5\nnesterov = true'),
     ["optimizer.nesterov: Nesterov momentum needs momentum > 0 and dampening = 0"]),
    ("betas", "p.toml", homework('name = "sgd"\nlr = 0.5', 'name = "adam"\nlr = 0.5\nbetas = [0.9, 1.5]'),
     ["optimizer.betas: is [0.9, 1.5] (two numbers from 0 up to (not including) 1)"]),
    ("amsgrad", "p.toml", homework('name = "sgd"\nlr = 0.5', 'name = "adam"\nlr = 0.5\namsgrad = 1'),
     ["optimizer.amsgrad: is 1 (true or false)"]),
    ("momentum range", "p.toml", homework('lr = 0.5', 'lr = 0.5\nmomentum = 2'), ["optimizer.momentum: is 2.0 (from 0 to 1)"]),
    ("decimals", "p.toml", homework("decimals = 2", "decimals = 40"), ["display.decimals: is the value 40"]),
    ("alpha on relu", "p.toml", homework('activation = "relu" }', 'activation = "relu", alpha = 0.1 }'),
     ["network.layers: layer 1: alpha: alpha given for relu (relu takes no settings)"]),
    # An op's settings, given in a layer: unknown to the op, out of its range, together not allowed.
    ("setting of another op", "p.toml", homework('activation = "relu" }', 'activation = "elu", min_val = 0.1 }'),
     ["network.layers: layer 1: min_val: elu has no setting 'min_val' (one of: alpha)"]),
    ("setting no op has", "p.toml", homework('activation = "relu" }', 'activation = "elu", beta = 0.1 }'),
     ["network.layers: layer 1.beta: unknown key", "one of: units, activation, bias, alpha"]),
    ("setting out of range", "p.toml", homework('activation = "relu" }', 'activation = "celu", alpha = 0 }'),
     ["network.layers: layer 1: alpha: celu's alpha is 0 (a number above 0)"]),
    ("setting not a number", "p.toml", homework('activation = "relu" }', 'activation = "elu", alpha = "big" }'),
     ["network.layers: layer 1: alpha: is the text 'big' (a number)"]),
    ("setting word", "p.toml", homework('activation = "relu" }', 'activation = "gelu", approximate = "sigmoid" }'),
     ["network.layers: layer 1: approximate: gelu's approximate is 'sigmoid' (one of: 'none', 'tanh')"]),
    ("settings together", "p.toml", homework('activation = "relu" }', 'activation = "hardtanh", min_val = 2 }'),
     ["network.layers: layer 1: min_val 2 is not below max_val 1 (min_val < max_val, as torch.nn.Hardtanh)"]),
    ("units zero", "p.toml", homework("units = 3", "units = 0"), ["network.layers: layer 1: units: is the value 0"]),
    ("layered shape", "p.toml", homework('naming = "sequential"', 'naming = "layered"').replace(
        "w = [0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]\nb = [0.3, 0.3, 0.3, 0.7, 0.7]",
        "W1 = [[0.1, 0.5], [0.2, 0.4]]\nb1 = [0.3, 0.3, 0.3]\nW2 = [[0.1, 0.5, 0.3], [0.2, 0.1, 0.4]]\nb2 = [0.7, 0.7]"),
     ["parameters.W1: shape 2x2 does not fit the network", "a 3x2 matrix"]),
    ("layered missing", "p.toml", homework('naming = "sequential"', 'naming = "layered"').replace(
        "w = [0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]\nb = [0.3, 0.3, 0.3, 0.7, 0.7]",
        "W1 = [[0.1, 0.5], [0.2, 0.4], [0.4, 0.1]]\nb1 = [0.3, 0.3, 0.3]\nW2 = [[0.1, 0.5, 0.3], [0.2, 0.1, 0.4]]"),
     ["parameters: 2 parameters missing: b2[1], b2[2]"]),
    # Equations.
    ("syntax", "p.toml", equations("h = w*x +\nL = (h - t)**2"), ["p.toml: network.equations: line 3, column", "syntax error"]),
    ("undefined", "p.toml", equations("h = w*xx + b\nL = (h - t)**2"),
     ["line 3, column 7", "undefined name 'xx'", "did you mean 'x'"]),
    ("parameter assigned", "p.toml", equations("w = w + 1\nh = w*x + b\nL = (h - t)**2"),
     ["'w' is a parameter name and cannot be assigned"]),
    ("assign parameter", "p.toml", equations("w = x + b\nL = (w - t)**2"), ["'w' is a parameter name"]),
    ("before assignment", "p.toml", equations("L = (h - t)**2\nh = w*x + b"),
     ["line 3", "'h' is used before it is assigned (on line 4)"]),
    ("unknown function", "p.toml", equations("h = rleu(w*x + b)\nL = (h - t)**2"),
     ["unknown function 'rleu'", "did you mean 'relu'"]),
    ("arity", "p.toml", equations("h = relu(w, x)\nL = (h - t)**2 + b"), ["relu takes 1 argument, not 2"]),
    ("attribute", "p.toml", equations("h = w.real + x*b\nL = (h - t)**2"), ["attribute access is not arithmetic"]),
    ("subscript", "p.toml", equations("h = w[0] + x*b\nL = (h - t)**2"), ["a subscript is not arithmetic"]),
    ("import", "p.toml", equations("import os\nL = (w*x + b - t)**2"), ["an import is not an equation"]),
    ("lambda", "p.toml", equations("f = lambda: 1\nL = (w*x + b - t)**2"), ["a lambda is not arithmetic"]),
    ("string", "p.toml", equations("h = 'w' + x*b*w\nL = (h - t)**2"), ["a string is not a number"]),
    ("comprehension", "p.toml", equations("h = [w for w in x]\nL = (w*x + b - t)**2"),
     ["a comprehension is not arithmetic"]),
    ("dunder call", "p.toml", equations("h = __import__('os')\nL = (w*x + b - t)**2"), ["unknown function '__import__'"]),
    ("dunder name", "p.toml", equations("__h = w*x + b\nL = (__h - t)**2"), ["name '__h' is not allowed"]),
    ("call of call", "p.toml", equations("h = (w + x)(b)\nL = (h - t)**2"), ["call of an expression"]),
    ("keyword", "p.toml", equations("h = relu(x=w) + b*x\nL = (h - t)**2"), ["keyword arguments to relu()"]),
    # An op's settings, in an equation: by position or by name, numbers (or gelu's words), in range.
    ("setting unknown", "p.toml", equations("h = elu(w*x, beta=0.1) + b\nL = (h - t)**2"),
     ["line 3, column 5", "elu has no setting 'beta' (one of: alpha)"]),
    ("setting on relu", "p.toml", equations("h = relu(w*x, 0.1) + b\nL = (h - t)**2"),
     ["line 3, column 5", "relu takes 1 argument, not 2 (relu(x))"]),
    ("setting range", "p.toml", equations("h = celu(w*x, alpha=-1) + b\nL = (h - t)**2"),
     ["line 3, column 5", "celu's alpha is -1 (a number above 0)"]),
    ("setting order", "p.toml", equations("h = hardtanh(w*x, 1, -1) + b\nL = (h - t)**2"),
     ["line 3, column 5", "min_val 1 is not below max_val -1"]),
    ("setting written out", "p.toml", equations("h = elu(w*x, alpha=b) + b\nL = (h - t)**2"),
     ["line 3, column 20", "elu's alpha must be a number written out"]),
    ("setting twice", "p.toml", equations("h = elu(w*x, 0.5, alpha=0.7) + b\nL = (h - t)**2"),
     ["elu's alpha given twice"]),
    ("setting word", "p.toml", equations("h = gelu(w*x, approximate='erf') + b\nL = (h - t)**2"),
     ["gelu's approximate is 'erf' (one of: 'none', 'tanh')"]),
    ("modulo", "p.toml", equations("h = w % x + b\nL = (h - t)**2"), ["the operator % is not allowed"]),
    ("comparison", "p.toml", equations("h = (w < x) + b\nL = (h - t)**2"), ["a comparison is not arithmetic"]),
    ("softmax alone", "p.toml", equations("h = softmax(w, x) + b\nL = (h - t)**2"), ["softmax returns one value"]),
    ("tuple target", "p.toml", equations("h, g = w*x, b\nL = (h - t)**2"), ["several names only on the left of softmax"]),
    ("softmax count", "p.toml", equations("p, q = softmax(w*x, b, x)\nL = -t*log(p)"),
     ["softmax of 3 arguments assigned to 2 names"]),
    ("no parameter in loss", "p.toml", equations("h = w*x + b\nL = (x - t)**2"), ["the loss 'L' depends on no parameter"]),
    ("unused parameter", "p.toml", equations("L = (w*x - t)**2"), ["parameters: parameter 'b' not used"]),
    ("loss unknown", "p.toml", equations("h = w*x + b\nL = (h - t)**2").replace("[parameters]", 'loss = "LL"\n[parameters]'),
     ["network.loss: 'LL' is not assigned", "did you mean 'L'"]),
    ("data lengths", "p.toml", equations("L = (w*x + b - t)**2", data="x = [1.0, 2.0]\nt = [0.0, 1.0, 2.0]"),
     ["data.t: has 3 samples but data.x has 2"]),
    ("huge literal", "p.toml", equations("L = (w*x + b - t)**2 + 1e999"), ["number too large"]),
    ("log domain", "p.toml", equations("h = w*x + b\nL = log(h - t)"),
     ["node L (line 4), sample 1", "log of -1.06", "a positive argument"]),
    ("sqrt domain", "p.toml", equations("h = w*x + b\nL = sqrt(t - h)"), ["node L (line 4), sample 1", "sqrt of"]),
    ("division by zero", "p.toml", equations("h = w*x + b\nL = h / (x - 1) + t"), ["node L (line 4), sample 1", "division"]),
    ("exp overflow", "p.toml", equations("h = exp(w*x*2000) + b\nL = (h - t)**2"),
     ["node h (line 3), sample 1", "exp of", "overflows"]),
    ("power tower", "p.toml", equations("h = w*x + b + 9**9**9\nL = (h - t)**2"), ["node h (line 3)", "pow of"]),
]


@pytest.mark.parametrize("name, text, fragments", [case[1:] for case in FILE_CASES],
                         ids=[case[0] for case in FILE_CASES])
def test_bad_file(cli, tmp_path, name, text, fragments):
    path = write(tmp_path, name, text)
    result = cli(["solve", path])
    assert_one_line_error(result, *fragments)
    assert result.err.startswith(f"handprop: error: {path}: ")


def test_not_utf8(cli, tmp_path):
    path = tmp_path / "p.toml"
    path.write_bytes(b"title = '\xff\xfe'\n")
    assert_one_line_error(cli([str(path)]), "byte 10: not UTF-8 text")


def test_missing_file(cli):
    assert_one_line_error(cli(["nowhere/p.toml"]), "nowhere/p.toml: no such file")


def test_unknown_example_suggests(cli):
    assert_one_line_error(cli(["homwork"]), "homwork: no such file or example", "did you mean 'homework'")


def test_directory(cli, tmp_path):
    directory = tmp_path / "d.toml"
    directory.mkdir()
    assert_one_line_error(cli([str(directory)]), "is a directory")


@pytest.mark.parametrize("args, fragment", [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--format", "xml"], "invalid choice: 'xml'"),
    (["--decimals", "x"], "invalid int value: 'x'"),
    (["--decimals", "-1"], "--decimals: -1 is out of range (0 to 15)"),
    (["-o", "out.xyz"], "cannot tell the format from '.xyz'"),
    (["examples", "nope"], "nope: no such example"),
])
def test_bad_usage(cli, args, fragment):
    assert_one_line_error(cli(args), fragment)


def test_stdin_error_names_stdin(cli):
    assert_one_line_error(cli(["-"], stdin="[network\n"), "<stdin>: line 1, column 9: invalid TOML")


def test_nothing_lost_when_input_is_bad(cli, tmp_path):
    out = tmp_path / "result.md"
    out.write_text("my earlier result\n")
    bad = write(tmp_path, "p.toml", homework('"relu"', '"rleu"'))
    assert_one_line_error(cli([bad, "-o", str(out)]), "unknown activation")
    assert out.read_text() == "my earlier result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml", "result.md"]  # no temporary file left


def test_unwritable_output(cli, tmp_path):
    assert_one_line_error(cli(["-o", str(tmp_path / "no" / "dir" / "out.md")]), "cannot write")


def test_real_process_has_no_traceback(tmp_path):
    bad = write(tmp_path, "p.toml", equations("h = w.__class__\nL = (w*x + b - t)**2"))
    result = run_process([bad])
    assert_one_line_error(result, "attribute access is not arithmetic")


def test_nothing_in_the_equations_is_run(cli, tmp_path):
    marker = tmp_path / "ran"
    text = equations(f"h = __import__('os').system('touch {marker}')\nL = (w*x + b - t)**2")
    assert_one_line_error(cli([write(tmp_path, "p.toml", text)]))
    assert not marker.exists()
