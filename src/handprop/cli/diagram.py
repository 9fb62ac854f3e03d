"""`handprop diagram`: the network (or the computation graph) as SVG, with names, values or gradients."""

from __future__ import annotations

import os

from ..core.errors import HandpropError
from ..render import DIAGRAM_BIASES, DIAGRAM_SHOWS
from . import options


def add_parser(commands) -> None:
    """The command's parser: its help, example and options."""
    parser = commands.add_parser(
        "diagram", help="draw the network as SVG, with values or gradients on it",
        description="Draw the network as an SVG: a layered network's units and weights (each edge labelled "
                    "with its parameter), or an equation problem's computation graph, each node with its value "
                    "and gradient.",
        epilog="example: handprop diagram homework --show gradients -o homework.svg")
    options.add_file_argument(parser)
    parser.add_argument("--show", choices=DIAGRAM_SHOWS, default="names",
                        help="what edge labels carry besides the name: names (default), values, gradients "
                             "(also on the units), updates")
    parser.add_argument("--bias", choices=DIAGRAM_BIASES, default="units",
                        help="draw biases under their units (default) or as bias nodes with edges")
    options.add_output_options(parser)


def run(args) -> int:
    from ..problem.spec import load
    from ..render import diagram
    from ..solver import solve

    decimals = options.decimals(args.decimals)
    if args.output and args.output != options.STDOUT and os.path.splitext(args.output)[1].lower() != ".svg":
        raise HandpropError(args.output, None, "a diagram is written as SVG", "an output file ending in .svg")
    options.write_output(diagram(solve(load(args.file)), show=args.show, bias=args.bias, decimals=decimals),
                         args.output)
    return 0
