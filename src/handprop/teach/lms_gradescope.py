"""A Gradescope autograder for a class's variants: DIR/gradescope-autograder.zip.

    setup.sh               run once when Gradescope builds the image: pip installs handprop from handprop-src/
    run_autograder         grades a submission: /autograder/submission/ -> /autograder/results/results.json
    handprop-src/          handprop's own source (the running copy), with a pyproject.toml to install it by
    variants/index.csv     id,problem: each student's (or variant's) problem file
    variants/<id>.toml     the problem files

run_autograder reads the submitted answers file (name,value CSV, or the problem sheet's Result table filled in),
finds the submitter's variant (the submitter's sid, email or Gradescope user id in
/autograder/submission_metadata.json, as an id of the roster; else a variant named in the file: its title's
"variant for ID" or a line `variant,ID`), grades it with handprop's grade, and writes results.json in
Gradescope's format: one test per question of the Result table, 1 point for a correct answer, CARRIED_FORWARD
points for one wrong only because an answer it depends on was, 0 for a wrong one with the diagnosed mistake as
its output (the right value is not shown). The zip is the same, byte for byte, for the same variants.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path

NAME = "gradescope-autograder.zip"
STAMP = (1980, 1, 1, 0, 0, 0)  # the zip's every date: no timestamps, so the same variants give the same bytes

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image.
set -euo pipefail
cd /autograder/source
apt-get install -y python3 python3-pip >/dev/null 2>&1 || true
pip3 install ./handprop-src || pip3 install --break-system-packages ./handprop-src
"""

RUN = r'''#!/usr/bin/env python3
"""Grade a submission with handprop against the submitter's own variant; write Gradescope's results.json."""

import csv
import json
import os
import re
import sys

ROOT = os.environ.get("AUTOGRADER_ROOT", "/autograder")  # Gradescope's folder; another for a trial run
SOURCE = os.path.join(ROOT, "source")
CARRIED_FORWARD = 0.5  # points for an answer wrong only because an answer it depends on was wrong
ANSWER_SUFFIXES = (".csv", ".md", ".txt")


def index():
    with open(os.path.join(SOURCE, "variants", "index.csv"), encoding="utf-8", newline="") as handle:
        return {row["id"]: row["problem"] for row in csv.DictReader(handle)}


def submission():
    folder = os.path.join(ROOT, "submission")
    names = sorted(n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n)))
    chosen = [n for n in names if n.lower().endswith(ANSWER_SUFFIXES)] or names
    if not chosen:
        raise LookupError("no file was submitted: submit your answers as a name,value CSV or the filled-in sheet")
    with open(os.path.join(folder, chosen[0]), encoding="utf-8-sig") as handle:
        return chosen[0], handle.read()


def student(variants, text):
    """The submitter's id in the roster: by the metadata's users, else by a variant named in the file."""
    try:
        with open(os.path.join(ROOT, "submission_metadata.json"), encoding="utf-8") as handle:
            users = json.load(handle).get("users") or []
    except (OSError, ValueError):
        users = []
    for user in users:
        for key in ("sid", "email", "id"):
            value = user.get(key)
            if value is not None and str(value).strip() in variants:
                return str(value).strip()
    for name in sorted(variants, key=len, reverse=True):
        escaped = re.escape(name)
        if (re.search(r"variant for " + escaped + r"(?![\w.-])", text)
                or re.search(r"(?im)^\s*variant\s*[,:=]\s*" + escaped + r"\s*$", text)
                or (name.startswith("variant-") and re.search(escaped + r"(?![\w-])", text))):
            return name
    raise LookupError("no variant for this submission: neither the submitter's id (sid, email) is on the roster "
                      "nor does the file name its variant (a line: variant,ID)")


def tests_of(problem_file, answers_name, text):
    from handprop.problem.spec import load
    from handprop.solver import solve
    from handprop.teach.grading import grade
    from handprop.teach.lms import questions
    from handprop.teach.names import label

    problem = load(problem_file)
    asked = questions(solve(problem), problem.decimals)
    report = grade(problem, text, answers_file=answers_name)
    graded = {label(g.answer.quantity, problem): g for g in report.grades}
    tests = []
    for question in asked:
        g = graded.get(question.name)
        if g is None:
            score, output = 0.0, "not answered"
        elif g.status == "correct":
            score, output = 1.0, f"correct: {g.answer.text}"
        elif g.status == "carried_forward":
            score = CARRIED_FORWARD
            output = f"{g.answer.text} follows from your wrong answer to {', '.join(g.follows_from)}"
        else:
            score = 0.0
            output = f"wrong: {g.answer.text}" + (f"; likely mistake: {g.cause}" if g.cause else
                                                  "; no common mistake gives this number")
        tests.append({"name": question.name, "score": score, "max_score": 1.0, "output": output,
                      "status": "passed" if score == 1.0 else "failed"})
    return report.title, tests


def main():
    results = os.path.join(ROOT, "results")
    os.makedirs(results, exist_ok=True)
    try:
        import handprop  # noqa: F401  installed by setup.sh
    except ImportError:
        sys.path.insert(0, os.path.join(SOURCE, "handprop-src", "src"))
    try:
        variants = index()
        name, text = submission()
        who = student(variants, text)
        text = re.sub(r"(?im)^\s*variant\s*[,:=].*(\n|$)", "", text)  # the line naming the variant is no answer
        title, tests = tests_of(os.path.join(SOURCE, "variants", variants[who]), name, text)
        result = {"score": sum(t["score"] for t in tests), "output": f"{title}: graded {name}",
                  "tests": tests}
    except Exception as exc:  # one line for the student, never a traceback
        from_handprop = type(exc).__name__ == "HandpropError"
        reason = str(exc) if from_handprop or isinstance(exc, (LookupError, OSError, UnicodeError)) else repr(exc)
        result = {"score": 0.0, "output": "not graded: " + " ".join(reason.split()), "tests": []}
    with open(os.path.join(results, "results.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
        handle.write("\n")


if __name__ == "__main__":
    main()
'''


