"""Row-major batch backprop (document 000): X is m x n, one row per example.

Forward, for l = 1..L:   A^l = g(A^(l-1) W^l + b^l)   (Z^l = A^(l-1) W^l + b^l, m x n_l; A^0 = X)
Backward (1/m inside dZ^L; see `handgrad.losses`):
    dZ^L      = dC/dZ^L                          (m x n_L)
    dW^l      = A^(l-1)T dZ^l                    (n_(l-1) x n_l)
    db^l      = sum over rows of dZ^l            (1 x n_l)   -- axis=0, keepdims
    dZ^(l-1)  = dZ^l W^lT * g'(Z^(l-1))          (m x n_(l-1))

Document 000 writes dLoss/dw_L = a_(L-1)^T (y - a_L) sigma'(z_L): the same product order, but with
the sign of (y - a) flipped and no 2/m (see `handgrad audit`). Where the model is column-major, X, Y and
the parameters are transposed on the way in and the gradients on the way out.
"""

from __future__ import annotations

import numpy as np

from handgrad.models import Model, Params

NATIVE_LAYOUT = "row"


def forward(model: Model, params: Params, X: np.ndarray) -> dict[str, np.ndarray]:
    """{"A0": X, "Z1": ..., "A1": ..., ..., "ZL", "AL"} with Z^l = A^(l-1) W^l + b^l (m x n_l)."""
    g, cache = model.activation, {"A0": X}
    for l in range(1, model.depth + 1):
        Z = cache[f"A{l - 1}"] @ params[f"W{l}"] + params[f"b{l}"]
        last = l == model.depth
        cache[f"Z{l}"] = Z
        cache[f"A{l}"] = model.loss.activate(Z, 1) if last else g(Z)
    return cache


def backward(
    model: Model, params: Params, cache: dict[str, np.ndarray], Y: np.ndarray
) -> dict[str, np.ndarray]:
    """{"dZL": ..., "dWL": ..., "dbL": ..., ..., "dW1", "db1"} from a forward cache."""
    L, g = model.depth, model.activation
    m = Y.shape[0]
    grads = {f"dZ{L}": model.loss.delta(cache[f"Z{L}"], Y, 1, m)}
    for l in range(L, 0, -1):
        dZ = grads[f"dZ{l}"]
        grads[f"dW{l}"] = cache[f"A{l - 1}"].T @ dZ
        grads[f"db{l}"] = dZ.sum(axis=0, keepdims=True)
        if l > 1:
            grads[f"dZ{l - 1}"] = (dZ @ params[f"W{l}"].T) * g.f_prime(cache[f"Z{l - 1}"])
    return grads
