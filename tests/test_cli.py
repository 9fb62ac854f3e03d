"""The command line as a user meets it: formats, files, standard input, examples, help."""

from __future__ import annotations

import csv
import io
import json

import pytest

import handprop
from conftest import ROOT, run_process, write
from handprop.cli import COMMANDS, build_parser
from handprop.problem.files import example_names, example_path


def test_solve_is_the_default_command(cli):
    assert cli([]).out == cli(["solve"]).out == cli(["solve", "homework"]).out == cli(["homework"]).out


def test_a_path_and_standard_input_give_the_same_table(cli, tmp_path):
    text = example_path("homework").read_text()
    path = write(tmp_path, "hw.toml", text)
    from_path = cli([path]).out
    from_stdin = cli(["-"], stdin=text).out
    assert from_path.splitlines()[1:] == from_stdin.splitlines()[1:] == cli([]).out.splitlines()[1:]


def test_json_from_standard_input(cli):
    import tomllib

    raw = tomllib.loads(example_path("homework").read_text())
    assert cli(["-", "--format", "json"], stdin=json.dumps(raw)).out == cli(["--format", "json"]).out


def test_json_output_is_documented_and_full_precision(cli):
    document = json.loads(cli(["--format", "json"]).out)
    keys = {"title", "batch_size", "optimizer", "output_names", "loss", "outputs", "loss_after", "outputs_after",
            "nodes", "parameters", "steps"}
    assert set(document) == keys
    documented = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    assert all(f"| `{key}` |" in documented for key in keys)
    assert document["optimizer"] == {"name": "sgd", "lr": 0.5, "steps": 1, "frozen": []}
    solution = handprop.solve(handprop.load("homework"))
    assert document["loss"] == solution.loss and document["loss_after"] == solution.loss_after
    assert document["outputs"] == [list(solution.output_values[0])]
    assert document["parameters"]["w1"] == {"initial": 0.1, "gradient": solution.parameters["w1"].gradient,
                                            "updated": solution.parameters["w1"].updated}
    assert document["nodes"]["h1"] == {"value": solution.nodes["h1"].values[0],
                                       "gradient": solution.nodes["h1"].gradients[0]}
    assert list(document["parameters"]) == [f"w{i}" for i in range(1, 13)] + [f"b{i}" for i in range(1, 6)]


def test_json_history_has_one_entry_per_step(cli):
    document = json.loads(cli(["logistic_bce", "--format", "json"]).out)
    steps = document["steps"]
    assert len(steps) == document["optimizer"]["steps"] == 3
    assert steps[0]["loss"] == document["loss"]
    assert steps[-1]["parameters"] == {name: p["updated"] for name, p in document["parameters"].items()}
    first = {name: p["initial"] - 1.0 * p["gradient"] for name, p in document["parameters"].items()}
    assert steps[0]["parameters"] == first
    assert steps[0]["loss"] > steps[1]["loss"] > steps[2]["loss"] > document["loss_after"]


def test_json_for_a_batch_has_a_list_per_node(cli):
    document = json.loads(cli(["regression_batch", "--format", "json"]).out)
    assert document["batch_size"] == 3 and len(document["outputs"]) == 3
    assert len(document["nodes"]["h1[1]"]["value"]) == 3 and len(document["nodes"]["h1[1]"]["gradient"]) == 3
    # The batch loss is the mean of the per-sample losses; each node's gradient is of that mean.
    assert document["loss"] == pytest.approx(sum(document["nodes"]["L"]["value"]) / 3, rel=1e-15)
    assert document["nodes"]["L"]["gradient"] == [1 / 3] * 3


def test_csv_is_full_precision_unless_decimals_are_asked(cli):
    rows = list(csv.reader(io.StringIO(cli(["--format", "csv"]).out)))
    assert rows[0] == ["name", "initial", "gradient", "updated"]
    by_name = {row[0]: row[1:] for row in rows[1:]}
    solution = handprop.solve(handprop.load("homework"))
    assert float(by_name["w7"][1]) == solution.parameters["w7"].gradient
    assert float(by_name["loss"][0]) == solution.loss and by_name["loss"][1] == ""
    rounded = {row[0]: row[1:] for row in csv.reader(io.StringIO(cli(["--format", "csv", "--decimals", "2"]).out))}
    assert rounded["w7"] == ["0.10", "-0.23", "0.22"]


def test_markdown_table(cli):
    lines = cli(["--format", "markdown"]).out.splitlines()
    assert lines[2] == "| name | initial | gradient | updated |"
    assert "| `w11` | 0.10 | 0.23 | -0.01 |" in lines
    assert "| `out1` | 0.53 |  |  |" in lines


def test_decimals_option_overrides_the_problem(cli):
    rows = {line.split()[0]: line.split()[1:] for line in cli(["--decimals", "5"]).out.splitlines()[4:]}
    solution = handprop.solve(handprop.load("homework"))
    assert rows["w1"] == ["0.10000", f"{solution.parameters['w1'].gradient:.5f}", f"{solution.parameters['w1'].updated:.5f}"]


