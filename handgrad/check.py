"""Check anyone's hand-written gradient function and say, in network terms, what is wrong with it.

`check_gradients(grad_fn, model, ...)` runs these steps and returns a `CheckReport`:

1. The problem: parameters drawn from `seed` (`init_params`, "normal"), a batch of MNIST training
   images when n_0 = 784 and the data is there (random inputs otherwise), Y one-hot; all in the
   model's layout and in `dtype`. Pixels blank in every image are lit in one, and ReLU units dead
   for every example are woken, where a slip would hide. Or the caller's own params, X, Y.
2. `grad_fn(params, X, Y)` on copies (a note says which params it changed in place); a dict keyed
   like the parameters or a tuple or list (dW1, db1, ...). An exception is verdict "error" with
   its type, message and line in the user's file. It is called a second time on fresh copies:
   gradients that change are failed as "state" (an accumulator never reset).
3. The oracle: `jax.grad` of the model's loss (or of the caller's JAX-traceable `loss`) in float64
   at the same, dtype-rounded, values (compiled in a thread while the batch is read). Every entry
   is compared within the tolerance table's "autodiff" bound for `dtype`, plus the rounding that
   cancelling terms carry in `dtype` (`rounding_slack`). Where a pre-activation sits exactly on
   ReLU's kink the derivative is undefined; entries that a different choice of ReLU'(0) can move
   (`kink_slack`) may differ by that much and are then inconclusive, never wrong. So may those
   around a pre-activation so near 0 (below about 1e-300) that the oracle, which flushes subnormal
   numbers to zero as XLA does on CPU, sees it on the kink.
4. Triangulation: central differences of the loss (handgrad's NumPy forward pass and loss value,
   no gradient code: `model_loss`) at a stratified sample of entries of every tensor (biases never
   skipped; every entry with `full=True` or for at most 256 parameters) and derivatives along
   random directions check the oracle itself. Where they disagree beyond their own uncertainty,
   the oracle is suspect and the verdict inconclusive: the user is not blamed for its limits.
5. float32: each parameter's Taylor-remainder slope is reported (2: right, 1: wrong).
6. A `loss` that is not JAX-traceable: finite differences only (sampled entries and per-parameter
   random directions), with a Taylor-remainder test where the differences are too uncertain.

Each failing parameter gets a `Diagnosis` (see `handgrad.diagnose`). Non-goals: second-order
checks, models other than `handgrad.models.Model`, gradients of anything but the loss.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import math
import os
import re
import sys
import sysconfig
import threading
import traceback
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import jax
import numpy as np

import reference
from handgrad import column_major, data, row_major
from handgrad.diagnose import (
    RIGHT,
    Diagnosis,
    consistent_first,
    diagnose_non_finite,
    diagnose_order,
    diagnose_shape,
    diagnose_values,
    layer_hint,
    locate_loss_factor,
    shape_by_values,
    summed_over_units,
    variant_gradients,
)
from handgrad.models import (
    Model,
    Params,
    check_fits,
    check_inputs,
    init_params,
    parse_model,
    parse_sizes,
)
from handgrad.recipes import RECIPES
from handgrad.tolerances import Tolerance, tolerance

__all__ = [
    "CheckReport",
    "Diagnosis",
    "ParameterReport",
    "check_gradients",
    "directional_check",
    "kink_slack",
    "make_problem",
    "rounding_slack",
]

DTYPES = ("float64", "float32")
SAMPLES_PER_TENSOR = 8  # central-difference entries per tensor, plus the worst ones
BIAS_SAMPLES = 16  # a bias with at most this many entries is checked entry by entry
EXHAUSTIVE_BELOW = 256  # networks with at most this many parameters get every entry checked
TAYLOR_STEPS = (1e-2, 3e-3, 1e-3, 3e-4, 1e-4)
COARSE_TAYLOR_STEPS = (3e-1, 1e-1, 3e-2, 1e-2, 3e-3)  # for a loss computed in float32
KINK_ULPS = 32  # |Z| <= (KINK_ULPS + n) eps (|W| |A| + |b|) counts as sitting on the kink: a sum of
# n terms may be off by n eps times the sum of their sizes, and NumPy's and XLA's dot products add
# in different orders (a reviewer's crafted W1 put Z1 at +5e-14 in NumPy, -7.5e-15 in JAX)
# The smallest normal float64. XLA on CPU, so the JAX oracle, flushes smaller (subnormal) inputs and
# results to 0: it sees Z = 1e-310 as 0, ReLU'(0) = 0, where IEEE arithmetic has Z > 0 and slope 1.
TINY = float(np.finfo(np.float64).tiny)


# --- the report --------------------------------------------------------------------------------


@dataclass
class ParameterReport:
    """The verdict on one parameter's gradient, its errors, worst entry and diagnosis."""

    verdict: str  # "pass" | "fail" | "inconclusive"
    max_abs_error: float | None
    max_rel_error: float | None
    worst_index: tuple[int, ...] | None
    diagnosis: Diagnosis
    # the worst entry in network terms, e.g. "W2[3,7]: hidden unit 7 -> output 3"
    worst_entry: str = ""
    taylor_slope: float | None = None  # float32 and finite-difference checks: 2 right, 1 wrong
    hint: str = ""  # where to look (`layer_hint`), also at the end of the diagnosis's detail


@dataclass
class CheckReport:
    """The whole check: a verdict, per-parameter reports, notes; `str()` is the table."""

    verdict: str  # "pass" | "fail" | "inconclusive" | "error"
    error: str | None = None
    parameters: dict[str, ParameterReport] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    first_wrong_layer: int | None = None
    title: str = ""
    # what grad_fn raised (verdict "error"), for a traceback: `assert_gradients_match` chains it
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when every gradient is right."""
        return self.verdict == "pass"

    def to_json(self) -> dict:
        """The report as a JSON-ready dict (non-finite numbers become null)."""
        return {
            "verdict": self.verdict,
            "error": self.error,
            "parameters": {
                key: {
                    "verdict": p.verdict,
                    "max_abs_error": _finite_or_none(p.max_abs_error),
                    "max_rel_error": _finite_or_none(p.max_rel_error),
                    "worst_index": None if p.worst_index is None else list(p.worst_index),
                    "diagnosis": {
                        "kind": p.diagnosis.kind,
                        "factor": _finite_or_none(p.diagnosis.factor),
                        "detail": p.diagnosis.detail,
                    },
                    "worst_entry": p.worst_entry,
                    "taylor_slope": _finite_or_none(p.taylor_slope),
                }
                for key, p in self.parameters.items()
            },
            "first_wrong_layer": self.first_wrong_layer,
            "notes": list(self.notes),
            "title": self.title,
        }

    def __str__(self) -> str:
        """The table, a diagnosis shared by several rows once under it ([1] W1, b1: ...), the
        verdict, where to look (each hint once) and the notes."""
        lines = [self.title] if self.title else []
        shared, hints = _shared(self.parameters)
        if self.parameters:
            lines += _table(self.parameters, shared)
        lines += [f"[{n}] {', '.join(keys)}: {said}" for n, (said, keys) in enumerate(shared, 1)]
        lines.append("verdict: " + self._summary())
        for hint, keys in hints.items():
            named = "" if len(hints) == 1 else f" ({', '.join(keys)})"
            lines.append(f"where to look{named}: {hint}")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def _summary(self) -> str:
        if self.verdict == "error":
            return f"error: {self.error}"
        wrong = [k for k, p in self.parameters.items() if p.verdict == "fail"]
        unsure = [k for k, p in self.parameters.items() if p.verdict == "inconclusive"]
        if wrong:
            count = f"{len(wrong)} of {len(self.parameters)}"
            kinds = {self.parameters[k].diagnosis.kind for k in wrong}
            if kinds == {"precision"} and any(
                self.parameters[k].diagnosis.detail == PRECISION16 for k in wrong
            ):
                return (
                    f"FAIL as float64: {count} gradients carry float16 rounding ({', '.join(wrong)})"
                    "; compute in float32 or float64"
                )
            if kinds == {"precision"}:
                return (
                    f"FAIL as float64: {count} gradients carry float32 rounding ({', '.join(wrong)})"
                    "; right as float32: pass dtype='float32' (--dtype float32)"
                )
            if kinds == {"state"}:
                return (
                    f"FAIL: {count} gradients change from one call to the next "
                    f"({', '.join(wrong)}): your function keeps state between calls"
                )
            if kinds == {"order"}:
                return f"FAIL: right values, misplaced ({', '.join(wrong)})"
            if kinds == {"approximate"}:
                return (
                    f"FAIL: {count} gradients are near misses ({', '.join(wrong)}): an approximation "
                    "or float32 arithmetic rather than a slip in a formula?"
                )
            layer = self.first_wrong_layer
            layer = "" if layer is None else f"; first wrong layer from the output: {layer}"
            return f"FAIL: {count} gradients wrong ({', '.join(wrong)}){layer}"
        if unsure:
            return f"inconclusive ({', '.join(unsure)}): not shown wrong, not confirmed right"
        return "pass: every gradient is right"


def _finite_or_none(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _said(p: ParameterReport) -> str:
    """A diagnosis's detail without its hint of where to look."""
    return p.diagnosis.detail.removesuffix(f"; {p.hint}") if p.hint else p.diagnosis.detail


def _shared(parameters: Mapping[str, ParameterReport]) -> tuple[list, dict]:
    """([(detail, keys)] for each detail that several rows share, {hint: keys} from the output
    layer down)."""
    said, hints = {}, {}
    for key, p in parameters.items():
        said.setdefault(_said(p), []).append(key)
        if p.hint:
            hints.setdefault(p.hint, []).append(key)
    hints = dict(sorted(hints.items(), key=lambda h: -max(int(k[1:]) for k in h[1])))
    return [(d, keys) for d, keys in said.items() if len(keys) > 1 and d != RIGHT], hints


def _table(parameters: Mapping[str, ParameterReport], shared: list) -> list[str]:
    header = ("param", "verdict", "max abs err", "max rel err", "worst entry", "diagnosis")
    rows = [header]
    footnote = {d: f"[{n}]" for n, (d, _) in enumerate(shared, 1)}
    for key, p in parameters.items():
        verdict = "FAIL" if p.verdict == "fail" else p.verdict
        diagnosis = footnote.get(_said(p), _said(p))
        if p.diagnosis.kind:
            sep = " " if diagnosis in footnote.values() else ": "
            diagnosis = f"{p.diagnosis.kind}{sep}{diagnosis}"
        rows.append(
            (key, verdict, _num(p.max_abs_error), _num(p.max_rel_error), p.worst_entry, diagnosis)
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    return [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1] for r in rows
    ]


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2e}"


def describe_entry(model: Model, key: str, index: tuple[int, ...]) -> str:
    """An entry in network terms: "W2[3,7]: hidden unit 7 -> output 3", "b2[3]: output 3"."""
    l, column = int(key[1:]), model.layout == "column"
    if key[0] == "W":
        to, frm = index if column else index[::-1]
        where = f"{_unit(model, l - 1, frm)} -> {_unit(model, l, to)}"
        return f"{key}[{index[0]},{index[1]}]: {where}"
    j = index[0] if column else index[-1]
    return f"{key}[{j}]: {_unit(model, l, j)}"


