"""The Result table, as the homework lays it out: text, Markdown and CSV.

Rows: each output (per sample in a batch), the loss, optionally every node
(value and gradient), then every parameter with its initial value, gradient and
updated value. The loss row's "updated" cell is the loss after the update.
"""

from __future__ import annotations

from .numbers import DEFAULT_DECIMALS, exact, fixed

HEADER = ("name", "initial", "gradient", "updated")


def rows(solution, *, nodes: bool = False) -> list[tuple]:
    """(name, initial, gradient, updated) with floats or None, in the table's order."""
    table: list[tuple] = []
    batch = solution.batch_size
    for k, values in enumerate(solution.output_values):
        for index, value in enumerate(values, 1):
            label = f"out{index}" if batch == 1 else f"out{index} (sample {k + 1})"
            table.append((label, value, None, None))
    table.append(("loss", solution.loss, None, solution.loss_after))
    if nodes:
        for record in solution.nodes.values():
            for k in range(batch):
                label = record.name if batch == 1 else f"{record.name} (sample {k + 1})"
                table.append((label, record.values[k], record.gradients[k], None))
    for record in solution.parameters.values():
        table.append((record.name, record.initial, record.gradient, record.updated))
    return table


def _cells(solution, decimals: int | None, nodes: bool) -> list[tuple]:
    places = decimals if decimals is not None else (solution.decimals if solution.decimals is not None
                                                    else DEFAULT_DECIMALS)
    return [(name,) + tuple("" if v is None else fixed(v, places) for v in values)
            for name, *values in rows(solution, nodes=nodes)]


def caption(solution) -> str:
    problem = solution.problem
    optimizer = problem.optimizer
    steps = f"{solution.steps} step{'s' * (solution.steps != 1)}"
    batch = f", batch of {solution.batch_size}" if solution.batch_size > 1 else ""
    by_hand = (f"; by hand: every intermediate value rounded to {solution.rounding} decimals"
               if solution.rounding is not None else "")
    return f"{solution.title}: {optimizer.name}, lr {optimizer.lr:g}, {steps}{batch}{by_hand}"


def render_text(solution, *, decimals: int | None = None, nodes: bool = False) -> str:
    """A plain-text table for the terminal, numbers right-aligned."""
    cells = _cells(solution, decimals, nodes)
    widths = [max(len(row[i]) for row in cells + [HEADER]) for i in range(4)]
    lines = [caption(solution), ""]
    for row in [HEADER] + cells:
        name = row[0].ljust(widths[0])
        numbers = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        lines.append("  ".join([name] + numbers).rstrip())
    lines.insert(3, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def render_markdown(solution, *, decimals: int | None = None, nodes: bool = False) -> str:
    """A Markdown (GitHub) table with a caption line, ready to paste into a report."""
    cells = _cells(solution, decimals, nodes)
    lines = [f"**{caption(solution)}**", "", "| " + " | ".join(HEADER) + " |", "|:---|---:|---:|---:|"]
    lines += ["| " + " | ".join(f"`{row[0]}`" if i == 0 else row[i] for i in range(4)) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def render_csv(solution, *, decimals: int | None = None, nodes: bool = False) -> str:
    """CSV with a header; full precision unless decimals are asked for."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for name, *values in rows(solution, nodes=nodes):
        writer.writerow([name] + ["" if v is None else (exact(v) if decimals is None else fixed(v, decimals))
                                  for v in values])
    return buffer.getvalue()
