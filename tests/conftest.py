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
