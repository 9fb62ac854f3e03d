"""The solution as JSON: stable keys, full precision (docs/json.md describes them)."""

from __future__ import annotations

import json
import math

from ..core.optim import torch_state


def to_dict(solution) -> dict:
    """The JSON document as a dict. For a batch, node values and gradients are lists, one per sample. Without
    an optimizer (a gradient-only question) "optimizer", "loss_after", "outputs_after" and each "updated" are
    null and "steps" is empty."""
    single = solution.batch_size == 1
    optimizer = solution.problem.optimizer
    trained = solution.trained

    def per_sample(values: tuple):
        return values[0] if single else list(values)

    return {
        "title": solution.title,
        "batch_size": solution.batch_size,
        "optimizer": ({"name": optimizer.name, "lr": optimizer.lr, "steps": solution.steps,
                       "frozen": list(optimizer.frozen)} if trained else None),
        "output_names": list(solution.output_names),
        "loss": solution.loss,
        "outputs": [list(values) for values in solution.output_values],
        "loss_after": solution.loss_after if trained else None,
        "outputs_after": [list(values) for values in solution.outputs_after] if trained else None,
        "nodes": {name: {"value": per_sample(r.values), "gradient": per_sample(r.gradients)}
                  for name, r in solution.nodes.items()},
        "parameters": {name: {"initial": r.initial, "gradient": r.gradient, "updated": r.updated if trained else None}
                       for name, r in solution.parameters.items()},
        "steps": [_step(step, k, optimizer) for k, step in enumerate(solution.history, 1)] if trained else [],
    }


def _step(step, k: int, optimizer) -> dict:
    """One step: its loss, outputs and gradients at its start; the parameters and torch.optim's state after it
    (each kept unless a long run of a large problem kept the losses only)."""
    entry = {"loss": step.loss, "parameters": dict(step.parameters)}
    if step.gradients:
        entry["outputs"] = [list(values) for values in step.outputs]
        entry["gradients"] = dict(step.gradients)
        entry["state"] = {name: torch_state(optimizer, step.state.get(name, {}), k) for name in step.gradients
                          if name not in optimizer.frozen}
    return entry


def strict_json(value):
    """JSON has no infinity or NaN: such a number (dL/dy where y is exactly 0, say) is written as a string."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {key: strict_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [strict_json(item) for item in value]
    return value


def render_json(solution) -> str:
    return json.dumps(strict_json(to_dict(solution)), indent=2, allow_nan=False) + "\n"
