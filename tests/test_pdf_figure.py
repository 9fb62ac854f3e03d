"""Figure 1 in the PDF: the TikZ picture of the diagram's scene is in the LaTeX and drawn on the page; the
homework's worked solution fits four pages; a title with symbols compiles, or names the one character it cannot.
Needs pdflatex with TikZ and poppler's pdftoppm, pdfinfo and pdftotext (skips without them)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

import handprop
from handprop.render import explain

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("pdflatex", "kpsewhich", "pdftoppm", "pdfinfo", "pdftotext"))
    or subprocess.run(["kpsewhich", "tikz.sty"], capture_output=True).returncode != 0,
    reason="needs pdflatex with TikZ, and poppler-utils")


def _pdf(problem, tmp_path, name: str):
    solution = handprop.solve(handprop.load(problem))
    latex = explain(solution, format="latex")
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(explain(solution, format="pdf"))
    return latex, path


def _pages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))


def _figure_ink(path) -> int:
    """Coloured pixels on page 1 (the figure is its only colour: the text is black), at 30 dpi."""
    ppm = subprocess.run(["pdftoppm", "-r", "30", "-f", "1", "-l", "1", str(path)], capture_output=True,
                         check=True).stdout
    # P6 header: magic, width, height, maxval, each separated by whitespace
    parts = ppm.split(maxsplit=4)
    pixels = parts[4]
    return sum(1 for k in range(0, len(pixels) - 2, 3)
               if max(pixels[k:k + 3]) - min(pixels[k:k + 3]) > 40)


@pytest.mark.parametrize("problem", ["homework", "cnn_homework", "homework_equations"])
def test_figure_is_in_the_latex_and_drawn_on_page_1(problem, tmp_path):
    latex, path = _pdf(problem, tmp_path, problem)
    assert latex.count(r"\begin{tikzpicture}") == 1 and r"\usepackage{tikz}" in latex
    assert _figure_ink(path) > 200
    text = subprocess.run(["pdftotext", "-l", "1", str(path), "-"], capture_output=True, text=True).stdout
    assert "Figure 1." in text


def test_homework_labels_are_on_page_1_and_it_fits_four_pages(tmp_path):
    latex, path = _pdf("homework", tmp_path, "homework")
    text = subprocess.run(["pdftotext", "-l", "1", str(path), "-"], capture_output=True, text=True).stdout
    assert "hidden layer 1" in text and "cross-entropy" in text and "positive weight" in text
    assert _pages(path) <= 4
    assert r"\tableofcontents" not in latex
    forced = explain(handprop.solve(handprop.load("homework")), format="latex", toc=True)
    assert r"\tableofcontents" in forced


def test_negative_numbers_have_true_minus_signs(tmp_path):
    latex, _ = _pdf("homework", tmp_path, "homework")
    result = latex[latex.index(r"\section{Result}"):]
    assert "$-$0.23" in result and " -0.23" not in result


def test_an_exercise_key_has_its_figure(cli, tmp_path):
    assert cli(["exercise", "--seed", "3", "-o", str(tmp_path / "ex")]).status == 0
    latex, path = _pdf(str(tmp_path / "ex" / "variant-01.toml"), tmp_path, "key")
    assert r"\begin{tikzpicture}" in latex
    assert _figure_ink(path) > 200


def _titled(tmp_path, title: str):
    from importlib.resources import files

    text = (files("handprop") / "examples" / "homework.toml").read_text(encoding="utf-8")
    lines = [f'title = "{title}"' if line.startswith("title =") else line for line in text.splitlines()]
    path = tmp_path / "titled.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_title_with_greek_and_partials_compiles(cli, tmp_path):
    problem = _titled(tmp_path, "∂L/∂θ: α, β′ and γ″ — w₁ ≤ 0.5")
    out = tmp_path / "greek.pdf"
    result = cli(["explain", str(problem), "-o", str(out)])
    assert result.status == 0, result.err
    text = subprocess.run(["pdftotext", "-l", "1", str(out), "-"], capture_output=True, text=True).stdout
    assert "∂L/∂θ" in text and "α" in text


def test_a_chinese_title_is_one_line_naming_the_character(cli, tmp_path):
    problem = _titled(tmp_path, "隐藏层 ∂L")
    result = cli(["explain", str(problem), "-o", str(tmp_path / "cjk.pdf")])
    assert result.status == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "隐" in result.err and "U+9690" in result.err
