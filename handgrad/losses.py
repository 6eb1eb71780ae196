"""Losses with their output activation, derivative and fused output delta dC/dZ^L.

Both losses are *means over the batch* (m examples) of a *sum over the outputs*:

- MSE, sigmoid output (documents 000, 001):  C = (1/m) sum_i ||a_i - y_i||^2,
  dC/dA = (2/m)(A - Y),  delta = dC/dZ^L = (2/m)(A - Y) * sigma'(Z^L).
- Cross-entropy, softmax output (documents 002, 003, 004):  J = -(1/m) sum_i sum_c y_ic ln a_ic,
  computed as -(1/m) sum Y * log_softmax(Z) so that ln 0 never happens,
  delta = dJ/dZ^L = (A - Y) / m.

The 1/m lives in delta, everywhere in handgrad: dW = dZ A^T and db = sum of dZ over the batch carry no
further 1/m. Documents 002-004 write dZ2 = A2 - Y and put 1/m into dW and db instead; their dZ2 is m
times ours, and their dW, db equal ours (000 writes no 1/m at all; 001 works one example at a time).

Non-goals: losses without a closed-form delta, per-example weighting, label smoothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from handgrad.activations import log_softmax, sigmoid, softmax

Array = np.ndarray


def _batch_size(Z: Array, class_axis: int) -> int:
    return Z.shape[1 - class_axis]


@dataclass(frozen=True)
class Loss:
    """A loss C(Z^L, Y) with its output activation A^L = out(Z^L) and fused delta dC/dZ^L."""

    name: str
    output: str
    activate: Callable[[Array, int], Array] = field(repr=False)
    value: Callable[[Array, Array, int], float] = field(repr=False)
    delta: Callable[[Array, Array, int, int], Array] = field(repr=False)
    formula: str = ""


def _mse_value(Z: Array, Y: Array, class_axis: int) -> float:
    """C = (1/m) sum (sigma(Z) - Y)^2."""
    m = _batch_size(Z, class_axis)
    return float(np.sum((sigmoid(Z) - Y) ** 2) / m)


def _mse_delta(Z: Array, Y: Array, class_axis: int, m: int) -> Array:
    """dC/dZ = (2/m)(A - Y) * sigma'(Z)."""
    return (2 / m) * (sigmoid(Z) - Y) * sigmoid.f_prime(Z)


def mse_dC_dA(A: Array, Y: Array, m: int) -> Array:
    """dC/dA^L = (2/m)(A^L - Y) for the MSE of this module."""
    return (2 / m) * (A - Y)


def _ce_value(Z: Array, Y: Array, class_axis: int) -> float:
    """J = -(1/m) sum Y * log_softmax(Z)."""
    m = _batch_size(Z, class_axis)
    return float(-np.sum(Y * log_softmax(Z, class_axis)) / m)


def _ce_delta(Z: Array, Y: Array, class_axis: int, m: int) -> Array:
    """dJ/dZ = (softmax(Z) - Y) / m."""
    return (softmax(Z, class_axis) - Y) / m


mse = Loss(
    "mse",
    "sigmoid",
    lambda Z, axis: sigmoid(Z),
    _mse_value,
    _mse_delta,
    "C = (1/m) sum_i ||sigma(z_i) - y_i||^2; delta = (2/m)(A - Y) * sigma'(Z)",
)

softmax_cross_entropy = Loss(
    "softmax",
    "softmax",
    softmax,
    _ce_value,
    _ce_delta,
    "J = -(1/m) sum_i sum_c y_ic ln softmax(z_i)_c; delta = (A - Y) / m",
)

LOSSES = {"mse": mse, "softmax": softmax_cross_entropy}


def get_loss(name: str) -> Loss:
    """The loss called `name`: "mse" (sigmoid output) or "softmax" (softmax + cross-entropy)."""
    if name not in LOSSES:
        raise ValueError(f"unknown output/loss {name!r}; expected one of {', '.join(LOSSES)}")
    return LOSSES[name]
