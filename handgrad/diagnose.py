"""What a wrong gradient most likely is, claimed only when the evidence fits within tolerance.

Kinds, tried in this order (the first that fits wins):

- `order`: the right gradients, every one, returned in another order (`diagnose_order`).
- `precision`: float32 gradients for float64 inputs, right within float32 rounding (the checker
  tells; a wrong float32 gradient is diagnosed with float32 tolerances like any other).
- `shape`: the received array cannot stand for the expected one (transposed shape, reduced shape,
  np.outer's (m n_l, m n_(l-1)), another parameter's shape). A scalar or a row that *broadcasts*
  to the expected shape is judged by its values instead: that is document 002's `np.sum(dZ)`, a
  `wrong-axis` reduction. Another parameter's shape is told by its values (`shape_by_values`):
  that parameter's right gradient (the tuple's order?) or a known bug's (A0 in dW2).
- `non-finite`: NaN or inf entries.
- `wrong-axis`: one number broadcast over the parameter (a sum over every axis), or a bias with one
  entry per example (a sum over the units); then `zero`: all zeros where the true gradient is
  not; then `wrong-axis` again for an array whose entries are all one number.
- `sign`, `scale`: received = c * true, c fitted by least squares, the residual within tolerance;
  c = -1 is `sign`, any other c is `scale`, named when recognisable (m, 1/m, 2, 1/2, -m/2, ...,
  and sizes where m belongs: 1/n_L, a mean over the outputs too; m/n_0, m from the wrong axis).
- `transpose`: a square parameter whose received gradient is the true one transposed.
- `weight-decay`: received = true + c W (or c b): an L2 term's lambda W missing (c = -lambda),
  extra, or with another lambda than the loss's (the factor is c); decayed biases.
- `approximate`: within a relative 1e-6 of the right gradient in a float64 check (whose tolerance
  is 1e-10): an approximation (finite differences, an epsilon inside a softmax or a log) or
  float32 arithmetic inside a function that returns float64, not a
  slip in a formula; no layer is named.
- `known-bug`: none of the above, but a known bug reproduces the received values: one of
  `variant_gradients` (a left-out or misplaced activation derivative, another layer's W or A, a
  softmax derivative multiplied into cross-entropy's delta, ...) or another parameter's right
  gradient. The checker adds which layer, counting from the output, is the first wrong one.
- `unexplained`: nothing fits; the checker adds the first wrong layer.

Non-goals: combinations of two bugs in one tensor, guessing at shapes that do not broadcast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from handgrad import column_major
from handgrad.activations import sigmoid, softmax
from handgrad.models import Model, Params, transpose_params
from handgrad.tolerances import Tolerance

KINDS = (
    "order",
    "precision",
    "shape",
    "non-finite",
    "wrong-axis",
    "zero",
    "sign",
    "scale",
    "transpose",
    "weight-decay",
    "approximate",
    "known-bug",
    "unexplained",
    "state",
)


@dataclass
class Diagnosis:
    """What is wrong with one parameter's gradient: a kind (None when right), a factor, in words."""

    kind: str | None
    factor: float | None = None
    detail: str = ""
    label: str | None = field(default=None, compare=False, repr=False)  # a scale's "2", "1/m"


RIGHT = "right"
SIGN_DETAIL = "the negative of the right gradient: (y - a) for (a - y)?"


def _bound(expected: np.ndarray, tol: Tolerance) -> float:
    """The table's acceptance bound atol + rtol * max|expected| for one tensor."""
    return tol.atol + tol.rtol * (float(np.max(np.abs(expected))) if expected.size else 0.0)


def _close(actual: np.ndarray, expected: np.ndarray, tol: Tolerance) -> bool:
    return bool(np.max(np.abs(actual - expected), initial=0.0) <= _bound(expected, tol))


# --- shapes ------------------------------------------------------------------------------------


def broadcasts_to(got: tuple[int, ...], want: tuple[int, ...]) -> bool:
    """True when `got` can stand for `want`: the same entries up to size-1 axes, or one number.

    (10,) for (10, 1) does not: `b - lr * db` would broadcast to (10, 10).
    """
    try:
        fits = np.broadcast_shapes(got, want) == tuple(want)
    except ValueError:
        return False
    return fits and (int(np.prod(got)) in (1, int(np.prod(want))))


def diagnose_shape(
    key: str,
    got: tuple[int, ...],
    want: tuple[int, ...],
    m: int,
    batch_axis: int,
    shapes: Mapping[str, tuple[int, ...]],
) -> Diagnosis | None:
    """A `shape` (or `wrong-axis`) diagnosis when `got` cannot stand for `want`; else None."""
    got, want = tuple(got), tuple(want)
    if broadcasts_to(got, want):
        return None  # same shape, or a scalar/row judged by value (np.sum without axis)
    head = f"shape {got}, expected {want}"
    if got == want[::-1]:
        return Diagnosis("shape", None, f"{head}: the transpose's shape (a transposed product?)")
    others = [k for k, s in shapes.items() if k != key and tuple(s) == got]
    n, dZ = max(want), "d" + key.replace("b", "Z", 1)
    unsummed = (n, m) if batch_axis == 1 else (m, n)
    if key.startswith("b") and m != n and got == unsummed:
        return Diagnosis(
            "wrong-axis",
            None,
            f"{head}: one entry per unit and example, {dZ} not summed over the batch (sum it over "
            f"axis={batch_axis}, keepdims=True)",
        )
    if key.startswith("b") and m != n and m in got and math.prod(got) == m:
        return Diagnosis(
            "wrong-axis",
            None,
            f"{head}: one entry per example (m = {m}) instead of one per unit (n = {n}): reduced "
            f"over the units instead of summed over the batch (axis={batch_axis}, keepdims=True)",
        )
    if others:  # `shape_by_values` tells another parameter's gradient from a known bug's
        return Diagnosis("shape", None, f"{head}: the shape of {others[0]}")
    if m > 1 and len(got) == 2 and got == (m * want[0], m * want[1]):
        return Diagnosis(
            "shape",
            None,
            f"{head}: each side m = {m} times the expected: np.outer (which flattens the batch) "
            "instead of a matrix product?",
        )
    fewer = len(got) < len(want) or int(np.prod(got)) < int(np.prod(want))
    if fewer and set(got) - {1} <= set(want):
        hint = "keepdims=True missing?" if len(got) < len(want) else "an axis summed away?"
        return Diagnosis("shape", None, f"{head}: a reduced shape ({hint})")
    return Diagnosis("shape", None, head)


