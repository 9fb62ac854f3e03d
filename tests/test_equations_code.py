"""Micrograd-style code in the equations form: names assigned again (c = c + 1, c += 1, ...), each a version
of its own (c, c', c'', c^(3)); max, min and clamp, with PyTorch's derivatives at their ties; functions written
as methods ((b + a).relu()); the suggestion of a function meant; and every bad input, named as a person would.

The oracles: micrograd's own README numbers, PyTorch in float64 (the same code written in torch), central
differences, and the interpreter for the compiled path.
"""

from __future__ import annotations

import ast
import json
import re
import shutil

import pytest

import handprop
from handprop import HandpropError
from handprop.core.errors import closest, one_of
from handprop.core.ops import ALIASES, FUNCTIONS, OPS
from handprop.engine.compiled import compile_program
from handprop.engine.interpreter import run_batch
from handprop.problem.equations import parse_equations, version_name
from handprop.render.mathtex import name_latex
from handprop.render.scene import name_runs

# micrograd's README example, a and b its parameters (its first two lines, a = -4.0 and b = 2.0, are their values)
MICROGRAD = """\
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
"""
MICROGRAD_NODES = ("c", "d", "c'", "c''", "d'", "d''", "e", "f", "g", "g'")


def micrograd() -> handprop.Problem:
    return handprop.from_equations(MICROGRAD, parameters={"a": -4.0, "b": 2.0}, lr=0.01, title="micrograd")


def torch_micrograd(torch):
    """The same code in torch, float64: every version kept, with its gradient."""
    a = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    nodes = {}

    def keep(name, value):
        value.retain_grad()
        nodes[name] = value
        return value

    c = keep("c", a + b)
    d = keep("d", a * b + b**3)
    c = keep("c'", c + (c + 1))
    c = keep("c''", c + (1 + c + (-a)))
    d = keep("d'", d + (d * 2 + (b + a).relu()))
    d = keep("d''", d + (3 * d + (b - a).relu()))
    e = keep("e", c - d)
    f = keep("f", e**2)
    g = keep("g", f / 2.0)
    g = keep("g'", g + 10.0 / f)
    g.backward()
    return nodes, {"a": a.grad.item(), "b": b.grad.item()}


# -- versions of a name ----------------------------------------------------------------------------------

def test_each_assignment_is_a_version_of_its_own():
    program = parse_equations(MICROGRAD, parameters=["a", "b"], data=[])
    assert program.nodes == MICROGRAD_NODES
    assert program.loss == "g'"  # the last name assigned, in its last version
    by_target = {eq.target: eq for eq in program.equations}
    assert str(by_target["c'"].expr) == str(parse_equations("x = c + (c + 1)", parameters=["c"], data=[])
                                            .equations[0].expr)  # c += c + 1 reads the c above it
    assert by_target["e"].expr.args[0].name == "c''" and by_target["e"].expr.args[1].name == "d''"


@pytest.mark.parametrize("update, op, value", [
    ("c += 2", "add", 5.0), ("c -= 2", "sub", 1.0), ("c *= 2", "mul", 6.0), ("c /= 2", "div", 1.5),
    ("c **= 2", "pow", 9.0), ("c = c + 2", "add", 5.0),
])
def test_every_update_of_a_name(update, op, value):
    problem = handprop.from_equations(f"c = w * x\n{update}\nL = c * w", parameters={"w": 1.5}, data={"x": 2.0})
    assert problem.program.equations[1].expr.op == op
    solution = handprop.solve(problem)
    assert solution.nodes["c'"].values == (value,)
    assert problem.program.nodes == ("c", "c'", "L")


