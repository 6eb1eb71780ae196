"""Bad input to the command line: one line on stderr naming the problem, exit status 2, no traceback,
and nothing already saved lost. Tiny runs (300 images, 3 steps) on real MNIST (HANDGRAD_DATA_DIR)."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_cli_train import run

from handgrad import checkpoint
from handgrad.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--recipe", "002", "--iterations", "3", "--train-size", "300", "--dev-size", "30"]
TINY += ["--quiet", "--no-verify"]
FIGURES = ("curves.png", "confusion.png", "samples.png", "weights.png")


def one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished tiny run (no figures, so fake PNGs stand in for an earlier segment's)."""
    out = tmp_path_factory.mktemp("errors") / "run"
    assert main(["train", *TINY, "--no-figures", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def mid_epoch(tmp_path_factory) -> Path:
    """A tiny SGD run that ends inside an epoch (3 batches of 100 per epoch, 4 steps)."""
    out = tmp_path_factory.mktemp("errors") / "sgd"
    argv = ["--optimizer", "sgd", "--batch-size", "100", "--iterations", "4", "--no-figures"]
    assert main(["train", *TINY, *argv, "--out", str(out)]) == 0
    return out


@pytest.fixture
def run_dir(finished, tmp_path) -> Path:
    """A private copy of the finished run, with (fake) figures beside it."""
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    for name in FIGURES:
        (out / name).write_bytes(b"an earlier figure")
    return out


# ---------------------------------------------------------------- option values


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--init-scale", "nan"], "--init-scale"),
        (["--init-scale", "inf"], "--init-scale must be a finite number in (0, 1.7e+38] for"),
        (["--init-scale", "-1"], "--init-scale"),
        (["--init-scale", "1e300"], "--init-scale"),
        (["--init-scale", "0"], "--init-scale must be a finite number in (0, "),
        (["--init", "he", "--init-scale", "inf"], "--init-scale must be a finite number in [0, "),
        (["--lr", "-1"], "--lr must be a positive finite number, got -1.0"),
        (["--lr", "inf"], "--lr must be"),
        (["--model", "elu-softmax-column", "--alpha", "nan"], "--alpha"),
        (["--model", "elu-softmax-column", "--alpha", "inf"], "--alpha"),
        (["--model", "elu-softmax-column", "--alpha", "0"], "--alpha"),
        (["--optimizer", "sgd", "--batch-size", "500"], "--batch-size 500 exceeds --train-size"),
        (["--display-every", "0"], "--display-every must be"),
        (["--seed", "-1"], "--seed must be"),
        (["--verify-every", "0"], "--verify-every must be"),
        # more parameters than the machine has memory: NumPy's traceback, or the system's kill
        (["--sizes", "784,10000000000,10"], "layer sizes 784,10000000000,10: 7,950,000,000,010 "),
        (["--sizes", "784," + "9" * 23 + ",10"], "parameters need"),
    ],
)
def test_bad_option_values_name_the_option(capsys, tmp_path, argv, words):
    code, out, err = run(capsys, "train", *TINY, "--out", str(tmp_path / "run"), *argv)
    one_line_error(code, err, words)
    assert out == "" and not (tmp_path / "run").exists()


@pytest.mark.parametrize("sizes", ["784,10000000000,10", "784," + "9" * 23 + ",10"])
def test_a_check_of_more_parameters_than_memory_holds_is_one_line(capsys, sizes):
    fn = "examples/my_gradient.py:backward_prop"
    code, _, err = run(capsys, "check", fn, "--model", "relu-softmax-column", "--sizes", sizes)
    one_line_error(code, err, f"layer sizes {sizes}: ")
    assert "more than this machine's" in err


