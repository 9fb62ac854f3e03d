"""The command line's conventions (issue 17, item 6): shell completion, a mistyped command, `-o -`, CSV with
decimal commas, wide characters in tables, the progress bar, serve's log and busy port, one TOML writer."""

from __future__ import annotations

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
