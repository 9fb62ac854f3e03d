"""`handprop train`: many steps, full-batch or in mini-batches over epochs, with a log and a loss curve."""

from __future__ import annotations

import os
import sys

from ..core.errors import HandpropError
from . import options

FORMATS = {".txt": "table", ".json": "json", ".csv": "csv"}


def add_parser(commands) -> None:
    """The command's parser: its help, example and options."""
    parser = commands.add_parser(
        "train", help="take many steps, on inline data or a data file, and plot the loss",
        description="Train the network: full-batch steps, or mini-batches over epochs; the loss (and accuracy "
                    "for classification) every K steps, the final parameters, and a loss curve.",
        epilog="example: handprop train moons --epochs 100 --plot loss.png --boundary boundary.png")
    parser.add_argument("file", metavar="FILE", help="problem file or an example's name")
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--steps", type=int, metavar="N", help="take N steps (default: the problem's)")
    amount.add_argument("--epochs", type=int, metavar="E", help="take E passes over the data in mini-batches")
    parser.add_argument("--every", type=int, metavar="K", help="log the loss every K steps (default: 10 logs)")
    parser.add_argument("--plot", metavar="PLOT", help="draw the loss curve to PLOT.png or PLOT.svg (needs matplotlib)")
    parser.add_argument("--boundary", metavar="PATH", help="draw the decision boundary of a 2-input classification "
                        "to PATH.png or PATH.svg (needs matplotlib)")
    parser.add_argument("--format", choices=tuple(FORMATS.values()), help="output format (default: table)")
    options.add_output_options(parser)
    options.add_engine_options(parser)


class Progress:
    """A one-line progress bar on standard error, on a terminal only: the steps done, the loss, the time since
    the start, the rate (steps a second) and the time left at that rate (ETA).

    >>> import io
    >>> bar = Progress(stream=io.StringIO(), clock=iter([0.0, 2.0]).__next__)
    >>> bar(50, 100, 0.25)
    >>> print(bar.stream.getvalue().strip())
    [############.............]  50%  step 50/100  loss 0.25  0:02 elapsed, 25 steps/s, ETA 0:02
    """

    def __init__(self, stream=None, clock=None):
        import time

        self.stream = sys.stderr if stream is None else stream
        self.clock = time.monotonic if clock is None else clock
        self.started = self.clock()
        self.shown = -1
        self.width = 0

    def __call__(self, step: int, total: int, loss: float) -> None:
        percent = 100 * step // total
        if percent == self.shown and step != total:
            return
        self.shown = percent
        elapsed = self.clock() - self.started
        rate = step / elapsed if elapsed > 0 else 0.0
        eta = _clock_time((total - step) / rate) if rate > 0 else "?"
        bar = "#" * (percent // 4) + "." * (25 - percent // 4)
        line = (f"[{bar}] {percent:3d}%  step {step}/{total}  loss {loss:.6g}  "
                f"{_clock_time(elapsed)} elapsed, {_rate(rate)} steps/s, ETA {eta}")
        self.stream.write("\r" + line + " " * max(0, self.width - len(line)))  # spaces over a longer line's end
        self.width = len(line)
        if step == total:
            self.stream.write("\n")
        self.stream.flush()


def _clock_time(seconds: float) -> str:
    """Seconds as m:ss, or h:mm:ss from an hour."""
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _rate(rate: float) -> str:
    return f"{rate:.3g}" if rate < 100 else f"{rate:,.0f}"


def run(args) -> int:
    from ..problem.spec import load
    from ..render.training_report import plot_losses
    from ..training import TrainingDiverged, train

    decimals = options.decimals(args.decimals)
    for value, option in ((args.steps, "--steps"), (args.epochs, "--epochs"), (args.every, "--every")):
        options.positive(value, option)
    format = options.output_format(args.format, args.output, FORMATS)
    for path in (args.plot, args.boundary):
        if path:
            if os.path.splitext(path)[1].lower() not in (".png", ".svg"):
                raise HandpropError(path, None, "cannot tell the plot's format", "a file ending in .png or .svg")
            check_plotting(path)
    # Training can take long: a file that cannot be written is found out before it starts, not after.
    for path in (args.plot, args.boundary, args.output):
        if path:
            options.check_output(path)
    problem = load(args.file)
    if args.boundary:
        from ..boundary import check_boundary

        check_boundary(problem)
    progress = Progress() if sys.stderr.isatty() else None
    try:
        result = train(problem, steps=args.steps, epochs=args.epochs, engine=args.engine, dtype=args.dtype,
                       every=args.every, progress=progress)
    except TrainingDiverged as exc:
        # The run so far, its last good parameters among it, where --format and -o say; then the one line.
        if progress is not None:
            sys.stderr.write("\n")
        options.write_output(_rendered(exc.result, problem, format, decimals), args.output, format)
        raise
    if args.plot:
        plot_losses(result, args.plot)
    if args.boundary:
        from ..boundary import decision_grid
        from ..render.boundary_plot import plot_boundary

        plot_boundary(decision_grid(problem, result.final, dtype=args.dtype), args.boundary,
                      title=f"{problem.title}: after {result.steps} steps")
    options.write_output(_rendered(result, problem, format, decimals), args.output, format)
    return 0


def _rendered(result, problem, format: str, decimals: int | None) -> str:
    from ..render.training_report import render_training_csv, render_training_json, render_training_text

    if format == "json":
        return render_training_json(result, problem)
    if format == "csv":
        return render_training_csv(result, problem, decimals=decimals)
    return render_training_text(result, problem, decimals=decimals)


def check_plotting(path: str) -> None:
    """Refuse --plot before training when matplotlib is missing, without the cost of importing it."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise HandpropError(path, None, "plotting needs matplotlib", "pip install 'handprop[plot]'")