def test_running_out_of_memory_is_one_line(capsys, monkeypatch):
    """NumPy's MemoryError (a network that fits, a batch that does not) was a traceback."""

    def allocate(*args, **kwargs):
        raise MemoryError(  # NumPy's words (its _ArrayMemoryError is a MemoryError)
            "Unable to allocate 5.70 TiB for an array with shape (1000000000, 784) and data type "
            "float64"
        )

    monkeypatch.setattr("handgrad.check.check_gradients", allocate)
    code, _, err = run(
        capsys, "check", "examples/my_gradient.py:backward_prop", "--model", "relu-softmax-column"
    )
    one_line_error(
        code, err, "unable to allocate 5.70 TiB for an array with shape (1000000000, 784)"
    )
    assert err.rstrip().endswith("(smaller --sizes or --batch-size?)"), err


def test_out_below_a_file_is_refused(capsys, tmp_path):
    (tmp_path / "afile").write_text("precious")
    code, _, err = run(capsys, "train", *TINY, "--out", str(tmp_path / "afile" / "sub"))
    one_line_error(code, err, "afile is a file, not a directory")
    assert (tmp_path / "afile").read_text() == "precious"


# ---------------------------------------------------------------- malformed files


def _rewrite(src: Path, dst: Path, change) -> Path:
    """A copy of the .npz `src` at `dst` with change(arrays, meta) applied to its arrays and meta."""
    with np.load(src) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    meta = change(arrays, meta)
    arrays["__meta__"] = np.array(meta if isinstance(meta, str) else json.dumps(meta))
    dst.parent.mkdir(parents=True, exist_ok=True)
    np.savez(dst, **arrays)
    return dst


def _set(arrays, key, value):
    arrays[key] = value


PARAMS_DAMAGE = {
    "meta a list": (lambda a, m: [1, 2], "metadata is a JSON list"),
    "meta not JSON": (lambda a, m: "{not json", "not valid JSON"),
    "sizes a string": (lambda a, m: m | {"sizes": "abc"}, "sizes 'abc'"),
    "no model": (lambda a, m: {k: v for k, v in m.items() if k != "model"}, "no 'model'"),
    "W1 strings": (lambda a, m: _set(a, "W1", np.array(["a"] * 3)) or m, "'W1' holds <U1"),
    "W1 complex": (lambda a, m: _set(a, "W1", a["W1"].astype(complex)) or m, "complex128"),
    "W1 integers": (lambda a, m: _set(a, "W1", a["W1"].astype(int)) or m, "floating-point"),
    "W1 NaN": (lambda a, m: _set(a, "W1", a["W1"] * np.nan) or m, "non-finite"),
    "W1 reshaped": (lambda a, m: _set(a, "W1", a["W1"].T) or m, "expected floating-point"),
}


@pytest.mark.parametrize("damage", PARAMS_DAMAGE)
def test_predict_refuses_malformed_params_naming_the_file(capsys, finished, tmp_path, damage):
    change, words = PARAMS_DAMAGE[damage]
    bad = _rewrite(finished / "params.npz", tmp_path / "bad.npz", change)
    code, out, err = run(capsys, "predict", "--params", str(bad), "--index", "0")
    one_line_error(code, err, str(bad), words)
    assert out == ""


def test_a_truncated_npz_is_called_damaged_or_truncated(capsys, finished, tmp_path):
    """A copy cut short starts as a zip archive: it was 'not a .npz file written by handgrad'."""
    cut = tmp_path / "params.npz"
    cut.write_bytes((finished / "params.npz").read_bytes()[:2000])
    code, _, err = run(capsys, "predict", "--params", str(cut), "--index", "0")
    one_line_error(code, err, f"{cut}: a damaged or truncated .npz file")


def test_predict_refuses_files_that_are_not_npz(capsys, finished, tmp_path):
    for path in (finished / "metrics.json", tmp_path / "notes.txt"):
        path.exists() or path.write_text("hello\n")
        code, _, err = run(capsys, "predict", "--params", str(path), "--index", "0")
        one_line_error(code, err, f"{path}: not a .npz file written by handgrad")
        assert "pickle" not in err
    missing = tmp_path / "nonexistent.npz"
    code, _, err = run(capsys, "predict", "--params", str(missing), "--index", "0")
    one_line_error(code, err, f"{missing}: no such file or directory")


