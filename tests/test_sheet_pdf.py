"""`handprop exercise --pdf`: the problem sheet and the answer key in LaTeX and PDF, the sheet's Figure 1 drawn with
the unknowns as "?", no answer on the sheet, the key's numbers those of solve; and the loss's formula set as maths
in every format of the worked solution. The PDF tests need pdflatex with TikZ and poppler (skip without them)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

import handprop
from handprop.render import explain
from handprop.render.mathtex import name_latex
from handprop.render.numbers import fixed, given

HAS_TEX = (all(shutil.which(tool) for tool in ("pdflatex", "kpsewhich", "pdftoppm", "pdftotext"))
           and subprocess.run(["kpsewhich", "tikz.sty"], capture_output=True).returncode == 0)
needs_tex = pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex with TikZ, and poppler-utils")
LIKE = {"homework": 3, "cnn_homework": 5}  # an example, and the seed of its variant


def _figure_ink(path) -> int:
    """Coloured pixels on page 1 (the figure is its only colour: the text is black), at 30 dpi."""
    ppm = subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "1", str(path)], capture_output=True,
                         check=True).stdout
    pixels = ppm.split(maxsplit=4)[4]  # P6 header: magic, width, height, maxval
    return sum(1 for k in range(0, len(pixels) - 2, 3) if max(pixels[k:k + 3]) - min(pixels[k:k + 3]) > 40)


def _text(path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _result_cells(latex: str) -> dict[str, list[str]]:
    """The Result table of a LaTeX document: each row's name (as set) -> its three cells (a folded table's parts
    read side by side)."""
    result = latex[latex.index(r"\section{Result}"):]
    cells = {}
    for row in re.findall(r"^(.*) \\\\$", result, re.M):
        parts = row.split(" & ")
        for k in range(0, len(parts) - 3, 4):
            if parts[k] and parts[k] != "name":
                cells[parts[k]] = parts[k + 1:k + 4]
    return cells


def _minus(number: str) -> str:
    return number.replace("-", "$-$")


@pytest.fixture(scope="module", params=sorted(LIKE))
def written(request, tmp_path_factory):
    from handprop.cli import main

    folder = tmp_path_factory.mktemp(request.param)
    if not HAS_TEX:
        pytest.skip("needs pdflatex with TikZ, and poppler-utils")
    assert main(["exercise", "--like", request.param, "--seed", str(LIKE[request.param]), "--pdf",
                 "-o", str(folder)]) == 0
    return request.param, folder


@needs_tex
def test_pdf_writes_the_sheet_and_key_in_latex_and_pdf(written):
    _, folder = written
    for name in ("sheet", "key"):
        assert (folder / f"variant-01-{name}.tex").read_text().startswith(r"\documentclass")
        assert (folder / f"variant-01-{name}.pdf").read_bytes().startswith(b"%PDF")


@needs_tex
def test_the_sheet_has_figure_1_drawn_with_the_unknowns_as_question_marks(written):
    _, folder = written
    latex = (folder / "variant-01-sheet.tex").read_text()
    assert latex.count(r"\begin{tikzpicture}") == 1
    assert _figure_ink(folder / "variant-01-sheet.pdf") > 200
    text = _text(folder / "variant-01-sheet.pdf")
    assert "Figure 1." in text and "?" in text
    for name, cells in _result_cells(latex).items():  # every answer to find marked "?"
        assert "?" in cells, name


@needs_tex
def test_the_sheet_gives_no_answer_and_the_key_gives_solves(written):
    example, folder = written
    solution = handprop.solve(handprop.load(str(folder / "variant-01.toml")))
    places = solution.decimals if solution.decimals is not None else 2
    answers = {fixed(solution.loss, places)} | {fixed(p.updated, places) for p in solution.parameters.values()}
    answers |= {fixed(p.gradient, places) for p in solution.parameters.values()}
    shown = {given(v) for v in solution.problem.parameters.values()} | {
        given(v) for values in solution.problem.data.values() for v in values}
    shown |= {fixed(float(v), places) for v in shown}  # a given number may be written to the answers' places
    sheet_numbers = set(re.findall(r"[−-]?\d+\.\d+", _text(folder / "variant-01-sheet.pdf").replace("−", "-")))
    assert not (answers - shown - {fixed(0.0, places), fixed(-0.0, places)}) & sheet_numbers
    key = _result_cells((folder / "variant-01-key.tex").read_text())
    for name, record in solution.parameters.items():
        cells = key[f"${name_latex(name)}$"]
        assert cells[1:] == [_minus(fixed(record.gradient, places)), _minus(fixed(record.updated, places))], name
    assert _minus(fixed(solution.loss, places)) in key["loss"]


def test_latex_alone_needs_no_pdflatex(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert cli(["exercise", "--latex", "-o", str(tmp_path / "ex")]).status == 0
    assert (tmp_path / "ex" / "variant-01-sheet.tex").exists() and not (tmp_path / "ex" / "variant-01-key.pdf").exists()


def test_pdf_without_pdflatex_is_one_line_and_writes_nothing(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = cli(["exercise", "--pdf", "-o", str(tmp_path / "ex")])
    assert result.status == 2 and "--pdf: pdflatex is not installed" in result.err
    assert len(result.err.strip().splitlines()) == 1 and not (tmp_path / "ex").exists()


# -- the loss's formula, set as maths -----------------------------------------------------------------------

ASCII_FORMULAS = ("-sum t ln y", "ln(1 - y)", "1/2 sum", "(y - t)^2")


@pytest.mark.parametrize("problem, formula", [("homework", r"-\sum_j t_j \ln y_j"),
                                              ("regression_batch", r"\frac{1}{n} \sum_{j=1}^{n} (y_j - t_j)^2"),
                                              ("backprop_step_by_step", r"\tfrac{1}{2} \sum_j (y_j - t_j)^2")])
def test_the_loss_formula_is_maths_in_markdown_latex_and_html(problem, formula):
    solution = handprop.solve(handprop.load(problem))
    markdown = explain(solution, format="markdown")
    problem_md = markdown[markdown.index("## The problem"):markdown.index("## Forward pass")]
    assert f"${formula}$" in problem_md
    latex = explain(solution, format="latex")
    assert f"${formula}$" in latex[latex.index(r"\section{The problem}"):latex.index(r"\section{Forward pass}")]
    page = explain(solution, format="html")
    prose = page[page.index('<section id="problem">'):page.index("</p>", page.index('<section id="problem">'))]
    assert "loss: " in prose and "<math" in prose and "\u2211" in prose
    for text in (problem_md, prose):
        assert not any(ascii_formula in text for ascii_formula in ASCII_FORMULAS)
