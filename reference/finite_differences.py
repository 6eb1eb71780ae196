"""The second oracle: finite differences of any loss `f(params) -> float`, in float64.

- `central_differences`: per entry, (f(p + h e_i) - f(p - h e_i)) / 2h, for small networks. Each entry
  also gets an *uncertainty*: |forward - backward difference| plus rounding. For a smooth loss it is
  O(h) and the central estimate is far better than that; where a ReLU kink lies within h of p, the
  one-sided slopes differ and the uncertainty bounds how far the central estimate can be off. A
  comparison must never blame a gradient for an entry whose uncertainty exceeds the mismatch.
  Kinks can also cancel: a step that crosses two (or crosses one whose slopes happen to balance
  over the batch) gives equal one-sided slopes that are neither side's. So `f` may also say which
  smooth piece holds p (see `central_differences`); a step that leaves it gets uncertainty inf.
- `directional_derivative`: d/dt f(p + t d) at t = 0 by `scipy.differentiate.derivative` (adaptive
  steps and Richardson extrapolation, with its own error estimate), for MNIST-size networks, where
  <grad, d> must match for random directions d.
- `taylor_remainder`: |f(p + h d) - f(p) - h <g, d>| for a range of h; its log-log slope is 2 for a
  right gradient g and 1 for a wrong one. Useful where step sizes make differences unreliable.

Nothing here knows about networks or imports handgrad.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy import differentiate

Params = Mapping[str, np.ndarray]
EPS = np.finfo(np.float64).eps
SHRINKS = (
    8  # a directional step shrinks by 4 at most this often to stay on p's piece (1e-3 -> 2e-8)
)


def _f64(params: Params) -> dict[str, np.ndarray]:
    return {k: np.array(v, dtype=np.float64) for k, v in params.items()}


def _value_and_piece(out) -> tuple[float, np.ndarray | None]:
    """f's value, and the piece it names if it returned (value, piece)."""
    return (float(out[0]), np.asarray(out[1])) if isinstance(out, tuple) else (out, None)


@dataclass(frozen=True)
class CentralDifferences:
    """Per-entry estimates and their uncertainties, keyed like the parameters (NaN: not computed)."""

    estimate: dict[str, np.ndarray]
    uncertainty: dict[str, np.ndarray]


def central_differences(
    f: Callable[[Params], float | tuple[float, np.ndarray]],
    params: Params,
    h: float = 1e-6,
    entries: Mapping[str, Iterable[tuple[int, ...]]] | None = None,
) -> CentralDifferences:
    """Central differences of f at params, per entry (all entries, or those listed in `entries`).

    f may return (value, piece) instead of the value: piece, any array, names the smooth piece of f
    that holds params (for a ReLU network, which pre-activations are > 0). Where it differs between
    p - step, p and p + step, the step crosses a kink and the difference is not a derivative: that
    entry's uncertainty is inf (it can neither confirm nor contradict anything).
    """
    p = _f64(params)
    f0, piece = _value_and_piece(f(p))
    estimate, uncertainty = {}, {}
    for key, value in p.items():
        est = np.full(value.shape, np.nan)
        unc = np.full(value.shape, np.nan)
        index_list = np.ndindex(value.shape) if entries is None else entries.get(key, ())
        for idx in index_list:
            idx = tuple(idx)
            original = value[idx]
            step = h * max(1.0, abs(original))
            value[idx] = original + step
            f_plus, piece_plus = _value_and_piece(f(p))
            value[idx] = original - step
            f_minus, piece_minus = _value_and_piece(f(p))
            value[idx] = original
            est[idx] = (f_plus - f_minus) / (2 * step)
            one_sided_gap = abs((f_plus - f0) - (f0 - f_minus)) / step
            rounding = 4 * EPS * max(abs(f0), abs(f_plus), abs(f_minus)) / step
            unc[idx] = one_sided_gap + rounding
            if piece is not None and not (
                np.array_equal(piece_plus, piece) and np.array_equal(piece_minus, piece)
            ):
                unc[idx] = np.inf
        estimate[key], uncertainty[key] = est, unc
    return CentralDifferences(estimate, uncertainty)


@dataclass(frozen=True)
class Directional:
    """d/dt f(p + t d) at 0, scipy's error estimate of it, whether scipy converged, and the
    smallest step it took (f's own rounding, eps |f| / step, is not in scipy's estimate)."""

    derivative: float
    error: float
    converged: bool
    step: float = float("nan")


def directional_derivative(
    f: Callable[[Params], float | tuple[float, np.ndarray]],
    params: Params,
    direction: Params,
    initial_step: float = 1e-3,
) -> Directional:
    """The derivative of t -> f(params + t direction) at t = 0, by adaptive finite differences.

    Where f names its pieces (see `central_differences`), the steps shrink until p +- step is on p's
    piece; where no step down to initial_step / 4^SHRINKS is, the result is not converged.
    """
    p, d = _f64(params), _f64(direction)

    def at(t: float) -> tuple[float, np.ndarray | None]:
        return _value_and_piece(f({k: p[k] + t * d[k] for k in p}))

    def along(t: np.ndarray) -> np.ndarray:
        flat = np.ravel(t)
        out = [at(float(ti))[0] for ti in flat]
        return np.reshape(np.array(out, dtype=np.float64), np.shape(t))

    piece, step = at(0.0)[1], initial_step
    if piece is not None:
        for _ in range(SHRINKS):
            if all(np.array_equal(at(s)[1], piece) for s in (step, -step)):
                break
            step /= 4
        else:
            return Directional(float("nan"), float("inf"), False, step)
    res = differentiate.derivative(
        along, 0.0, initial_step=step, step_factor=2.0, order=4, maxiter=6
    )
    smallest = step / 2.0 ** int(res.nit)  # each iteration halves the step
    return Directional(float(res.df), float(res.error), bool(res.success), smallest)


def taylor_remainder(
    f: Callable[[Params], float],
    params: Params,
    grad: Params,
    direction: Params,
    steps: Iterable[float] = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3),
) -> tuple[np.ndarray, np.ndarray, float]:
    """(steps, remainders, slope): remainder(h) = |f(p + h d) - f(p) - h <g, d>| and its log-log slope.

    A right gradient gives slope ~2 (the remainder is O(h^2)); a wrong one gives slope ~1.
    """
    p, d = _f64(params), _f64(direction)
    f0 = f(p)
    gd = sum(float(np.sum(np.asarray(grad[k], np.float64) * d[k])) for k in p)
    hs = np.asarray(list(steps), dtype=np.float64)
    rem = np.array([abs(f({k: p[k] + h * d[k] for k in p}) - f0 - h * gd) for h in hs])
    usable = rem > 0
    if usable.sum() < 2:
        return hs, rem, float("nan")
    slope = np.polyfit(np.log(hs[usable]), np.log(rem[usable]), 1)[0]
    return hs, rem, float(slope)


def random_direction(params: Params, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A random direction with the parameters' structure, of unit Euclidean norm overall."""
    d = {k: rng.standard_normal(np.shape(v)) for k, v in params.items()}
    norm = np.sqrt(sum(float(np.sum(v * v)) for v in d.values()))
    return {k: v / norm for k, v in d.items()}
