"""A network of layer kinds through grading and the page: answers named by their indices, kernel cells as
fields, edits written back into the nested lists of the text, one more step."""

from __future__ import annotations

import pytest

from handprop.problem.files import EXAMPLES_DIR
from handprop.serve.form import written
from handprop.serve.tasks import TASKS, load_text
from handprop.solver import solve

CNN = (EXAMPLES_DIR / "cnn_homework.toml").read_text()


def test_grade_reads_indexed_names_with_or_without_quotes(cli, tmp_path):
    solution = solve(load_text(CNN))
    kernel = solution.parameters["K1[1,1,2,2]"].gradient
    pooled = solution.nodes["p2[1,2,2]"].values[0]
    answers = tmp_path / "answers.csv"
    answers.write_text(f"name,value\ndL/dK1[1,1,2,2],{kernel:.4f}\n\"p2[1,2,2]\",{pooled:.4f}\n"
                       f"dL/db1[1],{solution.parameters['b1[1]'].gradient + 0.5:.4f}\n")
    result = cli(["grade", "cnn_homework", str(answers), "--format", "json"])
    import json

    graded = {entry["name"]: entry["status"] for entry in json.loads(result.out)["entries"]}
    assert graded == {"dL/dK1[1,1,2,2]": "correct", "p2[1,2,2]": "correct", "dL/db1[1]": "wrong"}, graded
    assert result.status == 1


def test_the_page_draws_each_kernel_as_a_grid_of_fields():
    answer = TASKS["solve"]({"text": CNN, "kind": "toml"})
    assert answer["ok"]
    groups = {group["title"]: group for group in answer["fields"]}
    assert "layer kinds (conv2d, maxpool2d, flatten, dense)" in groups["Network"]["note"]
    tables = {table["caption"]: table for table in groups["Parameters"]["tables"]}
    assert list(tables) == ["K1[1,1]", "b1", "W4", "b4"]
    kernel = [[cell["id"] for cell in row["cells"]] for row in tables["K1[1,1]"]["rows"]]
    assert kernel == [["parameter.K1[1,1,1,1]", "parameter.K1[1,1,1,2]"],
                      ["parameter.K1[1,1,2,1]", "parameter.K1[1,1,2,2]"]]
    assert tables["K1[1,1]"]["rows"][1]["cells"][0]["value"] == "0.4"
    data = groups["Data"]["tables"][0]
    assert data["rows"][0]["cells"][0]["id"] == "data.x[1,1,1].0"


def test_editing_a_kernel_cell_and_a_pixel_changes_the_feature_map():
    pytest.importorskip("tomlkit")  # the page edits TOML with it
    edits = [{"field": "parameter.K1[1,1,1,1]", "value": "0.5"}, {"field": "data.x[1,2,2].0", "value": "3"}]
    answer = TASKS["solve"]({"text": CNN, "kind": "toml", "edits": edits})
    assert answer["ok"], answer
    problem = load_text(answer["text"])
    assert problem.parameters["K1[1,1,1,1]"] == 0.5 and problem.data["x[1,2,2]"] == (3,)
    # z1[1,1,1] = K11*x11 + K12*x12 + K21*x21 + K22*x22 + b = 0.5*1 - 0.1*0 + 0.4*0 + 0.3*3 + 0.1
    assert solve(problem).nodes["z1[1,1,1]"].values[0] == pytest.approx(1.5, abs=1e-15)
    assert "K1 = [[[[0.5, -0.1]," in answer["text"]  # the nested list itself, its layout kept


def test_samples_are_added_and_removed_as_tensors():
    pytest.importorskip("tomlkit")  # the page edits TOML with it
    answer = TASKS["solve"]({"text": CNN, "kind": "toml", "edits": [{"field": "samples.add", "value": ""}]})
    problem = load_text(answer["text"])
    assert problem.batch_size == 2 and problem.data["x[1,4,4]"] == (2.0, 2.0)
    again = TASKS["solve"]({"text": answer["text"], "kind": "toml",
                            "edits": [{"field": "data.t2.1", "value": "1"}, {"field": "data.t1.1", "value": "0"},
                                      {"field": "samples.0.remove", "value": ""}]})
    assert load_text(again["text"]).data["t2"] == (1,)


def test_one_more_step_writes_the_updated_tensors():
    pytest.importorskip("tomlkit")  # the page edits TOML with it
    stepped = TASKS["step"]({"text": CNN, "kind": "toml"})
    assert stepped["ok"]
    problem = load_text(CNN)
    updated = solve(problem).parameters
    after = load_text(stepped["text"]).parameters
    for name, record in updated.items():  # at the decimals shown plus WRITTEN_EXTRA; the page's state, exactly
        assert after[name] == written(record.updated, problem.decimals), name
        assert stepped["state"]["parameters"][name]["value"] == record.updated, name


def test_a_layer_s_own_data_and_unknown_cells_are_refused_in_one_line():
    pytest.importorskip("tomlkit")  # the page edits TOML with it
    answer = TASKS["solve"]({"text": CNN, "kind": "toml", "edits": [{"field": "parameter.K1[1,1,3,1]",
                                                                      "value": "1"}]})
    assert not answer["ok"] and len(answer["error"].splitlines()) == 1 and "K1[1,1,3,1]" in answer["error"]
