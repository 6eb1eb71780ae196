"""The one tolerance table, used by the library (checker, gate, audit) and by the tests alike.

An array `actual` matches `expected` when  max|actual - expected| <= atol + rtol * max|expected|.
"Relative error" everywhere in handgrad is norm-wise, max|actual - expected| / max|expected|, so tiny
entries that cancel to 1e-17 cannot blow it up; where a whole tensor may cancel, the scale is the
largest entry of the whole gradient (`gradient_scale`).

Comparisons:
- "formulations": two hand-derived formulations on the same inputs (only summation order differs).
- "autodiff": hand-derived vs JAX autodiff. For float32 the hand gradient is computed in float32 and
  compared with the float64 oracle, so the bound is float32 rounding through a few layers.
- "finite-difference": hand-derived vs central differences per entry (truncation + rounding error).
- "directional": <g, d> vs the adaptive (scipy.differentiate) derivative of t -> L(p + t d).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COMPARISONS = ("formulations", "autodiff", "finite-difference", "directional")


@dataclass(frozen=True)
class Tolerance:
    """Relative and absolute tolerance of one comparison."""

    rtol: float
    atol: float


TOLERANCES: dict[tuple[str, str], Tolerance] = {
    ("float64", "formulations"): Tolerance(1e-12, 1e-15),
    ("float64", "autodiff"): Tolerance(1e-10, 1e-14),
    ("float64", "finite-difference"): Tolerance(1e-5, 1e-8),
    ("float64", "directional"): Tolerance(1e-6, 1e-9),
    ("float32", "formulations"): Tolerance(1e-4, 1e-6),
    ("float32", "autodiff"): Tolerance(2e-3, 1e-5),
    ("float32", "finite-difference"): Tolerance(5e-3, 1e-4),
    ("float32", "directional"): Tolerance(5e-3, 1e-4),
}


def tolerance(dtype: np.dtype | str, comparison: str) -> Tolerance:
    """The tolerance for comparing arrays of `dtype` in the way `comparison` names."""
    key = (np.dtype(dtype).name, comparison)
    if key not in TOLERANCES:
        raise ValueError(f"no tolerance for dtype {key[0]!r} and comparison {comparison!r}")
    return TOLERANCES[key]


def max_abs_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max_i |actual_i - expected_i| (computed in float64); ValueError when the two shapes would
    broadcast to a larger one than either (a (3, 1) bias against a (3,) one: 3 x 3 differences).
    A number against an array, or (1, 3) against (3,), compares entry by entry."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    try:
        both = np.broadcast_shapes(actual.shape, expected.shape)
    except ValueError:
        both = None
    if both not in (actual.shape, expected.shape):
        raise ValueError(f"shapes differ: {actual.shape} and {expected.shape}")
    diff = actual - expected
    return float(np.max(np.abs(diff))) if diff.size else 0.0


def _scale(expected: np.ndarray, scale: float | None) -> float:
    if scale is not None:
        return scale
    expected = np.asarray(expected, np.float64)
    return float(np.max(np.abs(expected))) if expected.size else 0.0


def relative_error(
    actual: np.ndarray, expected: np.ndarray, scale: float | None = None, floor: float = 1e-300
) -> float:
    """max|actual - expected| / max(scale, floor), scale = max|expected| unless given."""
    return max_abs_error(actual, expected) / max(_scale(expected, scale), floor)


def close(
    actual: np.ndarray, expected: np.ndarray, tol: Tolerance, scale: float | None = None
) -> bool:
    """True when max|actual - expected| <= tol.atol + tol.rtol * scale (scale: max|expected|).

    Pass `scale` = the largest entry of the whole gradient where a tensor's true gradient may
    cancel to (nearly) zero: its rounding noise is then judged against the magnitudes that
    produced it, not against the cancelled result.
    """
    return max_abs_error(actual, expected) <= tol.atol + tol.rtol * _scale(expected, scale)


def gradient_scale(grads: dict[str, np.ndarray]) -> float:
    """The largest |entry| over every tensor of a gradient."""
    return max((float(np.max(np.abs(g))) for g in grads.values() if np.size(g)), default=0.0)
