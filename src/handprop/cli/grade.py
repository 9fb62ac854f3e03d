"""`handprop grade`: grade a student's answers and name the mistake behind each wrong one (teach.grading)."""

from __future__ import annotations

from ..core.errors import HandpropError
from . import options


def add_parser(commands) -> None:
    """The command's parser: its help, example and options."""
    parser = commands.add_parser(
        "grade", help="grade a student's answers, and find the mistake behind each wrong one",
        description="Grade answers to a problem: each correct (to half a unit of its last written digit, or as "
                    "worked by hand at that precision), carried forward (wrong only because an answer it depends "
                    "on was wrong), or wrong, with the common mistake that reproduces it. ANSWERS is a CSV of "
                    "name,value rows, or the problem sheet's Result table filled in. Exit status 1 if any answer "
                    "is not correct.",
        epilog="example: handprop grade variant-01.toml variant-01-answers.md; for a class: "
               "handprop grade variants/ submissions/ --format html -o class.html")
    parser.add_argument("problem", metavar="PROBLEM", help="the problem file, or an example's name; for a class, "
                        "also a folder of variants (handprop exercise --roster's, or variant-NN.toml files)")
    parser.add_argument("answers", metavar="ANSWERS", help="the answers: name,value CSV or the filled-in sheet; for a "
                        "class, a folder of answer files named by id, or a CSV with a row per student (column id)")
    parser.add_argument("--format", choices=("table", "csv", "json", "html"), default="table",
                        help="output format (default: table); csv and html for a class")
    parser.add_argument("-o", "--output", metavar="OUT", help="write the report to OUT instead of standard output")
    parser.add_argument("--tolerance", type=float, metavar="T",
                        help="accept answers within T of the right value (default: half a unit of each answer's "
                             "last written digit)")


def run(args) -> int:
    from ..teach.grading import grade_files
    from ..render.grade_report import render_grade_json, render_grade_text

    if args.tolerance is not None and not 0 <= args.tolerance < float("inf"):
        raise HandpropError(None, "--tolerance", f"{args.tolerance!r} is not a tolerance", "a number of 0 or more")
    if _is_class(args.problem, args.answers):
        return _run_class(args)
    if args.format not in ("table", "json"):
        raise HandpropError(None, "--format", f"{args.format} is for a class report",
                            "table or json for one student's answers")
    report = grade_files(args.problem, args.answers, tolerance=args.tolerance)
    text = (render_grade_json(report) if args.format == "json"
            else render_grade_text(report, fit=options.console_text))
    options.write_output(text, args.output, args.format)
    return 0 if report.passed else 1


def _is_class(problem: str, answers: str) -> bool:
    """A class report when ANSWERS is a folder or a CSV with an id column, or PROBLEM a folder."""
    import os

    from ..teach.class_report import is_class_csv

    return os.path.isdir(answers) or os.path.isdir(problem) or is_class_csv(answers)


def _run_class(args) -> int:
    """Exit status 0 when every submission was graded, 1 when any could not be."""
    from ..render.class_report import RENDERERS
    from ..teach.class_report import grade_class

    report = grade_class(args.problem, args.answers, tolerance=args.tolerance)
    text = RENDERERS[args.format](report)
    if args.format == "table":
        text = options.console_text(text)
    options.write_output(text, args.output, args.format)
    return 1 if report.not_graded else 0