def test_predict_names_a_missing_image_as_it_names_missing_params(capsys, finished, tmp_path):
    # was "nosuch.png: cannot read image ([Errno 2] No such file or directory: 'nosuch.png')"
    params = str(finished / "params.npz")
    for image, words in [("nosuch.png", "no such file or directory"), (tmp_path, "is a directory")]:
        code, out, err = run(capsys, "predict", "--params", params, "--image", str(image))
        one_line_error(code, err, f"handgrad predict: error: {image}: {words}\n")
        assert out == "" and "Errno" not in err
    (tmp_path / "notes.png").write_text("hello\n")
    code, _, err = run(
        capsys, "predict", "--params", params, "--image", str(tmp_path / "notes.png")
    )
    one_line_error(code, err, f"{tmp_path / 'notes.png'}: cannot read image")


def _recipe(meta, **fields):
    meta["config"]["recipe"].update(fields)
    return meta


def _drop(meta, *path):
    inner = meta
    for key in path[:-1]:
        inner = inner[key]
    del inner[path[-1]]
    return meta


CHECKPOINT_DAMAGE = {
    "meta a list": (lambda a, m: [1], "metadata is a JSON list"),
    "no check_rng": (lambda a, m: _drop(m, "check_rng"), "metadata has no 'check_rng'"),
    "no config.recipe": (lambda a, m: _drop(m, "config", "recipe"), "config has no 'recipe'"),
    "recipe field missing": (lambda a, m: _drop(m, "config", "recipe", "name"), "['name'] missing"),
    "unknown recipe field": (
        lambda a, m: m["config"]["recipe"].update(bogus=1) or m,
        "unknown recipe field(s) ['bogus']",
    ),
    "step a string": (lambda a, m: m | {"step": "3"}, "'step' = '3'"),
    "bad rng state": (lambda a, m: m | {"rng": {"state": 1}}, "'rng' is not a NumPy"),
    "checks a number": (lambda a, m: m | {"checks": 5}, "checks 5 is not a count per verdict"),
    "checks a list": (lambda a, m: m | {"checks": [1, 2]}, "checks [1, 2] is not a count"),
    "checks a string": (lambda a, m: m | {"checks": "ab"}, "checks 'ab' is not a count"),
    "checks not counts": (lambda a, m: m | {"checks": {"pass": "x"}}, "{'pass': 'x'} is not"),
    "optimizer a list": (
        lambda a, m: _recipe(m, optimizer=["gd"]),
        "recipe field 'optimizer' is ['gd'], not a str",
    ),
    "augment a list": (lambda a, m: _recipe(m, augment=["none"]), "'augment' is ['none']"),
    "sizes nested": (
        lambda a, m: _recipe(m, sizes=[[784], 10, 10]),
        "recipe field 'sizes' is [[784], 10, 10], not a tuple[int, ...]",
    ),
    "documents numbers": (lambda a, m: _recipe(m, documents=[2]), "'documents' is [2], not a"),
    "lr negative": (lambda a, m: _recipe(m, lr=-1), "config: lr must be a positive finite number"),
    "history ragged": (
        lambda a, m: (m["history"]["loss"].pop(), m)[1],
        "history lists of different lengths [2, 1, 2, 2]",
    ),
    "train_seconds NaN": (
        lambda a, m: m | {"train_seconds": float("nan")},
        "train_seconds nan is not a finite number >= 0",
    ),
    "W1 NaN": (
        lambda a, m: _set(a, "params/W1", a["params/W1"] * np.nan) or m,
        "array 'params/W1' has non-finite entries (NaN or inf)",
    ),
    "W1 bool": (lambda a, m: _set(a, "params/W1", a["params/W1"] > 0) or m, "'params/W1' is bool"),
    "W1 int64": (
        lambda a, m: _set(a, "params/W1", a["params/W1"].astype(np.int64)) or m,
        "'params/W1' is int64 (10, 784), but relu-softmax-column 784,10,10 in float32 needs "
        "float32 (10, 784)",
    ),
    "params reshaped": (
        lambda a, m: _set(a, "params/W1", a["params/W1"][:5]) or m,
        "'params/W1' is float32 (5, 784), but relu-softmax-column 784,10,10 in float32 needs "
        "float32 (10, 784)",
    ),
}


