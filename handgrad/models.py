"""Models: `{hidden}-{output}-{layout}` with layer sizes, their parameter shapes and initialisation.

A model is hidden activation (sigmoid | relu | elu | identity) on every hidden layer, an output
(`mse`: sigmoid output with MSE; `softmax`: softmax with cross-entropy) and a layout:

- `row` (document 000): X is m x n, W^l is n_(l-1) x n_l, b^l is 1 x n_l, A^l = f(A^(l-1) W^l + b^l).
- `column` (documents 001-004): X is n x m, W^l is n_l x n_(l-1), b^l is n_l x 1,
  Z^l = W^l A^(l-1) + b^l. Entry W^l[j, k] is 001's w_jk: from unit k of layer l-1 to unit j of layer l.

Parameters are a plain dict `{"W1": ..., "b1": ..., "WL": ..., "bL": ...}` in the model's layout.
This module validates user input (ValueError naming the problem); the formulations do not.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from handgrad.activations import HIDDEN, Activation, hidden_activation
from handgrad.losses import LOSSES, Loss, get_loss

LAYOUTS = ("row", "column")
OUTPUTS = tuple(LOSSES)
Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class Model:
    """A fully connected network: sizes (n_0, ..., n_L), hidden activation, output loss, layout."""

    hidden: str
    output: str
    layout: str
    sizes: tuple[int, ...]
    alpha: float = 1.0  # ELU's alpha (document 004 uses ELU; alpha = 1 is the usual choice)

    def __post_init__(self) -> None:
        if self.hidden not in HIDDEN:
            raise ValueError(f"unknown hidden activation {self.hidden!r}; expected {HIDDEN}")
        if self.output not in OUTPUTS:
            raise ValueError(f"unknown output {self.output!r}; expected {OUTPUTS}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"unknown layout {self.layout!r}; expected {LAYOUTS}")
        if len(self.sizes) < 2 or any(int(n) != n or n < 1 for n in self.sizes):
            raise ValueError(f"sizes must be >= 2 positive integers, got {self.sizes}")
        object.__setattr__(self, "sizes", tuple(int(n) for n in self.sizes))
        a = self.alpha
        number = isinstance(a, int | float | np.integer | np.floating) and not isinstance(a, bool)
        if not (number and math.isfinite(a) and a > 0):
            raise ValueError(f"alpha must be a positive finite number (ELU's alpha), got {a!r}")
        object.__setattr__(self, "alpha", float(a))

    @property
    def name(self) -> str:
        return f"{self.hidden}-{self.output}-{self.layout}"

    @property
    def depth(self) -> int:
        """L, the number of layers with parameters."""
        return len(self.sizes) - 1

    @property
    def class_axis(self) -> int:
        """The axis of A^L that indexes classes/outputs: 0 in the column layout, 1 in the row."""
        return 0 if self.layout == "column" else 1

    @property
    def activation(self) -> Activation:
        return hidden_activation(self.hidden, self.alpha)

    @property
    def loss(self) -> Loss:
        return get_loss(self.output)

    def param_shapes(self) -> dict[str, tuple[int, int]]:
        """{"W1": shape, "b1": shape, ...} in this model's layout."""
        shapes = {}
        for l in range(1, self.depth + 1):
            n_prev, n = self.sizes[l - 1], self.sizes[l]
            col = self.layout == "column"
            shapes[f"W{l}"] = (n, n_prev) if col else (n_prev, n)
            shapes[f"b{l}"] = (n, 1) if col else (1, n)
        return shapes

    def data_shapes(self, m: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """The shapes of X and Y for a batch of m examples."""
        n0, nL = self.sizes[0], self.sizes[-1]
        return ((n0, m), (nL, m)) if self.layout == "column" else ((m, n0), (m, nL))

    def with_layout(self, layout: str) -> Model:
        """The same network in the other layout."""
        return Model(self.hidden, self.output, layout, self.sizes, self.alpha)


def parse_model(name: str, sizes: Sequence[int], alpha: float = 1.0) -> Model:
    """Model from a name like "relu-softmax-column" and sizes like (784, 10, 10)."""
    parts = name.split("-") if isinstance(name, str) else []
    if len(parts) != 3:
        raise ValueError(
            f"model name {name!r} does not parse: expected {{hidden}}-{{output}}-{{layout}}, "
            f"hidden in {HIDDEN}, output in {OUTPUTS}, layout in {LAYOUTS}"
        )
    return Model(parts[0], parts[1], parts[2], tuple(sizes), alpha)


class SizesError(argparse.ArgumentTypeError, ValueError):
    """Layer sizes that do not parse: a ValueError, whose message argparse shows as it is."""


def parse_sizes(text: str) -> tuple[int, ...]:
    """(784, 10, 10) from "784,10,10"."""
    sizes = []
    for k, entry in enumerate(text.split(","), 1):
        if not entry.strip():
            problem = f"entry {k} is empty"
        else:
            try:
                sizes.append(int(entry))
                continue
            except ValueError:
                problem = f"entry {k} ({entry.strip()!r}) is not an integer"
        raise SizesError(
            f"sizes {text!r} do not parse: {problem}; expected integers like 784,10,10"
        )
    return tuple(sizes)


INIT_SCHEMES = ("uniform", "normal", "he", "glorot")


def check_fits(model: Model, dtype: np.dtype) -> None:
    """ValueError where the parameters alone need more than this machine's memory (NumPy would
    fail to allocate them, or the system kill the process)."""
    n = sum(math.prod(shape) for shape in model.param_shapes().values())
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): NumPy will say
        return
    if n * dtype.itemsize > have:
        raise ValueError(
            f"layer sizes {','.join(map(str, model.sizes))}: {n:,} parameters need "
            f"{_size(n * dtype.itemsize)} as {dtype.name}, more than this machine's "
            f"{_size(have)} of memory"
        )


