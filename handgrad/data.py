"""MNIST and Fashion-MNIST loading: IDX and CSV readers, file lookup, download, label encoding.

What it reads
    * IDX files (the four official ``*-idx?-ubyte`` files), gzip-compressed or raw; compression is
      detected from the gzip magic bytes, never from the file name. Everything is validated (magic
      number, dtype code, dimensions, sizes, exact byte count, labels 0-9, label/image pairing).
    * CSV with 785 integer columns: Kaggle's ``label,pixel0,...,pixel783`` (header row, label first)
      or label-last rows. See :func:`read_csv` for the layout rule.

Where the data comes from (first match wins; all four files come from that one directory)
    1. ``data_dir`` argument (the CLI's ``--data-dir``);
    2. env var ``HANDGRAD_DATA_DIR`` (mnist) or ``HANDGRAD_FASHION_DIR`` (fashion-mnist);
    3. fashion-mnist only: ``/usr/share/datasets/fashion-mnist`` if it exists (Debian package
       ``dataset-fashion-mnist``);
    4. the per-user cache ``HANDGRAD_CACHE_DIR/<dataset>`` if that env var is set, else
       ``pooch.os_cache("handgrad")/<dataset>``. Only this cache is ever downloaded into: missing
       files are fetched from the mirror (``base_url`` argument, else env var ``HANDGRAD_MIRROR``
       for mnist / ``HANDGRAD_FASHION_MIRROR`` for fashion-mnist, else the public default) and
       checked against the sha256 sums below. Files in 1-3 are used as-is (``name.gz`` or the
       uncompressed ``name``), but still validated by the IDX reader, and a labels file that is
       the other dataset's (by the sha256 of its content) is refused.

Loaded arrays are cached in-process (keyed on file path, mtime and size) and returned read-only;
call ``.copy()`` before modifying one in place.

Non-goals: other datasets or formats (PNG, npz, pandas), augmentation, batching/shuffling, a
validation split, proxies or resumable downloads.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import logging
import math
import os
import re
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATASETS = ("mnist", "fashion-mnist")
# Fashion-MNIST's ten classes, by label (Xiao, Rasul & Vollgraf 2017); MNIST's class is its digit.
CLASS_NAMES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion-mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
}
SPLITS = {"train": "train", "test": "t10k"}
FILES = tuple(
    f"{p}-{k}-idx{d}-ubyte.gz" for p in SPLITS.values() for k, d in (("images", 3), ("labels", 1))
)
MIRRORS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}
DIR_ENV = {"mnist": "HANDGRAD_DATA_DIR", "fashion-mnist": "HANDGRAD_FASHION_DIR"}
MIRROR_ENV = {"mnist": "HANDGRAD_MIRROR", "fashion-mnist": "HANDGRAD_FASHION_MIRROR"}
SYSTEM_DIRS = {"fashion-mnist": Path("/usr/share/datasets/fashion-mnist")}
# sha256 of the .gz files as served by the mirrors (sha256sum format). Debian's fashion-mnist .gz
# files are recompressed, so their bytes differ; they are read from the system dir, never hashed.
_SHA256SUMS = {
    "mnist": """
440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609  train-images-idx3-ubyte.gz
3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c  train-labels-idx1-ubyte.gz
8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6  t10k-images-idx3-ubyte.gz
f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6  t10k-labels-idx1-ubyte.gz
""",
    "fashion-mnist": """
08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc  train-images-idx3-ubyte.gz
b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc  train-labels-idx1-ubyte.gz
78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229  t10k-images-idx3-ubyte.gz
42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf  t10k-labels-idx1-ubyte.gz
""",
}
SHA256 = {
    ds: {name: digest for digest, name in map(str.split, text.strip().splitlines())}
    for ds, text in _SHA256SUMS.items()
}
# sha256 of each split's labels file decompressed (what `gunzip -k` writes): the same for the mirrors'
# .gz files, Debian's recompressed ones and raw copies. load() hashes the (already read, 10-60 KB)
# labels to refuse one dataset's files given as the other's; images are never hashed.
LABELS_SHA256 = {
    "mnist": {
        "train": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "test": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "test": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


class DataError(ValueError):
    """A data file is missing, malformed or could not be downloaded (one-line message)."""


def class_label(dataset: str, k: int) -> str:
    """ "7" for an MNIST digit, "7 Sneaker" for a Fashion-MNIST class: the label and its name."""
    return str(k) if dataset == "mnist" else f"{k} {CLASS_NAMES[dataset][k]}"


def _fail(path: object, problem: str) -> DataError:
    return DataError(" ".join(f"{path}: {problem}".split()))


@dataclass(frozen=True, eq=False)
class Dataset:
    """One split: images (N, 784) float32 in [0, 1] (uint8 if unscaled), labels (N,) int64."""

    images: np.ndarray
    labels: np.ndarray
    name: str
    split: str


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(choices)}")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a uint8 IDX file (gzip or raw) as a read-only array, validating it fully."""
    return _read_idx_cached(*_file_key(path))