@pytest.mark.parametrize("damage", CHECKPOINT_DAMAGE)
@pytest.mark.parametrize("recipe", [False, True])
def test_resume_refuses_a_malformed_checkpoint_naming_the_file(
    capsys, finished, tmp_path, damage, recipe
):
    change, words = CHECKPOINT_DAMAGE[damage]
    bad = _rewrite(finished / "checkpoint.npz", tmp_path / "run" / "checkpoint.npz", change)
    before = snapshot(bad.parent)
    argv = ["--resume", str(bad.parent), "--quiet", *(TINY if recipe else [])]
    code, out, err = run(capsys, "train", *argv)
    one_line_error(code, err, str(bad), words)
    assert out == "" and snapshot(bad.parent) == before


MID_EPOCH_DAMAGE = {
    "no perm": (lambda a, m: a.pop("perm") is None or m, "no 'perm' array, but step 4 is inside"),
    "perm floats": (
        lambda a, m: _set(a, "perm", a["perm"].astype(float)) or m,
        "array 'perm' is float64 (300,), but",
    ),
    "perm repeats": (
        lambda a, m: _set(a, "perm", np.zeros(300, np.int64)) or m,
        "'perm' is not a shuffling order of the 300 training images",
    ),
}


@pytest.mark.parametrize("damage", MID_EPOCH_DAMAGE)
def test_resume_refuses_a_mid_epoch_checkpoint_without_its_shuffling_order(
    capsys, mid_epoch, tmp_path, damage
):
    # was: the gate ran, then a traceback inside the training loop
    change, words = MID_EPOCH_DAMAGE[damage]
    bad = _rewrite(mid_epoch / "checkpoint.npz", tmp_path / "run" / "checkpoint.npz", change)
    before = snapshot(bad.parent)
    code, out, err = run(capsys, "train", "--resume", str(bad.parent))
    one_line_error(code, err, str(bad), words)
    assert out == "" and snapshot(bad.parent) == before


def test_a_npz_with_a_member_that_is_not_an_array_is_refused_naming_it(capsys, finished, tmp_path):
    # `zip x.npz readme.txt`: np.load gives the member as bytes; was a traceback ('bytes' object
    # has no attribute 'dtype') for predict's params.npz and train --resume's checkpoint.npz
    shutil.copytree(finished, tmp_path / "run")
    for name in ("params.npz", "checkpoint.npz"):
        with zipfile.ZipFile(tmp_path / "run" / name, "a") as npz:
            npz.writestr("readme.txt", "notes\n")
    before = snapshot(tmp_path / "run")
    member = "not a .npz file written by handgrad (member readme.txt is not an array)"
    params = tmp_path / "run" / "params.npz"
    code, out, err = run(capsys, "predict", "--params", str(params), "--index", "0")
    one_line_error(code, err, f"{params}: {member}")
    code, out, err = run(capsys, "train", "--resume", str(tmp_path / "run"), "--quiet")
    one_line_error(code, err, f"{tmp_path / 'run' / 'checkpoint.npz'}: {member}")
    assert out == "" and snapshot(tmp_path / "run") == before


# ---------------------------------------------------------------- resume and --force


@pytest.mark.parametrize("length", [["--iterations", "2"], ["--epochs", "1"]])
def test_resume_with_fewer_steps_than_trained_is_refused(capsys, tmp_path, length):
    out = tmp_path / "run"
    argv = ["--optimizer", "sgd", "--batch-size", "100", "--iterations", "7", "--no-figures"]
    assert run(capsys, "train", *TINY, *argv, "--out", str(out))[0] == 0  # 3 steps per epoch
    before = snapshot(out)
    code, out_text, err = run(capsys, "train", "--resume", str(out), "--quiet", *length)
    least = "--iterations 7" if length[0] == "--iterations" else "--epochs 3"
    one_line_error(code, err, "already has 7 steps", f"at least {least}")
    assert out_text == "" and snapshot(out) == before