def test_versions_past_the_third_count_their_primes():
    assert [version_name("s", k) for k in range(1, 7)] == ["s", "s'", "s''", "s^(3)", "s^(4)", "s^(5)"]
    text = "s = w * x\ns += 1\ns += 2\ns += 3\ns += 4\nL = s * s"
    problem = handprop.from_equations(text, parameters={"w": 0.5}, data={"x": 2.0})
    assert problem.program.nodes == ("s", "s'", "s''", "s^(3)", "s^(4)", "L")
    solution = handprop.solve(problem)
    assert solution.nodes["s^(4)"].values == (11.0,)
    assert solution.parameters["w"].gradient == pytest.approx(2 * 11.0 * 2.0, rel=1e-15)


def test_a_name_and_a_subscript_never_look_alike():
    assert name_latex("c") == "c" and name_latex("c'") == "{c'}" and name_latex("c''") == "{c''}"
    assert name_latex("c^(3)") == "{c^{(3)}}" != name_latex("c3") == "c_{3}"
    assert name_latex("h1'") == "{h_{1}'}"
    assert name_runs("c'") == (("c\u2032", 1.0),) and name_runs("c''") == (("c\u2033", 1.0),)
    assert name_runs("c^(3)") == (("c\u207d\u00b3\u207e", 1.0),) != name_runs("c3")
    assert name_runs("h1''") == (("h", 1.0), ("1", 0.75), ("\u2033", 1.0))
    assert name_runs("s^(12)") == (("s\u207d\u00b9\u00b2\u207e", 1.0),)


def test_the_loss_and_outputs_name_a_last_version_or_one_version():
    text = "c = w * x\nc += 1\nL = c * c\nL *= 2"
    parameters, data = {"w": 0.5}, {"x": 2.0}
    assert handprop.from_equations(text, parameters=parameters, data=data).program.loss == "L'"
    assert handprop.from_equations(text, parameters=parameters, data=data, loss="L").program.loss == "L'"
    assert handprop.from_equations(text, parameters=parameters, data=data, loss="L").program.outputs == ("L",)
    explicit = handprop.from_equations(text, parameters=parameters, data=data, loss="L'").program
    assert explicit.loss == "L'" and explicit.outputs == ("L",)
    problem = handprop.from_equations(text, parameters=parameters, data=data, loss="L", outputs=["c", "c'", "L"])
    assert problem.program.outputs == ("c'", "c'", "L'")
    first = handprop.from_equations(text, parameters=parameters, data=data, outputs=["c"], loss="L").program
    assert first.outputs == ("c'",)


def test_softmax_outputs_may_be_assigned_again():
    text = "y1, y2 = softmax(w * x, v * x)\ny1 = y1 * 2\ny1, y2 = softmax(y1, y2)\nL = -t * log(y1)"
    problem = handprop.from_equations(text, parameters={"w": 0.3, "v": -0.2}, data={"x": 1.5, "t": 1.0})
    assert problem.program.nodes == ("y1", "y2", "y1'", "y1''", "y2'", "L")
    from handprop.verify import verify

    report = verify(problem)
    assert report.passed, [(c.name, c.status, c.failed) for c in report.checks]


# -- micrograd's example, against micrograd, PyTorch and central differences ---------------------------------

def test_micrograd_readme_numbers():
    solution = handprop.solve(micrograd())
    assert f"{solution.loss:.4f}" == "24.7041"  # micrograd's README: print(f'{g.data:.4f}')
    assert f"{solution.parameters['a'].gradient:.4f}" == "138.8338"  # print(f'{a.grad:.4f}')
    assert f"{solution.parameters['b'].gradient:.4f}" == "645.5773"


def test_micrograd_every_node_and_gradient_against_torch():
    torch = pytest.importorskip("torch")
    nodes, gradients = torch_micrograd(torch)
    solution = handprop.solve(micrograd())
    for name in MICROGRAD_NODES:
        assert solution.nodes[name].values[0] == pytest.approx(nodes[name].item(), rel=1e-13, abs=1e-13), name
        assert solution.nodes[name].gradients[0] == pytest.approx(nodes[name].grad.item(), rel=1e-12, abs=1e-12), name
    for name, gradient in gradients.items():
        assert solution.parameters[name].gradient == pytest.approx(gradient, rel=1e-13), name


