"""`handprop solve`, the default command: the Result table, from outputs and loss to every update."""

from __future__ import annotations

from ..render import FORMATS
from . import options


def add_parser(commands) -> None:
    """The command's parser: its help, example and options."""
    import argparse  # here: `handprop` alone needs no parser (defaults)

    parser = commands.add_parser(
        "solve", help="print the Result table (the default command)",
        description="Solve a problem: outputs, loss, every gradient and every updated parameter.",
        epilog="example: handprop solve homework --decimals 4 --nodes",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_file_argument(parser)
    parser.add_argument("--format", choices=FORMATS, help="output format (default: table, or from -o's extension)")
    parser.add_argument("--nodes", action="store_true",
                        help="add every data value's and intermediate node's value and gradient")
    parser.add_argument("--step", metavar="K", type=options.step_number,
                        help="show step K of several (before it, its gradients, after it), or all: one table each")
    rounding = parser.add_mutually_exclusive_group()
    rounding.add_argument("--round-intermediate", type=int, metavar="K",
                          help="work it out as by hand: round every intermediate value to K decimals before use")
    rounding.add_argument("--compare-rounding", type=int, metavar="K",
                          help="list the answers that rounding every intermediate value to K decimals changes")
    options.add_output_options(parser)
    options.add_engine_options(parser)


def defaults():
    """The arguments of `handprop` with none given, as the parser makes them of `handprop solve` (a test holds
    the two equal), without loading argparse.

    >>> defaults().file, defaults().engine
    ('homework', 'auto')
    """
    from types import SimpleNamespace

    return SimpleNamespace(command="solve", file=options.DEFAULT_PROBLEM, format=None, nodes=False, step=None,
                           round_intermediate=None, compare_rounding=None, decimals=None, output=None,
                           engine="auto", dtype="float64")


def run(args) -> int:
    from ..problem.spec import load
    from ..render import render
    from ..solver import solve

    decimals = options.decimals(args.decimals)
    format = options.output_format(args.format, args.output)
    problem = load(args.file)
    if args.compare_rounding is not None:
        from ..render.rounding_comparison import render_comparison

        places = options.decimals(args.compare_rounding, "--compare-rounding")
        full = solve(problem, engine=args.engine, dtype=args.dtype)
        options.write_output(render_comparison(full, solve(problem, round_intermediate=places), places), args.output)
        return 0
    places = options.decimals(args.round_intermediate, "--round-intermediate")
    solution = solve(problem, engine=args.engine, dtype=args.dtype, round_intermediate=places)
    options.write_output(render(solution, format=format, decimals=decimals if decimals is not None else places,
                                nodes=args.nodes, step=args.step), args.output)
    return 0
