"""Limits on untrusted input: each is refused at once, in one line naming the file and the place, exit 2.

One test per limit (docs/safety.md has the table), through the command line: every case must be refused
at once, before the work it would start, measured as work done (function calls, LIMIT_CALLS) rather than
time, so that a busy machine cannot fail it. Then the equations' whitelist: what is not arithmetic is refused, and
nothing of it runs.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import subprocess

import pytest

from conftest import Work, write
from handprop.problem import data_files as datafile
from handprop.problem import spec as problem
from handprop.problem.equations import MAX_DEPTH, MAX_EQUATIONS, MAX_NAME_LENGTH
from handprop.problem.files import EXAMPLES_DIR, MAX_FILE_BYTES, MAX_NESTING, MAX_NUMBER_DIGITS
from handprop.problem.layered_form import MAX_LAYERS, MAX_PARAMETERS, MAX_UNITS
from handprop.problem.spec import MAX_FILE_STEPS

# "At once", counted as work (function calls) rather than timed: checking a file costs up to ~100,000 calls,
# and building even a small network more than a million. A limit that must read up to it (a data file's
# rows) gets a budget in proportion.
LIMIT_CALLS = 1_000_000
HOMEWORK = (EXAMPLES_DIR / "homework.toml").read_text()
REGRESSION = (EXAMPLES_DIR / "regression_batch.yaml").read_text()


def homework(old: str, new: str) -> str:
    assert old in HOMEWORK
    return HOMEWORK.replace(old, new)


def equations(text: str) -> str:
    """An equations problem; its first equation is the file's line 3."""
    return (f'[network]\nequations = """\n{text}\n"""\n[parameters]\nw = 0.5\nb = 0.1\n'
            "[data]\nx = [1.0, 2.0]\nt = [0.0, 1.0]\n[optimizer]\nlr = 0.1\n")


def layered_json(inputs, layers, **extra) -> str:
    document = {"network": {"inputs": inputs, "layers": layers, "loss": "mse"}, "parameters": {"init": "zeros"},
                "data": {"x": [0.5], "t": [1.0]}, "optimizer": {"lr": 0.1}}
    for section, values in extra.items():
        document[section].update(values)
    return json.dumps(document)


