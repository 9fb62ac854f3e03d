"""The Result table, as the homework lays it out: text, Markdown and CSV.

Rows: each output (per sample in a batch), the loss, optionally every data value
and every node (value and gradient), then every parameter with its initial
value, gradient and updated value. The loss row's "updated" cell is the loss
after the update. With a step k: that step's values. Without an optimizer (a
gradient-only question) there is no "updated" column.
"""

from __future__ import annotations

from .numbers import DEFAULT_DECIMALS, exact, fixed

HEADER = ("name", "initial", "gradient", "updated")


def rows(solution, *, nodes: bool = False, step: int | None = None) -> list[tuple]:
    """(name, initial, gradient, updated) with floats or None, in the table's order; with step k, that step's
    values (before it, its gradient, after it); without an optimizer, no updated column."""
    table: list[tuple] = []
    batch = solution.batch_size
    view = solution.step(step) if step is not None else None
    labels = output_labels(solution)
    loss_label = "loss" if solution.trained or solution.problem.network is not None else solution.problem.program.loss
    for k, values in enumerate(view.outputs if view else solution.output_values):
        for index, value in enumerate(values):
            if labels[index] == loss_label:
                continue  # a function's value, which its own row below shows
            label = labels[index] if batch == 1 else f"{labels[index]} (sample {k + 1})"
            table.append((label, value, None, None))
    table.append((loss_label, view.loss if view else solution.loss, None,
                  view.loss_after if view else solution.loss_after))
    if nodes:
        for record in solution.nodes.values():
            for k in range(batch):
                label = record.name if batch == 1 else f"{record.name} (sample {k + 1})"
                table.append((label, record.values[k], record.gradients[k], None))
    for record in solution.parameters.values():
        if view:
            table.append((record.name, *view.parameters[record.name]))
        else:
            table.append((record.name, record.initial, record.gradient, record.updated))
    if not solution.trained:
        table = [row[:3] for row in table]
    return table


def header(solution) -> tuple:
    """The table's columns: without an optimizer there is no update."""
    return HEADER if solution.trained else HEADER[:3]


def output_labels(solution) -> list[str]:
    """The outputs' row names: out1, out2, ... for a layered network (the homework's), the nodes' own names
    for equations."""
    if solution.problem.network is None:
        return list(solution.output_names)
    return [f"out{index}" for index in range(1, len(solution.output_names) + 1)]


def _cells(solution, decimals: int | None, nodes: bool, step: int | None) -> list[tuple]:
    places = decimals if decimals is not None else (solution.decimals if solution.decimals is not None
                                                    else DEFAULT_DECIMALS)
    return [(name,) + tuple("" if v is None else fixed(v, places) for v in values)
            for name, *values in rows(solution, nodes=nodes, step=step)]


def caption(solution, step: int | None = None) -> str:
    problem = solution.problem
    optimizer = problem.optimizer
    steps = f"{solution.steps} step{'s' * (solution.steps != 1)}"
    if step is not None:
        steps = f"step {step} of {solution.steps}"
    batch = f", batch of {solution.batch_size}" if solution.batch_size > 1 else ""
    by_hand = (f"; by hand: every intermediate value rounded to {solution.rounding} decimals"
               if solution.rounding is not None else "")
    if not solution.trained:
        return f"{solution.title}: gradients only (no optimizer){batch}{by_hand}"
    frozen = f", {len(optimizer.frozen)} frozen" if optimizer.frozen else ""
    return f"{solution.title}: {optimizer.name}, lr {optimizer.lr:g}, {steps}{batch}{frozen}{by_hand}"


def display_width(text: str) -> int:
    """The columns a terminal gives the text: two for a wide character (隐, a CJK ideograph, most emoji), none for
    a combining mark, one for any other (Unicode's East Asian Width, UAX #11).

    >>> display_width("h1"), display_width("隐藏"), display_width("e\u0301")
    (2, 4, 1)
    """
    import unicodedata

    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def ljust(text: str, width: int) -> str:
    """The text padded on the right to the display width (str.ljust counts characters, not columns)."""
    return text + " " * (width - display_width(text))


def rjust(text: str, width: int) -> str:
    """The text padded on the left to the display width."""
    return " " * (width - display_width(text)) + text


def render_text(solution, *, decimals: int | None = None, nodes: bool = False, step: int | None = None) -> str:
    """A plain-text table for the terminal, numbers right-aligned."""
    cells = _cells(solution, decimals, nodes, step)
    columns = header(solution)
    widths = [max(display_width(row[i]) for row in cells + [columns]) for i in range(len(columns))]
    lines = [caption(solution, step), ""]
    for row in [columns] + cells:
        name = ljust(row[0], widths[0])
        numbers = [rjust(cell, width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("  ".join([name] + numbers).rstrip())
    lines.insert(3, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def render_markdown(solution, *, decimals: int | None = None, nodes: bool = False, step: int | None = None) -> str:
    """A Markdown (GitHub) table with a caption line, ready to paste into a report."""
    cells = _cells(solution, decimals, nodes, step)
    columns = header(solution)
    lines = [f"**{caption(solution, step)}**", "", "| " + " | ".join(columns) + " |",
             "|:---|" + "---:|" * (len(columns) - 1)]
    lines += ["| " + " | ".join(f"`{row[0]}`" if i == 0 else row[i] for i in range(len(columns))) + " |"
              for row in cells]
    return "\n".join(lines) + "\n"


def render_csv(solution, *, decimals: int | None = None, nodes: bool = False, step: int | None = None) -> str:
    """CSV with a header; full precision unless decimals are asked for."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header(solution))
    for name, *values in rows(solution, nodes=nodes, step=step):
        writer.writerow([name] + ["" if v is None else (exact(v) if decimals is None else fixed(v, decimals))
                                  for v in values])
    return buffer.getvalue()
