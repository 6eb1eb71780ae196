"""`handgrad predict` on bad input: parameters that do not fit the dataset or overflow, and images
in pixel formats other than 8-bit (float, 16-bit, 32-bit integer TIFF; NaN). Fixtures are made here,
small and random; only the CLI's argument handling and `read_image` run, never MNIST itself."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from handgrad.cli import main
from handgrad.commands.predict import read_image
from handgrad.models import parse_model, parse_sizes
from handgrad.saved import load_params, save_params

MODEL = "relu-softmax-column"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of `handgrad *argv` (argparse errors exit via SystemExit)."""
    try:
        code = main(list(argv))
    except SystemExit as done:
        code = done.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def params_file(path: Path, sizes: tuple[int, ...], scale: float = 0.1, **meta) -> Path:
    model = parse_model(MODEL, sizes)
    rng = np.random.default_rng(0)
    params = {k: scale * rng.standard_normal(s) for k, s in model.param_shapes().items()}
    return save_params(path, model, params, **meta)


# A "digit": a light bar and stroke on black, every pixel a multiple of 1/255.
DIGIT = np.zeros((28, 28), np.uint8)
DIGIT[4:24, 13:16] = 255
DIGIT[4:7, 8:20] = 200
DIGIT[10, 5:22] = np.arange(17) * 15


@pytest.fixture
def digit_png(tmp_path) -> Path:
    path = tmp_path / "digit.png"
    Image.fromarray(DIGIT).save(path)
    return path


@pytest.fixture
def good_params(tmp_path) -> Path:
    return params_file(tmp_path / "params.npz", (784, 10, 10), dataset="mnist")


# ---------------------------------------------------------------- parameters that do not fit


@pytest.mark.parametrize(
    "sizes,meta,argv,words",
    [
        # was an IndexError traceback in class_label
        ((784, 5, 12), {"dataset": "fashion-mnist"}, [], "12 outputs; fashion-mnist needs"),
        # was exit 0, listing classes 10 and 11
        ((784, 5, 12), {"dataset": "mnist"}, [], "12 outputs; mnist needs 784 inputs"),
        # was exit 0, "prediction: 0 ... 1.0000"
        ((784, 5, 1), {"dataset": "mnist"}, [], "1 outputs; mnist needs"),
        ((100, 5, 10), {"dataset": "mnist"}, [], "100 inputs and 10 outputs"),
        # no dataset recorded: checked against the one predict uses
        ((784, 5, 12), {}, [], "12 outputs; mnist needs"),
        ((784, 5, 12), {}, ["--dataset", "fashion-mnist"], "12 outputs; fashion-mnist needs"),
    ],
)
def test_a_model_without_one_output_per_class_is_refused(
    capsys, tmp_path, digit_png, sizes, meta, argv, words
):
    path = params_file(tmp_path / "odd.npz", sizes, **meta)
    code, out, err = run(capsys, "predict", "--params", str(path), "--image", str(digit_png), *argv)
    one_line_error(code, err, f"handgrad predict: error: {path}: ", words, "10 outputs (one per")
    assert out == ""


def test_load_params_refuses_a_model_that_does_not_fit_its_recorded_dataset(tmp_path):
    path = params_file(tmp_path / "odd.npz", (784, 5, 12), dataset="fashion-mnist")
    with pytest.raises(ValueError, match="12 outputs; fashion-mnist needs 784 inputs"):
        load_params(path)
    model, _, meta = load_params(params_file(tmp_path / "none.npz", (784, 5, 12)))
    assert model.sizes == (784, 5, 12) and "dataset" not in meta  # nothing to check it against


@pytest.mark.parametrize("dataset", ["cifar", 7])
def test_an_unknown_recorded_dataset_is_refused_naming_the_file(
    capsys, tmp_path, digit_png, dataset
):
    # was a KeyError traceback (--image) or "unknown dataset 'cifar'" naming no file (--index)
    path = params_file(tmp_path / "p.npz", (784, 10, 10), dataset=dataset)
    code, _, err = run(capsys, "predict", "--params", str(path), "--image", str(digit_png))
    one_line_error(code, err, f"{path}: its metadata's dataset {dataset!r} is not one of mnist")


def test_finite_but_huge_parameters_are_one_line_and_no_warnings(capsys, tmp_path, digit_png):
    # was RuntimeWarnings (overflow, invalid value) and then "cannot convert float NaN to integer"
    path = params_file(tmp_path / "huge.npz", (784, 10, 10), scale=1e300, dataset="mnist")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code, out, err = run(capsys, "predict", "--params", str(path), "--image", str(digit_png))
    one_line_error(code, err, f"{path}: the network's output is not finite for this image")
    assert out == ""


