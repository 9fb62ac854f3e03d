"""`handprop explain`: the worked solution, every step of it, as Markdown, LaTeX, PDF or HTML."""

from __future__ import annotations

from ..render import EXPLAIN_FORMATS, NOTATIONS
from . import options

EXTENSIONS = {".md": "markdown", ".markdown": "markdown", ".tex": "latex", ".pdf": "pdf", ".html": "html",
              ".htm": "html"}


def add_parser(commands) -> None:
    """The command's parser: its help, example and options."""
    parser = commands.add_parser(
        "explain", help="write the worked solution: every step, by the chain rule",
        description="Write the worked solution: the forward pass, the loss, the chain rule for every node and "
                    "parameter, and the update, each in symbols, with the numbers, and as a value.",
        epilog="example: handprop explain homework --expand -o homework.html")
    options.add_file_argument(parser)
    parser.add_argument("--format", choices=EXPLAIN_FORMATS,
                        help="markdown (default), latex, pdf (needs pdflatex) or html; or from -o's extension")
    parser.add_argument("--expand", action="store_true",
                        help="also write each parameter's gradient out in full, as the homework does")
    parser.add_argument("--sample", type=int, default=1, metavar="K",
                        help="for a batch, the sample whose derivation is shown (default: 1)")
    parser.add_argument("--notation", choices=NOTATIONS, default="scalar",
                        help="scalar (default): unit by unit, as the homework; matrix: a layered network layer by "
                             "layer, h = W x + b, delta vectors, gradients as outer products")
    parser.add_argument("--inputs", action="store_true",
                        help="also derive the gradient of every input, target and constant by the chain rule")
    parser.add_argument("--step", type=int, metavar="K",
                        help="write only step K's update (default: every step's, up to 50)")
    parser.add_argument("--toc", action="store_true", default=None,
                        help="LaTeX and PDF: open with a table of contents (default: only a long document has one)")
    parser.add_argument("--round-intermediate", type=int, metavar="K",
                        help="work it out as by hand: round every intermediate value to K decimals before use")
    options.add_output_options(parser)
    options.add_engine_options(parser)


def run(args) -> int:
    from ..problem.spec import load
    from ..render import explain
    from ..solver import solve

    decimals = options.decimals(args.decimals)
    places = options.decimals(args.round_intermediate, "--round-intermediate")
    format = options.output_format(args.format, args.output, EXTENSIONS, "markdown")
    solution = solve(load(args.file), engine=args.engine, dtype=args.dtype, round_intermediate=places)
    document = explain(solution, format=format, decimals=decimals if decimals is not None else places,
                       expand=args.expand, sample=args.sample, notation=args.notation, step=args.step,
                       inputs=args.inputs, toc=args.toc)
    options.write_output(document, args.output)
    return 0
