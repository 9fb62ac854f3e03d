"""The Moodle XML and Canvas QTI writers, read back by an independent reader (xml.etree, zipfile): every variant a
question, every unknown an answer with the value and tolerance of lms.questions, the figures stored and referenced,
everything escaped."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

import handprop
from handprop.render import explain
from handprop.render.sheet import render_sheet_html
from handprop.teach import exercise, exercise_kinds, lms, lms_moodle

NASTY = 'Homework <1> & "two" \'three\' ]]> {1:NUMERICAL:=9}'


def entry_of(variant) -> lms.LmsEntry:
    from handprop.render import diagram
    from handprop.render.sheet import blank, decimals_of

    solution = variant.solution
    return lms.LmsEntry(id=variant.stem, title=solution.title, problem_file=f"{variant.stem}.toml",
                        problem_text=variant.text, sheet_html=render_sheet_html(solution),
                        key_html=explain(solution, format="html"),
                        figure_svg=diagram(blank(solution), show="values"),
                        questions=lms.questions(solution, decimals_of(solution)))


@pytest.fixture(scope="module")
def entries() -> list[lms.LmsEntry]:
    dense = exercise.variants(exercise.spec_from(handprop.load("homework")), seed=1, count=2)
    kinds = exercise_kinds.variants(exercise_kinds.spec_from(handprop.load("cnn_homework")), seed=1, count=1)
    return [entry_of(v) for v in dense] + [replace(entry_of(v), id="kinds-01") for v in kinds]


# Moodle

def cloze_fields(text: str) -> list[tuple[float, float]]:
    return [(float(v), float(t)) for v, t in re.findall(r"\{1:NUMERICAL:=([^:}]+):([^}]+)\}", text)]


def test_moodle_quiz_has_a_category_and_a_cloze_question_per_variant(entries, tmp_path):
    path = lms_moodle.write(entries, tmp_path)
    assert path == tmp_path / "quiz.moodle.xml"
    assert path.read_text(encoding="utf-8").startswith('<?xml version="1.0" encoding="UTF-8"?>\n<quiz>')
    quiz = ET.parse(path).getroot()
    assert quiz.tag == "quiz"
    category, *questions = quiz.findall("question")
    assert category.get("type") == "category"
    assert category.findtext("category/text") == "$course$/top/Machine Learning Homework 1"
    assert [q.get("type") for q in questions] == ["cloze"] * len(entries)
    for question, entry in zip(questions, entries):
        assert question.findtext("idnumber") == entry.id
        assert entry.id in question.findtext("name/text")
        text = question.find("questiontext")
        assert text.get("format") == "html"
        assert cloze_fields(text.findtext("text")) == [(q.value, q.tolerance) for q in entry.questions]
        for q in entry.questions:
            assert f"<td>{q.name}</td>" in text.findtext("text").replace("&#x27;", "'")
        files = text.findall("file")
        assert files[0].get("name") == "figure1.svg" and files[0].get("encoding") == "base64"
        assert "@@PLUGINFILE@@/figure1.svg" in text.findtext("text")
        assert "<svg" not in text.findtext("text") and "<style" not in text.findtext("text")
        figure = ET.fromstring(base64.b64decode(files[0].text))  # the figure is a standalone SVG file
        assert figure.tag == "{http://www.w3.org/2000/svg}svg"
        assert base64.b64decode(files[0].text).decode() == entry.figure_svg  # as the sheet draws it, ? for unknowns
        assert "?" in entry.figure_svg
        feedback = question.find("generalfeedback")
        assert feedback.get("format") == "html"
        assert entry.key_html.split("<h1>", 1)[1].split("</h1>", 1)[0] in feedback.findtext("text")
        for file in feedback.findall("file"):
            assert f"@@PLUGINFILE@@/{file.get('name')}" in feedback.findtext("text")
            ET.fromstring(base64.b64decode(file.text))


def test_moodle_quiz_escapes_titles_ids_and_cdata_ends(entries, tmp_path):
    nasty = [replace(e, title=NASTY, id=f"a&b<{n}>", sheet_html=e.sheet_html.replace("<h1>", "<h1>]]> ", 1))
             for n, e in enumerate(entries[:2])]
    quiz = ET.parse(lms_moodle.write(nasty, tmp_path)).getroot()
    category, *questions = quiz.findall("question")
    assert category.findtext("category/text") == "$course$/top/" + NASTY
    assert [q.findtext("idnumber") for q in questions] == ["a&b<0>", "a&b<1>"]
    assert all(q.findtext("name/text") == f"{NASTY} (a&b<{n}>)" for n, q in enumerate(questions))
    assert "<h1>]]> " in questions[0].findtext("questiontext/text")
    assert len(cloze_fields(questions[0].findtext("questiontext/text"))) == len(entries[0].questions)


def test_moodle_category_is_the_common_title():
    entry = lms.LmsEntry("s", "XOR, variant 01", "s.toml", "", "", "", "", ())
    assert lms_moodle.category_of([entry]) == "XOR"
    assert lms_moodle.category_of([entry, replace(entry, title="XOR, variant 12")]) == "XOR"
    assert lms_moodle.category_of([replace(entry, title="a/b")]) == "a-b"
    assert lms_moodle.category_of([entry, replace(entry, title="CNN, variant 01")]) == "XOR"


# Canvas

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
CP = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"


def test_canvas_package_has_a_manifest_an_assessment_and_the_figures(entries, tmp_path):
    from handprop.teach import lms_canvas

    path = lms_canvas.write(entries, tmp_path)
    assert path == tmp_path / "quiz.canvas-qti.zip"
    import zipfile

    with zipfile.ZipFile(path) as package:
        names = package.namelist()
        manifest = ET.fromstring(package.read("imsmanifest.xml"))
        listed = [f.get("href") for f in manifest.iter(f"{CP}file")]
        assert sorted(listed) == sorted(n for n in names if n != "imsmanifest.xml")  # every file, and no other
        quiz = next(r for r in manifest.iter(f"{CP}resource") if r.get("type") == "imsqti_xmlv1p2")
        root = ET.fromstring(package.read(quiz.get("href")))
        assert root.tag == f"{QTI}questestinterop"
        assessment = root.find(f"{QTI}assessment")
        assert assessment.get("title") == "Machine Learning Homework 1"
        sections = assessment.findall(f"{QTI}section/{QTI}section")
        assert len(sections) == len(entries)
        for section, entry in zip(sections, entries):
            items = section.findall(f"{QTI}item")
            assert len(items) == len(entry.questions)
            for item, question in zip(items, entry.questions):
                fields = {f.findtext(f"{QTI}fieldlabel"): f.findtext(f"{QTI}fieldentry")
                          for f in item.iter(f"{QTI}qtimetadatafield")}
                assert fields["question_type"] == "numerical_question"
                assert item.find(f".//{QTI}render_fib").get("fibtype") == "Decimal"
                condition = item.find(f"{QTI}resprocessing/{QTI}respcondition/{QTI}conditionvar")
                assert float(condition.findtext(f".//{QTI}varequal")) == question.value
                low, high = float(condition.findtext(f".//{QTI}vargte")), float(condition.findtext(f".//{QTI}varlte"))
                assert low == pytest.approx(question.value - question.tolerance, abs=1e-12)
                assert high == pytest.approx(question.value + question.tolerance, abs=1e-12)
                assert question.name in item.findtext(f".//{QTI}mattext")
            first = items[0].findtext(f"{QTI}presentation/{QTI}material/{QTI}mattext")
            figure = f"figures/{entry.id}-figure1.svg"
            assert f'src="$IMS-CC-FILEBASE$/{figure}"' in first and "<svg" not in first
            assert package.read(figure).decode() == entry.figure_svg
            assert ET.fromstring(package.read(figure)).tag == "{http://www.w3.org/2000/svg}svg"
            assert items[0].find(f"{QTI}itemfeedback").get("ident") == "general_fb"
        for name in names:
            if name.endswith(".svg"):
                assert any(f"$IMS-CC-FILEBASE$/{name}" in (t.text or "") for t in root.iter(f"{QTI}mattext"))


def test_canvas_package_escapes_and_is_byte_identical(entries, tmp_path):
    from handprop.teach import lms_canvas
    import zipfile

    nasty = [replace(e, title=NASTY, id=f"a&b<{n}>") for n, e in enumerate(entries[:2])]
    first = lms_canvas.write(nasty, tmp_path).read_bytes()
    (tmp_path / "again").mkdir()
    again = lms_canvas.write(nasty, tmp_path / "again").read_bytes()
    assert first == again
    with zipfile.ZipFile(tmp_path / "quiz.canvas-qti.zip") as package:
        root = ET.fromstring(package.read("handprop-quiz/handprop-quiz.xml"))
        assert root.find(f"{QTI}assessment").get("title") == NASTY
        titles = [s.get("title") for s in root.iter(f"{QTI}section")][1:]
        assert titles == [f"{NASTY} (a&b<0>)", f"{NASTY} (a&b<1>)"]
        assert all(n.startswith(("figures/a_b_", "imsmanifest", "handprop-quiz/")) for n in package.namelist())
