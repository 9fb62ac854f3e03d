"""The command line: a thin shell over the library.

    handprop [solve] [FILE] [--format table|markdown|csv|json] [--decimals N] [--nodes] [-o OUT]
    handprop examples [NAME]

Bad input is one line on standard error, `handprop: error: ...`, and exit
status 2; a check that fails is exit 1 (later commands); success is 0.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..core.errors import HandpropError
from ..render import DIAGRAM_BIASES, DIAGRAM_SHOWS, EXPLAIN_FORMATS, FORMATS

DEFAULT_PROBLEM = "homework"
EXTENSION_FORMATS = {".md": "markdown", ".markdown": "markdown", ".csv": "csv", ".json": "json", ".txt": "table"}
EXPLAIN_EXTENSIONS = {".md": "markdown", ".markdown": "markdown", ".tex": "latex", ".pdf": "pdf", ".html": "html",
                      ".htm": "html"}


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout at a set width: asking the terminal for its width costs an import of shutil,
    and argparse builds a formatter for every option it is given, not only for --help."""

    def __init__(self, prog: str, **options):
        options.setdefault("width", _help_width())
        super().__init__(prog, **options)


class _RawFormatter(argparse.RawDescriptionHelpFormatter, _Formatter):
    pass


def _help_width() -> int:
    columns = os.environ.get("COLUMNS", "")
    return max(40, min(int(columns), 120)) - 2 if columns.isdigit() else 98


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line and exit status 2."""

    def __init__(self, *args, **options):
        if options.get("formatter_class") in (None, argparse.HelpFormatter):
            options["formatter_class"] = _Formatter
        elif options["formatter_class"] is argparse.RawDescriptionHelpFormatter:
            options["formatter_class"] = _RawFormatter
        super().__init__(*args, **options)

    def error(self, message: str):
        raise HandpropError(None, None, message, f"see `{self.prog} --help`")


def _add_file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default=DEFAULT_PROBLEM, metavar="FILE",
                        help="problem file (.toml, .json, .yaml), an example's name, or - for standard input "
                             "(default: homework)")


ENGINES = ("auto", "scalar", "numpy")  # as engines.ENGINES, without importing the engines at start-up
DTYPES = ("float64", "float32")


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=ENGINES, default="auto",
                        help="who takes the steps: scalar (plain Python), numpy (layered networks), or auto "
                             "(default: a small network stays scalar, else the faster one, measured)")
    parser.add_argument("--dtype", choices=DTYPES, default="float64",
                        help="number type of the numpy engine (default: float64)")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """The output vocabulary every command shares."""
    parser.add_argument("--decimals", type=int, metavar="N",
                        help="decimals shown (default: the problem's, else 4); numbers are carried at full precision")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="write to OUT instead of standard output; its extension picks the format")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="handprop", description="Work a small neural network out by hand: forward pass, loss, "
                     "gradients by the chain rule, and the updated parameters.",
                     epilog="With no command, `solve` is meant: `handprop` prints the homework's Result table.")
    parser.add_argument("--version", action="version", version=f"handprop {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    solve = commands.add_parser(
        "solve", help="print the Result table (the default command)",
        description="Solve a problem: outputs, loss, every gradient and every updated parameter.",
        epilog="example: handprop solve homework --decimals 4 --nodes",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_file_argument(solve)
    solve.add_argument("--format", choices=FORMATS, help="output format (default: table, or from -o's extension)")
    solve.add_argument("--nodes", action="store_true", help="add every intermediate node's value and gradient")
    rounding = solve.add_mutually_exclusive_group()
    rounding.add_argument("--round-intermediate", type=int, metavar="K",
                          help="work it out as by hand: round every intermediate value to K decimals before use")
    rounding.add_argument("--compare-rounding", type=int, metavar="K",
                          help="list the answers that rounding every intermediate value to K decimals changes")
    _add_output_options(solve)
    _add_engine_options(solve)

    explain = commands.add_parser(
        "explain", help="write the worked solution: every step, by the chain rule",
        description="Write the worked solution: the forward pass, the loss, the chain rule for every node and "
                    "parameter, and the update, each in symbols, with the numbers, and as a value.",
        epilog="example: handprop explain homework --expand -o homework.html")
    _add_file_argument(explain)
    explain.add_argument("--format", choices=EXPLAIN_FORMATS,
                         help="markdown (default), latex, pdf (needs pdflatex) or html; or from -o's extension")
    explain.add_argument("--expand", action="store_true",
                         help="also write each parameter's gradient out in full, as the homework does")
    explain.add_argument("--sample", type=int, default=1, metavar="K",
                         help="for a batch, the sample whose derivation is shown (default: 1)")
    explain.add_argument("--round-intermediate", type=int, metavar="K",
                         help="work it out as by hand: round every intermediate value to K decimals before use")
    _add_output_options(explain)
    _add_engine_options(explain)

    diagram = commands.add_parser(
        "diagram", help="draw the network as SVG, with values or gradients on it",
        description="Draw the network as an SVG: a layered network's units and weights (each edge labelled "
                    "with its parameter), or an equation problem's computation graph, each node with its value "
                    "and gradient.",
        epilog="example: handprop diagram homework --show gradients -o homework.svg")
    _add_file_argument(diagram)
    diagram.add_argument("--show", choices=DIAGRAM_SHOWS, default="names",
                         help="what edge labels carry besides the name: names (default), values, gradients "
                              "(also on the units), updates")
    diagram.add_argument("--bias", choices=DIAGRAM_BIASES, default="units",
                         help="draw biases under their units (default) or as bias nodes with edges")
    _add_output_options(diagram)

    train = commands.add_parser(
        "train", help="take many steps, on inline data or a data file, and plot the loss",
        description="Train the network: full-batch steps, or mini-batches over epochs; the loss (and accuracy "
                    "for classification) every K steps, the final parameters, and a loss curve.",
        epilog="example: handprop train moons --epochs 100 --plot loss.png")
    train.add_argument("file", metavar="FILE", help="problem file or an example's name")
    amount = train.add_mutually_exclusive_group()
    amount.add_argument("--steps", type=int, metavar="N", help="take N steps (default: the problem's)")
    amount.add_argument("--epochs", type=int, metavar="E", help="take E passes over the data in mini-batches")
    train.add_argument("--every", type=int, metavar="K", help="log the loss every K steps (default: 10 logs)")
    train.add_argument("--plot", metavar="PLOT", help="draw the loss curve to PLOT.png or PLOT.svg (needs matplotlib)")
    train.add_argument("--format", choices=("table", "json", "csv"), help="output format (default: table)")
    _add_output_options(train)
    _add_engine_options(train)

    verify = commands.add_parser(
        "verify", help="check every gradient against finite differences and PyTorch",
        description="Check the numbers against independent oracles: every gradient against central finite "
                    "differences of the loss and, when PyTorch is installed, against torch autograd in float64, "
                    "and the parameters after the steps against torch.optim's. Exit status 1 if a check fails.",
        epilog="example: handprop verify homework")
    _add_file_argument(verify)
    verify.add_argument("--tolerance", type=float, metavar="T",
                        help="relative tolerance against finite differences (default: 1e-6)")
    verify.add_argument("--torch-tolerance", type=float, metavar="T",
                        help="relative tolerance against PyTorch, gradients and updates (default: 1e-10)")
    verify.add_argument("--steps", type=int, metavar="N", help="steps whose result is compared (default: the problem's)")
    verify.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    verify.add_argument("--all", action="store_true", help="show every parameter (default: the worst 20)")

    from .exercise import add_exercise_parser
    from .export import add_export_parser
    from .grade import add_grade_parser
    from .serve import add_serve_parser

    add_exercise_parser(commands)
    add_grade_parser(commands)
    add_export_parser(commands)
    add_serve_parser(commands)

    examples = commands.add_parser(
        "examples", help="list the packaged examples, or print one",
        description="List the packaged example problems, or print one's file to start your own from.",
        epilog="example: handprop examples homework > my-problem.toml; handprop examples moons --to my-moons")
    examples.add_argument("name", nargs="?", metavar="NAME", help="print this example's problem file")
    examples.add_argument("--to", metavar="DIR", help="copy the example's problem file, and its data file if it "
                                                      "has one, into DIR instead of printing it")
    return parser


COMMANDS = ("solve", "explain", "diagram", "train", "verify", "exercise", "grade", "export", "serve", "examples")


def _version() -> str:
    from .. import __version__

    return __version__


def _write(text: str | bytes, output: str | None) -> None:
    """Write the text; to a file only once it is complete, so a failure never leaves half a file."""
    if output is None:
        if isinstance(text, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(text)
        else:
            sys.stdout.write(text)
        return
    import tempfile

    directory = os.path.dirname(os.path.abspath(output))
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".handprop-", suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            stream.write(text if isinstance(text, bytes) else text.encode("utf-8"))
        os.replace(temporary, output)
    except OSError as exc:
        raise HandpropError(output, None, f"cannot write: {exc.strerror or exc}", "a writable path") from None


def _decimals(value: int | None, option: str = "--decimals") -> int | None:
    from ..problem.spec import MAX_DECIMALS

    if value is not None and not 0 <= value <= MAX_DECIMALS:
        raise HandpropError(None, option, f"{value} is out of range", f"0 to {MAX_DECIMALS}")
    return value


def _output_format(given: str | None, output: str | None, extensions: dict = EXTENSION_FORMATS,
                   default: str = "table") -> str:
    if given:
        return given
    if output:
        extension = os.path.splitext(output)[1].lower()
        if extension not in extensions:
            raise HandpropError(output, None, f"cannot tell the format from '{extension or '(no extension)'}'",
                                "--format, or one of: " + ", ".join(extensions))
        return extensions[extension]
    return default


def _solve(args) -> int:
    from ..problem.spec import load
    from ..render import render
    from ..solver import solve

    decimals = _decimals(args.decimals)
    format = _output_format(args.format, args.output)
    problem = load(args.file)
    if args.compare_rounding is not None:
        from ..render.rounding_comparison import render_comparison

        places = _decimals(args.compare_rounding, "--compare-rounding")
        full = solve(problem, engine=args.engine, dtype=args.dtype)
        _write(render_comparison(full, solve(problem, round_intermediate=places), places), args.output)
        return 0
    places = _decimals(args.round_intermediate, "--round-intermediate")
    solution = solve(problem, engine=args.engine, dtype=args.dtype, round_intermediate=places)
    _write(render(solution, format=format, decimals=decimals if decimals is not None else places, nodes=args.nodes),
           args.output)
    return 0


def _explain(args) -> int:
    from ..problem.spec import load
    from ..render import explain
    from ..solver import solve

    decimals = _decimals(args.decimals)
    places = _decimals(args.round_intermediate, "--round-intermediate")
    format = _output_format(args.format, args.output, EXPLAIN_EXTENSIONS, "markdown")
    solution = solve(load(args.file), engine=args.engine, dtype=args.dtype, round_intermediate=places)
    document = explain(solution, format=format, decimals=decimals if decimals is not None else places,
                       expand=args.expand, sample=args.sample)
    _write(document, args.output)
    return 0


def _diagram(args) -> int:
    from ..problem.spec import load
    from ..render import diagram
    from ..solver import solve

    decimals = _decimals(args.decimals)
    if args.output and os.path.splitext(args.output)[1].lower() != ".svg":
        raise HandpropError(args.output, None, "a diagram is written as SVG", "an output file ending in .svg")
    _write(diagram(solve(load(args.file)), show=args.show, bias=args.bias, decimals=decimals), args.output)
    return 0


def _positive(value: int | None, option: str) -> None:
    if value is not None and value < 1:
        raise HandpropError(None, option, f"{value} is not a positive whole number", "1 or more")


class _Progress:
    """A one-line progress bar on standard error, on a terminal only."""

    def __init__(self):
        self.shown = -1

    def __call__(self, step: int, total: int, loss: float) -> None:
        percent = 100 * step // total
        if percent == self.shown and step != total:
            return
        self.shown = percent
        bar = "#" * (percent // 4) + "." * (25 - percent // 4)
        sys.stderr.write(f"\r[{bar}] {percent:3d}%  step {step}/{total}  loss {loss:.6g}")
        if step == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _train(args) -> int:
    from ..problem.spec import load
    from ..render.training_report import plot_losses, render_training_csv, render_training_json, render_training_text
    from ..training import TrainingDiverged, train

    decimals = _decimals(args.decimals)
    for value, option in ((args.steps, "--steps"), (args.epochs, "--epochs"), (args.every, "--every")):
        _positive(value, option)
    format = _output_format(args.format, args.output, {".txt": "table", ".json": "json", ".csv": "csv"})
    if args.plot and os.path.splitext(args.plot)[1].lower() not in (".png", ".svg"):
        raise HandpropError(args.plot, None, "cannot tell the plot's format", "a file ending in .png or .svg")
    problem = load(args.file)
    progress = _Progress() if sys.stderr.isatty() else None
    try:
        result = train(problem, steps=args.steps, epochs=args.epochs, engine=args.engine, dtype=args.dtype,
                       every=args.every, progress=progress)
    except TrainingDiverged as exc:
        if progress is not None:
            sys.stderr.write("\n")
        sys.stdout.write(render_training_text(exc.result, problem, decimals=decimals))
        raise
    if args.plot:
        plot_losses(result, args.plot)
    if format == "json":
        text = render_training_json(result, problem)
    elif format == "csv":
        text = render_training_csv(result, problem, decimals=decimals)
    else:
        text = render_training_text(result, problem, decimals=decimals)
    _write(text, args.output)
    return 0


def _verify(args) -> int:
    from ..problem.spec import load
    from ..render.verify_report import render_verify_json, render_verify_text
    from ..verify import TOLERANCE, TORCH_TOLERANCE, verify

    _positive(args.steps, "--steps")
    for value, option in ((args.tolerance, "--tolerance"), (args.torch_tolerance, "--torch-tolerance")):
        if value is not None and not 0 <= value < float("inf"):
            raise HandpropError(None, option, f"{value!r} is not a tolerance", "a number of 0 or more, such as 1e-6")
    report = verify(load(args.file), steps=args.steps,
                    tolerance=TOLERANCE if args.tolerance is None else args.tolerance,
                    torch_tolerance=TORCH_TOLERANCE if args.torch_tolerance is None else args.torch_tolerance)
    sys.stdout.write(render_verify_json(report) if args.format == "json"
                     else render_verify_text(report, all_rows=args.all))
    return 0 if report.passed else 1


def _copy_example(path, directory: str) -> int:
    """Copy an example and the data file it names (its [data] file) into a folder, made if need be."""
    import shutil

    from ..problem.files import parse_text

    data = parse_text(path.read_text(encoding="utf-8"), path.suffix.lstrip(".").replace("yml", "yaml"), path.name)
    files = [path]
    if isinstance(data.get("data"), dict) and isinstance(data["data"].get("file"), str):
        files.append(path.parent / data["data"]["file"])
    try:
        os.makedirs(directory, exist_ok=True)
        for source in files:
            target = os.path.join(directory, source.name)
            if os.path.exists(target):
                raise HandpropError(target, None, "already exists", "a folder without the example's files")
            shutil.copyfile(source, target)
            print(target)
    except OSError as exc:
        raise HandpropError(directory, None, f"cannot write: {exc.strerror or exc}", "a writable folder") from None
    return 0


def _examples(args) -> int:
    from ..problem.files import example_names, example_path, parse_text
    from ..core.errors import one_of

    if args.to and not args.name:
        raise HandpropError(None, "--to", "no example named", "handprop examples NAME --to DIR")
    if args.name:
        try:
            path = example_path(args.name)
        except KeyError:
            raise HandpropError(args.name, None, "no such example", one_of(example_names(), args.name)) from None
        if args.to:
            return _copy_example(path, args.to)
        sys.stdout.write(path.read_text(encoding="utf-8"))
        return 0
    names = example_names()
    width = max(len(n) for n in names)
    for name in names:
        path = example_path(name)
        title = parse_text(path.read_text(encoding="utf-8"), path.suffix.lstrip(".").replace("yml", "yaml"),
                           name).get("title", "")
        print(f"{name.ljust(width)}  {title}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    >>> main(["examples"]) == 0  # doctest: +ELLIPSIS
    homework ...
    True
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "solve")
    try:
        args = _build_parser().parse_args(argv)
        from .exercise import run_exercise
        from .export import run_export
        from .grade import run_grade
        from .serve import run_serve

        handlers = {"solve": _solve, "explain": _explain, "diagram": _diagram, "train": _train, "verify": _verify,
                    "exercise": run_exercise, "grade": run_grade, "export": run_export, "serve": run_serve,
                    "examples": _examples}
        return handlers[args.command](args)
    except HandpropError as exc:
        sys.stdout.flush()
        print(f"handprop: error: {exc.line()}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (e.g. `handprop | head`); that is not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
