"""Files and streams as users expect them: -o, --plot, exercise and the page's Save write whole files with
the permissions any program gives, and replace a file that is there; a console that cannot show ✓ or θ
gets ASCII instead of a traceback."""

from __future__ import annotations

import errno
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, write
from handprop.cli import main
from handprop.core.errors import HandpropError
from handprop.problem.files import example_path, write_file

HOMEWORK = example_path("homework").read_text(encoding="utf-8")
GREEK = HOMEWORK.replace('title = "Machine Learning Homework 1"', 'title = "Übung θ − ∂L/∂w ≤ 1 ✓"')
ANSWERS = "out1,0.53\nout2,0.5\nloss,0.64\ndL/dw1,-0.01\nw1',0.11\ndL/dw7,0.3\n"  # right, wrong and carried


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def current_umask() -> int:
    before = os.umask(0o022)
    os.umask(before)
    return before


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in Path(folder).iterdir() if p.name.startswith(".handprop-"))


@pytest.fixture(params=[0o022, 0o002, 0o027], ids=oct)
def umask(request):
    before = os.umask(request.param)
    yield request.param
    os.umask(before)


def one_line_error(result, fragment: str) -> None:
    assert result.status == 2 and len(result.err.splitlines()) == 1, result.err
    assert result.err.startswith("handprop: error: ") and fragment in result.err, result.err


# -- modes ---------------------------------------------------------------------------------------------------


def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path, umask):
    path = tmp_path / "new.txt"
    write_file(str(path), "text\n")
    assert mode(path) == 0o666 & ~umask and path.read_text() == "text\n"


def test_output_of_every_kind_gets_the_mode_the_umask_gives(cli, tmp_path, umask):
    for args in (["solve", "homework"], ["explain", "homework"], ["diagram", "homework"]):
        out = tmp_path / f"{args[0]}.{'svg' if args[0] == 'diagram' else 'md'}"
        assert cli([*args, "-o", str(out)]).status == 0
        assert mode(out) == 0o666 & ~umask, args


@pytest.mark.parametrize("kept", [0o644, 0o664, 0o640, 0o604], ids=oct)
def test_a_replaced_file_keeps_its_mode(tmp_path, kept):
    path = tmp_path / "problem.toml"
    path.write_text("old\n")
    os.chmod(path, kept)
    write_file(str(path), "new\n")
    assert mode(path) == kept and path.read_text() == "new\n"


def test_set_user_id_is_not_carried_over_to_new_content(tmp_path):
    path = tmp_path / "tool"
    path.write_text("old\n")
    os.chmod(path, 0o4755)
    write_file(str(path), "new\n")
    assert mode(path) == 0o755


def test_o_replaces_an_existing_file_and_keeps_its_mode(cli, tmp_path):
    out = tmp_path / "answer.md"
    out.write_text("an older answer, much longer than the new one " * 100)
    os.chmod(out, 0o640)
    assert cli(["solve", "homework", "-o", str(out)]).status == 0
    text = out.read_text()
    assert text.startswith("**Machine Learning Homework 1") and "older" not in text
    assert mode(out) == 0o640 and leftovers(tmp_path) == []


def test_the_pages_save_keeps_the_problem_files_mode(tmp_path):
    pytest.importorskip("flask")
    from handprop.serve.app import create_app

    target = tmp_path / "mine.toml"
    target.write_text(HOMEWORK)
    os.chmod(target, 0o664)
    client = create_app(HOMEWORK, label=str(target), path=target, time_limit=None).test_client()
    assert client.post("/api/save", json={"text": HOMEWORK + "# edited\n"}).get_json()["ok"]
    assert mode(target) == 0o664 and target.read_text().endswith("# edited\n")


