"""The command line's conventions (issue 17, item 6): shell completion, a mistyped command, `-o -`, CSV with
decimal commas, wide characters in tables, the progress bar, serve's log and busy port, one TOML writer."""

from __future__ import annotations

import pytest

from handprop.cli import main  # noqa: F401


def test_a_mistyped_command_is_named_with_the_command_meant(cli):
    result = cli(["explian"])
    assert result.status == 2 and result.out == ""
    assert result.err.strip() == "handprop: error: unknown command 'explian' (did you mean 'explain'?)"


def test_a_file_or_an_example_in_the_commands_place_is_still_solved(cli, tmp_path, monkeypatch):
    assert cli(["homework"]).status == 0
    monkeypatch.chdir(tmp_path)
    (tmp_path / "explian").write_text("title = 'x'\n")
    # A file of that name is a file, whatever its name looks like; a file without an extension is refused as today.
    result = cli(["explian"])
    assert "unknown command" not in result.err
    assert "no such file or example" in cli(["homwork"]).err


@pytest.mark.parametrize("args", [["solve"], ["solve", "--format", "json"], ["explain"], ["diagram"],
                                  ["train", "xor", "--steps", "3"], ["export", "homework", "--to", "python"]])
def test_dash_output_is_standard_output(cli, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    plain = cli(args)
    dashed = cli(args + ["-o", "-"])
    assert dashed.status == plain.status == 0, dashed.err
    assert dashed.out == plain.out and dashed.out
    assert list(tmp_path.iterdir()) == []


def test_dash_output_for_exercise_is_refused_in_one_line(cli):
    result = cli(["exercise", "-o", "-"])
    assert result.status == 2 and len(result.err.splitlines()) == 1 and "a folder" in result.err
