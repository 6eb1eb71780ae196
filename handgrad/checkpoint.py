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
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno is not None:  # a full disk, ...: name the target,
            raise OSError(e.errno, e.strerror, str(path)) from e  # not None or the temporary file
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
    """(arrays, meta) from a file written by `save`; ValueError naming the file if it is not one.

    Only real numbers are accepted (bool, integer or floating arrays: no strings, no complex
    numbers), and the metadata must be a JSON object."""
    path = Path(path)
    not_ours = f"{path}: not a .npz file written by handgrad"
    with open(path, "rb") as f:  # FileNotFoundError, IsADirectoryError, ...: the caller's
        if f.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip archive, as .npz files are
            raise ValueError(not_ours)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        # it starts as a zip archive does: cut short (a copy interrupted, a full disk) or damaged
        raise ValueError(f"{path}: a damaged or truncated .npz file ({first})") from None
    if META not in arrays:
        raise ValueError(f"{not_ours} (no {META} entry)")
    try:
        meta = json.loads(str(arrays.pop(META)))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: its {META} metadata is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ValueError(
            f"{path}: its {META} metadata is a JSON {type(meta).__name__}, not an object"
        )
    for name, a in arrays.items():
        if not isinstance(a, np.ndarray):  # a member that is not a .npy file: np.load gives bytes
            raise ValueError(f"{not_ours} (member {name} is not an array)")
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{path}: array {name!r} holds {a.dtype} values, not real numbers")
    return arrays, meta
