"""The page's fields: each edit to a problem's text, checked by reading the edited text back as a problem."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("tomlkit")

from handprop.core.errors import HandpropError  # noqa: E402
from handprop.problem.files import example_path, parse_text  # noqa: E402
from handprop.serve.tasks import load_text  # noqa: E402
from handprop.serve.fields import fields  # noqa: E402
from handprop.serve.form import MAX_FORM_PARAMETERS, edit_text, stepped_text, written  # noqa: E402
from handprop.solver import solve  # noqa: E402

HOMEWORK = example_path("homework").read_text(encoding="utf-8")
KINDS = {".toml": "toml", ".json": "json", ".yaml": "yaml"}


def example(name: str) -> tuple[str, str]:
    path = example_path(name)
    return path.read_text(encoding="utf-8"), KINDS[path.suffix]


def edited(text: str, *edits, kind: str = "toml"):
    """The problem read back from the text after the edits (field, value), and that text."""
    after = edit_text(text, [{"field": f, "value": v} for f, v in edits], kind=kind, label="p")
    return load_text(after, kind=kind, label="p"), after


def layered_values(problem) -> dict:
    """(layer, unit, input) -> weight and (layer, unit) -> bias, 0-based, whatever the naming."""
    from handprop.problem.layered import bias_names, weight_rows

    values = {}
    for n, (rows, biases) in enumerate(zip(weight_rows(problem.network), bias_names(problem.network))):
        for j, (row, b) in enumerate(zip(rows, biases)):
            values.update({("w", n, j, k): problem.parameters[w] for k, w in enumerate(row)})
            values[("b", n, j)] = problem.parameters[b]
    return values


# -- parameters ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["homework", "homework_equations", "shared_weight", "logistic_bce",
                                  "regression_batch"])
def test_each_parameter_edit_changes_that_parameter_only(name):
    text, kind = example(name)
    before = load_text(text, kind=kind)
    for parameter in before.parameters:
        after, _ = edited(text, (f"parameter.{parameter}", "0.125"), kind=kind)
        assert after.parameters == {**before.parameters, parameter: 0.125}
        assert after.data == before.data and after.optimizer == before.optimizer


def test_toml_edits_keep_comments_and_layout():
    _, after = edited(HOMEWORK, ("parameter.w4", "0.35"), ("parameter.b5", "-1"), ("optimizer.lr", "0.25"))
    changed = [(a, b) for a, b in zip(HOMEWORK.splitlines(), after.splitlines()) if a != b]
    assert changed == [("w = [0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]",
                        "w = [0.1, 0.5, 0.2, 0.35, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]"),
                       ("b = [0.3, 0.3, 0.3, 0.7, 0.7]", "b = [0.3, 0.3, 0.3, 0.7, -1]"),
                       ("lr = 0.5", "lr = 0.25")]


def test_parameters_given_one_by_one_are_edited_where_they_are():
    single = HOMEWORK.replace("b = [0.3, 0.3, 0.3, 0.7, 0.7]", "b1 = 0.3\nb2 = 0.3\nb3 = 0.3\nb4 = 0.7\nb5 = 0.7")
    after, written = edited(single, ("parameter.b2", "0.9"))
    assert "b2 = 0.9" in written and after.parameters["b2"] == 0.9 and after.parameters["b1"] == 0.3


def test_drawn_parameters_are_written_out_when_one_is_edited():
    text = HOMEWORK.replace("w = [0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]\nb = [0.3, 0.3, 0.3, 0.7, 0.7]",
                            'init = "xavier_uniform"\nseed = 3')
    drawn = load_text(text).parameters
    after, written = edited(text, ("parameter.w2", "0.5"))
    assert "init" not in written and after.parameters == {**drawn, "w2": 0.5}


# -- data ---------------------------------------------------------------------------------------------------

def test_inputs_and_targets_of_each_sample():
    text, kind = example("regression_batch")
    before = load_text(text, kind=kind)
    after, _ = edited(text, ("data.x2.1", "0.75"), ("data.t1.2", "-2"), kind=kind)
    assert after.data["x2"] == (1.0, 0.75, 1.0) and after.data["t1"] == (0.5, 1.0, -2)
    assert after.data["x1"] == before.data["x1"] and after.parameters == before.parameters
    one, _ = edited(HOMEWORK, ("data.x1.0", "0.5"), ("data.t2.0", "1"), ("data.t1.0", "0"))
    assert one.sample(0) == {"x1": 0.5, "x2": 0.33, "t1": 0, "t2": 1}


def test_equations_data_lists_and_constants():
    text = example_path("shared_weight").read_text(encoding="utf-8").replace("[data]", "[data]\nk = 2.0")
    text = text.replace("L = 1/2*(y - t)**2", "L = 1/2*(y - t)**2 * k")
    after, _ = edited(text, ("data.x.1", "3"), ("data.k", "0.5"))
    assert after.data == {"x": (1.0, 3), "t": (0.3, 0.8), "k": (0.5, 0.5)}
    groups = {g["title"]: g for g in fields(after, parse_text(edited(text)[1], "toml", "p"))}
    assert [f["id"] for f in groups["Data"]["fields"]] == ["data.k", "samples.add"]
    assert groups["Data"]["tables"][0]["columns"] == ["x", "t", ""]  # the last: each sample's remove button


@pytest.mark.parametrize("name", ["homework", "regression_batch", "shared_weight", "homework_equations"])
def test_samples_are_added_as_a_copy_of_the_last_and_removed(name):
    text, kind = example(name)
    before = load_text(text, kind=kind)
    more, written = edited(text, ("samples.add", ""), kind=kind)
    assert more.batch_size == before.batch_size + 1
    assert more.data == {n: v + v[-1:] for n, v in before.data.items()}
    fewer, _ = edited(written, ("samples.0.remove", ""), kind=kind)
    assert fewer.data == {n: v[1:] + v[-1:] for n, v in before.data.items()}


def test_an_equations_constant_stays_one_when_samples_are_added():
    text = example_path("shared_weight").read_text(encoding="utf-8").replace("[data]", "[data]\nk = 2.0")
    text = text.replace("L = 1/2*(y - t)**2", "L = 1/2*(y - t)**2 * k")
    after, written = edited(text, ("samples.add", ""))
    assert "k = 2.0" in written and after.data["k"] == (2.0, 2.0, 2.0) and after.data["x"] == (1.0, 2.0, 2.0)


# -- optimizer ----------------------------------------------------------------------------------------------

def test_optimizer_settings():
    after, _ = edited(HOMEWORK, ("optimizer.name", "sgd"), ("optimizer.momentum", "0.9"),
                      ("optimizer.nesterov", "true"), ("optimizer.steps", "3"), ("optimizer.lr", "1e-2"))
    assert (after.optimizer.lr, after.optimizer.steps, after.optimizer.option("momentum"),
            after.optimizer.option("nesterov")) == (0.01, 3, 0.9, True)
    adam, written = edited(HOMEWORK, ("optimizer.momentum", "0.9"), ("optimizer.name", "adam"),
                           ("optimizer.betas.1", "0.99"))
    assert "momentum" not in written  # SGD's settings go with it
    assert adam.optimizer.name == "adam" and adam.optimizer.option("betas") == (0.9, 0.99) and adam.optimizer.lr == 0.5


# -- the network's shape ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["homework", "regression_batch"])
@pytest.mark.parametrize("edit, widths, keep", [
    (("network.inputs", "3"), None, [0, 1]),
    (("network.inputs", "1"), None, [0, 1]),
    (("network.layers.0.units", "5"), None, [0, 1]),
    (("network.layers.1.units", "3"), None, [0, 1]),
    (("network.layers.add", ""), "add", [0, None, 1]),
    (("network.layers.0.remove", ""), "remove", [1]),
])
def test_shape_edits_keep_every_value_that_still_fits(name, edit, widths, keep):
    text, kind = example(name)
    before = load_text(text, kind=kind)
    after, _ = edited(text, edit, kind=kind)
    old, new = layered_values(before), layered_values(after)
    old_widths, new_widths = before.network.widths(), after.network.widths()
    if widths == "add":
        assert new_widths == old_widths[:-1] + [old_widths[-2], old_widths[-1]]
    elif widths == "remove":
        assert new_widths == [old_widths[0]] + old_widths[2:]
    else:
        assert len(new_widths) == len(old_widths) and sum(a != b for a, b in zip(old_widths, new_widths)) == 1
    for (kind_, n, *place), value in new.items():
        source = keep[n]
        mapped = (kind_, source, *place) if source is not None else None
        if mapped in old:
            assert value == old[mapped], (kind_, n, place)
        else:  # a new weight or bias: two decimals in [-0.5, 0.5]
            assert -0.5 <= value <= 0.5 and round(value, 2) == value
    assert len(new) == sum(a * b + b for a, b in zip(new_widths, new_widths[1:]))
    # The data follow the shape: inputs kept where they fit, targets likewise (new ones 0).
    for k in range(before.batch_size):
        old_x = [before.data[x][k] for x in before.network.inputs]
        new_x = [after.data[x][k] for x in after.network.inputs]
        assert new_x[:len(old_x)] == old_x[:len(new_x)]
        old_t = [before.data[t][k] for t in before.network.targets]
        new_t = [after.data[t][k] for t in after.network.targets]
        assert new_t[:len(old_t)] == old_t[:len(new_t)] and all(t == 0 for t in new_t[len(old_t):])
    assert solve(after).loss == solve(load_text(edited(text, edit, kind=kind)[1], kind=kind)).loss  # repeatable


def test_activation_and_loss_choices():
    after, written = edited(HOMEWORK, ("network.layers.0.activation", "leaky_relu"),
                            ("network.layers.0.alpha", "0.2"))
    assert after.network.layers[0].activation == "leaky_relu" and dict(after.network.layers[0].params)["alpha"] == 0.2
    back, written = edited(written, ("network.layers.0.activation", "tanh"))
    assert back.network.layers[0].activation == "tanh" and "alpha" not in written  # alpha is leaky_relu's only
    mse, _ = edited(HOMEWORK, ("network.loss", "mse"), ("network.layers.1.activation", "sigmoid"))
    assert mse.network.loss == "mse" and mse.network.layers[1].activation == "sigmoid"


def test_a_hidden_layer_added_to_a_network_of_one_layer():
    text, kind = example("logistic_bce")
    before = load_text(text, kind=kind)
    after, _ = edited(text, ("network.layers.add", ""), kind=kind)
    assert after.network.widths() == [2, 2, 1] and after.network.layers[0].activation == "relu"
    assert after.network.layers[1] == before.network.layers[0]
    # The output unit keeps its bias, and its weights from the first two of its (new) inputs.
    assert after.parameters["b3"] == before.parameters["b1"]
    assert (after.parameters["w5"], after.parameters["w6"]) == (before.parameters["w1"], before.parameters["w2"])


def test_an_added_layer_in_toml_is_written_inline_like_its_neighbours():
    _, written = edited(HOMEWORK, ("network.layers.add", ""))
    line = next(line for line in written.splitlines() if line.startswith("layers = "))
    assert line.count("{") == 3 and "[[" not in written


# -- JSON and YAML ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["logistic_bce", "regression_batch"])
def test_json_and_yaml_are_written_back_in_their_own_kind(name):
    text, kind = example(name)
    after, written = edited(text, ("parameter." + next(iter(load_text(text, kind=kind).parameters)), "0.5"),
                            kind=kind)
    if kind == "json":
        json.loads(written)
        assert '"w": [0.5, -0.6]' in written  # short lists stay on one line
    else:
        assert "W1:\n  - [0.5, -0.3]" in written or "W1: [[0.5, -0.3]" in written
    assert after.title == load_text(text, kind=kind).title


@pytest.mark.parametrize("name", ["homework", "homework_equations", "shared_weight", "logistic_bce",
                                  "regression_batch"])
def test_one_more_step_in_every_kind(name):
    text, kind = example(name)
    problem = load_text(text, kind=kind)
    after = load_text(stepped_text(text, problem, kind=kind), kind=kind)
    # written at the decimals shown plus WRITTEN_EXTRA, by the rounding rule of every shown number
    assert after.parameters == {n: written(r.updated, problem.decimals)
                                for n, r in solve(problem, steps=1).parameters.items()}


# -- the fields the page draws ------------------------------------------------------------------------------

def test_the_homeworks_fields_hold_its_values():
    problem = load_text(HOMEWORK)
    groups = {g["title"]: g for g in fields(problem, parse_text(HOMEWORK, "toml", "hw"))}
    cells = [c for t in groups["Parameters"]["tables"] for r in t["rows"] for c in r["cells"]]
    assert {c["id"]: float(c["value"]) for c in cells} == {f"parameter.{n}": v for n, v in problem.parameters.items()}
    assert [t["caption"] for t in groups["Parameters"]["tables"]] == ["Layer 1: into h1..h3", "Layer 2: into o1..o2"]
    assert [r["label"] for r in groups["Parameters"]["tables"][1]["rows"]] == ["o1", "o2"]
    assert groups["Parameters"]["tables"][1]["columns"] == ["a1", "a2", "a3", "bias"]
    data = groups["Data"]["tables"][0]
    assert data["columns"] == ["x1", "x2", "t1", "t2"] and [c["value"] for c in data["rows"][0]["cells"]] == \
        ["0.26", "0.33", "1", "0"]
    network = {f["id"]: f for f in groups["Network"]["fields"]}
    assert network["network.loss"]["value"] == "cross_entropy" and "mse" in network["network.loss"]["options"]
    optimizer = {f["id"]: f["value"] for f in groups["Optimizer"]["fields"]}
    assert optimizer["optimizer.lr"] == "0.5" and optimizer["optimizer.nesterov"] == "false"


def test_every_field_drawn_can_be_edited():
    """Each field the page draws, set to its own value, gives the same problem back."""
    for name in ("homework", "homework_equations", "regression_batch", "logistic_bce"):
        text, kind = example(name)
        problem = load_text(text, kind=kind, label="p")
        groups = fields(problem, parse_text(text, kind, name))
        drawn = [f for g in groups for f in g.get("fields", [])]
        drawn += [c for g in groups for t in g.get("tables", []) for r in t["rows"] for c in r["cells"] if c]
        for field in drawn:
            if field["type"] != "action":
                assert edited(text, (field["id"], field["value"]), kind=kind)[0] == problem, field["id"]


def test_large_problems_are_not_drawn_field_by_field():
    text = HOMEWORK.replace("{ units = 3,", "{ units = 300,").replace(
        "w = [0.1, 0.5, 0.2, 0.4, 0.4, 0.1, 0.1, 0.5, 0.3, 0.2, 0.1, 0.4]\nb = [0.3, 0.3, 0.3, 0.7, 0.7]", 'init = "he_uniform"')
    groups = {g["title"]: g for g in fields(load_text(text), parse_text(text, "toml", "big"))}
    assert "tables" not in groups["Parameters"] and "too many" in groups["Parameters"]["note"]


# -- bad input ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("parameter.w1", "abc", "p: w1: 'abc' is not a number (a number, such as 0.5)"),
    ("parameter.w1", "inf", "'inf' is not a finite number"),
    ("parameter.w99", "1", "parameter w99: no such parameter"),
    ("data.x1.0", "", "'' is not a number"),
    ("data.z.0", "1", "data.z: no data named 'z'"),
    ("optimizer.name", "sgdd", "unknown choice 'sgdd' (did you mean 'sgd'?"),
    ("optimizer.steps", "1.5", "'1.5' is not a whole number of 1 or more"),
    ("optimizer.eps", "1", "optimizer.eps: is not a setting of this optimizer"),
    ("network.layers.0.units", "0", "layer 1: units: '0' is not a whole number of 1 or more"),
    ("network.layers.5.units", "2", "no layer 6 (layers 1 to 2)"),
    ("network.layers.1.remove", "", "the output layer cannot be removed"),
    ("network.layers.0.activation", "relu6", "unknown choice 'relu6'"),
    ("network.loss", "hinge", "unknown choice 'hinge'"),
    ("network.inputs", "700", f"at most {MAX_FORM_PARAMETERS:,} on this page"),
    ("title", "x", "title: is not a field the page edits"),
    ("samples.0.remove", "", "data: the only sample cannot be removed (at least one sample)"),
    ("samples.3.remove", "", "data: no sample 4 (samples 1 to 1)"),
])
def test_bad_edits_are_one_line_errors(field, value, message):
    with pytest.raises(HandpropError) as raised:
        edit_text(HOMEWORK, [{"field": field, "value": value}], label="p")
    assert message in raised.value.line() and "\n" not in raised.value.line()


def test_edits_to_a_text_with_bad_values_in_it():
    """The text's own mistakes stay the loader's to report; the edits around them still work."""
    bad_name = HOMEWORK.replace('name = "sgd"', "name = [1]")
    assert "lr = 0.1" in edit_text(bad_name, [{"field": "optimizer.lr", "value": "0.1"}])
    with pytest.raises(HandpropError, match="is not a setting of this optimizer"):
        edit_text(bad_name, [{"field": "optimizer.momentum", "value": "0.9"}])
    bad_betas = HOMEWORK.replace('name = "sgd"', 'name = "adam"\nbetas = 0.9')
    after, _ = edited(bad_betas, ("optimizer.betas.1", "0.99"))
    assert after.optimizer.option("betas") == (0.9, 0.99)


def test_bad_edits_of_other_forms():
    equations = example_path("homework_equations").read_text(encoding="utf-8")
    with pytest.raises(HandpropError, match="equations form has no layers"):
        edit_text(equations, [{"field": "network.layers.add", "value": ""}])
    with pytest.raises(HandpropError, match="reads no data files"):
        edit_text(example_path("moons").read_text(encoding="utf-8"), [{"field": "parameter.w1", "value": "1"}])
    with pytest.raises(HandpropError, match="invalid TOML"):
        edit_text("[network", [{"field": "parameter.w1", "value": "1"}])
    with pytest.raises(HandpropError, match="not {field, value}"):
        edit_text(HOMEWORK, ["parameter.w1"])


# -- anything at all: a one-line error or a text, never a crash ----------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PART = st.one_of(st.sampled_from(["network", "layers", "inputs", "units", "activation", "alpha", "add", "remove",
                                   "loss", "optimizer", "name", "lr", "steps", "betas", "momentum", "nesterov",
                                   "parameter", "w1", "W1[1,1]", "data", "x1", "t1", "x", "samples", "0", "1",
                                   "2", "7", "-1", "99999999999", "\u00b2", "\u0663", ""]),
                  st.text(max_size=6))
_VALUE = st.one_of(st.sampled_from(["0", "1", "0.5", "-1", "1e999", "nan", "relu", "adam", "mse", "true", "",
                                    "3", "700", "9" * 5000, "\u0663"]),
                   st.text(max_size=10), st.integers(), st.floats(), st.booleans(), st.none(),
                   st.lists(st.integers(), max_size=2))


@pytest.mark.parametrize("name", ["homework", "regression_batch", "shared_weight", "logistic_bce"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.lists(_PART, min_size=1, max_size=4).map(".".join), _VALUE), max_size=3))
def test_any_edit_gives_a_text_or_a_one_line_error(name, edits):
    text, kind = example(name)
    try:
        after = edit_text(text, [{"field": f, "value": v} for f, v in edits], kind=kind, label="p")
    except HandpropError as error:
        assert "\n" not in error.line()
        return
    parse_text(after, kind, "p")  # whatever the edits, the text is still the file's kind
