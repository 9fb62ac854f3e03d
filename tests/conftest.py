"""Shared helpers: run the command line in-process or as a real process."""

from __future__ import annotations

import random
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


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def chromium():
    """Headless Chromium (the system's), for a module-scoped fixture: skips without playwright or Chromium."""
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def served_page(text: str, label: str, width: int = 1400):
    """The local page serving the problem text, open in headless Chromium: a generator for a fixture (skips
    without playwright, Chromium or flask)."""
    import shutil
    import threading

    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip("no Chromium at /usr/bin/chromium")
    pytest.importorskip("flask")
    from werkzeug.serving import make_server

    from handprop.serve.app import create_app

    app = create_app(text, label=label)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(f"http://127.0.0.1:{server.port}/")
            yield page
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=5)
        app.extensions["handprop.worker"].close()


def close_to(a: float, b: float, relative: float = 1e-12) -> bool:
    """a and b agree to `relative` of the larger (of 1 near 0): how the tests hold handprop to PyTorch."""
    return abs(a - b) <= relative * max(abs(a), abs(b), 1.0)


def nested(values: list, shape: tuple):
    """A flat list in C order as nested lists of the shape (a tensor as a problem file writes it)."""
    if len(shape) <= 1:
        return list(values)
    step = len(values) // shape[0]
    return [nested(values[k * step:(k + 1) * step], shape[1:]) for k in range(shape[0])]


def trained_on_both_engines(cli, target: str, steps: int) -> tuple[dict, dict]:
    """`train TARGET --steps N --format json` on the scalar engine and on the NumPy engine: (scalar, numpy)."""
    import json

    results = {}
    for engine in ("scalar", "numpy"):
        done = cli(["train", target, "--steps", str(steps), "--engine", engine, "--format", "json"])
        assert done.status == 0, done.err
        results[engine] = json.loads(done.out)
        assert results[engine]["engine"] == engine
    return results["scalar"], results["numpy"]


def chains_of(blocks):
    """Every Chain of a worked solution's Document blocks, sections opened."""
    from handprop.render.document import Chain, Section

    for block in blocks:
        if isinstance(block, Section):
            yield from chains_of(block.blocks)
        elif isinstance(block, Chain):
            yield block


def run_process(args, stdin: str | None = None, cwd=None) -> Result:
    """Run `python -m handprop` as its own process, as a user would."""
    done = subprocess.run([sys.executable, "-m", "handprop", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, timeout=60)
    return Result(done.returncode, done.stdout, done.stderr)


class Work:
    """How much work a piece of code does, counted as the Python and C functions it calls (sys.setprofile):
    a measure that does not depend on how busy the machine is, so that a test can say "at once" or "in good
    time" without a clock. Timing belongs to benchmarks/.

    >>> with Work() as work:
    ...     _ = sorted([3, 1, 2])
    >>> 0 < work.calls < 10
    True
    """

    def __init__(self):
        self.calls = 0

    def _count(self, frame, event, arg):
        if event in ("call", "c_call"):
            self.calls += 1

    def __enter__(self) -> "Work":
        self._before = sys.getprofile()
        sys.setprofile(self._count)
        return self

    def __exit__(self, *exc) -> None:
        sys.setprofile(self._before)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# The settings the random networks give an activation, where it has any: none of them the default.
SETTINGS = {"leaky_relu": {"alpha": 0.05}, "elu": {"alpha": 0.7}, "celu": {"alpha": 1.3},
            "gelu": {"approximate": "tanh"}, "hardtanh": {"min_val": -0.8, "max_val": 1.2}}


def random_network(widths: list[int], hidden: str, output: str, loss: str, batch: int = 1, *, seed: int = 0,
                   naming: str = "layered", optimizer: dict | None = None) -> dict:
    """A widths[0]-...-widths[-1] layered network's problem dict, drawn from random.Random(seed): weights in
    [-1, 1], biases in [-0.5, 0.5], inputs in [-2, 2], targets that fit the output (one-hot for softmax; 0, 1
    or 0.3 for sigmoid; else in [-1, 1]); the activations' settings as SETTINGS. The tests' one such helper.
    """
    rng = random.Random(seed)
    layers = [{"units": w, "activation": hidden} for w in widths[1:-1]] + [{"units": widths[-1], "activation": output}]
    for layer in layers:
        layer.update(SETTINGS.get(layer["activation"], {}))
    matrices = [[[rng.uniform(-1, 1) for _ in range(widths[n - 1])] for _ in range(widths[n])]
                for n in range(1, len(widths))]
    biases = [[rng.uniform(-0.5, 0.5) for _ in range(widths[n])] for n in range(1, len(widths))]
    if output == "softmax":
        targets = [[1.0 if j == k else 0.0 for j in range(widths[-1])] for k in
                   [rng.randrange(widths[-1]) for _ in range(batch)]]
    elif output == "sigmoid":
        targets = [[rng.choice([0.0, 1.0, 0.3]) for _ in range(widths[-1])] for _ in range(batch)]
    else:
        targets = [[rng.uniform(-1, 1) for _ in range(widths[-1])] for _ in range(batch)]
    if naming == "sequential":
        parameters = {"w": [v for matrix in matrices for row in matrix for v in row], "b": sum(biases, [])}
    else:
        parameters = {f"W{n}": matrix for n, matrix in enumerate(matrices, 1)}
        parameters.update({f"b{n}": bias for n, bias in enumerate(biases, 1)})
    return {"network": {"inputs": widths[0], "layers": layers, "loss": loss, "naming": naming},
            "parameters": parameters,
            "data": {"x": [[rng.uniform(-2, 2) for _ in range(widths[0])] for _ in range(batch)], "t": targets},
            "optimizer": optimizer or {"lr": 0.3}}
