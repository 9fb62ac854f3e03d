"""Every op of the table in every backend and every renderer: an op that one of them lacks fails here.

The op table (core/ops.py) is the one source of an op's meaning. The backends keep their own forms in
tables keyed by op name: the compiled path's inline code (an op without it is called through the op
table), the NumPy kernels, the torch functions and nn modules. The renderers print each op from the
table's LaTeX and words. And no other module branches on an op's name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import handprop
from handprop.core.ops import ACTIVATIONS, FUNCTIONS, OPS
from handprop.core.program import Apply, Ref
from handprop.engine.compiled import compile_program
from handprop.engine.interpreter import run_batch
from handprop.problem.equations import parse_equations
from handprop.pytorch.ops import MODULES
from handprop.render.diagram_graph import ARITHMETIC_TEXT, expression_text
from handprop.render.mathtex import ARITHMETIC, to_latex

SRC = Path(handprop.__file__).parent
PROGRAM_OPS = sorted(name for name, op in OPS.items() if op.derivative_of is None)  # derivative ops are only written
ELEMENTWISE = sorted(name for name in FUNCTIONS if not OPS[name].multi_output and OPS[name].arity == 1)


def other_settings(name: str) -> dict:
    """Settings other than the defaults, inside their ranges: each number half again, a word the last choice."""
    settings = {}
    for param in OPS[name].params:
        if param.choices:
            settings[param.name] = param.choices[-1]
        else:
            settings[param.name] = param.default * 1.5 if param.default else 0.5
    return settings


def test_every_op_a_program_can_hold_has_a_torch_function():
    torch = pytest.importorskip("torch")
    from handprop.pytorch.ops import functions

    assert sorted(functions(torch)) == PROGRAM_OPS


def test_every_activation_has_a_torch_module_and_a_numpy_kernel():
    assert sorted(MODULES) == sorted(ACTIVATIONS)
    for name, module in MODULES.items():
        if module is not None:
            assert set(module.settings) == {p.name for p in OPS[name].params}, name
    pytest.importorskip("numpy")
    from handprop.engine.numpy_kernels import ACTIVATIONS as KERNELS

    assert sorted(KERNELS) == sorted(ACTIVATIONS)


def test_every_arithmetic_op_has_its_printers():
    infix = sorted(name for name, op in OPS.items() if op.infix)
    assert sorted(ARITHMETIC) == sorted(ARITHMETIC_TEXT) == infix


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_prints_in_latex_and_in_text(name):
    from latex2mathml.converter import convert

    op = OPS[name]
    args = tuple(Ref(f"h{i}") for i in range(1, (op.arity or 3) + 1))
    expr = Apply(name, args, op.settings(other_settings(name)))
    latex = to_latex(expr)
    assert latex and "<math" in convert(latex)
    assert all("{" + placeholder + "}" not in latex for placeholder in ["args"] + [p.name for p in op.params])
    for setting, value in expr.params:  # a setting's value is shown where the op is written
        assert (str(value) if isinstance(value, str) else f"{value:g}") in latex + expression_text(expr), setting
    assert expression_text(expr).startswith(name) or op.infix
    assert op.words


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_the_compiled_path_agrees_with_the_interpreter_on_every_function(name):
    settings = ", ".join(f"{k}={v!r}" for k, v in other_settings(name).items())
    argument = "1 + (w*x + c)**2" if OPS[name].domain else "w*x + c"  # log and sqrt: a positive argument
    call = f"{name}({argument}{', ' + settings if settings else ''})"
    if name == "bce":
        call = "bce(sigmoid(w*x + c), t)"
    text = f"h = {call}\nL = (h - t)**2 + w*w"
    program = parse_equations(text, parameters=["w"], data=["x", "c", "t"])
    rows = [(0.7, 0.3, 0.25), (-1.3, 0.1, 0.5), (2.1, -0.4, 0.75)]
    data = {"x": tuple(r[0] for r in rows), "c": tuple(r[1] for r in rows), "t": tuple(r[2] for r in rows)}
    loss, gradients, _ = run_batch(program, {"w": 0.8}, data, len(rows))
    compiled_loss, (compiled_gradient,) = compile_program(program)([0.8], rows)
    assert compiled_loss == pytest.approx(loss, rel=1e-13)
    assert compiled_gradient == pytest.approx(gradients["w"], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_in_words_and_pictures(activation):
    op = OPS[activation]
    hidden = {"units": 3, "activation": activation, **other_settings(activation)}
    problem = handprop.from_layers(2, [hidden, {"units": 2, "activation": "softmax"}], loss="cross_entropy",
                                   weights=[0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4],
                                   biases=[0.3, 0.3, 0.3, 0.7, 0.7], x=[0.26, 0.33], t=[1, 0])
    solution = handprop.solve(problem)
    worked = solution.explain()
    assert (op.activation_words or op.words) in worked.split("\n## Forward pass")[0]
    assert op.words in solution.diagram()
    from handprop.render.sheet import render_sheet_markdown

    assert (op.activation_words or op.words) in render_sheet_markdown(solution, problem_file="p.toml",
                                                                     html_file="p.html")
    if op.note:
        assert op.note.split("$")[0] in worked


ALLOWED = {  # the op table, and the backends' and printers' own tables keyed by op name
    "core/ops.py", "core/functions.py", "core/fusion.py", "core/algebra.py", "core/symbolic.py", "engine/compiled.py",
    "engine/numpy_kernels.py", "pytorch/ops.py", "pytorch/oracle.py", "render/mathtex.py",
    "render/diagram_graph.py", "teach/scenarios.py",
}


def _named_ops(tree) -> list[tuple[int, str]]:
    """(line, op name) of every comparison with an op's name, and every table with op names for keys. The
    arithmetic operators are the grammar of equations, which any module may read: they are not counted."""
    names = {name for name, op in OPS.items() if not op.infix}

    def constants(node) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [c for element in node.elts for c in constants(element)]
        return []

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                found += [(node.lineno, c) for c in constants(side) if c in names]
        elif isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and k.value in names]
            if len(keys) > 1:
                found += [(node.lineno, k) for k in keys]
    return found


def test_no_op_is_named_outside_the_tables():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        where = path.relative_to(SRC).as_posix()
        if where not in ALLOWED:
            offenders += [f"{where}:{line}: {name}" for line, name in _named_ops(ast.parse(path.read_text()))]
    assert not offenders, "an op's rule outside the op table: " + "; ".join(offenders)


def test_the_scan_finds_a_name_special_case():
    tree = ast.parse('if layer.activation == "leaky_relu":\n    pass\nWORDS = {"relu": "ReLU", "tanh": "tanh"}\n')
    assert _named_ops(tree) == [(1, "leaky_relu"), (3, "relu"), (3, "tanh")]


def test_every_function_and_activation_is_documented():
    docs = (SRC.parent.parent / "docs" / "problem-files.md").read_text(encoding="utf-8")
    table = docs.split("## Activations and functions")[1].split("\n## ")[0]
    documented = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    assert documented == set(FUNCTIONS) | set(ACTIVATIONS)
    # ... and the sentence before the table names every function that is no activation
    functions_only = table.split("are functions only")[0].split(";")[-1]
    assert set(functions_only.split("`")[1::2]) == set(FUNCTIONS) - set(ACTIVATIONS)
    for name in documented:
        for param in OPS[name].params:
            assert f"`{param.name}`" in table, (name, param.name)
