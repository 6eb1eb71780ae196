"""Training figures: curves, test-set confusion matrix, sample predictions, first-layer weights.

Each function returns a `matplotlib.figure.Figure` built without pyplot (no global state, the Agg
canvas renders it), so notebooks can show them and `save_all` can write them. Files are written
atomically (`handgrad.checkpoint.atomic_write`).

Non-goals: interactive plots, styling beyond what makes the four figures readable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator, PercentFormatter

from handgrad.checkpoint import atomic_write
from handgrad.data import class_label
from handgrad.recipes import title as run_title

FILES = ("curves.png", "confusion.png", "samples.png", "weights.png")
DPI = 120
RIGHT, WRONG = "#1a7f37", "#cf222e"  # green / red for correct / wrong predictions


def curves(
    history: dict,
    title: str = "",
    loss_name: str = "loss",
    train_size: int = 0,
    dev_size: int = 0,
) -> Figure:
    """Training loss (left) and train/dev accuracy (right) against the step."""
    fig = Figure(figsize=(10, 4), dpi=DPI, layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    steps = np.asarray(history["step"])
    marker = "o" if len(steps) < 30 else ""
    ax_loss.plot(steps, history["loss"], color="C0", lw=1.8, marker=marker, ms=4)
    ax_loss.set(xlabel="step", ylabel=loss_name, title="Training loss")
    losses = np.asarray(history["loss"], float)
    if len(losses) and losses.min() > 0 and losses.max() / losses.min() > 20:
        ax_loss.set_yscale("log")
    series = [(_split_label("train", train_size), history["train_accuracy"], "C0")]
    dev = np.array([np.nan if a is None else a for a in history.get("dev_accuracy", [])], float)
    if len(dev) and not np.all(np.isnan(dev)):
        series.append((_split_label("dev", dev_size), dev, "C1"))
    top = max(range(len(series)), key=lambda s: series[s][1][-1])
    for s, (label, values, color) in enumerate(series):
        ax_acc.plot(steps, values, color=color, lw=1.8, label=label, marker=marker, ms=4)
        ax_acc.annotate(  # right of the last point: the higher final value above, the lower below
            f"{values[-1]:.1%}",
            (steps[-1], values[-1]),
            textcoords="offset points",
            xytext=(5, 2 if s == top else -2),
            ha="left",
            va="bottom" if s == top else "top",
            color=color,
            fontsize=9,
            fontweight="bold",
        )
    ax_acc.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax_acc.set(xlabel="step", ylabel="accuracy", title="Accuracy")
    ax_acc.legend(loc="lower right")
    span = max(steps[-1] - steps[0], 1)
    ax_acc.set_xlim(steps[0] - 0.05 * span, steps[-1] + 0.16 * span)  # room for the end labels
    ax_acc.margins(y=0.1)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        # whole steps, spaced 1, 2 or 5 times a power of 10 (not 15 or 25): with a point every
        # 10 steps and a tick every 10 or more, every tick falls on a point
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    if title:
        fig.suptitle(title, fontweight="bold")
    return fig


def _split_label(name: str, size: int) -> str:
    """A legend label: "train (10,000 images)", or just the name when the size is unknown."""
    return f"{name} ({size:,} images)" if size else name


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, k: int = 10) -> np.ndarray:
    """C[i, j] = number of examples with label i predicted as j."""
    return np.bincount(k * np.asarray(labels) + np.asarray(predictions), minlength=k * k).reshape(
        k, k
    )


def _subject(dataset: str) -> str:
    """What one class is called on the axes: "digit" for MNIST, "class" otherwise."""
    return "digit" if dataset == "mnist" else "class"


def confusion(
    labels: np.ndarray, predictions: np.ndarray, title: str = "", dataset: str = "mnist"
) -> Figure:
    """The test-set confusion matrix: counts in the cells, colour = share of the true class.

    Fashion-MNIST's axes are labelled with the class names, MNIST's with the digits.
    """
    C = confusion_matrix(labels, predictions)
    share = C / np.maximum(C.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(7.2, 6.2), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", norm=Normalize(0, 1))
    for i in range(10):
        for j in range(10):
            if C[i, j]:
                dark = share[i, j] > 0.55
                ax.text(
                    j,
                    i,
                    str(C[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if dark else ("black" if i == j else "#444444"),
                )
    subject = _subject(dataset)
    ax.set(xlabel=f"predicted {subject}", ylabel=f"true {subject}")
    ticks = [class_label(dataset, k) for k in range(10)]
    slant = {} if dataset == "mnist" else {"rotation": 40, "ha": "right", "rotation_mode": "anchor"}
    ax.set_xticks(range(10), ticks, **slant)
    ax.set_yticks(range(10), ticks)
    ax.tick_params(length=0)
    ax.set_xticks(np.arange(-0.5, 10), minor=True)
    ax.set_yticks(np.arange(-0.5, 10), minor=True)
    ax.grid(which="minor", color="white", lw=1)
    ax.tick_params(which="minor", length=0)
    bar = fig.colorbar(image, ax=ax, shrink=0.85, format=PercentFormatter(1.0))
    bar.set_label(f"share of the true {subject}'s test images")
    accuracy = np.trace(C) / max(C.sum(), 1)
    ax.set_title(
        f"{title + ': ' if title else ''}test-set confusion matrix "
        f"({accuracy:.2%} of {C.sum():,} correct)"
    )
    return fig


def mosaic(tiles: np.ndarray, columns: int, gap: int = 2, top: int = 0) -> np.ndarray:
    """Tiles (k, 28, 28) laid out `columns` wide, NaN between them (drawn as background).

    `top` extra NaN rows above every tile leave room for its caption.
    """
    k, h, w = tiles.shape
    rows = max(1, int(np.ceil(k / columns)))
    H, W = top + h + gap, w + gap
    canvas = np.full((rows * H - gap, columns * W - gap), np.nan)
    for t in range(k):
        r, c = divmod(t, columns)
        canvas[r * H + top : r * H + top + h, c * W : c * W + w] = tiles[t]
    return canvas


def _tile_origin(t: int, columns: int, H: int, W: int) -> tuple[int, int]:
    r, c = divmod(t, columns)
    return r * H, c * W


def samples(
    images: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    indices: np.ndarray,
    columns: int = 8,
    title: str = "",
    dataset: str = "mnist",
) -> Figure:
    """A grid of test images captioned "pred 7 / label 7": green when right, red when wrong.

    Fashion-MNIST's captions keep the numbers (the names would not fit a tile); a legend under the
    grid names the ten classes.
    """
    indices = np.asarray(indices)
    rows = max(1, int(np.ceil(len(indices) / columns)))
    top, gap = 11, 6
    tiles = np.asarray(images)[indices].reshape(-1, 28, 28)
    canvas = mosaic(tiles, columns, gap, top)
    fig = Figure(figsize=(1.3 * columns, 1.55 * rows + 0.5), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    cmap = colormaps["gray_r"].with_extremes(bad="white")
    ax.imshow(canvas, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    for t, i in enumerate(indices):
        y, x = _tile_origin(t, columns, top + 28 + gap, 28 + gap)
        ok = predictions[i] == labels[i]
        ax.text(
            x + 14,
            y + top - 2,
            f"pred {predictions[i]} / label {labels[i]}",
            ha="center",
            va="bottom",
            fontsize=8.5,
            color=RIGHT if ok else WRONG,
            fontweight="normal" if ok else "bold",
        )
        ax.text(
            x + 27, y + top + 27, f"#{i}", ha="right", va="bottom", fontsize=5.5, color="#999999"
        )
        if not ok:
            ax.add_patch(Rectangle((x - 0.5, y + top - 0.5), 28, 28, fill=False, ec=WRONG, lw=1.2))
    wrong = int(sum(predictions[i] != labels[i] for i in indices))
    fig.suptitle(
        f"{title + ': ' if title else ''}random test {'digits' if dataset == 'mnist' else 'images'}, "
        f"{wrong} of {len(indices)} misclassified (red)",
        fontweight="bold",
    )
    if dataset != "mnist":
        legend = ", ".join(class_label(dataset, k) for k in range(10))
        fig.supxlabel(f"classes: {legend}", fontsize=8.5)
    return fig


def _unit_panel(ax, W: np.ndarray, columns: int, label: str, title: str) -> None:
    """Each row of W as a 28x28 tile on one axes, a symmetric colour scale and its colorbar."""
    top, gap = 7, 3
    vmax = float(np.percentile(np.abs(W), 99.5)) or 1.0
    cmap = colormaps["RdBu_r"].with_extremes(bad="white")
    image = ax.imshow(
        mosaic(W.reshape(-1, 28, 28), columns, gap, top),
        cmap=cmap,
        vmin=-vmax,
        vmax=vmax,
        interpolation="nearest",
    )
    for u in range(len(W)):
        y, x = _tile_origin(u, columns, top + 28 + gap, 28 + gap)
        ax.text(x + 14, y + top - 1.5, f"unit {u}", ha="center", va="bottom", fontsize=7.5)
    ax.set_axis_off()
    ax.set_title(title, fontsize=11)
    bar = ax.figure.colorbar(image, ax=ax, shrink=0.9, aspect=15, pad=0.01)
    bar.set_label(label)


def weights(
    W1: np.ndarray,
    layout: str = "column",
    initial: np.ndarray | None = None,
    limit: int = 40,
    title: str = "",
) -> Figure:
    """Each first-layer unit's 784 incoming weights as a 28x28 image (red +, blue -).

    With `initial`, a second panel shows what training changed, W1 - W1(step 0): a random
    initialisation can hide the learned strokes in W1 itself.
    """
    W = np.asarray(W1, np.float64)
    W = W if layout == "column" else W.T  # one row per hidden unit
    if W.shape[1] != 784:
        raise ValueError(f"first-layer weights need 784 inputs to draw as 28x28, got {W.shape}")
    units = min(len(W), limit)
    columns = min(units, 10)
    rows = int(np.ceil(units / columns))
    panels = 1 if initial is None else 2
    fig = Figure(
        figsize=(1.25 * columns + 1.2, panels * (1.3 * rows + 0.4) + 0.4),
        dpi=DPI,
        layout="constrained",
    )
    axes = np.atleast_1d(fig.subplots(panels, 1))
    _unit_panel(axes[0], W[:units], columns, "weight", "trained weights W1")
    if initial is not None:
        W0 = np.asarray(initial, np.float64)
        W0 = W0 if layout == "column" else W0.T
        _unit_panel(
            axes[1], (W - W0)[:units], columns, "change", "what training changed: W1 - W1(step 0)"
        )
    shown = f" (first {units} of {len(W)} units)" if units < len(W) else ""
    fig.suptitle(
        f"{title + ': ' if title else ''}first-layer weights as 28x28 images{shown}",
        fontweight="bold",
    )
    return fig


def save(fig: Figure, path: str | Path) -> Path:
    """Render `fig` to PNG at `path`, atomically."""
    return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=DPI, facecolor="white"))


def save_all(result, out: Path, test_images, test_labels, sample_indices) -> list[Path]:
    """The four figures of a TrainResult into `out` (names in FILES)."""
    recipe, model = result.config["recipe"], result.model
    name, dataset = recipe["name"], result.config.get("dataset", "mnist")
    heading = f"{run_title(name, recipe['documents'], model.name, model.sizes)}, seed {result.seed}"
    loss_name = {"softmax": "cross-entropy", "mse": "mean squared error"}[model.output]
    predictions = result.test_predictions
    initial = (result.initial_params or {}).get("W1")
    return [
        save(
            curves(
                result.history,
                heading,
                f"training loss ({loss_name})",
                recipe["train_size"],
                recipe["dev_size"],
            ),
            out / FILES[0],
        ),
        save(confusion(test_labels, predictions, name, dataset), out / FILES[1]),
        save(
            samples(
                test_images, test_labels, predictions, sample_indices, title=name, dataset=dataset
            ),
            out / FILES[2],
        ),
        save(weights(result.params["W1"], model.layout, initial, title=name), out / FILES[3]),
    ]
