"""The HTML worked solution: one offline page, its MathML, and how Chromium lays it out.

The browser tests need Playwright's Python package and Debian's Chromium at /usr/bin/chromium; without
them they skip. They leave screenshots in tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

import handprop
from conftest import ARTIFACTS, ROOT, chromium
from handprop.render import explain
from handprop.render.document import Chain, Document, Figure, Math, Paragraph, Section, Table
from handprop.render.explain_html import render_html_document

FONT = ROOT / "src" / "handprop" / "render" / "assets" / "math-font.woff2"
PARAMETERS = [f"w{i}" for i in range(1, 13)] + [f"b{i}" for i in range(1, 6)]


def page_of(example: str = "homework", **options) -> str:
    return explain(handprop.solve(handprop.load(example)), format="html", **options)


@pytest.fixture(scope="module")
def homework_page() -> str:
    return page_of()


class Outline(HTMLParser):
    """Tags, ids and links of a page, and whether every element that was opened was closed."""

    VOID = {"meta", "link", "br", "hr", "img", "input"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.links: list[tuple[str, bool]] = []  # (href, inside <nav>)
        self.open: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append(tag)
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if tag == "a" and "href" in attributes:
            self.links.append((attributes["href"], "nav" in self.open))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()


def chain_html(page: str, anchor: str) -> str:
    found = re.search(rf'<div class="eq" id="{anchor}">(.*?)</div>', page, re.S)
    assert found, anchor
    return found.group(1)


# -- the page, without a browser ---------------------------------------------------------------------

def test_page_parses_and_is_well_nested(homework_page):
    outline = Outline(homework_page)
    assert outline.open == []
    assert homework_page.startswith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">')
    for tag in ("title", "style", "nav", "main", "h1", "section", "math", "table"):
        assert tag in outline.tags, tag
    assert "script" not in outline.tags
    assert len(outline.ids) == len(set(outline.ids)), "ids are unique"
    assert "<title>Machine Learning Homework 1</title>" in homework_page
    assert "<h1>Machine Learning Homework 1</h1>" in homework_page


def test_page_names_no_url_at_all(homework_page):
    assert re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", homework_page, re.I) is None
    assert "<script" not in homework_page and "<link" not in homework_page and "src=" not in homework_page


def test_the_math_font_is_embedded_with_its_licence(homework_page):
    face = re.search(r"@font-face \{[^}]*font-family: 'handprop-math';[^}]*"
                     r"url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\) format\('woff2'\)", homework_page)
    assert face, "an @font-face with the font as a base64 WOFF2"
    font = base64.b64decode(face.group(1), validate=True)
    assert font[:4] == b"wOF2" and font == FONT.read_bytes()
    assert "math { font-family: 'handprop-math', math; }" in homework_page
    comment = re.search(r"<!--(.*?)-->", homework_page, re.S).group(1)
    assert "STIX" in comment and "SIL Open Font License, Version 1.1" in comment


def test_contents_link_every_section(homework_page):
    outline = Outline(homework_page)
    nav_targets = {href[1:] for href, in_nav in outline.links if in_nav}
    assert nav_targets <= set(outline.ids)
    for section in ("problem", "forward", "loss", "backward", "gradients", "update", "result", "backward-h3"):
        assert section in nav_targets, section
    for name in PARAMETERS:
        assert f"param-{name}" in nav_targets, name
        assert f'<section id="param-{name}">' in homework_page


def test_chains_tables_and_rows_keep_their_anchors(homework_page):
    ids = set(Outline(homework_page).ids)
    for anchor in ("node-h1", "node-L", "grad-o1", "grad-w12", "update-b5"):
        assert anchor in ids, anchor


def test_h1_chain_shows_the_homework_numbers(homework_page):
    mathml = chain_html(homework_page, "node-h1")
    assert mathml.startswith('<math display="block">')
    for number in ("0.10", "0.26", "0.50", "0.33", "0.30", "0.49"):
        assert f"<mn>{number}</mn>" in mathml, number


def test_long_chains_are_aligned_one_step_a_row(homework_page):
    mathml = chain_html(homework_page, "node-o1")  # o1 = w7 a1 + ... = 0.10 * 0.49 + ... = 1.12
    assert mathml.count("<mtr>") == 3 and mathml.count('<mo form="infix">=</mo>') == 3
    assert "<mtable" not in chain_html(homework_page, "node-h1")


def test_output_is_deterministic():
    assert page_of(expand=True) == page_of(expand=True)


def test_table_numbers_are_right_aligned_with_a_true_minus(homework_page):
    result = re.search(r'<section id="result">.*?</section>', homework_page, re.S).group(0)
    assert '<td class="r">\u22120.05</td>' in result  # dL/dw3
    assert '<td class="r">-' not in result
    assert ".r { text-align: right; font-variant-numeric: tabular-nums" in homework_page


@pytest.mark.parametrize("example, options", [
    ("homework", {"expand": True}), ("regression_batch", {}), ("shared_weight", {}), ("homework_equations", {}),
])
def test_every_example_renders(example, options):
    page = page_of(example, **options)
    assert Outline(page).open == []
    mathml = "".join(re.findall(r"<math .*?</math>", page, re.S))
    assert "\\" not in mathml and "&amp;" not in mathml, "every LaTeX command was converted"


# -- plain text is escaped; figures ---------------------------------------------------------------------

def small_document(*blocks) -> Document:
    return Document('A <b>bold</b> & "quoted" title', (Paragraph(("x < y & z",)),),
                    (Section(("One ", Math("x_{1}")), "one", tuple(blocks)),))


def test_plain_text_is_escaped():
    page = render_html_document(small_document(Table((("a<b",),), ((("1 & 2",),),), ("l",))))
    assert "<title>A &lt;b&gt;bold&lt;/b&gt; &amp; \"quoted\" title</title>" in page
    assert "<p class=\"summary\">x &lt; y &amp; z</p>" in page
    assert '<th class="l">a&lt;b</th>' in page and '<td class="l">1 &amp; 2</td>' in page
    assert "<b>" not in page


def test_figure_is_inlined_when_drawn_and_absent_otherwise():
    svg = '<svg xmlns="" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4"/></svg>'
    drawn = render_html_document(small_document(Figure(svg, "The network")))
    assert f"<figure>\n{svg}\n<figcaption>The network</figcaption>\n</figure>" in drawn
    empty = render_html_document(small_document(Figure(None, "The network")))
    assert "<figure" not in empty and "The network" not in empty


# -- mending latex2mathml's MathML: one line per case ---------------------------------------------------

@pytest.mark.parametrize("latex, expected", [
    (r"(-0.47) \cdot 0.10", '<mo stretchy="false">(</mo><mo form="prefix">\u2212</mo><mn>0.47</mn>'),
    (r"-t_{1}", '<mrow><mo form="prefix">\u2212</mo><msub>'),
    (r"a - b", "<mi>a</mi><mo>\u2212</mo><mi>b</mi>"),  # binary: left alone
    (r"0.30 = -0.47", '<mo>=</mo><mo form="prefix">\u2212</mo>'),
    (r"t \ln y", '<mi>t</mi><mspace width="0.1667em"></mspace><mi>ln</mi><mspace width="0.1667em"></mspace><mi>y</mi>'),
    (r"\ln(y)", '<mi>ln</mi><mo stretchy="false">(</mo>'),
    (r"\operatorname{ReLU}(h)", '<mi>ReLU</mi><mo stretchy="false">(</mo>'),
    (r"w_{1}' = w_{1}", '<msubsup><mi>w</mi><mrow><mn>1</mn></mrow><mpadded voffset="-0.45em" height="0.3em">'
                        '<mo lspace="0" rspace="0" style="font-size: 133%">\u2032</mo></mpadded></msubsup><mo>=</mo>'),
    (r"\theta'", '<mrow><mi>\u03b8</mi><mo lspace="0" rspace="0">\u2032</mo></mrow>'),
    (r"\bar{L}", '<mover accent="true"><mrow><mi>L</mi></mrow>'),
    (r"\sum_{k=1}^{3}", '<mi>k</mi><mo lspace="0" rspace="0">=</mo><mn>1</mn>'),
    (r"W^{[1]}_{1,2}", '<msubsup><mi>W</mi><mrow><mn>1</mn><mo lspace="0" rspace="0">,</mo><mn>2</mn></mrow>'
                       '<mrow><mspace width="0.247em"></mspace><mrow>'),
    (r"\tanh\left(h_{1}\right)", '<mo stretchy="false" fence="true" form="prefix">(</mo>'),
    (r"\left(-\frac{t}{y}\right)", '<mo stretchy="true" fence="true" form="prefix">(</mo><mo form="prefix">'),
    (r"\delta_{ij}", "<msub><mi>\u03b4</mi><mrow><mi>i</mi><mi>j</mi></mrow></msub>"),
    (r"1 \text{ if } h > 0", "<mtext>\u00a0if\u00a0</mtext>"),
])
def test_mathml_is_mended(latex, expected):
    page = render_html_document(small_document(Chain(latex, ("1",), anchor="c")))
    assert expected in chain_html(page, "c")


# -- in Chromium --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    yield from chromium()


class Visit:
    """A page opened from a file, with every request, console error and page error it caused."""

    def __init__(self, browser, path, width: int):
        self.url = path.as_uri()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(self.url)
        self.page.evaluate("document.fonts.ready.then(() => true)")

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if url.split("#")[0] != self.url and not url.startswith("data:")]

    def empty_math(self) -> int:
        return self.page.evaluate("""[...document.querySelectorAll('math')].filter(math => {
            const box = math.getBoundingClientRect(); return !(box.width > 0 && box.height > 0); }).length""")

    def scrolls_sideways(self) -> bool:
        return self.page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")


def test_homework_in_chromium(browser, tmp_path, homework_page):
    path = tmp_path / "homework.html"
    path.write_text(homework_page, encoding="utf-8")
    visit = Visit(browser, path, width=1000)
    page = visit.page
    try:
        assert page.evaluate("document.querySelectorAll('math').length") > 100
        assert visit.empty_math() == 0
        assert page.evaluate("document.fonts.check(\"16px 'handprop-math'\")")
        assert page.evaluate("""[...document.fonts].some(face =>
            face.family.replace(/["']/g, '') === 'handprop-math' && face.status === 'loaded')""")
        family = page.evaluate("getComputedStyle(document.querySelector('math')).fontFamily")
        assert family.replace('"', "").startswith("handprop-math,"), family
        assert page.evaluate("document.querySelectorAll('script').length") == 0

        for name in PARAMETERS:
            assert page.locator(f"section#param-{name}").count() == 1, name
            assert page.locator(f'nav a[href="#param-{name}"]').count() == 1, name
        for name in ("w1", "w12", "b5"):
            page.locator(f'nav a[href="#param-{name}"]').click()
            top = page.evaluate(f"document.getElementById('param-{name}').getBoundingClientRect().top")
            assert 0 <= top < page.evaluate("window.innerHeight") / 2, (name, top)
        page.evaluate("window.scrollTo(0, 0)")

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "explain-homework.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        assert not visit.scrolls_sideways()
        assert visit.empty_math() == 0
        page.screenshot(path=str(ARTIFACTS / "explain-homework-phone.png"), full_page=True)

        assert visit.foreign_requests() == []
        assert visit.errors == []
    finally:
        page.close()


@pytest.mark.parametrize("example, options", [
    ("homework", {"expand": True}), ("regression_batch", {}), ("shared_weight", {}),
])
def test_wide_math_scrolls_inside_its_block_at_phone_width(browser, tmp_path, example, options):
    path = tmp_path / f"{example}.html"
    path.write_text(page_of(example, **options), encoding="utf-8")
    visit = Visit(browser, path, width=390)
    try:
        assert not visit.scrolls_sideways()
        assert visit.empty_math() == 0
        if options.get("expand"):
            # The written-out gradients are wider than a phone: their own block scrolls, not the page.
            assert visit.page.evaluate("""[...document.querySelectorAll('.eq')].some(block =>
                block.scrollWidth > block.clientWidth && getComputedStyle(block).overflowX === 'auto')""")
        assert visit.foreign_requests() == [] and visit.errors == []
    finally:
        visit.page.close()
