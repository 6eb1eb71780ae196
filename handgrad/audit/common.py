"""Namespaces the documents' formulas run in: the stated model's forward pass, in their names.

Every document names the same quantities a little differently (002: `Z1`, `A1`; 003: `dz2`, `x`;
001: `a^(L)`, `z^(L)`). `names(model, params, X, Y)` offers all of them at once, computed by
handgrad's own forward pass of the stated model, so an as-written line finds what it refers to, and
a name the document never defines (such as 002's `m` inside `backward_prop`) stays undefined.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from handgrad import activations
from handgrad.audit.registry import Setup, inputs
from handgrad.formulations import get_formulation
from handgrad.models import Model


def names(model: Model, params: Mapping, X: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    """W1, b1, ..., X, A0, Z1, A1, ..., Y, m, g_prime, sigma and their lower-case aliases."""
    cache = get_formulation(model.layout).forward(model, dict(params), np.asarray(X))
    ns: dict[str, Any] = {"np": np}
    for key, value in params.items():
        ns[key] = np.array(value)
        ns[key.lower()] = ns[key]
    for key, value in cache.items():
        ns[key] = value
        ns[key.lower()] = value
    m = X.shape[1 if model.layout == "column" else 0]
    ns |= {"X": np.array(X), "x": np.array(X), "Y": np.array(Y), "y": np.array(Y), "m": m}
    ns |= {f"n{l}": n for l, n in enumerate(model.sizes)}
    ns |= {
        "g": model.activation.f,
        "g_prime": model.activation.f_prime,
        "sigma": activations.sigmoid.f,
        "sigma_prime": activations.sigmoid.f_prime,
    }
    return ns


def setup_names(setup: Setup, example: int | None = None) -> dict[str, Any]:
    """`names` on the setup's inputs (only example `example` of the batch, when given)."""
    inp = inputs(setup)
    X, Y = inp.X, inp.Y
    if example is not None:
        cut = (slice(None), slice(example, example + 1))
        X, Y = (X[cut], Y[cut]) if inp.model.layout == "column" else (X[cut[::-1]], Y[cut[::-1]])
    ns = names(inp.model, inp.params, X, Y)
    ns["labels"] = np.array(inp.labels if example is None else inp.labels[example : example + 1])
    return ns


def model_loss(setup: Setup, example: int | None = None) -> float:
    """The stated model's loss (handgrad's) on the setup's batch, or on one example of it."""
    from handgrad.formulations import loss

    inp = inputs(setup)
    ns = setup_names(setup, example)
    return loss(inp.model, inp.params, ns["X"], ns["Y"])


def true_gradients(setup: Setup) -> dict[str, np.ndarray]:
    """The stated model's gradient by the oracle (`reference.jax_gradients`)."""
    import reference

    inp = inputs(setup)
    return reference.jax_gradients(inp.model, inp.params, inp.X, inp.Y)