def test_micrograd_against_central_differences_and_the_oracles():
    problem = micrograd()
    solution = handprop.solve(problem)

    def loss(a, b):
        return handprop.solve(handprop.from_equations(MICROGRAD, parameters={"a": a, "b": b})).loss

    h = 1e-5
    assert solution.parameters["a"].gradient == pytest.approx((loss(-4 + h, 2) - loss(-4 - h, 2)) / (2 * h), rel=1e-7)
    assert solution.parameters["b"].gradient == pytest.approx((loss(-4, 2 + h) - loss(-4, 2 - h)) / (2 * h), rel=1e-7)
    from handprop.verify import verify

    report = verify(problem)  # finite differences, and PyTorch when it is installed
    assert report.passed and {c.name: c.status for c in report.checks} == {"a": "ok", "b": "ok"}


def test_micrograd_the_compiled_path_agrees_with_the_interpreter():
    program = micrograd().program
    loss, gradients, _ = run_batch(program, {"a": -4.0, "b": 2.0}, {}, 1)
    compiled_loss, compiled = compile_program(program)([-4.0, 2.0], [()])
    assert compiled_loss == loss and compiled == [gradients["a"], gradients["b"]]


# -- every output writes the versions --------------------------------------------------------------------

def test_table_json_and_nodes_name_the_versions(cli, tmp_path):
    solution = handprop.solve(micrograd())
    table = solution.table(nodes=True)
    rows = [line.split()[0] for line in table.splitlines() if line.strip()]
    for name in MICROGRAD_NODES:
        assert name in rows, name
    data = json.loads(solution.to_json())
    assert list(data["nodes"]) == list(MICROGRAD_NODES)
    assert data["nodes"]["c''"]["value"] == -1.0
    path = tmp_path / "m.toml"
    path.write_text(f'[network]\nequations = """\n{MICROGRAD}"""\n[parameters]\na = -4.0\nb = 2.0\n'
                    '[optimizer]\nlr = 0.01\n', encoding="utf-8")
    result = cli(["solve", str(path), "--nodes"])
    assert result.status == 0 and re.search(r"^c''\s+-1\.0000\s+-6\.9417", result.out, re.M), result.out
    result = cli(["solve", str(path), "--format", "json"])
    assert json.loads(result.out)["nodes"]["d'"]["gradient"] == pytest.approx(27.766763848396504, rel=1e-15)


def test_the_worked_solution_writes_primes_and_counts():
    solution = handprop.solve(micrograd())
    text = solution.explain()
    assert r"{c'} = c + c + 1" in text
    assert r"{c''} = {c'} + 1 + {c'} + (-a)" in text
    assert r"\frac{\partial {g'}}{\partial {c''}}" in text
    assert "the loss is g'" in text
    latex = solution.explain(format="latex")
    assert r"{d''}" in latex
    html = solution.explain(format="html")
    assert "&#x02032;" in html or "\u2032" in html  # c' as MathML writes a prime
    counted = handprop.solve(handprop.from_equations("s = w * x\ns += 1\ns += 2\ns += 3\nL = s * s",
                                                     parameters={"w": 0.5}, data={"x": 2.0}))
    assert r"{s^{(3)}} = {s''} + 3" in counted.explain()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_versions_compile_with_pdflatex(cli, tmp_path):
    path = tmp_path / "v.toml"
    path.write_text('[network]\nequations = """\ns = w * x\ns += 1\ns *= s\ns -= 2\ns /= 2\n'
                    'L = max(s, w) ** 2\nL += clamp(w, 0, 1)\n"""\n[parameters]\nw = 0.5\n[data]\nx = [0.25, 0.5]\n'
                    '[optimizer]\nlr = 0.1\n', encoding="utf-8")
    out = tmp_path / "v.pdf"
    result = cli(["explain", str(path), "--expand", "-o", str(out)])
    assert result.status == 0, result.err
    assert out.read_bytes().startswith(b"%PDF")


