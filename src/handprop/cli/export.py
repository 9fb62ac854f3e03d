"""`handprop export`: a problem as code for another tool: a standalone PyTorch script (pytorch.script), or a
plain-Python script that works it out by hand (render.python_script)."""

from __future__ import annotations

from . import options

EXPORT_TARGETS = ("torch", "python")


def add_parser(commands) -> None:
    """The command's parser: its help, example and options."""
    parser = commands.add_parser(
        "export", help="write a PyTorch script, or a plain-Python one, that reproduces the solution",
        description="Write a standalone script that reproduces the solution. --to torch: a PyTorch script for a "
                    "layered problem: the nn.Sequential with the problem's weights (float64), the data, the loss, "
                    "the torch.optim optimizer and its steps; run, it prints JSON: the loss, every gradient and "
                    "every updated parameter, under handprop's names, to compare with `handprop solve --format "
                    "json`. --to python: a plain-Python script for any problem, as the homework's \"Code implement "
                    "by Python\": the values as named variables, the forward pass one equation a line, every "
                    "gradient by the chain rule (dL_w7 = dL_o1 * a1), the optimizer's update per parameter, loops "
                    "over the steps and a batch's samples; run with nothing but Python, it prints the Result table "
                    "of `handprop solve`, every number in full (--json: as JSON).",
        epilog="example: handprop export homework --to python -o homework.py && python homework.py "
               "(or --to torch)")
    parser.add_argument("file", metavar="FILE", help="problem file (layered for torch; either form for python), an "
                                                     "example's name, or - for standard input")
    parser.add_argument("--to", required=True, choices=EXPORT_TARGETS,
                        help="what to write: torch (a PyTorch script) or python (plain Python, no package needed)")
    parser.add_argument("-o", "--output", metavar="OUT", help="write to OUT instead of standard output, replacing OUT if it exists (as > does); - is standard output")


def run(args) -> int:
    from ..problem.spec import load

    problem = load(args.file)
    if args.to == "python":
        from ..render.python_script import python_script

        text = python_script(problem)
    else:
        from ..pytorch.script import torch_script

        text = torch_script(problem)
    options.write_output(text, args.output)
    return 0
