"""`handprop verify`: every gradient against finite differences and PyTorch; exit status 1 on a failure."""

from __future__ import annotations

from ..core.errors import HandpropError
from . import options


def add_parser(commands) -> None:
    """The command's parser: its help, example and options."""
    parser = commands.add_parser(
        "verify", help="check every gradient against finite differences and PyTorch",
        description="Check the numbers against independent oracles: every gradient against central finite "
                    "differences of the loss and, when PyTorch is installed, against torch autograd in float64, "
                    "and the parameters after the steps against torch.optim's. Exit status 1 if a check fails.",
        epilog="example: handprop verify homework")
    options.add_file_argument(parser)
    parser.add_argument("--tolerance", type=float, metavar="T",
                        help="relative tolerance against finite differences (default: 1e-6)")
    parser.add_argument("--torch-tolerance", type=float, metavar="T",
                        help="relative tolerance against PyTorch, gradients and updates (default: 1e-10)")
    parser.add_argument("--steps", type=int, metavar="N", help="steps whose result is compared (default: the problem's)")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    parser.add_argument("--all", action="store_true", help="show every parameter (default: the worst 20)")


def run(args) -> int:
    from ..problem.spec import load
    from ..render.verify_report import render_verify_json, render_verify_text
    from ..verify import TOLERANCE, TORCH_TOLERANCE, verify

    options.positive(args.steps, "--steps")
    for value, option in ((args.tolerance, "--tolerance"), (args.torch_tolerance, "--torch-tolerance")):
        if value is not None and not 0 <= value < float("inf"):
            raise HandpropError(None, option, f"{value!r} is not a tolerance", "a number of 0 or more, such as 1e-6")
    report = verify(load(args.file), steps=args.steps,
                    tolerance=TOLERANCE if args.tolerance is None else args.tolerance,
                    torch_tolerance=TORCH_TOLERANCE if args.torch_tolerance is None else args.torch_tolerance)
    text = (render_verify_json(report) if args.format == "json"
            else render_verify_text(report, all_rows=args.all, fit=options.console_text))
    options.write_output(text, None, args.format)
    return 0 if report.passed else 1
