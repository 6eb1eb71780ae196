"""What a training run saves and reads back, validated on the way in.

- `params.npz` (`save_params`, `load_params`): W1, b1, ... in the model's layout and the model
  (name, sizes, alpha) as JSON metadata.
- `checkpoint.npz` (`load_checkpoint`, written by `handgrad.train`): parameters, optimizer state,
  the epoch's shuffling order, and JSON metadata (step, RNG states, history, configuration).

Both are `handgrad.checkpoint` files (atomic, `allow_pickle=False`). A file that is not one, or that
another version wrote, is a ValueError naming the file and what is wrong with it: never a KeyError
or a TypeError from deep inside a run.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from handgrad import checkpoint
from handgrad.data import CLASS_NAMES, DATASETS
from handgrad.models import Model, Params, parse_model
from handgrad.recipes import Recipe, recipe_from_json

IMAGE_PIXELS = 28 * 28


def save_params(path: str | os.PathLike, model: Model, params: Params, **meta) -> Path:
    """params.npz: W1, b1, ... in the model's layout, and the model (JSON), allow_pickle=False."""
    info = {"model": model.name, "sizes": list(model.sizes), "alpha": model.alpha} | meta
    return checkpoint.save(path, params, info)


def load_params(path: str | os.PathLike) -> tuple[Model, Params, dict]:
    """(model, params, meta) from a params.npz written by `save_params`."""
    arrays, meta = checkpoint.load(path)
    for key in ("model", "sizes"):
        if key not in meta:
            raise ValueError(f"{path}: not a handgrad params file (no {key!r} in its metadata)")
    sizes, alpha = meta["sizes"], meta.get("alpha", 1.0)
    if not (isinstance(sizes, list) and all(type(n) is int for n in sizes)):
        raise ValueError(f"{path}: its metadata's sizes {sizes!r} are not a list of integers")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not math.isfinite(alpha):
        raise ValueError(f"{path}: its metadata's alpha {alpha!r} is not a finite number")
    try:
        model = parse_model(meta["model"], sizes, alpha)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    shapes = model.param_shapes()
    if set(arrays) != set(shapes):
        raise ValueError(f"{path}: arrays {sorted(arrays)} do not match {model.name}")
    for key, shape in shapes.items():
        a = arrays[key]
        if a.dtype.kind != "f" or a.shape != shape:
            raise ValueError(
                f"{path}: {key} is {a.dtype} {a.shape}, expected floating-point {shape} "
                f"for {model.name} {','.join(map(str, model.sizes))}"
            )
        if not np.isfinite(a).all():
            raise ValueError(f"{path}: {key} has non-finite entries (NaN or inf)")
    if "dataset" in meta:
        if meta["dataset"] not in DATASETS:
            raise ValueError(
                f"{path}: its metadata's dataset {meta['dataset']!r} is not one of "
                f"{', '.join(DATASETS)}"
            )
        check_fits(path, model, meta["dataset"])
    return model, arrays, meta


def check_fits(path: str | os.PathLike, model: Model, dataset: str) -> None:
    """ValueError naming `path` unless `model` takes `dataset`'s images, one output per class."""
    classes = len(CLASS_NAMES[dataset])
    n0, nL = model.sizes[0], model.sizes[-1]
    if (n0, nL) != (IMAGE_PIXELS, classes):
        raise ValueError(
            f"{path}: model {model.name} {','.join(map(str, model.sizes))} has {n0} inputs and "
            f"{nL} outputs; {dataset} needs {IMAGE_PIXELS} inputs (28x28 pixels) and {classes} "
            "outputs (one per class)"
        )


def resume_recipe(resume: str | os.PathLike) -> Recipe:
    """The recipe a checkpoint directory was trained with (for --resume without --recipe)."""
    return recipe_from_json(load_checkpoint(resume)[1]["config"]["recipe"])


# What a checkpoint's metadata holds (see `_State.save` and `train`'s config), and of what type.
CHECKPOINT_META = {
    "step": int,
    "rng": dict,
    "check_rng": dict,
    "history": dict,
    "train_seconds": int | float,
    "config": dict,
}
CHECKPOINT_CONFIG = {"recipe": dict, "formulation": str, "seed": int, "dataset": str, "dtype": str}
HISTORY = ("step", "loss", "train_accuracy", "dev_accuracy")


def load_checkpoint(resume: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta) of DIR/checkpoint.npz, its metadata validated; ValueError naming the file."""
    path = Path(resume) / checkpoint.CHECKPOINT
    if not path.is_file():
        raise ValueError(f"--resume {resume}: no {checkpoint.CHECKPOINT} there to resume from")
    arrays, meta = checkpoint.load(path)

    def foreign(problem: str) -> ValueError:
        return ValueError(
            f"{path}: not a handgrad checkpoint ({problem}; written by another version?)"
        )

    for where, held, wanted in (
        ("metadata", meta, CHECKPOINT_META),
        ("metadata's config", meta.get("config"), CHECKPOINT_CONFIG),
    ):
        for key, kind in wanted.items():
            if key not in held:
                raise foreign(f"{where} has no {key!r}")
            if isinstance(held[key], bool) or not isinstance(held[key], kind):
                raise foreign(f"{where} has {key!r} = {held[key]!r}")
    if meta["step"] < 0:
        raise foreign(f"step {meta['step']} is negative")
    history = meta["history"]
    if sorted(history) != sorted(HISTORY) or not all(isinstance(history[k], list) for k in HISTORY):
        raise foreign(f"its history has keys {sorted(history)}, expected lists {list(HISTORY)}")
    for key in ("rng", "check_rng"):
        try:
            np.random.default_rng().bit_generator.state = meta[key]
        except (TypeError, ValueError, KeyError) as e:
            raise foreign(f"{key!r} is not a NumPy PCG64 generator state ({e})") from None
    try:
        recipe_from_json(meta["config"]["recipe"])
    except ValueError as e:
        raise foreign(f"its recipe: {e}") from None
    if not any(k.startswith("params/") for k in arrays):
        raise foreign("no params/ arrays")
    return arrays, meta
