"""Per-neuron chain rule (document 001; 000's one-neuron-per-layer derivation), one loop per neuron.

001's notation: j indexes units of layer L, k units of layer L-1, w_jk joins unit k to unit j, so
W^l[j, k] = w_jk (the column layout). For one example and one output unit j:

    z_j^(L)          = sum_k w_jk^(L) a_k^(L-1) + b_j^(L),       a_j^(L) = sigma(z_j^(L))
    dC/dw_jk^(L)     = a_k^(L-1) sigma'(z_j^(L)) dC/da_j^(L)
    dC/db_j^(L)      = sigma'(z_j^(L)) dC/da_j^(L)
    dC/da_k^(L-1)    = sum_j w_jk^(L) sigma'(z_j^(L)) dC/da_j^(L)

with dC/da_j^(L) = (2/m)(a_j^(L) - y_j) for the batch-mean MSE. (001 writes dz/dw = a^(L); it is
a^(L-1).) The same three lines hold at every layer l, with f' for sigma': sigma' at the output,
the hidden activation's g' below it (the code's comments write f'). For softmax + cross-entropy, sigma'(z_j) dC/da_j is replaced by the fused
delta_j = (a_j - y_j)/m, because softmax couples the units. The loops run over examples i and
neurons j; the sum over k inside one neuron is a vector operation. Gradients of the batch-mean loss
are accumulated example by example.

Non-goals: speed (use `column_major` or `row_major` for that). Validation is done by the caller.
"""

from __future__ import annotations

import numpy as np

from handgrad.activations import sigmoid
from handgrad.losses import mse_dC_dA
from handgrad.models import Model, Params

NATIVE_LAYOUT = "column"


def forward(model: Model, params: Params, X: np.ndarray) -> dict[str, np.ndarray]:
    """{"A0", "Z1", "A1", ...}: z_j = sum_k w_jk a_k + b_j, neuron by neuron, example by example."""
    L, g, m = model.depth, model.activation, X.shape[1]
    dtype = np.result_type(X, *params.values())
    cache = {"A0": X}
    for l in range(1, L + 1):
        cache[f"Z{l}"] = np.empty((model.sizes[l], m), dtype)
        cache[f"A{l}"] = np.empty((model.sizes[l], m), dtype)
    for i in range(m):
        a_prev = X[:, i]
        for l in range(1, L + 1):
            W, b = params[f"W{l}"], params[f"b{l}"]
            z = cache[f"Z{l}"][:, i]
            for j in range(model.sizes[l]):
                z[j] = W[j, :] @ a_prev + b[j, 0]
            a = model.loss.activate(z[:, None], 0)[:, 0] if l == L else g(z)
            cache[f"A{l}"][:, i] = a
            a_prev = a
    return cache


def backward(
    model: Model, params: Params, cache: dict[str, np.ndarray], Y: np.ndarray
) -> dict[str, np.ndarray]:
    """{"dZl", "dWl", "dbl"} accumulated over examples and neurons by 001's chain rule."""
    L, g, m = model.depth, model.activation, Y.shape[1]
    dtype = cache[f"Z{L}"].dtype
    grads = {}
    for l in range(1, L + 1):
        grads[f"dW{l}"] = np.zeros(params[f"W{l}"].shape, dtype)
        grads[f"db{l}"] = np.zeros(params[f"b{l}"].shape, dtype)
        grads[f"dZ{l}"] = np.empty(cache[f"Z{l}"].shape, dtype)
    for i in range(m):
        z, a, y = cache[f"Z{L}"][:, i], cache[f"A{L}"][:, i], Y[:, i]
        if model.output == "mse":
            delta = sigmoid.f_prime(z) * mse_dC_dA(a, y, m)  # sigma'(z_j) dC/da_j
        else:
            delta = (a - y) / m  # softmax couples the units: fused delta_j = (a_j - y_j) / m
        for l in range(L, 0, -1):
            grads[f"dZ{l}"][:, i] = delta
            W, a_prev = params[f"W{l}"], cache[f"A{l - 1}"][:, i]
            dC_da_prev = np.zeros(model.sizes[l - 1], dtype)
            for j in range(model.sizes[l]):
                grads[f"dW{l}"][j, :] += a_prev * delta[j]  # dC/dw_jk = a_k f'(z_j) dC/da_j
                grads[f"db{l}"][j, 0] += delta[j]  # dC/db_j = f'(z_j) dC/da_j
                dC_da_prev += W[j, :] * delta[j]  # dC/da_k = sum_j w_jk f'(z_j) dC/da_j
            if l > 1:
                delta = g.f_prime(cache[f"Z{l - 1}"][:, i]) * dC_da_prev  # f' = g' below the output
    return grads