def test_a_symbolic_link_is_written_through(tmp_path):
    real = tmp_path / "real.toml"
    real.write_text("old\n")
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    write_file(str(link), "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"


# -- failures leave nothing behind ---------------------------------------------------------------------------


def failing(name: str, exception: BaseException, after: int = 0):
    """A stand-in for os.fsync or os.replace that works `after` times, then raises."""
    real = getattr(os, name)
    calls = []

    def stand_in(*args):
        calls.append(args)
        if len(calls) > after:
            raise exception
        return real(*args)

    return stand_in


FULL = OSError(errno.ENOSPC, "No space left on device")


class BreaksOnWrite:
    """A file whose write fails with an exception that is no OSError."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stream.close()

    def write(self, data):
        raise RuntimeError("interrupted while writing")


@pytest.mark.parametrize("where", ["fsync", "replace"])
def test_a_failed_write_leaves_no_temporary_file_and_the_old_file_whole(tmp_path, monkeypatch, where):
    path = tmp_path / "out.md"
    path.write_text("old\n")
    monkeypatch.setattr(os, where, failing(where, FULL))
    with pytest.raises(HandpropError, match="cannot write: No space left on device"):
        write_file(str(path), "new\n" * 1000)
    assert path.read_text() == "old\n" and leftovers(tmp_path) == []


def test_an_exception_while_writing_leaves_no_temporary_file(tmp_path, monkeypatch):
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *args, **kwargs: BreaksOnWrite(real(*args, **kwargs)))
    with pytest.raises(RuntimeError, match="interrupted while writing"):
        write_file(str(tmp_path / "out.md"), "new\n")
    assert list(tmp_path.iterdir()) == []


def test_text_that_cannot_be_written_is_refused_before_any_file(tmp_path):
    with pytest.raises(HandpropError, match="not valid Unicode"):
        write_file(str(tmp_path / "out.md"), "a lone \udc80 surrogate")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_under_o_is_one_line_and_leaves_nothing(cli, tmp_path, monkeypatch):
    out = tmp_path / "answer.json"
    monkeypatch.setattr(os, "fsync", failing("fsync", FULL))
    one_line_error(cli(["solve", "homework", "-o", str(out)]), "answer.json: cannot write: No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_the_o_help_says_an_existing_file_is_replaced(capsys):
    for command in ("solve", "explain", "diagram", "train", "exercise", "export"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "replaced" in text or "replacing OUT if it exists" in text, command
    docs = " ".join((ROOT / "docs" / "cli.md").read_text(encoding="utf-8").split())
    assert "An existing OUT is replaced, as the shell's `>` would replace it." in docs


# -- train --plot ----------------------------------------------------------------------------------------------


@pytest.fixture
def no_training(monkeypatch):
    """train() replaced by one that records that it was called: a refusal must come before it."""
    import handprop.training

    calls = []
    monkeypatch.setattr(handprop.training, "train", lambda *args, **kwargs: calls.append(args))
    return calls


@pytest.mark.parametrize("option, name", [("--plot", "loss.png"), ("--plot", "loss.svg"), ("-o", "run.json")])
def test_train_into_a_missing_folder_is_refused_before_training(cli, tmp_path, no_training, option, name):
    if option == "--plot":
        pytest.importorskip("matplotlib")
    path = tmp_path / "missing" / name
    result = cli(["train", "homework", "--steps", "5", option, str(path)])
    one_line_error(result, f"{path}: no such folder: {os.path.realpath(tmp_path / 'missing')}")
    assert result.out == "" and no_training == [] and not path.parent.exists()


def test_train_plot_onto_a_folder_is_refused_before_training(cli, tmp_path, no_training):
    pytest.importorskip("matplotlib")
    (tmp_path / "loss.png").mkdir()
    one_line_error(cli(["train", "homework", "--plot", str(tmp_path / "loss.png")]), "loss.png: is a folder")
    assert no_training == []


def test_train_plot_without_matplotlib_is_refused_before_training(cli, tmp_path, monkeypatch, no_training):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = cli(["train", "homework", "--plot", str(tmp_path / "loss.png")])
    one_line_error(result, "plotting needs matplotlib")
    assert result.out == "" and no_training == []


def test_train_plot_is_written_whole_or_not_at_all(cli, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "loss.png"
    plot.write_bytes(b"the last run's curve")
    monkeypatch.setattr(os, "fsync", failing("fsync", FULL))
    one_line_error(cli(["train", "homework", "--steps", "5", "--plot", str(plot)]), "No space left on device")
    assert plot.read_bytes() == b"the last run's curve" and leftovers(tmp_path) == []
    monkeypatch.undo()
    assert cli(["train", "homework", "--steps", "5", "--plot", str(plot)]).status == 0
    assert plot.read_bytes().startswith(b"\x89PNG") and mode(plot) == 0o666 & ~current_umask()


# -- exercise ------------------------------------------------------------------------------------------------


def test_exercise_writes_each_file_through_write_file(cli, tmp_path, monkeypatch):
    import handprop.problem.files

    written = []
    real = handprop.problem.files.write_file

    def recorded(path, text):
        written.append(path)
        real(path, text)

    monkeypatch.setattr(handprop.problem.files, "write_file", recorded)
    result = cli(["exercise", "--count", "2", "-o", str(tmp_path / "out")])
    assert result.status == 0 and written == result.out.splitlines() and len(written) == 10


def test_exercise_failing_midway_leaves_no_half_file(cli, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    old = folder / "variant-01-sheet.md"
    old.write_text("last year's sheet\n")
    # The second file, the sheet, fails as a full disk does.
    monkeypatch.setattr(os, "fsync", failing("fsync", FULL, after=1))
    one_line_error(cli(["exercise", "-o", str(folder)]), "variant-01-sheet.md: cannot write: No space left")
    assert old.read_text() == "last year's sheet\n" and leftovers(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == ["variant-01-sheet.md", "variant-01.toml"]
    assert mode(folder / "variant-01.toml") == 0o666 & ~current_umask()


# -- a console that cannot show every character ----------------------------------------------------------------


def run(args, encoding: str, cwd) -> subprocess.CompletedProcess:
    """`python -m handprop` as its own process, its standard output in `encoding`, as a Windows console's."""
    environment = {**os.environ, "PYTHONIOENCODING": encoding}
    environment.pop("PYTHONUTF8", None)
    return subprocess.run([sys.executable, "-m", "handprop", *args], capture_output=True, cwd=cwd, env=environment,
                          timeout=120)


def decoded(done: subprocess.CompletedProcess, encoding: str) -> tuple[str, str]:
    assert b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
    return done.stdout.decode(encoding), done.stderr.decode(errors="replace")


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
def test_grade_on_a_console_without_the_marks(tmp_path, encoding):
    write(tmp_path, "answers.csv", ANSWERS)
    out, err = decoded(done := run(["grade", "homework", "answers.csv"], encoding, tmp_path), encoding)
    assert done.returncode == 1 and err == ""
    rows = {line.split()[1]: line for line in out.splitlines()[5:11]}
    assert rows["out1"].startswith("ok  out1") and rows["dL/dw1"].startswith("x   dL/dw1")
    assert rows["w1'"].startswith("->  w1'")
    assert len({line.index(line.split()[2]) + len(line.split()[2]) for line in rows.values()}) == 1  # lined up
    assert "-(dL/dw1)" in rows["dL/dw1"] and "\u2212" not in out
    assert out.isascii() or encoding == "cp1252"


def test_grade_and_verify_json_are_the_same_document_on_any_console(tmp_path):
    write(tmp_path, "greek.toml", GREEK)
    write(tmp_path, "answers.csv", ANSWERS)
    for args, status, encodings in ((["grade", "greek.toml", "answers.csv", "--format", "json"], 1,
                                     ("utf-8", "cp1252", "ascii")),
                                    (["verify", "greek.toml", "--format", "json", "--steps", "1"], 0,
                                     ("utf-8", "cp1252"))):
        documents = []
        for encoding in encodings:
            out, _ = decoded(done := run(args, encoding, tmp_path), encoding)
            assert done.returncode == status, (args, encoding)
            assert out.isascii() or encoding == "utf-8"
            documents.append(json.loads(out))
        assert all(document == documents[0] for document in documents), args
        assert documents[0]["title"] == "Übung θ − ∂L/∂w ≤ 1 ✓"


def test_verify_on_a_console_without_theta(tmp_path):
    encoding = "cp1252"  # the ASCII console takes the same path; starting PyTorch twice is not worth it
    write(tmp_path, "greek.toml", GREEK)
    out, err = decoded(done := run(["verify", "greek.toml", "--steps", "1"], encoding, tmp_path), encoding)
    assert done.returncode == 0 and err == ""
    assert "(L(theta+h) - L(theta-h)) / 2h, h = eps^(1/3) max(1, |theta|)" in out
    assert "theta - dL/dw <= 1 ok" in out.splitlines()[0] and "verdict: ok" in out


@pytest.mark.parametrize("encoding", ["cp1252", "ascii"])
@pytest.mark.parametrize("args", [["solve"], ["solve", "--format", "markdown", "--nodes"], ["explain"],
                                  ["explain", "--expand"], ["train", "--steps", "3"],
                                  ["train", "--steps", "3", "--format", "csv"]])
def test_solve_explain_and_train_never_crash_on_a_narrow_console(tmp_path, encoding, args):
    write(tmp_path, "greek.toml", GREEK)
    out, err = decoded(done := run([args[0], "greek.toml", *args[1:]], encoding, tmp_path), encoding)
    assert done.returncode == 0 and err == ""
    if args[-1] != "csv":
        assert "theta - dL/dw <= 1 ok" in out
        assert ("Übung" if encoding == "cp1252" else "Ubung") in out


def test_html_and_svg_on_a_narrow_console_are_the_same_document_in_ascii(tmp_path):
    write(tmp_path, "greek.toml", GREEK)
    for args in (["explain", "greek.toml", "--format", "html"], ["diagram", "greek.toml"]):
        out, _ = decoded(done := run(args, "cp1252", tmp_path), "cp1252")
        assert done.returncode == 0 and out.isascii()
        assert "&#220;bung &#952; &#8722; &#8706;L/&#8706;w &#8804; 1 &#10003;" in out


def test_the_marks_are_chosen_by_standard_outputs_encoding_when_writing(tmp_path, monkeypatch):
    answers = write(tmp_path, "answers.csv", ANSWERS)
    outputs = {}
    for encoding in ("utf-8", "cp1252"):
        stream = io.TextIOWrapper(io.BytesIO(), encoding=encoding)
        monkeypatch.setattr(sys, "stdout", stream)
        assert main(["grade", "homework", answers]) == 1
        stream.flush()
        outputs[encoding] = stream.buffer.getvalue().decode(encoding)
    monkeypatch.undo()
    assert "\u2713  out1" in outputs["utf-8"] and "\u21b3  w1'" in outputs["utf-8"]
    assert "ok  out1" in outputs["cp1252"] and "->  w1'" in outputs["cp1252"] and "\u2713" not in outputs["cp1252"]


def test_console_text_keeps_what_the_stream_carries():
    from handprop.cli.options import console_text

    cp1252 = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    ascii_ = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    text = "Übung: θ' = θ − γ·dL/dθ, ✓ ✗ ↳ ∂ ½"
    assert console_text(text, stream=utf8) == text
    assert console_text(text, stream=cp1252) == "Übung: theta' = theta - gamma·dL/dtheta, ok x -> d ½"
    assert console_text(text, stream=ascii_) == "Ubung: theta' = theta - gamma*dL/dtheta, ok x -> d ?"
    assert console_text(text, stream=io.StringIO()) == text
    assert console_text("a \udc80 b", stream=utf8) == "a ? b"
    assert json.loads(console_text(json.dumps({"t": text}, ensure_ascii=False), "json", stream=cp1252)) == {"t": text}