def test_the_diagram_writes_primes_and_counts():
    svg = handprop.solve(micrograd()).diagram()
    for shown in ("c\u2032", "c\u2033", "d\u2032", "d\u2033", "g\u2032"):
        assert f">{shown}</tspan>" in svg, shown
    counted = handprop.solve(handprop.from_equations("s = w * x\ns += 1\ns += 2\ns += 3\nL = s * s",
                                                     parameters={"w": 0.5}, data={"x": 2.0})).diagram()
    assert ">s\u207d\u00b3\u207e</tspan>" in counted


# -- max, min and clamp: PyTorch's derivatives at the ties -----------------------------------------------------

def _gradients(text: str, parameters: dict, data: dict | None = None) -> dict:
    solution = handprop.solve(handprop.from_equations(text, parameters=parameters, data=data or {}))
    return {name: record.gradient for name, record in solution.parameters.items()}


TIES = [  # equations, parameters, data, the same loss in torch (p: the parameters as tensors, d: the data)
    ("L = max(w, v) * x", {"w": 0.5, "v": 0.5}, {"x": 3.0},
     lambda torch, p, d: torch.maximum(p["w"], p["v"]) * d["x"]),
    ("L = max(w, v, u) * x", {"w": 0.5, "v": 0.5, "u": 0.5}, {"x": 3.0},
     lambda torch, p, d: torch.amax(torch.stack([p["w"], p["v"], p["u"]])) * d["x"]),
    ("L = max(w, v, u) * x", {"w": 0.5, "v": -1.0, "u": 0.5}, {"x": 3.0},
     lambda torch, p, d: torch.amax(torch.stack([p["w"], p["v"], p["u"]])) * d["x"]),
    ("L = max(max(w, v), u) * x", {"w": 0.5, "v": 0.5, "u": 0.5}, {"x": 3.0},
     lambda torch, p, d: torch.maximum(torch.maximum(p["w"], p["v"]), p["u"]) * d["x"]),
    ("L = max(w, w) * x", {"w": 0.5}, {"x": 3.0}, lambda torch, p, d: torch.maximum(p["w"], p["w"]) * d["x"]),
    ("L = max(w * x, c) ** 2", {"w": 0.5}, {"x": 2.0, "c": 1.0},
     lambda torch, p, d: torch.maximum(p["w"] * d["x"], d["c"]) ** 2),
    ("L = min(w, v) * x", {"w": -0.5, "v": -0.5}, {"x": 3.0},
     lambda torch, p, d: torch.minimum(p["w"], p["v"]) * d["x"]),
    ("L = min(w, v, u) ** 2", {"w": 0.25, "v": 0.25, "u": 2.0}, {},
     lambda torch, p, d: torch.amin(torch.stack([p["w"], p["v"], p["u"]])) ** 2),
    ("L = clamp(w * x, 0, 1) * x", {"w": 0.5}, {"x": 2.0},  # at the upper bound: 1, as torch.clamp
     lambda torch, p, d: torch.clamp(p["w"] * d["x"], 0.0, 1.0) * d["x"]),
    ("L = clamp(w * x, min=0, max=1) * x", {"w": 0.0}, {"x": 2.0},  # at the lower bound
     lambda torch, p, d: torch.clamp(p["w"] * d["x"], 0.0, 1.0) * d["x"]),
    ("L = clamp(w * x, -1, 1) + w", {"w": 1.5}, {"x": 2.0},  # above it: 0
     lambda torch, p, d: torch.clamp(p["w"] * d["x"], -1.0, 1.0) + p["w"]),
    ("L = clamp(w * x, 0.5, 0.5) * x", {"w": 0.25}, {"x": 2.0},  # a bound of one point
     lambda torch, p, d: torch.clamp(p["w"] * d["x"], 0.5, 0.5) * d["x"]),
    ("h = (w * x).clamp(0, 1)\nL = h.max(v * x) ** 2", {"w": 0.5, "v": 0.5}, {"x": 2.0},  # written as methods
     lambda torch, p, d: torch.maximum((p["w"] * d["x"]).clamp(0.0, 1.0), p["v"] * d["x"]) ** 2),
]


