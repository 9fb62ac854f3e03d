"""Shared helpers: run the command line in-process or as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"


class Result:
    def __init__(self, status: int, out: str, err: str):
        self.status, self.out, self.err = status, out, err


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run handprop's main() in-process: cli(["solve", ...], stdin="...") -> Result."""
    import io

    from handprop.cli import main

    def run(args, stdin: str | None = None) -> Result:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        status = main(list(args))
        captured = capsys.readouterr()
        return Result(status, captured.out, captured.err)

    return run


def run_process(args, stdin: str | None = None, cwd=None) -> Result:
    """Run `python -m handprop` as its own process, as a user would."""
    done = subprocess.run([sys.executable, "-m", "handprop", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, timeout=60)
    return Result(done.returncode, done.stdout, done.stderr)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# The settings the random networks give an activation, where it has any: none of them the default.
SETTINGS = {"leaky_relu": {"alpha": 0.05}, "elu": {"alpha": 0.7}, "celu": {"alpha": 1.3},
            "gelu": {"approximate": "tanh"}, "hardtanh": {"min_val": -0.8, "max_val": 1.2}}


def random_layers(widths: list[int], hidden: str, output: str) -> list[dict]:
    """The [network] layers of a widths[0]-...-widths[-1] network; settings other than the defaults (SETTINGS)."""
    layers = [{"units": w, "activation": hidden} for w in widths[1:-1]] + [{"units": widths[-1], "activation": output}]
    for layer in layers:
        layer.update(SETTINGS.get(layer["activation"], {}))
    return layers


def random_layered_parameters(rng, widths: list[int]) -> dict:
    """W1, b1, W2, ... (layered naming) drawn from rng: weights in [-1, 1], biases in [-0.5, 0.5]."""
    parameters = {}
    for n in range(1, len(widths)):
        parameters[f"W{n}"] = [[rng.uniform(-1, 1) for _ in range(widths[n - 1])] for _ in range(widths[n])]
        parameters[f"b{n}"] = [rng.uniform(-0.5, 0.5) for _ in range(widths[n])]
    return parameters
