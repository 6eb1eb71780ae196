"""`handgrad train` and `handgrad predict` end to end, on real MNIST (HANDGRAD_DATA_DIR)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from handgrad import column_major, data, fast
from handgrad.cli import main
from handgrad.recipes import RECIPES
from handgrad.saved import load_params

ROOT = Path(__file__).resolve().parents[1]
# 002's network, 15 full-batch steps on 3,000 images: a couple of seconds with the gate.
SMALL = ["--recipe", "relu-softmax-column", "--iterations", "15", "--train-size", "3000"]
SMALL += ["--dev-size", "500", "--lr", "0.5", "--quiet"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of `handgrad *argv` (argparse errors exit via SystemExit)."""
    try:
        code = main(list(argv))
    except SystemExit as done:
        code = done.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One CLI run with the gate and every output (module-wide)."""
    out = tmp_path_factory.mktemp("cli") / "run"
    code = main(["train", *SMALL, "--seed", "2", "--out", str(out)])
    assert code == 0
    return out


def test_list_recipes(capsys):
    code, out, _ = run(capsys, "train", "--list-recipes")
    assert code == 0
    for name, docs in [
        ("sigmoid-mse-row", "000"),
        ("sigmoid-mse-column", "001"),
        ("relu-softmax-column", "002+003"),
        ("elu-softmax-column", "004"),
    ]:
        line = next(line for line in out.splitlines() if line.startswith(name))
        assert docs in line
    assert "Samson Zhang" in out
    flat = " ".join(out.split())  # the choices are wrapped, indented under their recipe
    for recipe in RECIPES.values():
        assert " ".join(recipe.choices.split()) in flat, recipe.name


def test_train_prints_accuracies_and_writes_outputs(trained, capsys):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["seed"] == 2 and metrics["gate"]["verdict"] == "pass"
    assert metrics["config"]["recipe"]["lr"] == 0.5 and metrics["config"]["steps"] == 15
    for key in ("train_accuracy", "dev_accuracy", "test_accuracy"):
        assert 0.3 < metrics[key] <= 1, (key, metrics[key])
    assert metrics["history"]["step"] == [0, 10, 15]
    labels = data.load("mnist", "test").labels
    assert all(s["label"] == labels[s["index"]] for s in metrics["samples"]), metrics["samples"]
    for name in ("params.npz", "checkpoint.npz", "curves.png", "confusion.png", "samples.png"):
        assert (trained / name).stat().st_size > 1000, name
    assert mpimg.imread(trained / "weights.png").shape[0] > 300
    code, out, _ = run(capsys, "train", *SMALL, "--seed", "2", "--no-verify", "--no-figures")
    assert code == 0
    lines = {line.split(" accuracy ")[0]: line for line in out.splitlines()}
    for split in ("train", "dev", "test"):  # the same seed prints the same accuracies
        assert f" {metrics[split + '_accuracy']:.2%} " in lines[split]
    assert "document reports: 002: about 85% train" in out


def predict_lines(out: str) -> tuple[int, np.ndarray]:
    first, _, *rows = out.strip().splitlines()
    prediction = int(first.split()[1])
    probabilities = np.array([float(row.split()[1]) for row in rows])
    return prediction, probabilities


def test_predict_a_test_image(trained, capsys):
    code, out, _ = run(capsys, "predict", "--params", str(trained / "params.npz"), "--index", "0")
    assert code == 0
    prediction, p = predict_lines(out)
    assert len(p) == 10 and abs(p.sum() - 1) < 1e-3 and prediction == int(np.argmax(p))
    model, params, _ = load_params(trained / "params.npz")
    test = data.load("mnist", "test")
    X = data.to_layout(test.images[:1], model.layout)
    assert prediction == int(np.argmax(column_major.forward(model, params, X)["A2"]))
    assert "label 7" in out  # the first official test image is a 7


@pytest.mark.parametrize("dark_on_light", [False, True])
def test_predict_a_png_equals_the_same_test_image(trained, capsys, tmp_path, dark_on_light):
    test = data.load("mnist", "test")
    pixels = test.images[0].reshape(28, 28)
    png = tmp_path / "digit.png"
    mpimg.imsave(png, 1 - pixels if dark_on_light else pixels, cmap="gray", vmin=0, vmax=1)
    params = str(trained / "params.npz")
    _, by_index, _ = run(capsys, "predict", "--params", params, "--index", "0")
    code, by_image, _ = run(capsys, "predict", "--params", params, "--image", str(png))
    assert code == 0
    (a, pa), (b, pb) = predict_lines(by_index), predict_lines(by_image)
    assert a == b
    np.testing.assert_allclose(pa, pb, atol=2e-3)  # 8-bit PNG rounding only
    assert ("inverted" in by_image) == dark_on_light
    assert ("border is mostly light" in by_image) == dark_on_light
    if not dark_on_light:  # forcing it says so, not that the image was dark on light
        _, forced, _ = run(
            capsys, "predict", "--params", params, "--image", str(png), "--invert", "yes"
        )
        assert "inverted, as --invert yes asks" in forced and "border" not in forced


def test_a_fashion_run_names_the_classes(tmp_path, capsys):
    out = tmp_path / "fashion"
    tiny = ["--recipe", "002", "--iterations", "3", "--train-size", "300", "--dev-size", "30"]
    code, printed, _ = run(
        capsys, "train", "--dataset", "fashion-mnist", *tiny, "--quiet", "--out", str(out)
    )
    assert code == 0
    samples = next(line for line in printed.splitlines() if line.startswith("sample test"))
    names = data.CLASS_NAMES["fashion-mnist"]
    assert any(f"(label {k} {names[k]})" in samples for k in range(10)), samples
    code, predicted, _ = run(capsys, "predict", "--params", str(out / "params.npz"), "--index", "0")
    assert code == 0
    assert "label 9 Ankle boot" in predicted  # the first Fashion-MNIST test image is an ankle boot
    k = int(predicted.split()[1])  # "prediction: 3 Dress ..."
    assert predicted.startswith(f"prediction: {k} {names[k]}") and "\n  7 Sneaker " in predicted


def test_predict_rejects_a_wrong_size_image(trained, capsys, tmp_path):
    png = tmp_path / "big.png"
    mpimg.imsave(png, np.zeros((30, 40)), cmap="gray")
    code, out, err = run(
        capsys, "predict", "--params", str(trained / "params.npz"), "--image", str(png)
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "40x30" in err and "28x28" in err


def test_predict_rejects_a_file_that_is_not_params(capsys, tmp_path):
    bad = tmp_path / "params.npz"
    bad.write_bytes(b"definitely not a zip")
    code, _, err = run(capsys, "predict", "--params", str(bad), "--index", "0")
    assert code == 2 and err.count("\n") == 1 and "params.npz" in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--lr", "-1"], "--lr must be a positive"),
        (["--lr", "abc"], "invalid float"),
        (["--iterations", "5", "--epochs", "2"], "not allowed"),
        (["--batch-size", "10"], "full-batch"),
        (["--sizes", "784,x,10"], "sizes"),
        (["--train-size", "60000"], "exceeds"),
        (["--formulation", "diagonal"], "invalid choice"),
        (["--data-dir", "/nonexistent"], "missing"),
        (["--recipe", "nope"], "unknown recipe"),
        (["--resume", "/nonexistent"], "no checkpoint.npz"),
        ([], "already holds a run"),
    ],
)
def test_bad_options_exit_2_with_one_line_and_leave_out_alone(capsys, tmp_path, argv, words):
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text("precious")
    code, _, err = run(capsys, "train", *SMALL, "--out", str(out), *argv)
    assert code == 2, err
    assert err.count("\n") == 1 and words in err, err
    assert [p.name for p in out.iterdir()] == ["metrics.json"]
    assert (out / "metrics.json").read_text() == "precious"


@pytest.mark.parametrize("engine", ["fast", "formulation"])
def test_a_wrong_gradient_is_refused_with_exit_1(capsys, tmp_path, monkeypatch, engine):
    module, function = (fast, "backprop") if engine == "fast" else (column_major, "backward")
    right, key = getattr(module, function), "b2" if engine == "fast" else "db2"

    def wrong(*args, **kwargs):
        grads = right(*args, **kwargs)
        grads[key] = -grads[key]
        return grads

    monkeypatch.setattr(module, function, wrong)
    argv = ["--out", str(tmp_path / "run"), "--engine", engine]
    code, out, err = run(capsys, "train", *SMALL, *argv)
    assert code == 1 and out == ""
    assert "training refused" in err and "b2" in err and "FAIL" in err
    assert not (tmp_path / "run").exists()


def test_divergence_exits_1_and_keeps_the_last_good_checkpoint(capsys, tmp_path):
    argv = [
        *SMALL,
        "--lr",
        "1e15",
        "--checkpoint-every",
        "1",
        "--no-verify",
        "--out",
        str(tmp_path),
    ]
    code, _, err = run(capsys, "train", *argv)
    assert code == 1
    assert "diverged" in err and "checkpoint.npz (step 2)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz"]


def test_resume_from_the_command_line(capsys, tmp_path):
    base = [*SMALL, "--no-verify", "--no-figures"]
    assert run(capsys, "train", *base, "--iterations", "6", "--out", str(tmp_path / "a"))[0] == 0
    code, _, _ = run(
        capsys, "train", "--resume", str(tmp_path / "a"), "--iterations", "9", "--quiet"
    )
    assert code == 0
    assert run(capsys, "train", *base, "--iterations", "9", "--out", str(tmp_path / "b"))[0] == 0
    _, resumed, _ = load_params(tmp_path / "a" / "params.npz")
    _, straight, _ = load_params(tmp_path / "b" / "params.npz")
    for k in straight:
        np.testing.assert_array_equal(resumed[k], straight[k], err_msg=k)
    code, _, err = run(capsys, "train", "--resume", str(tmp_path / "a"), "--lr", "0.1", "--quiet")
    assert code == 2 and "cannot resume with --lr 0.1: the checkpoint was trained with" in err


def test_the_module_entry_point_trains(tmp_path):
    argv = ["--recipe", "002", "--iterations", "3", "--train-size", "500", "--dev-size", "0"]
    argv += ["--no-verify", "--quiet", "--no-figures", "--out", str(tmp_path / "run")]
    done = subprocess.run(
        [sys.executable, "-m", "handgrad", "train", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("test accuracy") for line in lines)
    assert not any(line.startswith("dev accuracy") for line in lines)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["dev_accuracy"] is None


@pytest.mark.parametrize(
    ("argv", "heading"),
    [
        ([], "(documents 002+003): 784,10,10, column formulation"),
        (["--model", "elu-softmax-column"], "(documents 002+003): elu-softmax-column 784,10,10, "),
    ],
)
def test_the_run_header_names_the_model_only_where_it_is_not_the_recipes(capsys, argv, heading):
    # it printed "relu-softmax-column (documents 002+003): relu-softmax-column 784,10,10, ..."
    argv = [*SMALL, "--iterations", "2", "--no-verify", "--test-predictions", "0", *argv]
    code, out, err = run(capsys, "train", *argv)
    assert code == 0, err
    assert out.splitlines()[0].startswith(f"relu-softmax-column {heading}"), out


def test_train_help_says_what_each_recipe_and_option_is(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # one line per option: no hyphenated name broken
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    assert "issue 7" not in out  # an issue tracker users do not have
    assert "mlp-99 (no document: relu-softmax-row 784,800,800,10, adam, dropout 0.2" in out
    assert "mini-batch size (sgd, momentum, adam)" in out  # it said "(sgd)"
    assert "directional check every N steps" in out


def test_list_recipes_columns_are_as_wide_as_their_longest_entry(capsys):
    # mlp-99's 784,800,800,10 pushed its optimizer two characters right of the others'
    code, out, _ = run(capsys, "train", "--list-recipes")
    assert code == 0
    rows = [line for line in out.splitlines() if line.split(" ", 1)[0] in RECIPES]
    starts = {line.index(f" {RECIPES[line.split(' ', 1)[0]].optimizer} lr ") for line in rows}
    assert len(rows) == len(RECIPES) and len(starts) == 1, rows


def test_a_resumed_run_says_its_loop_time_covers_every_segment(capsys, tmp_path):
    # "wall time 2.0 s (training loop 2.3 s)": the loop's time summed both segments, unsaid
    base = [*SMALL, "--no-verify", "--no-figures", "--test-predictions", "0"]
    code, out, _ = run(capsys, "train", *base, "--iterations", "2", "--out", str(tmp_path))
    assert code == 0 and "s (training loop " in out and "segment" not in out
    code, out, _ = run(capsys, "train", "--resume", str(tmp_path), "--iterations", "4", "--quiet")
    assert code == 0
    assert re.search(
        r"^wall time \S+ s this segment \(training loop \S+ s over all segments\)$", out, re.M
    ), out


@pytest.mark.parametrize(
    ("load", "env", "quiet", "noted"),
    [
        (2.0, None, False, True),  # 2 CPUs busy: the note
        (1.9, None, False, False),
        (5.0, "1", False, False),  # OPENBLAS_NUM_THREADS set: the user chose
        (5.0, None, True, False),  # --quiet
    ],
)
def test_a_busy_machine_gets_a_note_on_blas_threads(capsys, monkeypatch, load, env, quiet, noted):
    # 60 steps of 002 took 33.8 s with OpenBLAS's two threads at a load of 3-5 on 2 CPUs, 5.6 s
    # with OPENBLAS_NUM_THREADS=1; the thread count is left alone, the note says so
    monkeypatch.setattr(os, "getloadavg", lambda: (load, 1.0, 1.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    for name in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    if env is not None:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", env)
    argv = [a for a in SMALL if a != "--quiet"] + ["--quiet"] * quiet
    code, _, err = run(capsys, "train", *argv, "--iterations", "2", "--no-verify", "--no-figures")
    assert code == 0, err
    lines = err.splitlines()
    note = "handgrad train: note: the load average is 2.0 on 2 CPUs; OpenBLAS's threads spin"
    assert (bool(lines) and lines[0].startswith(note.replace("2.0", f"{load:.1f}"))) == noted, err
    assert ("OPENBLAS_NUM_THREADS=1 handgrad train ... is much faster here" in err) == noted
    assert sum("load average" in line for line in lines) == noted
    code, _, err = run(capsys, "train", *argv, "--lr", "-1")  # an error stays one line
    assert code == 2 and err.count("\n") == 1 and "load average" not in err, err


def test_the_periodic_checks_are_counted_in_the_summary(capsys):
    code, out, _ = run(capsys, "train", *SMALL, "--no-verify", "--verify-every", "5")
    assert code == 0
    assert "periodic directional checks: 3 passed" in out, out  # steps 5, 10, 15
    code, out, _ = run(capsys, "train", *SMALL, "--no-verify")
    assert code == 0 and "periodic" not in out, out