def summed_over_units(
    model: Model, params: Params, X: np.ndarray, Y: np.ndarray, key: str, g: np.ndarray, tol
) -> Diagnosis | None:
    """`wrong-axis` when bias gradient g holds dZ^l summed (or averaged) over the units, one number
    per example.

    `diagnose_shape` tells that from the shape unless the batch size m equals the layer's width n_l
    (then (1, m) looks like a transposed (n_l, 1)); here the values decide. None otherwise.
    """
    column = model.layout == "column"
    m = X.shape[1 if column else 0]
    if key[0] != "b" or np.size(g) != m:
        return None
    l, col = int(key[1:]), model.with_layout("column")
    if not column:
        params, X, Y = transpose_params(params), X.T, Y.T
    with np.errstate(all="ignore"):
        dZ = column_major.backward(col, params, column_major.forward(col, params, X), Y)[f"dZ{l}"]
    want = model.param_shapes()[key]
    head = "" if np.shape(g) == want else f"shape {np.shape(g)}, expected {want}: "
    per_unit, g = dZ.sum(axis=1), np.ravel(g).astype(np.float64)
    if g.size == per_unit.size and _close(g, per_unit, tol):
        return None  # (m = n_l) the right sums as well
    for how, per_example in (("summed", dZ.sum(axis=0)), ("averaged", dZ.mean(axis=0))):
        if _close(g, per_example, tol):
            return Diagnosis(
                "wrong-axis",
                None,
                f"{head}one entry per example (m = {m}) instead of one per unit (n = {len(dZ)}): "
                f"dZ{l} {how} over the units instead of summed over the batch (axis="
                f"{1 if column else 0}, keepdims=True)",
            )
    return None


def shape_by_values(
    key: str,
    g: np.ndarray,
    diagnosis: Diagnosis,
    truth: Mapping[str, np.ndarray],
    variants: list[tuple[str, Mapping[str, np.ndarray]]],
    tol: Tolerance,
) -> Diagnosis:
    """A `shape` diagnosis made sharper by g's values: another parameter's right gradient (the
    tuple's order), or the gradient of a known bug (`variant_gradients`); else `diagnosis`."""
    head = diagnosis.detail.split(":")[0]
    for other, t in truth.items():
        if other != key and t.shape == g.shape and _close(g, t, tol):
            order = ", ".join("d" + k for k in truth)
            return Diagnosis(
                "shape", None, f"{head}: the right d{other} (is the tuple in the order ({order})?)"
            )
    for hint, grads in variants:
        alt = grads.get(key)
        if alt is not None and alt.shape == g.shape and _close(g, alt, tol):
            return Diagnosis("shape", None, f"{head}: it matches the gradient with {hint}")
    return diagnosis


def diagnose_order(
    got: Mapping[str, np.ndarray | None],
    truth: Mapping[str, np.ndarray],
    tol: Tolerance,
    keyed: bool = False,
) -> dict[str, Diagnosis]:
    """{key: `order`} for the misplaced ones when the received gradients are the right ones in
    another order (`keyed`: under other keys of a dict), each matched by its values (a key keeps
    its own when they fit); else {}."""
    keys, match = list(truth), {}
    for key in keys:
        g = got.get(key)
        fits = [
            k
            for k in (key, *keys)
            if g is not None and truth[k].shape == g.shape and _close(g, truth[k], tol)
        ]
        if not fits:
            return {}
        match[key] = fits[0]
    if sorted(match.values()) != sorted(keys) or all(k == v for k, v in match.items()):
        return {}
    if keyed:
        moved = ", ".join(f"d{match[k]} under {k!r}" for k in keys if match[k] != k)
        detail = f"right values under the wrong keys: yours has {moved}"
    else:
        yours = ", ".join("d" + match[k] for k in keys)
        expected = ", ".join("d" + k for k in keys)
        detail = f"right values, wrong order: yours are ({yours}), expected ({expected})"
    return {
        k: Diagnosis("order", None, f"the right d{match[k]} in {k}'s place; {detail}")
        for k in keys
        if match[k] != k
    }


# --- values ------------------------------------------------------------------------------------


def name_factor(c: float, m: int, rtol: float = 1e-6) -> str | None:
    """'m', '1/m', '2', '1/2', '-m/2', ... when c is such a factor for batch size m, else None."""
    found = recognise_factor(c, m, rtol)
    return found[0] if found else None


def recognise_factor(c: float, m: int, rtol: float = 1e-6) -> tuple[str, float] | None:
    """(name, exact value) of a recognisable factor c of batch size m: ("-m/2", -8.0) for m = 16."""
    names, exact = [], None
    for sign in (1, -1):
        for power in (0, 1, -1) if m > 1 else (0,):  # with m = 1, "m/2" is only "1/2"
            for num, den in ((1, 1), (2, 1), (1, 2), (4, 1), (1, 4)):
                value = sign * num / den * float(m) ** power
                if abs(c - value) <= rtol * abs(value) and abs(value) != 1.0:
                    names.append(_factor_label(sign, power, num, den))
                    exact = value if exact is None else exact
    names = list(dict.fromkeys(names))
    return (" = ".join(names[:2]), exact) if names else None


def size_factor(c: float, m: int, sizes: tuple[int, ...], rtol: float) -> tuple[str, float] | None:
    """("1/n_L", 0.1) or ("m/n_0", 16/784): a factor of a layer size where only m belongs (a mean
    over the outputs too; m read from the wrong axis of X or Y). Sizes equal to 1 or m say nothing."""
    if not sizes:
        return None
    n0, nL = sizes[0], sizes[-1]
    names, exact = [], None
    hidden = [(f"m/n_{l}", n, m / n) for l, n in enumerate(sizes[1:-1], 1)]  # a width for m
    for label, n, value in (
        ("1/n_L", nL, 1 / nL),
        ("m/n_0", n0, m / n0),
        ("m/n_L", nL, m / nL),
        *hidden,
    ):
        if n not in (1, m) and abs(c - value) <= rtol * value:
            names.append(label)
            exact = value if exact is None else exact
    return (" = ".join(names), exact) if names else None


