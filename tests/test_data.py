"""Tests for handgrad.data: real MNIST/Fashion-MNIST, malformed IDX/CSV fixtures, downloads."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import socket
import struct
import threading
import tracemalloc
import zlib
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from handgrad import data
from handgrad.data import DataError

MNIST_DIR = Path(
    os.environ["HANDGRAD_DATA_DIR"]
    if "HANDGRAD_DATA_DIR" in os.environ
    else Path(__file__).parents[1].parent / "shared/data/mnist"
)
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
ENV_VARS = (
    "HANDGRAD_DATA_DIR",
    "HANDGRAD_FASHION_DIR",
    "HANDGRAD_MIRROR",
    "HANDGRAD_FASHION_MIRROR",
)


@pytest.fixture(scope="module")
def mnist_dir() -> Path:
    missing = [n for n in data.FILES if not (MNIST_DIR / n).is_file()]
    assert not missing, f"real MNIST missing from {MNIST_DIR}: {missing} (set HANDGRAD_DATA_DIR)"
    return MNIST_DIR


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No data-dir env vars; the download cache is tmp_path/cache."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HANDGRAD_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def assert_one_line_error(excinfo, path, *words):
    msg = str(excinfo.value)
    assert isinstance(excinfo.value, DataError)
    assert "\n" not in msg and msg.strip(), msg
    assert str(path) in msg, msg
    for word in words:
        assert word.lower() in msg.lower(), msg


# ---------------------------------------------------------------- real data


def test_class_labels_are_digits_for_mnist_and_names_for_fashion():
    assert [data.class_label("mnist", k) for k in (0, 7)] == ["0", "7"]
    assert [data.class_label("fashion-mnist", k) for k in (0, 7, 9)] == [
        "0 T-shirt/top",
        "7 Sneaker",
        "9 Ankle boot",
    ]
    assert all(len(set(names)) == 10 for names in data.CLASS_NAMES.values())
    assert set(data.CLASS_NAMES) == set(data.DATASETS)


def test_mnist_train_matches_published_statistics(mnist_dir):
    ds = data.load("mnist", "train", data_dir=mnist_dir)
    assert (ds.name, ds.split) == ("mnist", "train")
    assert ds.images.shape == (60000, 784) and ds.images.dtype == np.float32
    assert ds.labels.shape == (60000,) and ds.labels.dtype == np.int64
    assert ds.images.min() >= 0.0 and ds.images.max() == 1.0
    assert np.bincount(ds.labels, minlength=10).tolist() == TRAIN_COUNTS
    assert ds.images.mean(dtype=np.float64) == pytest.approx(0.13066, abs=5e-6)


def test_mnist_test_split_and_unscaled(mnist_dir):
    ds = data.load("mnist", "test", data_dir=mnist_dir)
    raw = data.load("mnist", "test", data_dir=mnist_dir, scale=False)
    assert ds.images.shape == (10000, 784) and ds.labels.shape == (10000,)
    assert raw.images.dtype == np.uint8 and raw.images.max() == 255
    np.testing.assert_array_equal(raw.images.astype(np.float32) / 255, ds.images)
    np.testing.assert_array_equal(raw.labels, ds.labels)
    assert ds.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_loaded_arrays_are_read_only_and_cached(mnist_dir):
    a = data.load("mnist", "test", data_dir=mnist_dir)
    with pytest.raises(ValueError):
        a.images[0, 0] = 5.0
    with pytest.raises(ValueError):
        a.labels[0] = 3
    b = data.load("mnist", "test", data_dir=str(mnist_dir))
    assert b.images is a.images and b.labels is a.labels
    assert data.read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz").flags.writeable is False


def test_mnist_env_var_is_used(mnist_dir, clean_env, monkeypatch):
    monkeypatch.setenv("HANDGRAD_DATA_DIR", str(mnist_dir))
    assert data.resolve_data_dir("mnist") == (mnist_dir, False)
    assert data.fetch()["t10k-labels-idx1-ubyte.gz"] == mnist_dir / "t10k-labels-idx1-ubyte.gz"
    assert len(data.load(split="test").labels) == 10000


@pytest.mark.parametrize("split,n", [("train", 60000), ("test", 10000)])
def test_fashion_mnist_loads_from_debian_package(clean_env, split, n):
    assert FASHION_DIR.is_dir(), "install the Debian package dataset-fashion-mnist"
    assert data.resolve_data_dir("fashion-mnist") == (FASHION_DIR, False)
    ds = data.load("fashion-mnist", split)
    assert ds.name == "fashion-mnist" and ds.images.shape == (n, 784)
    assert ds.images.dtype == np.float32 and ds.images.min() >= 0 and ds.images.max() <= 1
    assert np.bincount(ds.labels, minlength=10).tolist() == [n // 10] * 10
    assert not clean_env.exists()  # nothing was downloaded


def test_resolve_data_dir_lookup_order(clean_env, monkeypatch, tmp_path):
    assert data.resolve_data_dir() == (clean_env / "mnist", True)
    monkeypatch.setenv("HANDGRAD_DATA_DIR", str(tmp_path / "env"))
    assert data.resolve_data_dir() == (tmp_path / "env", False)
    assert data.resolve_data_dir("mnist", tmp_path / "arg") == (tmp_path / "arg", False)
    monkeypatch.setattr(data, "SYSTEM_DIRS", {"fashion-mnist": tmp_path / "no-such-dir"})
    assert data.resolve_data_dir("fashion-mnist") == (clean_env / "fashion-mnist", True)
    monkeypatch.setenv("HANDGRAD_FASHION_DIR", str(tmp_path / "fenv"))
    assert data.resolve_data_dir("fashion-mnist") == (tmp_path / "fenv", False)
    monkeypatch.delenv("HANDGRAD_CACHE_DIR")
    monkeypatch.delenv("HANDGRAD_DATA_DIR")
    root, is_cache = data.resolve_data_dir()
    assert is_cache and root.name == "mnist" and "handgrad" in str(root)
    with pytest.raises(ValueError, match="emnist"):
        data.resolve_data_dir("emnist")


def test_bad_arguments_raise(mnist_dir):
    with pytest.raises(ValueError, match="split"):
        data.load("mnist", "validation", data_dir=mnist_dir)
    with pytest.raises(ValueError, match="dataset"):
        data.load("kmnist", data_dir=mnist_dir)


def test_missing_file_in_explicit_dir(mnist_dir, tmp_path):
    for name in data.FILES[1:]:
        shutil.copy(mnist_dir / name, tmp_path / name)
    with pytest.raises(DataError) as excinfo:
        data.load("mnist", "test", data_dir=tmp_path)
    assert_one_line_error(excinfo, tmp_path, "missing", "train-images-idx3-ubyte.gz")


def test_uncompressed_files_in_explicit_dir(mnist_dir, tmp_path):
    for name in data.FILES:  # gunzip -k: raw files without the .gz suffix
        (tmp_path / name.removesuffix(".gz")).write_bytes(
            gzip.decompress((mnist_dir / name).read_bytes())
        )
    assert data.fetch(data_dir=tmp_path)["t10k-labels-idx1-ubyte.gz"].suffix != ".gz"
    got, want = data.load("mnist", "test", tmp_path), data.load("mnist", "test", mnist_dir)
    np.testing.assert_array_equal(got.images, want.images)
    np.testing.assert_array_equal(got.labels, want.labels)


# ---------------------------------------------------------------- IDX fixtures


def idx_bytes(arr: np.ndarray, dtype_code: int = 0x08, prefix: bytes = b"\0\0") -> bytes:
    header = prefix + bytes([dtype_code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write(path: Path, payload: bytes, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


LABELS = np.array([3, 1, 4, 1, 5, 9, 2, 6], np.uint8)
IMAGES = np.arange(8 * 28 * 28, dtype=np.int64).reshape(8, 28, 28) % 256


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("name", ["labels.idx", "labels.gz", "labels-idx1-ubyte.gz", "x.bin"])
def test_idx_raw_and_gzip_detected_by_magic_not_name(tmp_path, compress, name):
    path = write(tmp_path / name, idx_bytes(LABELS), compress)
    got = data.read_idx(path)
    assert got.dtype == np.uint8 and got.tolist() == LABELS.tolist()
    img = data.read_idx(write(tmp_path / ("i" + name), idx_bytes(IMAGES), compress))
    assert img.shape == (8, 28, 28) and np.array_equal(img, IMAGES)


def test_real_gz_and_decompressed_agree(mnist_dir, tmp_path):
    src = mnist_dir / "t10k-labels-idx1-ubyte.gz"
    raw = write(tmp_path / "t10k-labels-idx1-ubyte.gz", gzip.decompress(src.read_bytes()))
    np.testing.assert_array_equal(data.read_idx(raw), data.read_idx(src))


GOOD = idx_bytes(LABELS)
BAD_IDX = {
    "wrong magic": (b"\x12\x34" + GOOD[2:], "magic"),
    "wrong dtype code": (idx_bytes(LABELS, dtype_code=0x0D), "dtype code 0x0D"),
    "wrong dims": (idx_bytes(IMAGES[:, :, 0]), "2 dimensions"),
    "zero dims": (b"\0\0\x08\0", "0 dimensions"),
    "truncated": (GOOD[:-3], "truncated"),
    "truncated header": (GOOD[:6], "truncated header"),
    "tiny": (b"\0\0", "too short"),
    "trailing bytes": (GOOD + b"\0\0", "2 trailing bytes"),
    "label 10": (idx_bytes(np.array([1, 10, 2])), "label 10 at index 1"),
    "empty": (idx_bytes(np.zeros(0, np.uint8)), "empty"),
}


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("case", sorted(BAD_IDX))
def test_malformed_idx_is_one_line_data_error(tmp_path, case, compress):
    payload, words = BAD_IDX[case]
    path = write(tmp_path / "bad-idx1-ubyte.gz", payload, compress)
    with pytest.raises(DataError) as excinfo:
        data.read_idx(path)
    assert_one_line_error(excinfo, path, words)


@pytest.mark.parametrize("cut", [slice(0, -12), slice(0, 20)])
def test_corrupt_gzip_stream(tmp_path, cut):
    zipped = gzip.compress(idx_bytes(IMAGES))
    path = write(tmp_path / "bad.gz", zipped[cut] + (b"garbage" if cut.stop == 20 else b""))
    with pytest.raises(DataError) as excinfo:
        data.read_idx(path)
    assert_one_line_error(excinfo, path, "decompress")


def test_missing_idx_file(tmp_path):
    with pytest.raises(DataError) as excinfo:
        data.read_idx(tmp_path / "nope.gz")
    assert_one_line_error(excinfo, tmp_path / "nope.gz", "cannot read")


@pytest.mark.parametrize("compress", [False, True])
def test_dimensions_whose_product_overflows_are_a_truncated_file(tmp_path, compress):
    # 2**22 * 2**21 * 2**21 = 2**64: in uint32/uint64 arithmetic that wraps to 0 and the reshape
    # failed with "cannot reshape array of size 0", naming no file
    header = b"\0\0\x08\x03" + struct.pack(">III", 1 << 22, 1 << 21, 1 << 21)
    path = write(tmp_path / "t10k-images-idx3-ubyte.gz", header, compress)
    with pytest.raises(DataError) as excinfo:
        data.read_idx(path)
    assert_one_line_error(excinfo, path, f"truncated: 16 bytes, expected {16 + 2**64}")


def zeros_gz(path: Path, header: bytes, zeros: int) -> Path:
    """A small .gz of `header` and then `zeros` zero bytes (a gzip bomb when zeros is large)."""
    z = zlib.compressobj(1, zlib.DEFLATED, 31)
    with open(path, "wb") as f:
        f.write(z.compress(header))
        for _ in range(zeros >> 20):
            f.write(z.compress(bytes(1 << 20)))
        f.write(z.flush())
    return path


@pytest.mark.parametrize(
    "header,words",
    [
        (b"", "dtype code 0x00"),  # all zeros: magic 0x00000000
        (idx_bytes(LABELS), "more than 1048576 trailing bytes after the 16 expected"),
    ],
)
def test_a_gzip_bomb_fails_on_its_header_or_tail_without_decompressing_it(tmp_path, header, words):
    # 64 MiB of zeros in 64 kB: the whole file used to be decompressed before the header was read
    path = zeros_gz(tmp_path / "t10k-labels-idx1-ubyte.gz", header, 64 << 20)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as excinfo:
            data.read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_one_line_error(excinfo, path, words)
    assert peak < 16 << 20, f"{peak / 2**20:.0f} MiB held to read a bomb"


def test_an_idx_file_is_read_exactly_as_its_header_says(tmp_path):
    # the header first, then the body, then the end: gzip or raw, short or long by one byte
    for compress in (False, True):
        body = idx_bytes(IMAGES)
        assert np.array_equal(
            data.read_idx(write(tmp_path / f"ok{compress}", body, compress)), IMAGES
        )
        for payload, words in [(body[:-1], "truncated"), (body + b"\0", "1 trailing bytes")]:
            path = write(tmp_path / f"bad{compress}{len(payload)}", payload, compress)
            with pytest.raises(DataError) as excinfo:
                data.read_idx(path)
            assert_one_line_error(excinfo, path, words)


def test_a_directory_where_an_idx_file_should_be(tmp_path):
    (tmp_path / "t10k-labels-idx1-ubyte.gz").mkdir()
    with pytest.raises(DataError) as excinfo:
        data.read_idx(tmp_path / "t10k-labels-idx1-ubyte.gz")
    assert_one_line_error(excinfo, tmp_path, "is a directory, expected a file")
    write_split(tmp_path / "run", IMAGES, LABELS)
    (tmp_path / "run" / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "run" / "t10k-labels-idx1-ubyte.gz").mkdir()
    with pytest.raises(DataError) as excinfo:
        data.load("mnist", "test", data_dir=tmp_path / "run")
    assert_one_line_error(
        excinfo, tmp_path / "run" / "t10k-labels-idx1-ubyte.gz", "is a directory, expected"
    )
    assert "missing" not in str(excinfo.value)


def test_a_data_directory_that_does_not_exist_or_is_a_file(clean_env, tmp_path, monkeypatch):
    missing, a_file = tmp_path / "nowhere", tmp_path / "notes.txt"
    a_file.write_text("hello")
    for root, words in [(missing, "does not exist"), (a_file, "is not a directory")]:
        with pytest.raises(DataError) as excinfo:
            data.load("mnist", "test", data_dir=root)
        assert_one_line_error(excinfo, root, f"mnist data directory {root} {words}")
    monkeypatch.setenv("HANDGRAD_DATA_DIR", str(missing))
    with pytest.raises(DataError) as excinfo:
        data.fetch("mnist")
    assert_one_line_error(excinfo, missing, f"{missing} (from HANDGRAD_DATA_DIR) does not exist")


def write_split(root: Path, images: np.ndarray, labels: np.ndarray) -> None:
    root.mkdir(exist_ok=True)
    for split in ("train", "t10k"):
        write(root / f"{split}-images-idx3-ubyte.gz", idx_bytes(images), compress=True)
        write(root / f"{split}-labels-idx1-ubyte.gz", idx_bytes(labels), compress=True)


def test_load_checks_label_image_pairing(tmp_path):
    write_split(tmp_path / "ok", IMAGES, LABELS)
    ds = data.load("mnist", "test", data_dir=tmp_path / "ok", scale=False)
    assert ds.images.shape == (8, 784) and ds.labels.tolist() == LABELS.tolist()
    write_split(tmp_path / "bad", IMAGES, LABELS[:7])
    with pytest.raises(DataError) as excinfo:
        data.load("mnist", "train", data_dir=tmp_path / "bad")
    assert_one_line_error(excinfo, tmp_path / "bad" / "train-labels-idx1-ubyte.gz", "7 labels")
    assert "8 images" in str(excinfo.value)


@pytest.mark.parametrize(
    "images,labels,bad_file,words",
    [
        (IMAGES[:, :14], LABELS, "t10k-images-idx3-ubyte.gz", "28x28"),
        (LABELS, LABELS, "t10k-images-idx3-ubyte.gz", "28x28"),
        (IMAGES, IMAGES, "t10k-labels-idx1-ubyte.gz", "1-D"),
    ],
)
def test_load_checks_file_kinds(tmp_path, images, labels, bad_file, words):
    write_split(tmp_path, images, labels)
    with pytest.raises(DataError) as excinfo:
        data.load("mnist", "test", data_dir=tmp_path)
    assert_one_line_error(excinfo, tmp_path / bad_file, words)


def mnist_copy(mnist_dir: Path, root: Path, split: str, form: str) -> Path:
    """`root` with the real MNIST files, the `split` labels as `form`; returns that labels file."""
    root.mkdir()
    for name in data.FILES:
        (root / name).symlink_to(mnist_dir / name)
    name = f"{data.SPLITS[split]}-labels-idx1-ubyte.gz"
    raw = gzip.decompress((mnist_dir / name).read_bytes())
    (root / name).unlink()
    if form == "raw":  # gunzip -k
        return write(root / name.removesuffix(".gz"), raw)
    # "gz": the official bytes; "regz": the same content, other gzip bytes (like Debian's files)
    path = root / name
    path.write_bytes((mnist_dir / name).read_bytes() if form == "gz" else gzip.compress(raw, 1))
    assert form == "gz" or sha256(path) != data.SHA256["mnist"][name]
    return path


@pytest.mark.parametrize("form", ["gz", "raw", "regz"])
@pytest.mark.parametrize("split", ["train", "test"])
@pytest.mark.parametrize("asked", data.DATASETS)
def test_load_refuses_the_other_datasets_labels(
    mnist_dir, tmp_path, monkeypatch, asked, split, form
):
    # real MNIST files stand in for the other dataset: for asked="mnist" they are called Fashion's
    other = next(d for d in data.DATASETS if d != asked)
    sums = {other: data.LABELS_SHA256["mnist"], asked: {"train": "0" * 64, "test": "0" * 64}}
    monkeypatch.setattr(data, "LABELS_SHA256", sums)
    labels = mnist_copy(mnist_dir, tmp_path / "d", split, form)
    with pytest.raises(DataError) as excinfo:
        data.load(asked, split, data_dir=tmp_path / "d")
    this, that = data.TITLES[asked], data.TITLES[other]
    assert_one_line_error(
        excinfo, labels, f"{that}'s labels file, not {this}'s", data.DIR_ENV[asked]
    )


def test_labels_matching_no_known_sum_still_load(mnist_dir, tmp_path):
    write_split(tmp_path / "fixture", IMAGES, LABELS)
    for dataset in data.DATASETS:
        assert data.load(dataset, "test", data_dir=tmp_path / "fixture").labels.tolist() == [
            *LABELS
        ]
    labels = mnist_copy(mnist_dir, tmp_path / "edited", "test", "raw")
    raw = bytearray(labels.read_bytes())
    raw[-1] = (raw[-1] + 1) % 10  # one label changed: custom data, not MNIST's file
    labels.write_bytes(bytes(raw))
    ds = data.load("fashion-mnist", "test", data_dir=tmp_path / "edited", scale=False)
    assert len(ds.labels) == 10000 and ds.labels[-1] == raw[-1]
    assert data.load("mnist", "test", data_dir=mnist_dir).labels.shape == (10000,)


def test_training_on_the_other_datasets_files_is_a_one_line_cli_error(
    mnist_dir, clean_env, capfd, tmp_path
):
    from handgrad.cli import main

    argv = ["train", "--dataset", "fashion-mnist", "--data-dir", str(mnist_dir), "--quiet"]
    argv += ["--recipe", "002", "--iterations", "1", "--train-size", "30", "--no-figures"]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "is MNIST's labels file, not Fashion-MNIST's" in err, err
    assert "--data-dir (or HANDGRAD_FASHION_DIR)" in err, err


def test_changed_file_is_reread(tmp_path):
    path = write(tmp_path / "l.idx", idx_bytes(LABELS))
    assert data.read_idx(path).tolist() == LABELS.tolist()
    write(path, idx_bytes(LABELS[::-1].copy()), compress=True)
    os.utime(path, ns=(1, 1))  # mtime differs even on coarse-grained file systems
    assert data.read_idx(path).tolist() == LABELS[::-1].tolist()


# ---------------------------------------------------------------- CSV

ROWS = np.random.default_rng(0).integers(0, 256, size=(5, 784))
ROW_LABELS = np.array([7, 0, 9, 3, 3])


def csv_text(label_first: bool, header: bool, rows=ROWS, labels=ROW_LABELS) -> str:
    cols = [f"pixel{i}" for i in range(784)]
    lines = [",".join(["label", *cols] if label_first else [*cols, "label"])] if header else []
    for lab, row in zip(labels, rows, strict=True):
        vals = [str(v) for v in row]
        lines.append(",".join([str(lab), *vals] if label_first else [*vals, str(lab)]))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "label_first,header,layout",
    [
        (True, True, "auto"),  # Kaggle
        (False, True, "auto"),
        (False, False, "auto"),  # headerless -> label-last
        (True, False, "label-first"),
        (False, False, "label-last"),
        (True, True, "label-first"),
    ],
)
def test_csv_layouts(tmp_path, label_first, header, layout):
    path = tmp_path / "d.csv"
    path.write_text(csv_text(label_first, header))
    images, labels = data.read_csv(path, layout=layout)
    assert images.shape == (5, 784) and images.dtype == np.float32
    np.testing.assert_array_equal(images, (ROWS / 255).astype(np.float32))
    assert labels.dtype == np.int64 and labels.tolist() == ROW_LABELS.tolist()
    raw, _ = data.read_csv(path, layout=layout, scale=False)
    assert raw.dtype == np.uint8 and np.array_equal(raw, ROWS)


def test_csv_matches_idx_on_real_digits(mnist_dir, tmp_path):
    ds = data.load("mnist", "test", data_dir=mnist_dir, scale=False)
    path = tmp_path / "kaggle.csv"
    path.write_text(csv_text(True, True, ds.images[:50], ds.labels[:50]).replace("\n", "\r\n"))
    images, labels = data.read_csv(path, scale=False)
    np.testing.assert_array_equal(images, ds.images[:50])
    np.testing.assert_array_equal(labels, ds.labels[:50])


def with_row(text: str, lineno: int, row: str) -> str:
    lines = text.splitlines()
    lines[lineno - 1] = row
    return "\n".join(lines) + "\n"


GOOD_ROW = ",".join(["1"] * 785)
BAD_CSV = {  # name -> (label_first, header, line to replace, new content, expected words)
    "too few columns": (True, True, 3, ",".join(["1"] * 784), "line 3: 784 columns"),
    "too many columns": (False, False, 5, GOOD_ROW + ",0", "line 5: 786 columns"),
    "all rows short": (False, False, None, None, "line 1: 784 columns"),
    "pixel 256": (True, True, 4, "2," + ",".join(["256"] + ["0"] * 783), "line 4: pixel value 256"),
    "negative pixel": (False, False, 2, "-1," + GOOD_ROW[2:], "line 2: pixel value -1"),
    "label 11": (True, True, 2, "11," + GOOD_ROW[2:], "line 2: label 11"),
    "label-last 10": (False, False, 1, GOOD_ROW[:-1] + "10", "line 1: label 10"),
    "non-numeric": (False, False, 5, "3,abc," + GOOD_ROW[4:], "line 5, column 2: not an integer"),
    "float": (False, True, 6, "0.5," + GOOD_ROW[2:], "line 6, column 1: not an integer"),
    "float first": (False, False, 1, "0.5," + GOOD_ROW[2:], "line 1, column 1: not an integer"),
    "header without label": (True, True, 1, GOOD_ROW.replace("1", "x"), "line 1"),
    "short header": (True, True, 1, "label,a,b", "line 1: header has 3 columns"),
    "trailing comment": (False, True, 3, GOOD_ROW + " # x", "line 3, column 785: not an integer"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_malformed_csv_is_one_line_data_error(tmp_path, case):
    label_first, header, lineno, row, words = BAD_CSV[case]
    text = csv_text(label_first, header)
    if case == "all rows short":
        text = csv_text(label_first, header, ROWS[:, 1:])
    else:
        text = with_row(text, lineno, row)
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError) as excinfo:
        data.read_csv(path)
    assert_one_line_error(excinfo, path, words)


@pytest.mark.parametrize("text,words", [("", "no data rows"), (None, "no data rows")])
def test_empty_csv(tmp_path, text, words):
    path = tmp_path / "e.csv"
    path.write_text(csv_text(True, True, ROWS[:0], ROW_LABELS[:0]) if text is None else text)
    with pytest.raises(DataError) as excinfo:
        data.read_csv(path)
    assert_one_line_error(excinfo, path, words)


@pytest.mark.parametrize("sep", [";", "\t"])
def test_csv_with_another_separator_says_so(tmp_path, sep):
    path = tmp_path / "semicolons.csv"
    path.write_text(csv_text(False, False).replace(",", sep))
    with pytest.raises(DataError) as excinfo:
        data.read_csv(path)
    assert_one_line_error(excinfo, path, f"line 1: separated by {sep!r}, not commas")


@pytest.mark.parametrize("where", ["first line", "later line"])
def test_csv_that_is_not_utf8_names_the_file(tmp_path, where):
    path = tmp_path / "latin1.csv"
    text = csv_text(True, True).encode()
    bad = b"label\xe9," + text[6:] if where == "first line" else text + b"3,\xff" + text[-5:]
    path.write_bytes(bad)
    with pytest.raises(DataError) as excinfo:
        data.read_csv(path)
    assert_one_line_error(excinfo, path, "not UTF-8 text")


def test_csv_layout_contradicting_header(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text(csv_text(True, True))
    with pytest.raises(DataError) as excinfo:
        data.read_csv(path, layout="label-last")
    assert_one_line_error(excinfo, path, "line 1", "label-first")
    with pytest.raises(ValueError, match="layout"):
        data.read_csv(path, layout="first")


def test_csv_with_a_byte_order_mark_and_no_header(tmp_path):
    # Excel's "CSV UTF-8" starts with U+FEFF: it was read as part of the first number
    path = tmp_path / "bom.csv"
    path.write_text("\ufeff" + csv_text(False, False), encoding="utf-8")
    images, labels = data.read_csv(path, scale=False)
    assert np.array_equal(images, ROWS) and labels.tolist() == ROW_LABELS.tolist()


@pytest.mark.parametrize(
    "first,words",
    [
        ("", "line 1, column 1: not an integer: ''"),  # was "header has no 'label' column"
        ("0x10", "line 1, column 1: not an integer: '0x10'"),  # the same
        ("1_0", "line 1, column 1: not an integer: '1_0'"),  # was NumPy's "could not convert"
    ],
)
@pytest.mark.parametrize("row", [1, 3])
def test_csv_fields_numpy_rejects_are_named_by_line_and_column(tmp_path, first, words, row):
    text = with_row(csv_text(False, False), row, ",".join([first] * 784 + ["3"]))
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError) as excinfo:
        data.read_csv(path)
    assert_one_line_error(excinfo, path, words.replace("line 1", f"line {row}"))


def test_csv_of_nul_bytes_is_not_called_a_header(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"\0" * 100)
    with pytest.raises(DataError) as excinfo:
        data.read_csv(path)
    assert_one_line_error(excinfo, path, "NUL bytes")


@pytest.mark.parametrize("blank", ["   ", "\t", " \t \r", ""])
@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("where", [0, 1, 3, "end"])
def test_csv_whitespace_only_lines_are_skipped_like_empty_ones(tmp_path, blank, header, where):
    lines = csv_text(False, header).splitlines()
    at = len(lines) if where == "end" else where
    lines[at:at] = [blank, blank]
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(lines) + "\n")
    images, labels = data.read_csv(path, scale=False)
    assert np.array_equal(images, ROWS) and labels.tolist() == ROW_LABELS.tolist()


def test_a_csv_of_blank_lines_has_no_data_rows(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text(" \n\t\n  \t\n")
    with pytest.raises(DataError) as excinfo:
        data.read_csv(path)
    assert_one_line_error(excinfo, path, "no data rows")


BLANK_THEN_BAD = {  # Kaggle CSV after two blank lines: (line 3 is the header) line, row, words
    "short row": (6, ",".join(["1"] * 784), "line 6: 784 columns, expected 785"),
    "label 11": (5, "11," + GOOD_ROW[2:], "line 5: label 11 outside 0-9"),
    "short header": (3, "label,a,b", "line 3: header has 3 columns"),
    "no label column": (3, GOOD_ROW.replace("1", "x"), "line 3: header has no 'label' column"),
}


@pytest.mark.parametrize("blank", ["", "  \t"])
@pytest.mark.parametrize("case", sorted(BLANK_THEN_BAD))
def test_csv_errors_after_blank_lines_name_the_files_own_line(tmp_path, blank, case):
    lineno, row, words = BLANK_THEN_BAD[case]
    text = f"{blank}\n{blank}\n" + with_row(csv_text(True, True), lineno - 2, row)
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError) as excinfo:
        data.read_csv(path)
    assert_one_line_error(excinfo, path, words)


# ---------------------------------------------------------------- downloads


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass


@contextmanager
def serve(directory: Path):
    """Serve `directory` over HTTP on 127.0.0.1; yields (base_url, Counter of requested paths)."""
    hits: Counter = Counter()

    class Handler(_Handler):
        def do_GET(self):
            hits[self.path.lstrip("/")] += 1
            super().do_GET()

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(directory))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sha256_table_matches_shared_sums(mnist_dir):
    sums = dict(line.split()[::-1] for line in (mnist_dir / "SHA256SUMS").read_text().splitlines())
    assert data.SHA256["mnist"] == {name: sums[name] for name in data.FILES}
    assert set(data.SHA256["fashion-mnist"]) == set(data.FILES)
    for split, prefix in data.SPLITS.items():  # decompressed labels: the uncompressed files' sums
        assert data.LABELS_SHA256["mnist"][split] == sums[f"{prefix}-labels-idx1-ubyte"]
    assert all(len(set(d.values())) == 2 for d in data.LABELS_SHA256.values())


@pytest.mark.parametrize("split", ["train", "test"])
def test_fashion_labels_sums_match_the_debian_files_content(split):
    assert FASHION_DIR.is_dir(), "install the Debian package dataset-fashion-mnist"
    name = f"{data.SPLITS[split]}-labels-idx1-ubyte.gz"
    content = gzip.decompress((FASHION_DIR / name).read_bytes())
    assert hashlib.sha256(content).hexdigest() == data.LABELS_SHA256["fashion-mnist"][split]


def test_download_into_cache_then_reuse(mnist_dir, clean_env):
    with serve(mnist_dir) as (url, hits):
        paths = data.fetch("mnist", base_url=url)
        assert set(paths) == set(data.FILES)
        for name, path in paths.items():
            assert path == clean_env / "mnist" / name and sha256(path) == sha256(mnist_dir / name)
        assert all(hits[name] == 1 for name in data.FILES), hits
        got = data.load("mnist", "test", base_url=url)  # cache hit: no new requests
        assert sum(hits.values()) == 4
    want = data.load("mnist", "test", data_dir=mnist_dir)
    np.testing.assert_array_equal(got.images, want.images)
    np.testing.assert_array_equal(got.labels, want.labels)
    assert data.load("mnist", "train", base_url="http://127.0.0.1:9/").labels.shape == (60000,)


def test_mirror_env_var_and_stale_cache_file(mnist_dir, clean_env, monkeypatch):
    stale = clean_env / "mnist" / "t10k-labels-idx1-ubyte.gz"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"not the file")
    with serve(mnist_dir) as (url, hits):
        monkeypatch.setenv("HANDGRAD_MIRROR", url)
        assert data.fetch()["t10k-labels-idx1-ubyte.gz"] == stale
    assert sha256(stale) == data.SHA256["mnist"][stale.name] and sum(hits.values()) == 4


def test_corrupted_download_rejected_and_not_cached(mnist_dir, clean_env, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(mnist_dir, mirror)
    bad = mirror / "t10k-labels-idx1-ubyte.gz"
    blob = bytearray(bad.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    bad.write_bytes(bytes(blob))
    cached = clean_env / "mnist" / bad.name
    with serve(mirror) as (url, hits):
        for attempt in (1, 2):
            with pytest.raises(DataError) as excinfo:
                data.load("mnist", "test", base_url=url)
            assert_one_line_error(excinfo, cached, "hash", "sha256")
            assert hits[bad.name] == attempt
            assert sorted(p.name for p in cached.parent.iterdir()) == sorted(data.FILES[:3])
        shutil.copy(mnist_dir / bad.name, bad)  # mirror repaired: the next call succeeds
        assert data.load("mnist", "test", base_url=url).labels.shape == (10000,)
        assert sha256(cached) == data.SHA256["mnist"][bad.name]


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


@pytest.mark.parametrize("dataset", data.DATASETS)
@pytest.mark.parametrize("failure", ["404", "closed port"])
def test_download_failure_points_at_local_files(clean_env, tmp_path, monkeypatch, failure, dataset):
    monkeypatch.setattr(data, "SYSTEM_DIRS", {})  # force the cache even for fashion-mnist
    (tmp_path / "empty").mkdir()
    env = "HANDGRAD_DATA_DIR" if dataset == "mnist" else "HANDGRAD_FASHION_DIR"
    with serve(tmp_path / "empty") as (url, _hits), pytest.raises(DataError) as excinfo:
        data.fetch(dataset, base_url=url if failure == "404" else closed_port_url())
    assert_one_line_error(excinfo, clean_env, "download", "--data-dir", env)
    assert ("404" if failure == "404" else "connect") in str(excinfo.value).lower()
    assert "set but empty" not in str(excinfo.value)


def test_a_download_failure_says_an_empty_data_dir_variable_reads_as_unset(clean_env, monkeypatch):
    """HANDGRAD_DATA_DIR= (set, empty) is unset, so the data is downloaded; offline, the error
    said only 'set HANDGRAD_DATA_DIR' to someone who had (an adversarial review's finding)."""
    monkeypatch.setenv("HANDGRAD_DATA_DIR", "")
    with pytest.raises(DataError) as excinfo:
        data.fetch("mnist", base_url=closed_port_url())
    assert_one_line_error(excinfo, clean_env, "(HANDGRAD_DATA_DIR is set but empty, which reads")


# ---------------------------------------------------------------- one_hot / to_layout


def test_one_hot_row_and_column():
    labels = np.array([2, 0, 9, 2])
    row = data.one_hot(labels)
    assert row.shape == (4, 10) and row.dtype == np.float64
    assert row.sum(axis=1).tolist() == [1] * 4 and row.argmax(axis=1).tolist() == [2, 0, 9, 2]
    col = data.one_hot(labels, layout="column", dtype=np.float32)
    assert col.shape == (10, 4) and col.dtype == np.float32 and col.flags.c_contiguous
    np.testing.assert_array_equal(col, row.T)


def test_one_hot_explicit_width_on_single_class_batch():
    assert data.one_hot(np.full(5, 3)).shape == (5, 10)
    assert data.one_hot(np.full(5, 3), layout="column").shape == (10, 5)
    assert data.one_hot(np.array([1, 0]), num_classes=2).tolist() == [[0, 1], [1, 0]]
    assert data.one_hot(np.zeros(0, np.int64)).shape == (0, 10)


@pytest.mark.parametrize(
    "labels,k", [([0, 10], 10), ([-1, 2], 10), ([3], 3), ([1.0, 2.0], 10), ([[1, 2]], 10)]
)
def test_one_hot_rejects_bad_labels(labels, k):
    with pytest.raises(ValueError):
        data.one_hot(np.array(labels), num_classes=k)


def test_to_layout():
    x = np.arange(12.0).reshape(3, 4)
    assert data.to_layout(x, "row") is x
    col = data.to_layout(x, "column")
    assert col.shape == (4, 3) and col.flags.c_contiguous and np.array_equal(col, x.T)
    with pytest.raises(ValueError):
        data.to_layout(x, "col")
    with pytest.raises(ValueError):
        data.to_layout(x.ravel(), "row")


def test_error_messages_are_collapsed_to_one_line():
    err = data._fail(Path("dir/f.gz"), "first line\n  second line\r\n")
    assert isinstance(err, DataError)
    assert str(err) == "dir/f.gz: first line second line"


def test_quiet_train_prints_no_download_line(clean_env, capfd, monkeypatch):
    from handgrad.cli import main

    argv = ["train", "--recipe", "002", "--iterations", "1", "--train-size", "30", "--quiet"]
    monkeypatch.setenv("HANDGRAD_MIRROR", closed_port_url())
    assert main(argv) == 2
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "download from" in err and "Downloading" not in err, err
