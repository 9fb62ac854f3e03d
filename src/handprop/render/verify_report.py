"""A Verification as a table for the terminal, or as JSON (docs/verify.md describes both).

The table has one row per parameter, worst first: its gradient, the finite difference and the relative
error to it, PyTorch's gradient and the error to it, the error of the updated value against torch.optim's,
and the row's status; a header says what was checked and at which tolerances, a last line the verdict.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ..core.optim import OPTIMIZER_NAMES
from .json import strict_json

MAX_ROWS = 20  # rows shown unless all are asked for: the worst ones
TORCH_OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.12g}"


def _error(value: float | None) -> str:
    if value is None:
        return "-"
    return "0" if value == 0 else f"{value:.1e}"


def _status(check) -> str:
    if check.status == "fail":
        return "FAIL: " + ", ".join(check.failed)
    if check.status == "kink":
        return check.note
    return "ok" + (f" ({check.note})" if check.note else "")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' * (count != 1)}"


def _header(report) -> list[str]:
    optimizer = report.optimizer
    batch = f", batch of {report.batch_size}" if report.batch_size > 1 else ""
    lines = [f"handprop verify {report.title} ({report.source}): {_plural(len(report.checks), 'parameter')}{batch}, "
             f"{optimizer.name} lr {optimizer.lr:g}, {_plural(report.steps, 'step')}"]
    lines.append(f"finite differences: each gradient against (L(θ+h) - L(θ-h)) / 2h, h = ε^(1/3) max(1, |θ|); "
                 f"tolerance {report.tolerance:g} relative")
    if report.torch_version is None:
        lines.append(report.torch_skipped)
    else:
        kind = TORCH_OPTIMIZERS.get(optimizer.name, OPTIMIZER_NAMES.get(optimizer.name, optimizer.name))
        steps = (f", and the parameters after {_plural(report.steps, 'step')} of torch.optim.{kind}"
                 if optimizer.given else " (no optimizer: the gradients only)")
        lines.append(f"PyTorch {report.torch_version}, float64: gradients by autograd{steps}; tolerance "
                     f"{report.torch_tolerance:g} relative")
        mark = "FAIL" if report.loss_failed else "ok"
        lines.append(f"loss: handprop {report.loss!r}, torch {report.torch_loss!r}, error "
                     f"{_error(report.torch_loss_error)} ({mark})")
    return lines


def _verdict(report) -> str:
    total = len(report.checks)
    failures, kinks = report.failures, report.kinks

    def names(checks: list) -> str:
        return ", ".join(c.name for c in checks[:10]) + (f" and {len(checks) - 10} more" if len(checks) > 10 else "")

    notes = f"; {_plural(len(kinks), 'kink')} not held to finite differences ({names(kinks)})" if kinks else ""
    unresolved = report.unresolved
    if unresolved:
        notes += f"; {len(unresolved)} not held to PyTorch, which rounding alone moves too far ({names(unresolved)})"
    if report.passed:
        agree = f"{total - len(kinks)} of {total}" if kinks else f"all {total}"
        text = f"verdict: ok, {agree} gradients agree with finite differences"
        if report.torch_version is not None:
            held = f"{total - len(unresolved)} of {total}" if unresolved else f"all {total}"
            text += f"; {held} agree with PyTorch" + (
                f", and the parameters after {_plural(report.steps, 'step')} with torch.optim's"
                if report.optimizer.given else "")
        return text + notes
    parts = []
    if failures:
        parts.append(f"{len(failures)} of {total} parameters disagree ({names(failures)})")
    if report.loss_failed:
        parts.append("the loss disagrees with PyTorch's")
    return "verdict: FAILED, " + "; ".join(parts) + notes


def render_verify_text(report, *, all_rows: bool = False, fit: Callable[[str], str] | None = None) -> str:
    """The table: a header, the rows worst first (the worst MAX_ROWS unless all_rows), the verdict. Each piece
    of text passes through fit, if given, before the columns are lined up (the command line's writes θ and ε
    in ASCII where the output cannot show them)."""
    fit = fit or str
    with_torch = report.torch_version is not None
    header = ("name", "gradient", "finite difference", "fd error")
    if with_torch:
        header += ("torch gradient", "torch error", "update error")
    header += ("status",)
    checks = report.worst()
    shown = checks if all_rows else checks[:MAX_ROWS]
    rows = []
    for check in shown:
        row = (check.name, _value(check.gradient), _value(check.finite_difference), _error(check.finite_difference_error))
        if with_torch:
            row += (_value(check.torch_gradient), _error(check.torch_gradient_error), _error(check.torch_update_error))
        rows.append(tuple(map(fit, row + (_status(check),))))
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    lines = [fit(line) for line in _header(report)] + [""]
    for row in [header, tuple("-" * w for w in widths)] + rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:-1], widths[1:-1])]
        lines.append("  ".join(cells + [row[-1]]).rstrip())
    hidden = len(checks) - len(shown)
    if hidden:
        lines.append(f"... {_plural(hidden, 'more row')}, each better than those above (--all shows them)")
    lines += ["", fit(_verdict(report))]
    return "\n".join(lines) + "\n"


def to_dict(report) -> dict:
    """The JSON document as a dict: every parameter, in the problem's order."""
    return {
        "title": report.title,
        "source": report.source,
        "passed": report.passed,
        "batch_size": report.batch_size,
        "optimizer": {"name": report.optimizer.name, "lr": report.optimizer.lr, "steps": report.steps},
        "tolerances": {"finite_difference": report.tolerance, "torch": report.torch_tolerance},
        "torch": {"version": report.torch_version, "skipped": report.torch_skipped},
        "loss": {"handprop": report.loss, "torch": report.torch_loss, "error": report.torch_loss_error,
                 "rounding": report.loss_rounding},
        "failures": [check.name for check in report.failures],
        "kinks": [check.name for check in report.kinks],
        "unresolved": [check.name for check in report.unresolved],
        "parameters": {
            check.name: {
                "gradient": check.gradient,
                "step": check.step,
                "finite_difference": check.finite_difference,
                "finite_difference_error": check.finite_difference_error,
                "torch_gradient": check.torch_gradient,
                "torch_gradient_error": check.torch_gradient_error,
                "updated": check.updated,
                "torch_updated": check.torch_updated,
                "torch_update_error": check.torch_update_error,
                "gradient_rounding": check.gradient_rounding,
                "update_rounding": check.update_rounding,
                "status": check.status,
                "failed": list(check.failed),
                "note": check.note,
            } for check in report.checks},
    }


def render_verify_json(report) -> str:
    return json.dumps(strict_json(to_dict(report)), indent=2, ensure_ascii=False) + "\n"