def test_force_with_checkpoints_replaces_the_earlier_run_never_mixes_two(capsys, run_dir):
    argv = ["--lr", "1e30", "--checkpoint-every", "1", "--force", "--out", str(run_dir)]
    code, _, err = run(capsys, "train", *TINY, *argv)
    assert code == 1 and "diverged" in err, err
    assert "--force removed the earlier run's files" in err
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.npz"]
    code, _, err = run(capsys, "train", "--resume", str(run_dir), "--lr", "1e30", "--quiet")
    assert code == 1 and "diverged" in err  # the checkpoint left is the new run's


def test_force_that_fails_before_writing_leaves_the_earlier_run_whole(capsys, run_dir):
    before = snapshot(run_dir)
    code, _, err = run(capsys, "train", *TINY, "--lr", "1e30", "--force", "--out", str(run_dir))
    assert code == 1 and "still holds the earlier run" in err, err
    assert snapshot(run_dir) == before


def test_force_that_succeeds_leaves_only_the_new_run(capsys, run_dir):
    code, _, _ = run(capsys, "train", *TINY, "--no-figures", "--force", "--out", str(run_dir))
    assert code == 0
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(
        ["checkpoint.npz", "metrics.json", "params.npz"]
    )


def test_resume_without_figures_removes_the_earlier_figures(capsys, run_dir):
    argv = ["--resume", str(run_dir), "--iterations", "4", "--quiet", "--no-figures"]
    code, _, _ = run(capsys, "train", *argv)
    assert code == 0
    assert not [name for name in FIGURES if (run_dir / name).exists()]
    assert json.loads((run_dir / "metrics.json").read_text())["steps"] == 4


def _fails_writing(monkeypatch, name: str, error: BaseException) -> None:
    """Writing the file `name` raises `error` (a full disk, Ctrl-C) after part of it is written."""
    atomic_write = checkpoint.atomic_write

    def partly(f):
        f.write(b"the first bytes")
        raise error

    monkeypatch.setattr(
        checkpoint,
        "atomic_write",
        lambda path, write: atomic_write(path, partly if Path(path).name == name else write),
    )


FULL_DISK = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize(("error", "code"), [(FULL_DISK, 2), (KeyboardInterrupt(), 130)])
def test_force_that_fails_writing_its_outputs_leaves_the_earlier_run_whole(
    capsys, monkeypatch, run_dir, error, code
):
    # was: the earlier run deleted first, then the new one half written
    _fails_writing(monkeypatch, "metrics.json", error)  # the last file written
    before = snapshot(run_dir)
    status, _, err = run(
        capsys, "train", *TINY, "--iterations", "4", "--force", "--out", str(run_dir)
    )
    assert status == code and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{run_dir} still holds the earlier run, untouched" in err, err
    if code == 2:
        assert f"({run_dir / 'metrics.json'}: no space left on device) at step 4" in err, err
    else:
        assert "interrupted after step 4, in writing its outputs" in err, err
    assert snapshot(run_dir) == before  # no staged copies left either


