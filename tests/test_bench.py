"""The fast training step computes handgrad's gradients; the bench harness emits its JSON schema.

No timed assertions: the harness runs tiny workloads once, and only the shape of its report and the
presence (or null) of each number are checked.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from handgrad import bench, cli, column_major, data, fast, regularizers, row_major
from handgrad.activations import HIDDEN
from handgrad.commands.bench import format_table
from handgrad.formulations import gradients
from handgrad.models import LAYOUTS, OUTPUTS, Model, init_params
from handgrad.tolerances import close, gradient_scale, relative_error, tolerance

ROOT = Path(__file__).resolve().parents[1]
F32 = np.float32


def _problem(model: Model, m: int, seed: int = 0):
    """float32 params, X, Y in the model's layout (Y one-hot for softmax, in [0, 1] for MSE)."""
    rng = np.random.default_rng(seed)
    params = init_params(model, rng, "normal", dtype=F32)
    x_shape, y_shape = model.data_shapes(m)
    X = rng.standard_normal(x_shape).astype(F32)
    if model.output == "softmax":
        Y = data.one_hot(rng.integers(0, model.sizes[-1], m), model.sizes[-1], model.layout, F32)
    else:
        Y = rng.uniform(0, 1, y_shape).astype(F32)
    return params, X, Y


def _assert_close(actual: dict, expected: dict) -> None:
    tol, scale = tolerance(F32, "formulations"), gradient_scale(expected)
    assert {k: v.shape for k, v in actual.items()} == {k: v.shape for k, v in expected.items()}
    for key in expected:
        assert actual[key].dtype == F32, key
        assert close(actual[key], expected[key], tol, scale), (
            f"{key}: relative error {relative_error(actual[key], expected[key], scale):.3e} "
            f"exceeds the float32 formulations tolerance {tol}"
        )


@pytest.mark.parametrize(
    ("hidden", "output", "layout"), list(itertools.product(HIDDEN, OUTPUTS, LAYOUTS))
)
@pytest.mark.parametrize(
    ("sizes", "chunk"), [((9, 6, 5, 4), fast.CHUNK), ((9, 6, 5, 4), 8), ((9, 4), 8)]
)
def test_fast_gradients_equal_handgrad_gradients(hidden, output, layout, sizes, chunk):
    # chunk 8 splits the 37 examples into 5 chunks whose gradients must add up
    model = Model(hidden, output, layout, sizes, alpha=0.7)
    params, X, Y = _problem(model, m=37)
    _assert_close(fast.gradients(model, params, X, Y, chunk=chunk), gradients(model, params, X, Y))


@pytest.mark.parametrize(("hidden", "layout"), list(itertools.product(HIDDEN, LAYOUTS)))
@pytest.mark.parametrize("chunk", [fast.CHUNK, 8])
def test_fast_dropout_gradients_equal_the_regularizers_gradients(hidden, layout, chunk):
    # the masks fold into g'(Z^l); sigmoid's g' = A (1 - A) must be taken before A is masked
    model = Model(hidden, "softmax", layout, (9, 6, 5, 4), alpha=0.7)
    params, X, Y = _problem(model, m=37)
    masks = regularizers.dropout_masks(model, 37, 0.4, np.random.default_rng(2), F32)
    expected = regularizers.gradients(model, params, X, Y, masks, 0.0)
    _assert_close(fast.gradients(model, params, X, Y, masks, chunk=chunk), expected)
    unmasked = fast.gradients(model, params, X, Y)["W1"]
    assert not np.allclose(unmasked, expected["W1"], atol=1e-3)  # the masks matter


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("chunk", [fast.CHUNK, 5])  # one chunk per batch; or summed over chunks
def test_sgd_epoch_is_gradient_descent_over_the_gathered_batches(layout, chunk):
    model = Model("relu", "softmax", layout, (12, 7, 5, 3))
    params, _, _ = _problem(model, m=1)
    rng = np.random.default_rng(1)
    images = rng.standard_normal((50, 12)).astype(F32)
    targets = data.one_hot(rng.integers(0, 3, 50), 3, "row", F32)
    order, B, lr = rng.permutation(50), 16, 0.3  # batches of 16, 16, 16 and 2
    expected = {k: v.copy() for k, v in params.items()}
    for start in range(0, 50, B):
        idx = order[start : start + B]
        X, Y = images[idx], targets[idx]
        X, Y = (X, Y) if layout == "row" else (X.T, Y.T)
        g = gradients(model, expected, X, Y)
        expected = {k: (v - F32(lr) * g[k]).astype(F32) for k, v in expected.items()}
    ws = fast.workspace(model, B, chunk=chunk)
    fast.sgd_epoch(model, params, images, targets, order, B, lr, ws)
    _assert_close(params, expected)


