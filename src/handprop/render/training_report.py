"""A training run as a table, JSON or CSV: the loss (and accuracy) log, then every parameter's final value."""

from __future__ import annotations

from .numbers import DEFAULT_DECIMALS, exact, fixed, significant


def _caption(result, problem) -> str:
    optimizer = problem.optimizer
    epochs = f", {result.epochs} epochs" if result.epochs else ""
    batch = problem.training.batch_size
    batches = f", batches of {batch}" if batch else ", full batch"
    return (f"{problem.title}: {optimizer.name}, lr {optimizer.lr:g}, {result.steps} steps{epochs}{batches}; "
            f"{result.engine} engine")


def render_training_text(result, problem, *, decimals: int | None = None) -> str:
    places = decimals if decimals is not None else (problem.decimals if problem.decimals is not None
                                                    else DEFAULT_DECIMALS)
    has_accuracy = any(entry.accuracy is not None for entry in result.log)
    header = ["step", "loss"] + (["accuracy"] if has_accuracy else [])
    rows = [[str(e.step), significant(e.loss)] + ([f"{100 * e.accuracy:.1f}%"] if has_accuracy else [])
            for e in result.log]
    lines = [_caption(result, problem)]
    if result.stopped:
        lines += [f"stopped early: the final parameters are the last good ones, after step {result.steps}",
                  f"  {result.stopped}"]
    lines += [""] + _aligned([header] + rows)
    parameters = [["parameter", "initial", "final"]]
    parameters += [[name, fixed(result.initial[name], places), fixed(value, places)]
                   for name, value in result.final.items()]
    lines += [""] + _aligned(parameters)
    return "\n".join(lines) + "\n"


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for k, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:])]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def training_dict(result, problem) -> dict:
    return {
        "title": problem.title,
        "engine": result.engine,
        "optimizer": {"name": problem.optimizer.name, "lr": problem.optimizer.lr, **problem.optimizer.options},
        "steps": result.steps,
        "epochs": result.epochs,
        "batch_size": problem.training.batch_size,
        "losses": list(result.losses),
        "log": [{"step": e.step, "loss": e.loss, "accuracy": e.accuracy} for e in result.log],
        "parameters": {name: {"initial": result.initial[name], "final": value} for name, value in result.final.items()},
        "stopped": result.stopped,  # null, or why the run stopped early: "parameters" are then the last good ones
    }


def render_training_json(result, problem) -> str:
    import json

    return json.dumps(training_dict(result, problem), indent=2) + "\n"


def render_training_csv(result, problem, *, decimals: int | None = None) -> str:
    """Long format: kind,step,name,value (kind: loss, accuracy, parameter, or stopped with the reason)."""
    import csv
    import io

    def number(value: float) -> str:
        return exact(value) if decimals is None else fixed(value, decimals)

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["kind", "step", "name", "value"])
    for entry in result.log:
        writer.writerow(["loss", entry.step, "", number(entry.loss)])
        if entry.accuracy is not None:
            writer.writerow(["accuracy", entry.step, "", number(entry.accuracy)])
    for name, value in result.final.items():
        writer.writerow(["parameter", result.steps, name, number(value)])
    if result.stopped:  # why the run stopped early: the parameters above are the last good ones
        writer.writerow(["stopped", result.steps, "", result.stopped])
    return buffer.getvalue()


def plot_losses(result, path: str) -> None:
    """The loss curve to a PNG or SVG (by path's extension): each step's batch loss, and the logged loss over all
    the data. The file is written whole or not at all."""
    from .plots import pyplot, save_figure

    plt = pyplot(path)
    figure, axes = plt.subplots(figsize=(7, 4.2), dpi=120)
    steps = range(1, len(result.losses) + 1)
    axes.plot(steps, result.losses, color="#93c5fd", linewidth=1, label="batch loss, before each step's update")
    if result.log:
        axes.plot([e.step for e in result.log], [e.loss for e in result.log], color="#1d4ed8", marker="o",
                  markersize=3, linewidth=1.5, label="loss over all the data, after the step")
    values = [v for v in result.losses if v > 0] + [e.loss for e in result.log if e.loss > 0]
    if values and max(values) / min(values) > 100:
        axes.set_yscale("log")  # the loss spans decades
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.grid(True, alpha=0.3)
    axes.legend(frameon=False)
    figure.tight_layout()
    save_figure(plt, figure, path)
