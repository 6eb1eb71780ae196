"""Elementwise activations, each bundling f and its derivative f', plus softmax.

Conventions (shared by every formulation and by the JAX oracle in `reference/`):
- ReLU'(0) = 0, as document 002's `ReLU_deriv` (`Z > 0`) has it.
- ELU'(z) = alpha * exp(z) for z <= 0, so ELU'(0) = alpha (continuous when alpha = 1).
- sigmoid is `scipy.special.expit`: it cannot overflow, sigma(-1000) = 0, sigma(1000) = 1.
- softmax and log_softmax act over the class axis (0 in the column layout, 1 in the row layout) and
  subtract the maximum first, so no logit can overflow `exp`.

Non-goals: activations that are not elementwise (other than softmax), second derivatives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import special

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    """An elementwise activation g with its derivative g' (both map Z to an array of Z's shape)."""

    name: str
    f: Callable[[Array], Array] = field(repr=False)
    f_prime: Callable[[Array], Array] = field(repr=False)
    formula: str = ""

    def __call__(self, Z: Array) -> Array:
        return self.f(Z)


def _sigmoid_prime(Z: Array) -> Array:
    """sigma'(z) = sigma(z) (1 - sigma(z))."""
    s = special.expit(Z)
    return s * (1 - s)


sigmoid = Activation(
    "sigmoid",
    special.expit,
    _sigmoid_prime,
    "sigma(z) = 1 / (1 + e^-z); sigma' = sigma (1 - sigma)",
)

relu = Activation(
    "relu",
    lambda Z: np.where(Z > 0, Z, np.zeros((), Z.dtype)),
    lambda Z: (Z > 0).astype(Z.dtype),
    "ReLU(z) = max(z, 0); ReLU'(z) = 1 if z > 0 else 0 (so ReLU'(0) = 0)",
)

identity = Activation("identity", lambda Z: Z, lambda Z: np.ones_like(Z), "id(z) = z; id'(z) = 1")


def elu(alpha: float = 1.0) -> Activation:
    """ELU(z) = z if z > 0 else alpha (e^z - 1); ELU'(z) = 1 if z > 0 else alpha e^z.

    `elu(alpha)` builds the activation (the others are activations already): its values are
    `elu(alpha).f(Z)`.
    """
    if np.ndim(alpha) != 0 or not np.isreal(alpha) or isinstance(alpha, bool | str):
        raise TypeError(
            f"elu(alpha) builds the ELU activation from a number alpha (its values are "
            f"elu(alpha).f(Z)); got {type(alpha).__name__}"
        )

    def f(Z: Array) -> Array:
        return np.where(Z > 0, Z, alpha * np.expm1(np.minimum(Z, 0)))

    def f_prime(Z: Array) -> Array:
        return np.where(Z > 0, np.ones((), Z.dtype), alpha * np.exp(np.minimum(Z, 0))).astype(
            Z.dtype
        )

    return Activation("elu", f, f_prime, f"ELU(z) = z if z > 0 else {alpha} (e^z - 1)")


HIDDEN = ("sigmoid", "relu", "elu", "identity")


def hidden_activation(name: str, alpha: float = 1.0) -> Activation:
    """The hidden-layer activation called `name` (one of HIDDEN)."""
    table = {"sigmoid": sigmoid, "relu": relu, "identity": identity}
    if name == "elu":
        return elu(alpha)
    if name not in table:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(HIDDEN)}")
    return table[name]


def log_softmax(Z: Array, axis: int) -> Array:
    """log softmax(z)_i = z_i - logsumexp(z), over the class axis."""
    return special.log_softmax(Z, axis=axis)


def softmax(Z: Array, axis: int) -> Array:
    """softmax(z)_i = e^(z_i - max z) / sum_j e^(z_j - max z), over the class axis."""
    E = np.exp(Z - Z.max(axis=axis, keepdims=True))
    return E / E.sum(axis=axis, keepdims=True)
