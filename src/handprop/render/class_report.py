"""A class report (teach/class_report.py) as a terminal table, CSV (a row per student), JSON and HTML.

The HTML report draws a histogram of the scores and a bar chart of the mistakes as inline SVG with
matplotlib; without matplotlib it says so, and its tables are all there.
"""

from __future__ import annotations

import csv
import html
import io
import json


COLUMNS = ("correct", "carried_forward", "wrong", "not_answered")


def _number(value):
    """A float for JSON, which has no infinity or NaN: those as strings."""
    return value if value is None or value == value and abs(value) != float("inf") else str(value)


def _percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def _wrong(student) -> list:
    return [g for g in student.report.grades if g.status == "wrong"]


def _wrong_text(student) -> str:
    return "; ".join(f"{g.label} = {g.answer.text} ({g.mistake or 'no common mistake'})" for g in _wrong(student))


def render_class_text(report) -> str:
    """Students, questions and mistakes, as three plain tables."""
    lines = [f"Class report: {report.title}", f"{len(report.graded)} graded, {len(report.not_graded)} not graded "
             f"({report.submissions} against {report.problem})", "", "Students"]
    for s in report.students:
        if not s.graded:
            lines.append(f"  {s.id}: not graded: {s.reason}")
            continue
        r = s.report
        lines.append(f"  {s.id}{f' ({s.variant})' if s.variant else ''}: {_percent(s.score)}, {s.correct} "
                     f"of {s.asked} correct, {r.count('carried_forward')} carried forward, {r.count('wrong')} wrong")
        lines += [f"      {g.label} = {g.answer.text}: {g.cause or 'no common mistake gives this number'}"
                  for g in _wrong(s)]
    lines += ["", "Questions (share of students: correct, carried forward, wrong, not answered)"]
    width = max((len(q.label) for q in report.questions), default=4)
    lines += [f"  {q.label.ljust(width)}  " + "  ".join(_percent(q.share(c)).rjust(4) for c in COLUMNS)
              for q in report.questions]
    lines += ["", "Most common mistakes"]
    lines += [f"  {m.mistake or '(none)'}: {m.answers} answer{'s' * (m.answers != 1)} by {len(m.students)} "
              f"student{'s' * (len(m.students) != 1)} ({', '.join(m.students)}): {m.description}"
              for m in report.mistakes] or ["  none"]
    return "\n".join(lines) + "\n"


def render_class_csv(report) -> str:
    """A row per student: id, variant, graded, score, the counts, the wrong answers and their mistakes."""
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(["id", "variant", "graded", "score", "correct", "carried_forward", "wrong", "not_answered",
                     "wrong_answers", "not_graded_reason"])
    for s in report.students:
        if not s.graded:
            writer.writerow([s.id, s.variant or "", "no", "", "", "", "", "", "", s.reason])
            continue
        r = s.report
        writer.writerow([s.id, s.variant or "", "yes", f"{s.score:.4f}", s.correct, r.count("carried_forward"),
                         r.count("wrong"), len(r.unanswered), _wrong_text(s), ""])
    return stream.getvalue()


def class_document(report) -> dict:
    """The report as plain data: what JSON writes (docs/exercises.md describes it)."""
    students = []
    for s in report.students:
        entry = {"id": s.id, "source": s.source, "variant": s.variant, "graded": s.graded}
        if not s.graded:
            entry["reason"] = s.reason
        else:
            r = s.report
            entry.update({
                "score": s.score, "questions": s.asked, "correct": s.correct,
                "carried_forward": r.count("carried_forward"), "wrong": r.count("wrong"),
                "not_answered": len(r.unanswered),
                "wrong_answers": [{"name": g.label, "given": _number(g.answer.value), "given_text": g.answer.text,
                                   "expected": _number(g.expected), "mistake": g.mistake, "cause": g.cause}
                                  for g in _wrong(s)]})
        students.append(entry)
    return {
        "title": report.title, "problem": report.problem, "submissions": report.submissions,
        "graded": len(report.graded), "not_graded": len(report.not_graded), "students": students,
        "questions": [{"name": q.label, **{k: q.counts[k] for k in COLUMNS},
                       "shares": {k: q.share(k) for k in COLUMNS}} for q in report.questions],
        "mistakes": [{"mistake": m.mistake, "description": m.description, "answers": m.answers,
                      "students": list(m.students)} for m in report.mistakes],
    }


def render_class_json(report) -> str:
    return json.dumps(class_document(report), indent=2, ensure_ascii=False) + "\n"


def _svg(figure, plt) -> str:
    stream = io.StringIO()
    try:
        figure.savefig(stream, format="svg")
    finally:
        plt.close(figure)
    text = stream.getvalue()
    return text[text.index("<svg"):]  # inline: without the XML declaration and doctype


def charts(report) -> tuple[str, str] | None:
    """(histogram of scores, bar chart of mistakes) as SVG text, or None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    scores = [100 * s.score for s in report.graded]
    figure, axes = plt.subplots(figsize=(6, 3))
    axes.hist(scores, bins=[10 * k for k in range(11)], color="#4477aa", edgecolor="white")
    axes.set_xlabel("score (% of the questions correct)")
    axes.set_ylabel("students")
    axes.set_title("Scores")
    figure.tight_layout()
    histogram = _svg(figure, plt)
    mistakes = list(report.mistakes)[:12]
    figure, axes = plt.subplots(figsize=(6, 0.8 + 0.4 * max(len(mistakes), 1)))
    names = [m.mistake or "(none)" for m in mistakes][::-1]
    axes.barh(names, [len(m.students) for m in mistakes][::-1], color="#cc6677")
    axes.set_xlabel("students")
    axes.set_title("Mistakes")
    figure.tight_layout()
    return histogram, _svg(figure, plt)


def _table(header: list, rows: list) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_class_html(report) -> str:
    """A standalone page: the charts, then the students, questions and mistakes tables."""
    drawn = charts(report)
    if drawn is None:
        figures = "<p>The charts need matplotlib (pip install 'handprop[plot]'); the tables are below.</p>"
    else:
        figures = f'<figure class="scores">{drawn[0]}</figure><figure class="mistakes">{drawn[1]}</figure>'
    students = [[s.id, s.variant or "", _percent(s.score), s.correct,
                 s.report.count("carried_forward"), s.report.count("wrong"), _wrong_text(s)]
                if s.graded else [s.id, s.variant or "", "not graded", "", "", "", s.reason] for s in report.students]
    questions = [[q.label, *(_percent(q.share(c)) for c in COLUMNS)] for q in report.questions]
    mistakes = [[m.mistake or "(none)", m.description, m.answers, len(m.students), ", ".join(m.students)]
                for m in report.mistakes]
    title = html.escape(f"Class report: {report.title}")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>'
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
            "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}figure{margin:0 0 2em}</style></head>"
            f"<body><h1>{title}</h1><p>{len(report.graded)} graded, {len(report.not_graded)} not graded.</p>"
            f"{figures}<h2>Students</h2>"
            + _table(["id", "variant", "score", "correct", "carried forward", "wrong", "wrong answers / reason"],
                     students)
            + "<h2>Questions</h2>" + _table(["question", "correct", "carried forward", "wrong", "not answered"],
                                            questions)
            + "<h2>Most common mistakes</h2>" + _table(["mistake", "what", "answers", "students", "who"], mistakes)
            + "</body></html>\n")


RENDERERS = {"table": render_class_text, "csv": render_class_csv, "json": render_class_json,
             "html": render_class_html}