@pytest.mark.parametrize(
    ("hidden", "output", "layout"), list(itertools.product(HIDDEN, OUTPUTS, LAYOUTS))
)
@pytest.mark.parametrize("dropout", [0.0, 0.4])
def test_the_fused_sgd_step_is_params_minus_lr_times_the_gradient(hidden, output, layout, dropout):
    # one chunk: W^l := W^l - lr dW^l inside the products (beta = 1), after dA^(l-1) read W^l
    model = Model(hidden, output, layout, (9, 6, 5, 4), alpha=0.7)
    params, X, Y = _problem(model, m=37)
    masks = regularizers.dropout_masks(model, 37, dropout, np.random.default_rng(2), F32)
    masks = masks if dropout else None
    g = fast.gradients(model, params, X, Y, masks)
    lr = 0.3
    expected = {k: v - F32(lr) * g[k] for k, v in params.items()}
    column = layout == "column"
    Xb, Yb = (X.T, Y.T) if column else (X, Y)
    masks_b = {k: v.T if column else v for k, v in (masks or {}).items()}
    before = {k: v.copy() for k, v in params.items()}
    fast.sgd_step(model, params, Xb, Yb, lr, fast.workspace(model, 37), masks_b)
    for key in params:
        np.testing.assert_allclose(params[key], expected[key], rtol=1e-5, atol=1e-6, err_msg=key)
        assert not np.array_equal(params[key], before[key]), key  # every parameter moved


@pytest.mark.parametrize(
    ("hidden", "output", "layout"), list(itertools.product(HIDDEN, OUTPUTS, LAYOUTS))
)
def test_fast_evaluation_is_the_formulations_loss_and_predictions(hidden, output, layout):
    # 37 examples in chunks of 8: the loss is each chunk's mean weighted by its size
    model = Model(hidden, output, layout, (9, 6, 5, 4), alpha=0.7)
    params, X, Y = _problem(model, m=37)
    module = row_major if layout == "row" else column_major
    Z = module.forward(model, params, X)[f"Z{model.depth}"]
    axis = model.class_axis
    Xb, Yb = (X, Y) if layout == "row" else (X.T, Y.T)
    loss, predicted = fast.evaluate(model, params, Xb, fast.workspace(model, 37, chunk=8), Yb)
    assert loss == pytest.approx(model.loss.value(Z, Y, axis), rel=1e-5)
    np.testing.assert_array_equal(predicted, Z.argmax(axis))
    assert fast.evaluate(model, params, Xb, fast.workspace(model, 37))[0] is None


@pytest.mark.parametrize("layout", LAYOUTS)
def test_kept_calls_follow_new_arrays_masks_and_batches(layout):
    # the workspace keeps each step's calls; they must not read last step's arrays: parameters
    # replaced (not updated in place), a new X of the same size, new dropout masks, a new lr
    model = Model("sigmoid", "softmax", layout, (9, 6, 5, 4))
    column, ws, (params, _, _) = layout == "column", fast.workspace(model, 16), _problem(model, 1)
    rng = np.random.default_rng(3)
    for step, lr in enumerate((0.3, 0.1, 0.2)):
        _, X, Y = _problem(model, 16, seed=step + 1)
        masks = regularizers.dropout_masks(model, 16, 0.4, rng, F32)
        expected = regularizers.gradients(model, params, X, Y, masks, 0.0)
        expected = {k: v - F32(lr) * expected[k] for k, v in params.items()}
        params = {k: v.copy() for k, v in params.items()}  # new arrays, same values
        Xb, Yb = (X.T, Y.T) if column else (X, Y)
        Xb, Yb = fast.batch(ws, Xb, Yb, np.arange(16))
        fast.sgd_step(
            model, params, Xb, Yb, lr, ws, {k: v.T if column else v for k, v in masks.items()}
        )
        for key in params:
            np.testing.assert_allclose(params[key], expected[key], rtol=1e-5, atol=1e-6)


