"""`handprop export`: a problem as code for another tool, a standalone PyTorch script (pytorch.script)."""

from __future__ import annotations

from . import options

EXPORT_TARGETS = ("torch",)


def add_parser(commands, *, arguments: bool = True) -> None:
    """The command's parser, its help and example; with arguments, its options too."""
    parser = commands.add_parser(
        "export", help="write a PyTorch script that reproduces the solution",
        description="Write a standalone PyTorch script for a layered problem: the nn.Sequential with the "
                    "problem's weights (float64), the data, the loss, the torch.optim optimizer and its steps. "
                    "Run, it prints JSON: the loss, every gradient and every updated parameter, under "
                    "handprop's names, to compare with `handprop solve --format json`.",
        epilog="example: handprop export homework --to torch")
    if not arguments:
        return
    parser.add_argument("file", metavar="FILE", help="problem file (layered), an example's name, or - for "
                                                     "standard input")
    parser.add_argument("--to", required=True, choices=EXPORT_TARGETS, help="what to write: torch")
    parser.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of standard output, replacing OUT if it exists (as > does)")


def run(args) -> int:
    from ..problem.spec import load
    from ..pytorch.script import torch_script

    options.write_output(torch_script(load(args.file)), args.output)
    return 0