@pytest.mark.parametrize(("error", "code"), [(FULL_DISK, 2), (KeyboardInterrupt(), 130)])
def test_resume_that_fails_writing_keeps_the_outputs_together_and_the_checkpoint(
    capsys, monkeypatch, run_dir, error, code
):
    # was: checkpoint.npz and params.npz at step 5, metrics.json and the figures at step 3
    _fails_writing(monkeypatch, "metrics.json", error)
    before = snapshot(run_dir)
    status, _, err = run(capsys, "train", "--resume", str(run_dir), "--iterations", "5", "--quiet")
    assert status == code and err.count("\n") == 1 and "Traceback" not in err, err
    last = f"the last good checkpoint is {run_dir / 'checkpoint.npz'} (step 5); continue it with "
    assert last + f"--resume {run_dir}" in err, err
    now = snapshot(run_dir)
    assert {k: v for k, v in now.items() if k != "checkpoint.npz"} == {
        k: v for k, v in before.items() if k != "checkpoint.npz"
    }
    assert checkpoint.load(run_dir / "checkpoint.npz")[1]["step"] == 5
    monkeypatch.undo()  # the disk has room again: the run is finished from its checkpoint
    assert run(capsys, "train", "--resume", str(run_dir), "--iterations", "5", "--quiet")[0] == 0
    assert json.loads((run_dir / "metrics.json").read_text())["steps"] == 5


def test_an_unwritable_out_is_refused_before_training(capsys, monkeypatch, tmp_path):
    # was: the whole run trained, then "[Errno 13] ...: '.../.params.npz.x1y2.tmp'"
    import tempfile

    from handgrad import train as training

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    monkeypatch.setattr(training, "init_params", lambda *a, **k: pytest.fail("it trained"))
    code, out, err = run(capsys, "train", *TINY, "--out", str(tmp_path / "new" / "run"))
    one_line_error(code, err, f"--out {tmp_path / 'new' / 'run'}: cannot write in {tmp_path}")
    assert "(read-only file system)" in err and out == "" and not (tmp_path / "new").exists()


