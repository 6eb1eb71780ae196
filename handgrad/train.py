"""Training on MNIST with a gradient proven correct first: one `train()` for CLI, notebooks, tests.

    from handgrad.train import train
    result = train("relu-softmax-column", seed=0)        # 002's recipe, float32
    result.train_accuracy, result.dev_accuracy, result.test_accuracy

What happens, in order:
1. Options are validated and the data split (the first `train_size` MNIST training images train,
   the next `dev_size` are the dev split; the official 10,000 test images test). Nothing is
   written anywhere before this succeeds.
2. The gate: the gradient the loop will compute is checked by `handgrad.check.check_gradients`
   on 32 training images, in float64, at the initial parameters. A "fail" (or an "error") raises
   GateError and training never starts. With weight decay or dropout the gate checks what the
   loop computes: the L2 term added, and dropout with one set of masks fixed, against the
   penalised, masked loss (`regularizers.oracle_loss`, JAX autodiff + differences).
3. The engine. "fast" (the default for the row and column formulations): `handgrad.fast`
   evaluates the formulation's equations in buffers allocated once (float32, batch-major
   activations, dropout folded into g'; tested equal to the formulation modules), and plain
   (S)GD updates the parameters in place. "formulation" (per-neuron's only engine): the
   formulation module's `forward`/`backward` (or, with dropout, `handgrad.regularizers`' masked
   ones) on native-layout arrays. Either way: lambda W added for weight decay, then the
   optimizer's `step` with the scheduled learning rate (`optimizers.learning_rate`). With
   augment "affine" every epoch trains on a fresh distorted copy of the training images.
   Every `verify_every` steps a cheap random-direction check (`handgrad.check.directional_check`)
   of the same gradient (the gate's loss and masks) runs at the current parameters; a mismatch
   raises VerificationError.
4. A non-finite loss or parameter raises DivergedError; the last checkpoint (written only while
   everything was finite) stays. With `out`, checkpoints are written every `checkpoint_every`
   steps and at the end; `resume` continues from one and ends with the same parameters, bit for
   bit, as an uninterrupted run.
5. Final accuracies on train, dev and test; with `out`: params.npz, figures, metrics.json (last).

Randomness: `np.random.default_rng(seed)` draws the initial parameters and then every epoch's
shuffling order; the checks and the sample choice draw from their own streams, so verifying (or
not) never changes what is trained. Epoch e's distortions come from `default_rng((seed, 4, e))`
and step t's dropout masks from `default_rng((seed, 5, t))`, so a resumed run rebuilds them
without storing them. The same seed gives identical parameters and metrics.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import signal
import tempfile
import threading
import time
import typing
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from handgrad import augment, blas, checkpoint, data, fast, regularizers
from handgrad.formulations import get_formulation, gradients
from handgrad.models import INIT_SCHEMES, Model, Params, init_params, parse_model, transpose_params
from handgrad.optimizers import SCHEDULES, get_optimizer, learning_rate
from handgrad.recipes import RECIPES, Recipe, get_recipe, override, recipe_from_json
from handgrad.saved import load_checkpoint, save_params

GATE_BATCH = 32  # training images the gate and the periodic checks use
PROGRESS_SECONDS = 10.0  # without a progress bar (stderr not a terminal): a line this often
EVAL_CHUNK = 2_048  # examples per forward pass when evaluating a whole split
DTYPES = ("float32", "float64")
FAST_FORMULATIONS = ("row", "column")  # the batch forms, whose equations handgrad.fast evaluates
ENGINES = ("fast", "formulation")  # how the loop evaluates the formulation's equations
RESUMABLE_CHANGES = ("iterations", "epochs", "test_predictions")  # may differ on --resume
UNCHECKED = ("reported", "choices")  # prose, not settings
OUTPUTS = ("metrics.json", "params.npz", checkpoint.CHECKPOINT)


class GateError(ValueError):
    """The gradient failed its check against the oracles; `report` holds the CheckReport."""

    def __init__(self, message: str, report=None):
        super().__init__(message)
        self.report = report


class VerificationError(GateError):
    """A periodic directional check during training found a mismatch (at `step`)."""

    def __init__(self, message: str, report=None, step: int = 0):
        super().__init__(message, report)
        self.step = step


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training; the message says where the last checkpoint is, if any."""


class DivergedError(FloatingPointError):
    """The loss or the parameters became NaN or inf; `checkpoint` is the last good one (or None)."""

    def __init__(self, message: str, step: int, checkpoint: Path | None):
        super().__init__(message)
        self.step, self.checkpoint = step, checkpoint


@dataclass
class TrainResult:
    """What a training run produced: parameters (model layout), history, accuracies, timings.

    params, model: the trained parameters in the model's layout and the `Model` (as
        `handgrad.saved.load_params` returns them from params.npz); initial_params: step 0's.
    history: step, loss, train and dev accuracy at every display point.
    train_accuracy, dev_accuracy (None without a dev split), test_accuracy: at the end.
    seconds, train_seconds: the whole call, and the training loop alone; a resumed run's
        train_seconds is summed over all its segments (the checkpoint carries the earlier ones'),
        so it can exceed `seconds`, which is this call's.
    steps: optimizer steps trained; config: recipe, formulation, engine, dtype, dataset, seed, ...
    gate: the gate's CheckReport as JSON (None when skipped).
    checks: verdicts of the periodic directional checks (`verify_every`), counted over every
        segment of a resumed run, e.g. {"pass": 46, "inconclusive": 1}; empty without them.
    test_predictions, test_labels: predicted and true class of every official test image.
    sample_indices: test images shown as sample predictions; out: the output directory, or None.
    """

    params: Params
    model: Model
    history: dict[str, list]
    train_accuracy: float
    dev_accuracy: float | None
    test_accuracy: float
    seconds: float  # wall clock of the whole call: data, gate, loop, evaluation, outputs
    train_seconds: float  # the training loop alone, without the history's evaluation passes,
    # summed over all segments of a resumed run
    steps: int
    config: dict
    seed: int
    gate: dict | None  # CheckReport.to_json() of the gate, None when skipped
    checks: dict[str, int]  # verdict -> how many periodic checks gave it
    test_predictions: np.ndarray = field(repr=False)  # predicted class of every test image
    test_labels: np.ndarray = field(repr=False)  # and its label
    sample_indices: np.ndarray = field(repr=False)  # test images shown as sample predictions
    initial_params: Params | None = field(default=None, repr=False)  # step 0, model layout
    out: Path | None = None

    def metrics(self) -> dict:
        """The JSON written to metrics.json."""
        return {
            "train_accuracy": self.train_accuracy,
            "dev_accuracy": self.dev_accuracy,
            "test_accuracy": self.test_accuracy,
            "seconds": self.seconds,
            "train_seconds": self.train_seconds,
            "steps": self.steps,
            "seed": self.seed,
            "config": self.config,
            "history": self.history,
            "samples": [
                {
                    "index": int(i),
                    "prediction": int(self.test_predictions[i]),
                    "label": int(self.test_labels[i]),
                }
                for i in self.sample_indices
            ],
            "gate": self.gate,
            "periodic_checks": self.checks,
            "machine": machine(),
        }


