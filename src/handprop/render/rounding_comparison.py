"""Full precision against hand-rounding: which final answers a calculator's rounding changes."""

from __future__ import annotations

from .numbers import fixed


def answers(solution) -> list[tuple[str, float]]:
    """The final answers a student writes down: outputs, loss, every gradient and updated parameter."""
    rows = []
    for k, values in enumerate(solution.output_values):
        for index, value in enumerate(values, 1):
            rows.append((f"out{index}" if solution.batch_size == 1 else f"out{index} (sample {k + 1})", value))
    rows.append(("loss", solution.loss))
    rows += [(f"dL/d{name}", record.gradient) for name, record in solution.parameters.items()]
    rows += [(f"{name}'", record.updated) for name, record in solution.parameters.items()]
    return rows


def render_comparison(full, by_hand, places: int) -> str:
    """A table of the answers that differ at `places` decimals, with both values; then a summary."""
    differing = []
    total = 0
    for (name, exact), (_, rounded) in zip(answers(full), answers(by_hand)):
        total += 1
        if fixed(exact, places) != fixed(rounded, places):
            differing.append((name, fixed(exact, places + 4), fixed(exact, places), fixed(rounded, places)))
    title = (f"{full.title}: full precision against rounding every intermediate value to {places} "
             f"decimal{'s' * (places != 1)}")
    if not differing:
        return f"{title}\n\nAll {total} answers agree at {places} decimals: rounding changes none of them.\n"
    header = ("answer", "full precision", f"full, to {places}", f"by hand, to {places}")
    widths = [max(len(row[i]) for row in differing + [header]) for i in range(4)]
    lines = [title, ""]
    for k, row in enumerate([header] + differing):
        lines.append("  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += ["", f"{len(differing)} of {total} answers differ at {places} decimals. They are rounding differences, "
                  "not mistakes: the by-hand column is what a careful calculation that rounds each step gives."]
    return "\n".join(lines) + "\n"