@pytest.mark.parametrize("text, parameters, data, in_torch", TIES, ids=[t[0].replace("\n", "; ") for t in TIES])
def test_ties_as_pytorch(text, parameters, data, in_torch):
    torch = pytest.importorskip("torch")
    p = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True) for name, value in parameters.items()}
    d = {name: torch.tensor(value, dtype=torch.float64) for name, value in data.items()}
    in_torch(torch, p, d).backward()
    gradients = _gradients(text, parameters, data)
    for name in parameters:
        assert gradients[name] == pytest.approx(p[name].grad.item(), rel=1e-15, abs=1e-300), name
    from handprop.verify import verify

    report = verify(handprop.from_equations(text, parameters=parameters, data=data))  # handprop's own torch map
    for check in report.checks:
        assert check.torch_gradient == pytest.approx(check.gradient, rel=1e-15, abs=1e-300), check.name


def test_ties_spelled_out():
    assert _gradients("L = max(w, v) * x", {"w": 0.5, "v": 0.5}, {"x": 3.0}) == {"w": 1.5, "v": 1.5}
    assert _gradients("L = max(w, v, u)", {"w": 1.0, "v": 1.0, "u": 1.0}) == pytest.approx(
        {"w": 1 / 3, "v": 1 / 3, "u": 1 / 3}, rel=1e-15)
    assert _gradients("L = min(w, v)", {"w": 1.0, "v": 2.0}) == {"w": 1.0, "v": 0.0}
    assert _gradients("L = clamp(w, 0, 1)", {"w": 1.0}) == {"w": 1.0}
    assert _gradients("L = clamp(w, 0, 1)", {"w": 1.25}) == {"w": 0.0}


def test_away_from_ties_against_central_differences():
    text = "h = max(w * x, v, 0.1) + min(w, v * x)\nL = clamp(h, -2, 2) * h"
    parameters, data = {"w": 0.7, "v": -0.3}, {"x": 1.3}
    gradients = _gradients(text, parameters, data)
    step = 1e-6
    for name in parameters:
        up, down = dict(parameters), dict(parameters)
        up[name] += step
        down[name] -= step
        numeric = (handprop.solve(handprop.from_equations(text, parameters=up, data=data)).loss
                   - handprop.solve(handprop.from_equations(text, parameters=down, data=data)).loss) / (2 * step)
        assert gradients[name] == pytest.approx(numeric, rel=1e-7), name


@pytest.mark.parametrize("text", [
    "L = max(w * x, v, c) ** 2", "L = min(w * x, v, c) ** 2", "L = max(w, v) * min(w * x, c)",
    "L = clamp(w * x, -0.5, 0.5) * v + c",
])
def test_the_compiled_path_agrees_at_and_away_from_ties(text):
    program = parse_equations(text, parameters=["w", "v"], data=["x", "c"])
    rows = [(1.0, 0.5), (2.0, 0.5), (-1.0, 0.5), (0.5, 0.5), (0.25, -1.0)]  # w = 0.5, v = 0.5: ties where w*x = c
    data = {"x": tuple(r[0] for r in rows), "c": tuple(r[1] for r in rows)}
    loss, gradients, _ = run_batch(program, {"w": 0.5, "v": 0.5}, data, len(rows))
    compiled_loss, compiled = compile_program(program)([0.5, 0.5], rows)
    assert compiled_loss == pytest.approx(loss, rel=1e-15)
    assert compiled == pytest.approx([gradients["w"], gradients["v"]], rel=1e-15)


