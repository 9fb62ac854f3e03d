"""Rich display in notebooks: Solution and Problem as HTML (inline styles, no script), and the example
notebook executed end to end."""

import re
from pathlib import Path

import pytest

import handprop

NOTEBOOK = Path(handprop.__file__).parent / "examples" / "homework.ipynb"


@pytest.fixture(scope="module")
def homework():
    return handprop.solve(handprop.load("homework"))


def test_solution_html_has_table_diagram_and_folded_worked_solution(homework):
    page = homework._repr_html_()
    assert "<code>w1</code>" in page and "<code>b5</code>" in page
    assert "<svg" in page
    assert "<details><summary" in page and "Worked solution</summary>" in page
    assert page.count("<math") > 50  # the worked solution in MathML
    # What a notebook's sanitiser would strip, or what needs a stylesheet, is not relied on.
    for unwanted in ("<script", "<style", "<link"):
        assert unwanted not in page
    assert not re.search(r"\son[a-z]+=", page)
    worked = page.split("Worked solution</summary>")[1]
    assert ' class="' not in worked


def test_solution_markdown_and_latex(homework):
    assert homework._repr_markdown_() == homework.explain()
    latex = homework._repr_latex_()
    assert latex.startswith("$$\\begin{array}") and "\\text{w12} & 0.40 & 0.21 & 0.30" in latex


def test_layered_naming_latex_escapes():
    problem = handprop.Problem.from_layers(["x_a"], [1], loss="mse", weights=[[[2.0]]], biases=[[0.0]],
                                           x=[1.0], t=[1.0], naming="layered")
    assert "\\text{W1[1,1]}" in handprop.solve(problem)._repr_latex_()


@pytest.mark.parametrize("name", ["homework", "homework_equations"])
def test_problem_html(name):
    page = handprop.load(name)._repr_html_()
    assert "<h3" in page and "<svg" in page and "<script" not in page and "<style" not in page


def test_example_notebook_runs():
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    htmls = [output["data"]["text/html"] for cell in notebook.cells if cell.cell_type == "code"
             for output in cell.get("outputs", []) if "text/html" in output.get("data", {})]
    assert any("<code>w1</code>" in page and "<svg" in page for page in htmls)
    assert any("Machine Learning Homework 1" in page and "<h3" in page for page in htmls)  # the Problem
    assert not any(output.get("output_type") == "error" for cell in notebook.cells
                   for output in cell.get("outputs", []))
