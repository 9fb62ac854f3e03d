"""The NumPy engine's sequence kinds and per-sample normalisations (rnn, lstm, gru, attention, layernorm, dropout)
against the scalar engine: loss, every gradient and the parameters after 1, 3 and 10 steps of each optimizer, to
1e-12 in float64; float32 near float64; `handprop train --engine numpy` on the examples."""

from __future__ import annotations

import json
import random

import pytest
from test_numpy_stack import OPTIMIZERS, REL, assert_close, nested, run

from conftest import write, trained_on_both_engines
from handprop.engine.choice import make_engine
from handprop.engine.scalar import ScalarEngine
from handprop.problem.spec import from_dict

np = pytest.importorskip("numpy")
from handprop.engine.numpy_stack import NumpyStackEngine

KINDS = ["rnn_tanh", "rnn_relu", "lstm", "gru", "attention", "layernorm", "dropout"]
ALONE = KINDS[:-1]  # a dropout alone has no parameters
# (output activation, loss) of the dense head after flatten
HEADS = [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy"), ("identity", "mse"),
         ("tanh", "half_sse")]


def assert_engines_agree(problem, steps: int = 10) -> None:
    """As test_numpy_stack's, but each step's gradients within REL of the first step's largest gradient: a network
    that converges in 10 steps (gradients 10^4 smaller) starts each later step from parameters that differ by their
    own rounding, which no order of the sums can make agree to 1e-12 of the shrunken gradient."""
    losses, gradients, after = run(ScalarEngine(problem), problem, steps)
    fast_losses, fast_gradients, fast_after = run(NumpyStackEngine(problem), problem, steps)
    assert fast_losses == pytest.approx(losses, rel=REL)
    first = max(abs(v) for v in gradients[0].values())
    for step, (fast, slow) in enumerate(zip(fast_gradients, gradients), 1):
        assert list(fast) == list(slow)
        for name, value in slow.items():
            assert fast[name] == pytest.approx(value, rel=REL, abs=REL * first), f"gradient at step {step}: {name}"
    for step, parameters in after.items():
        assert_close(fast_after[step], parameters, REL, f"parameters after step {step}")


def kind_layer(kind: str, rng: random.Random, steps: int, features: int) -> tuple[dict, tuple]:
    """One layer of the kind with random settings, and its output shape."""
    if kind.startswith("rnn") or kind in ("lstm", "gru"):
        hidden = rng.randint(1, 4)
        layer = {"type": kind.split("_")[0], "hidden": hidden, "return": rng.choice(["last", "all"]),
                 "bias": rng.choice(["per_unit", "none"])}
        if kind.startswith("rnn"):
            layer["nonlinearity"] = kind.split("_")[1]
        return layer, ((hidden,) if layer["return"] == "last" else (steps, hidden))
    if kind == "attention":
        heads = rng.choice([h for h in (1, 2, 3) if features % h == 0])
        return {"type": "attention", "heads": heads, "causal": rng.choice([True, False]),
                "bias": rng.choice([True, False]), "residual": rng.choice([True, False])}, (steps, features)
    if kind == "layernorm":
        return {"type": "layernorm", "axes": rng.choice([1, 2]), "affine": rng.choice([True, False]),
                "activation": rng.choice(["identity", "tanh", "relu"])}, (steps, features)
    return {"type": "dropout", "p": rng.choice([0.0, 0.25, 0.5])}, (steps, features)