def _size(nbytes: float) -> str:
    """1.5 GiB, 57.0 TiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError


def init_params(
    model: Model,
    rng: np.random.Generator,
    scheme: str = "normal",
    scale: float = 0.5,
    dtype: np.dtype | str = np.float64,
) -> Params:
    """Random parameters for `model`.

    uniform: W, b ~ U(-scale, scale) (document 002's `np.random.rand(...) - 0.5` with scale 0.5);
    normal: W ~ N(0, 1/n_in), b ~ N(0, 1) (Nielsen's network2, the sigmoid documents);
    he: W ~ N(0, 2/n_in), b = 0;  glorot: W ~ U(+-sqrt(6/(n_in+n_out))), b = 0.
    """
    require_model(model)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got "
            f"{type(rng).__name__}"
        )
    if np.dtype(dtype).kind != "f":
        raise ValueError(f"dtype must be a floating-point type, got {np.dtype(dtype)}")
    number = isinstance(scale, int | float | np.integer | np.floating)
    if not (number and not isinstance(scale, bool) and math.isfinite(scale) and scale >= 0):
        raise ValueError(f"scale must be a finite number >= 0, got {scale!r}")
    check_fits(model, np.dtype(dtype))
    params = {}
    for key, shape in model.param_shapes().items():
        l = int(key[1:])
        n_in, n_out = model.sizes[l - 1], model.sizes[l]
        is_w = key[0] == "W"
        if scheme == "uniform":
            value = rng.uniform(-scale, scale, shape)
        elif scheme == "normal":
            value = rng.standard_normal(shape) / (np.sqrt(n_in) if is_w else 1.0)
        elif scheme == "he":
            value = rng.standard_normal(shape) * np.sqrt(2 / n_in) if is_w else np.zeros(shape)
        elif scheme == "glorot":
            bound = np.sqrt(6 / (n_in + n_out))
            value = rng.uniform(-bound, bound, shape) if is_w else np.zeros(shape)
        else:
            raise ValueError(f"unknown init scheme {scheme!r}; expected one of {INIT_SCHEMES}")
        params[key] = value.astype(dtype)
    return params


def transpose_params(params: Mapping[str, np.ndarray]) -> Params:
    """The same parameters (or gradients) in the other layout: every array transposed."""
    return {k: np.ascontiguousarray(v.T) for k, v in params.items()}


def require_model(model) -> None:
    """TypeError unless `model` is a `Model` (a name alone has no sizes)."""
    if not isinstance(model, Model):
        raise TypeError(
            f"model must be a handgrad Model, e.g. parse_model('relu-softmax-column', (784, 10, "
            f"10)); got {type(model).__name__} {model!r:.60}"
        )


def real_array(name: str, a) -> np.ndarray:
    """`a` as an array of real numbers (bool, integer or floating); TypeError naming `name`."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    return a


def check_inputs(model: Model, params: Mapping, X: np.ndarray, Y: np.ndarray | None = None) -> None:
    """Raise ValueError (TypeError for a wrong type) naming the problem when params, X or Y do
    not fit `model`."""
    require_model(model)
    if not isinstance(params, Mapping):
        raise TypeError(
            f"params must be a dict {{'W1': ..., 'b1': ...}}, got {type(params).__name__}"
        )
    expected = model.param_shapes()
    if set(params) != set(expected):
        raise ValueError(
            f"parameters {sorted(params)} do not match {model.name} {model.sizes}: "
            f"expected keys {sorted(expected)}"
        )
    for key, shape in expected.items():
        if not isinstance(params[key], np.ndarray):
            raise TypeError(f"{key} must be a NumPy array, got {type(params[key]).__name__}")
        real_array(key, params[key])
        got = np.shape(params[key])
        if got != shape:
            raise ValueError(
                f"{key} has shape {got}, expected {shape} for {model.name} {model.sizes}"
            )
        if not np.all(np.isfinite(params[key])):
            raise ValueError(f"{key} has non-finite entries (NaN or inf)")
    X = real_array("X", X)
    batch_axis = 1 if model.layout == "column" else 0
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}")
    m = X.shape[batch_axis]
    if m == 0:
        raise ValueError(f"X holds no examples (m = 0, shape {X.shape}): a batch needs m >= 1")
    x_shape, y_shape = model.data_shapes(m)
    if X.shape != x_shape:
        n0 = model.sizes[0]
        wanted, per = ((n0, "m"), "column") if model.layout == "column" else (("m", n0), "row")
        raise ValueError(
            f"X has shape {X.shape}, expected ({wanted[0]}, {wanted[1]}): {model.layout} layout, "
            f"n_0 = {n0} inputs, one {per} per example"
        )
    if not np.all(np.isfinite(X)):
        raise ValueError("X has non-finite entries (NaN or inf)")
    if Y is not None:
        Y = real_array("Y", Y)
        if Y.shape != y_shape:
            raise ValueError(f"Y has shape {Y.shape}, expected {y_shape} ({model.layout} layout)")
        if not np.all(np.isfinite(Y)):
            raise ValueError("Y has non-finite entries (NaN or inf)")
        if model.output == "softmax":
            sums = Y.sum(axis=model.class_axis)
            if Y.size and (np.any(Y < 0) or not np.allclose(sums, 1.0, atol=1e-6)):
                got = (
                    f"a negative entry ({Y.min():.3g})"
                    if np.any(Y < 0)
                    else f"per-example sums from {sums.min():.3g} to {sums.max():.3g}"
                )
                raise ValueError(
                    "Y must hold one probability vector per example (one-hot: entries >= 0 that "
                    "sum to 1 over the classes) for softmax cross-entropy, whose delta (A - Y)/m "
                    f"assumes each sums to 1; got {got}"
                )
