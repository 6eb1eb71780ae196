"""Column-major batch backprop (documents 002, 003, 004): X is n x m, one column per example.

Forward, for l = 1..L:   Z^l = W^l A^(l-1) + b^l,   A^l = g(Z^l)   (A^0 = X; A^L = out(Z^L))
Backward (1/m inside dZ^L; see `handgrad.losses`):
    dZ^L      = dC/dZ^L                          (n_L x m)
    dW^l      = dZ^l A^(l-1)T                    (n_l x n_(l-1))
    db^l      = sum over columns of dZ^l         (n_l x 1)   -- axis=1, keepdims
    dZ^(l-1)  = W^lT dZ^l * g'(Z^(l-1))          (n_(l-1) x m)

Where the model is row-major, X, Y and the parameters are transposed on the way in and the
gradients on the way out. Non-goals: validation (done by `handgrad.formulations`), in-place updates.
"""

from __future__ import annotations

import numpy as np

from handgrad.models import Model, Params

NATIVE_LAYOUT = "column"


def forward(model: Model, params: Params, X: np.ndarray) -> dict[str, np.ndarray]:
    """{"A0": X, "Z1": ..., "A1": ..., ..., "ZL", "AL"} with Z^l = W^l A^(l-1) + b^l (n_l x m)."""
    g, cache = model.activation, {"A0": X}
    for l in range(1, model.depth + 1):
        Z = params[f"W{l}"] @ cache[f"A{l - 1}"] + params[f"b{l}"]
        last = l == model.depth
        cache[f"Z{l}"] = Z
        cache[f"A{l}"] = model.loss.activate(Z, 0) if last else g(Z)
    return cache


def backward(
    model: Model, params: Params, cache: dict[str, np.ndarray], Y: np.ndarray
) -> dict[str, np.ndarray]:
    """{"dZL": ..., "dWL": ..., "dbL": ..., ..., "dW1", "db1"} from a forward cache."""
    L, g = model.depth, model.activation
    m = Y.shape[1]
    grads = {f"dZ{L}": model.loss.delta(cache[f"Z{L}"], Y, 0, m)}
    for l in range(L, 0, -1):
        dZ = grads[f"dZ{l}"]
        grads[f"dW{l}"] = dZ @ cache[f"A{l - 1}"].T
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True)
        if l > 1:
            grads[f"dZ{l - 1}"] = (params[f"W{l}"].T @ dZ) * g.f_prime(cache[f"Z{l - 1}"])
    return grads
