"""The HTML worked solution as a reader sees it in Chromium: the figure's width and font, phone width, primes,
prose formulas and the dark theme. Screenshots go to tests/artifacts/ for a person to look at."""

from __future__ import annotations

import re

import pytest

import handprop
from conftest import ARTIFACTS, chromium
from handprop.render import explain
from handprop.render.explain_html import render_html_document
from handprop.render.document import Chain, Document, Section



def page_of(example: str = "homework", **options) -> str:
    return explain(handprop.solve(handprop.load(example)), format="html", **options)


@pytest.fixture(scope="module")
def browser():
    yield from chromium()


def opened(browser, tmp_path, html: str, *, width: int, dark: bool = False, name: str = "page"):
    path = tmp_path / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme="dark" if dark else "light")
    page.goto(path.as_uri())
    page.evaluate("document.fonts.ready.then(() => true)")
    return page


def test_figure_fills_the_column_in_the_maths_font(browser, tmp_path):
    page = opened(browser, tmp_path, page_of(), width=1280)
    try:
        column = page.evaluate("document.querySelector('main').getBoundingClientRect().width - "
                               "parseFloat(getComputedStyle(document.querySelector('main')).paddingLeft) - "
                               "parseFloat(getComputedStyle(document.querySelector('main')).paddingRight)")
        figure = page.evaluate("document.querySelector('figure svg').getBoundingClientRect().width")
        assert figure >= 0.9 * column, (figure, column)
        family = page.evaluate("getComputedStyle(document.querySelector('figure svg text')).fontFamily")
        assert family.replace('"', "").startswith("handprop-math,") and family.rstrip().endswith("serif"), family
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "html-style-light.png"))
    finally:
        page.close()


@pytest.mark.parametrize("example, options", [("homework", {"expand": True}), ("regression_batch", {})])
def test_nothing_wider_than_a_phone(browser, tmp_path, example, options):
    page = opened(browser, tmp_path, page_of(example, **options), width=390, name=example)
    try:
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # Every block of the page ends inside the viewport; what is wider scrolls inside its own box.
        wider = page.evaluate("""[...document.querySelectorAll('main > *, section > *')].filter(e =>
            e.getBoundingClientRect().right > window.innerWidth + 0.5).map(e => e.outerHTML.slice(0, 80))""")
        assert wider == []
        assert page.evaluate("""[...document.querySelectorAll('.eq')].every(e =>
            getComputedStyle(e).overflowX === 'auto')""")
        if options.get("expand"):
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "html-style-phone.png"))
    finally:
        page.close()


def test_prime_is_set_on_the_letter_above_its_subscript(browser, tmp_path):
    html = render_html_document(Document("Primes", (), (Section(("Update",), "s", (
        Chain(r"w_{1}'", (r"w_{1} - \eta g",), anchor="c"),)),)))
    chain = re.search(r'<div class="eq" id="c">(.*?)</div>', html, re.S).group(1)
    # One token: msubsup(w, 1, prime), in that order; no prime after the subscript.
    assert re.search(r"<msubsup><mi>w</mi><mrow><mn>1</mn></mrow><mpadded[^>]*><mo[^>]*>\u2032</mo></mpadded>"
                     r"</msubsup>", chain), chain
    page = opened(browser, tmp_path, html, width=800)
    try:
        boxes = page.evaluate("""(() => { const s = document.querySelector('#c msubsup');
            const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom]; };
            return [box(s.children[0]), box(s.children[1]), box(s.children[2])]; })()""")
        letter, subscript, prime = boxes
        assert prime[0] < subscript[1] and prime[0] >= letter[0]  # the prime over the subscript, not after it
        assert prime[3] <= subscript[2] + 2  # and above it
    finally:
        page.close()


def test_prose_formula_is_maths():
    html = page_of()
    summary = re.search(r"<p>A layered network:.*?</p>", html, re.S).group()
    assert "-sum t ln y" not in summary and "<math" in summary and "\u2211" in summary


def test_dark_theme_changes_the_background(browser, tmp_path):
    html = page_of()
    backgrounds = {}
    for dark in (False, True):
        page = opened(browser, tmp_path, html, width=1280, dark=dark, name=f"dark-{dark}")
        try:
            backgrounds[dark] = page.evaluate("getComputedStyle(document.body).backgroundColor"), page.evaluate(
                "getComputedStyle(document.body).color")
            if dark:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "html-style-dark.png"))
        finally:
            page.close()
    assert backgrounds[False][0] == "rgb(255, 255, 255)"
    assert backgrounds[True][0] != backgrounds[False][0] and backgrounds[True][1] != backgrounds[False][1]
    channels = [int(c) for c in re.findall(r"\d+", backgrounds[True][0])[:3]]
    assert max(channels) < 64  # a dark ground