def _pyproject() -> str:
    """The pyproject.toml that installs the copied source: the running handprop's version and dependencies."""
    from importlib import metadata

    try:
        version = metadata.version("handprop")
        requires = [r for r in metadata.requires("handprop") or [] if "extra ==" not in r]
    except metadata.PackageNotFoundError:
        version, requires = "0.0.0", ["PyYAML>=6", "latex2mathml>=3.77"]
    dependencies = ", ".join(f'"{r}"' for r in requires)
    return ('[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "handprop"\nversion = "{version}"\nrequires-python = ">=3.11"\n'
            f"dependencies = [{dependencies}]\n\n"
            '[project.scripts]\nhandprop = "handprop.cli:main"\n\n'
            '[tool.setuptools.packages.find]\nwhere = ["src"]\n\n'
            '[tool.setuptools.package-data]\nhandprop = ["examples/*", "render/assets/*", "serve/assets/*", '
            '"py.typed"]\n')


def _source() -> list[tuple[str, bytes]]:
    """handprop's own files, as the running copy has them (no caches), under handprop-src/src/handprop/."""
    package = Path(__file__).resolve().parent.parent
    found = []
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            found.append((f"handprop-src/src/handprop/{path.relative_to(package).as_posix()}", path.read_bytes()))
    return found


def write(entries: list, folder) -> Path:
    """Write folder/gradescope-autograder.zip for the entries (teach.lms.LmsEntry); returns its path.

    >>> import tempfile, zipfile
    >>> from handprop import load
    >>> from handprop.teach.exercise import spec_from, variants
    >>> from handprop.teach.exercise_files import entries
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     names = zipfile.ZipFile(write(entries(variants(spec_from(load("homework"))), 2), folder)).namelist()
    >>> names[:4]
    ['run_autograder', 'setup.sh', 'variants/index.csv', 'variants/variant-01.toml']
    """
    from ..problem.files import write_file

    index = io.StringIO()
    writer = csv.writer(index, lineterminator="\n")
    writer.writerow(["id", "problem"])
    members: list[tuple[str, bytes, bool]] = [("run_autograder", RUN.encode(), True),
                                              ("setup.sh", SETUP.encode(), True)]
    variant_files = []
    for entry in entries:
        name = os.path.basename(entry.problem_file)
        writer.writerow([entry.id, name])
        variant_files.append((f"variants/{name}", entry.problem_text.encode(), False))
    members.append(("variants/index.csv", index.getvalue().encode(), False))
    members += variant_files
    members.append(("handprop-src/pyproject.toml", _pyproject().encode(), False))
    members += [(name, data, False) for name, data in _source()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, executable in members:
            info = zipfile.ZipInfo(name, STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            archive.writestr(info, data)
    path = Path(folder) / NAME
    write_file(str(path), buffer.getvalue())
    return path
