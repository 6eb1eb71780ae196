"""The oracle: every handgrad model as a plain `jax.numpy` loss, differentiated by `jax.grad`.

Written independently of handgrad's math (nothing here imports handgrad). A model is anything with
the attributes `hidden`, `output`, `layout`, `alpha` (a `handgrad.models.Model` is one).
Float64 (`jax_enable_x64`) and the highest matmul precision are switched on at import.

ReLU is `jnp.where(z > 0, z, 0)`, whose JAX derivative at exactly z = 0 is 0, the documents'
`Z > 0` of document 002's `ReLU_deriv`; `jnp.maximum(z, 0)` would give 0.5 there and disagree.
ELU's derivative at 0 is alpha (the z <= 0 branch), as in handgrad; see `jax_activation` for how.

A limit: XLA on CPU flushes subnormal numbers (below 2.2e-308) to zero, in its inputs and results,
so a pre-activation of 1e-310 is 0 here and its ReLU' 0 (handgrad's IEEE arithmetic: 1).
`handgrad.check.kink_slack` treats such pre-activations as on the kink.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_default_matmul_precision", "highest")


def jax_activation(hidden: str, alpha) -> Callable:
    """The hidden activation g as a JAX function (ELU's alpha may be traced); public for oracles
    built on top of this module, such as `handgrad.regularizers.oracle_loss`."""
    if hidden == "sigmoid":
        return jax.nn.sigmoid
    if hidden == "relu":
        return lambda z: jnp.where(z > 0, z, 0.0)
    if hidden == "elu":
        # Not jnp.minimum(z, 0): its derivative at exactly 0 is 0.5. `negative` is z where z <= 0
        # and 0 elsewhere, so expm1 never overflows and ELU'(0) = alpha, as in handgrad.
        def elu(z):
            negative = jnp.where(z > 0, 0.0, z)
            return jnp.where(z > 0, z, alpha * jnp.expm1(negative))

        return elu
    if hidden == "identity":
        return lambda z: z
    raise ValueError(f"the oracle has no activation {hidden!r}")


@functools.cache
def loss_fn(hidden: str, output: str, layout: str, alpha: float = 1.0) -> Callable:
    """loss(params, X, Y): MSE of a sigmoid output, or softmax cross-entropy; a batch mean."""
    masked = _masked_loss_fn(hidden, output, layout)
    return lambda params, X, Y: masked(params, X, Y, None, None, None, alpha)


@functools.cache
def _masked_loss_fn(hidden: str, output: str, layout: str) -> Callable:
    """The loss, optionally over zero-padded arrays: `class_mask` and `example_mask` mark real rows or
    columns and `m` is the real batch size. Padding only adds exact zeros to every real quantity."""
    column = layout == "column"
    class_axis, batch_axis = (0, 1) if column else (1, 0)

    def loss(params: Mapping, X, Y, class_mask, example_mask, m, alpha) -> jax.Array:
        g = jax_activation(hidden, alpha)  # alpha is traced: one compilation serves every ELU alpha
        L = len(params) // 2
        A = X
        for l in range(1, L + 1):
            W, b = params[f"W{l}"], params[f"b{l}"]
            Z = W @ A + b if column else A @ W + b
            A = g(Z) if l < L else Z
        m = X.shape[batch_axis] if m is None else m
        if output == "mse":
            err2 = (jax.nn.sigmoid(A) - Y) ** 2
            if class_mask is not None:
                err2 = err2 * class_mask * example_mask
            return jnp.sum(err2) / m
        if output == "softmax":
            if class_mask is not None:  # padded classes get logit -1e30: softmax weight exactly 0
                A = jnp.where(class_mask > 0, A, -1e30)
            return -jnp.sum(Y * jax.nn.log_softmax(A, axis=class_axis)) / m
        raise ValueError(f"the oracle has no output {output!r}")

    return loss


def _bucket(n: int) -> int:
    """Small sizes are padded up to a few fixed sizes so that XLA compiles once per bucket."""
    for size in (16, 64):
        if n <= size:
            return size
    return n


def _padded(model, params: Mapping, X, Y) -> tuple[dict, jax.Array, jax.Array, tuple]:
    """params, X, Y zero-padded to bucket shapes, with (class_mask, example_mask, m)."""
    column = model.layout == "column"
    m = X.shape[1] if column else X.shape[0]
    L = len(params) // 2
    sizes = [X.shape[0] if column else X.shape[1]] + [
        params[f"b{l}"].shape[0 if column else 1] for l in range(1, L + 1)
    ]
    padded_sizes, pm = [_bucket(n) for n in sizes], _bucket(m)

    def pad(a, shape):
        a = np.asarray(a, np.float64)  # padded in NumPy: a jnp.pad would compile for every shape
        return np.pad(a, [(0, s - n) for s, n in zip(shape, a.shape, strict=True)])

    def oriented(rows, cols):
        return (rows, cols) if column else (cols, rows)

    p = {}
    for l in range(1, L + 1):
        p[f"W{l}"] = pad(params[f"W{l}"], oriented(padded_sizes[l], padded_sizes[l - 1]))
        p[f"b{l}"] = pad(params[f"b{l}"], oriented(padded_sizes[l], 1))
    Xp = pad(X, oriented(padded_sizes[0], pm))
    Yp = pad(Y, oriented(padded_sizes[-1], pm))
    ones = np.ones(oriented(sizes[-1], m))
    class_mask = pad(ones, oriented(padded_sizes[-1], pm))
    example_mask = class_mask  # the same 0/1 block: real classes x real examples
    return p, Xp, Yp, (class_mask, example_mask, float(m))


def _key(model) -> tuple:
    return (model.hidden, model.output, model.layout)


@functools.cache
def _value_and_grad(key: tuple) -> Callable:
    return jax.jit(jax.value_and_grad(_masked_loss_fn(*key)))


def jax_value_and_gradients(model, params: Mapping, X, Y) -> tuple[float, dict[str, np.ndarray]]:
    """(loss, jax.grad of the loss) of the oracle in float64, gradients keyed like `params`.

    Small problems are zero-padded to bucket shapes (see `_padded`) so that one compilation serves
    many shapes; the padded entries of the gradient are cut off again.
    """
    p, Xp, Yp, masks = _padded(model, params, X, Y)
    alpha = float(getattr(model, "alpha", 1.0))
    value, g = _value_and_grad(_key(model))(p, Xp, Yp, *masks, alpha)
    grads = {
        k: np.asarray(g[k])[tuple(slice(0, n) for n in np.shape(v))] for k, v in params.items()
    }
    return float(value), grads


def jax_loss(model, params: Mapping, X, Y) -> float:
    """The oracle's loss value in float64."""
    return jax_value_and_gradients(model, params, X, Y)[0]


def jax_gradients(model, params: Mapping, X, Y) -> dict[str, np.ndarray]:
    """jax.grad of the oracle's loss in float64, as NumPy arrays keyed like `params`."""
    return jax_value_and_gradients(model, params, X, Y)[1]


def loss_callable(model, X, Y) -> Callable[[Mapping], float]:
    """params -> float64 loss (jitted, padded like `jax_gradients`), for finite differences."""
    return lambda params: jax_loss(model, params, X, Y)
