"""Canvas: the variants as one IMS QTI 1.2 package, quiz.canvas-qti.zip, for Canvas's "QTI .zip file" import.

    imsmanifest.xml                    IMS Content Packaging: the assessment and each figure, a resource
    handprop-quiz/handprop-quiz.xml    questestinterop/assessment: a section per variant, an item per unknown
    figures/variant-01-figure1.svg     each variant's Figure 1 (and any further figure of its sheet)

Each unknown is a Canvas `numerical_question` (itemmetadata question_type), answered in a Decimal fill-in field and
right when equal to the value or within [value - tolerance, value + tolerance], written as Canvas exports it: an
<or> of <varequal> and <vargte>/<varlte>. A variant's first item carries its problem sheet, the figure an <img>
referenced as $IMS-CC-FILEBASE$/figures/...; the next items name the unknown asked. The worked solution is the
variant's first item's general feedback (itemfeedback, ident general_fb).
"""

from __future__ import annotations

import html
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from .lms import LmsEntry
from .lms_moodle import body_of, category_of, figures_out, number

FILE_NAME = "quiz.canvas-qti.zip"
QUIZ_ID = "handprop-quiz"
QTI_NAMESPACE = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
CP_NAMESPACE = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _ident(text: str) -> str:
    return _UNSAFE.sub("_", text)


def _field(parent, label: str, entry: str) -> None:
    field = ET.SubElement(parent, "qtimetadatafield")
    ET.SubElement(field, "fieldlabel").text = label
    ET.SubElement(field, "fieldentry").text = entry


def _item(section, ident: str, title: str, text: str, value: float, tolerance: float, feedback: str | None) -> None:
    item = ET.SubElement(section, "item", ident=ident, title=title)
    metadata = ET.SubElement(ET.SubElement(item, "itemmetadata"), "qtimetadata")
    _field(metadata, "question_type", "numerical_question")
    _field(metadata, "points_possible", "1.0")
    presentation = ET.SubElement(item, "presentation")
    ET.SubElement(ET.SubElement(presentation, "material"), "mattext", texttype="text/html").text = text
    response = ET.SubElement(presentation, "response_str", ident="response1", rcardinality="Single")
    ET.SubElement(ET.SubElement(response, "render_fib", fibtype="Decimal"), "response_label", ident="answer1")
    processing = ET.SubElement(item, "resprocessing")
    ET.SubElement(ET.SubElement(processing, "outcomes"), "decvar", maxvalue="100", minvalue="0", varname="SCORE",
                  vartype="Decimal")
    condition = ET.SubElement(processing, "respcondition", attrib={"continue": "No"})
    either = ET.SubElement(ET.SubElement(condition, "conditionvar"), "or")
    ET.SubElement(either, "varequal", respident="response1").text = number(value)
    within = ET.SubElement(either, "and")
    ET.SubElement(within, "vargte", respident="response1").text = number(value - tolerance)
    ET.SubElement(within, "varlte", respident="response1").text = number(value + tolerance)
    ET.SubElement(condition, "setvar", action="Set", varname="SCORE").text = "100"
    if feedback is not None:
        shown = ET.SubElement(processing, "respcondition", attrib={"continue": "Yes"})
        ET.SubElement(shown, "conditionvar").append(ET.Element("other"))
        ET.SubElement(shown, "displayfeedback", feedbacktype="Response", linkrefid="general_fb")
        fb = ET.SubElement(item, "itemfeedback", ident="general_fb")
        material = ET.SubElement(ET.SubElement(fb, "flow_mat"), "material")
        ET.SubElement(material, "mattext", texttype="text/html").text = feedback


def assessment_xml(entries: list[LmsEntry]) -> tuple[bytes, list]:
    """The assessment's XML and the (path in the package, SVG text) of every figure it references."""
    root = ET.Element("questestinterop", xmlns=QTI_NAMESPACE)
    assessment = ET.SubElement(root, "assessment", ident=QUIZ_ID, title=category_of(entries))
    _field(ET.SubElement(assessment, "qtimetadata"), "cc_maxattempts", "1")
    root_section = ET.SubElement(assessment, "section", ident="root_section")
    figures = []
    for entry in entries:
        stem = _ident(entry.id)
        sheet, files = figures_out(body_of(entry.sheet_html),
                                   lambda name, stem=stem: f"$IMS-CC-FILEBASE$/figures/{stem}-{name}",
                                   first=entry.figure_svg or None)
        figures += [(f"figures/{stem}-{name}", svg) for name, svg in files]
        key, key_files = figures_out(body_of(entry.key_html),
                                     lambda name, stem=stem: f"$IMS-CC-FILEBASE$/figures/{stem}-{name}",
                                     prefix="solution-figure")
        figures += [(f"figures/{stem}-{name}", svg) for name, svg in key_files]
        section = ET.SubElement(root_section, "section", ident=f"section-{stem}", title=f"{entry.title} ({entry.id})")
        for n, question in enumerate(entry.questions):
            asked = (f"<p>{html.escape(entry.title, quote=False)} ({html.escape(entry.id, quote=False)}): "
                     f"{html.escape(question.name, quote=False)} = ? "
                     f"(within {number(question.tolerance)})</p>")
            text = sheet + "\n" + asked if n == 0 else asked
            _item(section, f"{stem}-q{n + 1}", f"{entry.id}: {question.name}", text, question.value,
                  question.tolerance, key if n == 0 else None)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True), figures


def manifest_xml(files: list[str], title: str) -> bytes:
    root = ET.Element("manifest", identifier=f"{QUIZ_ID}-manifest", xmlns=CP_NAMESPACE)
    metadata = ET.SubElement(root, "metadata")
    ET.SubElement(metadata, "schema").text = "IMS Content"
    ET.SubElement(metadata, "schemaversion").text = "1.1.3"
    ET.SubElement(metadata, "title").text = title
    ET.SubElement(root, "organizations")
    resources = ET.SubElement(root, "resources")
    quiz = ET.SubElement(resources, "resource", identifier=QUIZ_ID, type="imsqti_xmlv1p2",
                         href=f"{QUIZ_ID}/{QUIZ_ID}.xml")
    ET.SubElement(quiz, "file", href=f"{QUIZ_ID}/{QUIZ_ID}.xml")
    for n, path in enumerate(files, 1):
        resource = ET.SubElement(resources, "resource", identifier=f"figure-{n}", type="webcontent", href=path)
        ET.SubElement(resource, "file", href=path)
        ET.SubElement(quiz, "dependency", identifierref=f"figure-{n}")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write(entries: list[LmsEntry], folder: Path) -> Path:
    """Write folder/quiz.canvas-qti.zip: a section per entry, a numerical question per unknown, the figures.

    >>> import tempfile
    >>> entry = LmsEntry("s1", "Exercise", "s1.toml", "", "<main><p>x?</p></main>", "<main>key</main>", "", ())
    >>> write([entry], Path(tempfile.mkdtemp())).name
    'quiz.canvas-qti.zip'
    """
    from ..problem.files import write_file

    assessment, figures = assessment_xml(entries)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        def put(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # no timestamps: byte-identical files
            info.compress_type = zipfile.ZIP_DEFLATED
            package.writestr(info, data)

        put("imsmanifest.xml", manifest_xml([path for path, _ in figures], category_of(entries)))
        put(f"{QUIZ_ID}/{QUIZ_ID}.xml", assessment)
        for path, svg in figures:
            put(path, svg.encode("utf-8"))
    path = Path(folder) / FILE_NAME
    write_file(str(path), buffer.getvalue())
    return path
