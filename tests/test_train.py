"""Tests for handgrad.train, optimizers, checkpoint and figures, on real MNIST (HANDGRAD_DATA_DIR).

Runs are kept small (a few thousand images, tens of steps) except one SGD run that must clear an
accuracy floor on the official test set. Gate tests use the real checker (handgrad.check).
"""

from __future__ import annotations

import io
import json
import os
import sys

import numpy as np
import pytest
from matplotlib import image as mpimg

from handgrad import blas, checkpoint, column_major, fast, figures, optimizers
from handgrad.formulations import predict
from handgrad.recipes import RECIPES, get_recipe, override, title
from handgrad.saved import load_params
from handgrad.train import (
    ENGINES,
    DivergedError,
    GateError,
    Interrupted,
    VerificationError,
    _finite,
    list_recipes,
    train,
)

# 20 full-batch steps of 002's network on 2,000 images: about a second.
SMALL = get_recipe("relu-softmax-column", iterations=20, train_size=2000, dev_size=500)


def small(**changes):
    return override(SMALL, **changes)


def quiet_train(recipe, **kwargs):
    return train(recipe, progress=False, **({"verify": False, "figures": False} | kwargs))


def assert_same_params(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real SGD run with the gate on, written to an --out directory (module-wide)."""
    out = tmp_path_factory.mktemp("run")
    recipe = get_recipe(
        "relu-softmax-column",
        sizes=(784, 32, 10),
        optimizer="sgd",
        batch_size=32,
        lr=0.5,
        epochs=1,
        train_size=12_010,
        dev_size=2_000,
        display_every=75,
        init="glorot",
    )
    return train(recipe, seed=1, out=out, progress=False), out


def test_002_recipe_has_the_documents_numbers():
    r = RECIPES["relu-softmax-column"]
    assert (r.model, r.sizes, r.init, r.init_scale) == (
        "relu-softmax-column",
        (784, 10, 10),
        "uniform",
        0.5,
    )
    assert (r.optimizer, r.lr, r.iterations, r.batch_size) == ("gd", 0.10, 500, None)
    assert (r.train_size, r.dev_size, r.documents) == (41_000, 1_000, ("002", "003"))
    assert get_recipe("003") == r and get_recipe("002") == r


def test_every_recipe_is_listed_with_its_documents():
    text = list_recipes()
    for r in RECIPES.values():
        assert r.name in text and "+".join(r.documents) in text
        assert r.choices and r.reported


def test_overrides_switch_between_iterations_and_epochs():
    r = get_recipe("sigmoid-mse-row", iterations=7)
    assert (r.iterations, r.epochs) == (7, None)
    r = get_recipe("relu-softmax-column", epochs=2)
    assert (r.iterations, r.epochs) == (None, 2)
    assert get_recipe("sigmoid-mse-row", optimizer="gd").batch_size is None
    with pytest.raises(ValueError, match="unknown recipe field"):
        override(SMALL, learning_rate=1.0)


def test_sgd_run_with_the_gate_clears_the_accuracy_floor(trained):
    result, _ = trained
    assert result.gate is not None and result.gate["verdict"] == "pass"
    assert result.test_accuracy >= 0.88, result.test_accuracy  # measured 0.916
    assert result.train_accuracy >= 0.88 and result.dev_accuracy >= 0.88
    assert result.steps == 12_010 // 32 + 1  # the last, partial batch is a step too
    assert result.history["step"][0] == 0 and result.history["step"][-1] == result.steps
    assert result.history["loss"][-1] < result.history["loss"][0] / 3
    assert result.params["W1"].dtype == np.float32 and result.params["W1"].shape == (32, 784)


def test_full_batch_gradient_descent_learns(tmp_path):
    result = quiet_train(small(iterations=60))
    assert result.test_accuracy > 0.5  # 10% is chance; measured 0.60
    assert result.history["train_accuracy"][-1] > result.history["train_accuracy"][0] + 0.3
    assert result.train_accuracy == result.history["train_accuracy"][-1]
    assert result.dev_accuracy == result.history["dev_accuracy"][-1]


def test_same_seed_gives_identical_params_and_metrics():
    a, b = quiet_train(small(), seed=5), quiet_train(small(), seed=5)
    assert_same_params(a.params, b.params)
    assert a.history == b.history
    assert (a.train_accuracy, a.dev_accuracy, a.test_accuracy) == (
        b.train_accuracy,
        b.dev_accuracy,
        b.test_accuracy,
    )
    c = quiet_train(small(), seed=6)
    assert not np.array_equal(a.params["W1"], c.params["W1"])


def test_verifying_does_not_change_what_is_trained():
    a = quiet_train(small(iterations=6), verify=True, verify_every=3)
    b = quiet_train(small(iterations=6), verify=False)
    assert a.gate["verdict"] == "pass" and b.gate is None
    assert a.checks == {"pass": 2} and b.checks == {}  # steps 3 and 6
    assert_same_params(a.params, b.params)


def test_periodic_checks_are_counted_over_every_segment(tmp_path):
    quiet_train(small(iterations=5), out=tmp_path, verify_every=2)  # steps 2, 4
    first = json.loads((tmp_path / "metrics.json").read_text())
    assert first["periodic_checks"] == {"pass": 2}
    longer = quiet_train(small(iterations=12), resume=tmp_path, verify_every=2)  # 6, 8, 10, 12
    assert longer.checks == {"pass": 6}
    assert json.loads((tmp_path / "metrics.json").read_text())["periodic_checks"] == {"pass": 6}


@pytest.mark.parametrize(
    ("recipe", "formulations"),
    [
        (small(model="sigmoid-mse-row", optimizer="sgd", batch_size=25, lr=1.5), ("row", "column")),
        (small(iterations=2, train_size=60, dev_size=0), ("column", "row", "per-neuron")),
    ],
    ids=["row-model", "per-neuron"],
)
def test_formulations_train_the_same_network(recipe, formulations):
    results = [quiet_train(recipe, formulation=f, dtype="float64") for f in formulations]
    for other in results[1:]:
        assert other.params.keys() == results[0].params.keys()
        for k, v in other.params.items():
            np.testing.assert_allclose(v, results[0].params[k], rtol=1e-9, atol=1e-12, err_msg=k)
        assert other.params["W1"].shape == results[0].model.param_shapes()["W1"]


def test_float64_training():
    result = quiet_train(small(iterations=3), dtype="float64")
    assert all(v.dtype == np.float64 for v in result.params.values())


class InterruptError(Exception):
    pass


def interrupt_at(step: int):
    def callback(at: int, params) -> None:
        if at == step:
            raise InterruptError

    return callback


@pytest.mark.parametrize(
    ("recipe", "every", "stop"),
    [
        (small(iterations=20), 10, 13),
        # 10 mini-batches per epoch: the checkpoint at step 14 falls inside the second epoch
        (small(optimizer="sgd", batch_size=50, epochs=3, train_size=500, dev_size=100), 7, 16),
    ],
    ids=["gd", "sgd-mid-epoch"],
)
def test_resume_ends_with_the_same_params_as_an_uninterrupted_run(tmp_path, recipe, every, stop):
    straight = quiet_train(recipe, seed=3)
    with pytest.raises(InterruptError):
        quiet_train(
            recipe, seed=3, out=tmp_path, checkpoint_every=every, callback=interrupt_at(stop)
        )
    assert not (tmp_path / "metrics.json").exists()
    _, meta = checkpoint.load(tmp_path / "checkpoint.npz")
    assert meta["step"] == stop // every * every
    resumed = quiet_train(None, resume=tmp_path)
    assert_same_params(straight.params, resumed.params)
    assert straight.history == resumed.history
    assert resumed.test_accuracy == straight.test_accuracy
    assert (tmp_path / "metrics.json").exists()


def test_ctrl_c_says_where_the_last_checkpoint_is_and_how_to_resume(tmp_path):
    def ctrl_c_at(step: int):
        def callback(at: int, params) -> None:
            if at == step:
                raise KeyboardInterrupt

        return callback

    with pytest.raises(Interrupted) as info:
        quiet_train(small(iterations=20), out=tmp_path, checkpoint_every=5, callback=ctrl_c_at(7))
    message = str(info.value)
    assert f"{tmp_path / 'checkpoint.npz'} (step 5)" in message, message
    assert f"continue it with --resume {tmp_path}" in message, message
    with pytest.raises(Interrupted, match=r"no checkpoint was written yet \(one every 5 steps\)"):
        quiet_train(
            small(iterations=20), out=tmp_path / "b", checkpoint_every=5, callback=ctrl_c_at(3)
        )


def test_ctrl_c_after_training_names_the_checkpoint_and_the_run_resumes(tmp_path, monkeypatch):
    # was "interrupted" alone: Ctrl-C in the final evaluation or while writing the outputs
    from handgrad import train as training

    def ctrl_c(*args):
        raise KeyboardInterrupt

    straight = quiet_train(small(iterations=12))
    monkeypatch.setattr(training, "write_outputs", ctrl_c)
    with pytest.raises(Interrupted) as info:
        quiet_train(small(iterations=12), out=tmp_path)
    message = str(info.value)
    assert message.startswith("interrupted after step 12, in writing its outputs; "), message
    assert (
        f"{tmp_path / 'checkpoint.npz'} (step 12); continue it with --resume {tmp_path}" in message
    )
    assert os.listdir(tmp_path) == ["checkpoint.npz"]  # nothing half written beside it
    monkeypatch.undo()
    resumed = quiet_train(None, resume=tmp_path)
    assert_same_params(straight.params, resumed.params)
    assert resumed.history == straight.history
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.npz", "metrics.json", "params.npz"]


def test_a_full_disk_names_the_file_and_the_checkpoint_kept(tmp_path, monkeypatch):
    # was "[Errno 28] No space left on device", naming no file and no checkpoint
    import errno

    atomic_write, calls = checkpoint.atomic_write, []

    def full(f):
        f.write(b"the first bytes")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def second_fails(path, write):  # the second checkpoint finds the disk full
        calls.append(path)
        return atomic_write(path, full if len(calls) == 2 else write)

    monkeypatch.setattr(checkpoint, "atomic_write", second_fails)
    with pytest.raises(OSError) as info:
        quiet_train(small(iterations=20), out=tmp_path, checkpoint_every=5)
    path = tmp_path / "checkpoint.npz"
    assert str(info.value) == (
        f"cannot write to {tmp_path} ({path}: no space left on device) at step 10; the last "
        f"good checkpoint is {path} (step 5); continue it with --resume {tmp_path}"
    )
    assert checkpoint.load(path)[1]["step"] == 5 and os.listdir(tmp_path) == [path.name]


def test_ctrl_c_waits_until_the_outputs_are_moved_into_place(tmp_path):
    import signal
    import threading

    from handgrad.train import _publish

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    for name in ("metrics.json", "params.npz", "curves.png"):
        (tmp_path / name).write_text("the earlier run")
    moved = []

    def write(stage):
        for name in ("checkpoint.npz", "params.npz", "metrics.json"):
            (stage / name).write_text("the new run")

    def done():
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the files are being moved
        moved.append(sorted(p.name for p in tmp_path.glob("[!.]*")))  # not the staging directory

    handler = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's Ctrl-C
    try:
        with pytest.raises(KeyboardInterrupt):
            _publish(tmp_path, write, ["metrics.json", "params.npz", "curves.png"], done)
    finally:
        signal.signal(signal.SIGINT, handler)
    assert moved == [["checkpoint.npz", "metrics.json", "params.npz"]]  # done() finished first
    assert sorted(os.listdir(tmp_path)) == moved[0]  # and the staging directory is gone
    assert {(tmp_path / name).read_text() for name in moved[0]} == {"the new run"}


def test_resume_can_extend_a_finished_run(tmp_path):
    straight = quiet_train(small(iterations=12))
    quiet_train(small(iterations=5), out=tmp_path)
    longer = quiet_train(small(iterations=12), resume=tmp_path)
    assert_same_params(straight.params, longer.params)
    assert longer.steps == 12
    assert longer.history == straight.history  # no extra point where the first segment ended
    again = quiet_train(small(iterations=12), resume=tmp_path)  # nothing left to train
    assert again.history == straight.history


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"lr": 0.2}, "--lr 0.2: the checkpoint was trained with 0.1"),
        ({"seed": 4}, "seed=4"),
        ({"formulation": "row"}, "formulation"),
    ],
)
def test_resume_refuses_other_settings(tmp_path, changes, match):
    quiet_train(small(iterations=2), out=tmp_path)
    recipe = small(iterations=4, **{k: v for k, v in changes.items() if k == "lr"})
    kwargs = {k: v for k, v in changes.items() if k != "lr"}
    with pytest.raises(ValueError, match=match):
        quiet_train(recipe, resume=tmp_path, **kwargs)


def test_a_resume_under_another_blas_thread_count_says_so(tmp_path, monkeypatch):
    """Parameters are bit for bit at one BLAS thread count; a segment resumed under another
    (OPENBLAS_NUM_THREADS=1, which train suggests on a busy machine) left them silently."""
    quiet_train(small(iterations=2), out=tmp_path)
    monkeypatch.setattr(blas, "threads", lambda: 7)
    said = []
    quiet_train(small(iterations=4), resume=tmp_path, log=said.append)
    note = [s for s in said if s.startswith("note: the checkpoint was trained with")]
    assert len(note) == 1 and "this segment runs with 7" in note[0], said
    said.clear()
    quiet_train(small(iterations=6), resume=tmp_path, log=said.append)  # 7 and 7: nothing to say
    assert not any("BLAS thread" in s for s in said), said


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    with pytest.raises(DivergedError, match=r"diverged.*step 3.*smaller --lr") as info:
        quiet_train(small(lr=1e15), out=tmp_path, checkpoint_every=1)
    assert info.value.step == 3 and info.value.checkpoint == tmp_path / "checkpoint.npz"
    arrays, meta = checkpoint.load(info.value.checkpoint)
    assert meta["step"] == 2
    assert all(np.isfinite(v).all() for v in arrays.values())
    assert not (tmp_path / "metrics.json").exists() and not (tmp_path / "params.npz").exists()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_finiteness_check_is_exact_even_where_a_sum_overflows(dtype):
    big = np.finfo(dtype).max
    with np.errstate(over="ignore", invalid="ignore"):  # as the training loop calls it
        assert _finite([np.ones(3, dtype), np.full((2, 2), big, dtype)])  # the sum overflows
        for bad in (np.nan, np.inf, -np.inf):
            assert not _finite([np.ones(3, dtype), np.array([[1.0], [bad]], dtype)])
            assert not _finite([np.array([big, big, bad], dtype)])


def broken_backward(monkeypatch, factor: float = 2.0, key: str = "dW1", engine: str = "fast"):
    """Make the column gradient the engine computes wrong: `key` times `factor`."""
    if engine == "formulation":  # column_major.backward: {"dW1": ...}
        right_backward = column_major.backward

        def wrong_backward(model, params, cache, Y):
            grads = right_backward(model, params, cache, Y)
            grads[key] = factor * grads[key]
            return grads

        monkeypatch.setattr(column_major, "backward", wrong_backward)
        return
    right_backprop = fast.backprop  # handgrad.fast: {"W1": ...} in the workspace

    def wrong_backprop(*args, **kwargs):
        grads = right_backprop(*args, **kwargs)
        grads[key[1:]] *= factor
        return grads

    monkeypatch.setattr(fast, "backprop", wrong_backprop)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_gate_refuses_a_wrong_gradient(tmp_path, monkeypatch, engine):
    broken_backward(monkeypatch, engine=engine)
    with pytest.raises(GateError, match="training refused") as info:
        train(small(), out=tmp_path / "run", progress=False, engine=engine)
    assert info.value.report.verdict == "fail"
    assert info.value.report.parameters["W1"].verdict == "fail"
    assert info.value.report.parameters["W2"].verdict == "pass"
    assert "W1" in str(info.value)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("engine", ENGINES)
def test_verify_every_stops_training_on_a_mismatch(monkeypatch, engine):
    broken_backward(monkeypatch, 0.5, "dW2", engine)
    with pytest.raises(VerificationError, match="at step 4") as info:
        quiet_train(small(iterations=10), verify_every=4, engine=engine)
    assert info.value.step == 4 and info.value.report.verdict == "fail"


@pytest.mark.parametrize(
    ("changes", "kwargs", "match"),
    [
        ({"lr": 0.0}, {}, "lr must be a positive"),
        ({"lr": float("nan")}, {}, "lr must be a positive"),
        ({"train_size": 59_500, "dev_size": 1_000}, {}, "exceeds the 60000"),
        ({"batch_size": 10}, {}, "full-batch"),
        ({"optimizer": "sgd"}, {}, "needs a batch size"),
        ({"optimizer": "rmsprop"}, {}, "unknown optimizer"),
        ({"sizes": (784, 10, 5)}, {}, "784,...,10"),
        ({"model": "relu-softmax-diagonal"}, {}, "layout"),
        ({"iterations": 0}, {}, "positive integer"),
        ({}, {"formulation": "transposed"}, "unknown formulation"),
        ({}, {"dtype": "float16"}, "dtype"),
        ({}, {"checkpoint_every": 5}, "needs an output directory"),
        ({}, {"seed": -1}, "seed"),
        ({}, {"data_dir": "/nonexistent"}, "missing"),
        ({"lr": True}, {}, "lr must be a positive finite number, got True"),
        ({"iterations": True}, {}, "iterations must be a positive integer, got True"),
        ({"train_size": 200.5}, {}, "train_size must be an integer, got 200.5"),
        ({}, {"verify_every": True}, "verify_every must be a positive integer, got True"),
        ({}, {"seed": True}, "seed must be a non-negative integer, got True"),
    ],
)
def test_bad_options_are_one_value_error(changes, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        quiet_train(small(**changes), **kwargs)
    assert "\n" not in str(info.value)


def test_numpy_scalars_are_numbers_and_the_run_equals_the_plain_one():
    plain = quiet_train(small(lr=0.25, iterations=3), seed=1, dtype="float64")
    numpy = quiet_train(
        small(lr=np.float32(0.25), iterations=np.int64(3)), seed=np.int64(1), dtype=np.float64
    )
    assert_same_params(plain.params, numpy.params)
    assert json.dumps(numpy.metrics()["config"]) == json.dumps(plain.metrics()["config"])
    with pytest.raises(TypeError, match="recipe must be a Recipe or a recipe's name, got 2"):
        quiet_train(2)


def test_an_out_dir_with_a_run_is_not_overwritten(tmp_path):
    (tmp_path / "metrics.json").write_text("precious")
    # the options and train()'s keywords alike: it said only "--resume DIR", "--force"
    words = r"already holds a run \(metrics.json\); continue it with --resume .* \(resume= from "
    words += r"Python\), overwrite it with --force \(force=True\)"
    with pytest.raises(ValueError, match=words):
        quiet_train(small(iterations=2), out=tmp_path)
    assert (tmp_path / "metrics.json").read_text() == "precious"
    quiet_train(small(iterations=2), out=tmp_path, force=True)
    assert json.loads((tmp_path / "metrics.json").read_text())["steps"] == 2


@pytest.mark.parametrize("figures", [True, False])
def test_an_out_dir_with_files_named_like_figures_is_not_overwritten(tmp_path, figures):
    """A directory holding no run but a curves.png of the user's own: a run deleted it (with
    --no-figures, as a figure of an earlier segment) or wrote over it (an adversarial review)."""
    (tmp_path / "curves.png").write_text("my own plot")
    with pytest.raises(ValueError, match=r"holds curves.png but no run .*--force \(force=True\)"):
        quiet_train(small(iterations=2), out=tmp_path, figures=figures)
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]
    assert (tmp_path / "curves.png").read_text() == "my own plot"
    quiet_train(small(iterations=2), out=tmp_path, figures=figures, force=True)
    assert (tmp_path / "curves.png").exists() == figures


def test_outputs_metrics_params_and_figures(trained):
    result, out = trained
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("train_accuracy", "dev_accuracy", "test_accuracy", "seconds", "seed", "config"):
        assert key in metrics
    assert metrics["test_accuracy"] == result.test_accuracy and metrics["seed"] == 1
    assert metrics["config"]["recipe"]["batch_size"] == 32
    assert len(metrics["history"]["loss"]) == len(metrics["history"]["step"]) > 3
    with np.load(out / "params.npz", allow_pickle=False) as npz:
        assert {"W1", "b1", "W2", "b2"} <= set(npz.files)
    model, params, meta = load_params(out / "params.npz")
    assert model == result.model and meta["dataset"] == "mnist"
    assert_same_params(params, result.params)
    from handgrad import data

    test = data.load("mnist", "test")
    X = data.to_layout(test.images, model.layout)
    np.testing.assert_array_equal(predict(model, params, X), result.test_predictions)
    for name in figures.FILES:
        image = mpimg.imread(out / name)
        assert image.ndim == 3 and min(image.shape[:2]) >= 300, name
        assert image[..., :3].std() > 0.05, f"{name} looks blank"


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "checkpoint.npz"
    checkpoint.save(path, {"W1": np.ones((2, 2))}, {"step": 1})

    def fail(f):
        f.write(b"half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        checkpoint.atomic_write(path, fail)
    arrays, meta = checkpoint.load(path)
    assert meta == {"step": 1} and np.array_equal(arrays["W1"], np.ones((2, 2)))
    assert os.listdir(tmp_path) == ["checkpoint.npz"]
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"junk\.npz"):
        checkpoint.load(tmp_path / "junk.npz")


@pytest.mark.parametrize("name", ["gd", "sgd"])
def test_optimizer_step_is_the_update_rule_and_pure(name):
    opt = optimizers.get_optimizer(name)
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal((3, 1))}
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    before = {k: v.copy() for k, v in params.items()}
    state = opt.init(params)
    new, state = opt.step(params, grads, state, 0.25)
    for k in params:
        np.testing.assert_array_equal(new[k], before[k] - 0.25 * grads[k])
        np.testing.assert_array_equal(params[k], before[k])
    assert state == {} and opt.batching == {"gd": "full", "sgd": "mini"}[name]
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizers.get_optimizer("rmsprop")


def test_confusion_matrix_counts():
    C = figures.confusion_matrix(np.array([0, 0, 1, 9]), np.array([0, 1, 1, 9]))
    assert C[0, 0] == C[0, 1] == C[1, 1] == C[9, 9] == 1 and C.sum() == 4
    with pytest.raises(ValueError, match="784 inputs"):
        figures.weights(np.zeros((10, 100)))


@pytest.mark.parametrize("dev_end", [0.684, 0.658, 0.62])  # dev ends above, level with, below train
def test_curves_end_labels_do_not_overlap_and_ticks_fall_on_recorded_steps(dev_end):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    history = {
        "step": list(range(0, 101, 10)),
        "loss": list(np.linspace(2.3, 1.0, 11)),
        "train_accuracy": list(np.linspace(0.1, 0.658, 11)),
        "dev_accuracy": list(np.linspace(0.1, dev_end, 11)),
    }
    fig = figures.curves(history, train_size=10_000, dev_size=1_000)
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    ax_acc = fig.axes[1]
    train_label, dev_label = (text.get_window_extent(renderer) for text in ax_acc.texts)
    assert not train_label.overlaps(dev_label)
    legend = [text.get_text() for text in ax_acc.get_legend().get_texts()]
    assert legend == ["train (10,000 images)", "dev (1,000 images)"]
    assert all(tick % 10 == 0 for ax in fig.axes for tick in ax.get_xticks())


@pytest.mark.parametrize(
    ("dataset", "subject", "tick", "sample_title"),
    [
        ("mnist", "digit", "7", "random test digits"),
        ("fashion-mnist", "class", "7 Sneaker", "random test images"),
    ],
)
def test_figures_name_the_classes_of_their_dataset(dataset, subject, tick, sample_title):
    labels, predictions = np.arange(10), np.arange(10)[::-1]
    ax = figures.confusion(labels, predictions, dataset=dataset).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == (f"predicted {subject}", f"true {subject}")
    for ticks in (ax.get_xticklabels(), ax.get_yticklabels()):
        assert [t.get_text() for t in ticks][7] == tick
    fig = figures.samples(np.zeros((10, 784)), labels, predictions, range(4), dataset=dataset)
    assert sample_title in fig.get_suptitle()
    assert ("9 Ankle boot" in fig.get_supxlabel()) == (dataset == "fashion-mnist")


def test_weights_number_the_units_from_0_like_the_checker():
    fig = figures.weights(np.zeros((3, 784)))
    assert [text.get_text() for text in fig.axes[0].texts] == ["unit 0", "unit 1", "unit 2"]


@pytest.mark.parametrize("formulation", ["row", "column"])
@pytest.mark.parametrize(
    "recipe",
    [
        small(),  # 002: full-batch gradient descent, updated in place by the fast engine
        get_recipe(  # every ingredient: Adam, cosine, warmup, L2, dropout, affine distortions
            "mlp-99",
            sizes=(784, 24, 16, 10),
            epochs=2,
            train_size=1_000,
            batch_size=100,
            weight_decay=1e-4,
            warmup=3,
        ),
    ],
    ids=["002-gd", "mlp-99-every-ingredient"],
)
def test_both_engines_train_the_same_parameters(recipe, formulation):
    # handgrad.fast evaluates the formulation's equations in another order: float32 rounding only
    fast_run = quiet_train(recipe, formulation=formulation, engine="fast", seed=2)
    plain_run = quiet_train(recipe, formulation=formulation, engine="formulation", seed=2)
    assert fast_run.config["engine"] == "fast" and plain_run.config["engine"] == "formulation"
    for k, v in plain_run.params.items():
        np.testing.assert_allclose(fast_run.params[k], v, rtol=1e-3, atol=1e-4, err_msg=k)
    assert fast_run.history["loss"] == pytest.approx(plain_run.history["loss"], rel=1e-4)


def test_per_neuron_trains_with_its_own_loops_and_refuses_the_fast_engine():
    recipe = small(iterations=2, train_size=100, dev_size=0)
    assert quiet_train(recipe, formulation="per-neuron").config["engine"] == "formulation"
    with pytest.raises(ValueError, match="fast engine evaluates the row and column"):
        quiet_train(recipe, formulation="per-neuron", engine="fast")


@pytest.mark.parametrize("name", ["2", "02", "002", "3"])
def test_document_numbers_name_recipes_as_audit_reads_them(name):
    # `handgrad audit --document 2` reads 2, 02 and 002 alike; `train --recipe 2` said unknown
    assert get_recipe(name) == RECIPES["relu-softmax-column"]


@pytest.mark.parametrize("name", ["5", "0002", "nope"])
def test_an_unknown_recipe_lists_the_names_and_the_document_numbers(name):
    with pytest.raises(ValueError, match=rf"unknown recipe '{name}'; .*mlp-99 or a document "):
        get_recipe(name)


def test_run_titles_name_the_model_only_where_it_is_not_the_recipes():
    # "relu-softmax-column (documents 002+003): relu-softmax-column 784,10,10" said it twice
    r = RECIPES["relu-softmax-column"]
    assert title(r.name, r.documents, r.model, r.sizes) == (
        "relu-softmax-column (documents 002+003): 784,10,10"
    )
    r = RECIPES["mlp-99"]
    assert title(r.name, r.documents, r.model, r.sizes) == (
        "mlp-99 (no document): relu-softmax-row 784,800,800,10"
    )
    assert title("sigmoid-mse-row", ("000",), "elu-softmax-row", (784, 5, 10)) == (
        "sigmoid-mse-row (document 000): elu-softmax-row 784,5,10"
    )


def test_the_curves_figure_is_titled_like_the_run(tmp_path, monkeypatch):
    titles = []
    curves = figures.curves
    monkeypatch.setattr(
        figures, "curves", lambda history, heading, *a: titles.append(heading) or curves(history)
    )
    quiet_train(small(iterations=2, train_size=300, dev_size=0), out=tmp_path, figures=True)
    assert titles == ["relu-softmax-column (documents 002+003): 784,10,10, seed 0"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stderr", "progress", "lines"),
    [(io.StringIO, True, 3), (io.StringIO, False, 0), (_Terminal, True, 0)],
)
def test_without_a_terminal_progress_is_a_plain_line_now_and_then(
    monkeypatch, stderr, progress, lines
):
    # tqdm hides its bar where stderr is not a terminal: a long run in a pipe or a CI log printed
    # nothing for minutes after the gate line
    import handgrad.train as training

    monkeypatch.setattr(training, "PROGRESS_SECONDS", 0.0)  # every step
    monkeypatch.setattr(sys, "stderr", stderr())
    said = []
    recipe = small(iterations=3, display_every=2)
    train(recipe, progress=progress, log=said.append, verify=False, figures=False)
    shown = [line for line in said if line.startswith("relu-softmax-column: step ")]
    assert len(shown) == lines, said
    if lines:
        assert shown[0].startswith("relu-softmax-column: step 1/3 (33%), ")
        assert "s left; at step 0 loss " in shown[0] and ", dev " in shown[0]
        assert shown[2].startswith("relu-softmax-column: step 3/3 (100%), ")
        assert "at step 2 loss" in shown[2] and "left" not in shown[2]