def machine() -> dict:
    """Where this ran: CPU count, processor, Python and NumPy versions."""
    return {
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "system": platform.system(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    }


@dataclass(frozen=True)
class _Data:
    """Row-major float images and int labels of the train, dev and test splits."""

    train: tuple[np.ndarray, np.ndarray]
    dev: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]


def _number(v) -> bool:
    """A real number, not a bool (True is an int to Python, not a learning rate)."""
    return isinstance(v, int | float) and not isinstance(v, bool)


def _integer(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _plain(value):
    """NumPy scalars (np.float32(0.1), np.int64(5)) as Python numbers, in tuples too."""
    if isinstance(value, np.generic):
        return value.item()
    return tuple(_plain(v) for v in value) if isinstance(value, tuple) else value


def _validate(recipe: Recipe, model: Model, formulation: str, dtype: str) -> None:
    """Raise ValueError naming the first option that cannot work."""
    optimizer = get_optimizer(recipe.optimizer, recipe.momentum)
    get_formulation(formulation)
    augment.get_augmentation(recipe.augment)
    if recipe.schedule not in SCHEDULES:
        raise ValueError(
            f"unknown schedule {recipe.schedule!r}; expected one of {', '.join(SCHEDULES)}"
        )
    if not (_integer(recipe.warmup) and recipe.warmup >= 0):
        raise ValueError(f"warmup must be a non-negative integer (steps), got {recipe.warmup!r}")
    wd = recipe.weight_decay
    if not (_number(wd) and math.isfinite(wd) and wd >= 0):
        raise ValueError(f"weight_decay must be a non-negative number, got {wd!r}")
    if not (_number(recipe.dropout) and 0 <= recipe.dropout < 1):
        raise ValueError(f"dropout must be a rate in [0, 1), got {recipe.dropout!r}")
    if recipe.dropout and formulation not in regularizers.LAYOUTS:
        raise ValueError(
            f"dropout is implemented for the {' and '.join(regularizers.LAYOUTS)} formulations, "
            f"not {formulation!r}"
        )
    if recipe.augment != "none" and optimizer.batching == "full":
        raise ValueError(
            f"augment {recipe.augment!r} draws a fresh training set every epoch of mini-batches; "
            f"optimizer {recipe.optimizer!r} is full-batch"
        )
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    if recipe.init not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {recipe.init!r}; expected one of {INIT_SCHEMES}")
    scale, limit = recipe.init_scale, float(np.finfo(dtype).max) / 2  # U(-s, s) draws s - (-s)
    uniform = recipe.init == "uniform"  # the bound s of U(-s, s): 0 would draw only zeros
    lowest = (lambda s: s > 0) if uniform else (lambda s: s >= 0)
    if not (_number(scale) and math.isfinite(scale) and lowest(scale) and scale <= limit):
        interval, what = ("(0", " for init 'uniform' (U(-s, s))") if uniform else ("[0", "")
        raise ValueError(
            f"init_scale must be a finite number in {interval}, {limit:.3g}]{what}, got {scale!r}"
        )
    a = recipe.alpha
    if not (_number(a) and math.isfinite(a) and a > 0):
        raise ValueError(f"alpha must be a positive finite number (ELU's alpha), got {a!r}")
    if model.sizes[0] != 784 or model.sizes[-1] != 10:
        raise ValueError(f"MNIST needs sizes 784,...,10; got {','.join(map(str, model.sizes))}")
    if not (_number(recipe.lr) and math.isfinite(recipe.lr) and recipe.lr > 0):
        raise ValueError(f"lr must be a positive finite number, got {recipe.lr!r}")
    if (recipe.iterations is None) == (recipe.epochs is None):
        raise ValueError(
            f"give exactly one of iterations and epochs, got iterations={recipe.iterations}, "
            f"epochs={recipe.epochs}"
        )
    for name in ("iterations", "epochs", "batch_size", "display_every"):
        value = getattr(recipe, name)
        if value is not None and (not _integer(value) or value < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    for name in ("train_size", "dev_size", "test_predictions"):
        if not _integer(getattr(recipe, name)):
            raise ValueError(f"{name} must be an integer, got {getattr(recipe, name)!r}")
    if recipe.train_size < 1 or recipe.dev_size < 0 or recipe.test_predictions < 0:
        raise ValueError(
            f"need train_size >= 1, dev_size >= 0, test_predictions >= 0; got "
            f"{recipe.train_size}, {recipe.dev_size}, {recipe.test_predictions}"
        )
    if optimizer.batching == "full" and recipe.batch_size is not None:
        raise ValueError(
            f"optimizer {recipe.optimizer!r} is full-batch gradient descent; batch_size must be "
            f"unset, got {recipe.batch_size} (use optimizer 'sgd' for mini-batches)"
        )
    if optimizer.batching == "mini" and recipe.batch_size is None:
        raise ValueError(f"optimizer {recipe.optimizer!r} needs a batch size (--batch-size)")
    if recipe.batch_size is not None and recipe.batch_size > recipe.train_size:
        raise ValueError(f"batch_size {recipe.batch_size} exceeds train_size {recipe.train_size}")


def _load_data(recipe: Recipe, dataset: str, data_dir) -> _Data:
    """The train/dev/test splits: the first train_size training images, the next dev_size."""
    train = data.load(dataset, "train", data_dir)
    test = data.load(dataset, "test", data_dir)
    n, d = recipe.train_size, recipe.dev_size
    if n + d > len(train.labels):
        raise ValueError(
            f"train_size {n} + dev_size {d} = {n + d} exceeds the {len(train.labels)} "
            f"{dataset} training images"
        )
    dev = (train.images[n : n + d], train.labels[n : n + d]) if d else None
    return _Data((train.images[:n], train.labels[:n]), dev, (test.images, test.labels))


def _resolve(
    recipe: Recipe | str | None, resumed: dict | None, formulation, seed, dataset, dtype
) -> tuple[Recipe, str, int, str, str]:
    """Recipe and settings for a new run, or the checkpoint's (with allowed changes) on resume."""
    if resumed is None:
        if recipe is None:
            raise ValueError("give a recipe (or resume a checkpoint)")
        recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
        if not isinstance(recipe, Recipe):
            raise TypeError(f"recipe must be a Recipe or a recipe's name, got {recipe!r:.60}")
        recipe = replace(recipe, **{k: _plain(v) for k, v in recipe.asdict().items()})
        if dtype is not None and not isinstance(dtype, str):
            try:
                dtype = np.dtype(dtype).name  # np.float32 -> "float32"
            except TypeError:
                pass  # _validate names it
        return (
            recipe,
            formulation or _layout(recipe),
            0 if seed is None else _plain(seed),
            dataset or "mnist",
            dtype or "float32",
        )
    saved = recipe_from_json(resumed["recipe"])
    if recipe is not None:
        recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
        for name, value in saved.asdict().items():
            if name not in RESUMABLE_CHANGES + UNCHECKED and getattr(recipe, name) != value:
                flag = "--recipe" if name == "name" else "--" + name.replace("_", "-")
                raise ValueError(
                    f"cannot resume with {flag} {getattr(recipe, name)!r}: the checkpoint was "
                    f"trained with {value!r}; only --iterations, --epochs and --test-predictions "
                    "may change"
                )
        saved = override(saved, **{k: getattr(recipe, k) for k in RESUMABLE_CHANGES})
    for name, given in (
        ("formulation", formulation),
        ("seed", seed),
        ("dataset", dataset),
        ("dtype", dtype),
    ):
        if given is not None and given != resumed[name]:
            raise ValueError(
                f"cannot resume with {name}={given!r}: the checkpoint used {resumed[name]!r}"
            )
    return saved, resumed["formulation"], resumed["seed"], resumed["dataset"], resumed["dtype"]


def _resumed_threads(before, now, say: Callable[[str], None]) -> None:
    """A note where a resumed segment runs with another BLAS thread count than the checkpoint's:
    OpenBLAS splits a product's sums by thread, so the run leaves the uninterrupted one's bits."""
    if isinstance(before, int) and isinstance(now, int) and before != now:
        say(
            f"note: the checkpoint was trained with {before} BLAS thread{'s' * (before != 1)}, "
            f"this segment runs with {now}: its parameters will differ in the last bits from an "
            f"uninterrupted run's (OPENBLAS_NUM_THREADS={before} keeps them bit for bit)"
        )


def _layout(recipe: Recipe) -> str:
    return recipe.model.rsplit("-", 1)[-1]


def _check_out(out: Path | None, resume: Path | None, force: bool) -> None:
    """Refuse an --out directory holding another run, unless resuming it or forced."""
    if out is None:
        return
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    # created later (`_publish`): every existing ancestor must be a directory, the nearest writable
    parent = next(p for p in (out, *out.absolute().parents) if p.exists())
    if not parent.is_dir():
        raise ValueError(f"--out {out}: {parent} is a file, not a directory")
    try:
        tempfile.TemporaryFile(dir=parent).close()
    except OSError as e:
        what = e.strerror[0].lower() + e.strerror[1:] if e.strerror else str(e)
        raise ValueError(f"--out {out}: cannot write in {parent} ({what})") from None
    from handgrad.figures import FILES

    held = [name for name in OUTPUTS if (out / name).exists()]
    same = resume is not None and resume.resolve() == out.resolve()
    if held and not (same or force):
        raise ValueError(
            f"--out {out} already holds a run ({', '.join(held)}); continue it with --resume "
            f"{out} (resume= from Python), overwrite it with --force (force=True), or choose "
            "another directory"
        )
    strays = [name for name in FILES if (out / name).exists()]
    if strays and not (held or force):  # a run would write its figures over them
        raise ValueError(
            f"--out {out} holds {', '.join(strays)} but no run ({' or '.join(OUTPUTS)}): a run "
            "would replace them; move them, choose another directory, or overwrite them with "
            "--force (force=True)"
        )


def _run_files(out: Path) -> list[str]:
    """The files of a run (outputs and figures) present in `out`; none unless it holds a run."""
    from handgrad.figures import FILES

    if not any((out / name).exists() for name in OUTPUTS):
        return []
    return [name for name in (*OUTPUTS, *FILES) if (out / name).exists()]


def _remove_run(out: Path, names: list[str]) -> None:
    """Delete a run's files from `out`, metrics.json (the mark of a finished run) first."""
    for name in sorted(names, key=lambda name: name != "metrics.json"):
        (out / name).unlink(missing_ok=True)


def _native_batch(images: np.ndarray, labels: np.ndarray, layout: str, dtype) -> tuple:
    """X and one-hot Y of a row-major image batch, in `layout`, contiguous, in `dtype`."""
    X = data.to_layout(np.asarray(images, dtype), layout)
    return np.ascontiguousarray(X), data.one_hot(labels, 10, layout, dtype)


def _relayout(params: Params, source: Model, target: Model, dtype=None) -> Params:
    """`params` of `source`'s layout in `target`'s layout (transposed if they differ)."""
    p = params if source.layout == target.layout else transpose_params(params)
    return {k: np.asarray(v, dtype) for k, v in p.items()} if dtype else dict(p)


def _finite(arrays) -> bool:
    """Every entry of every array finite. One reduction per array: a sum is finite only if every
    term is (one that overflows, under the training loop's np.errstate, is checked entry by entry).
    In an mlp-128 epoch (469 steps) the per-step check took 11-12 ms entry by entry, now 7 ms."""
    for a in arrays:
        if not math.isfinite(np.add.reduce(a, axis=None)) and not np.isfinite(a).all():
            return False
    return True


def _trained_gradient(
    model: Model, formulation: str, recipe: Recipe, masks: dict | None, engine: str
):
    """grad_fn(p, X, Y) in `model`'s layout computing what the loop computes (masks fixed)."""
    wd = recipe.weight_decay
    if engine == "fast":  # handgrad.fast in the formulation's layout, as the loop runs it
        native = model.with_layout(get_formulation(formulation).NATIVE_LAYOUT)
        swap = native.layout != model.layout

        def grad_fn(p, X, Y):
            q, Xn, Yn = (transpose_params(p), X.T, Y.T) if swap else (p, X, Y)
            native_masks = {k: v.T for k, v in masks.items()} if swap and masks else masks
            g = fast.gradients(native, q, Xn, Yn, native_masks or None)
            g = regularizers.add_l2_gradient(g, q, wd) if wd else g
            return transpose_params(g) if swap else g

        return grad_fn
    if not recipe.dropout:

        def grad_fn(p, X, Y):
            g = gradients(model, p, X, Y, formulation)
            return regularizers.add_l2_gradient(g, p, wd) if wd else g

        return grad_fn
    native = model.with_layout(get_formulation(formulation).NATIVE_LAYOUT)
    swap = native.layout != model.layout
    native_masks = {k: v.T for k, v in masks.items()} if swap and masks else (masks or {})

    def grad_fn(p, X, Y):
        q, Xn, Yn = (transpose_params(p), X.T, Y.T) if swap else (p, X, Y)
        g = regularizers.gradients(native, q, Xn, Yn, native_masks, wd)
        return transpose_params(g) if swap else g

    return grad_fn


def _engine(engine: str | None, formulation: str, resumed: dict | None) -> str:
    """The engine asked for, the checkpoint's, or "fast" where the formulation is a batch form."""
    batch = formulation in FAST_FORMULATIONS
    if resumed is not None:
        saved = resumed.get("engine", "formulation")
        if saved not in ENGINES:
            raise ValueError(f"the checkpoint names an unknown engine {saved!r}")
        if engine is not None and engine != saved:
            raise ValueError(f"cannot resume with engine={engine!r}: the checkpoint used {saved!r}")
        return saved
    if engine is None:
        return "fast" if batch else "formulation"
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine == "fast" and not batch:
        raise ValueError(
            f"the fast engine evaluates the row and column formulations, not {formulation!r} "
            "(use engine 'formulation')"
        )
    return engine


def _what(formulation: str, engine: str) -> str:
    """ "the column gradient (fast engine)" or "the per-neuron gradient"."""
    return f"the {formulation} gradient" + (" (fast engine)" if engine == "fast" else "")


def _regularised(recipe: Recipe) -> str:
    """ " with dropout 0.2 (masks fixed) and L2 0.0001" or ""."""
    what = [f"dropout {recipe.dropout:g} (masks fixed)"] if recipe.dropout else []
    what += [f"L2 {recipe.weight_decay:g}"] if recipe.weight_decay else []
    return " with " + " and ".join(what) if what else ""


def _checked_loss(model: Model, recipe: Recipe, m: int, seed: int):
    """(loss, masks) the checks differentiate: None, None for the plain loss; with dropout or
    weight decay `regularizers.oracle_loss` (JAX autodiff of the penalised loss) with one set of
    dropout masks for m examples, drawn once per run from (seed, 6) and fixed."""
    if not (recipe.dropout or recipe.weight_decay):
        return None, None
    rng = np.random.default_rng((seed, 6))
    masks = regularizers.dropout_masks(model, m, recipe.dropout, rng, np.float64)
    masks = masks if recipe.dropout else {}
    return regularizers.oracle_loss(model, masks, recipe.weight_decay), masks


def _gate(
    model: Model, formulation: str, params64: Params, X64, Y64, seed, recipe, engine, checked
):
    """check_gradients on the gradient training uses (regularised, masks fixed); GateError if wrong.

    `checked` = `_checked_loss(...)`: with dropout or weight decay the oracles are JAX autodiff and
    finite differences of the penalised loss with the same dropout masks.
    """
    from handgrad import check

    loss, masks = checked
    grad_fn = _trained_gradient(model, formulation, recipe, masks, engine)
    report = check.check_gradients(
        grad_fn, model, params=params64, X=X64, Y=Y64, seed=seed, loss=loss
    )
    if report.verdict in ("fail", "error"):
        raise GateError(
            f"gate: {_what(formulation, engine)}{_regularised(recipe)} of {model.name} "
            f"{','.join(map(str, model.sizes))} does not match the oracles "
            f"(verdict {report.verdict}); training refused\n{report}",
            report,
        )
    return report


def _directional(model, formulation, params64, X64, Y64, rng, step, recipe, engine, checked):
    """The cheap periodic check of the gradient training uses (the gate's loss and masks);
    VerificationError on a mismatch."""
    from handgrad import check

    loss, masks = checked
    grad_fn = _trained_gradient(model, formulation, recipe, masks, engine)
    report = check.directional_check(
        grad_fn, model, params64, X64, Y64, rng, directions=1, loss=loss
    )
    if report.verdict in ("fail", "error"):
        raise VerificationError(
            f"verify: at step {step} {_what(formulation, engine)}{_regularised(recipe)} no longer "
            f"matches the directional derivative (verdict {report.verdict}); training stopped\n"
            f"{report}",
            report,
            step,
        )
    return report


@dataclass
class _State:
    """Everything a checkpoint holds: the step, parameters (native layout) and what drives the rest."""

    step: int
    params: Params
    opt_state: dict
    perm: np.ndarray | None  # this epoch's shuffling order (mini-batches)
    rng: np.random.Generator  # initial parameters, then every epoch's shuffling order
    check_rng: np.random.Generator  # directions of the periodic checks
    history: dict[str, list]
    seconds: float  # training-loop seconds of earlier segments
    checks: dict[str, int] = field(default_factory=dict)  # periodic checks' verdicts, counted

    def save(self, path: Path, config: dict, seconds: float) -> None:
        """Write this state to `path` atomically."""
        arrays = {f"params/{k}": v for k, v in self.params.items()}
        arrays |= {f"opt/{k}": v for k, v in self.opt_state.items()}
        if self.perm is not None:
            arrays["perm"] = self.perm
        meta = {
            "step": self.step,
            "rng": self.rng.bit_generator.state,
            "check_rng": self.check_rng.bit_generator.state,
            "history": self.history,
            "train_seconds": seconds,
            "checks": self.checks,
            "config": config,
        }
        checkpoint.save(path, arrays, meta)

    @classmethod
    def load(cls, arrays: dict, meta: dict) -> _State:
        """The state saved by `save` (arrays and meta from `checkpoint.load`)."""
        rng, check_rng = np.random.default_rng(), np.random.default_rng()
        rng.bit_generator.state = meta["rng"]
        check_rng.bit_generator.state = meta["check_rng"]
        return cls(
            step=meta["step"],
            params={k[7:]: v for k, v in arrays.items() if k.startswith("params/")},
            opt_state={k[4:]: v for k, v in arrays.items() if k.startswith("opt/")},
            perm=arrays.get("perm"),
            rng=rng,
            check_rng=check_rng,
            history=meta["history"],
            seconds=meta["train_seconds"],
            checks=dict(meta.get("checks", {})),  # (checkpoints before the counts: none)
        )


def train(
    recipe: Recipe | str | None = None,
    *,
    formulation: str | None = None,
    seed: int | None = None,
    data_dir: str | os.PathLike | None = None,
    dataset: str | None = None,
    dtype: str | None = None,
    engine: str | None = None,
    verify: bool = True,
    verify_every: int | None = None,
    checkpoint_every: int | None = None,
    out: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    force: bool = False,
    figures: bool = True,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    callback: Callable[[int, Params], None] | None = None,
) -> TrainResult:
    """Train `recipe` (a Recipe or a name) on MNIST after the gradient gate; see the module doc.

    None means: the recipe's model layout as formulation, seed 0, "mnist", "float32", engine
    "fast" for the row and column formulations, else "formulation" (or, with `resume`, the
    checkpoint's values). `figures=False` skips the PNGs in `out`. `log(message)` receives the
    status lines (gate, resume, --force); `progress` shows tqdm's bar where stderr is a terminal,
    elsewhere (a pipe, a CI log) a plain progress line through `log` every PROGRESS_SECONDS.
    `callback(step, params)` runs after every step (params in the formulation's native layout,
    updated in place by later steps: copy what you keep); an exception it raises stops training
    (the checkpoints written so far stay).
    """
    started = time.perf_counter()
    say = log or (lambda message: None)
    out = Path(out) if out is not None else None
    resume = Path(resume) if resume is not None else None
    arrays, resumed = {}, None
    if resume is not None:
        arrays, resumed = load_checkpoint(resume)
        _check_checkpoint(resume / checkpoint.CHECKPOINT, arrays, resumed)
    recipe, formulation, seed, dataset, dtype = _resolve(
        recipe, resumed and resumed["config"], formulation, seed, dataset, dtype
    )
    out = resume if out is None else out
    model = parse_model(recipe.model, recipe.sizes, recipe.alpha)
    _validate(recipe, model, formulation, dtype)
    engine = _engine(engine, formulation, resumed and resumed["config"])
    quick = engine == "fast"
    for name, value in (("verify_every", verify_every), ("checkpoint_every", checkpoint_every)):
        if value is not None and (not _integer(value) or value < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if checkpoint_every is not None and out is None:
        raise ValueError("checkpoint_every needs an output directory (--out DIR)")
    if not _integer(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    splits = _load_data(recipe, dataset, data_dir)
    _check_out(out, resume, force)

    module = get_formulation(formulation)
    native = model.with_layout(module.NATIVE_LAYOUT)  # the loop runs in the formulation's layout
    axis, L, float_t = native.class_axis, model.depth, np.dtype(dtype)
    train_labels = splits.train[1]
    dev = (
        (*_native_batch(*splits.dev, native.layout, float_t), splits.dev[1]) if splits.dev else None
    )
    dev_rows = np.asarray(splits.dev[0], float_t) if splits.dev and quick else None
    optimizer = get_optimizer(recipe.optimizer, recipe.momentum)
    n, B = recipe.train_size, recipe.batch_size
    full = B is None
    column = native.layout == "column"
    if full and not quick:  # the whole split every step: one contiguous copy in the native layout
        X, Y = _native_batch(*splits.train, native.layout, float_t)
    else:  # mini-batches are gathered as rows (cheap) and transposed per batch when needed;
        # the fast engine reads the rows (batch-major) in every product, full batch included
        X_rows = np.asarray(splits.train[0], float_t)
        Y_rows = data.one_hot(train_labels, 10, "row", float_t)
        X, Y = (X_rows.T, Y_rows.T) if column else (X_rows, Y_rows)  # views, for evaluation
        X_source = X_rows  # the images batches are gathered from (a distorted copy with augment)
    distortion = augment.get_augmentation(recipe.augment)
    per_epoch = 1 if full else math.ceil(n / B)
    total = recipe.iterations if recipe.iterations is not None else recipe.epochs * per_epoch
    config = {
        "recipe": recipe.asdict(),
        "model": model.name,
        "formulation": formulation,
        "seed": seed,
        "dataset": dataset,
        "dtype": dtype,
        "engine": engine,
        "steps": total,
        "steps_per_epoch": per_epoch,
        "verify": verify,
        "verify_every": verify_every,
        "checkpoint_every": checkpoint_every,
        "blas_threads": blas.threads(),  # bit for bit only at one count (see `_resumed_threads`)
    }

    rng = np.random.default_rng(seed)
    initial = init_params(model, rng, recipe.init, recipe.init_scale, float_t)  # model layout
    if resumed is None:
        params = _relayout(initial, model, native)
        if quick:  # updated in place: own contiguous arrays, not views of `initial`
            params = {k: np.array(v, float_t, order="C") for k, v in params.items()}
        s = _State(
            step=0,
            params=params,
            opt_state=optimizer.init(params),
            perm=None,
            rng=rng,
            check_rng=np.random.default_rng((seed, 3)),
            history={"step": [], "loss": [], "train_accuracy": [], "dev_accuracy": []},
            seconds=0.0,
        )
    else:
        s = _State.load(arrays, resumed)
        if s.step > total:
            length = "--iterations" if recipe.iterations is not None else "--epochs"
            least = s.step if recipe.iterations is not None else math.ceil(s.step / per_epoch)
            raise ValueError(
                f"--resume {resume}: the run already has {s.step} steps, more than the {total} "
                f"asked for; ask for at least {length} {least} (or train a new run with --out)"
            )
        if s.history["step"] and s.history["step"][-1] == s.step:  # a finished segment's last
            for values in s.history.values():  # point: recorded again where a run without the
                values.pop()  # stop has it (at a display step, or at the end)
        if quick:
            s.params = {k: np.array(v, float_t, order="C") for k, v in s.params.items()}
        say(f"resumed {resume / checkpoint.CHECKPOINT} at step {s.step} of {total}")
        _resumed_threads(resumed["config"].get("blas_threads"), config["blas_threads"], say)
    ckpt_path = out / checkpoint.CHECKPOINT if out is not None else None
    same_dir = resume is not None and out.resolve() == resume.resolve()
    last_good = s.step if same_dir else None  # step of the last checkpoint in `out`
    # Another run in `out` (--force): removed just before this run writes its first file there.
    earlier = [] if out is None or same_dir else _run_files(out)
    replaced = False  # whether it was

    # The gate and the periodic checks use 32 training images, float64, in the model's layout.
    gate_idx = np.random.default_rng((seed, 1)).choice(n, min(GATE_BATCH, n), replace=False)
    X64, Y64 = _native_batch(
        splits.train[0][gate_idx], train_labels[gate_idx], model.layout, np.float64
    )
    gate_report = None
    checked = _checked_loss(model, recipe, len(gate_idx), seed) if verify or verify_every else None
    if verify:
        report = _gate(
            model,
            formulation,
            _relayout(s.params, native, model, np.float64),
            X64,
            Y64,
            seed,
            recipe,
            engine,
            checked,
        )
        gate_report = report.to_json()
        say(
            f"gate: {_what(formulation, engine)}{_regularised(recipe)} of {model.name} "
            "checked against the oracles on "
            f"{len(gate_idx)} training images: {report.verdict}"
        )
    else:
        say("gate: skipped (--no-verify)")

    def saved() -> str:
        """Where the last checkpoint is (and what became of an earlier run in `out`)."""
        if last_good is not None:
            where = f"the last good checkpoint is {ckpt_path} (step {last_good})"
        elif checkpoint_every:
            where = f"no checkpoint was written yet (one every {checkpoint_every} steps)"
        else:
            where = "no checkpoint was written (use --checkpoint-every N)"
        if earlier:
            where += f"; {out} still holds the earlier run, untouched"
        elif replaced:
            where += f" (--force removed the earlier run's files from {out})"
        return where

    def diverged(what: str, step: int) -> DivergedError:
        where = saved()
        return DivergedError(
            f"training diverged: {what} at step {step} (lr {recipe.lr:g}); stopped, {where}; "
            "try a smaller --lr",
            step,
            ckpt_path if last_good is not None else None,
        )

    def record(cache: dict | None) -> None:
        """History at the current step: loss and accuracy on the training split, dev accuracy.

        Its time (a forward pass over the training split) is counted apart from training's."""
        nonlocal history_seconds
        if s.history["step"] and s.history["step"][-1] == s.step:
            return
        started = time.perf_counter()
        if cache is not None:
            loss = native.loss.value(cache[f"Z{L}"], Y, axis)
            predicted = cache[f"A{L}"].argmax(axis)
        elif quick:  # the engine's own forward pass: NumPy's BLAS stays idle (handgrad.fast)
            loss, predicted = fast.evaluate(native, s.params, X_rows, eval_ws, Y_rows)
        else:
            loss, predicted = _evaluate(module, native, s.params, X, Y)
        if not math.isfinite(loss):
            raise diverged(f"the training loss became {loss}", s.step)
        accuracy = float(np.mean(predicted == train_labels))
        if dev and quick:
            dev_acc = float(
                np.mean(fast.evaluate(native, s.params, dev_rows, eval_ws)[1] == dev[2])
            )
        else:
            dev_acc = _accuracy(module, native, s.params, *dev[:2]) if dev else None
        history_seconds += time.perf_counter() - started
        for key, value in zip(s.history, (s.step, loss, accuracy, dev_acc), strict=True):
            s.history[key].append(value)
        bar.set_postfix(
            loss=f"{loss:.4f}",
            acc=f"{accuracy:.3f}",
            **({"dev": f"{dev_acc:.3f}"} if dev else {}),
            refresh=False,
        )

    def save_checkpoint(seconds: float, outputs: Callable[[Path], None] | None = None) -> None:
        """The checkpoint into `out`, and `outputs(directory)` the run's other files (`_publish`:
        whole or not at all). An earlier run there (--force) is replaced only once all of them are
        complete; otherwise the checkpoint is written first, so that it stays if the outputs fail."""
        nonlocal last_good
        if not _finite(s.params.values()):
            raise diverged("a parameter became NaN or inf", s.step)
        forced = list(earlier)  # --force: the directory never mixes two runs
        if not forced:
            s.save(ckpt_path, config, seconds)
            last_good = s.step
        if forced or outputs:

            def write(stage: Path) -> None:
                if forced:
                    s.save(stage / checkpoint.CHECKPOINT, config, seconds)
                if outputs:
                    outputs(stage)

            def done() -> None:
                nonlocal last_good, earlier, replaced
                if forced:
                    earlier, replaced, last_good = [], True, s.step

            segment = [name for name in _run_files(out) if name != checkpoint.CHECKPOINT]
            _publish(out, write, forced or segment, done)
        if forced:
            say(f"--force: removed the earlier run's {', '.join(forced)} from {out}")

    def again() -> str:
        return f"; continue it with --resume {out}" if last_good is not None else ""

    def unwritable(error: OSError) -> OSError:
        """A full disk or an unwritable file in `out`: which, and what was kept."""
        if out is None:
            return error
        what = str(error)
        if error.filename and error.strerror:
            what = f"{error.filename}: {error.strerror[0].lower()}{error.strerror[1:]}"
        return OSError(f"cannot write to {out} ({what}) at step {s.step}; {saved()}{again()}")

    from tqdm import tqdm

    bar = tqdm(
        total=total,
        initial=s.step,
        desc=recipe.name,
        unit="step",
        disable=None if progress else True,
        dynamic_ncols=True,
    )
    # tqdm hides its bar where stderr is not a terminal (a pipe, a CI log): a plain line instead
    plain = progress and bar.disable
    first_step, last_line = s.step, time.perf_counter()

    def progress_line(now: float) -> str:
        """ "mlp-99: step 1,200/9,380 (13%), 60 s, about 410 s left; at step 1,000 loss ..." """
        done, elapsed = s.step - first_step, now - loop_start
        left = f", about {elapsed / done * (total - s.step):.0f} s left" if done else ""
        left = left if s.step < total else ""
        line = f"{recipe.name}: step {s.step:,}/{total:,} ({s.step / total:.0%}), {elapsed:.0f} s"
        h = s.history
        if h["step"]:
            line += f"{left}; at step {h['step'][-1]:,} loss {h['loss'][-1]:.4f}, "
            line += f"train accuracy {h['train_accuracy'][-1]:.3f}"
            dev_acc = h["dev_accuracy"][-1]
            return line + ("" if dev_acc is None else f", dev {dev_acc:.3f}")
        return line + left

    keys, biases = list(s.params), [f"b{l}" for l in range(1, L + 1)]
    sgd_like = recipe.optimizer in ("gd", "sgd")  # theta -= lr g: updated in place (fast engine)
    if quick:  # buffers for every step, allocated once (no gathered copies with a full batch)
        ws = fast.workspace(native, B or n, float_t, gather=not full)
        # the history's passes over whole splits go EVAL_CHUNK rows at a time, not a mini-batch's
        # few (batch 10: 5,000 forward passes per 50,000 images, 8x slower)
        rows = min(n, EVAL_CHUNK)
        eval_ws = ws if ws.rows >= rows else fast.workspace(native, rows, float_t, gather=False)
    history_seconds = 0.0  # spent in record(): evaluation, not training
    loop_start = time.perf_counter()
    try:
        # Overflow in a diverging run is reported by the finiteness checks below, not as warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            while s.step < total:
                if full:
                    Xb, Yb = (X_rows, Y_rows) if quick else (X, Y)
                else:
                    i = s.step % per_epoch
                    if i == 0:
                        s.perm = s.rng.permutation(n)
                    if distortion is not None and (i == 0 or X_source is X_rows):
                        # a fresh distorted copy every epoch, from its own (seed, epoch) stream,
                        # so a resumed run rebuilds the same copy mid-epoch
                        epoch_rng = np.random.default_rng((seed, 4, s.step // per_epoch))
                        X_source = augment.affine(X_rows, epoch_rng, distortion)
                    idx = s.perm[i * B : (i + 1) * B]
                    if quick:  # gathered into the workspace, batch-major
                        Xb, Yb = fast.batch(ws, X_source, Y_rows, idx)
                    else:
                        Xb, Yb = X_source[idx], Y_rows[idx]
                        if column:
                            Xb, Yb = np.ascontiguousarray(Xb.T), np.ascontiguousarray(Yb.T)
                masks = None
                if recipe.dropout:  # masks from a (seed, step) stream: resumable, check-free
                    mb = len(Xb) if quick else Xb.shape[1 - native.class_axis]
                    mask_rng = np.random.default_rng((seed, 5, s.step))
                    masks = regularizers.dropout_masks(
                        native, mb, recipe.dropout, mask_rng, float_t
                    )
                lr = learning_rate(recipe.schedule, recipe.lr, s.step, total, recipe.warmup)
                if quick:
                    if s.step % recipe.display_every == 0:
                        record(None)
                    if masks and column:  # batch-major, as handgrad.fast reads them
                        masks = {k: v.T for k, v in masks.items()}
                    in_place = sgd_like and not recipe.weight_decay
                    if in_place:  # theta -= lr dC/dtheta, from the products (handgrad.fast)
                        fast.sgd_step(native, s.params, Xb, Yb, lr, ws, masks)
                        back = s.params  # a non-finite gradient reaches every b
                    else:
                        back = fast.backprop(native, s.params, Xb, Yb, ws, masks=masks)
                    finite = _finite([back[k] for k in biases])
                elif masks:
                    if s.step % recipe.display_every == 0:
                        record(None)
                    cache = regularizers.forward(native, s.params, Xb, masks)
                    back = regularizers.backward(native, s.params, cache, Yb, masks)
                else:
                    cache = module.forward(native, s.params, Xb)
                    if s.step % recipe.display_every == 0:
                        record(cache if full else None)
                    back = module.backward(native, s.params, cache, Yb)
                if not quick:
                    finite = _finite([back["d" + k] for k in biases])
                    back = {k: back["d" + k] for k in keys}
                if not finite:  # NaN reaches every db
                    raise diverged("the gradient became non-finite", s.step + 1)
                if not (quick and in_place):  # (SGD in place is done: fast.sgd_step)
                    grads = dict(back)
                    if recipe.weight_decay:
                        grads = regularizers.add_l2_gradient(grads, s.params, recipe.weight_decay)
                    s.params, s.opt_state = optimizer.step(s.params, grads, s.opt_state, lr)
                s.step += 1
                bar.update(1)
                if plain and time.perf_counter() - last_line >= PROGRESS_SECONDS:
                    last_line = time.perf_counter()
                    say(progress_line(last_line))
                if callback is not None:
                    callback(s.step, s.params)
                if verify_every and s.step % verify_every == 0:
                    p64 = _relayout(s.params, native, model, np.float64)
                    verdict = _directional(
                        model,
                        formulation,
                        p64,
                        X64,
                        Y64,
                        s.check_rng,
                        s.step,
                        recipe,
                        engine,
                        checked,
                    ).verdict
                    s.checks[verdict] = s.checks.get(verdict, 0) + 1
                if checkpoint_every and s.step % checkpoint_every == 0:
                    save_checkpoint(s.seconds + time.perf_counter() - loop_start - history_seconds)
            train_seconds = s.seconds + time.perf_counter() - loop_start - history_seconds
            record(None)  # the final point
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted at step {s.step}; {saved()}{again()}") from None
    except OSError as error:
        raise unwritable(error) from None
    finally:
        bar.close()

    try:
        train_acc = s.history["train_accuracy"][-1]
        dev_acc = s.history["dev_accuracy"][-1]
        X_test, _ = _native_batch(*splits.test, native.layout, float_t)
        test_pred = _predictions(module, native, s.params, X_test)
        shown = min(max(recipe.test_predictions, 24), len(test_pred))  # 24 fill the figure's grid
        samples = np.random.default_rng((seed, 2)).choice(len(test_pred), shown, replace=False)
        result = TrainResult(
            params=_relayout(s.params, native, model),
            model=model,
            history=s.history,
            train_accuracy=train_acc,
            dev_accuracy=dev_acc,
            test_accuracy=float(np.mean(test_pred == splits.test[1])),
            seconds=time.perf_counter() - started,
            train_seconds=train_seconds,
            steps=s.step,
            config=config,
            seed=seed,
            gate=gate_report,
            checks=dict(s.checks),
            test_predictions=test_pred,
            test_labels=np.asarray(splits.test[1]),
            sample_indices=samples[: recipe.test_predictions],
            initial_params=initial,
            out=out,
        )
        if out is not None:  # the final state too, so that a finished run can be extended
            pictured = samples if figures else None
            save_checkpoint(
                train_seconds, lambda to: write_outputs(result, to, splits.test, pictured)
            )
    except KeyboardInterrupt:
        what = "writing its outputs" if out is not None else "its final evaluation"
        raise Interrupted(
            f"interrupted after step {s.step}, in {what}; {saved()}{again()}"
        ) from None
    except OSError as error:
        raise unwritable(error) from None
    return result


def _evaluate(module, native: Model, params: Params, X: np.ndarray, Y=None) -> tuple:
    """(mean loss or None, predicted classes) over X in chunks of EVAL_CHUNK examples, so that a
    pass over 60,000 images never holds more than one chunk's activations."""
    L, axis = native.depth, native.class_axis
    n = X.shape[1 - axis]
    total, predictions = 0.0, []
    for start in range(0, n, EVAL_CHUNK):
        rows = slice(start, start + EVAL_CHUNK)
        part = (slice(None), rows) if axis == 0 else (rows,)
        cache = module.forward(native, params, X[part])
        if Y is not None:  # each chunk's mean, weighted by its size
            total += native.loss.value(cache[f"Z{L}"], Y[part], axis) * len(range(n)[rows])
        predictions.append(cache[f"A{L}"].argmax(axis))
    return (total / n if Y is not None else None), np.concatenate(predictions)


def _predictions(module, native: Model, params: Params, X: np.ndarray) -> np.ndarray:
    """argmax of A^L over the class axis."""
    return _evaluate(module, native, params, X)[1]


def _accuracy(module, native: Model, params: Params, X: np.ndarray, Y_or_labels) -> float:
    """Fraction of examples whose predicted class is the label (labels or one-hot Y)."""
    labels = np.asarray(Y_or_labels)
    if labels.ndim == 2:
        labels = labels.argmax(native.class_axis)
    return float(np.mean(_predictions(module, native, params, X) == labels))


def write_outputs(result: TrainResult, out: Path, test: tuple, samples: np.ndarray | None) -> None:
    """params.npz, the PNG figures (unless `samples` is None) and, last, metrics.json."""
    save_params(
        out / "params.npz",
        result.model,
        result.params,
        dataset=result.config["dataset"],
        recipe=result.config["recipe"]["name"],
    )
    if samples is not None:
        from handgrad import figures

        figures.save_all(result, out, test[0], test[1], samples)
    checkpoint.write_json(out / "metrics.json", result.metrics())


def _publish(
    out: Path, write: Callable[[Path], None], replaced: list[str], done: Callable[[], None]
) -> None:
    """write(stage) into a new directory in `out`, then move what it wrote into `out` in place of
    the files `replaced` (an earlier run's, or an earlier segment's figures and outputs), and call
    done(). A failure or Ctrl-C while writing (a full disk) leaves `out` as it was; the moves,
    renames in one file system, and done() hold Ctrl-C back until they are over, so that `out`
    never mixes two runs (nor does the caller's account of it)."""
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".handgrad-", dir=out))
    try:
        write(stage)
        names = sorted(os.listdir(stage), key=lambda name: name == "metrics.json")  # it last
        with _ctrl_c_held():
            _remove_run(out, replaced)
            for name in names:
                os.replace(stage / name, out / name)
            done()
    except OSError as e:  # name the file in `out` that could not be written, not its staged copy
        if e.filename is None or Path(e.filename).parent != stage:
            raise
        raise OSError(e.errno, e.strerror, str(out / Path(e.filename).name)) from e
    finally:
        shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def _ctrl_c_held():
    """Ctrl-C (SIGINT) in the block takes effect when it ends (in the main thread: the only one
    where Python runs signal handlers; elsewhere there is nothing to hold)."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        yield
        return
    caught = []
    signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:  # delivered again, now to the handler held back (KeyboardInterrupt)
            signal.raise_signal(signal.SIGINT)


def list_recipes() -> str:
    """One line per recipe (name, documents, model, sizes, optimizer and its numbers), then, indented,
    the numbers we chose where the document is silent (`Recipe.choices`)."""
    import textwrap

    lines = []
    sizes = {name: ",".join(map(str, r.sizes)) for name, r in RECIPES.items()}
    widths = (max(map(len, RECIPES)), max(len("+".join(r.documents)) for r in RECIPES.values()))
    widths += (max(map(len, sizes.values())),)  # columns as wide as their longest entry
    for r in RECIPES.values():
        length = f"{r.iterations} iterations" if r.iterations else f"{r.epochs} epochs"
        batch = "full batch" if r.batch_size is None else f"batch {r.batch_size}"
        lines.append(
            f"{r.name:<{widths[0]}}  documents {'+'.join(r.documents) or '-':<{widths[1]}}  "
            f"{sizes[r.name]:<{widths[2]}}  "
            f"{r.optimizer} lr {r.lr:g}, {length}, {batch}, init {r.init}, "
            f"train {r.train_size:,} / dev {r.dev_size:,}{_ingredients(r)}"
        )
        if r.choices:
            lines += textwrap.wrap(
                f"our choices: {r.choices}", 100, initial_indent="    ", subsequent_indent="    "
            )
    return "\n".join(lines)


def _ingredients(r: Recipe) -> str:
    """ ", momentum 0.9, dropout 0.2, ..." for the accuracy ingredients a recipe switches on."""
    parts = [f"momentum {r.momentum:g}"] if r.optimizer == "momentum" else []
    parts += [f"L2 {r.weight_decay:g}"] if r.weight_decay else []
    parts += [f"dropout {r.dropout:g}"] if r.dropout else []
    parts += [f"augment {r.augment}"] if r.augment != "none" else []
    parts += [f"{r.schedule} schedule"] if r.schedule != "constant" else []
    parts += [f"warmup {r.warmup} steps"] if r.warmup else []
    return "".join(", " + p for p in parts)


def _fits(value, hint) -> bool:
    """Whether a JSON value has the Recipe field type `hint` (str, int, float, int | None,
    tuple[str, ...]): a bool is no number, a list no string."""
    if hint in (int, float):
        return (_integer if hint is int else _number)(value)
    if hint in (str, type(None)):
        return isinstance(value, hint)
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple:  # tuple[int, ...]: a JSON list
        return isinstance(value, list | tuple) and all(_fits(v, args[0]) for v in value)
    return any(_fits(value, a) for a in args)  # int | None


def _check_checkpoint(path: Path, arrays: dict, meta: dict) -> None:
    """ValueError "<path>: <field> ..." for anything in a checkpoint that `_State.save` would not
    have written, checked before the gate so that a damaged checkpoint never fails inside a run:
    the recipe's field types and values, the settings, train_seconds, the checks' counts, the
    history, and every array's name, dtype, shape and finiteness (`saved.load_checkpoint` has
    checked the metadata's keys and their JSON types)."""

    def bad(what: str) -> ValueError:
        return ValueError(f"{path}: {what}")

    config, hints = meta["config"], typing.get_type_hints(Recipe)
    for name, value in config["recipe"].items():
        if name in hints and not _fits(value, hints[name]):
            kind = hints[name].__name__ if isinstance(hints[name], type) else hints[name]
            raise bad(f"recipe field {name!r} is {value!r}, not a {kind}")
    settings = {"engine": "formulation"} | config  # (checkpoints before the engines)
    try:
        r = recipe_from_json(config["recipe"])
        model = parse_model(r.model, r.sizes, r.alpha)
        _validate(r, model, config["formulation"], config["dtype"])
        for name, known in (("dataset", data.DATASETS), ("engine", ENGINES)):
            if settings[name] not in known:
                raise ValueError(f"unknown {name} {settings[name]!r}")
        if config["seed"] < 0:
            raise ValueError(f"seed {config['seed']} is negative")
    except ValueError as e:
        raise bad(f"config: {e}") from None
    seconds, checks = meta["train_seconds"], meta.get("checks", {})
    if not (math.isfinite(seconds) and seconds >= 0):
        raise bad(f"train_seconds {seconds} is not a finite number >= 0")
    if not (isinstance(checks, dict) and all(_integer(n) and n >= 0 for n in checks.values())):
        raise bad(f"checks {checks!r} is not a count per verdict")
    finite = lambda v: _number(v) and math.isfinite(v)  # noqa: E731
    wanted = {"step": _integer, "loss": finite, "train_accuracy": finite}
    wanted["dev_accuracy"] = finite if r.dev_size else (lambda v: v is None)
    history = meta["history"]
    if len({len(values) for values in history.values()}) != 1:
        raise bad(f"history lists of different lengths {[len(v) for v in history.values()]}")
    for key, ok in wanted.items():
        if wrong := [v for v in history[key] if not ok(v)]:
            raise bad(f"history {key!r} holds {wrong[0]!r}")
    native = model.with_layout(get_formulation(config["formulation"]).NATIVE_LAYOUT)
    params = {k: np.zeros(s, config["dtype"]) for k, s in native.param_shapes().items()}
    state = get_optimizer(r.optimizer, r.momentum).init(params)
    expected = {f"params/{k}": v for k, v in params.items()}
    expected |= {f"opt/{k}": v for k, v in state.items()}
    if r.batch_size is not None:  # mini-batches: the shuffling order of the epoch it stopped in
        expected["perm"] = np.arange(r.train_size)
        if "perm" not in arrays and meta["step"] % math.ceil(r.train_size / r.batch_size):
            raise bad(f"no 'perm' array, but step {meta['step']} is inside an epoch")
    if unknown := sorted(set(arrays) - set(expected)):
        raise bad(f"unexpected array(s) {unknown}")
    what = f"{native.name} {','.join(map(str, model.sizes))} in {config['dtype']}"
    for name, e in expected.items():
        a = arrays.get(name, e if name == "perm" else None)
        if a is None:
            raise bad(f"no {name!r} array, which {what} needs")
        kind = "iu" if name == "perm" else e.dtype.kind  # an index array of any integer type
        if a.shape != e.shape or a.dtype.kind not in kind or (kind == "f" and a.dtype != e.dtype):
            raise bad(
                f"array {name!r} is {a.dtype} {a.shape}, but {what} needs {e.dtype} {e.shape}"
            )
        if kind == "f" and not np.isfinite(a).all():
            raise bad(f"array {name!r} has non-finite entries (NaN or inf)")
    if "perm" in arrays and not np.array_equal(np.sort(arrays["perm"]), expected["perm"]):
        raise bad(f"'perm' is not a shuffling order of the {r.train_size} training images")
