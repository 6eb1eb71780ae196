"""Atomic files: checkpoints (arrays + JSON metadata in one .npz) and any output written whole.

Every write goes to a temporary file in the target's directory, is flushed to disk, and then
replaces the target with `os.replace` (atomic on POSIX): a crash or an error mid-write leaves the
previous file intact and never a half-written one. A checkpoint is an `.npz` holding named arrays
(parameters, optimizer state, the shuffling order) and one 0-d string array `__meta__` with JSON
(step, RNG states, history, configuration), so it loads with `allow_pickle=False`.

Non-goals: cross-process locking, keeping several checkpoints, cloud storage.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

META = "__meta__"
CHECKPOINT = "checkpoint.npz"


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call write(file) on a temporary file beside `path`, then rename it onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; outputs are ordinary readable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write `obj` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, allow_nan=True) + "\n"
    return atomic_write(path, lambda f: f.write(text.encode()))


def save(path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping) -> Path:
    """Save named arrays and JSON-able `meta` as one .npz, atomically."""
    if META in arrays:
        raise ValueError(f"array name {META!r} is reserved for the metadata")
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    payload[META] = np.array(json.dumps(dict(meta)))
    return atomic_write(path, lambda f: np.savez(f, **payload))


def load(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta) from a file written by `save`; ValueError naming the file if it is not one."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a readable checkpoint ({e})") from None
    if META not in arrays:
        raise ValueError(f"{path}: not a handgrad checkpoint (no {META} entry)")
    meta = json.loads(str(arrays.pop(META)))
    return arrays, meta