# An IDX body is read in pieces of at most 64 MiB: what a header claims is never allocated at once.
_CHUNK = 1 << 26


def _read_exact(f, n: int) -> list[bytes]:
    """Up to `n` bytes of `f` (fewer at its end), in pieces: memory grows with what is there."""
    pieces, left = [], n
    while left > 0:
        piece = f.read(min(left, _CHUNK))
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return pieces


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path: str, _mtime: int, _size: int) -> np.ndarray:
    # The header is read and checked first; then exactly the bytes it promises, then one more read
    # must find the end. A gzip file is decompressed as it is read (never more than header + body +
    # 1 MiB), so a small .gz of gigabytes of zeros (a gzip bomb) fails on its header or its tail.
    try:
        with open(path, "rb") as file:
            zipped = file.read(2) == b"\x1f\x8b"
            file.seek(0)
            with gzip.GzipFile(fileobj=file) if zipped else contextlib.nullcontext(file) as f:
                return _parse_idx(path, f)
    except IsADirectoryError:
        raise _fail(path, "is a directory, expected a file") from None
    except (OSError, EOFError, zlib.error) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else e
        raise _fail(path, f"cannot read or decompress ({why})") from None
    except MemoryError:
        raise _fail(path, "too large to read into memory") from None


def _parse_idx(path: str, f) -> np.ndarray:
    head = f.read(4)
    if len(head) < 4:
        raise _fail(path, f"too short for an IDX header ({len(head)} bytes)")
    zero, code, ndim = int.from_bytes(head[:2], "big"), head[2], head[3]
    magic = f"0x{int.from_bytes(head, 'big'):08X}"
    if zero != 0:
        raise _fail(path, f"bad magic number {magic}, expected 0x00000801 or 0x00000803")
    if code != 0x08:
        raise _fail(path, f"unsupported IDX dtype code 0x{code:02X} in magic {magic} (need 0x08)")
    if ndim not in (1, 3):  # magic 0x00000801 labels, 0x00000803 images
        raise _fail(path, f"has {ndim} dimensions (magic {magic}); expected 1 (labels) or 3")
    header = 4 + 4 * ndim
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise _fail(path, f"truncated header: {4 + len(dims)} bytes, need {header}")
    shape = tuple(int.from_bytes(dims[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
    if 0 in shape:
        raise _fail(path, f"empty: dimension sizes {shape}")
    want = header + math.prod(shape)  # Python ints: 2**22 * 2**21 * 2**21 does not wrap to 0
    pieces = _read_exact(f, want - header)
    got = header + sum(map(len, pieces))
    if got < want:
        raise _fail(path, f"truncated: {got} bytes, expected {want} for shape {shape}")
    if extra := len(f.read(1 << 20)):  # also reaches a gzip stream's end: its CRC is checked
        more = "" if extra < 1 << 20 or not f.read(1) else "more than "
        raise _fail(path, f"{more}{extra} trailing bytes after the {want} expected")
    body = pieces[0] if len(pieces) == 1 else b"".join(pieces)
    arr = np.frombuffer(body, np.uint8).reshape(shape)
    if ndim == 1 and (bad := np.flatnonzero(arr > 9)).size:
        raise _fail(path, f"label {arr[bad[0]]} at index {bad[0]} is outside 0-9")
    arr.flags.writeable = False
    return arr


_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")


def _csv_error(path: Path, first_line: int, label_col: int, fallback: str) -> DataError:
    """Find the first bad data line (slow path, only called after a failure)."""
    with open(path, encoding="utf-8-sig") as f:
        for lineno, line in enumerate(f, 1):
            if lineno < first_line or not line.strip():
                continue
            fields = line.rstrip("\r\n").split(",")
            if len(fields) != 785:
                return _fail(path, f"line {lineno}: {len(fields)} columns, expected 785")
            for col, field in enumerate(fields):
                if not _INTEGER.fullmatch(field):  # what np.loadtxt takes: not int()'s 1_0 or ١
                    return _fail(
                        path, f"line {lineno}, column {col + 1}: not an integer: {field!r}"
                    )
                v = int(field)
                hi, what = (9, "label") if col == label_col else (255, "pixel value")
                if not 0 <= v <= hi:
                    return _fail(path, f"line {lineno}: {what} {v} outside 0-{hi}")
    return _fail(path, fallback)


def read_csv(
    path: str | os.PathLike, layout: str = "auto", scale: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Read a 785-column CSV of labelled images; returns images (N, 784) and labels (N,) int64.

    Layout rule for ``layout="auto"``: a header row (first line whose first field is not a
    number) whose first column is ``label`` means label-first (Kaggle); a header whose last
    column is ``label`` means label-last; no header means label-last. ``"label-first"`` or
    ``"label-last"`` force the layout (a header, if present, is skipped but must not contradict).
    """
    _check_choice("CSV layout", layout, ("auto", "label-first", "label-last"))
    p = Path(path)
    try:
        return _read_csv(p, layout, scale)
    except UnicodeDecodeError as e:
        byte = e.object[e.start : e.start + 1].hex()
        raise _fail(
            p, f"not UTF-8 text (byte 0x{byte} at offset {e.start}); not a CSV file?"
        ) from None


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _read_csv(p: Path, layout: str, scale: bool) -> tuple[np.ndarray, np.ndarray]:
    # Lines holding only whitespace are skipped like empty ones, wherever they are: the header is
    # the first non-blank line, and NumPy is fed the same lines that _csv_error numbers, so an
    # error found after NumPy's names the file's own 1-based line.
    try:  # the first non-blank line and its line number
        with open(p, encoding="utf-8-sig") as f:
            top, first = next(((n, line) for n, line in enumerate(f, 1) if line.strip()), (1, ""))
    except OSError as e:
        raise _fail(p, f"cannot read CSV file ({e.strerror or e})") from None
    if "," not in first and (other := next((d for d in ";\t|" if d in first), None)):
        raise _fail(
            p,
            f"line {top}: separated by {other!r}, not commas; expected 785 comma-separated columns",
        )
    cols = [c.strip().strip('"').lower() for c in first.split(",")]
    has_header = bool(first.strip()) and not _is_number(cols[0])
    found = None  # layout named by the header
    if has_header and cols[0] == "label":
        found = "label-first"
    elif has_header and cols[-1] == "label":
        found = "label-last"
    elif has_header and "\0" in first:
        raise _fail(p, f"line {top}: contains NUL bytes; not a CSV text file?")
    elif has_header and any(_INTEGER.fullmatch(c) for c in first.rstrip("\r\n").split(",")):
        # a data row with a bad first field (empty, 0x10, 1_0), not a header without 'label'
        label_col = 0 if layout == "label-first" else 784
        raise _csv_error(
            p, top, label_col, f"line {top}: header has no 'label' column first or last"
        )
    elif has_header:
        raise _fail(p, f"line {top}: header has no 'label' column first or last")
    if has_header and len(cols) != 785:
        raise _fail(p, f"line {top}: header has {len(cols)} columns, expected 785")
    if layout == "auto":
        layout = found or "label-last"
    elif found not in (None, layout):
        raise _fail(p, f"line {top}: header says {found} but layout={layout!r} was requested")
    label_col = 0 if layout == "label-first" else 784
    start = top + 1 if has_header else 1  # first line that may hold data
    try:
        with warnings.catch_warnings(), open(p, encoding="utf-8-sig") as f:
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": see below
            # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is no data
            data = np.loadtxt(
                (line for n, line in enumerate(f, 1) if n >= start and line.strip()),
                delimiter=",",
                dtype=np.int64,
                ndmin=2,
                comments=None,  # "...,3 # x" is not a row of numbers (NumPy would drop the "# x")
            )
    except ValueError as e:
        raise _csv_error(p, start, label_col, str(e)) from None
    if data.shape[0] == 0:
        raise _fail(p, "no data rows")
    if data.shape[1] != 785:
        raise _csv_error(p, start, label_col, f"{data.shape[1]} columns, need 785")
    labels = data[:, label_col]
    pixels = np.delete(data, label_col, axis=1)
    if (labels < 0).any() or (labels > 9).any() or (pixels < 0).any() or (pixels > 255).any():
        raise _csv_error(p, start, label_col, "value out of range")
    images = pixels.astype(np.uint8)
    return (images.astype(np.float32) / np.float32(255) if scale else images), labels


def resolve_data_dir(
    dataset: str = "mnist", data_dir: str | os.PathLike | None = None
) -> tuple[Path, bool]:
    """Return (directory holding the dataset's files, whether it is the download cache)."""
    _check_choice("dataset", dataset, DATASETS)
    if data_dir is not None:
        return Path(data_dir).expanduser(), False
    if env := os.environ.get(DIR_ENV[dataset]):
        return Path(env).expanduser(), False
    if dataset in SYSTEM_DIRS and SYSTEM_DIRS[dataset].is_dir():
        return SYSTEM_DIRS[dataset], False
    if env := os.environ.get("HANDGRAD_CACHE_DIR"):
        return Path(env).expanduser() / dataset, True
    import pooch

    return Path(pooch.os_cache("handgrad")) / dataset, True


def _http_get(url: str, output_file: str, _pooch: object) -> None:
    """pooch downloader that always closes the connection (pooch's leaks it on HTTP errors)."""
    import requests

    with requests.get(url, stream=True, timeout=60) as r, open(output_file, "wb") as f:
        r.raise_for_status()
        for chunk in r.iter_content(1 << 20):
            f.write(chunk)


def _download(dataset: str, name: str, cache: Path, base_url: str) -> Path:
    import pooch

    url = base_url.rstrip("/") + "/" + name
    env = DIR_ENV[dataset]
    hint = f"to use local files pass --data-dir DIR or set {env}"
    if os.environ.get(env) == "":  # set, but empty: read as unset, so say so
        hint += f" ({env} is set but empty, which reads as unset)"
    try:
        got = pooch.retrieve(
            url, f"sha256:{SHA256[dataset][name]}", name, cache, downloader=_http_get
        )
    except ValueError as e:  # pooch: hash mismatch; the bad download is deleted, never kept
        raise _fail(
            cache / name, f"download from {url} failed the sha256 hash check ({e})"
        ) from None
    except OSError as e:  # requests errors are OSErrors: refused, timeout, 404, ...
        raise _fail(cache / name, f"download from {url} failed ({e}); {hint}") from None
    return Path(got)


@contextlib.contextmanager
def quiet_downloads(quiet: bool = True) -> Iterator[None]:
    """Inside the block (when `quiet`), pooch's "Downloading data from ..." lines are not logged."""
    if not quiet:
        yield
        return
    import pooch

    # A filter, not setLevel: pooch's logger is not registered with logging's manager, so setLevel
    # would not clear the level cache of a logger that has already logged.
    logger, warnings_only = pooch.get_logger(), lambda record: record.levelno >= logging.WARNING
    logger.addFilter(warnings_only)
    try:
        yield
    finally:
        logger.removeFilter(warnings_only)


def fetch(
    dataset: str = "mnist", data_dir: str | os.PathLike | None = None, base_url: str | None = None
) -> dict[str, Path]:
    """Return the 4 file paths (keyed by .gz name); downloads only when the cache is the source."""
    root, is_cache = resolve_data_dir(dataset, data_dir)
    if is_cache:
        base = base_url or os.environ.get(MIRROR_ENV[dataset]) or MIRRORS[dataset]
        return {name: _download(dataset, name, root, base) for name in FILES}
    if not root.is_dir():
        source = (
            f" (from {DIR_ENV[dataset]})"
            if data_dir is None and os.environ.get(DIR_ENV[dataset])
            else ""
        )
        problem = "is not a directory" if root.exists() else "does not exist"
        raise DataError(
            f"{dataset} data directory {root}{source} {problem}, so its IDX files are missing"
            " (files there are never downloaded)"
        )
    paths = {}
    for name in FILES:
        candidates = (root / name, root / name.removesuffix(".gz"))
        found = [p for p in candidates if p.is_file()]
        if not found and (folder := next((p for p in candidates if p.is_dir()), None)):
            raise _fail(folder, f"is a directory, expected the {dataset} IDX file {folder.name}")
        if not found:
            raise _fail(
                root,
                f"missing {name} (or uncompressed {name.removesuffix('.gz')}) "
                f"in this {dataset} data directory; files here are never downloaded",
            )
        paths[name] = found[0]
    return paths


def load(
    dataset: str = "mnist",
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    scale: bool = True,
    base_url: str | None = None,
) -> Dataset:
    """Load one split as a Dataset of read-only arrays (cached in-process)."""
    _check_choice("dataset", dataset, DATASETS)
    _check_choice("split", split, tuple(SPLITS))
    paths = fetch(dataset, data_dir, base_url)
    prefix = SPLITS[split]
    img_path, lab_path = (
        paths[f"{prefix}-{kind}-ubyte.gz"] for kind in ("images-idx3", "labels-idx1")
    )
    lab_key = _file_key(lab_path)
    _check_labels_are_from(dataset, lab_key)
    images, labels = _load_pair(_file_key(img_path), lab_key, scale)
    return Dataset(images, labels, dataset, split)


def _check_labels_are_from(dataset: str, lab_key: tuple) -> None:
    """Refuse a labels file that is the other known dataset's (e.g. MNIST's for fashion-mnist)."""
    labels = _read_idx_cached(*lab_key)  # validated: a 1-D file's header is exactly this
    if labels.ndim != 1:
        return  # _load_pair says what is wrong with it
    header = b"\0\0\x08\x01" + len(labels).to_bytes(4, "big")
    digest = hashlib.sha256(header + labels.tobytes()).hexdigest()
    for other in DATASETS:
        if other != dataset and digest in LABELS_SHA256[other].values():
            raise _fail(
                lab_key[0],
                f"is {TITLES[other]}'s labels file, not {TITLES[dataset]}'s; point --data-dir"
                f" (or {DIR_ENV[dataset]}) at {TITLES[dataset]}'s files",
            )


def _file_key(path: Path) -> tuple[str, int, int]:
    p = os.path.abspath(path)
    try:
        st = os.stat(p)
    except OSError as e:
        raise _fail(p, f"cannot read IDX file ({e.strerror or e})") from None
    return p, st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=4)  # a float32 train split is 188 MB
def _load_pair(img_key: tuple, lab_key: tuple, scale: bool) -> tuple[np.ndarray, np.ndarray]:
    # scaled images are cached as float32 below: their uint8 original (47 MB) is not kept too
    read_images = _read_idx_cached.__wrapped__ if scale else _read_idx_cached
    images, labels = read_images(*img_key), _read_idx_cached(*lab_key)
    img_path, lab_path = img_key[0], lab_key[0]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise _fail(img_path, f"expected 28x28 images (magic 0x00000803), got shape {images.shape}")
    if labels.ndim != 1:
        raise _fail(lab_path, f"expected a 1-D label file (magic 0x00000801), got {labels.shape}")
    if len(labels) != len(images):
        raise _fail(lab_path, f"{len(labels)} labels but {img_path} has {len(images)} images")
    flat = images.reshape(len(images), -1)
    if scale:  # divided in place: one float32 copy (188 MB for the train split), not two
        flat = flat.astype(np.float32)
        flat /= np.float32(255)
    labels = labels.astype(np.int64)
    flat.flags.writeable = labels.flags.writeable = False
    return flat, labels


def one_hot(
    labels: np.ndarray, num_classes: int = 10, layout: str = "row", dtype=np.float64
) -> np.ndarray:
    """One-hot encode integer labels: "row" gives (m, k), "column" gives (k, m)."""
    _check_choice("layout", layout, ("row", "column"))
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    if (bad := np.flatnonzero((labels < 0) | (labels >= num_classes))).size:
        raise ValueError(f"label {labels[bad[0]]} at index {bad[0]} outside 0..{num_classes - 1}")
    m = len(labels)
    if layout == "row":
        out = np.zeros((m, num_classes), dtype)
        out[np.arange(m), labels] = 1
    else:
        out = np.zeros((num_classes, m), dtype)
        out[labels, np.arange(m)] = 1
    return out


def to_layout(images: np.ndarray, layout: str) -> np.ndarray:
    """Arrange a (m, 784) batch: "row" returns it as is, "column" a contiguous (784, m) copy."""
    _check_choice("layout", layout, ("row", "column"))
    images = np.asarray(images)
    if images.ndim != 2:
        raise ValueError(f"expected a 2-D (m, features) array, got shape {images.shape}")
    return images if layout == "row" else np.ascontiguousarray(images.T)