def _factor_label(sign: int, power: int, num: int, den: int) -> str:
    s = "-" if sign < 0 else ""
    if power == 0:
        return f"{s}{num}" if den == 1 else f"{s}{num}/{den}"
    if power == 1:
        return f"{s}{'' if num == 1 else num}m{'' if den == 1 else f'/{den}'}"
    return f"{s}{num}/{'m' if den == 1 else f'({den}m)'}"


def _scale_hint(label: str | None, output: str, batch_axis: int = 1) -> str:
    """A likely cause of a recognised factor ("" when there is none to suggest)."""
    if label is None:
        return ""
    wrong_axis = f"m taken from the wrong axis of X or Y (m is X.shape[{batch_axis}])"
    hints = {
        "m": ": a 1/m missing? (the loss is a mean over the batch)",
        "-m": ": a 1/m missing and the sign flipped?",
        "1/m": ": divided by m twice? (the 1/m belongs in dZ or in dW and db, once)",
        "1/n_L": f": m = Y.size with a one-hot Y (that is n_L m; m is X.shape[{batch_axis}])? A "
        "mean over the outputs too (sum over the classes, mean over the batch)? Or a learning "
        "rate of 1/n_L multiplied in (alpha * dW returned)?",
        "m/n_0": f": {wrong_axis}?",
        "m/n_L": f": {wrong_axis}?",
    }
    if output == "mse":
        hints |= {
            "2": ": the 2 of d/da (a - y)^2 = 2(a - y) counted twice?",
            "1/2": ": the 2 of d/da (a - y)^2 = 2(a - y) left out?",
            "m/2": ": the 2/m of MSE's derivative (2/m)(a - y) left out?",
            "-m/2": ": (y - a) sigma'(z) as document 000 writes it? Use (2/m)(a - y) sigma'(z)",
        }
    elif output == "softmax":
        hints |= {
            "2": ": an extra 2 (MSE's 2(a - y) where cross-entropy's delta is A - Y?)",
            "1/2": ": a 1/(2m) where 1/m belongs, or a (1/2) that cross-entropy does not have?",
        }
    for part in label.split(" = "):  # m/n_1, m/n_2: a hidden layer's width
        if part.startswith("m/n_") and part[4:].isdigit() and part != "m/n_0":
            hints[part] = ": a layer's width (a loop bound over its units) where m belongs?"
    said = [hints[part][2:] for part in label.split(" = ") if part in hints]
    return ": " + " Or ".join(said) if said else ""  # 2 = m/n_L at m = 4, n_L = 2: either


LOSS_FACTORS = ("2", "1/2", "m/2")  # factors `_scale_hint` puts in the loss's delta (-m/2: 000's
# (y - a) sigma'(z), named by its form wherever it is written)


def locate_loss_factor(model: Model, diagnoses: Mapping[str, Diagnosis]) -> None:
    """Where a factor that `_scale_hint` puts in the loss's delta (2, 1/2, m/2) scales only some
    gradients, it is not in the delta, which reaches every gradient: adds to those hints where it
    is instead, in dZ^l when exactly layers l and below carry it, else in each one's own formula.
    """
    keys = list(model.param_shapes())
    for label in LOSS_FACTORS:
        S = [k for k in keys if diagnoses[k].kind == "scale" and diagnoses[k].label == label]
        if not S or len(S) == len(keys) or any(diagnoses[k].kind for k in keys if k not in S):
            continue  # (another slip may carry the factor too: b3 summed over every axis, x 1/2)
        l = max(int(k[1:]) for k in S)
        if sorted(S) == sorted(k for k in keys if int(k[1:]) <= l):
            who = "layer 1 carries" if l == 1 else f"layers {l} and below carry"
            hint = (
                f" Only {who} it, so it entered below the loss's delta (which reaches every "
                f"gradient); {layer_hint(model, l)}"
            )
        else:
            names = ", ".join("d" + k for k in S)
            hint = (
                f" Only {names} {'carries' if len(S) == 1 else 'carry'} it, so it is in "
                f"{'its' if len(S) == 1 else 'their'} own formula, not in the loss's delta (which "
                f"reaches every gradient): {', '.join(_own_formula(model, k) for k in S)}"
            )
        for k in S:
            diagnoses[k].detail += hint


def _own_formula(model: Model, key: str) -> str:
    """dW^l's or db^l's formula from dZ^l in the model's layout."""
    l, col = int(key[1:]), model.layout == "column"
    if key[0] == "W":
        return f"dW{l} = dZ{l} A{l - 1}ᵀ" if col else f"dW{l} = A{l - 1}ᵀ dZ{l}"
    return f"db{l} = dZ{l} summed over the batch"


def diagnose_non_finite(g: np.ndarray) -> Diagnosis | None:
    """A `non-finite` diagnosis naming how many entries are NaN or inf and the first; else None."""
    bad = ~np.isfinite(g)
    if not bad.any():
        return None
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    nan, inf = int(np.isnan(g).sum()), int(np.isinf(g).sum())
    what = " and ".join(f"{n} {name}" for n, name in ((nan, "NaN"), (inf, "inf")) if n)
    return Diagnosis("non-finite", None, f"{what} of {g.size} entries, first at {first}")


