"""Pre-activations near ReLU's (ELU's) kink, which some properties must leave out."""

from __future__ import annotations

import numpy as np

from handgrad.formulations import forward
from handgrad.models import Model

# JAX on CPU flushes subnormal inputs and results to 0 (XLA's FTZ/DAZ), so a pre-activation this
# near 0 can be on the kink for the oracle and off it in IEEE arithmetic (Hypothesis found
# X = 1.1e-308: Z1 > 0, ReLU' = 1 here, 0 for JAX). Flushing moves a hidden pre-activation of
# the properties' problems (|values| <= 2 below the output layer, width <= 12, depth <= 4) by less
# than 1e-303: `check.kink_slack`.
FLUSHED_REACH = 1e-300


def kink_within_reach(model: Model, params: dict, X: np.ndarray, reach: float) -> bool:
    """True when a hidden pre-activation lies near a kink, 0 < |z| < reach, but not on it."""
    if model.hidden == "sigmoid" or model.hidden == "identity":
        return False
    if model.hidden == "elu" and model.alpha == 1.0:
        return False  # ELU with alpha = 1 has a continuous derivative
    cache = forward(model, params, X)
    Z = np.concatenate([np.ravel(cache[f"Z{l}"]) for l in range(1, model.depth)])
    return bool(np.any((np.abs(Z) > 0) & (np.abs(Z) < reach)))