def test_fitting_parameters_still_predict(capsys, good_params, digit_png):
    code, out, err = run(capsys, "predict", "--params", str(good_params), "--image", str(digit_png))
    assert code == 0 and err == "", err
    assert out.startswith("prediction: ") and len(out.splitlines()) == 12


# ---------------------------------------------------------------- images in other pixel formats


def save(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


EXACT = DIGIT / 255


@pytest.mark.parametrize(
    "name,array,mode",
    [
        ("float01.tif", (DIGIT / 255).astype(np.float32), "F"),  # was read as nearly blank
        ("float255.tif", DIGIT.astype(np.float32), "F"),
        ("u16.tif", DIGIT.astype(np.uint16) * 257, "I;16"),  # was 0-257, not 0-1
        ("u16.png", DIGIT.astype(np.uint16) * 257, "I;16"),
        ("i32.tif", DIGIT.astype(np.int32), "I"),
        ("i32_16bit.tif", DIGIT.astype(np.int32) * 257, "I"),  # was clipped to 255
        ("l.png", DIGIT, "L"),
        ("l.bmp", DIGIT, "L"),
    ],
)
def test_each_pixel_format_is_scaled_by_its_range(tmp_path, name, array, mode):
    path = save(tmp_path / name, array)
    assert Image.open(path).mode == mode
    pixels, inverted = read_image(path, invert="no")
    assert not inverted
    np.testing.assert_allclose(pixels, EXACT.reshape(784), atol=1e-7)


def test_an_8bit_image_of_dim_pixels_is_not_taken_for_a_0_1_image(tmp_path):
    # pixels of 0 and 1 out of 255: was "max <= 1, so already in [0, 1]" and read as full white
    path = save(tmp_path / "dim.tif", (DIGIT > 0).astype(np.uint8))
    pixels, _ = read_image(path, invert="no")
    assert pixels.max() == pytest.approx(1 / 255)


def test_a_float_image_predicts_as_its_8bit_png_does(capsys, tmp_path, good_params, digit_png):
    tif = save(tmp_path / "digit.tif", (DIGIT / 255).astype(np.float32))
    _, by_png, _ = run(capsys, "predict", "--params", str(good_params), "--image", str(digit_png))
    code, by_tif, _ = run(capsys, "predict", "--params", str(good_params), "--image", str(tif))
    assert code == 0
    assert by_tif.splitlines()[1:] == by_png.splitlines()[1:]
    assert by_tif.split("[")[0] == by_png.split("[")[0]


@pytest.mark.parametrize(
    "value,words",
    [
        (np.nan, "image has NaN or infinite pixels (mode F)"),  # NaN was silently 0
        (np.inf, "image has NaN or infinite pixels (mode F)"),
        (-0.5, "pixels span [-0.5, 1]; a floating-point (mode F) image needs them in [0, 1] or"),
        (300.0, "pixels span [0, 300]; a floating-point (mode F) image needs them in [0, 1] or"),
    ],
)
def test_float_pixels_outside_any_range_are_one_line(capsys, tmp_path, good_params, value, words):
    array = (DIGIT / 255).astype(np.float32)
    array[3, 3] = value
    path = save(tmp_path / "bad.tif", array)
    code, out, err = run(capsys, "predict", "--params", str(good_params), "--image", str(path))
    one_line_error(code, err, f"handgrad predict: error: {path}: {words}")
    assert out == ""


def test_32bit_integer_pixels_beyond_16_bits_are_refused(tmp_path):
    array = DIGIT.astype(np.int32) * 257
    array[0, 0] = 70000
    with pytest.raises(ValueError, match=r"pixels span \[0, 70000\].*\[0, 255\] or \[0, 65535\]"):
        read_image(save(tmp_path / "big.tif", array))


def test_a_wrong_size_image_is_refused_before_decoding(tmp_path, monkeypatch):
    path = save(tmp_path / "wide.png", np.zeros((28, 40), np.uint8))

    def never(*args, **kwargs):
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(Image.Image, "load", never)
    with pytest.raises(ValueError, match=r"wide.png: image is 40x28 pixels, expected 28x28"):
        read_image(path)


# ---------------------------------------------------------------- --sizes


@pytest.mark.parametrize(
    "text,words",
    [
        ("784,,10", "entry 2 is empty"),
        ("784,10,", "entry 3 is empty"),
        ("784,x,10", "entry 2 ('x') is not an integer"),
    ],
)
def test_sizes_that_do_not_parse_name_the_entry(capsys, text, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_sizes(text)
    code, _, err = run(capsys, "train", "--sizes", text, "--iterations", "1")
    # was "argument --sizes: invalid parse_sizes value: '784,,10'"
    one_line_error(code, err, f"argument --sizes: sizes {text!r} do not parse: {words}")
    assert "parse_sizes" not in err
