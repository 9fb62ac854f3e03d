"""The command line's conventions (issue 17, item 6): shell completion, a mistyped command, `-o -`, CSV with
decimal commas, wide characters in tables, the progress bar, serve's log and busy port, one TOML writer."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess

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


# --- completion ---------------------------------------------------------------------------------------------------

def _script(cli, shell: str) -> str:
    result = cli(["completion", shell])
    assert result.status == 0 and result.err == "", result.err
    return result.out


def _bash_complete(script_path, *words: str) -> list[str]:
    driver = (f'source "{script_path}"\nCOMP_WORDS=({" ".join(shlex.quote(w) for w in words)})\n'
              'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n_handprop\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
    done = subprocess.run(["bash", "-c", driver], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_is_valid_and_completes_commands_options_choices_and_examples(cli, tmp_path):
    path = tmp_path / "handprop.bash"
    path.write_text(_script(cli, "bash"))
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True, timeout=30).returncode == 0
    assert _bash_complete(path, "handprop", "expl") == ["explain"]
    assert _bash_complete(path, "handprop", "solve", "--for") == ["--format"]
    assert _bash_complete(path, "handprop", "solve", "--format", "") == ["table", "markdown", "csv", "json"]
    assert _bash_complete(path, "handprop", "explain", "--format", "p") == ["pdf"]
    assert _bash_complete(path, "handprop", "homework", "--nod") == ["--nodes"]  # solve, the default command
    assert "homework" in _bash_complete(path, "handprop", "explain", "home")
    assert _bash_complete(path, "handprop", "completion", "") == ["bash", "fish", "zsh"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_completion_name_every_command(cli, tmp_path, shell):
    from handprop.cli import COMMANDS

    script = _script(cli, shell)
    for command in COMMANDS:
        assert re.search(rf"\b{command}\b", script), command
    assert "format" in script and "markdown" in script and "homework" in script
    if shutil.which(shell):
        path = tmp_path / f"handprop.{shell}"
        path.write_text(script)
        checked = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr


def test_an_unknown_shell_is_one_line(cli):
    result = cli(["completion", "tcsh"])
    assert result.status == 2 and result.out == "" and len(result.err.splitlines()) == 1
    assert "tcsh" in result.err and "bash" in result.err


# --- wide characters ------------------------------------------------------------------------------------------------

WIDE = ('title = "wide"\n[network]\nequations = """\n隐藏 = w*x\n能量 = 隐藏*隐藏\nL = 能量\n"""\n'
        '[parameters]\nw = 0.5\n[data]\nx = 2.0\n[optimizer]\nlr = 0.1\n')


def test_wide_characters_are_aligned_in_the_text_table(cli, tmp_path):
    from handprop.render.table import display_width

    path = tmp_path / "wide.toml"
    path.write_text(WIDE, encoding="utf-8")
    result = cli(["solve", str(path), "--nodes"])
    assert result.status == 0, result.err
    rows = [line for line in result.out.splitlines() if line.split()[1:2] == ["1.0000"]]
    assert any("隐藏" in row for row in rows) and any("能量" in row for row in rows)
    ends = {display_width(row[:row.index("1.0000") + 6]) for row in rows}  # the initial column's right edge
    assert len(ends) == 1, result.out
    assert display_width("隐藏") == 4 and display_width("😀") == 2 and display_width("w1") == 2


# --- the progress bar -----------------------------------------------------------------------------------------------

def test_the_progress_bar_shows_elapsed_time_rate_and_eta():
    import io

    from handprop.cli.train import Progress

    times = iter([100.0, 110.0, 140.0, 200.0])
    bar = Progress(stream=io.StringIO(), clock=lambda: next(times))
    bar(250, 1000, 0.5)  # 10 s for 250 steps: 25 steps/s, 750 left: 30 s
    bar(500, 1000, 0.4)
    bar(1000, 1000, 0.3)
    lines = bar.stream.getvalue().split("\r")[1:]
    assert "0:10 elapsed, 25 steps/s, ETA 0:30" in lines[0]
    assert "0:40 elapsed, 12.5 steps/s, ETA 0:40" in lines[1]
    assert "1:40 elapsed, 10 steps/s, ETA 0:00" in lines[2] and lines[2].endswith("\n")


# --- serve: its log and a busy port ---------------------------------------------------------------------------------

def _serve_and_get(*options: str) -> str:
    """Start `handprop serve` on a free port, fetch its page once, stop it; returns what it wrote on stderr."""
    import re
    import signal
    import sys
    import urllib.request

    server = subprocess.Popen([sys.executable, "-m", "handprop", "serve", "--port", "0", *options],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://\S+/", server.stdout.readline()).group(0)
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    return err


def test_serve_logs_requests_only_when_verbose():
    pytest.importorskip("flask")
    pytest.importorskip("tomlkit")
    assert "GET / " not in _serve_and_get()
    assert "GET / " in _serve_and_get("--verbose")


def test_serve_on_a_busy_port_is_one_line(cli):
    import socket

    pytest.importorskip("flask")
    pytest.importorskip("tomlkit")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli(["serve", "--port", str(port)])
    assert result.status == 2 and result.out == ""
    assert result.err.splitlines() == [f"handprop: error: --port: cannot listen on 127.0.0.1:{port}: the port is in "
                                       "use by another program (a free port, or --port 0)"]


# --- the README's extras --------------------------------------------------------------------------------------------

def test_the_readme_says_which_extra_each_optional_command_needs():
    import pathlib
    import tomllib

    root = pathlib.Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    extras = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    for extra, packages in extras.items():
        if extra == "test":
            continue
        row = next((r for r in rows if f"| `{extra}` |" in r), None)
        assert row is not None, extra
        for package in packages:
            assert re.match(r"[A-Za-z0-9_.-]+", package).group(0).lower() in row.lower(), (extra, package)
    assert any("train --plot" in r and "`plot`" in r for r in rows)


# --- CSV with ; and decimal commas ----------------------------------------------------------------------------------

EQUATIONS = ('title = "eu"\n[network]\nequations = """\no = w1*x1 + w2*x2\nL = (o - t)**2\n"""\n'
             '[parameters]\nw1 = 0.5\nw2 = 0.5\n[data]\nfile = "data.csv"\n[optimizer]\nlr = 0.1\n')


def test_a_semicolon_csv_with_decimal_commas_is_read_as_the_comma_one(cli, tmp_path):
    (tmp_path / "problem.toml").write_text(EQUATIONS)
    (tmp_path / "data.csv").write_text("x1,x2,t\n0.26,0.33,1\n0.1,0.2,0\n")
    plain = cli(["solve", str(tmp_path / "problem.toml"), "--format", "json"])
    (tmp_path / "data.csv").write_text("x1;x2;t\n0,26;0,33;1\n0,1;0,2;0\n")
    european = cli(["solve", str(tmp_path / "problem.toml"), "--format", "json"])
    assert plain.status == european.status == 0, european.err
    assert european.out == plain.out


def test_grade_reads_answers_separated_by_semicolons_with_decimal_commas(cli, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text("name,value\nout1,0.53\nloss,0.64\ndL/dw1,0.01\nw1',0.09\n")
    plain = cli(["grade", "homework", str(answers), "--format", "json"])
    answers.write_text("name;value\nout1;0,53\nloss;0,64\ndL/dw1;0,01\nw1';0,09\n")
    european = cli(["grade", "homework", str(answers), "--format", "json"])
    assert european.status == plain.status == 0, european.err
    assert european.out == plain.out


# --- one TOML writer ------------------------------------------------------------------------------------------------

TITLES = ['Übung "1"\nzweite Zeile', "back\\slash \\n not a newline", "∂L/∂w₁ — 隐藏层 😀", "tab\there\r\x01\x7f",
          "'single' and \"\"\"triple\"\"\"", ""]


@pytest.mark.parametrize("title", TITLES)
def test_the_toml_writer_round_trips_any_title(title):
    import tomllib

    from handprop.problem.toml_writer import checked, toml_comment, toml_key, toml_value

    text = checked(f"{toml_comment(title)}\ntitle = {toml_value(title)}\n{toml_key(title or 'x')} = "
                   f"{toml_value([1, 0.1, -2.5e-07, True, {'a': title}])}\n")
    read = tomllib.loads(text)
    assert read["title"] == title
    assert read[title or "x"] == [1, 0.1, -2.5e-07, True, {"a": title}]


@pytest.mark.parametrize("like", ["homework", "cnn_homework"])
def test_exercise_variants_of_a_problem_with_an_awkward_title_are_valid_toml(cli, tmp_path, like):
    import tomllib

    from handprop.problem.files import example_path
    from handprop.problem.spec import load

    title = 'Übung "1"\nline two \\ ∂L/∂w 隐藏'
    source = example_path(like).read_text(encoding="utf-8")
    mine = tmp_path / "mine.toml"
    mine.write_text(re.sub(r'(?m)^title = ".*"$', lambda _: "title = " + json.dumps(title), source, count=1),
                    encoding="utf-8")
    assert load(str(mine)).title == title
    result = cli(["exercise", "--like", str(mine), "--seed", "3", "-o", str(tmp_path / "out")])
    assert result.status == 0, result.err
    variant = next((tmp_path / "out").glob("variant-*.toml"))
    read = tomllib.loads(variant.read_text(encoding="utf-8"))
    assert read["title"].startswith(title)
    assert load(str(variant)).title == read["title"]
