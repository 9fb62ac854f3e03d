"""A graded answer sheet: the terminal report (✓/✗ per answer, the cause of each wrong one) and JSON.

Marks: ✓ correct, ✗ wrong, ↳ carried forward (wrong only because an answer it depends on was wrong,
and right given that answer). The score line counts the three. Where the output cannot show a mark, the
report is given a `fit` that writes it otherwise (the command line's: ok, x, ->).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .numbers import fixed

MARKS = {"correct": "\u2713", "carried_forward": "\u21b3", "wrong": "\u2717"}


def _expected_decimals(grade) -> int:
    return min(max(grade.places + 2, 2), 8)


def note(grade) -> str:
    """What the report says beside an answer: the cause, what it follows from, or how it is right."""
    if grade.status == "correct":
        if grade.by_hand is not None:
            places = grade.by_hand
            return f"as worked by hand, rounding every step to {places} decimal{'s' * (places != 1)}"
        if grade.from_own is not None:
            return "right from your own rounded answers above"
        return ""
    if grade.status == "carried_forward":
        return (f"follows from {', '.join(grade.follows_from)}: right given your answer"
                + ("s" if len(grade.follows_from) > 1 else "") + " there")
    if grade.cause is None:
        return "no common mistake gives this number"
    return grade.cause + "".join(f"; or: {other}" for other in grade.also)


def score_line(report) -> str:
    correct, carried, wrong = (report.count(s) for s in ("correct", "carried_forward", "wrong"))
    total = len(report.grades)
    if correct == total:
        line = f"Full marks: all {total} answer{'s' * (total != 1)} correct."
    else:
        line = (f"Score: {correct} of {total} correct, {carried} carried forward (wrong only because an earlier "
                f"answer was wrong), {wrong} wrong.")
    if report.unanswered:
        count = len(report.unanswered)
        shown = ", ".join(report.unanswered[:8]) + (f" and {count - 8} more" if count > 8 else "")
        line += f" Not answered: {count} ({shown})."
    return line


def render_grade_text(report, *, fit: Callable[[str], str] | None = None) -> str:
    """The report for a terminal: one row per answer, in the order written, then the score. Each piece of
    text passes through fit, if given, before the columns are lined up, so that they stay lined up when a
    mark is written in more letters.

    >>> from handprop import load
    >>> from handprop.teach.grading import grade
    >>> print(render_grade_text(grade(load("homework"), "dL/dw1,0.01\\n")).splitlines()[-1])
    Full marks: all 1 answer correct. Not answered: 36 (out1, out2, loss, dL/dw2, dL/dw3, dL/dw4, dL/dw5, dL/dw6 and 28 more).
    """
    fit = fit or str
    tolerance = ("half a unit of its last written digit (0.53: within 0.005)" if report.tolerance is None
                 else f"within {report.tolerance:g}")
    lines = [fit(f"Grading {report.answers} against {report.problem}: {report.title}"),
             fit(f"Each answer is checked to {tolerance}, or against the same work rounded by hand."), ""]
    header = ("", "name", "expected", "given", "")
    rows = [tuple(map(fit, (MARKS[g.status], g.label, fixed(g.expected, _expected_decimals(g)), g.answer.text,
                            note(g))))
            for g in report.grades]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    for k, row in enumerate([header] + rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]), row[3].rjust(widths[3]),
                 row[4]]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", fit(score_line(report))]
    return "\n".join(lines) + "\n"


def _number(value):
    """A float for JSON, which has no infinity or NaN: those as strings."""
    if value is None or value == value and abs(value) != float("inf"):
        return value
    return str(value)


def render_grade_json(report) -> str:
    """The report as JSON (docs/exercises.md describes it)."""
    entries = []
    for g in report.grades:
        entry = {"name": g.label, "line": g.answer.line, "given": _number(g.answer.value), "given_text": g.answer.text,
                 "expected": _number(g.expected), "tolerance": g.tolerance, "status": g.status}
        if g.status == "wrong":
            entry["mistake"] = g.mistake
            entry["cause"] = g.cause
            entry["also"] = list(g.also)
        if g.status == "carried_forward":
            entry["follows_from"] = list(g.follows_from)
        if g.from_own is not None:
            entry["from_own_answers"] = _number(g.from_own)
        if g.by_hand is not None:
            entry["by_hand_decimals"] = g.by_hand
        entries.append(entry)
    document = {
        "problem": report.problem, "answers": report.answers, "title": report.title, "tolerance": report.tolerance,
        "score": {"correct": report.count("correct"), "carried_forward": report.count("carried_forward"),
                  "wrong": report.count("wrong"), "answered": len(report.grades),
                  "not_answered": len(report.unanswered)},
        "passed": report.passed, "entries": entries, "not_answered": list(report.unanswered),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