def diagnose_values(
    key: str,
    g: np.ndarray,
    a: np.ndarray,
    tol: Tolerance,
    m: int,
    *,
    broadcast_from: tuple[int, ...] | None = None,
    batch_axis: int = 1,
    truth: Mapping[str, np.ndarray] | None = None,
    variants: list[tuple[str, Mapping[str, np.ndarray]]] | None = None,
    output: str = "",
    slack: float = 0.0,
    param: np.ndarray | None = None,
    sizes: tuple[int, ...] = (),
) -> Diagnosis:
    """The diagnosis of received `g` against true `a` (same shape; float64).

    `slack`: the rounding any entry of a right gradient may carry beyond the tolerance (where large
    terms cancel, `handgrad.check.rounding_slack`); it limits how well a scale factor is known.
    `param`: the parameter's value, to recognise an L2 term's lambda W too many or too few.
    `sizes`: the layer sizes, to recognise 1/n_L and m/n_0 (a size where m belongs).
    """
    non_finite = diagnose_non_finite(g)
    if non_finite is not None:
        return non_finite
    bound = _bound(a, tol)
    if np.max(np.abs(g - a), initial=0.0) <= bound:
        return Diagnosis(None, None, RIGHT)
    if broadcast_from is not None:
        return _wrong_axis(key, g, a, tol, m, broadcast_from, batch_axis)
    near = _approximate(g, a, tol)
    if near is not None:
        return near
    biggest = float(np.max(np.abs(g)))
    if biggest <= bound + slack and biggest <= 1e-3 * np.max(np.abs(a)):  # zeros, to rounding
        detail = "all zeros, but the right gradient is not (never computed?)"
        if output == "softmax" and truth and key == f"b{len(truth) // 2}":  # the output bias
            detail = (
                "all zeros, but the right gradient is not: never computed, or summed over the "
                "classes (each example's A - Y sums to 0 there)? Sum over the batch only (axis="
                f"{batch_axis}, keepdims=True)"
            )
        return Diagnosis("zero", 0.0, detail)
    if g.size > 1 and float(np.ptp(g)) <= bound and float(np.ptp(a)) > 2 * bound:
        return _wrong_axis(key, g, a, tol, m, broadcast_from, batch_axis)
    fitted = _fit_scale(g, a, tol, slack)
    if fitted is not None:
        precision = 10 * tol.rtol + tol.atol / float(np.max(np.abs(a)))  # how well c is known
        found = ("-1", -1.0) if abs(fitted + 1) <= precision else None
        named = recognise_factor(fitted, m, rtol=max(precision, 1e-9))
        sized = size_factor(fitted, m, sizes, rtol=max(precision, 1e-9))
        if named and sized:  # both fit: name both (m/n_L = 2 at m = 4, n_L = 2)
            named = (f"{named[0]} = {sized[0]}", named[1])
        found = found or named or sized
        if found is None and slack > 0:  # known less well where a right gradient carries rounding
            loose = precision + slack / float(np.max(np.abs(a)))
            found = _within_rounding(g, a, fitted, m, loose, bound + slack)
        if found is not None and found[1] == -1.0:
            return Diagnosis("sign", -1.0, SIGN_DETAIL)
        if found is None and np.count_nonzero(np.abs(a) > bound) < 2:  # one number fits any
            # scale: no evidence of one (a shrunk Hypothesis example leaves one nonzero entry)
            return _explain(key, g, a, tol, truth, variants, batch_axis)
        label, fitted = found if found else (None, fitted)
        named = f"factor {label}" + _sizes_named(label, m, sizes) if label else ""
        detail = f"{fitted:.6g} times the right gradient" + (f" ({named})" if named else "")
        hint = _scale_hint(label, output, batch_axis)
        if label is None and abs(fitted - 1) < 1e-3:
            hint = ": within 0.1% of the right one: float16 arithmetic, or an approximation?"
        elif label is None and _learning_rate_like(fitted, precision):
            step = f"{'-' if fitted < 0 else ''}alpha * dW"
            hint = f": a learning rate multiplied in? Return the gradient dW, not the step {step}"
        return Diagnosis("scale", fitted, detail + hint, label)
    if g.ndim == 2 and g.shape[0] == g.shape[1] and g.size > 1:
        if not _close(a.T, a, tol) and _close(g, a.T, tol):
            return Diagnosis("transpose", None, "the transpose of the right gradient")
    decay = _weight_decay(key, g, a, tol, param)
    if decay is not None:
        return decay
    found = _updated(key, g, a, tol, param) or _clipped(g, a, tol)
    return found or _explain(key, g, a, tol, truth, variants, batch_axis)


def _updated(key, g, a, tol, param) -> Diagnosis | None:
    """g = W - lr dW: the updated parameter returned for its gradient (update_params' result)."""
    if param is None or param.shape != g.shape or g.size < 2 or not np.any(param):
        return None
    aa = float(np.sum(a * a))
    lr = -float(np.sum((g - param) * a)) / aa if aa > 0 else 0.0
    if lr <= 0 or np.max(np.abs(g - (param - lr * a))) > _bound(a, tol):
        return None
    return Diagnosis(
        "known-bug",
        None,
        f"it equals {key} - {lr:.4g} d{key}: the updated parameter (update_params' result), not "
        f"the gradient; return d{key}",
    )


def _clipped(g, a, tol) -> Diagnosis | None:
    """g = clip(a, -t, t): the right gradient clipped where it is larger than t."""
    t = float(np.max(np.abs(g)))
    if g.size < 2 or np.count_nonzero(np.abs(a) > t + _bound(a, tol)) < 2:
        return None
    if np.max(np.abs(g - np.clip(a, -t, t))) > _bound(a, tol):
        return None
    return Diagnosis(
        "known-bug",
        None,
        f"it equals the right gradient clipped to +-{t:.4g}: gradient clipping inside the "
        "gradient function? Return the gradient and clip it where the update is made",
    )


def _learning_rate_like(c: float, precision: float) -> bool:
    """Whether |c| < 1 is a round number such as 0.1, 0.05, 0.001 or 0.25: a learning rate."""
    if not 0 < abs(c) < 1:
        return False
    scale = 10.0 ** math.floor(math.log10(abs(c)))
    return any(abs(abs(c) - k * scale) <= 2 * precision * abs(c) for k in (1, 2, 2.5, 3, 5))


def _sizes_named(label: str, m: int, sizes: tuple[int, ...]) -> str:
    """ ", m = 16, n_0 = 784": the values of the sizes a factor's name uses."""
    said = [f"m = {m}"] if "m" in label else []
    said += [f"n_0 = {sizes[0]}"] if "n_0" in label else []
    said += [f"n_{l} = {n}" for l, n in enumerate(sizes[1:-1], 1) if f"m/n_{l}" in label]
    said += [f"n_L = {sizes[-1]}"] if "n_L" in label else []
    return "".join(", " + x for x in said)


APPROXIMATE = 1e-6  # a relative error below this, in a float64 check, is an approximation


