"""The solution as JSON: stable keys, full precision (docs/json.md describes them)."""

from __future__ import annotations

import json
import math


def to_dict(solution) -> dict:
    """The JSON document as a dict. For a batch, node values and gradients are lists, one per sample."""
    single = solution.batch_size == 1

    def per_sample(values: tuple):
        return values[0] if single else list(values)

    return {
        "title": solution.title,
        "batch_size": solution.batch_size,
        "optimizer": {"name": solution.problem.optimizer.name, "lr": solution.problem.optimizer.lr,
                      "steps": solution.steps},
        "output_names": list(solution.output_names),
        "loss": solution.loss,
        "outputs": [list(values) for values in solution.output_values],
        "loss_after": solution.loss_after,
        "nodes": {name: {"value": per_sample(r.values), "gradient": per_sample(r.gradients)}
                  for name, r in solution.nodes.items()},
        "parameters": {name: {"initial": r.initial, "gradient": r.gradient, "updated": r.updated}
                       for name, r in solution.parameters.items()},
        "steps": [{"loss": step.loss, "parameters": dict(step.parameters)} for step in solution.history],
    }


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
