"""`handprop site`: the static site's files, its marker, and every bad input as one line (no network, no browser;
tests/test_site_browser.py runs the site in Chromium)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from conftest import write
from handprop.site import MARKER, PYODIDE_CDN, PYODIDE_FILES, PYODIDE_VERSION

pytest.importorskip("tomlkit")  # a site holds tomlkit's wheel: it must be installed to be put there


def fake_pyodide(folder: Path, version: str = PYODIDE_VERSION, missing: tuple = ()) -> str:
    """A folder shaped like an unpacked npm package pyodide (files of a few bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in PYODIDE_FILES:
        if name not in missing:
            (folder / name).write_text(f"// {name}\n")
    (folder / "package.json").write_text(json.dumps({"name": "pyodide", "version": version}))
    return str(folder)


def test_a_site_holds_the_page_the_wheels_the_examples_and_its_marker(cli, tmp_path):
    out = tmp_path / "site"
    result = cli(["site", "-o", str(out)])
    assert result.status == 0, result.err
    assert "Pyodide from its CDN" in result.out
    for name in ("index.html", "assets/app.js", "assets/site.js", "assets/python-worker.js", "assets/style.css",
                 "assets/math-font.woff2", "examples/homework.toml", "examples/index.json", "start.json", MARKER):
        assert (out / name).is_file(), name
    page = (out / "index.html").read_text()
    config = json.loads(page.split('<script id="site" type="application/json">')[1].split("</script>")[0])
    assert config["pyodide"] == PYODIDE_CDN and PYODIDE_VERSION in PYODIDE_CDN
    assert config["timeLimit"] == 10 and config["extensions"][".toml"] == "toml"
    assert "{{initial}}" not in page and '"/assets/' not in page and "Machine Learning Homework 1" in page
    # The page's scripts: the site's transport first in the head (the worker starts before the page is read),
    # and before serve's page code.
    assert page.index("assets/site.js") < page.index("</head>") and page.index("assets/site.js") < page.index("assets/app.js")
    # The worker's start unpacks what the first task needs; PyYAML is fetched when Python first imports yaml.
    names = {Path(wheel).name.split("-")[0] for wheel in config["wheels"]}
    assert names == {"handprop", "latex2mathml", "tomlkit"}
    assert list(config["onDemand"]) == ["yaml"] and Path(config["onDemand"]["yaml"]).name.startswith("pyyaml-")
    for wheel in config["wheels"] + list(config["onDemand"].values()):
        with zipfile.ZipFile(out / wheel) as archive:
            files = archive.namelist()
            assert any(f.endswith(".dist-info/METADATA") for f in files) and any(f.endswith("/RECORD") for f in files)
            assert not any(f.endswith((".so", ".pyc")) for f in files), wheel
            if "handprop-" in wheel:
                assert "handprop/serve/tasks.py" in files and "handprop/site/bridge.py" in files
                assert "handprop/examples/homework.toml" in files
    listed = json.loads((out / "examples" / "index.json").read_text())
    assert {"name": "homework", "title": "Machine Learning Homework 1", "file": "homework.toml"} in listed
    marker = json.loads((out / MARKER).read_text())
    assert marker["generator"] == "handprop site" and marker["pyodide"] == PYODIDE_VERSION
    assert not marker["pyodide_bundled"] and "index.html" in marker["files"]


def test_the_first_answer_is_the_task_the_browser_runs(cli, tmp_path):
    from handprop.problem.files import example_path
    from handprop.serve.tasks import TASKS

    assert cli(["site", "-o", str(tmp_path / "s")]).status == 0
    start = json.loads((tmp_path / "s" / "start.json").read_text())
    assert start["request"]["text"] == example_path("homework").read_text()
    expected = TASKS["solve"](dict(start["request"]))
    assert start["answer"]["table"] == expected["table"] and start["answer"]["html"] == expected["html"]
    assert start["answer"]["boundary"] is None  # the browser has no NumPy


def test_example_and_problem_choose_the_first_problem(cli, tmp_path):
    assert cli(["site", "-o", str(tmp_path / "a"), "--example", "logistic_bce"]).status == 0
    start = json.loads((tmp_path / "a" / "start.json").read_text())
    assert start["request"]["label"] == "logistic_bce" and start["answer"]["ok"]
    mine = write(tmp_path, "mine.yaml", (Path(__file__).parent.parent / "src/handprop/examples/regression_batch.yaml")
                 .read_text())
    assert cli(["site", "-o", str(tmp_path / "b"), "--problem", mine]).status == 0
    start = json.loads((tmp_path / "b" / "start.json").read_text())
    assert start["request"]["label"] == "mine.yaml" and start["request"]["kind"] == "yaml"
    assert str(tmp_path) not in (tmp_path / "b" / "index.html").read_text()  # not this machine's path


def test_a_rebuild_writes_into_the_site_and_removes_what_it_no_longer_has(cli, tmp_path):
    out = tmp_path / "site"
    pyodide = fake_pyodide(tmp_path / "pyodide")
    assert cli(["site", "-o", str(out), "--pyodide", pyodide]).status == 0
    assert (out / "pyodide" / "pyodide.asm.wasm").is_file() and (out / "pyodide" / "package.json").is_file()
    config = (out / "index.html").read_text()
    assert '"pyodide": "pyodide/"' in config and "cdn.jsdelivr" not in config
    assert json.loads((out / MARKER).read_text())["pyodide_bundled"]
    (out / "CNAME").write_text("class.example.org\n")  # a file of the host's, not the site's
    result = cli(["site", "-o", str(out)])
    assert result.status == 0, result.err
    assert not (out / "pyodide").exists()  # the copy the first build made is gone with the option
    assert (out / "CNAME").read_text() == "class.example.org\n"


@pytest.mark.parametrize("case", ["not a site", "a file"])
def test_output_that_is_not_a_site_is_refused_before_anything_is_written(cli, tmp_path, case):
    out = tmp_path / "mine"
    if case == "a file":
        out.write_text("notes\n")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("keep me\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = cli(["site", "-o", str(out)])
    assert result.status == 2 and result.out == "" and len(result.err.splitlines()) == 1
    assert result.err.startswith(f"handprop: error: -o: {out}")
    assert ("is a file" if case == "a file" else f"is not empty and is not a handprop site (it has no {MARKER})") in result.err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_a_rebuild_removes_no_file_outside_the_site_whatever_its_marker_says(cli, tmp_path):
    out = tmp_path / "site"
    assert cli(["site", "-o", str(out)]).status == 0
    outside = write(tmp_path, "outside.txt", "mine\n")
    marker = json.loads((out / MARKER).read_text())
    marker["files"] += ["../outside.txt", outside]
    (out / MARKER).write_text(json.dumps(marker))
    assert cli(["site", "-o", str(out)]).status == 0
    assert Path(outside).read_text() == "mine\n"


def test_a_site_needs_the_packages_it_carries_installed(cli, tmp_path, monkeypatch):
    from importlib import metadata

    real = metadata.distribution

    def distribution(name):
        if name == "tomlkit":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "distribution", distribution)
    result = cli(["site", "-o", str(tmp_path / "out")])
    assert result.status == 2 and result.err == ("handprop: error: the site needs tomlkit installed, to put it in the "
                                                 "site (pip install 'handprop[serve]')\n")
    assert not (tmp_path / "out").exists()


def test_a_marker_that_is_not_handprops_does_not_make_a_site(cli, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / MARKER).write_text("{}")
    assert cli(["site", "-o", str(out)]).status == 2


@pytest.mark.parametrize("case, said", [
    ("no folder", "no such folder"),
    ("not pyodide", "is not a Pyodide distribution (it has no pyodide.asm.wasm, python_stdlib.zip)"),
    ("other version", "is Pyodide 0.26.4 (Pyodide " + PYODIDE_VERSION + ", the version this handprop pins"),
])
def test_a_pyodide_folder_of_another_kind_or_version_is_refused_saying_which(cli, tmp_path, case, said):
    folder = tmp_path / "pyodide"
    if case == "not pyodide":
        fake_pyodide(folder, missing=("pyodide.asm.wasm", "python_stdlib.zip"))
    elif case == "other version":
        fake_pyodide(folder, version="0.26.4")
    result = cli(["site", "-o", str(tmp_path / "site"), "--pyodide", str(folder)])
    assert result.status == 2 and len(result.err.splitlines()) == 1, result.err
    assert result.err.startswith(f"handprop: error: --pyodide: {folder}") and said in result.err
    assert f"npm pack pyodide@{PYODIDE_VERSION}" in result.err
    assert not (tmp_path / "site").exists()


def test_a_pyodide_version_is_read_from_its_lock_file_without_a_package_json(tmp_path):
    from handprop.site import pyodide_version

    (tmp_path / "pyodide-lock.json").write_text(json.dumps({"info": {"version": "0.27.7"}, "packages": {}}))
    assert pyodide_version(tmp_path) == "0.27.7"
    assert pyodide_version(tmp_path / "nothing") is None


@pytest.mark.parametrize("args, said", [
    (["--example", "nosuch"], "nosuch: --example: no such example"),
    (["--problem", "missing.toml"], "missing.toml: no such file"),
    (["--time-limit", "0"], "--time-limit: 0 s (more than 0 and at most 3600 seconds)"),
    (["--example", "homework", "--problem", "x.toml"], "not allowed with argument"),
    ([], "the following arguments are required: -o"),
])
def test_bad_options_are_one_line(cli, tmp_path, monkeypatch, args, said):
    monkeypatch.chdir(tmp_path)
    result = cli(["site", *(["-o", "out"] if args else []), *args])
    assert result.status == 2 and result.out == "" and len(result.err.splitlines()) == 1, result.err
    assert said in result.err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["--problem", "p.toml"], ["--example", "xor"]])
def test_a_problem_reading_a_data_file_is_refused(cli, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "p.toml", '[data]\nfile = "d.csv"\n')
    result = cli(["site", "-o", "out", *args])
    assert result.status == 2 and "data.file: the site's page reads no data files" in result.err
    assert not (tmp_path / "out").exists()


def test_a_problem_with_an_error_is_opened_to_be_mended_on_the_page(cli, tmp_path):
    problem = write(tmp_path, "bad.toml", "[network\n")
    assert cli(["site", "-o", str(tmp_path / "out"), "--problem", problem]).status == 0
    start = json.loads((tmp_path / "out" / "start.json").read_text())
    assert start["answer"]["ok"] is False and start["answer"]["error"].startswith("bad.toml: ")


def test_the_site_is_a_command_line_process_too(tmp_path):
    from conftest import run_process

    result = run_process(["site", "-o", str(tmp_path / "out"), "--example", "homework"])
    assert result.status == 0 and result.err == "" and (tmp_path / "out" / "index.html").is_file()