def _approximate(g: np.ndarray, a: np.ndarray, tol: Tolerance) -> Diagnosis | None:
    """`approximate` when g misses a by less than a relative APPROXIMATE in a float64 check."""
    scale = float(np.max(np.abs(a), initial=0.0))
    rel = float(np.max(np.abs(g - a), initial=0.0)) / scale if scale > 0 else math.inf
    if tol.rtol >= APPROXIMATE / 100 or rel > APPROXIMATE:
        return None
    return Diagnosis(
        "approximate",
        None,
        f"largest error {rel:.1e} of the largest right entry (the check allows about "
        f"{tol.rtol:g}): an approximation, such as finite differences or an epsilon added inside "
        "a softmax or a log, or arithmetic in float32 somewhere (an .astype(np.float32) of X or "
        "of a parameter), rather than a slip in a formula?",
    )


def _weight_decay(key, g, a, tol, param) -> Diagnosis | None:
    """g = a + c W: an L2 penalty's lambda W missing (c = -lambda), extra or with lambda off by c;
    g = a + c b for a bias (decayed biases, where the loss penalises only the weights)."""
    if param is None or param.shape != g.shape or g.size < 2:  # one number fits any c
        return None
    pp, d = float(np.sum(param * param)), g - a
    if np.count_nonzero(np.abs(d) > _bound(a, tol)) < 2:  # so does one wrong entry
        return None
    c = float(np.sum(d * param)) / pp if pp > 0 else 0.0
    if c == 0.0 or np.max(np.abs(d - c * param)) > _bound(a, tol):
        return None
    if key.startswith("b"):
        return Diagnosis(
            "weight-decay",
            c,
            f"the right gradient {'+' if c > 0 else '-'} {abs(c):.4g} {key}: lambda {key} "
            f"{'too many (the loss penalises no bias)' if c > 0 else 'missing'} "
            f"(c = {abs(c):.4g}: lambda for a (lambda/2) ||b||^2 term; decay the biases in the loss "
            "and the gradient alike, or in neither)",
        )
    return Diagnosis(
        "weight-decay",
        c,
        f"the right gradient {'+' if c > 0 else '-'} {abs(c):.4g} {key}: an L2 term lambda {key} "
        f"{'too many' if c > 0 else 'missing'} (c = {abs(c):.4g}: lambda for a (lambda/2) "
        f"||{key}||^2 penalty, 2 lambda for lambda ||{key}||^2) or with lambda off by that much (is "
        "the penalty in your loss, given to the check as loss= / --loss, and in your gradient "
        "alike?)",
    )


def _within_rounding(g, a, fitted: float, m: int, rtol: float, bound: float):
    """(label, c) of -1 or the named factor nearest the fitted c (within rtol), when g / c is
    within `bound` (the tolerance plus the rounding slack) of a: the check would pass it."""
    candidates = [("-1", -1.0)]
    named = recognise_factor(fitted, m, rtol=rtol)
    if named is not None:
        candidates.append(named)
    label, c = min(candidates, key=lambda lc: abs(fitted - lc[1]) / abs(lc[1]))
    close = abs(fitted - c) <= rtol * abs(c) and np.max(np.abs(g / c - a)) <= bound
    return (label, c) if close else None


def _fit_scale(g: np.ndarray, a: np.ndarray, tol: Tolerance, slack: float) -> float | None:
    """c minimising ||g - c a|| when the residual is within tolerance (and c times the rounding
    slack) of c a, else None."""
    aa = float(np.sum(a * a))
    if aa == 0.0:
        return None
    c = float(np.sum(g * a)) / aa
    if c == 0.0 or not np.isfinite(c):
        return None
    return c if np.max(np.abs(g - c * a)) <= _bound(c * a, tol) + abs(c) * slack else None


def _wrong_axis(key, g, a, tol, m, broadcast_from, batch_axis) -> Diagnosis:
    value = float(g.flat[0])
    where = f" (shape {broadcast_from})" if broadcast_from is not None else ""
    fix = f"sum over the batch only (axis={batch_axis}, keepdims=True)"
    total = float(np.sum(a))
    scale = max(float(np.sum(np.abs(a))), tol.atol)
    if abs(value - total) <= tol.rtol * scale + tol.atol:
        what = f"the sum of all {a.size} right entries: np.sum without axis sums over every axis"
        return Diagnosis("wrong-axis", None, f"one number {value:.4g}{where}, {what}; {fix}")
    ratio = value / total if total != 0 else float("nan")
    label = name_factor(ratio, m, rtol=1e-6) if np.isfinite(ratio) else None
    said = f"{label} times the sum over every axis" if label else "one number everywhere"
    return Diagnosis(
        "wrong-axis", None, f"{said} ({value:.4g}{where}) where the right entries differ; {fix}"
    )


def _explain(key, g, a, tol, truth, variants, batch_axis: int = 1) -> Diagnosis:
    """`known-bug` when a known bug reproduces g (`variant_gradients`, or another parameter's
    right gradient, or some inputs' or units' entries left 0), else `unexplained`."""
    for hint, grads in variants or ():
        alt = grads.get(key)
        if alt is not None and alt.shape == g.shape and not _close(alt, a, tol):
            if _close(g, alt, tol):
                return Diagnosis("known-bug", None, f"it matches the gradient with {hint}")
    for other, t in (truth or {}).items():
        if other != key and t.shape == g.shape and not _close(t, a, tol) and _close(g, t, tol):
            return Diagnosis("known-bug", None, f"it equals the right d{other} (off by a layer?)")
    skipped = _skipped(key, g, a, tol, batch_axis)
    if skipped:
        return Diagnosis("known-bug", None, skipped)
    return Diagnosis("unexplained", None, _one_signed(g, a, tol) or "no simple pattern fits")


