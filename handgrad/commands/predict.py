"""`handgrad predict`: the class that trained parameters (params.npz) see in a test image or a file.

An image is read with matplotlib (PNG natively, any other format Pillow opens: JPEG, BMP, GIF,
TIFF, WebP), composited over white if it has transparency, turned to grayscale (ITU-R 601 luma) in
[0, 1] and must be 28x28. MNIST and Fashion-MNIST images are light on a dark background;
`--invert auto` (the default) inverts an image whose border is mostly light (a dark digit on paper).
Classes are printed as digits for MNIST, with their names for Fashion-MNIST ("7 Sneaker").
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


def read_image(path: str | Path, invert: str = "auto") -> tuple[np.ndarray, bool]:
    """(784 grayscale pixels in [0, 1], light on dark, whether it was inverted) of an image file."""
    from matplotlib import image as mpimg

    path = Path(path)
    try:
        img = np.asarray(mpimg.imread(path), np.float64)
    except OSError as e:
        if e.filename is not None and e.strerror:  # missing, a directory, unreadable: the CLI
            raise  # says "<file>: no such file or directory", as for --params
        raise ValueError(f"{path}: cannot read image ({e})") from None
    except (ValueError, SyntaxError) as e:
        raise ValueError(f"{path}: cannot read image ({e})") from None
    if img.dtype.kind in "ui" or img.max(initial=0) > 1:  # 8-bit data from Pillow
        img = img / 255
    if img.ndim == 3 and img.shape[2] in (2, 4):  # transparency: composite over white
        alpha = img[..., -1:]
        img = img[..., :-1] * alpha + (1 - alpha)
    if img.ndim == 3:
        img = img[..., 0] if img.shape[2] == 1 else img[..., :3] @ np.array([0.299, 0.587, 0.114])
    if img.ndim != 2 or img.shape != (28, 28):
        size = "x".join(map(str, img.shape[1::-1])) if img.ndim >= 2 else str(img.shape)
        raise ValueError(f"{path}: image is {size} pixels, expected 28x28 (resize it first)")
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    flip = invert == "yes" or (invert == "auto" and border.mean() > 0.5)
    return (1 - img if flip else img).reshape(784), flip


def run(args: argparse.Namespace) -> int:
    """Print the prediction and the output of every class."""
    from handgrad import data
    from handgrad.formulations import predict_proba
    from handgrad.saved import load_params

    model, params, meta = load_params(args.params)
    if model.sizes[0] != 784:
        raise ValueError(f"{args.params}: model has {model.sizes[0]} inputs, need 784")
    dataset = args.dataset or meta.get("dataset", "mnist")
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
    a = np.asarray(predict_proba(model, params, X), np.float64).reshape(-1)
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