def refused(cli, args, *fragments: str, stdin: str | None = None, calls: int = LIMIT_CALLS):
    """Run the command line; it must refuse in one line holding the fragments, at once, printing nothing."""
    with Work() as work:
        result = cli(args, stdin=stdin)
    assert result.status == 2, result.err[:500]
    assert result.out == ""
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err[:500]
    assert lines[0].startswith("handprop: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0][:500])
    assert work.calls < calls, work.calls
    return lines[0]


# --- file size

def test_file_size(cli, tmp_path):
    path = write(tmp_path, "big.toml", "# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    refused(cli, ["solve", path], "big.toml: file too large", f"at most {MAX_FILE_BYTES} bytes")


def test_file_size_of_a_device(cli, tmp_path):
    """stat() says 0 bytes for /dev/zero, which never ends: the read itself is bounded."""
    if not os.path.exists("/dev/zero"):
        pytest.skip("needs /dev/zero")
    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")
    refused(cli, ["solve", str(link)], "zero.toml: file too large")


def test_file_size_on_standard_input(cli):
    refused(cli, ["solve", "-"], "<stdin>: input too large", stdin="#" * (MAX_FILE_BYTES + 1))


def with_data_file(tmp_path, written: str) -> str:
    document = json.loads(layered_json(1, [{"units": 1}]))
    document["data"] = {"file": written}
    return write(tmp_path, "p.json", json.dumps(document))


def test_file_size_on_standard_input_of_a_real_process():
    from conftest import run_process

    result = run_process(["solve", "-"], stdin="#" * (MAX_FILE_BYTES + 1))
    assert result.status == 2 and result.out == ""
    assert result.err.splitlines() == [f"handprop: error: <stdin>: input too large (at most {MAX_FILE_BYTES} bytes)"]


def test_data_file_size(cli, tmp_path, monkeypatch):
    """The data file's own limit (200 MB) with a small stand-in, so the test stays fast."""
    monkeypatch.setattr(datafile, "MAX_BYTES", 100)
    write(tmp_path, "d.csv", "x1,t1\n" + "0.5,1\n" * 50)
    refused(cli, ["solve", with_data_file(tmp_path, "d.csv")], "d.csv: file too large", "at most 100 bytes")


def test_data_file_that_is_a_device(cli, tmp_path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("needs /dev/zero")
    refused(cli, ["solve", with_data_file(tmp_path, "/dev/zero")],
            "p.json: data.file: '/dev/zero' is not a regular file")


def test_data_file_name_with_a_nul(cli, tmp_path):
    path = write(tmp_path, "p.toml", homework("x = [0.26, 0.33]\nt = [1, 0]", 'file = "a\\u0000b.csv"'))
    refused(cli, ["solve", path], "p.toml: data.file: contains a NUL character")


# --- number of nodes

def test_number_of_equations(cli, tmp_path):
    lines = ["h0 = w*x + b"] + [f"h{k} = h{k - 1} + b" for k in range(1, MAX_EQUATIONS + 1)] + ["L = (h0 - t)**2"]
    path = write(tmp_path, "p.toml", equations("\n".join(lines)))
    refused(cli, ["solve", path], "p.toml: network.equations", f"{MAX_EQUATIONS + 2} equations",
            f"at most {MAX_EQUATIONS}")


@pytest.mark.parametrize("units", [MAX_UNITS + 1, 99_999_999_999, 10**30])
def test_units_in_a_layer(cli, tmp_path, units):
    path = write(tmp_path, "p.json", layered_json(1, [{"units": units}]))
    refused(cli, ["solve", path], "p.json: network.layers: layer 1: units", f"a whole number from 1 to {MAX_UNITS}")


@pytest.mark.parametrize("inputs", [MAX_UNITS + 1, 10**15])
def test_number_of_inputs(cli, tmp_path, inputs):
    path = write(tmp_path, "p.json", layered_json(inputs, [{"units": 1}]))
    refused(cli, ["solve", path], "p.json: network.inputs", f"a whole number from 1 to {MAX_UNITS}")


def test_number_of_parameters_from_the_widths(cli, tmp_path):
    """Counted before lowering: 100,000 x 100,000 weights are refused without making one name."""
    path = write(tmp_path, "p.json", layered_json(MAX_UNITS, [{"units": MAX_UNITS}, {"units": 1}]))
    refused(cli, ["solve", path], "p.json: network.layers", "10,000,200,001 parameters",
            f"at most {MAX_PARAMETERS:,}")


def test_number_of_layers(cli, tmp_path):
    path = write(tmp_path, "p.json", layered_json(1, [{"units": 1}] * (MAX_LAYERS + 1)))
    refused(cli, ["solve", path], "p.json: network.layers", f"{MAX_LAYERS + 1} layers", f"at most {MAX_LAYERS}")


# --- number sizes and exponents

def test_exponent_tower_does_not_hang(cli, tmp_path):
    """9**9**9 is evaluated in floats, where it overflows: an error, not an hour of integer arithmetic."""
    path = write(tmp_path, "p.toml", equations("h = w*x + b + 9**9**9\nL = (h - t)**2"))
    refused(cli, ["solve", path], "p.toml: node h", "overflows")


@pytest.mark.parametrize("name, text", [
    ("p.toml", homework("steps = 1", "steps = " + "9" * 100_000)),
    ("p.json", json.dumps({"network": {"inputs": 2}}).replace("2", "1" + "0" * 100_000)),
    ("p.yaml", REGRESSION.replace("lr: 0.1", "lr: " + "9" * 5000)),
    ("p.toml", equations("h = w*x + b + " + "9" * 1000 + "\nL = (h - t)**2")),
])
def test_huge_integer_literal(cli, tmp_path, name, text):
    """Refused before any parser turns the digits into an integer (quadratic in their number)."""
    path = write(tmp_path, name, text)
    refused(cli, ["solve", path], f"{name}: line ", f"a number of more than {MAX_NUMBER_DIGITS} digits")


def test_huge_hexadecimal_integer(cli, tmp_path):
    path = write(tmp_path, "p.toml", homework("lr = 0.5", "lr = 0x" + "f" * 10_000))
    refused(cli, ["solve", path], "p.toml: optimizer.lr: integer too large")


def test_huge_sexagesimal_yaml_integer(cli, tmp_path):
    """YAML 1.1 reads 1:0:0 in base 60, a multiplication per part: refused by its length first."""
    path = write(tmp_path, "p.yaml", REGRESSION.replace("lr: 0.1", "lr: 1" + ":0" * 100_000))
    refused(cli, ["solve", path], "p.yaml: line 21, column 7", "a number with too many digits")


def test_twenty_digit_steps(cli, tmp_path):
    path = write(tmp_path, "p.toml", homework("steps = 1", "steps = 99999999999999999999"))
    refused(cli, ["solve", path], "p.toml: optimizer.steps", f"a whole number from 1 to {MAX_FILE_STEPS}")


def test_huge_seed(cli, tmp_path):
    path = write(tmp_path, "p.toml", homework("x = [0.26, 0.33]", "seed = 18446744073709551616\nx = [0.26, 0.33]"))
    refused(cli, ["solve", path], "p.toml: data.seed", "2**64 - 1")


# --- nesting depth

@pytest.mark.parametrize("expression, fragments", [
    ("w + " + "-" * MAX_DEPTH + "x", ["line 3, column", f"expression nested too deeply (at most {MAX_DEPTH} levels)"]),
    ("(" * 1000 + "w" + ")" * 1000, ["line 3, column", "syntax error: too many nested parentheses"]),
    ("-" * 100_000 + "w", ["network.equations: an expression too long or nested too deeply to parse"]),
    ("w" + " + w" * 100_000, ["network.equations: an expression too long or nested too deeply to parse"]),
])
def test_expression_nesting(cli, tmp_path, expression, fragments):
    path = write(tmp_path, "p.toml", equations(f"h = {expression}\nL = (h*x + b - t)**2"))
    refused(cli, ["solve", path], "p.toml: network.equations", *fragments)


@pytest.mark.parametrize("name, text, fragments", [
    ("p.json", "[" * 100_000 + "]" * 100_000, ["invalid JSON: nested too deeply"]),
    ("p.json", '{"title": ' + "[" * (MAX_NESTING + 5) + "]" * (MAX_NESTING + 5) + "}",
     [f"nested more than {MAX_NESTING} levels deep"]),
    ("p.toml", "title = " + "[" * 100_000 + "]" * 100_000, ["invalid TOML: nested too deeply"]),
    ("p.toml", "a" + ".a" * 5000 + " = 1", [f"nested more than {MAX_NESTING} levels deep"]),
    ("p.yaml", "[" * 100_000 + "]" * 100_000, ["invalid YAML"]),
    ("p.yaml", "title: " + "[" * (MAX_NESTING + 5) + "]" * (MAX_NESTING + 5), [f"nested more than {MAX_NESTING}"]),
])
def test_document_nesting(cli, tmp_path, name, text, fragments):
    path = write(tmp_path, name, text)
    refused(cli, ["solve", path], name, *fragments)


# --- names

def test_long_name_in_equations(cli, tmp_path):
    name = "h" * (MAX_NAME_LENGTH + 1)
    path = write(tmp_path, "p.toml", equations(f"{name} = w*x + b\nL = ({name} - t)**2"))
    refused(cli, ["solve", path], "p.toml: network.equations: line 3, column 1",
            f"a name of {MAX_NAME_LENGTH + 1} characters", f"at most {MAX_NAME_LENGTH}")


def test_long_parameter_name(cli, tmp_path):
    text = equations("h = w*x + b\nL = (h - t)**2").replace("b = 0.1", "b = 0.1\n" + "c" * 100_000 + " = 1")
    path = write(tmp_path, "p.toml", text)
    line = refused(cli, ["solve", path], "p.toml: parameters.cccc", "a name of 100000 characters")
    assert len(line) < 200


def test_long_input_name(cli, tmp_path):
    path = write(tmp_path, "p.json", layered_json(["x" * (MAX_NAME_LENGTH + 1)], [{"units": 1}]))
    refused(cli, ["solve", path], "p.json: network.inputs: entry 1", f"at most {MAX_NAME_LENGTH}")


# --- samples and steps

def test_number_of_samples(cli, tmp_path, monkeypatch):
    """The limit itself (a million samples, datafile's too) with a small stand-in, so the test stays fast."""
    assert problem.MAX_SAMPLES == datafile.MAX_ROWS
    monkeypatch.setattr(problem, "MAX_SAMPLES", 3)
    text = layered_json(1, [{"units": 1}], data={"x": [[0.5]] * 4, "t": [[1.0]] * 4})
    path = write(tmp_path, "p.json", text)
    refused(cli, ["solve", path], "p.json: data: 4 samples", "at most 3")


def test_number_of_rows_in_a_data_file(cli, tmp_path):
    rows = datafile.MAX_ROWS + 1
    (tmp_path / "d.csv").write_text("x1,t1\n" + "0,1\n" * rows)
    refused(cli, ["solve", with_data_file(tmp_path, "d.csv")], "d.csv: line",
            f"more than {datafile.MAX_ROWS:,} data rows", calls=10 * datafile.MAX_ROWS)  # ~6 calls a row read


def test_optimizer_steps(cli, tmp_path):
    """An example whose steps were changed solves in seconds at most: larger counts are refused at once."""
    path = write(tmp_path, "p.toml", homework("steps = 1", f"steps = {MAX_FILE_STEPS + 1}"))
    refused(cli, ["solve", path], "p.toml: optimizer.steps", f"a whole number from 1 to {MAX_FILE_STEPS}")


def test_epochs_in_the_file(cli, tmp_path):
    path = write(tmp_path, "p.toml", homework("x = [0.26, 0.33]", f"epochs = {MAX_FILE_STEPS + 1}\nx = [0.26, 0.33]"))
    refused(cli, ["solve", path], "p.toml: data.epochs", f"a whole number from 1 to {MAX_FILE_STEPS}")


def test_zero_eps(cli, tmp_path):
    """Found by the fuzz harness: eps = 0 and a zero gradient divided by zero inside the optimizer."""
    text = equations("h = w*x + b\nL = (h - t)**2 + 0*w").replace("lr = 0.1", 'name = "adam"\nlr = 0.1\neps = 0.0')
    path = write(tmp_path, "p.toml", text)
    refused(cli, ["solve", path], "p.toml: optimizer.eps: is 0", "a number above 0")


# --- YAML

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n" for previous, name in zip("abcdefgh", "bcdefghi"))


@pytest.mark.parametrize("text, fragments", [
    (LAUGHS + "title: *i\n", ["line 1, column 4", "a YAML alias (*name) repeats the node anchored here"]),
    ("network: &n [*n]\n", ["a YAML alias"]),
    ("network: !!python/object/apply:os.system [echo hi]\n", ["the YAML tag !!python/object/apply:os.system"]),
    ("network: !!python/name:os.system ''\n", ["the YAML tag !!python/name:os.system"]),
    ("network: !!set {a, b}\n", ["the YAML tag !!set is not read"]),
    ("network: !!binary aGVsbG8=\n", ["the YAML tag !!binary"]),
    ("network: !!omap [a: 1]\n", ["the YAML tag !!omap"]),
    ("network: !custom x\n", ["the YAML tag !custom"]),
    ("title: !!int abc\n", ["the YAML tag !!int on 'abc' is not read"]),
    ("title: !!float ''\n", ["the YAML tag !!float"]),
])
def test_yaml_refuses_aliases_and_tags(cli, tmp_path, text, fragments):
    path = write(tmp_path, "p.yaml", text)
    refused(cli, ["solve", path], "p.yaml: line ", *fragments)


def test_yaml_date_is_text(cli, tmp_path):
    path = write(tmp_path, "p.yaml", REGRESSION.replace("title: Regression on a batch of three", "title: 2024-01-01"))
    result = cli(["solve", path])
    assert result.status == 0, result.err
    assert "2024-01-01" in result.out


def test_yaml_merge_key_without_alias_still_reads(cli, tmp_path):
    text = REGRESSION.replace("  name: sgd\n  lr: 0.1\n", "  <<: {name: sgd}\n  lr: 0.1\n")
    assert text != REGRESSION
    result = cli(["solve", write(tmp_path, "p.yaml", text)])
    assert result.status == 0, result.err


# --- the equations' whitelist: refused, and nothing runs

MARKER = "handprop-marker-file"


def hostile(tmp_path) -> list[str]:
    marker = tmp_path / MARKER
    return [
        f"h = __import__('os').system('touch {marker}')",
        "h = w.__class__.__bases__[0].__subclasses__()",
        f"h = open('{marker}', 'w')",
        f"h = eval(\"open('{marker}', 'w')\")",
        f"h = exec(\"open('{marker}', 'w')\")",
        "h = globals()",
        "h = __builtins__",
        f"h = (lambda: open('{marker}', 'w'))()",
        f"h = [open('{marker}', 'w') for _ in 'a']",
        "h = x[0]",
        "h = w.real",
        "h = relu.__globals__",
        "h = breakpoint()",
        "h = getattr(w, 'real')",
        f"h = f'{{open(\"{marker}\", \"w\")}}'",
        f"h = relu(x, key=open('{marker}', 'w'))",
        "import os",
        "from os import system",
        "def f(): pass",
        "class C: pass",
        f"with open('{marker}', 'w') as f: pass",
        "h = (y := 3)",
        "h = relu(*x)",
        "del w",
        f"h = 1 if x else open('{marker}', 'w')",
    ]


def forbidden(name):
    def call(*args, **kwargs):
        raise AssertionError(f"{name} called while reading equations")
    return call


RUNNERS = ((os, "system"), (os, "popen"), (os, "remove"), (subprocess, "Popen"), (builtins, "eval"),
           (builtins, "exec"), (builtins, "breakpoint"))


@contextlib.contextmanager
def nothing_may_run():
    """While active: no import, no shell or process, no eval or exec, no compile but ast.parse's, no open()."""
    import ast

    real_import, real_compile = builtins.__import__, builtins.compile

    def spy_import(name, globals=None, locals=None, fromlist=(), level=0):
        if name != "difflib":  # the error message's suggestion, imported when first needed
            raise AssertionError(f"import of {name} while parsing equations")
        return real_import(name, globals, locals, fromlist, level)

    def spy_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:  # ast.parse only reads the text into a tree
            raise AssertionError("the equations were compiled to code")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    saved = [(module, name, getattr(module, name)) for module, name in RUNNERS]
    saved += [(builtins, "__import__", real_import), (builtins, "compile", real_compile),
              (builtins, "open", builtins.open)]
    try:
        for module, name in RUNNERS:
            setattr(module, name, forbidden(f"{module.__name__}.{name}"))
        builtins.__import__, builtins.compile, builtins.open = spy_import, spy_compile, forbidden("open")
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def test_hostile_equations_parse_to_nothing(tmp_path):
    """The parser alone: nothing imported or run, nothing compiled but ast.parse's tree, no file opened."""
    import difflib  # noqa: F401 - the error path imports it when first needed; a first import may run exec

    from handprop import HandpropError
    from handprop.problem.equations import parse_equations

    for line in hostile(tmp_path):
        text = f"{line}\nL = (w*x + b - t)**2"
        with nothing_may_run(), pytest.raises(HandpropError) as caught:
            parse_equations(text, parameters=["w", "b"], data=["x", "t"], file="p")
        assert "line 1" in str(caught.value), (line, str(caught.value))
        assert not (tmp_path / MARKER).exists(), line


def test_hostile_equations_are_refused_and_nothing_runs(cli, tmp_path, monkeypatch):
    # A first run imports what the command line imports when first needed (an import may run exec).
    refused(cli, ["solve", write(tmp_path, "p.toml", equations("h = relu.x\nL = (w*x + b - t)**2"))])
    for module, name in RUNNERS:
        monkeypatch.setattr(module, name, forbidden(f"{module.__name__}.{name}"))
    for line in hostile(tmp_path):
        path = write(tmp_path, "p.toml", equations(f"{line}\nL = (w*x + b - t)**2"))
        refused(cli, ["solve", path], "p.toml: network.equations: line 3")
        assert not (tmp_path / MARKER).exists(), line


def test_hostile_equations_from_a_real_process(tmp_path):
    from conftest import run_process

    line = f"h = __import__('os').system('touch {tmp_path / MARKER}')"
    result = run_process(["solve", write(tmp_path, "p.toml", equations(f"{line}\nL = (w*x + b - t)**2"))])
    assert result.status == 2 and "Traceback" not in result.err
    assert len(result.err.splitlines()) == 1
    assert not (tmp_path / MARKER).exists()


def test_a_problem_too_large_to_work_out_in_full_points_to_train(cli, tmp_path):

    text = ('[network]\ninputs = 2\nlayers = [{units = 4000, activation = "relu"}, {units = 2, activation = "softmax"}]\n'
            'loss = "cross_entropy"\n[parameters]\ninit = "he_uniform"\n[data]\nfile = "m.csv"\nlabel = "c"\n'
            '[optimizer]\nlr = 0.1\n')
    write(tmp_path, "m.csv", "x1,x2,c\n" + "".join(f"{i / 100},{-i / 100},{i % 2}\n" for i in range(100)))
    with Work() as work:
        result = cli(["solve", write(tmp_path, "big.toml", text)])
    assert work.calls < LIMIT_CALLS  # refused from its size, before the interpreter starts
    assert result.status == 2 and len(result.err.splitlines()) == 1
    assert "too large to work out in full" in result.err and "handprop train" in result.err