def test_ctrl_c_while_the_commands_are_imported_exits_130_without_a_traceback(capsys, monkeypatch):
    import handgrad.cli

    def ctrl_c(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(handgrad.cli.importlib, "import_module", ctrl_c)
    assert run(capsys, "train", *TINY) == (130, "", "handgrad: interrupted\n")


# The console script runs `from handgrad.cli import main` and then main(): what that import does
# runs before main's `except KeyboardInterrupt` exists. It imports no NumPy, SciPy, JAX or
# matplotlib (it imported NumPy and SciPy, half a second, in which Ctrl-C was a traceback).
HEAVY = ("numpy", "scipy", "jax", "matplotlib")


def _python(code: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_importing_handgrad_and_its_command_line_imports_nothing_heavy():
    code = f"import sys, handgrad, handgrad.cli; print([m for m in {HEAVY} if m in sys.modules])"
    out = _python(code)
    assert out.stdout == "[]\n", out.stdout + out.stderr


def test_every_public_name_is_imported_on_first_use_and_listed_by_dir():
    code = """if True:
        import handgrad
        listed = dir(handgrad)
        names = {}
        exec("from handgrad import *", names)
        print([n for n in handgrad.__all__ if n not in names or n not in listed])
        print(handgrad.train.__name__, handgrad.gradients is handgrad.formulations.gradients)
        print(all(m in listed for m in ("models", "train", "check")), "__main__" in listed)
        print(hasattr(handgrad, "__main__"), hasattr(handgrad, "nosuch"))  # __main__ would run
    """
    out = _python(code)
    assert out.stdout.splitlines() == ["[]", "handgrad.train True", "True False", "False False"], (
        out.stdout + out.stderr
    )


def test_ctrl_c_as_the_first_heavy_module_is_imported_exits_130_without_a_traceback(tmp_path):
    # A real SIGINT, raised deterministically as NumPy's import begins (the moment that used to
    # lie between interpreter start-up and main()), in the console script's own two lines
    code = """if True:
        import signal, sys

        class CtrlC:
            def find_spec(self, name, path=None, target=None):
                if name in HEAVY:
                    sys.meta_path.remove(self)
                    signal.raise_signal(signal.SIGINT)

        sys.meta_path.insert(0, CtrlC())
        from handgrad.cli import main
        sys.exit(main())
    """.replace("HEAVY", repr(HEAVY))
    out = _python(code, "train", *TINY, "--out", str(tmp_path / "run"))
    assert out.returncode == 130, out.stderr
    assert out.stderr.endswith("interrupted\n") and out.stderr.count("\n") == 1, out.stderr
    assert out.stdout == "" and not (tmp_path / "run").exists()


# ---------------------------------------------------------------- other commands


def test_verify_options_are_checked_with_their_limits(capsys):
    code, _, err = run(capsys, "verify", "--batch-size", "100000")
    one_line_error(code, err, "--batch-size 100000 exceeds the 60,000 MNIST training images")
    code, _, err = run(capsys, "verify", "--seed", "-1")
    one_line_error(code, err, "--seed must be a non-negative integer")


def test_bench_checks_the_data_directory_first(capsys, tmp_path):
    argv = ["--workload", "tiny", "--repeat", "1", "--no-peers", "--data-dir", str(tmp_path)]
    code, out, err = run(capsys, "bench", *argv)
    one_line_error(code, err, str(tmp_path), "missing")
    assert out == ""


def test_audit_write_creates_its_directory_and_refuses_a_directory(capsys, tmp_path, monkeypatch):
    from handgrad.audit import run as audit

    monkeypatch.setattr(audit, "timed_audit", lambda documents: ([], 0.0))  # no audit: a file
    target = tmp_path / "new" / "dir" / "ERRATA.md"
    code, _, err = run(capsys, "audit", "--document", "002", "--write", str(target))
    assert code == 0 and target.read_text().startswith("# Errata"), err
    code, _, err = run(capsys, "audit", "--document", "002", "--write", str(tmp_path))
    one_line_error(code, err, "is a directory")


def test_a_closed_pipe_ends_predict_quietly(finished):
    argv = ["predict", "--params", str(finished / "params.npz"), "--index", "0"]
    child = subprocess.Popen(
        [sys.executable, "-m", "handgrad", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ | {"PYTHONWARNINGS": "ignore"},
    )
    child.stdout.close()  # the reader is gone before the first line is written
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == 141
    assert err == ""


# ---------------------------------------------------------------- scripts


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        (["[1, 2]"], "line 1: a JSON list"),
        (["{not json"], "line 1: not JSON"),
        (['{"recipe": "relu-softmax-column"}'], "no 'seed'"),
        (['{"recipe": "nope", "seed": 0}'], "'train_accuracy'"),
        (None, "needs an existing --jsonl"),
    ],
)
def test_reproduce_render_refuses_bad_jsonl(capsys, tmp_path, lines, words):
    jsonl = tmp_path / "runs.jsonl"
    if lines is not None:
        jsonl.write_text("\n".join(lines) + "\n")
    code = _script("reproduce").main(["--render", "--jsonl", str(jsonl)])
    one_line_error(code, capsys.readouterr().err, words)


def test_reproduce_refuses_zero_seeds(capsys):
    code = _script("reproduce").main(["--seeds", "0"])
    one_line_error(code, capsys.readouterr().err, "--seeds must be >= 1")


@pytest.mark.parametrize(
    ("setting", "words"),
    [("lr", "expected FIELD=VALUE"), ("bogus=1", "unknown recipe field"), ("sizes=7,x", "sizes")],
)
def test_accuracy_set_needs_field_equals_value(capsys, setting, words):
    code = _script("accuracy").main(["--seeds", "0", "--set", setting])
    one_line_error(code, capsys.readouterr().err, words)


def test_ctrl_c_in_training_prints_where_the_checkpoint_is(capsys, monkeypatch):
    from handgrad import train as training

    def interrupted(*args, **kwargs):
        raise training.Interrupted("interrupted at step 7; the last good checkpoint is x (step 5)")

    monkeypatch.setattr(training, "train", interrupted)
    code, _, err = run(capsys, "train", *TINY)
    assert code == 130 and err == (
        "handgrad train: interrupted at step 7; the last good checkpoint is x (step 5)\n"
    )


def test_building_the_command_line_does_not_import_jax():
    # JAX takes about a second to import: `handgrad predict`, `train --help` and the rest of the
    # commands that do not need the oracle should not pay for it
    code = "import sys; from handgrad.cli import build_parser; build_parser(); print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