def _unit(model: Model, l: int, j: int) -> str:
    if l == 0:
        pixel = f" (pixel row {j // 28}, col {j % 28})" if model.sizes[0] == 784 else ""
        return f"input {j}{pixel}"
    if l == model.depth:
        return f"output {j}"
    return f"hidden unit {j}" if model.depth == 2 else f"hidden unit {j} of layer {l}"


# --- the problem -------------------------------------------------------------------------------


@dataclass
class Problem:
    """What grad_fn is called on (in dtype) and the float64 copies the oracles see."""

    model: Model
    dtype: np.dtype
    params: Params
    X: np.ndarray
    Y: np.ndarray
    p64: Params
    X64: np.ndarray
    Y64: np.ndarray
    description: str
    notes: list[str]
    blind: list[str] = field(default_factory=list)  # what a verdict on these inputs cannot see


def resolve_model(model: Model | str, sizes=None, alpha: float | None = None) -> Model:
    """A Model from a Model or a name (sizes: a recipe's when None, else "784,10,10" or a tuple;
    alpha: ELU's, a recipe's when None, else 1)."""
    if isinstance(model, Model):
        if sizes is not None and tuple(_sizes(sizes)) != model.sizes:
            raise ValueError(f"sizes {sizes} contradict the model's sizes {model.sizes}")
        if alpha is not None and alpha != model.alpha:
            raise ValueError(f"alpha {alpha} contradicts the model's alpha {model.alpha}")
        return model
    if not isinstance(model, str):
        raise ValueError(
            f"model must be a Model or a name like 'relu-softmax-column', got {model!r}"
        )
    recipe = RECIPES.get(model)
    if sizes is None:
        sizes = recipe.sizes if recipe else (784, 10, 10)
    if alpha is None:
        alpha = recipe.alpha if recipe else 1.0
    elif not model.startswith("elu-"):
        raise ValueError(f"alpha is ELU's; {model!r} has no ELU layer")
    return parse_model(model, _sizes(sizes), alpha)


def _sizes(sizes) -> tuple[int, ...]:
    return parse_sizes(sizes) if isinstance(sizes, str) else tuple(sizes)


