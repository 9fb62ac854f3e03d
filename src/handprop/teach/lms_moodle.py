"""Moodle: the variants as one Moodle XML question file, quiz.moodle.xml, to import into a question bank.

One category named after the exercise, then one Embedded Answers (Cloze) question per variant: a Cloze question
holds several numerical answers in one question, so a student's variant stays one question with one score,
and each unknown is its own {1:NUMERICAL:=value:tolerance} field, graded alone (a NUMERICAL question holds one
number only). The question text is the problem sheet, Figure 1 an image stored in the file (base64 <file>,
referenced as @@PLUGINFILE@@/figure1.svg); the general feedback is the worked solution, its figures stored alike.
Format: docs.moodle.org "Moodle XML format" and "Embedded Answers (Cloze) question type"; Moodle reads files in
the question text and general feedback of a cloze question (question/format/xml/format.php, import_multianswer).
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from .lms import LmsEntry, exercise_title

FILE_NAME = "quiz.moodle.xml"
SVG_NAMESPACE = ' xmlns="http://www.w3.org/2000/svg"'
_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)
_MAIN = re.compile(r"<main[^>]*>(.*)</main>", re.DOTALL)
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL)


def body_of(page: str) -> str:
    """The content of a standalone HTML page, without its head (title, style): what an LMS shows inside its own."""
    found = _MAIN.search(page) or _BODY.search(page)
    return found.group(1).strip() if found else page


def standalone_svg(svg: str) -> str:
    """An SVG as a file of its own: with the namespace an inline figure leaves out."""
    return svg if "xmlns=" in svg.split(">", 1)[0] else svg.replace("<svg", "<svg" + SVG_NAMESPACE, 1)


def figures_out(page_body: str, source, *, prefix: str = "figure", first: str | None = None) -> tuple[str, list]:
    """The body with each inline SVG replaced by an <img> whose src is source(file name), and the (file name,
    SVG text) pairs: figure1.svg, figure2.svg ...; `first`, when given, is the first figure's text.

    >>> text, files = figures_out('<p>a</p><svg viewBox="0 0 1 1"></svg>', lambda name: "@@PLUGINFILE@@/" + name)
    >>> text, [name for name, _ in files]
    ('<p>a</p><img src="@@PLUGINFILE@@/figure1.svg" alt="Figure 1">', ['figure1.svg'])
    """
    files: list[tuple[str, str]] = []

    def replaced(match) -> str:
        number = len(files) + 1
        name = f"{prefix}{number}.svg"
        files.append((name, standalone_svg(first if first is not None and number == 1 else match.group(0))))
        return f'<img src="{html.escape(source(name))}" alt="Figure {number}">'

    return _SVG.sub(replaced, page_body), files


def number(value: float) -> str:
    """A number as the answer key writes it: Python's shortest repr, which reads back to the same float."""
    return repr(float(value))


def cdata(text: str) -> str:
    """Text in CDATA, a "]]>" inside split over two sections."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _files(files: list) -> list[str]:
    return [f'<file name="{html.escape(name)}" path="/" encoding="base64">'
            f'{base64.b64encode(text.encode("utf-8")).decode("ascii")}</file>' for name, text in files]


def question_html(entry: LmsEntry) -> tuple[str, list]:
    """The question text (the sheet, then a field for each unknown) and its files."""
    text, files = figures_out(body_of(entry.sheet_html), lambda name: "@@PLUGINFILE@@/" + name,
                              first=entry.figure_svg or None)
    if not files and entry.figure_svg:
        files = [("figure1.svg", standalone_svg(entry.figure_svg))]
        text = '<p><img src="@@PLUGINFILE@@/figure1.svg" alt="Figure 1"></p>\n' + text
    rows = [f"<tr><td>{html.escape(q.name)}</td><td>{{1:NUMERICAL:={number(q.value)}:{number(q.tolerance)}}}</td></tr>"
            for q in entry.questions]
    text += "\n".join(["", "<h2>Answers</h2>", "<table>", "<thead><tr><th>name</th><th>answer</th></tr></thead>",
                       "<tbody>", *rows, "</tbody>", "</table>"])
    return text, files


def question_xml(entry: LmsEntry) -> list[str]:
    text, files = question_html(entry)
    feedback, feedback_files = figures_out(body_of(entry.key_html), lambda name: "@@PLUGINFILE@@/" + name,
                                           prefix="solution-figure")
    return ['  <question type="cloze">',
            f"    <name><text>{html.escape(f'{entry.title} ({entry.id})', quote=False)}</text></name>",
            '    <questiontext format="html">', f"      <text>{cdata(text)}</text>",
            *("      " + f for f in _files(files)), "    </questiontext>",
            '    <generalfeedback format="html">', f"      <text>{cdata(feedback)}</text>",
            *("      " + f for f in _files(feedback_files)), "    </generalfeedback>",
            "    <penalty>0</penalty>", "    <hidden>0</hidden>",
            f"    <idnumber>{html.escape(entry.id, quote=False)}</idnumber>", "  </question>"]


def category_of(entries: list[LmsEntry]) -> str:
    """The exercise's name: the variants' common title, less exercise.py's ", variant 01"."""
    titles = [exercise_title(e.title) for e in entries]
    common = titles[0] if titles else "handprop"
    for title in titles[1:]:
        while not title.startswith(common):
            common = common[:-1]
    if any(title != common for title in titles):
        common = common.rstrip(" ,-:") or titles[0]  # titles with nothing in common: the first one's
    return common.replace("/", "-").strip() or "handprop"  # a / would nest categories


def write(entries: list[LmsEntry], folder: Path) -> Path:
    """Write folder/quiz.moodle.xml: one Cloze question per entry, in a category named after the exercise.

    >>> import tempfile
    >>> entry = LmsEntry("s1", "Exercise", "s1.toml", "", "<main><p>x?</p></main>", "<main>key</main>", "", ())
    >>> write([entry], Path(tempfile.mkdtemp())).name
    'quiz.moodle.xml'
    """
    category = html.escape(f"$course$/top/{category_of(entries)}", quote=False)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>", '  <question type="category">',
             f"    <category><text>{category}</text></category>", "  </question>"]
    for entry in entries:
        lines += question_xml(entry)
    lines += ["</quiz>", ""]
    from ..problem.files import write_file

    path = Path(folder) / FILE_NAME
    write_file(str(path), "\n".join(lines))
    return path