def test_max_min_and_clamp_in_the_worked_solution():
    solution = handprop.solve(handprop.from_equations("h = max(w, v, x)\nk = clamp(h, 0, 1)\nL = k * min(w, v)",
                                                      parameters={"w": 0.5, "v": 0.5}, data={"x": 0.25}))
    text = solution.explain()
    assert r"h = \max(w, v, x)" in text
    assert r"\operatorname{clamp}_{[0, 1]}(h)" in text
    assert r"\partial_{1} \max(v, w, x)" in text  # d/dv max(w, v, x): the derivative in v, written first
    assert "share it equally" in text and "the bounds included" in text  # the conventions, stated
    assert "max(w, v, x)" in solution.diagram()


# -- bad input, each a one-line error that names the place ------------------------------------------------------

AST_WORDS = {name for name in dir(ast) if name[:1].isupper()} - {"Python"}

BAD = [
    ("h = max(w)\nL = h * x", "line 1, column 5", "max takes at least 2 arguments, not 1 (max(x, y, ...))"),
    ("h = min()\nL = h * w * x", "line 1, column 5", "min takes at least 2 arguments, not 0"),
    ("h = clamp(w * x, 1, 0)\nL = h", "line 1, column 5", "clamp's min 1 is above its max 0 (min at most max)"),
    ("h = clamp(w * x, 0)\nL = h", "line 1, column 5", "clamp without its max (clamp(x, min, max))"),
    ("h = clamp(w * x)\nL = h", "line 1, column 5", "clamp without its min and max"),
    ("h = clamp(w * x, 0, 1, 2)\nL = h", "line 1, column 5", "clamp takes 1 to 3 arguments, not 4"),
    ("h = clamp(w * x, x, 1)\nL = h", "line 1, column 18", "clamp's min must be a number written out"),
    ("h = (w * x).clamp(max=1, min=2)\nL = h", "line 1, column 5", "clamp's min 2 is above its max 1"),
    ("c += w * x\nL = c", "line 1, column 1", "'c += ...' before 'c' has a value ('c = ...' on a line above it)"),
    ("w = w + 1\nL = w * x", "line 1, column 1", "'w' is a parameter name and cannot be assigned"),
    ("w += 1\nL = w * x", "line 1, column 1", "'w' is a parameter name and cannot be assigned"),
    ("x *= 2\nL = w * x", "line 1, column 1", "'x' is a data name and cannot be assigned"),
    ("c = w * x\nc //= 2\nL = c", "line 2, column 1", "the update //= is not allowed (one of += -= *= /= **=)"),
    ("c = w * x\nc %= 2\nL = c", "line 2, column 1", "the update %= is not allowed"),
    ("h = w % x\nL = h", "line 1, column 5", "the operator % is not allowed"),
    ("h = w ^ 2\nL = h * x", "line 1, column 5", "the operator ^ is not allowed (** for a power;"),
    ("h = ~w\nL = h * x", "line 1, column 5", "the operator ~ is not allowed"),
    ("h = not w\nL = h * x", "line 1, column 5", "the operator not is not allowed"),
    ("for k in x: pass\nL = w * x", "line 1, column 1", "a for loop is not an equation"),
    ("if x: pass\nL = w * x", "line 1, column 1", "an if statement is not an equation"),
    ("relu(w * x)\nL = w * x", "line 1, column 1", "an expression with no name to assign it to is not an equation"),
    ("L = w * x\nL.backward()", "line 2, column 1", "L.backward() is not needed"),
    ("c: float = w\nL = w * x", "line 1, column 1", "a type annotation is not an equation"),
    ("h = (w * x).foo()\nL = h", "line 1, column 5", "unknown function 'foo' (written as a method, .foo())"),
    ("h = w * None\nL = h * x", "line 1, column 9", "None is not a number"),
    ("h = w * True\nL = h * x", "line 1, column 9", "True is not a number"),
    ("h = w * 1j\nL = h * x", "line 1, column 9", "1j is an imaginary number"),
    ("h = w * ...\nL = h * x", "line 1, column 9", "... is not a number"),
    ("p, p = softmax(w * x, w)\nL = p", "line 1, column 4", "'p' named twice on the left"),
]