def resolve_dtype(dtype) -> np.dtype:
    """np.float64 or np.float32; ValueError otherwise."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in DTYPES:
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}")
    return resolved


def _sums_to_one(model: Model, Y: np.ndarray, notes: list[str]) -> np.ndarray:
    """Softmax targets whose rows sum to 1 only to float32's precision (label smoothing stored in
    float32), renormalised in float64: cross-entropy's delta (A - Y)/m assumes the sum is 1, and
    2e-8 off is 200 times a float64 check's tolerance (a reviewer's false alarm)."""
    if model.output != "softmax" or Y.dtype != np.float64:
        return Y
    sums = Y.sum(axis=model.class_axis, keepdims=True)
    off = float(np.max(np.abs(sums - 1.0), initial=0.0))
    if off <= 1e-12:
        return Y
    notes.append(
        f"Y's rows summed to 1 only within {off:.1e} (float32 labels?): renormalised in float64, "
        "for your function and the oracle alike, as cross-entropy's delta (A - Y)/m assumes 1"
    )
    return Y / sums


def default_batch_size(model: Model) -> int:
    """16 examples, unless a layer is 16 wide: then the first of 12, 20, 15, 17 that no layer is.
    Where m equals a width (document 001's 784-16-16-10 at m = 16), `range(m)` over the units or
    m = W1.shape[0] give the right numbers."""
    return next((m for m in (16, 12, 20, 15, 17) if m not in model.sizes), 16)


def make_problem(
    model: Model,
    rng: np.random.Generator,
    batch_size: int | None = None,
    dtype=np.float64,
    params: Mapping | None = None,
    X: np.ndarray | None = None,
    Y: np.ndarray | None = None,
    data_dir=None,
) -> Problem:
    """Parameters and a batch for `model` (the given ones, or drawn from rng), validated."""
    dtype = resolve_dtype(dtype)
    batch_size = default_batch_size(model) if batch_size is None else batch_size
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int | np.integer)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    notes: list[str] = []
    blind: list[str] = []
    drawn = params is None
    if drawn:
        params = init_params(model, rng, "normal")
    if not isinstance(params, Mapping):
        raise ValueError(
            f"params must be a dict like {{'W1': ..., 'b1': ...}}, got {type(params).__name__}"
        )
    shapes = model.param_shapes()
    order = [k for k in shapes if k in params] + [k for k in params if k not in shapes]
    params = {k: np.array(params[k], dtype=dtype) for k in order}  # W1, b1, W2, ... in order
    if (X is None) != (Y is None):
        raise ValueError("pass both X and Y, or neither")
    X_given = X is not None
    if X is None:
        X, Y, source = _batch(model, int(batch_size), rng, data_dir, notes, blind)
    else:
        source = "your batch"
    X, Y = np.array(X, dtype=dtype), np.array(Y, dtype=dtype)
    check_inputs(model, params, X, Y)
    Y = _sums_to_one(model, Y, notes)
    woken, left = _dead_units(model, params, X, wake=drawn)
    if drawn and (woken or left):
        dead = woken + left
        blind.append(
            f"{_count(dead, 'hidden unit')} {'was' if len(dead) == 1 else 'were'} 0 (ReLU) for "
            "every example, where a unit's gradients are 0 whatever the formula (a loop that "
            "skips it would pass): "
            + (
                f"with one example, the {len(woken)} in the outer quarters of their layers (where "
                f"a loop's range ends) are raised until active, and {len(left)} stay 0, so that a "
                "missing ReLU mask still shows"
                if left
                else "each bias is raised until the unit is active for some examples"
            )
        )
    elif left:
        blind.append(
            f"{', '.join(left[:4])}{', ...' if len(left) > 4 else ''}: 0 (ReLU) for every example "
            f"of your batch, where {'its' if len(left) == 1 else 'their'} gradients are 0 "
            "whatever the formula: a slip confined to "
            f"{'it' if len(left) == 1 else 'them'} cannot show at these parameters"
        )
    m = X.shape[1 if model.layout == "column" else 0]
    if m == 1:
        blind.append(
            "one example: slips in the sums over examples (the 1/m, db not summed over the batch, "
            "a loop over examples that keeps only the last) cannot show; check with a batch of 2 "
            "or more too"
        )
    widths = [f"n_{l} = {n}" for l, n in enumerate(model.sizes) if n == m > 1]
    if widths:
        blind.append(
            f"the batch size m = {m} is also a layer's width ({', '.join(widths)}): a slip that "
            "uses one for the other (range(m) over the units, m = W1.shape[0] or len(Y)) gives "
            "the right numbers here; check with another batch size too"
        )
    blank = np.flatnonzero(~np.asarray(X.T if model.layout == "column" else X).any(axis=0))
    if X_given and blank.size:
        named = ", ".join(map(str, blank[:6])) + (", ..." if blank.size > 6 else "")
        blind.append(
            f"{_count(blank, 'input')} ({named}) {'is' if blank.size == 1 else 'are'} 0 in every "
            "example of your batch, where dW1 is 0 whatever the formula: a loop that skips "
            "them would pass (the checker's own batch lights such pixels)"
        )
    sizes = "-".join(map(str, model.sizes))
    elu = f" (alpha = {model.alpha:g})" if model.hidden == "elu" else ""
    description = f"{model.name}{elu} {sizes}, {dtype.name}, {source} (m = {m})"
    return Problem(
        model,
        dtype,
        params,
        X,
        Y,
        {k: v.astype(np.float64) for k, v in params.items()},
        X.astype(np.float64),
        Y.astype(np.float64),
        description,
        notes,
        blind,
    )


def _batch(model: Model, m: int, rng: np.random.Generator, data_dir, notes: list, blind: list):
    """X, Y in the model's layout: MNIST training images when n_0 = 784 and they are there
    (`notes` on where they came from; `blind` on the pixels lit, see `Problem.blind`)."""
    n0, nL = model.sizes[0], model.sizes[-1]
    images = _mnist(data_dir, notes) if n0 == 784 else None
    if images is not None:
        if m > len(images.labels):
            raise ValueError(f"batch size {m} is more than the {len(images.labels)} MNIST images")
        rows = rng.permutation(len(images.labels))[:m]
        X = np.asarray(images.images[rows], np.float64) / 255.0
        labels = images.labels[rows] if nL == 10 else rng.integers(0, nL, m)
        source = f"{m} MNIST training image{_s(m)}" + ("" if nL == 10 else ", random labels")
        X, lit = _light_blank_pixels(X, np.random.default_rng(rows))
        if lit:
            source += f", {lit} blank pixels lit"
            blind.append(
                f"{lit} pixels are 0 in {f'all {m} images' if m > 1 else 'the image'}, where dW1 would be 0 whatever the formula "
                "(a loop that skips them would pass): each is lit (0.25-0.75) in one image"
            )
    else:
        X = rng.uniform(0.0, 1.0, (m, n0)) if n0 == 784 else rng.standard_normal((m, n0))
        labels = rng.integers(0, nL, m)
        source = f"{m} random input{_s(m)}"
    Y = data.one_hot(labels, nL, model.layout)
    return data.to_layout(X, model.layout), Y, source


def _light_blank_pixels(X: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """X (m x 784) with every all-zero column given one nonzero entry, and how many: MNIST's
    border is blank in every image, where a slip in dW1 (an off-by-one over the pixels) hides."""
    blank = np.flatnonzero(~X.any(axis=0))
    X = X.copy()
    X[rng.integers(0, len(X), blank.size), blank] = rng.uniform(0.25, 0.75, blank.size)
    return X, int(blank.size)


def _dead_units(model: Model, params: Params, X: np.ndarray, wake: bool) -> tuple[list, list]:
    """The hidden ReLU units that are 0 for every example of X, named: those woken and those left.

    A dead unit's gradients (its row of dW^l and db^l, its column of dW^(l+1)) are 0 whatever the
    formula, so a slip confined to it (a loop that misses the last unit) would pass. With `wake`,
    its bias in params (in place) is raised until it is active for some examples, at most half,
    so that the mask g'(Z^l) keeps its zeros. With one example a woken unit is active for all:
    then only the units in the outer quarters of the layer (where a loop's range ends) are woken,
    and at least one dead unit is left, so that a missing mask still shows."""
    if model.hidden != "relu":
        return [], []
    column = model.layout == "column"
    row = model.with_layout("row")
    A = np.asarray(X.T if column else X, np.float64)
    woken, left = [], []
    for l in range(1, model.depth):
        W, b = params[f"W{l}"], params[f"b{l}"]
        Z = A @ np.asarray(W.T if column else W, np.float64)
        Z += np.asarray(b, np.float64).reshape(1, -1)
        dead = np.flatnonzero((Z <= 0).all(axis=0))
        wake_now = dead if wake else dead[:0]
        if wake and len(Z) == 1:
            n = Z.shape[1]
            outer = (4 * dead < n) | (4 * dead >= 3 * n)
            keep = dead[~outer] if (~outer).any() else dead[[np.argmin(abs(2 * dead - n + 1))]]
            wake_now = np.setdiff1d(dead, keep)
        for j in dead:
            (woken if j in wake_now else left).append(_unit(row, l, int(j)))
        for j in wake_now:
            t = _threshold(Z[:, j], float(np.std(Z)) or 1.0)
            Z[:, j] -= t
            b[(j, 0) if column else (0, j)] -= t
        A = np.maximum(Z, 0.0)
    return woken, left


def _threshold(z: np.ndarray, scale: float) -> float:
    """t such that z - t is positive for the largest entries of z (at most half of them), with the
    widest gap to the rest: far from ReLU's kink, where finite differences would doubt."""
    s = np.sort(z)[::-1]
    if s.size == 1 or s[0] == s[-1]:
        return float(s[0] - scale / 2)
    k = max(1, s.size // 2)
    i = int(np.argmax(s[:k] - s[1 : k + 1]))
    return float((s[i] + s[i + 1]) / 2)


def _count(items: list, noun: str) -> str:
    return f"{len(items)} {noun}{_s(len(items))}"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _mnist(data_dir, notes: list[str]):
    """The unscaled MNIST training split, or None (with a note) when it is not on disk.

    A `data_dir` given explicitly must hold it: a typo there is an error, not random inputs.
    """
    try:
        root, is_cache = data.resolve_data_dir("mnist", data_dir)
        if is_cache and not all((root / name).is_file() for name in data.FILES):
            notes.append(
                "MNIST not found (set HANDGRAD_DATA_DIR or pass --data-dir); random inputs used"
            )
            return None
        return data.load("mnist", "train", data_dir=data_dir, scale=False)
    except (OSError, ValueError) as error:
        reason = str(error).splitlines()[0]
        if data_dir is not None and not Path(data_dir).expanduser().is_dir():
            path = Path(data_dir).expanduser()
            what = "not a directory" if path.exists() else "no such directory"
            raise ValueError(f"data_dir {data_dir}: {what}") from None
        if data_dir is not None:
            raise ValueError(reason) from None  # names the file and what is wrong with it
        if os.environ.get(env := data.DIR_ENV["mnist"]):  # set on purpose: a typo is an error
            raise ValueError(reason if env in reason else f"{env}: {reason}") from None
        notes.append(f"MNIST not loaded ({reason}); random inputs used")
        return None


# --- calling the user's function ---------------------------------------------------------------


def _received(grad_fn: Callable, problem: Problem, report: CheckReport) -> Params | None:
    """grad_fn's gradients on the problem, parsed; None with report.verdict "error" if it failed."""
    out, error, modified, report.exception = _call(grad_fn, problem)
    changed = [k for k in modified if k not in ("X", "Y")]
    if changed:
        names = ", ".join(f"params[{k!r}]" for k in changed)
        report.notes.append(
            f"your function modified {names} in place (here a copy; in a training loop that "
            "updates the parameters, they would be updated twice)"
        )
    for k in (k for k in modified if k in ("X", "Y")):
        report.notes.append(
            f"your function modified {k} in place (an {k} /= 255 or {k} -= ...?): its gradient is "
            f"for the changed {k}, and in a training loop {k} would change at every step"
        )
    received = None
    if error is None:
        received, error, notes = as_gradients(out, problem.model.param_shapes())
        report.notes += notes
    if error is not None:
        report.verdict, report.error = "error", error
        return None
    if problem.dtype == "float64" and any(
        getattr(g, "dtype", None) == np.float32 for g in received.values()
    ):
        report.notes.append(
            "your gradients are float32, judged as float64: their own rounding (about 1e-7) fails "
            "a float64 check; pass dtype='float32' (--dtype float32) to judge them as float32"
        )
    return received


def _call(grad_fn: Callable, problem: Problem) -> tuple:
    """(grad_fn's result, None) or (None, what it raised and where), what it changed (the keys
    of the params, in place or in the dict it was given; "X" and "Y", in place), and the
    exception it raised, if any."""
    params = {k: v.copy() for k, v in problem.params.items()}
    X, Y = problem.X.copy(), problem.Y.copy()
    out, error, raised = _call_with(grad_fn, params, X, Y)
    if raised is not None:
        error += _context(raised, problem)
    modified = [k for k, v in problem.params.items() if not _unchanged(params.get(k), v)]
    modified += [
        k for k, a, b in (("X", X, problem.X), ("Y", Y, problem.Y)) if not _unchanged(a, b)
    ]
    return out, error, modified, raised


def _context(error: BaseException, problem: Problem) -> str:
    """What about the check's own setup may have caused the error: a parameter the model lacks
    (too few --sizes), or shapes of the other layout or of other sizes."""
    model = problem.model
    sizes = ",".join(map(str, model.sizes))
    if isinstance(error, KeyError) and str(error.args[0] if error.args else "")[1:].isdigit():
        key = str(error.args[0])
        return (
            f"; the network checked, {sizes}, has no {key}: its parameters are "
            f"{', '.join(model.param_shapes())} (--sizes lists every layer's width, input to "
            "output: 784,10,10 has one hidden layer)"
        )
    said = str(error).replace(" ", "")
    if not isinstance(error, ValueError) or not any(
        word in said for word in ("notaligned", "matmul", "broadcast")
    ):
        return ""
    m, n0 = problem.X.shape[::-1] if model.layout == "column" else problem.X.shape
    if f"({m},{n0})" in said or f"({n0},{m})" in said:  # X itself is in the product
        other = "row" if model.layout == "column" else "column"
        x = "x".join(map(str, problem.X.shape))
        return (
            f"; here X is {x}, {model.layout} layout: for code written with one example per "
            f"{other} use --model {model.hidden}-{model.output}-{other}"
        )
    widths = {n for n in model.sizes[1:] if n > 1}
    if model.layout == "column" and any(f"({n},{n})" in said for n in widths):
        return (  # x = X[:, i] in a loop: W1 @ x + b1 is (n,) + (n, 1), broadcast to n x n
            "; a 1-D vector (x = X[:, i] in a loop over the examples) added to a column such as "
            "b1 (n x 1) broadcasts to n x n: keep the slice 2-D, X[:, [i]] or X[:, i:i+1]"
        )
    return f"; the network checked is {sizes} (--sizes for another)"


def _unchanged(after: object, before: np.ndarray) -> bool:
    try:
        return np.array_equal(np.asarray(after), before, equal_nan=True)
    except (TypeError, ValueError):
        return False


def _call_with(grad_fn: Callable, params: Params, X, Y) -> tuple:
    """(grad_fn(params, X, Y), None, None), or (None, what it raised and where, the exception)."""
    signature = ""
    try:
        signature = inspect.signature(grad_fn)
        signature.bind(params, X, Y)
    except TypeError as error:  # said here, not as a TypeError raised inside handgrad
        name = getattr(grad_fn, "__name__", type(grad_fn).__name__)
        return None, f"{name}{signature} cannot be called as {name}(params, X, Y): {error}", None
    except ValueError:  # no signature to inspect (a builtin): the call itself will tell
        pass
    try:
        return grad_fn(params, X, Y), None, None
    except (Exception, SystemExit) as error:
        return None, describe_exception(grad_fn, error) + _argument_order(signature), error


PARAMS_NAMES = {"params", "parameters", "p", "theta", "weights", "network", "net", "model"}


def _argument_order(signature) -> str:
    """A hint where the function's parameter names put params last, as (X, Y, params)."""
    names = [n.lower() for n in getattr(signature, "parameters", {})]
    if len(names) >= 3 and names[2] in PARAMS_NAMES and names[0] not in PARAMS_NAMES:
        order = ", ".join(list(signature.parameters)[:3])
        return f"; handgrad calls it as f(params, X, Y), and yours reads ({order}): reorder them"
    return ""


def describe_exception(fn: Callable, error: BaseException) -> str:
    """ "NAME raised TYPE: message (file.py, line N: code)": the innermost line of the user's own
    code (not a library's), and the line in fn's own file that led there when that is another."""
    frames = traceback.extract_tb(error.__traceback__)
    home = _source_file(fn)
    own = [f for f in frames if home and _same_file(f.filename, home)]
    users = [f for f in frames if not _library(f.filename)]
    frame = (users or own or frames[-1:] or [None])[-1]
    where = ""
    if frame is not None:
        where = f" ({_line(frame)}"
        if own and own[-1] is not frame:
            where += f"; called from {_line(own[-1])}"
        where += ")"
    message = str(error).splitlines()[0] if str(error) else ""
    name = getattr(fn, "__name__", type(fn).__name__)
    return f"{name} raised {type(error).__name__}: {message}{where}"


def _line(frame: traceback.FrameSummary) -> str:
    code = f": {frame.line.strip()}" if frame.line else ""
    return f"{_short_path(frame.filename)}, line {frame.lineno}{code}"


LIBRARIES = tuple(
    os.path.abspath(p)
    for p in {*(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib"))}
    | {os.path.dirname(os.path.dirname(np.__file__)), os.path.dirname(__file__)}
)


def _library(filename: str) -> bool:
    """Whether a traceback's file is a library's (Python's, an installed package's, handgrad's)
    rather than the user's."""
    path = os.path.abspath(filename)
    return filename.startswith("<") or any(
        path.startswith(lib + os.sep) for lib in LIBRARIES if lib != os.sep
    )


def _source_file(fn: Callable) -> str | None:
    while hasattr(fn, "func"):  # functools.partial
        fn = fn.func
    fn = inspect.unwrap(fn)
    for candidate in (fn, type(fn)):  # a function, or a callable object's class
        try:
            return inspect.getsourcefile(candidate)
        except TypeError:
            continue
    return None


def _same_file(a: str, b: str) -> bool:
    return os.path.abspath(a) == os.path.abspath(b)


def _short_path(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


class Keyed(dict):
    """Gradients that came under keys (a dict), not in a tuple's order: misplaced ones are under
    the wrong keys rather than in the wrong order."""


def as_gradients(out: object, shapes: Mapping[str, tuple]) -> tuple[dict, str | None, list[str]]:
    """({key: array or None}, error, notes) from a dict (then a `Keyed`) or a tuple (dW1, db1,
    dW2, db2, ...)."""
    keys, notes = list(shapes), []
    order = ", ".join("d" + k for k in keys)
    if isinstance(out, Mapping):
        found = Keyed()
        for key in keys:
            names = [n for n in (key, "d" + key) if n in out]
            if len(names) == 2:
                return (
                    {},
                    f"returned both {key!r} and 'd{key}': return one of them per parameter",
                    notes,
                )
            found[key] = out[names[0]] if names else None
        extra = sorted(str(k) for k in out if str(k) not in keys and str(k)[1:] not in keys)
        renamed = _renamed(extra, [k for k in keys if found[k] is None])
        if renamed:
            said = ", ".join(f"{name!r} as d{key}" for key, name in renamed.items())
            notes.append(f"read {said} (handgrad's keys are W1 or dW1, ...)")
            found.update({key: out[name] for key, name in renamed.items()})
            extra = [e for e in extra if e not in renamed.values()]
        if extra:
            meant = _meant(extra, [k for k in keys if found[k] is None])
            notes.append(f"ignored returned keys {extra}" + meant)
    elif isinstance(out, tuple | list):
        if len(out) != len(keys):
            return {}, f"returned {len(out)} values; expected {len(keys)}: ({order})", notes
        found = dict(zip(keys, out, strict=True))
    else:
        what = type(out).__name__
        return {}, f"returned {what}; expected a dict keyed like the parameters or ({order})", notes
    if any(isinstance(v, np.matrix) for v in found.values()):
        notes.append(
            "your gradients are np.matrix: there * is a matrix product (and ** a matrix power); "
            "where you meant elementwise, use np.multiply or plain arrays"
        )
    return found, None, notes


def _renamed(extra: list[str], missing: list[str]) -> dict[str, str]:
    """{key: returned name} for each missing key that exactly one returned name spells with a
    word around it and no other missing key claims: 'dw1' (document 003), 'grad_W1', 'dL_dW1',
    'W1_grad' are dW1; 'dZ1', 'W11' and 'W1_2' are not."""

    def spells(name: str, key: str) -> bool:
        word = re.sub(r"[^0-9a-z]", "", name.lower())
        return bool(re.fullmatch(f"[a-z]*{key.lower()}|{key.lower()}[a-z]+", word))

    claims = {key: [e for e in extra if spells(e, key)] for key in missing}
    return {
        key: names[0]
        for key, names in claims.items()
        if len(names) == 1 and sum(names[0] in other for other in claims.values()) == 1
    }


def _meant(extra: list[str], missing: list[str]) -> str:
    """ "; did you mean dW1 for 'dw1'? ...": a missing key that an ignored one differs from only in
    case or by a near miss (document 003's dw1; keys are W1 or dW1)."""
    said = []
    for key in missing:
        near = [e for e in extra if e.lower() in (key.lower(), "d" + key.lower())]
        near = near or difflib.get_close_matches("d" + key, extra, n=1, cutoff=0.75)
        if near:
            said.append(f"d{key} for {near[0]!r}")
    return f"; did you mean {', '.join(said)}? (keys are W1 or dW1, ...)" if said else ""


def _not_numeric(value: object) -> str:
    try:
        dtype = np.asarray(value).dtype
    except (TypeError, ValueError):  # ragged
        dtype = None
    if dtype is not None and dtype.kind == "c":
        return f"complex values ({dtype.name}); the gradient of a real loss is real"
    return f"not a numeric array ({type(value).__name__})"


def _numeric(value: object) -> np.ndarray | None:
    try:
        array = np.asarray(value)
        return array.astype(np.float64) if array.dtype.kind in "biuf" else None
    except (TypeError, ValueError):
        return None


# --- the oracles -------------------------------------------------------------------------------


@dataclass
class Oracle:
    """The loss as f(params) -> float (for finite differences) and its autodiff gradient, if any.

    `piecewise`, where the model has kinks: params -> (loss, piece), the piece saying which side of
    every kink the parameters are on, so that a difference that steps across one is not trusted
    (`reference.central_differences`). Finite differences use it in place of f.
    """

    f: Callable[[Params], float]
    grad: Params | None
    eps: float  # the relative rounding of f's arithmetic
    piecewise: Callable[[Params], tuple[float, np.ndarray]] | None = None

    @property
    def differenced(self) -> Callable:
        return self.piecewise or self.f


EPS64 = float(np.finfo(np.float64).eps)


def model_loss(model: Model, X: np.ndarray, Y: np.ndarray) -> Callable[[Params], float]:
    """params -> the model's loss in float64 by handgrad's forward pass (no gradient code).

    Finite differences of this loss check the JAX oracle: two independent implementations of the
    same loss, so a disagreement means one of them is suspect. It costs microseconds where a call
    into JAX costs milliseconds, which is what makes the sampled checks cheap.
    """
    run = _loss_and_cache(model, X, Y)
    return lambda params: run(params)[0]


def kink_sides(model: Model, X: np.ndarray, Y: np.ndarray) -> Callable | None:
    """params -> (the model's loss, Z^l > 0 for every hidden pre-activation), one forward pass.

    The signs say which side of ReLU's (ELU's) kink the parameters are on: the smooth pieces that
    finite differences must not step across (see `reference.central_differences`). None where g'
    has no jump (sigmoid, identity, ELU with alpha = 1) or there is no hidden layer.
    """
    kinked = model.hidden == "relu" or (model.hidden == "elu" and model.alpha != 1.0)
    if not kinked or model.depth < 2:
        return None
    run = _loss_and_cache(model, X, Y)

    def f(params: Params) -> tuple[float, np.ndarray]:
        value, cache = run(params)
        return value, np.concatenate([np.ravel(cache[f"Z{l}"] > 0) for l in range(1, model.depth)])

    return f


def _loss_and_cache(model: Model, X: np.ndarray, Y: np.ndarray) -> Callable:
    forward = {"column": column_major, "row": row_major}[model.layout].forward
    L, axis = model.depth, model.class_axis

    def run(params: Params) -> tuple[float, dict]:
        with np.errstate(over="ignore", under="ignore"):
            cache = forward(model, params, X)
            return model.loss.value(cache[f"Z{L}"], Y, axis), cache

    return run


def model_oracle(problem: Problem) -> Oracle:
    """JAX autodiff of the model's loss (float64) and the loss for finite differences."""
    m, p, X, Y = problem.model, problem.p64, problem.X64, problem.Y64
    grad = reference.jax_gradients(m, p, X, Y)
    return Oracle(model_loss(m, X, Y), grad, EPS64, kink_sides(m, X, Y))


_JITTED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _jitted(loss: Callable) -> tuple[Callable, Callable]:
    """jax.jit of loss and of its gradient, kept per loss so that repeated checks compile once."""
    try:
        return _JITTED.setdefault(loss, (jax.jit(loss), jax.jit(jax.grad(loss))))
    except TypeError:  # not weakly referenceable
        return jax.jit(loss), jax.jit(jax.grad(loss))


def user_loss_oracle(loss: Callable, problem: Problem, notes: list[str]) -> Oracle:
    """The caller's loss(params, X, Y): differentiated by JAX when traceable, else FD only."""
    p, X, Y = problem.p64, problem.X64, problem.Y64
    try:
        value = np.asarray(loss({k: v.copy() for k, v in p.items()}, X.copy(), Y.copy()))
    except Exception as error:
        raise ValueError("your loss raised: " + describe_exception(loss, error)) from None
    if value.size != 1 or value.dtype.kind not in "fiu" or not np.isfinite(value).all():
        raise ValueError(f"loss(params, X, Y) must return one finite number, got {value!r}")
    eps = float(np.finfo(value.dtype).eps) if value.dtype.kind == "f" else EPS64
    if eps > EPS64:
        notes.append(
            f"your loss returns {value.dtype.name}: finite differences take larger steps and allow "
            "for its rounding"
        )
    try:
        jitted, jitted_grad = _jitted(loss)
        grad = jitted_grad(p, X, Y)
        grad = {k: np.asarray(grad[k], np.float64) for k in p}
        f = lambda q: float(jitted(q, X, Y))  # noqa: E731
        f(p)
        return Oracle(f, grad, eps, _with_sides(f, problem))
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        notes.append(
            f"your loss is not JAX-traceable ({type(error).__name__}: {first[:120]}); "
            "checked against finite differences only"
        )
    f = lambda q: float(loss(q, X, Y))  # noqa: E731
    return Oracle(f, None, eps, _with_sides(f, problem))


def _with_sides(f: Callable, problem: Problem) -> Callable | None:
    """f with the model's kink sides: the caller's loss is the model's, maybe penalised or masked."""
    sides = kink_sides(problem.model, problem.X64, problem.Y64)
    return None if sides is None else (lambda q: (f(q), sides(q)[1]))


def rounding_slack(model: Model, params: Params, X: np.ndarray, Y: np.ndarray, dtype) -> Params:
    """Per-entry bound on the rounding error of a gradient computed in `dtype`, where terms cancel.

    The tolerance table scales with max|gradient|; where an entry is a sum of large terms that
    cancel (equal rows of W, logits of 1e3), rounding scales with the terms instead. Backprop with
    absolute values bounds every sum's terms. A sum of n terms errs by at most n eps times their
    absolute sum and typically by sqrt(n) eps, so the slack is gamma S with
    gamma = 8 eps sqrt(N), N = n_0 + ... + n_L + m + 4 L (a whole forward and backward pass; at
    least the worst case N eps while N <= 64), and, backwards from
    S^L = |terms of dZ^L| + Lip(delta) |terms of Z^L|,
        S^(l-1) = |W^l|ᵀ S^l |g'(Z^(l-1))| + |W^lᵀ dZ^l| max|g''| |terms of Z^(l-1)|,
        slack(dW^l) = gamma S^l |A^(l-1)|ᵀ,   slack(db^l) = gamma (row sums of S^l).
    The second terms carry the forward pass's rounding of Z into the derivatives evaluated at Z.
    """
    col = model.with_layout("column")
    if model.layout == "row":
        params, X, Y = {k: v.T for k, v in params.items()}, X.T, Y.T
    L, m = model.depth, X.shape[1]
    gamma = 8 * float(np.finfo(dtype).eps) * math.sqrt(sum(model.sizes) + m + 4 * L)
    second = {"sigmoid": 0.1, "elu": max(model.alpha, 1.0)}.get(model.hidden, 0.0)  # max|g''|
    with np.errstate(all="ignore"):
        cache = column_major.forward(col, params, X)
        dZ = column_major.backward(col, params, cache, Y)

        def terms(l: int) -> np.ndarray:  # |W^l| |A^(l-1)| + |b^l|: the scale of Z^l's rounding
            return np.abs(params[f"W{l}"]) @ np.abs(cache[f"A{l - 1}"]) + np.abs(params[f"b{l}"])

        A = cache[f"A{L}"]
        if model.output == "mse":  # delta = (2/m)(A - Y) sigma'(Z); sigma'' <= sigma'
            prime = A * (1 - A)
            S = 2 * (np.abs(A) + np.abs(Y)) * prime / m + 2.5 * prime * (prime + 1) * terms(L) / m
        else:  # delta = (A - Y)/m; softmax's Jacobian has row sums 2 A (1 - A)
            lip = 2 * A * (1 - A)
            S = (np.abs(A) + np.abs(Y)) / m + lip * terms(L).max(axis=0, keepdims=True) / m
        slack = {}
        for l in range(L, 0, -1):
            slack[f"W{l}"] = gamma * (S @ np.abs(cache[f"A{l - 1}"]).T)
            slack[f"b{l}"] = gamma * S.sum(axis=1, keepdims=True)
            if l > 1:
                W, Z = params[f"W{l}"], cache[f"Z{l - 1}"]
                prime = np.abs(col.activation.f_prime(Z))
                upstream = np.abs(W.T @ dZ[f"dZ{l}"])
                S = (np.abs(W).T @ S) * prime + upstream * second * terms(l - 1)
    return {k: v.T.copy() for k, v in slack.items()} if model.layout == "row" else slack


def kink_slack(model: Model, params: Params, X: np.ndarray, Y: np.ndarray, dtype) -> Params | None:
    """Per-entry bound on how far a different choice of g'(0) at ReLU's kink can move the gradient.

    Pre-activations within rounding of 0 (in `dtype`) are on the kink; there any slope between the
    one-sided ones is defensible. So are those within what flushing subnormals to zero can move
    them (the JAX oracle's arithmetic on CPU): each product, sum and input by less than TINY, each
    layer's inputs by what flushing moved the layer before (times g's Lipschitz constant). With e^k the change in dZ^k this allows,
        |e^k| <= (|W^(k+1)|ᵀ |e^(k+1)|) * (|g'(Z^k)| + J kink) + |W^(k+1)ᵀ dZ^(k+1)| J kink,
    J the jump of g' at 0 (1 for ReLU, |1 - alpha| for ELU); dW^k and db^k move by |e^k| |A^(k-1)|ᵀ
    and the row sums of |e^k|. None when no pre-activation is on a kink.
    """
    jump = {"relu": 1.0, "elu": abs(1.0 - model.alpha)}.get(model.hidden, 0.0)
    if jump == 0.0 or model.depth < 2:
        return None
    col = model.with_layout("column")
    if model.layout == "row":
        params, X, Y = {k: v.T for k, v in params.items()}, X.T, Y.T
    eps = float(np.finfo(dtype).eps)
    lipschitz = max(1.0, model.alpha) if model.hidden == "elu" else 1.0
    with np.errstate(all="ignore"):
        cache = column_major.forward(col, params, X)
        on_kink, flushed = {}, np.zeros_like(X)  # flushed: how far flushing can move A^(k-1)
        for k in range(1, model.depth):
            W, n = np.abs(params[f"W{k}"]), params[f"W{k}"].shape[1]
            scale = W @ np.abs(cache[f"A{k - 1}"]) + np.abs(params[f"b{k}"])
            drift = W @ (flushed + TINY) + (2 * n + 2) * TINY
            on_kink[k] = np.abs(cache[f"Z{k}"]) <= (KINK_ULPS + n) * eps * scale + drift
            flushed = lipschitz * drift + TINY
        if not any(mask.any() for mask in on_kink.values()):
            return None
        grads = column_major.backward(col, params, cache, Y)
        e = np.zeros_like(cache[f"Z{model.depth}"])
        slack = {}
        for l in range(model.depth, 0, -1):
            slack[f"W{l}"] = e @ np.abs(cache[f"A{l - 1}"]).T
            slack[f"b{l}"] = e.sum(axis=1, keepdims=True)
            if l > 1:
                k, W = l - 1, params[f"W{l}"]
                upstream = np.abs(W.T @ grads[f"dZ{l}"])
                slope = np.abs(col.activation.f_prime(cache[f"Z{k}"])) + jump * on_kink[k]
                e = (np.abs(W).T @ e) * slope + upstream * jump * on_kink[k]
    return {k: v.T.copy() for k, v in slack.items()} if model.layout == "row" else slack


# --- the engine --------------------------------------------------------------------------------


def check_gradients(
    grad_fn: Callable,
    model: Model | str,
    sizes=None,
    *,
    params: Mapping | None = None,
    X: np.ndarray | None = None,
    Y: np.ndarray | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    dtype="float64",
    loss: Callable | None = None,
    full: bool = False,
    data_dir=None,
    directions: int = 3,
) -> CheckReport:
    """Check grad_fn(params, X, Y) against JAX autodiff and finite differences; a CheckReport.

    grad_fn: your gradient, called as grad_fn(params, X, Y); it returns a dict keyed like params
        (W1 or dW1, ...) or a tuple/list (dW1, db1, dW2, db2, ...).
    model, sizes: a `Model`, or a name ("relu-softmax-column") with sizes ((784, 10, 10)).
    params, X, Y: your own values in the model's layout; by default parameters drawn from `seed`
        and batch_size MNIST training images (random inputs where MNIST is not on disk).
    batch_size: by default 16, or the first of 12, 20, 15, 17 that is no layer's width (a slip
        that uses m for a width, or a width for m, cannot show where the two are equal).
    dtype: "float64", or "float32" to judge float32 gradients with float32 tolerances.
    loss: the scalar loss(params, X, Y) grad_fn differentiates, when it is not the model's own
        (a penalty, fixed dropout masks); JAX-traceable, or judged by finite differences alone.
    full: compare every entry by finite differences too (slow), not a sample.
    data_dir: the MNIST directory (else HANDGRAD_DATA_DIR, else the download cache).
    directions: random directions along which the oracle is checked by finite differences.
    The report's `verdict` is "pass", "fail", "inconclusive" or "error"; see `CheckReport`.
    """
    if not callable(grad_fn):
        raise TypeError(
            f"grad_fn must be a function grad_fn(params, X, Y), got {type(grad_fn).__name__}"
        )
    model = resolve_model(model, sizes)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if (
        isinstance(directions, bool)
        or not isinstance(directions, int | np.integer)
        or directions < 0
    ):
        raise ValueError(f"directions must be a non-negative integer, got {directions!r}")
    if not isinstance(full, bool | np.bool_):
        raise ValueError(f"full must be True or False, got {full!r}")
    rng = np.random.default_rng(seed)
    batch_size = default_batch_size(model) if batch_size is None else batch_size
    check_fits(model, np.dtype(np.float64))  # before the warm-up allocates its own copy
    warm_up = None if loss else _compile_in_background(model, X, batch_size)
    try:
        problem = make_problem(model, rng, batch_size, dtype, params, X, Y, data_dir)
        return _check(grad_fn, problem, rng, loss, full, directions, warm_up)
    finally:  # never leave XLA compiling in a thread: exiting under it aborts the process
        if warm_up is not None:
            warm_up.join()


def _check(grad_fn, problem: Problem, rng, loss, full, directions, warm_up) -> CheckReport:
    """The engine behind `check_gradients` (see the module docstring), on a validated problem."""
    report = CheckReport(
        "pass", title=f"handgrad check: {problem.description}", notes=list(problem.notes)
    )
    received = _received(grad_fn, problem, report)
    if received is None:  # nothing judged: what a judgement could not see is beside the point
        return report
    report.notes[len(problem.notes) : len(problem.notes)] = problem.blind
    changed = _changed_by_a_second_call(grad_fn, problem, received, report.notes)
    if warm_up is not None:
        warm_up.join()
    oracle = user_loss_oracle(loss, problem, report.notes) if loss else model_oracle(problem)
    if oracle.grad is None:
        report.parameters = _judge_by_differences(problem, received, oracle, rng, full, directions)
    else:
        report.parameters = _judge_by_autodiff(
            problem, received, oracle, rng, full, directions, report.notes, loss is None
        )
    if problem.dtype == np.float32:
        _taylor_slopes(problem, received, oracle, rng, report)
    if loss is None and not changed and problem.model.output == "softmax":
        _confident_outputs(grad_fn, problem, rng, report)
    for key, how in changed.items():
        p = report.parameters[key]
        cause = (
            "your function keeps state between calls (an accumulator such as nabla_w += ... "
            "never reset, or a global), and in training each step's gradient would carry the "
            "earlier steps'"
            if "times the first" in how
            else "your function draws random numbers (dropout or noise left on: a gradient "
            "function must be deterministic) or keeps state between calls (a global)"
        )
        detail = f"a second call with the same input returned {how}: {cause}"
        if p.verdict == "fail":
            p.diagnosis.detail += f"; also, {detail}"
        else:
            p.verdict, p.diagnosis = (
                "fail",
                Diagnosis("state", None, f"right at first, but {detail}"),
            )
    return _conclude(report, problem.model)


CONFIDENT = 750.0  # the largest logit of the confident-outputs probe: exp overflows above 709.8


def _confident_outputs(grad_fn, problem: Problem, rng, report: CheckReport) -> None:
    """Judge grad_fn again with the output layer scaled until the largest logit is CONFIDENT
    (the largest in absolute value where none is positive).

    The check's own logits are small (|Z^L| of a few units), where a softmax that does not
    subtract the max, or A clipped to [eps, 1 - eps] before A - Y, gives the right numbers.
    A gradient right there and wrong here fails; inf or NaN here (an overflow) is a note.
    """
    model, L = problem.model, problem.model.depth
    layout = column_major if model.layout == "column" else row_major
    with np.errstate(all="ignore"):
        ZL = layout.forward(model, problem.p64, problem.X64)[f"Z{L}"]
    biggest = float(np.max(ZL)) if np.max(ZL) >= 1e-3 else float(np.max(np.abs(ZL)))
    if not 1e-3 <= biggest < CONFIDENT or not any(
        p.verdict == "pass" for p in report.parameters.values()
    ):
        return  # (degenerate parameters, or nothing a probe could fail)
    k = CONFIDENT / biggest
    p64 = {n: v * k if n in (f"W{L}", f"b{L}") else v for n, v in problem.p64.items()}
    probe = Problem(**{**problem.__dict__, "p64": p64, "notes": [], "blind": []})
    probe.params = {n: np.asarray(v, problem.dtype) for n, v in p64.items()}
    out, error, _, _ = _call(grad_fn, probe)
    received, error, _ = (None, error, None) if error else as_gradients(out, model.param_shapes())
    if error is not None:
        return
    numeric = {n: _numeric(g) for n, g in received.items()}
    bad = [n for n, a in numeric.items() if a is not None and not np.isfinite(a).all()]
    if bad:
        report.notes.append(
            f"where the outputs are confident (logits up to {CONFIDENT:g}; exp overflows above "
            f"709.8, 88.7 in float32) your d{', d'.join(bad)} {'is' if len(bad) == 1 else 'are'} "
            "inf or NaN: a softmax that does not subtract each example's largest logit first?"
        )
        return
    with np.errstate(all="ignore"):
        oracle = model_oracle(probe)
        reports = _judge_by_autodiff(probe, received, oracle, rng, False, 0, [], True)
    for key, p in report.parameters.items():
        q = reports.get(key)
        if p.verdict == "pass" and q is not None and q.verdict == "fail":
            p.verdict, p.worst_index, p.worst_entry = "fail", q.worst_index, q.worst_entry
            p.max_abs_error, p.max_rel_error = q.max_abs_error, q.max_rel_error
            p.diagnosis = Diagnosis(
                q.diagnosis.kind,
                q.diagnosis.factor,
                "right at the check's parameters, wrong where the outputs are confident (the "
                f"output layer scaled until a logit is {CONFIDENT:g}): A clipped to [eps, 1 - eps], "
                f"or an eps added, before A - Y? (there: {q.diagnosis.detail})",
                q.diagnosis.label,
            )


def _changed_by_a_second_call(grad_fn, problem: Problem, first: dict, notes: list) -> dict:
    """{key: how} for the gradients that a second call on fresh copies of the same input changes.
    The first call's arrays are copied first (a function may return the accumulator itself)."""
    for key, value in first.items():
        if isinstance(value, np.ndarray):
            first[key] = value.copy()
    out, error, _, _ = _call(grad_fn, problem)
    if error is not None:
        notes.append(
            f"a second call with the same input raised (state kept between calls?): {error}"
        )
        return {}
    second, error, _ = as_gradients(out, problem.model.param_shapes())
    tol = tolerance(problem.dtype, "formulations")
    changed = {}
    for key, value in first.items() if error is None else ():
        a, b = _numeric(value), _numeric(second.get(key))
        if a is None or b is None or a.shape != b.shape:
            continue
        with np.errstate(all="ignore"):
            if np.allclose(b, a, tol.rtol, tol.atol, equal_nan=True):
                continue
            c = float(np.vdot(a, b) / np.vdot(a, a)) if np.any(a) else math.nan
            scaled = math.isfinite(c) and np.allclose(b, c * a, 1e-6, 1e-12)
        changed[key] = f"{c:.4g} times the first" if scaled else "other values than the first"
    return changed


def _compile_in_background(model: Model, X, batch_size) -> threading.Thread:
    """Compile the JAX oracle for these shapes while the batch is read (XLA needs only shapes)."""
    m = batch_size if np.ndim(X) != 2 else np.shape(X)[1 if model.layout == "column" else 0]
    x_shape, y_shape = model.data_shapes(int(m))
    zeros = {k: np.zeros(s) for k, s in model.param_shapes().items()}

    def compile_oracle() -> None:
        try:
            reference.jax_gradients(model, zeros, np.zeros(x_shape), np.zeros(y_shape))
        except Exception:  # the real call reports any problem
            pass

    thread = threading.Thread(target=compile_oracle, daemon=True)
    thread.start()
    return thread


def _shape_checked(
    problem: Problem, received: Mapping
) -> tuple[dict[str, np.ndarray], dict[str, ParameterReport], dict[str, tuple]]:
    """({key: g as float64 in the expected shape}, {key: failed report}, {key: broadcast-from})."""
    model = problem.model
    shapes = model.param_shapes()
    m = problem.X.shape[1 if model.layout == "column" else 0]
    batch_axis = 1 if model.layout == "column" else 0
    ok, failed, broadcast = {}, {}, {}
    for key, want in shapes.items():
        raw = received.get(key)
        g = None if raw is None else _numeric(raw)
        if g is None:
            what = "missing" if raw is None else _not_numeric(raw)
            failed[key] = _failed(Diagnosis("shape", None, f"{what}; expected shape {want}"))
            continue
        diagnosis = diagnose_shape(key, g.shape, want, m, batch_axis, shapes)
        if diagnosis is not None:  # where m = n_l, the values tell a sum over the wrong axis
            failed[key] = _failed(_units_summed(problem, key, g) or diagnosis)
            continue
        if g.size != math.prod(want):
            broadcast[key] = g.shape
        ok[key] = np.broadcast_to(g, want).copy()
    _other_layout(problem, received, failed)
    return ok, failed, broadcast


def _other_layout(problem: Problem, received: Mapping, failed: dict) -> None:
    """Where every gradient has the other layout's shape (a row model's gradients computed as
    column ones), the failures ask whether the model is the other layout's."""
    model, shapes = problem.model, problem.model.param_shapes()
    if len(failed) < len(shapes) or all(want[0] == want[1] for want in shapes.values()):
        return
    if all(np.shape(received.get(k)) == want[::-1] for k, want in shapes.items()):
        other = "column" if model.layout == "row" else "row"
        name = model.name.rsplit("-", 1)[0] + f"-{other}"
        for report in failed.values():
            report.diagnosis.detail += (
                f"; every gradient has the {other} layout's shape: transposed at the end, or a "
                f"function for --model {name}?"
            )


def _units_summed(problem: Problem, key: str, g: np.ndarray) -> Diagnosis | None:
    tol = tolerance(problem.dtype, "autodiff")
    return summed_over_units(problem.model, problem.p64, problem.X64, problem.Y64, key, g, tol)


def _failed(diagnosis: Diagnosis) -> ParameterReport:
    return ParameterReport("fail", None, None, None, diagnosis)


def _sample(shape: tuple, rng: np.random.Generator, priority: list[tuple]) -> list[tuple]:
    """A few random entries of a tensor (all of a small bias) plus the `priority` entries."""
    size = math.prod(shape)
    k = BIAS_SAMPLES if 1 in shape else SAMPLES_PER_TENSOR
    flat = np.arange(size) if size <= k else rng.choice(size, k, replace=False)
    entries = [tuple(int(i) for i in np.unravel_index(f, shape)) for f in flat]
    return list(dict.fromkeys(priority + entries))


def _zero_lines(g: np.ndarray) -> list[tuple[int, ...]]:
    """An entry of the first and of the last row (column) that is 0 throughout: where a loop's
    range missed an input or a unit, which a few random entries would rarely meet. Along the
    line, the entry where the other lines are largest (a unit active, an input lit)."""
    out = []
    for axis in range(g.ndim):
        others = tuple(a for a in range(g.ndim) if a != axis)
        zero = np.flatnonzero(~np.any(g, axis=others))
        across = [_heaviest(g, a) for a in range(g.ndim)]
        for line in dict.fromkeys(zero[[0, -1]].tolist() if zero.size else []):
            out.append(tuple(line if a == axis else across[a] for a in range(g.ndim)))
    return out


def _heaviest(g: np.ndarray, axis: int) -> int:
    """The position along `axis` whose slice of g is largest in absolute sum."""
    return int(np.argmax(np.abs(g).sum(axis=tuple(a for a in range(g.ndim) if a != axis))))


def _argmax(x: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(x)), x.shape))


def _judge_by_autodiff(
    problem: Problem,
    received: Mapping,
    oracle: Oracle,
    rng: np.random.Generator,
    full: bool,
    directions: int,
    notes: list[str],
    with_model_loss: bool,
) -> dict[str, ParameterReport]:
    """Every entry against autodiff; the oracle itself checked by finite differences."""
    model, truth = problem.model, oracle.grad
    tol = tolerance(problem.dtype, "autodiff")
    g, reports, broadcast = _shape_checked(problem, received)
    slack = kink_slack(model, problem.p64, problem.X64, problem.Y64, problem.dtype)
    if slack is not None:
        notes.append(
            "some pre-activations sit on ReLU's kink (exactly, or nearer than the oracle resolves: "
            "JAX flushes subnormal numbers to zero), where the derivative is undefined; entries a "
            "different ReLU'(0) would change are judged with that slack"
        )
    rounding = rounding_slack(model, problem.p64, problem.X64, problem.Y64, problem.dtype)
    zero = [k for k, a in truth.items() if not np.any(a)]
    if zero:
        notes.append(_zero_truth_note(problem, zero))
    with np.errstate(all="ignore"):
        errors = {k: np.abs(v - truth[k]) for k, v in g.items()}
    entries = None
    exhaustive = full or sum(a.size for a in truth.values()) <= EXHAUSTIVE_BELOW
    if not exhaustive:
        entries = {}
        for key, a in truth.items():
            priority = [_argmax(np.abs(a))]
            if key in errors and np.isfinite(errors[key]).all():
                priority.insert(0, _argmax(errors[key]))
            entries[key] = _sample(a.shape, rng, priority)
    suspect, across = _suspect_entries(oracle, problem.p64, truth, entries, slack)
    global_doubt, directions = None, 0 if exhaustive or slack is not None else directions
    if directions:
        global_doubt = _directional_doubt(oracle, problem.p64, truth, rng, directions)
    variants = None
    low = _float32_returned(problem, received, truth)  # judged with float32 tolerances, if wrong
    half = [k for k in truth if _narrower(received.get(k), truth[k], np.float16)]
    if problem.dtype == np.float32 and half:  # float32's tolerance admits float16's rounding
        notes.append(
            f"every entry of d{', d'.join(half)} is a float16 number: float16 arithmetic, which "
            "a float32 check cannot tell from float32's; check in float64 (the default) to see it"
        )
    tol32, rounding32 = tolerance("float32", "autodiff"), None
    if low:
        rounding32 = rounding_slack(model, problem.p64, problem.X64, problem.Y64, np.float32)
    for key in model.param_shapes():
        if key in reports:
            continue
        a, gk = truth[key], g[key]
        bound = tol.atol + tol.rtol * float(np.max(np.abs(a), initial=0.0))
        # a different ReLU'(0) moves an entry by up to the slack; that gradient, computed in
        # dtype, carries the tolerance's relative rounding of its own size too
        extra = 0.0 if slack is None else slack[key] * (1 + tol.rtol)
        report = _entry_report(model, key, gk, a, errors[key], bound + rounding[key], extra, tol)
        if report.verdict == "fail" and report.diagnosis.kind is None:
            judged, rounded = (tol32, rounding32[key]) if key in low else (tol, rounding[key])
            bound32 = tol32.atol + tol32.rtol * float(np.max(np.abs(a), initial=0.0))
            if key in low and not (errors[key] > bound32 + rounded + extra).any():
                half = _narrower(received[key], a, np.float16)
                report.diagnosis = Diagnosis("precision", None, PRECISION16 if half else PRECISION)
            else:
                if variants is None:
                    variants = _variants(problem) if with_model_loss else []
                    variants = consistent_first(variants, g, judged)
                report.diagnosis = _diagnose(
                    problem,
                    key,
                    gk,
                    a,
                    judged,
                    rounded,
                    truth,
                    variants,
                    broadcast,
                    with_model_loss,
                )
        doubt = suspect.get(key) or global_doubt
        if doubt and report.verdict != "inconclusive":
            said = "" if report.verdict == "pass" else f" (vs autodiff: {report.diagnosis.detail})"
            report.verdict = "inconclusive"
            report.diagnosis = Diagnosis(None, None, f"the oracle is suspect: {doubt}{said}")
        reports[key] = report
    if with_model_loss:  # the known bugs' gradients are the model loss's
        _by_values(problem, received, reports, truth, variants or _variants, low)
    else:
        _by_values(problem, received, reports, truth, [], low)
    checked = sum(len(v) for v in entries.values()) if entries is not None else "all"
    notes.append(
        f"finite differences checked the autodiff oracle at {checked} entries"
        + (
            f" ({across} of them {'steps' if across == 1 else 'step'} across a kink and "
            f"{'says' if across == 1 else 'say'} nothing)"
            if across
            else ""
        )
        + (f" and along {directions} random directions" if directions else "")
    )
    return {k: reports[k] for k in model.param_shapes()}


PRECISION = (
    "right within float32 rounding; your gradients are float32 numbers for float64 inputs: pass "
    "dtype='float32' (--dtype float32), or keep the gradient float64"
)
PRECISION16 = (
    "right within float16 rounding; every entry is a float16 number: float16 arithmetic keeps "
    "about 3 significant digits, too few for a gradient; compute in float32 or float64"
)


def _zero_truth_note(problem: Problem, zero: list[str]) -> str:
    """Why nothing can be learned about gradients that are 0 at these parameters."""
    blocked = [k for k in problem.p64 if k[0] == "W" and not np.any(problem.p64[k])]
    why = f" ({', '.join(blocked)} = 0 passes no signal to the layers below)" if blocked else ""
    return (
        f"the right d{', d'.join(zero)} {'is' if len(zero) == 1 else 'are'} 0 in every entry at "
        f"these parameters{why}: any formula that gives 0 passes there; check at other "
        "parameters (the default ones) too"
    )


def _float32_returned(problem: Problem, received: Mapping, truth: Mapping) -> set[str]:
    """The keys whose gradient came back float32 from float64 inputs: float32 arrays, or float64
    ones whose every entry is a float32 number (computed in float32, converted at the end) where
    the right one's are not (with dyadic inputs they may all be)."""
    if problem.dtype != np.float64:
        return set()
    return {k for k, v in received.items() if _narrower(v, truth[k], np.float32)}


def _narrower(v, a: np.ndarray, low) -> bool:
    """v is `low` (dtype), or holds only `low` numbers where the right gradient a does not."""
    return getattr(v, "dtype", None) == low or (_holds(v, low) and not _holds(a, low))


def _holds(v, low) -> bool:
    """Whether v's entries are all `low` numbers, and not only small integers (which every
    float type holds)."""
    if getattr(v, "dtype", None) == low:
        return True
    wider = getattr(v, "dtype", np.float64) in (np.float64, np.float32)
    v = _numeric(v) if wider else None
    if v is None or not np.isfinite(v).all() or np.array_equal(v, np.round(v)):
        return False
    if np.unique(v).size < min(8, v.size):  # a few short dyadic numbers (0.25) fit every float
        return False
    with np.errstate(over="ignore"):
        return bool(np.array_equal(v.astype(low).astype(np.float64), v))


def _diagnose(problem, key, gk, a, tol, rounding, truth, variants, broadcast, with_model_loss):
    """`diagnose_values` of a failed gradient, in the problem's terms."""
    model = problem.model
    column = model.layout == "column"
    diagnosis = diagnose_values(
        key,
        gk,
        a,
        tol,
        problem.X.shape[1 if column else 0],
        broadcast_from=broadcast.get(key),
        batch_axis=1 if column else 0,
        truth=truth,
        variants=variants,
        output=model.output if with_model_loss else "",
        slack=float(np.max(rounding, initial=0.0)),
        param=problem.p64[key],
        sizes=model.sizes,
    )
    if diagnosis.kind == "unexplained" and with_model_loss:
        diagnosis = _units_summed(problem, key, gk) or diagnosis
    return diagnosis


def _by_values(problem, received, reports, truth, variants, low) -> None:
    """Failures told by their values: the right gradients in another order (`order`), a wrong
    shape that is another parameter's right gradient or a known bug's (`shape_by_values`).
    `variants`: the known bugs' gradients, or the function that computes them when needed."""
    tol = tolerance("float32" if low else problem.dtype, "autodiff")
    raw = {k: _numeric(received.get(k)) for k in truth}
    keyed = isinstance(received, Keyed)
    for key, diagnosis in diagnose_order(raw, truth, tol, keyed).items():
        if reports[key].verdict == "fail":
            reports[key].diagnosis = diagnosis
    for key, report in reports.items():
        if report.diagnosis.kind == "shape" and raw[key] is not None:
            if callable(variants):
                variants = variants(problem)
            report.diagnosis = shape_by_values(
                key, raw[key], report.diagnosis, truth, variants, tol
            )


def _variants(problem: Problem) -> list:
    return variant_gradients(problem.model, problem.p64, problem.X64, problem.Y64)


def _relative(max_abs: float, a: np.ndarray, tol) -> float | None:
    """max_abs relative to the largest right entry; None where every right entry is below atol
    (on a kink, say): a ratio to about 0 says nothing."""
    scale = float(np.max(np.abs(a), initial=0.0))
    return max_abs / scale if scale >= tol.atol else None


def _entry_report(model, key, g, a, err, bound, slack, tol) -> ParameterReport:
    """pass / fail / inconclusive from per-entry errors; the diagnosis is filled in on failure."""
    if not np.isfinite(g).all():
        return _non_finite(model, key, g)
    worst = _argmax(err)
    max_abs = float(err[worst]) if err.size else 0.0
    max_rel = _relative(max_abs, a, tol)
    where = describe_entry(model, key, worst) if err.size else ""
    wrong = err > bound + slack
    if wrong.any():
        worst = _argmax(np.where(wrong, err, -1.0))
        where = describe_entry(model, key, worst)
        return ParameterReport("fail", max_abs, max_rel, worst, Diagnosis(None), where)
    if (err > bound).any():
        detail = (
            "differs from autodiff only where a pre-activation sits on ReLU's kink (Z = 0, or "
            "nearer than JAX's flushing of subnormals resolves), where the derivative is "
            "undefined (handgrad and the documents use ReLU'(0) = 0)"
        )
        return ParameterReport(
            "inconclusive", max_abs, max_rel, worst, Diagnosis(None, None, detail), where
        )
    return ParameterReport("pass", max_abs, max_rel, worst, Diagnosis(None, None, RIGHT), where)


def _non_finite(model: Model, key: str, g: np.ndarray) -> ParameterReport:
    """The failed report of a gradient with NaN or inf entries, the first one named."""
    first = tuple(int(i) for i in np.argwhere(~np.isfinite(g))[0])
    diagnosis = diagnose_non_finite(g)
    return ParameterReport("fail", None, None, first, diagnosis, describe_entry(model, key, first))


def _suspect_entries(
    oracle: Oracle, p64: Params, truth: Params, entries, slack: Params | None
) -> tuple[dict[str, str], int]:
    """{key: how autodiff and central differences disagree}, beyond the differences' uncertainty,
    and how many entries' differences stepped across a kink (uncertainty inf: they judge nothing).

    On a kink autodiff takes ReLU'(0) = 0 at every kink, which need not be either one-sided slope
    (a step can cross one kink forward and another backward), so the kink slack is allowed too.
    """
    fd = reference.central_differences(oracle.differenced, p64, entries=entries)
    tol = tolerance("float64", "finite-difference")
    suspect, across = {}, 0
    for key, a in truth.items():
        est, unc = fd.estimate[key], fd.uncertainty[key]
        done = ~np.isnan(est)
        across += int(np.isinf(unc[done]).sum())
        bound = tol.atol + tol.rtol * float(np.max(np.abs(a), initial=0.0))
        allowed = unc + bound + (0.0 if slack is None else slack[key])
        gap = np.where(done, np.abs(est - a) - allowed, -np.inf)
        if gap.size and gap.max() > 0:
            i = _argmax(gap)
            suspect[key] = (
                f"autodiff says {a[i]:.6g} at {key}{list(i)} but central differences say "
                f"{est[i]:.6g} (uncertainty {unc[i]:.1e})"
            )
    return suspect, across


def _fd_noise(fd, oracle, f0: float) -> float:
    """What a directional difference may be off by: scipy's estimate (10 times) and the loss's own
    rounding, eps |L| over the smallest step, which scipy's estimate leaves out (it said 0 where
    the loss's rounding moved the derivative by 1e-6, relatively)."""
    return 10 * fd.error + 8 * oracle.eps * f0 / fd.step


def _directional_doubt(oracle, p64, truth, rng, directions) -> str | None:
    """How autodiff disagrees with the loss's derivative along a random direction, if it does."""
    tol = tolerance("float64", "directional")
    norm = math.sqrt(sum(float(np.sum(a * a)) for a in truth.values()))
    typical = norm / math.sqrt(sum(a.size for a in truth.values()))
    f0 = abs(oracle.f(p64))
    for _ in range(directions):
        d = reference.random_direction(p64, rng)
        fd = reference.directional_derivative(oracle.differenced, p64, d)
        ad = sum(float(np.sum(truth[k] * d[k])) for k in truth)
        bound = tol.atol + tol.rtol * max(abs(fd.derivative), typical) + _fd_noise(fd, oracle, f0)
        if fd.converged and abs(ad - fd.derivative) > bound:
            return (
                f"along a random direction autodiff gives {ad:.6g} but the loss changes at "
                f"{fd.derivative:.6g} (±{fd.error:.1e})"
            )
    return None


def _judge_by_differences(
    problem: Problem,
    received: Mapping,
    oracle: Oracle,
    rng: np.random.Generator,
    full: bool,
    directions: int,
) -> dict[str, ParameterReport]:
    """No autodiff: sampled (or all) entries against central differences, plus random directions."""
    model = problem.model
    tol = tolerance(problem.dtype, "finite-difference")
    g, reports, broadcast = _shape_checked(problem, received)
    shapes = model.param_shapes()
    coarse = oracle.eps > EPS64  # a loss computed in float32: differences need larger steps
    h = 1e-3 if coarse else 1e-6
    entries = None
    exhaustive = full or sum(math.prod(s) for s in shapes.values()) <= EXHAUSTIVE_BELOW
    directions = 0 if exhaustive or coarse else directions
    if not exhaustive:
        entries = {}
        for key, shape in shapes.items():
            finite = key in g and np.isfinite(g[key]).all()
            priority = [_argmax(np.abs(g[key])), *_zero_lines(g[key])] if finite else []
            entries[key] = _sample(shape, rng, priority)
    fd = reference.central_differences(oracle.differenced, problem.p64, h=h, entries=entries)
    f0 = abs(oracle.f(problem.p64))
    rounding = rounding_slack(model, problem.p64, problem.X64, problem.Y64, problem.dtype)
    m = problem.X.shape[1 if model.layout == "column" else 0]
    for key in shapes:
        if key in reports:
            continue
        est, unc = fd.estimate[key], fd.uncertainty[key]
        done = ~np.isnan(est)
        step = h * np.maximum(1.0, np.abs(problem.p64[key]))
        unc = unc + 8 * oracle.eps * f0 / step  # the loss's own rounding, if coarser than float64
        gk = g[key]
        if not np.isfinite(gk).all():
            reports[key] = _non_finite(model, key, gk)
            continue
        idx = tuple(np.nonzero(done))
        gs, es, us = gk[idx], est[idx], unc[idx]
        bound = tol.atol + tol.rtol * float(np.max(np.abs(es), initial=0.0)) + rounding[key][idx]
        err = np.abs(gs - es)
        positions = list(zip(*idx, strict=True))
        wrong = err > bound + us
        report = _from_sample(model, key, positions, err, es, tol, wrong)
        doubt = _directional_wrong(oracle, problem.p64, key, gk, rng, directions, problem.dtype)
        if wrong.any():
            noisy = Tolerance(tol.rtol, tol.atol + float(us.max()))  # the differences' own error
            report.diagnosis = diagnose_values(
                key,
                gs,
                es,
                noisy,
                m,
                broadcast_from=broadcast.get(key),
                batch_axis=1 if model.layout == "column" else 0,
                slack=float(np.max(rounding[key][idx], initial=0.0)),
                param=problem.p64[key][idx],  # the sampled entries: an L2 term fits them too
                sizes=model.sizes,
            )
        elif doubt:
            report.verdict = "fail"
            report.diagnosis = Diagnosis(
                "unexplained", None, f"{doubt}; the sampled entries agree, so run the full check"
            )
        elif (err > bound).any() or (coarse and not exhaustive):
            slope = report.taylor_slope = _taylor_slope(oracle, problem.p64, key, gk, rng)
            if slope >= 1.7:
                report.diagnosis = Diagnosis(
                    None, None, f"right (Taylor-remainder slope {slope:.2f})"
                )
            else:
                taylor = (
                    f"the Taylor remainder shrinks like h^{slope:.2f} (h^2 when right, h when "
                    "wrong or on a kink)"
                    if np.isfinite(slope)
                    else "the Taylor remainder is lost in the loss's rounding noise"
                )
                report.verdict = "inconclusive"
                report.diagnosis = Diagnosis(
                    None, None, f"finite differences are too uncertain to judge it, and {taylor}"
                )
        reports[key] = report
    return {k: reports[k] for k in shapes}


def _from_sample(model, key, positions, err, expected, tol, wrong) -> ParameterReport:
    if not positions:
        return ParameterReport("pass", 0.0, 0.0, None, Diagnosis(None, None, RIGHT))
    i = int(np.argmax(np.where(wrong, err, -1.0) if wrong.any() else err))
    worst = tuple(int(j) for j in positions[i])
    max_abs = float(err.max())
    max_rel = _relative(max_abs, expected, tol)
    verdict = "fail" if wrong.any() else "pass"
    return ParameterReport(
        verdict,
        max_abs,
        max_rel,
        worst,
        Diagnosis(None, None, RIGHT),
        describe_entry(model, key, worst),
    )


def _unit_direction(p64: Params, key: str, rng: np.random.Generator) -> Params:
    """A random unit direction that moves only parameter `key`."""
    d = rng.standard_normal(p64[key].shape)
    d /= max(float(np.linalg.norm(d)), 1e-300)
    return {k: d if k == key else np.zeros_like(v) for k, v in p64.items()}


def _directional_wrong(oracle, p64, key, gk, rng, directions, dtype) -> str | None:
    """How <g, d> disagrees with the loss's derivative along directions moving only `key`."""
    tol = tolerance(dtype, "directional")
    typical = float(np.linalg.norm(gk)) / math.sqrt(max(gk.size, 1))
    f0 = abs(oracle.f(p64)) if directions else 0.0
    for _ in range(directions):
        d = _unit_direction(p64, key, rng)
        fd = reference.directional_derivative(oracle.differenced, p64, d)
        gd = float(np.sum(gk * d[key]))
        bound = tol.atol + tol.rtol * max(abs(fd.derivative), typical) + _fd_noise(fd, oracle, f0)
        if fd.converged and abs(gd - fd.derivative) > bound:
            return (
                f"along a random direction <g, d> = {gd:.6g} but the loss changes at "
                f"{fd.derivative:.6g}"
            )
    return None


def _taylor_slope(oracle, p64, key, gk, rng) -> float:
    """The log-log slope of |L(p + h d) - L(p) - h <g, d>| for a direction moving only `key`.

    Remainders below the loss's rounding noise are left out (NaN when fewer than two are left);
    a float32 loss gets larger steps, so that the h^2 term rises above its noise.
    """
    d = _unit_direction(p64, key, rng)
    grad = {k: gk if k == key else np.zeros_like(v) for k, v in p64.items()}
    steps = TAYLOR_STEPS if oracle.eps <= EPS64 else COARSE_TAYLOR_STEPS
    hs, remainders, _ = reference.taylor_remainder(oracle.f, p64, grad, d, steps)
    usable = remainders > 16 * oracle.eps * abs(oracle.f(p64))
    if usable.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(hs[usable]), np.log(remainders[usable]), 1)[0])


def _taylor_slopes(problem, received, oracle, rng, report) -> None:
    """float32: each parameter's Taylor-remainder slope (2: right, 1: wrong), as evidence."""
    slopes = []
    for key, p in report.parameters.items():
        gk = _numeric(received.get(key))
        if gk is None or gk.shape != problem.p64[key].shape or not np.isfinite(gk).all():
            continue
        if p.taylor_slope is None:
            p.taylor_slope = _taylor_slope(oracle, problem.p64, key, gk, rng)
        slopes.append(f"{key} {p.taylor_slope:.2f}")
    if slopes:
        report.notes.append(
            "float32: Taylor-remainder slopes (2 or more for a right gradient, 1 for a wrong one): "
            + ", ".join(slopes)
        )


def _conclude(report: CheckReport, model: Model) -> CheckReport:
    """The overall verdict and, for failures, the first wrong layer counting from the output."""
    verdicts = {p.verdict for p in report.parameters.values()}
    report.verdict = (
        "fail" if "fail" in verdicts else "inconclusive" if "inconclusive" in verdicts else "pass"
    )
    if report.verdict == "fail":
        ps = report.parameters
        locate_loss_factor(model, {k: p.diagnosis for k, p in ps.items()})
        wrong = [int(k[1:]) for k, p in ps.items() if p.verdict == "fail" and _locates(p.diagnosis)]
        report.first_wrong_layer = max(wrong, default=None)
        # Each failure gets the hint of the first wrong layer at or above it that can explain it:
        # a wrong dZ^l reaches every layer below, but a slip in dW^l or db^l alone reaches nothing,
        # so the failures below such a layer get a hint of their own.
        again = False
        while wrong:
            l = max(wrong)
            bias_only, weight_only = _right(ps[f"W{l}"]), _right(ps[f"b{l}"])
            hint = layer_hint(model, l, bias_only, weight_only, again)
            alone = bias_only or weight_only
            for k, p in ps.items():
                if (int(k[1:]) == l or (not alone and int(k[1:]) < l)) and p.diagnosis.kind in (
                    "known-bug",
                    "unexplained",
                ):
                    p.diagnosis.detail += f"; {hint}"
                    p.hint = hint
            wrong, again = ([k for k in wrong if k < l] if alone else []), True
    return report


def _right(p: ParameterReport) -> bool:
    """Passed where being right says something: not a right gradient of about 0 (dW^l with
    A^(l-1) = 0 is 0 whatever dZ^l is, as in a shrunk Hypothesis example with X = 0)."""
    return p.verdict == "pass" and p.max_rel_error is not None


def _locates(diagnosis: Diagnosis) -> bool:
    """Whether a failure says which layer is wrong: not a missing key, not right values in the
    wrong order, with float32 rounding or changed by a second call."""
    unjudged = diagnosis.detail.startswith(("missing", "not a numeric", "complex"))
    unjudged |= any(  # no layer is wrong: every gradient is, in the same way
        said in diagnosis.detail
        for said in (
            "right for that alpha (--alpha",
            "(update_params' result)",
            "clipping inside",
            "example's terms:",  # one example's, in every layer
            "example's terms but the",  # all but one example's, in every layer
        )
    )
    return diagnosis.kind not in ("order", "precision", "approximate", "state") and not unjudged


# --- the cheap check for training ----------------------------------------------------------------


def directional_check(
    grad_fn: Callable,
    model: Model,
    params: Mapping,
    X: np.ndarray,
    Y: np.ndarray,
    rng: np.random.Generator,
    directions: int = 1,
    loss: Callable | None = None,
) -> CheckReport:
    """Shapes, finiteness and <g, d> against the loss's derivative along random directions.

    `loss(params, X, Y)`: the scalar whose gradient grad_fn computes (a penalised or masked
    loss, as in `check_gradients`); default the model's own loss.
    """
    dtype = np.result_type(*[np.asarray(v).dtype for v in params.values()])
    dtype = np.float32 if dtype == np.float32 else np.float64
    problem = make_problem(model, rng, 1, dtype, params, X, Y)
    report = CheckReport("pass", title=f"handgrad directional check: {problem.description}")
    received = _received(grad_fn, problem, report)
    if received is None:
        return report
    if loss is None:
        X64, Y64 = problem.X64, problem.Y64
        oracle = Oracle(model_loss(model, X64, Y64), None, EPS64, kink_sides(model, X64, Y64))
    else:
        oracle = user_loss_oracle(loss, problem, report.notes)
    g, reports, _ = _shape_checked(problem, received)
    for key in model.param_shapes():
        if key in reports:
            continue
        gk = g[key]
        if not np.isfinite(gk).all():
            reports[key] = _non_finite(model, key, gk)
            continue
        doubt = _directional_wrong(oracle, problem.p64, key, gk, rng, directions, dtype)
        diagnosis = Diagnosis("unexplained", None, doubt) if doubt else Diagnosis(None, None, RIGHT)
        reports[key] = ParameterReport("fail" if doubt else "pass", None, None, None, diagnosis)
    report.parameters = {k: reports[k] for k in model.param_shapes()}
    return _conclude(report, model)


def load_function(spec: str) -> Callable:
    """FUNCTION from "PATH.py:FUNCTION" (ValueError when the file or function is not there)."""
    path, sep, name = spec.rpartition(":")
    if not sep or not path or not name:
        raise ValueError(f"expected PATH.py:FUNCTION, got {spec!r}")
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{path}: {'not a file' if file.exists() else 'no such file'}")
    module_name = f"_handgrad_user_{abs(hash(str(file.resolve())))}"
    spec_obj = importlib.util.spec_from_file_location(module_name, file)
    if spec_obj is None or spec_obj.loader is None:
        raise ValueError(f"cannot import {path} (not a Python file?)")
    module = importlib.util.module_from_spec(spec_obj)
    sys.modules[module_name] = module
    home = str(file.resolve().parent)
    sys.path.insert(0, home)  # so that the file can import its neighbours
    try:
        spec_obj.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        line = ""
        tb = [
            f
            for f in traceback.extract_tb(error.__traceback__)
            if _same_file(f.filename, str(file))
        ]
        if tb:
            line = f", line {tb[-1].lineno}"
        elif isinstance(error, SyntaxError) and error.lineno:
            line = f", line {error.lineno}"
        message = str(error).splitlines()[0] if str(error) else ""
        raise ValueError(f"cannot import {path}{line}: {type(error).__name__}: {message}") from None
    finally:
        if home in sys.path:
            sys.path.remove(home)
    function = module
    for part in name.split("."):  # "net.backward": an object's method, "Net.grads": a static one
        function = getattr(function, part, None)
    if function is None:
        raise ValueError(f"{path} has no function {name!r}" + _functions_like(module, name))
    if not callable(function):
        what, value = type(function).__name__, repr(function)
        what += f" ({value})" if len(value) <= 40 else ""
        raise ValueError(f"{path}: {name} is {_article(what)} {what}, not a function")
    owner = getattr(module, name.split(".")[0])
    if "." in name and isinstance(owner, type) and inspect.isfunction(function):
        first = next(iter(inspect.signature(function).parameters), None)
        if first == "self":  # a method looked up on its class: no instance to call it on
            raise ValueError(
                f"{path}: {name} is a method of class {owner.__name__}: name a function "
                f"(params, X, Y), or an instance's method (e.g. a module-level net = "
                f"{owner.__name__}(...), then net.{name.split('.', 1)[1]})"
            )
    return function


def _functions_like(module, name: str) -> str:
    """ "; did you mean 'backward_prop'?": the module's own functions nearest the name asked for."""
    own = [
        k
        for k, v in vars(module).items()
        if inspect.isfunction(v) and v.__module__ == module.__name__ and not k.startswith("_")
    ]
    near = difflib.get_close_matches(name, own, n=1, cutoff=0.6)
    return f"; did you mean {near[0]!r}?" if near else ""


def _article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"