def random_sequence(kind: str, head: str | None, loss: str, batch: int, optimizer: dict, *, seed: int) -> dict:
    """A random network: the kind alone (head None: its output is the network's, with mse) or followed by flatten
    and a dense head; inputs in [-2, 2], the initial states and masks drawn per sample (or one for all)."""
    rng = random.Random(seed)
    steps, features = rng.randint(1, 4), rng.choice([2, 3, 4, 6])
    layer, shape = kind_layer(kind, rng, steps, features)
    if head is None and kind == "layernorm":
        layer["affine"] = True  # alone, it must hold the parameters
    if kind == "attention" and optimizer["name"] != "sgd":
        # bk's gradient is 0 in exact arithmetic (a constant added to a query's every score): both engines give
        # rounding noise, which Adam, RMSprop and Adagrad scale to steps of lr
        layer["bias"] = False
    layers = [layer]
    if head is not None:
        outputs = rng.choice([2, 3])
        layers += [{"type": "flatten"}, {"units": outputs, "activation": head}]
        out_shape = (outputs,)
    else:
        out_shape = shape
    count = 1
    for n in out_shape:
        count *= n
    if head == "softmax":
        targets = [[1.0 if j == k else 0.0 for j in range(count)] for k in [rng.randrange(count) for _ in range(batch)]]
    elif head == "sigmoid":
        targets = [[rng.choice([0.0, 1.0, 0.3]) for _ in range(count)] for _ in range(batch)]
    else:
        targets = [[rng.uniform(-1, 1) for _ in range(count)] for _ in range(batch)]
    data = {"x": [nested(iter(lambda: rng.uniform(-2, 2), None), (steps, features)) for _ in range(batch)],
            "t": [nested(iter(row), out_shape) for row in targets]}
    if layer["type"] in ("rnn", "lstm", "gru"):
        for state in ("h", "c") if layer["type"] == "lstm" else ("h",):
            if rng.random() < 0.7:
                one = lambda: [rng.uniform(-1, 1) for _ in range(layer["hidden"])]
                data[f"{state}0_1"] = [one() for _ in range(batch)] if rng.random() < 0.6 else one()
    if layer["type"] == "dropout" and layer["p"] > 0:
        data["mask1"] = [[[rng.choice([0.0, 1.0]) for _ in range(features)] for _ in range(steps)]
                         for _ in range(batch)]
    return {"network": {"input_shape": [steps, features], "layers": layers, "loss": loss},
            "parameters": {"init": "uniform", "seed": seed}, "optimizer": optimizer, "data": data}


def _id(optimizer):
    return optimizer["name"] + ("+momentum" if "momentum" in optimizer else "")


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=_id)
@pytest.mark.parametrize("kind", ALONE)
def test_a_kind_alone_takes_the_scalar_engines_steps(kind, optimizer):
    seed = KINDS.index(kind) * 10 + OPTIMIZERS.index(optimizer)
    batch = seed % 4 + 1
    assert_engines_agree(from_dict(random_sequence(kind, None, "mse", batch, optimizer, seed=seed)))


@pytest.mark.parametrize("head, loss", HEADS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("draw", [0, 1])
def test_a_kind_then_flatten_and_dense_takes_the_scalar_engines_steps(kind, head, loss, draw):
    seed = 1000 + KINDS.index(kind) * 100 + HEADS.index((head, loss)) * 10 + draw
    optimizer = OPTIMIZERS[seed % len(OPTIMIZERS)]
    batch = seed % 4 + 1
    assert_engines_agree(from_dict(random_sequence(kind, head, loss, batch, optimizer, seed=seed)))


def test_a_recurrent_layer_on_a_sequence_of_attention():
    raw = random_sequence("attention", "softmax", "cross_entropy", 3, OPTIMIZERS[1], seed=5)
    raw["network"]["layers"][1:1] = [{"type": "layernorm"}, {"type": "gru", "hidden": 3, "return": "all"},
                                     {"type": "lstm", "hidden": 2}]
    assert_engines_agree(from_dict(raw))


def test_a_mini_batch_of_rows_reads_each_samples_own_state_and_mask():
    raw = random_sequence("lstm", "identity", "mse", 4, OPTIMIZERS[0], seed=8)
    raw["data"]["h0_1"] = [[0.1 * (s + j) for j in range(raw["network"]["layers"][0]["hidden"])] for s in range(4)]
    problem = from_dict(raw)
    from handprop.engine.scalar import ScalarEngine

    scalar, fast = ScalarEngine(problem), NumpyStackEngine(problem)
    for rows in ([1, 3], [2], range(1, 4)):
        assert fast.loss_and_gradients(rows) == pytest.approx(scalar.loss_and_gradients(rows), rel=REL)
        assert_close(fast.gradients(), scalar.gradients(), REL, f"rows {rows}")


@pytest.mark.parametrize("kind", KINDS)
def test_float32_is_near_float64(kind):
    problem = from_dict(random_sequence(kind, "softmax", "cross_entropy", 4, OPTIMIZERS[2], seed=21))
    losses, gradients, after = run(NumpyStackEngine(problem), problem, 3)
    single = NumpyStackEngine(problem, dtype="float32")
    single_losses, single_gradients, single_after = run(single, problem, 3)
    assert single.theta.dtype == np.float32
    assert single_losses == pytest.approx(losses, rel=1e-4)
    assert_close(single_gradients[0], gradients[0], 1e-4, "gradient")
    assert_close(single_after[3], after[3], 1e-4, "parameters after step 3")


BATCHNORM = ["features", "channels", "grid"]


def random_batchnorm(shape: str, batch: int, optimizer: dict, *, seed: int) -> dict:
    """A network with a batch-norm (lowered over its whole batch): on features (F,), on channels (C, L) after a
    conv1d, or on (C, H, W) after a conv2d; then a dense head with softmax and cross-entropy."""
    rng = random.Random(seed)
    norm = {"type": "batchnorm", "affine": rng.choice([True, False]),
            "activation": rng.choice(["identity", "relu", "tanh"])}
    # The layer before the batch-norm has no bias, as usual: its gradient would be 0 in exact arithmetic (the
    # batch-norm subtracts each channel's mean), and both engines' rounding noise, scaled to steps of lr by Adam,
    # RMSprop and Adagrad, would be all that is compared.
    if shape == "features":
        input_shape = [rng.randint(2, 4)]
        layers = [{"units": 3, "activation": "tanh"}, norm]
    elif shape == "channels":
        input_shape = [2, rng.randint(3, 5)]
        layers = [{"type": "conv1d", "channels": 2, "kernel": 2, "bias": "none"}, norm, {"type": "flatten"}]
    else:
        input_shape = [1, 4, 4]
        layers = [{"type": "conv2d", "channels": 2, "kernel": 2, "bias": "none"}, norm, {"type": "flatten"}]
    layers.append({"units": 3, "activation": "softmax"})
    targets = [[1.0 if j == k else 0.0 for j in range(3)] for k in [rng.randrange(3) for _ in range(batch)]]
    return {"network": {"input_shape": input_shape, "layers": layers, "loss": "cross_entropy"},
            "parameters": {"init": "uniform", "seed": seed}, "optimizer": optimizer,
            "data": {"x": [nested(iter(lambda: rng.uniform(-2, 2), None), tuple(input_shape)) for _ in range(batch)],
                     "t": targets}}


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=_id)
@pytest.mark.parametrize("shape", BATCHNORM)
def test_batchnorm_over_the_whole_batch_takes_the_scalar_engines_steps(shape, optimizer):
    seed = 2000 + BATCHNORM.index(shape) * 10 + OPTIMIZERS.index(optimizer)
    assert_engines_agree(from_dict(random_batchnorm(shape, seed % 3 + 2, optimizer, seed=seed)))