def test_nodes_option_lists_every_node(cli):
    out = cli(["--nodes", "--decimals", "4"]).out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[4:]}
    solution = handprop.solve(handprop.load("homework"))
    for name in ("h1", "h2", "h3", "a1", "a2", "a3", "o1", "o2", "y1", "y2", "L"):
        record = solution.nodes[name]
        assert rows[name] == [f"{record.values[0]:.4f}", f"{record.gradients[0]:.4f}"], name
    assert "h1" not in cli([]).out


@pytest.mark.parametrize("suffix, first", [(".md", "**Machine"), (".csv", "name,"), (".json", "{"), (".txt", "Machine")])
def test_output_file_format_from_its_extension(cli, tmp_path, suffix, first):
    out = tmp_path / f"result{suffix}"
    result = cli(["-o", str(out)])
    assert result.status == 0 and result.out == ""
    assert out.read_text().startswith(first)


def test_examples_are_listed_and_all_solve(cli):
    listing = cli(["examples"]).out.splitlines()
    assert [line.split()[0] for line in listing] == example_names()
    assert ["homework", "Machine Learning Homework 1"] in [line.split(None, 1) for line in listing]
    for name in example_names():
        result = cli(["solve", name])
        assert result.status == 0 and result.err == "" and "gradient" in result.out, name


def test_examples_name_prints_the_file(cli):
    assert cli(["examples", "homework"]).out == example_path("homework").read_text()


def test_every_command_is_documented_with_an_example():
    parser = build_parser()
    help_text = parser.format_help()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    docs = (ROOT / "docs" / "cli.md").read_text()
    for command in COMMANDS:
        assert command in help_text
        sub = subparsers.choices[command].format_help()
        assert "example: handprop " + command in sub, command
        assert f"handprop {command}" in docs, command


def test_module_and_version(tmp_path):
    result = run_process([], cwd=tmp_path)
    assert result.status == 0 and "w12" in result.out and result.err == ""
    version = run_process(["--version"])
    assert version.out.strip() == f"handprop {handprop.__version__}"


def _modules_after(arguments: list[str]) -> set[str]:
    """The modules a fresh interpreter has loaded after the command line ran `arguments`."""
    import subprocess
    import sys

    code = ("import sys; from handprop.cli import main; main(sys.argv[1:]); "
            "print('MODULES', ' '.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True, timeout=60)
    return set(done.stdout.split("MODULES ")[-1].split())


def test_small_problem_path_imports_no_numpy(tmp_path):
    assert "numpy" not in _modules_after([])


def test_the_homework_table_imports_only_what_it_uses():
    """`handprop` alone: no parser (solve's defaults), no API layer, no dataclasses or pathlib machinery, and no
    other command's module (benchmarks/bench_startup.py measures what this saves)."""
    loaded = _modules_after([])
    assert "handprop.solver" in loaded and "handprop.render.table" in loaded
    for module in ("argparse", "dataclasses", "inspect", "pathlib", "handprop.api", "handprop.cli.parser",
                   "handprop.cli.explain", "handprop.cli.serve", "handprop.cli.completion", "handprop.engine.numpy_engine"):
        assert module not in loaded, module


@pytest.mark.parametrize("command", ["explain", "diagram", "train", "verify", "exercise", "grade", "export",
                                     "serve", "examples", "completion"])
def test_each_command_imports_its_own_module_only(command):
    loaded = _modules_after([command, "--no-such-option"])  # parsed, refused in one line: the parser's imports
    commands = {m for m in loaded if m.startswith("handprop.cli.")}
    assert f"handprop.cli.{command}" in commands
    assert commands <= {"handprop.cli.commands", "handprop.cli.options", "handprop.cli.parser",
                        f"handprop.cli.{command}"}, commands
    assert "handprop.api" not in loaded and "numpy" not in loaded


def test_no_arguments_are_the_parsers_defaults_for_solve():
    from handprop.cli import solve

    assert vars(build_parser("solve").parse_args(["solve"])) == vars(solve.defaults())
    assert vars(build_parser().parse_args(["solve"])) == vars(solve.defaults())


def test_json_stays_strict_json_where_a_derivative_is_infinite(cli, tmp_path):
    text = ('[network]\nequations = """\no1 = w*x\no2 = -w*x\ny1, y2 = softmax(o1, o2)\n'
            'L = -t1*log(y1) - t2*log(y2)\n"""\n[parameters]\nw = 1000.0\n[data]\nx = 1.0\nt1 = 0\nt2 = 1\n'
            '[optimizer]\nlr = 0.1\n')
    out = cli([write(tmp_path, "p.toml", text), "--format", "json"]).out

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    document = json.loads(out, parse_constant=refuse)
    assert document["nodes"]["y2"]["gradient"] == [None] or document["nodes"]["y2"]["gradient"] is None
    assert document["loss"] == 2000.0 and document["parameters"]["w"]["gradient"] == 2.0
