"""`handgrad predict`: the class that trained parameters (params.npz) see in a test image or a file.

An image is read with Pillow (PNG, JPEG, BMP, GIF, TIFF, WebP, ...), composited over white if it has
transparency, turned to grayscale (ITU-R 601 luma) and scaled to [0, 1] by its pixel format's range:
8-bit / 255, 16-bit / 65535, 1-bit as is. A floating-point image (TIFF mode F) is taken as is when
its pixels lie in [0, 1], else divided by 255 when they lie in [0, 255]; a 32-bit integer one
(mode I) is divided by 255 when they lie in [0, 255], else by 65535; anything else, NaN or
infinity is a one-line error. The image must be 28x28 (checked before its pixels are decoded).
MNIST and Fashion-MNIST images are light on a dark background; `--invert auto` (the default)
inverts an image whose border is mostly light (a dark digit on paper). Classes are printed as
digits for MNIST, with their names for Fashion-MNIST ("7 Sneaker").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from handgrad.data import DATASETS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `handgrad predict`."""
    parser.add_argument(
        "--params", required=True, metavar="FILE", help="params.npz written by handgrad train"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--index", type=int, metavar="N", help="index into the official test set")
    source.add_argument(
        "--image", metavar="FILE", help="a 28x28 image (PNG, JPEG, ...: what Pillow reads)"
    )
    parser.add_argument("--dataset", choices=DATASETS, help="default: the one trained on")
    parser.add_argument("--data-dir", metavar="DIR", help="directory with the four IDX files")
    parser.add_argument(
        "--invert",
        choices=("auto", "yes", "no"),
        default="auto",
        help="invert a --image (auto: when its border is mostly light)",
    )


# Pixel ranges by Pillow mode. 8-bit modes ("L", "P", "RGB", "CMYK", ...) are 0-255 and 16-bit
# ones ("I;16", "I;16B", ...) 0-65535; mode "1" is 0/1. Modes "F" (32-bit float) and "I" (32-bit
# integer) carry no range of their own: the first of these that holds every pixel is taken.
OPEN_RANGES = {"F": (1, 255), "I": (255, 65535)}


def read_image(path: str | Path, invert: str = "auto") -> tuple[np.ndarray, bool]:
    """(784 grayscale pixels in [0, 1], light on dark, whether it was inverted) of an image file."""
    import warnings

    from PIL import Image

    path = Path(path)
    try:
        with warnings.catch_warnings():  # a huge image is refused below by its size, unread
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.size != (28, 28):
                    w, h = im.size
                    raise _ImageError(
                        f"{path}: image is {w}x{h} pixels, expected 28x28 (resize it first)"
                    )
                img = _pixels(path, im)
    except OSError as e:
        if e.filename is not None and e.strerror:  # missing, a directory, unreadable: the CLI
            raise  # says "<file>: no such file or directory", as for --params
        raise ValueError(f"{path}: cannot read image ({e})") from None
    except _ImageError:
        raise
    except (ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as e:
        raise ValueError(f"{path}: cannot read image ({e})") from None
    if img.ndim == 3 and img.shape[2] in (2, 4):  # transparency: composite over white
        alpha = img[..., -1:]
        img = img[..., :-1] * alpha + (1 - alpha)
    if img.ndim == 3:
        img = img[..., 0] if img.shape[2] == 1 else img[..., :3] @ np.array([0.299, 0.587, 0.114])
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    flip = invert == "yes" or (invert == "auto" and border.mean() > 0.5)
    return (1 - img if flip else img).reshape(784), flip


def _pixels(path: Path, im) -> np.ndarray:
    """An opened Pillow image as floats in [0, 1]: (28, 28), or (28, 28, channels)."""
    mode = im.mode
    if mode == "1":
        return np.asarray(im, np.float64)
    if mode.startswith("I;16"):
        return np.asarray(im, np.float64) / 65535
    if mode in OPEN_RANGES:
        img = np.asarray(im, np.float64)
        if not np.isfinite(img).all():
            raise _ImageError(f"{path}: image has NaN or infinite pixels (mode {mode})")
        lo, hi = img.min(), img.max()
        top = next((r for r in OPEN_RANGES[mode] if hi <= r), None)
        if lo < 0 or top is None:
            ranges = " or ".join(f"[0, {r}]" for r in OPEN_RANGES[mode])
            raise _ImageError(
                f"{path}: pixels span [{lo:g}, {hi:g}]; a {_MODE_NAMES[mode]} (mode {mode}) image"
                f" needs them in {ranges}"
            )
        return img / top
    if mode != "L":  # palette, RGB, CMYK, YCbCr, LA, ...: 8-bit channels (alpha kept)
        try:
            im = im.convert("RGBA")
        except ValueError as e:
            raise _ImageError(f"{path}: cannot convert its mode {mode} to RGB ({e})") from None
    return np.asarray(im, np.float64) / 255


_MODE_NAMES = {"F": "floating-point", "I": "32-bit integer"}


class _ImageError(ValueError):
    """What is wrong with an image that Pillow read (its message names the file)."""


def run(args: argparse.Namespace) -> int:
    """Print the prediction and the output of every class."""
    from handgrad import data
    from handgrad.formulations import predict_proba
    from handgrad.saved import check_fits, load_params

    model, params, meta = load_params(args.params)
    dataset = args.dataset or meta.get("dataset", "mnist")
    check_fits(args.params, model, dataset)  # 784 inputs, one output per class of `dataset`
    label, note = None, ""
    if args.image is not None:
        x, flipped = read_image(args.image, args.invert)
        note = args.image + _inversion_note(args.invert, flipped)
    else:
        test = data.load(dataset, "test", args.data_dir)
        if not 0 <= args.index < len(test.labels):
            raise ValueError(
                f"--index {args.index} is outside the test set (0-{len(test.labels) - 1})"
            )
        x, label = test.images[args.index], int(test.labels[args.index])
        note = f"{test.name} test image {args.index}, label {data.class_label(dataset, label)}"
    X = data.to_layout(np.asarray(x, np.float32)[None, :], model.layout)
    with np.errstate(all="ignore"):  # finite but huge parameters overflow: said below, once
        a = np.asarray(predict_proba(model, params, X), np.float64).reshape(-1)
    if not np.isfinite(a).all():
        raise ValueError(
            f"{args.params}: the network's output is not finite for this image "
            "(its parameters are too large?)"
        )
    prediction = int(np.argmax(a))
    verdict = "" if label is None else ("  (correct)" if prediction == label else "  (wrong)")
    print(f"prediction: {data.class_label(dataset, prediction)}{verdict}   [{note}]")
    kind = "probabilities (softmax)" if model.output == "softmax" else "outputs a^L (sigmoid)"
    print(f"{kind}:")
    width = max(len(data.class_label(dataset, k)) for k in range(len(a)))
    for k, value in enumerate(a):
        mark = " <" if k == prediction else ""
        print(
            f"  {data.class_label(dataset, k):<{width}}  {value:8.4f}  {'#' * round(40 * value)}{mark}"
        )
    return 0


def _inversion_note(invert: str, flipped: bool) -> str:
    """What --invert did to the image, and why: " (inverted: ...)" or ""."""
    if invert == "yes":
        return " (inverted, as --invert yes asks)"
    if flipped:  # --invert auto
        return (
            " (inverted: its border is mostly light, so it was taken as dark on light;"
            " --invert no keeps it as it is)"
        )
    return ""