def test_batchnorm_example_and_float32():
    from handprop import load

    problem = load("batchnorm_batch_of_4")
    assert isinstance(make_engine(problem, engine="numpy"), NumpyStackEngine)
    assert_engines_agree(problem)
    fast = NumpyStackEngine(problem)
    assert np.asarray(fast.outputs()) == pytest.approx(np.asarray(ScalarEngine(problem).outputs()), rel=REL)
    problem = from_dict(random_batchnorm("grid", 4, OPTIMIZERS[2], seed=4))
    losses, gradients, _ = run(NumpyStackEngine(problem), problem, 3)
    single_losses, single_gradients, _ = run(NumpyStackEngine(problem, dtype="float32"), problem, 3)
    assert single_losses == pytest.approx(losses, rel=1e-4)
    assert_close(single_gradients[0], gradients[0], 1e-4, "gradient")


@pytest.mark.parametrize("example", ["rnn_three_steps", "lstm_step", "attention_two_tokens", "transformer_block",
                                     "batchnorm_batch_of_4"])
def test_train_on_the_numpy_engine_agrees_with_the_scalar_engine(cli, example):
    scalar, fast = trained_on_both_engines(cli, example, 5)
    assert fast["losses"] == pytest.approx(scalar["losses"], rel=REL)
    assert fast.keys() == scalar.keys()
    assert_close({name: value["final"] for name, value in fast["parameters"].items()},
                 {name: value["final"] for name, value in scalar["parameters"].items()}, REL, "final parameters")


def test_train_a_random_rnn_file_on_both_engines(cli, tmp_path):
    raw = random_sequence("rnn_tanh", "softmax", "cross_entropy", 4, OPTIMIZERS[1], seed=9)
    path = write(tmp_path, "rnn.json", json.dumps(raw))
    out = {engine: json.loads(cli(["train", path, "--steps", "4", "--engine", engine, "--format", "json"]).out)
           for engine in ("scalar", "numpy")}
    assert out["numpy"]["losses"] == pytest.approx(out["scalar"]["losses"], rel=REL)
