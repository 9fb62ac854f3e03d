"""A class graded at once: each student's answers against their own variant, then what the class got wrong.

PROBLEM_OR_DIR is one problem (every student answers it), or a folder of variants: `handprop exercise
--roster`'s, whose roster.csv maps each id to its variant (columns id, ..., variant, problem, key), or one of
variant-NN.toml files. SUBMISSIONS is a folder of answer files named by id (`<id>.csv`, `<id>.md`, ...), or
one CSV with a row per student (a column `id`, an optional `variant`, and a column per answer name). A
student's variant is the roster's; a student the roster does not list names it in the file (a line
`variant: variant-03`, or `# variant-03`) or in the CSV's `variant` column.
Grading is teach.grading.grade(), one ProblemWork per variant. A submission that cannot be graded (not
readable, no variant, a variant the folder lacks, answers that do not parse) is reported with its reason;
the others are graded all the same.
"""

from __future__ import annotations

import csv
import os
import re
from ..core.frozen import dataclass

from ..core.errors import HandpropError
from ..problem.data_files import sniff_delimiter
from .answers import MAX_ANSWER_BYTES
from .grading import STATUSES, GradeReport, ProblemWork, grade, questions
from .mistakes import MISTAKES, ORDER
from .lms import exercise_title
from .names import label