@pytest.mark.parametrize("text, place, message", BAD, ids=[b[0].split("\n")[0] for b in BAD])
def test_bad_input(text, place, message):
    with pytest.raises(HandpropError) as caught:
        parse_equations(text, parameters=["w"], data=["x"], file="p.toml")
    line = str(caught.value)
    assert line.startswith(f"p.toml: network.equations: {place}: "), line
    assert message in line, line
    assert "\n" not in line
    assert not set(re.findall(r"[A-Za-z]+", line)) & AST_WORDS, line  # no parser jargon: AugAssign, BinOp, Mod


def test_bad_input_on_the_command_line(cli, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[network]\nequations = """\nh = max(w)\nL = h * x\n"""\n[parameters]\nw = 1.0\n[data]\nx = 2.0\n'
                    '[optimizer]\nlr = 0.1\n', encoding="utf-8")
    result = cli(["solve", str(path)])
    assert result.status == 2
    assert result.err.strip() == (f"handprop: error: {path}: network.equations: line 3, column 5: max takes at least 2 "
                                  "arguments, not 1 (max(x, y, ...))")


def test_loss_and_outputs_that_name_no_node():
    with pytest.raises(HandpropError, match=r"network.loss: 'k' is not assigned by any equation"):
        parse_equations("c = w * x\nc += 1", parameters=["w"], data=["x"], loss="k")
    with pytest.raises(HandpropError, match=r"network.outputs: 'c\^\(3\)' is not assigned"):
        parse_equations("c = w * x\nc += 1", parameters=["w"], data=["x"], outputs=["c^(3)"])


def test_a_version_that_would_be_a_parameter_name_is_refused():
    with pytest.raises(HandpropError, match=r"line 2, column 1: 'c' assigned again would be 'c'', a parameter name"):
        parse_equations("c = w * x\nc += 1\nL = c * w", parameters=["w", "c'"], data=["x"])


# -- the function meant -----------------------------------------------------------------------------------

@pytest.mark.parametrize("written, meant", [
    ("maxx", "max"), ("maximum", "max"), ("minimum", "min"), ("clip", "clamp"), ("ln", "log"), ("Sigmoid", "sigmoid"),
    ("sigm", "sigmoid"), ("logistic", "sigmoid"), ("HardTanh", "hardtanh"), ("swish", "silu"), ("rleu", "relu"),
    ("binary_cross_entropy", "bce"),
])
def test_an_unknown_function_suggests_the_one_meant(written, meant):
    with pytest.raises(HandpropError) as caught:
        parse_equations(f"h = {written}(w, x)\nL = h", parameters=["w"], data=["x"])
    assert f"unknown function '{written}' (did you mean '{meant}'?" in str(caught.value)


def test_a_name_that_merely_ends_the_same_way_is_not_suggested():
    without_max = [name for name in FUNCTIONS if name not in ("max", "min")]
    assert "softmax" in without_max and closest(without_max, "max") is None
    assert "did you mean" not in one_of(without_max, "max", synonyms=ALIASES)
    assert closest(without_max, "maxx") is None
    with pytest.raises(HandpropError) as caught:
        parse_equations("h = foo(w, x)\nL = h", parameters=["w"], data=["x"])
    assert "did you mean" not in str(caught.value)


def test_every_alias_names_a_function_and_no_function_is_an_alias():
    assert set(ALIASES.values()) <= set(FUNCTIONS)
    assert not set(ALIASES) & set(OPS)
