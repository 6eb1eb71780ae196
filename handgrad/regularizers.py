"""Regularisers with hand-derived gradients: L2 weight decay and (inverted) dropout.

L2 weight decay on the weights only (never the biases):

    J_reg = J + (lambda/2) sum_l ||W^l||_F^2        dJ_reg/dW^l = dJ/dW^l + lambda W^l

Inverted dropout on the hidden activations, with a fixed mask M^l per hidden layer (entries 0 or
1/keep, keep = 1 - rate, drawn once per mini-batch), so that E[A^l] is unchanged and prediction
uses the network as it is. In the column layout (the row layout transposes every product, as in
`handgrad.row_major`):

    forward:   Z^l = W^l A^(l-1) + b^l,   A^l = g(Z^l) * M^l   (l < L; A^0 = X; no mask on A^L)
    backward:  dZ^L = dJ/dZ^L,  dW^l = dZ^l A^(l-1)T,  db^l = sum over columns of dZ^l,
               dZ^(l-1) = (W^lT dZ^l) * M^(l-1) * g'(Z^(l-1))   -- the same mask, again

A layer without an "M<l>" entry in `masks` is not masked (so `masks={}` is the plain network).
With the mask fixed the loss is a deterministic function of the parameters, which is what the
gradient checks differentiate (`oracle_loss` is that loss written in `jax.numpy`).

Non-goals: dropout on the inputs, DropConnect, L1 penalties, the per-neuron formulation.
"""

from __future__ import annotations

import numpy as np

from handgrad.models import Model, Params

LAYOUTS = ("column", "row")  # dropout's forward/backward exist for these formulations


def weight_keys(params: Params) -> list[str]:
    """The weight matrices W1, W2, ... (the keys L2 decays)."""
    return [k for k in params if k.startswith("W")]


def l2_penalty(params: Params, weight_decay: float) -> float:
    """(lambda/2) sum_l ||W^l||_F^2."""
    return (
        0.5 * weight_decay * sum(float(np.sum(np.square(params[k]))) for k in weight_keys(params))
    )


def add_l2_gradient(grads: Params, params: Params, weight_decay: float) -> Params:
    """grads with lambda W^l added to every dW^l (biases untouched); a new dict."""
    out = dict(grads)
    for k in weight_keys(params):
        out[k] = grads[k] + weight_decay * params[k]
    return out


def dropout_masks(
    model: Model, m: int, rate: float, rng: np.random.Generator, dtype=np.float32
) -> dict[str, np.ndarray]:
    """{"M1": ..., "M(L-1)"}: 1/keep with probability keep = 1 - rate, else 0; shaped like A^l."""
    if not (0 <= rate < 1):
        raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
    keep = 1.0 - rate
    masks = {}
    for l in range(1, model.depth):
        n = model.sizes[l]
        shape = (n, m) if model.layout == "column" else (m, n)
        kept = rng.random(shape, dtype=np.float32) < keep
        masks[f"M{l}"] = kept.astype(dtype) * np.asarray(1 / keep, dtype)
    return masks


def forward(model: Model, params: Params, X: np.ndarray, masks: dict) -> dict[str, np.ndarray]:
    """Cache {"A0", "Z1", "A1", ...} with A^l = g(Z^l) * M^l on the hidden layers (model's layout)."""
    g, column, cache = model.activation, model.layout == "column", {"A0": X}
    for l in range(1, model.depth + 1):
        W, A = params[f"W{l}"], cache[f"A{l - 1}"]
        Z = (W @ A if column else A @ W) + params[f"b{l}"]
        cache[f"Z{l}"] = Z
        if l == model.depth:
            cache[f"A{l}"] = model.loss.activate(Z, model.class_axis)
        else:
            A = g(Z)
            cache[f"A{l}"] = A * masks[f"M{l}"] if f"M{l}" in masks else A
    return cache


def backward(
    model: Model, params: Params, cache: dict[str, np.ndarray], Y: np.ndarray, masks: dict
) -> dict[str, np.ndarray]:
    """{"dZl", "dWl", "dbl"}: backprop through the same masks (see the module docstring)."""
    L, g, column = model.depth, model.activation, model.layout == "column"
    axis = model.class_axis
    m = Y.shape[1 - axis]
    batch_axis = 1 - axis
    grads = {f"dZ{L}": model.loss.delta(cache[f"Z{L}"], Y, axis, m)}
    for l in range(L, 0, -1):
        dZ, A, W = grads[f"dZ{l}"], cache[f"A{l - 1}"], params[f"W{l}"]
        grads[f"dW{l}"] = dZ @ A.T if column else A.T @ dZ
        grads[f"db{l}"] = dZ.sum(axis=batch_axis, keepdims=True)
        if l > 1:
            dA = W.T @ dZ if column else dZ @ W.T
            if f"M{l - 1}" in masks:
                dA = dA * masks[f"M{l - 1}"]
            grads[f"dZ{l - 1}"] = dA * g.f_prime(cache[f"Z{l - 1}"])
    return grads


def gradients(
    model: Model, params: Params, X: np.ndarray, Y: np.ndarray, masks: dict, weight_decay: float
) -> Params:
    """{"W1": dW1, "b1": db1, ...} of J(masked) + (lambda/2) sum ||W||^2, in the model's layout."""
    if model.layout not in LAYOUTS:
        raise ValueError(f"dropout needs a column or row layout, got {model.layout!r}")
    back = backward(model, params, forward(model, params, X, masks), Y, masks)
    grads = {k: back["d" + k] for k in params}
    return add_l2_gradient(grads, params, weight_decay) if weight_decay else grads


def loss(
    model: Model, params: Params, X: np.ndarray, Y: np.ndarray, masks: dict, weight_decay: float
) -> float:
    """J with the masks fixed, plus (lambda/2) sum ||W||^2."""
    Z = forward(model, params, X, masks)[f"Z{model.depth}"]
    return model.loss.value(Z, Y, model.class_axis) + l2_penalty(params, weight_decay)


def oracle_loss(model: Model, masks: dict, weight_decay: float):
    """The same regularised loss as a `jax.numpy` function loss(params, X, Y), for autodiff.

    Written from the equations (not from `forward` above), with the oracle's activations.
    """
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    from reference.jax_models import jax_activation

    g = jax_activation(model.hidden, model.alpha)
    column, L = model.layout == "column", model.depth
    axis = 0 if column else 1
    M = {k: jnp.asarray(v, jnp.float64) for k, v in masks.items()}

    def f(params, X, Y):
        A = X
        for l in range(1, L + 1):
            W, b = params[f"W{l}"], params[f"b{l}"]
            Z = (W @ A if column else A @ W) + b
            A = (g(Z) * M[f"M{l}"] if f"M{l}" in M else g(Z)) if l < L else Z
        m = Y.shape[1 - axis]
        if model.output == "softmax":
            value = -jnp.sum(Y * (A - logsumexp(A, axis=axis, keepdims=True))) / m
        else:
            value = jnp.sum((jax.nn.sigmoid(A) - Y) ** 2) / m
        decay = sum(jnp.sum(params[f"W{l}"] ** 2) for l in range(1, L + 1))
        return value + 0.5 * weight_decay * decay

    return f
