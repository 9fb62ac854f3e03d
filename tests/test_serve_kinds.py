"""The page in a real browser with a network of layer kinds: edit a kernel cell, watch the feature map."""

from __future__ import annotations

import pytest

pytest.importorskip("flask")

from conftest import ARTIFACTS, served_page  # noqa: E402
from handprop.problem.files import example_path  # noqa: E402
from handprop.serve.tasks import load_text  # noqa: E402
from handprop.solver import solve  # noqa: E402

CNN = example_path("cnn_homework").read_text(encoding="utf-8")


@pytest.fixture
def cnn_page():
    yield from served_page(CNN, "cnn_homework", width=1280)


def _cell_titles(page) -> str:
    return page.evaluate("[...document.querySelectorAll('#diagram title')].map(t => t.textContent).join('\\n')")


def test_editing_a_kernel_cell_redraws_the_feature_map(cnn_page):
    page = cnn_page
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_function("document.querySelector('#table table') !== null")
    before = solve(load_text(CNN)).nodes["z1[1,1,1]"].values[0]
    assert f"{before!r}" in _cell_titles(page) or f"{before:.4f}" in page.text_content("#diagram")
    page.screenshot(path=str(ARTIFACTS / "serve-cnn.png"))

    page.fill('[data-field="parameter.K1[1,1,1,1]"]', "0.5")
    edited = CNN.replace("K1 = [[[[0.2, -0.1]", "K1 = [[[[0.5, -0.1]")
    after = solve(load_text(edited)).nodes["z1[1,1,1]"].values[0]
    assert after != before and f"{after:.4f}" not in page.text_content("#diagram")
    page.wait_for_function("(v) => document.querySelector('#diagram').textContent.includes(v)", arg=f"{after:.4f}")
    assert page.input_value("#text") == edited
    gradient = solve(load_text(edited)).parameters["K1[1,1,1,1]"].gradient
    row = page.evaluate("""() => [...document.querySelectorAll('#table tbody tr')]
        .find(r => r.cells[0].textContent === 'K1[1,1,1,1]').cells[2].textContent""")
    assert float(row.replace("\u2212", "-")) == pytest.approx(gradient, abs=5e-5)
    page.screenshot(path=str(ARTIFACTS / "serve-cnn-edited.png"))
