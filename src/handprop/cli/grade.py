"""`handprop grade`: grade a student's answers and name the mistake behind each wrong one (teach.grading)."""

from __future__ import annotations

from ..core.errors import HandpropError
from . import options


def add_parser(commands, *, arguments: bool = True) -> None:
    """The command's parser, its help and example; with arguments, its options too."""
    parser = commands.add_parser(
        "grade", help="grade a student's answers, and find the mistake behind each wrong one",
        description="Grade answers to a problem: each correct (to half a unit of its last written digit, or as "
                    "worked by hand at that precision), carried forward (wrong only because an answer it depends "
                    "on was wrong), or wrong, with the common mistake that reproduces it. ANSWERS is a CSV of "
                    "name,value rows, or the problem sheet's Result table filled in. Exit status 1 if any answer "
                    "is not correct.",
        epilog="example: handprop grade variant-01.toml variant-01-answers.md")
    if not arguments:
        return
    parser.add_argument("problem", metavar="PROBLEM", help="the problem file, or an example's name")
    parser.add_argument("answers", metavar="ANSWERS", help="the answers: name,value CSV or the filled-in sheet")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.add_argument("--tolerance", type=float, metavar="T",
                        help="accept answers within T of the right value (default: half a unit of each answer's "
                             "last written digit)")


def run(args) -> int:
    from ..teach.grading import grade_files
    from ..render.grade_report import render_grade_json, render_grade_text

    if args.tolerance is not None and not 0 <= args.tolerance < float("inf"):
        raise HandpropError(None, "--tolerance", f"{args.tolerance!r} is not a tolerance", "a number of 0 or more")
    report = grade_files(args.problem, args.answers, tolerance=args.tolerance)
    text = (render_grade_json(report) if args.format == "json"
            else render_grade_text(report, fit=options.console_text))
    options.write_output(text, None, args.format)
    return 0 if report.passed else 1