def _skipped(key: str, g: np.ndarray, a: np.ndarray, tol: Tolerance, batch_axis: int) -> str:
    """ "0 for inputs 0, 783 ...": g right except whole lines (a weight's inputs or units, a
    bias's units) left 0 where the right ones are not: a loop's range that misses them."""
    if g.ndim != 2 or g.shape != a.shape:
        return ""
    bound = _bound(a, tol)
    wrong = np.abs(g - a) > bound
    if not wrong.any() or np.any(np.abs(g[wrong]) > bound):
        return ""
    l, col = key[1:], batch_axis == 1  # W^l: inputs along axis 1 (column) or 0 (row)
    units = 0 if col else 1
    below = ("input", "") if l == "1" else ("unit", f" of layer {int(l) - 1}")
    axes = ((1 - units, below),) if key[0] == "W" else ()
    for axis, (noun, of) in (*axes, (units, ("unit", f" of layer {l}"))):
        lines = np.flatnonzero(wrong.any(axis=1 - axis))
        zero = np.all(np.abs(np.take(g, lines, axis=axis)) <= bound)
        ends = lines[0] == 0 or lines[-1] == g.shape[axis] - 1  # range(1, n), range(n - k)
        if lines.size < g.shape[axis] and zero and ends and np.all(np.diff(lines) == 1):
            shown = ", ".join(map(str, lines[:5])) + (", ..." if lines.size > 5 else "")
            return (
                f"0 for {noun}{'s' if lines.size > 1 else ''} {shown}{of} where the right entries "
                "are not, right elsewhere: a loop whose range misses them (range(1, n), "
                "range(n - 1))?"
            )
    return ""


ABS_RATIO = 100  # |sum of |terms|| / |sum of terms|: typically about sqrt(m), median above this
# is no absolute value's doing


def _one_signed(g: np.ndarray, a: np.ndarray, tol: Tolerance) -> str:
    """ "... every entry is >= 0 where ...": g of one sign where the right gradient, at several
    entries, clearly has the other, and |g| >= |a| entry by entry, as a sum of absolute values
    is never below the absolute value of the sum (an abs() that loses each term's sign)."""
    bound = _bound(a, tol)
    if g.size < 4 or np.any(np.abs(g) < np.abs(a) - bound):
        return ""
    big = np.abs(a) > bound
    if big.any() and np.median(np.abs(g[big]) / np.abs(a[big])) > ABS_RATIO:
        return ""  # far larger than cancelling terms make plausible: another slip (np.matrix's *)
    for sign, word in ((1, ">= 0"), (-1, "<= 0")):
        other = int(np.sum(sign * a < -bound))
        if other >= 2 and np.all(sign * g >= -bound) and np.any(sign * g > bound):
            return (
                f"no sign, factor or known bug fits; every entry is {word} where {other} of the "
                "right ones are not, and none is smaller in size: an absolute value that loses "
                "each term's sign?"
            )
    return ""


# --- known bugs, reproduced --------------------------------------------------------------------


def _backprop(
    model: Model,
    params: Params,
    cache: Mapping[str, np.ndarray],
    Y: np.ndarray,
    local: Mapping[int, np.ndarray] | None = None,
    source: Mapping[int, np.ndarray] | None = None,
    delta: np.ndarray | None = None,
    weights: Mapping[int, np.ndarray] | None = None,
    passes: Mapping[int, np.ndarray | None] | None = None,
) -> Params:
    """Column-layout backprop with g'(Z^k) replaced by local[k], A^(l-1) in dW^l by source[l],
    W^l in dZ^(l-1) = W^lᵀ dZ^l * g'(Z^(l-1)) by weights[l], dZ^L by delta, and the dZ^l that
    layer l passes back (in W^lᵀ dZ^l) by passes[l]: dA^l, g'(Z^l) left out, where it is None."""
    local, source, weights, passes = local or {}, source or {}, weights or {}, passes or {}
    L, m = model.depth, Y.shape[1]
    dZ = model.loss.delta(cache[f"Z{L}"], Y, 0, m) if delta is None else delta
    grads, dA = {}, None
    for l in range(L, 0, -1):
        grads[f"W{l}"] = dZ @ source.get(l, cache[f"A{l - 1}"]).T
        grads[f"b{l}"] = dZ.sum(axis=1, keepdims=True)
        if l > 1:
            d = local.get(l - 1, model.activation.f_prime(cache[f"Z{l - 1}"]))
            back = (dA if passes[l] is None else passes[l]) if l in passes else dZ
            dA = weights.get(l, params[f"W{l}"]).T @ back
            dZ = dA * d
    return grads


