"""Write exercise variants into a folder: for each, the problem file, the problem sheet and the answer key.

    variant-01.toml                      the problem file (handprop solve variant-01.toml)
    variant-01-sheet.md, -sheet.html     the problem sheet, with an empty Result table
    variant-01-key.md, -key.html         the answer key: the worked solution
    variant-01-sheet.tex, -key.tex       with latex (or pdf): both in LaTeX, Figure 1 drawn in TikZ
    variant-01-sheet.pdf, -key.pdf       with pdf: both compiled by pdflatex

No timestamps and no random names: the same seed and options give byte-identical files.
"""

from __future__ import annotations

import os

from ..core.errors import HandpropError
from .exercise import ExerciseSpec, variants
from .exercise_kinds import StackSpec
from .exercise_kinds import variants as stack_variants


def files_of(variant, *, latex: bool = False, pdf: bool = False) -> list[tuple[str, str | bytes]]:
    """(file name, text) of each file a variant is written as; with latex, the sheet and key in LaTeX too;
    with pdf, in LaTeX and PDF (the PDF as bytes)."""
    from ..render import explain
    from ..render.sheet import render_sheet_html, render_sheet_markdown

    stem, solution = variant.stem, variant.solution
    files: list[tuple[str, str | bytes]] = [
        (f"{stem}.toml", variant.text),
        (f"{stem}-sheet.md", render_sheet_markdown(solution, problem_file=f"{stem}.toml",
                                                   html_file=f"{stem}-sheet.html")),
        (f"{stem}-sheet.html", render_sheet_html(solution)),
        (f"{stem}-key.md", explain(solution, format="markdown")),
        (f"{stem}-key.html", explain(solution, format="html"))]
    if latex or pdf:
        from ..render.pdf import latex_to_pdf
        from ..render.sheet_latex import render_sheet_latex

        for part, source in (("sheet", render_sheet_latex(solution)), ("key", explain(solution, format="latex"))):
            files.append((f"{stem}-{part}.tex", source))
            if pdf:
                files.append((f"{stem}-{part}.pdf", latex_to_pdf(source, option="--pdf")))
    return files


def write_exercises(spec: ExerciseSpec | StackSpec, directory: str, *, seed: int = 0, count: int = 1,
                    latex: bool = False, pdf: bool = False, roster=None, lms: tuple = ()) -> list[str]:
    """Draw the variants and write their files into directory (made if need be); returns the paths written. With
    latex, each sheet and key in LaTeX too; with pdf, in LaTeX and PDF (pdflatex must be installed).

    Every variant is drawn and rendered before the first file is written, so bad options leave no files; each
    file is written whole or not at all, so a failure (a full disk) leaves no half-written one. A file of the
    same name is replaced.

    With a roster (teach.roster.Roster), one variant per student, named by id, and roster.csv mapping each student
    to their files. With lms, the names of learning-management systems (LMS_NAMES) to export the variants to.
    """
    from ..problem.files import write_file

    lms_writers = [lms_writer(name) for name in lms]  # an unknown name refused before anything is drawn
    if roster is not None:
        from .roster import roster_csv, roster_variants

        drawn_list = roster_variants(spec, roster, seed=seed)
    else:
        drawn = stack_variants if isinstance(spec, StackSpec) else variants  # layer kinds, or dense layers
        drawn_list = drawn(spec, seed=seed, count=count)
    contents = [item for variant in drawn_list for item in files_of(variant, latex=latex, pdf=pdf)]
    if roster is not None:
        contents.append(("roster.csv", roster_csv(roster, drawn_list)))
    try:
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise HandpropError(directory, None, "is a file, not a folder", "a folder to write the variants into")
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise HandpropError(directory, None, f"cannot write: {exc.strerror or exc}", "a writable folder") from None
    written = []
    for name, text in contents:
        path = os.path.join(directory, name)
        write_file(path, text)
        written.append(path)
    if lms_writers:
        found = entries(drawn_list, spec.answer_decimals)
        for write in lms_writers:
            written.append(str(write(found, directory)))
    return written


LMS_NAMES = ("gradescope", "moodle", "canvas")


def lms_writer(name: str):
    """The write(entries, folder) of a learning-management system's export (teach/lms_<name>.py)."""
    from ..core.errors import one_of

    if name == "gradescope":
        from .lms_gradescope import write
    elif name == "moodle":
        from .lms_moodle import write
    elif name == "canvas":
        from .lms_canvas import write
    else:
        raise HandpropError(None, "--lms", f"unknown learning-management system '{name}'", one_of(LMS_NAMES, name))
    return write


def entries(drawn: list, decimals: int) -> list:
    """An LmsEntry per variant (its id the variant's stem: the student's id with a roster), its questions to be
    answered to `decimals` places, as the sheet asks."""
    from ..render import explain
    from ..render.sheet import render_sheet_html
    from .lms import LmsEntry, questions, sheet_figure

    return [LmsEntry(v.stem, v.problem.title, f"{v.stem}.toml", v.text, render_sheet_html(v.solution),
                     explain(v.solution, format="html"), sheet_figure(v.solution), questions(v.solution, decimals))
            for v in drawn]