def test_kept_calls_follow_the_model():
    # one workspace, the same arrays, two models of the same shapes: the second model's step must
    # not run the calls kept for the first
    relu, sigmoid = (Model(g, "softmax", "row", (9, 6, 4)) for g in ("relu", "sigmoid"))
    params, X, Y = _problem(relu, m=8)
    ws, lr = fast.workspace(relu, 8), 0.5
    fast.sgd_step(relu, params, X, Y, lr, ws)
    g = gradients(sigmoid, params, X, Y)
    expected = {k: v - F32(lr) * g[k] for k, v in params.items()}
    fast.sgd_step(sigmoid, params, X, Y, lr, ws)
    for key in params:
        np.testing.assert_allclose(params[key], expected[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_an_epoch_builds_its_calls_once_per_batch_size(monkeypatch):
    # 50 examples in batches of 16: one set of calls for the three full batches, one for the last
    model = Model("relu", "softmax", "column", (12, 7, 3))
    params, _, _ = _problem(model, m=1)
    rng = np.random.default_rng(1)
    images = rng.standard_normal((50, 12)).astype(F32)
    targets = data.one_hot(rng.integers(0, 3, 50), 3, "row", F32)
    built = []
    program = fast._program
    monkeypatch.setattr(fast, "_program", lambda *a: built.append(len(a[2])) or program(*a))
    ws = fast.workspace(model, 16)
    for _ in range(2):
        fast.sgd_epoch(model, params, images, targets, rng.permutation(50), 16, 0.1, ws)
    assert built == [16, 2]


def test_a_parameter_in_another_dtype_is_refused_not_silently_left_unchanged():
    model = Model("relu", "softmax", "row", (9, 6, 4))
    params, X, Y = _problem(model, m=8)
    params["W2"] = params["W2"].astype(np.float64)  # BLAS would update a float32 copy of it
    with pytest.raises(RuntimeError, match="in place"):
        fast.sgd_step(model, params, X, Y, 0.1, fast.workspace(model, 8))


def test_flops_are_the_exact_product_count():
    # 784-128-10: Z1 and dW1 (no input gradient for layer 1), then Z2, dW2 and dA1, per example.
    per_example = 2 * (2 * 784 * 128 + 3 * 128 * 10)
    assert bench.flops(bench.WORKLOADS["mlp-128"]) == 60_000 * per_example == 24_545_280_000
    assert bench.flops(bench.WORKLOADS["doc002"]) == 500 * 41_000 * 2 * (2 * 7840 + 3 * 100)


def _check_entry(entry: dict) -> None:
    """The schema of one workload: seconds per implementation, floor, peak RSS."""
    seconds = entry["seconds"]
    assert {"handgrad", "jax", "torch"} <= set(seconds)
    assert seconds["handgrad"] > 0 and seconds["handgrad_fast"] > 0
    assert entry["floor_seconds"] > 0 and entry["peak_rss_mb"] > 0
    assert entry["ratios"]["handgrad"]["floor"] == pytest.approx(
        seconds["handgrad"] / entry["floor_seconds"], rel=1e-2
    )


def test_bench_cli_emits_the_json_schema():
    command = [sys.executable, "-m", "handgrad", "bench", "--workload", "tiny", "--repeat", "1"]
    command += ["--json", "--no-peers", "--threads", "1"]  # 1 thread: quick on a busy machine
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert list(report["workloads"]) == ["tiny"]
    entry = report["workloads"]["tiny"]
    _check_entry(entry)
    assert entry["seconds"]["jax"] is None and entry["seconds"]["torch"] is None
    assert entry["ratios"]["handgrad"]["best_peer"] is None
    assert "openblas" in report["versions"]["scipy_blas"]
    assert report["versions"]["fast_blas"].startswith(("numpy's BLAS", "scipy.linalg.blas"))


def test_missing_peer_gives_null_and_a_present_peer_a_time(tmp_path):
    # JAX is a core dependency, so its peer always runs; torch's script is pointed elsewhere.
    peers = {"jax": bench.PEERS["jax"], "torch": tmp_path / "missing.py"}
    report = bench.run(["tiny-full"], repeat=1, peers=peers, threads=1)
    entry = report["workloads"]["tiny-full"]
    _check_entry(entry)
    seconds, errors = entry["seconds"], entry["errors"]
    assert seconds["torch"] is None and "not found" in errors["torch"]
    assert seconds["jax"] > 0, errors.get("jax")
    assert entry["ratios"]["handgrad"]["best_peer"] == pytest.approx(
        seconds["handgrad"] / seconds["jax"], rel=1e-2
    )
    table = format_table(report)
    assert "tiny-full" in table and "hg/floor" in table and "fastest peer" in table
    row = next(line.split() for line in table.splitlines() if line.startswith("tiny-full"))
    assert "jax" in row  # the fastest peer, named
    report["machine"]["loadavg_start"] = [2.0 * report["machine"]["cpus"], 0, 0]
    assert "warning: load average" in format_table(report)


def test_bad_options_are_one_line_errors(capsys):
    assert cli.main(["bench", "--repeat", "0", "--no-peers"]) == 2
    assert "--repeat must be >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown workload 'nope'"):
        bench.get_workload("nope")


def test_the_epoch_breakdown_accounts_for_the_whole_epoch():
    # benchmarks/breakdown.py times every kept call of the step: the parts add up to the epoch
    command = [sys.executable, "benchmarks/breakdown.py", "--workload", "tiny", "--json"]
    command += ["--repeat", "1"]  # one epoch: its parts add up exactly (medians would not)
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    seconds = json.loads(done.stdout)["median_seconds"]
    parts = {k: v for k, v in seconds.items() if k != "epoch"}
    assert set(parts) == {
        "gather",
        "gemm (big)",
        "gemm (small)",
        "ger/gemv (bias)",
        "ufuncs",
        "python",
    }
    assert all(v > 0 for v in parts.values()), parts
    assert sum(parts.values()) == pytest.approx(seconds["epoch"], rel=1e-9)


def test_too_few_training_images_are_refused_before_anything_is_timed(
    tmp_path, capsys, monkeypatch
):
    # 8 images for a workload of 2,048: the fast path's np.take(mode="clip") would reuse the last
    # image and time an epoch it never ran
    from test_data import IMAGES, LABELS, write_split

    small = tmp_path / "small"
    write_split(small, IMAGES, LABELS)
    monkeypatch.setattr(bench, "measure", lambda *a: pytest.fail("a worker was started"))
    argv = ["bench", "--workload", "tiny", "--no-peers", "--repeat", "1", "--data-dir", str(small)]
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    for words in ("workload tiny", "2,048", "has 8", f"--data-dir {small}", "Traceback"):
        assert (words in err) == (words != "Traceback"), (words, err)
    monkeypatch.setenv("HANDGRAD_DATA_DIR", str(small))
    with pytest.raises(ValueError, match=f"HANDGRAD_DATA_DIR={small} has 8"):
        bench.run(["tiny-full"], repeat=1, peers={})
    # a worker run alone refuses too; doc002's `handgrad train` also reads its 1,000 dev images
    with pytest.raises(ValueError, match="workload tiny needs 2,048 MNIST training images"):
        bench.workload_data(bench.WORKLOADS["tiny"], small)
    assert bench.images_needed(bench.WORKLOADS["doc002"]) == 42_000