def _hidden_bugs(model: Model, params: Params, cache: Mapping[str, np.ndarray]) -> list:
    """[(what, change)]: the known slips of the hidden layers' backprop."""
    g, L = model.activation, model.depth
    Z = {k: cache[f"Z{k}"] for k in range(1, L + 1)}
    bugs: list[tuple[str, dict]] = []
    for k in range(1, L):
        bugs.append((f"the activation derivative g'(Z{k}) left out", {"local": {k: 1.0}}))
        bugs.append((f"g(Z{k}) used where g'(Z{k}) belongs", {"local": {k: g.f(Z[k])}}))
        if model.hidden == "relu":
            inverted = {"local": {k: (Z[k] <= 0).astype(float)}}
            bugs.append((f"ReLU's mask inverted: (Z{k} <= 0) where (Z{k} > 0) belongs", inverted))
        if model.hidden == "elu":
            relu_prime = {"local": {k: (Z[k] > 0).astype(float)}}
            bugs.append((f"ReLU's derivative (Z{k} > 0) used for ELU's", relu_prime))
            e = np.exp(np.minimum(Z[k], 0))
            copied = {"local": {k: np.where(Z[k] > 0, Z[k], model.alpha * e)}}
            bugs.append((f"ELU' copied from ELU: Z{k} where 1 belongs (Z{k} > 0)", copied))
            bare = {"local": {k: np.where(Z[k] > 0, 1.0, e)}}
            bugs.append(
                (f"ELU' without alpha: e^Z{k} where alpha e^Z{k} belongs (Z{k} <= 0)", bare)
            )
            A = cache[f"A{k}"]
            no_alpha = {"local": {k: np.where(Z[k] > 0, 1.0, A)}}
            bugs.append(
                (
                    f"ELU' from A without + alpha: A{k} where A{k} + alpha belongs (Z{k} <= 0)",
                    no_alpha,
                )
            )
        bugs.append(
            (f"g'(A{k}) used where g'(Z{k}) belongs", {"local": {k: g.f_prime(cache[f"A{k}"])}})
        )
        A = cache[f"A{k}"]
        if model.hidden == "sigmoid":
            wrong = (f"sigma'(Z{k}) as Z{k}(1 - Z{k}): the formula A(1 - A) applied to Z", Z[k])
            typo = f"sigma'(Z{k}) as sigma(Z{k})(1 - Z{k}): Z where sigma(Z) belongs in (1 - ...)"
            bugs.append((typo, {"local": {k: A * (1 - Z[k])}}))
        else:  # a sigmoid network's derivative kept after switching the hidden activation
            wrong = (f"sigmoid's derivative A{k}(1 - A{k}) kept for {model.hidden}", A)
        bugs.append((wrong[0], {"local": {k: wrong[1] * (1 - wrong[1])}}))
        if k > 1:  # a per-neuron loop: w_jk dC/da_j added into dC/da_k, without g'(z_j)
            passed = (
                f"g'(Z{k}) left out of what layer {k} passes back: W{k}ᵀ dA{k} where W{k}ᵀ dZ{k} "
                f"belongs (dW{k} has the right dZ{k}; per neuron, multiply dC/da_j by g'(z_j) "
                "before adding w_jk times it into dC/da_k)"
            )
            bugs.append((passed, {"passes": {k: None}}))
        for j in range(1, L + 1):
            if j != k and Z[j].shape == Z[k].shape:
                d = g.f_prime(Z[j])
                bugs.append((f"g'(Z{j}) used where g'(Z{k}) belongs", {"local": {k: d}}))
    for l in range(2, L + 1):  # dZ^(l-1) = W^lᵀ dZ^l * g'(Z^(l-1))
        W = params[f"W{l}"]
        for j in range(1, L + 1):
            if j != l and params[f"W{j}"].shape == W.shape:
                where = f"W{j} used where W{l} belongs in dZ{l - 1}"
                bugs.append((where, {"weights": {l: params[f"W{j}"]}}))
        if W.shape[0] == W.shape[1]:
            bugs.append((f"W{l} not transposed in dZ{l - 1}", {"weights": {l: W.T}}))
    for l in range(1, L + 1):
        for j in range(0, L + 1):
            if j != l - 1:
                A = cache[f"A{j}"]
                bugs.append((f"A{j} used in dW{l} where A{l - 1} belongs", {"source": {l: A}}))
        if l > 1:  # the pre-activation for the activation
            said = f"Z{l - 1} used in dW{l} where A{l - 1} = g(Z{l - 1}) belongs"
            bugs.append((said, {"source": {l: Z[l - 1]}}))
    return bugs


def _output_bugs(model: Model, cache: Mapping[str, np.ndarray], Y: np.ndarray) -> list:
    """[(what, change)]: the known slips of the output delta dZ^L (column layout)."""
    L, m = model.depth, Y.shape[1]
    A, Z = cache[f"A{L}"], cache[f"Z{L}"]
    if model.output == "mse":
        passed = (
            f"sigma'(Z{L}) left out of what the output layer passes back: W{L}ᵀ dA{L} where "
            f"W{L}ᵀ dZ{L} belongs (dW{L} has the right dZ{L}; per neuron, multiply dC/da_j by "
            "sigma'(z_j) before adding w_jk times it into dC/da_k)"
        )
        every = {l: None for l in range(2, L)}  # the same slip in every layer's loop
        every_said = (
            "g'(Z) left out of what every layer passes back: W^lᵀ dA^l where W^lᵀ dZ^l belongs "
            "(each dW^l has the right dZ^l; per neuron, multiply dC/da_j by g'(z_j) before "
            "adding w_jk times it into dC/da_k)"
        )
        return [
            (f"sigma'(Z{L}) left out of dZ{L}", {"delta": (2 / m) * (A - Y)}),
            (passed, {"passes": {L: (2 / m) * (A - Y)}}),
            *([(every_said, {"passes": {**every, L: (2 / m) * (A - Y)}})] if every else []),
            (
                f"sigma'(Z{L}) as sigma(Z{L})(1 - Z{L}): Z where sigma(Z) belongs in (1 - ...)",
                {"delta": (2 / m) * (A - Y) * A * (1 - Z)},
            ),
            (
                f"sigma'(A{L}) used where sigma'(Z{L}) belongs in dZ{L}",
                {"delta": (2 / m) * (A - Y) * sigmoid.f_prime(A)},
            ),
            (
                f"dZ{L} = (A{L} - Y)/m, cross-entropy's delta, with MSE: sigma'(Z{L}) and the 2 of "
                "(a - y)^2 left out",
                {"delta": (A - Y) / m},
            ),
            (
                f"sigma'(Z{L}) as Z{L}(1 - Z{L}): the formula A(1 - A) applied to Z",
                {"delta": (2 / m) * (A - Y) * Z * (1 - Z)},
            ),
        ]
    fused = f"with cross-entropy dZ{L} = A{L} - Y already holds softmax's derivative"
    batch, classes = ("1", "0") if model.layout == "column" else ("0", "1")
    return [
        *_label_bugs(model, A, Y),
        (f"A{L}(1 - A{L}) multiplied into dZ{L}: {fused}", {"delta": (A - Y) * A * (1 - A) / m}),
        (
            f"dZ{L} = -Y/A{L} * A{L}(1 - A{L}), the diagonal of softmax's Jacobian only: {fused}",
            {"delta": -Y * (1 - A) / m},
        ),
        (
            f"softmax normalised over the batch (axis={batch}) instead of the classes "
            f"(axis={classes})",
            {"delta": (softmax(Z, 1) - Y) / m},
        ),
    ]


def _example_bugs(model: Model, cache: Mapping[str, np.ndarray], Y: np.ndarray) -> list:
    """[(what, change)]: slips of a loop over the examples (column layout): one example's terms
    kept (with the batch's 1/m or without it) or left out, or the last example's output error
    used for every example."""
    L, m = model.depth, Y.shape[1]
    delta, out = model.loss.delta(cache[f"Z{L}"], Y, 0, m), []
    loop = "in the loop over the examples"
    last = np.repeat(delta[:, -1:], m, axis=1)  # delta^L of the last example, for every example
    said = "every example's output error delta^L is the last example's: computed once, outside"
    out.append(
        (f"{said} the loop over the examples, where each example needs its own?", {"delta": last})
    )
    for i, what in (
        (m - 1, f"only the last example's terms: dW = ... where dW += ... belongs {loop}"),
        (0, "only the first example's terms: a return inside the loop over the examples?"),
    ):
        one = np.zeros_like(delta)
        one[:, i] = delta[:, i]
        out += [(what, {"delta": one}), (f"{what} (and no 1/m)", {"delta": m * one})]
        but = delta - one
        which, bound = ("last", "range(m - 1)") if i else ("first", "range(1, m)")
        but_said = f"every example's terms but the {which}: a loop over the examples {bound}?"
        out.append((but_said, {"delta": but}))
    return out if m > 1 else []