ANSWER_SUFFIXES = (".csv", ".md", ".txt", ".tsv")
ROSTER = "roster.csv"
_VARIANT_LINE = re.compile(r"^\s*(?:variant\s*[:=]\s*([\w.-]+)|#+\s*(variant-[\w.-]+))\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class StudentResult:
    """One submission: graded (report set) or not (reason set)."""

    id: str
    source: str  # the answers file, or the class CSV and its row
    variant: str | None
    report: GradeReport | None = None
    asked: int = 0  # the questions on the student's sheet
    reason: str | None = None  # why the submission was not graded
    asked_labels: frozenset = frozenset()  # their names: an answer to another quantity (loss') is not scored

    @property
    def graded(self) -> bool:
        return self.report is not None

    @property
    def score(self) -> float | None:
        """The share of the sheet's questions answered correctly (unanswered ones count as not correct)."""
        if self.report is None:
            return None
        return self.correct / self.asked if self.asked else 0.0

    @property
    def correct(self) -> int:
        """The sheet's questions answered correctly (an answer to a quantity it does not ask is not counted)."""
        if self.report is None:
            return 0
        return sum(1 for g in self.report.grades if g.status == "correct" and g.label in self.asked_labels)


@dataclass(frozen=True)
class QuestionShares:
    label: str
    counts: dict  # status (and "not_answered") -> students
    graded: int  # the students graded

    def share(self, status: str) -> float:
        return self.counts.get(status, 0) / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class MistakeCount:
    mistake: str | None  # a key of mistakes.MISTAKES; None for wrong answers no common mistake explains
    description: str
    answers: int  # the wrong answers it explains
    students: tuple  # the ids of the students who made it, sorted


@dataclass(frozen=True)
class ClassReport:
    title: str
    problem: str  # PROBLEM_OR_DIR as named
    submissions: str  # SUBMISSIONS as named
    students: tuple  # of StudentResult, in id order
    questions: tuple  # of QuestionShares, in the sheet's order
    mistakes: tuple  # of MistakeCount, most students first; the unexplained last

    @property
    def graded(self) -> tuple:
        return tuple(s for s in self.students if s.graded)

    @property
    def not_graded(self) -> tuple:
        return tuple(s for s in self.students if not s.graded)


@dataclass(frozen=True)
class _Submission:
    id: str
    source: str
    text: str | None
    variant: str | None  # as named by the submission itself
    reason: str | None = None


class _Variants:
    """The problems of PROBLEM_OR_DIR, each loaded (and worked out) once, when a student first needs it."""

    def __init__(self, problem_or_dir: str):
        from ..problem.spec import load

        self.load = load
        self.roster: dict = {}  # id -> variant
        self.paths: dict = {}  # variant -> problem file
        self.loaded: dict = {}  # variant -> (problem, ProblemWork) or HandpropError
        self.single = None
        if not os.path.isdir(problem_or_dir):
            problem = load(problem_or_dir)  # a bad problem is the command's own bad input: exit 2
            self.single = (problem, ProblemWork(problem))
            self.title = exercise_title(problem.title)
            return
        roster = os.path.join(problem_or_dir, ROSTER)
        if os.path.isfile(roster):
            self._read_roster(problem_or_dir, roster)
        else:
            for name in sorted(os.listdir(problem_or_dir)):
                if name.startswith("variant-") and name.endswith(".toml"):
                    self.paths[name[:-5]] = os.path.join(problem_or_dir, name)
        if not self.paths:
            raise HandpropError(problem_or_dir, None, "no roster.csv and no variant-NN.toml files",
                                "a folder written by handprop exercise, or a problem file")
        self.title = None

    def _read_roster(self, folder: str, path: str) -> None:
        try:
            with open(path, newline="", encoding="utf-8-sig") as stream:
                rows = list(csv.DictReader(stream))
                fields = [f.strip().lower() for f in (rows[0].keys() if rows else [])]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise HandpropError(path, None, f"cannot read: {exc}", "the roster handprop exercise wrote") from None
        missing = [c for c in ("id", "variant", "problem") if c not in fields]
        if missing:
            raise HandpropError(path, None, f"no column {', '.join(missing)}", "columns id, ..., variant, problem, key")
        for row in rows:
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            if row["id"] and row["variant"]:
                self.roster[row["id"]] = row["variant"]
                self.paths.setdefault(row["variant"], os.path.join(folder, row["problem"]))

    def variant_of(self, submission: _Submission) -> str | None:
        return self.roster.get(submission.id) or submission.variant

    def get(self, variant: str | None):
        """(problem, work), or the reason there is none."""
        if self.single is not None:
            return self.single
        if variant is None:
            return "names no variant (not in roster.csv, and no line 'variant: variant-NN')"
        if variant not in self.paths:
            return f"names variant {variant}, which is not among the variants"
        if variant not in self.loaded:
            try:
                problem = self.load(self.paths[variant])
                self.loaded[variant] = (problem, ProblemWork(problem))
                self.title = self.title or exercise_title(problem.title)
            except HandpropError as exc:
                self.loaded[variant] = f"its variant {variant} does not load: {exc.line()}"
        return self.loaded[variant]


def is_class_csv(path: str) -> bool:
    """Whether a submissions file is one CSV with a row per student: its header has a column `id`."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as stream:
            for line in stream:
                if line.strip() and not line.lstrip().startswith("#"):
                    return "id" in [c.strip().strip('"').lower() for c in line.split(sniff_delimiter(line))]
    except OSError:
        return False
    return False


def _read_text(path: str) -> tuple[str | None, str | None]:
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_ANSWER_BYTES + 1)
    except OSError as exc:
        return None, f"cannot read: {exc.strerror or exc}"
    if len(data) > MAX_ANSWER_BYTES:
        return None, "larger than 1 MB"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return None, "not UTF-8 text"


def _named_variant(text: str) -> tuple[str, str | None]:
    """The text with its variant line blanked (line numbers kept), and the variant it names."""
    lines = text.split("\n")
    for n, line in enumerate(lines):
        match = _VARIANT_LINE.match(line)
        if match:
            lines[n] = ""
            return "\n".join(lines), match.group(1) or match.group(2)
    return text, None


def _folder_submissions(folder: str) -> list[_Submission]:
    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith(ANSWER_SUFFIXES) and not n.startswith(".") and n != ROSTER)
    if not names:
        raise HandpropError(folder, None, "no answer files", "one file per student, <id>.csv or <id>.md")
    found = []
    for name in names:
        path = os.path.join(folder, name)
        text, reason = _read_text(path)
        variant = None
        if text is not None:
            text, variant = _named_variant(text)
        found.append(_Submission(os.path.splitext(name)[0], path, text, variant, reason))
    return found


def _csv_submissions(path: str) -> list[_Submission]:
    text, reason = _read_text(path)
    if text is None:
        raise HandpropError(path, None, reason, "a CSV with a row per student")
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]
    delimiter = sniff_delimiter(lines[0][1])
    rows = [(n, cells) for n, cells in zip((n for n, _ in lines), csv.reader([l for _, l in lines],
                                                                             delimiter=delimiter))]
    header = [c.strip() for c in rows[0][1]]
    lowered = [c.lower() for c in header]
    id_column = lowered.index("id")
    variant_column = lowered.index("variant") if "variant" in lowered else None
    answer_columns = [k for k in range(len(header)) if k not in (id_column, variant_column) and header[k]]
    found, seen = [], {}
    for n, cells in rows[1:]:
        cells = cells + [""] * (len(header) - len(cells))
        student = cells[id_column].strip()
        source = f"{path}, line {n}"
        variant = cells[variant_column].strip() or None if variant_column is not None else None
        writer_lines = [delimiter.join(_quoted(c, delimiter) for c in (header[k], cells[k].strip()))
                        for k in answer_columns if cells[k].strip()]
        reason = None
        if not student:
            reason, student = "a row without an id", f"(line {n})"
        elif student in seen:
            reason = f"id {student} given twice, on lines {seen[student]} and {n}"
            student = f"{student} (line {n})"
        else:
            seen[student] = n
        found.append(_Submission(student, source, "\n".join(writer_lines) + "\n", variant, reason))
    return found


def _quoted(cell: str, delimiter: str) -> str:
    return f'"{cell}"' if delimiter in cell or '"' in cell else cell


def grade_class(problem_or_dir: str, submissions: str, *, tolerance: float | None = None) -> ClassReport:
    """Grade every submission against its own variant and gather the class's shares and mistakes.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "ada.csv"), "w") as stream:
    ...     _ = stream.write("out1,0.53\\ndL/dw1,-0.01\\n")
    >>> report = grade_class("homework", folder)
    >>> [(s.id, s.report.count("correct"), s.report.count("wrong")) for s in report.students]
    [('ada', 1, 1)]
    """
    if not os.path.exists(submissions):
        raise HandpropError(submissions, None, "no such file or folder", "a folder of answer files or a CSV")
    variants = _Variants(problem_or_dir)
    found = _folder_submissions(submissions) if os.path.isdir(submissions) else _csv_submissions(submissions)
    students, first_problem = [], variants.single[0] if variants.single is not None else None
    for submission in found:
        variant = variants.variant_of(submission) if variants.single is None else None
        if submission.reason is not None:
            students.append(StudentResult(submission.id, submission.source, variant, reason=submission.reason))
            continue
        loaded = variants.get(variant)
        if isinstance(loaded, str):
            students.append(StudentResult(submission.id, submission.source, variant, reason=loaded))
            continue
        problem, work = loaded
        first_problem = first_problem or problem
        try:
            report = grade(problem, submission.text, tolerance=tolerance, answers_file=submission.source, work=work)
        except HandpropError as exc:
            students.append(StudentResult(submission.id, submission.source, variant, reason=exc.line()))
            continue
        asked = questions(problem)
        students.append(StudentResult(submission.id, submission.source, variant, report, len(asked),
                                      asked_labels=frozenset(label(q, problem) for q in asked)))
    students.sort(key=lambda s: s.id)
    title = variants.title or (first_problem.title if first_problem else "")
    order = [label(q, first_problem) for q in questions(first_problem)] if first_problem else []
    return ClassReport(title, problem_or_dir, submissions, tuple(students), _shares(students, order),
                       _mistakes(students))


def _shares(students: list, order: list) -> tuple:
    graded = [s for s in students if s.graded]
    counts: dict = {name: {} for name in order}
    for s in graded:
        for g in s.report.grades:
            counts.setdefault(g.label, {})
            counts[g.label][g.status] = counts[g.label].get(g.status, 0) + 1
        for name in s.report.unanswered:
            counts.setdefault(name, {})
            counts[name]["not_answered"] = counts[name].get("not_answered", 0) + 1
    return tuple(QuestionShares(name, {k: c.get(k, 0) for k in (*STATUSES, "not_answered")}, len(graded))
                 for name, c in counts.items())


def _mistakes(students: list) -> tuple:
    answers: dict = {}
    who: dict = {}
    for s in students:
        if not s.graded:
            continue
        for g in s.report.grades:
            if g.status == "wrong":
                answers[g.mistake] = answers.get(g.mistake, 0) + 1
                who.setdefault(g.mistake, set()).add(s.id)
    known = sorted((m for m in answers if m is not None), key=lambda m: (-len(who[m]), -answers[m], ORDER[m]))
    found = [MistakeCount(m, MISTAKES[m], answers[m], tuple(sorted(who[m]))) for m in known]
    if None in answers:
        found.append(MistakeCount(None, "no common mistake gives the number", answers[None], tuple(sorted(who[None]))))
    return tuple(found)