def _label_bugs(model: Model, A: np.ndarray, Y: np.ndarray) -> list:
    """[(what, change)]: integer labels where the one-hot Y belongs in dZ^L = A^L - Y (column
    layout arrays; `model` in the user's layout), as NumPy's broadcasting computes them."""
    L, (n, m), y = model.depth, A.shape, Y.argmax(axis=0)
    said = f"Y as integer labels y in dZ{L} = A{L} - y, broadcast: the one-hot Y belongs there"
    if model.layout == "column":
        rows = A.copy()
        rows[y] -= 1  # NumPy decrements each listed row once
        return [
            (said, {"delta": (A - y[None, :]) / m}),
            (
                f"dZ{L}[y] -= 1, whole rows (classes) indexed by the labels: dZ{L}[y, range(m)] "
                "-= 1 is the one-hot trick",
                {"delta": rows / m},
            ),
        ]
    return [(said, {"delta": (A - y[:, None]) / m})] if n == m else []


ELU_ALPHAS = (0.01, 0.1, 0.2, 0.3, 0.5, 1.0, 1.5, 2.0)  # alphas a student may have used instead


def variant_gradients(
    model: Model, params: Params, X: np.ndarray, Y: np.ndarray
) -> list[tuple[str, Params]]:
    """Gradients with one known bug each, in the model's layout: [(what the bug is, gradients)]."""
    col = model.with_layout("column")
    if model.layout == "row":
        params, X, Y = transpose_params(params), X.T, Y.T
    with np.errstate(all="ignore"):
        cache = column_major.forward(col, params, X)
        bugs = _hidden_bugs(col, params, cache) + _output_bugs(model, cache, Y)
        bugs += _example_bugs(col, cache, Y)
        right = _backprop(col, params, cache, Y)
        out = []
        for hint, change in bugs:
            grads = _backprop(col, params, cache, Y, **change)
            # a "bug" that changes nothing here is no bug (ReLU's g'(A) is g'(Z), identity's g'
            # is 1): never named, even where the oracle disagrees with the right gradient
            grads = {k: v for k, v in grads.items() if not np.array_equal(v, right[k])}
            if grads:
                out.append((hint, transpose_params(grads) if model.layout == "row" else grads))
        for alpha in ELU_ALPHAS if model.hidden == "elu" else ():  # 004 gives no alpha
            if alpha != model.alpha:
                other = Model("elu", col.output, "column", col.sizes, alpha)
                grads = _backprop(other, params, column_major.forward(other, params, X), Y)
                hint = f"alpha = {alpha:g} in ELU, not {model.alpha:g}: right for that alpha "
                hint += f"(--alpha {alpha:g})"
                out.append((hint, transpose_params(grads) if model.layout == "row" else grads))
    return out


def consistent_first(variants: list, received: Mapping, tol: Tolerance) -> list:
    """The known bugs that reproduce every gradient they change first, in their order: where two
    bugs give the same dW2 (sigma'(Z3) left out of dZ3, or only of what layer 3 passes back),
    the one that also fits dW3 names it."""

    def fits(grads: Params) -> bool:
        return all(
            (g := received.get(k)) is not None and g.shape == v.shape and _close(g, v, tol)
            for k, v in grads.items()
        )

    return sorted(variants, key=lambda variant: not fits(variant[1]))


def layer_hint(
    model: Model, l: int, bias_only: bool = False, weight_only: bool = False, again: bool = False
) -> str:
    """Where to look when layer l is, counting from the output, the first wrong one (`bias_only`:
    dW^l is right, so dZ^l almost surely is, and only db^l is wrong; `weight_only`: the other
    way round; `again`: the first wrong layer below one whose slip reaches no other layer); in
    matrix terms, then per neuron, in document 001's notation (w_jk joins unit k to unit j)."""
    L, col = model.depth, model.layout == "column"
    first = (
        f"layer {l} is wrong on its own too (the slip above reaches no other layer)"
        if again
        else f"the first wrong layer from the output is {l}"
    )
    dW = f"dZ{l} A{l - 1}ᵀ" if col else f"A{l - 1}ᵀ dZ{l}"
    summed = "summed over the examples"
    neuron_dW = f"per neuron: dC/dw_jk^({l}) = a_k^({l - 1}) dC/dz_j^({l}), {summed}"
    if bias_only:
        axis = 1 if col else 0
        return (
            f"{first}, but dW{l} is right, so dZ{l} almost surely is: look at db{l} itself (dZ{l} "
            f"summed over the batch, axis={axis}, keepdims=True; its 1/m; a term only db{l} has; "
            f"per neuron: dC/db_j^({l}) = dC/dz_j^({l}), {summed})"
        )
    if weight_only:
        return (
            f"{first}, but db{l} is right, so dZ{l} almost surely is: look at dW{l} itself "
            f"(dW{l} = {dW}: which A, its transpose, its 1/m; a term only dW{l} has; {neuron_dW})"
        )
    if l == L:
        return (
            f"{first}, the output layer: look at dZ{L} (the loss's delta; its 1/m there or in "
            f"dW and db, once) and dW{L} = {dW} ({neuron_dW})"
        )
    dZ = f"W{l + 1}ᵀ dZ{l + 1} * g'(Z{l})" if col else f"dZ{l + 1} W{l + 1}ᵀ * g'(Z{l})"
    dZ += (
        f" (per neuron: dC/dz_k^({l}) = g'(z_k^({l})) sum_j w_jk^({l + 1}) dC/dz_j^({l + 1}), "
        "j over the units of the layer above)"
    )
    if again:  # layer l + 1 has a slip of its own: its dZ is not known to be right
        return f"{first}: look at dZ{l} = {dZ}"
    return f"{first}: layer {l + 1} is right, so dZ{l + 1} is; look at dZ{l} = {dZ}"
