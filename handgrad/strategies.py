"""Hypothesis strategies for property-testing your own gradient: models, parameters and batches.

    from hypothesis import given, settings
    from handgrad import strategies
    from handgrad.testing import assert_gradients_match

    from examples.my_gradient import backward_prop  # yours: (params, X, Y) -> {"W1": dW1, ...}

    relu_softmax = strategies.models(
        hidden=["relu"], outputs=["softmax"], layouts=["column"], depths=[2]
    )

    @settings(deadline=None)  # the first example compiles JAX (~1 s): over the 200 ms default
    @given(strategies.problems(relu_softmax))
    def test_backward_prop(problem):
        assert_gradients_match(backward_prop, problem.model, **problem.kwargs)

Arrays are in the model's layout (see `handgrad.models`); Y is one-hot. Edge cases are drawn on
purpose but each in a minority of examples (up to the share given), so that most can show a wrong
gradient: m = 1, layers of width 1, batches of a single class (one in four), extreme logits (one
in four: the output layer scaled by 2^6 to 2^10), all-zero parameters (style "zero", one in ten)
and pre-activations exactly on ReLU's kink (style "kinks", three in ten): small dyadic values (k/4)
with biases set so that a chosen Z^l[j, i] is exactly 0, in float32 as well. Softmax models have 2
classes or more (with one, the loss is identically 0). Hypothesis shrinks a failure towards a
typical problem rather than a degenerate one: style "typical", widths 3, 2 classes, m = 4, labels
cycling through the classes, X and parameters towards a fixed pattern of +-1/4, +-1/2 and +-3/4.

Non-goals: arbitrary float bit patterns (subnormals, huge exponents) in the parameters.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from handgrad.activations import HIDDEN
from handgrad.data import one_hot
from handgrad.models import LAYOUTS, OUTPUTS, Model, Params, require_model

STYLES = ("typical", "zero", "kinks")
STYLE_WEIGHTS = {"typical": 6, "zero": 1, "kinks": 3}  # draws in ten, where all are allowed
DTYPES = ("float64", "float32")


def _choices(name: str, given, allowed=None) -> tuple:
    """`given` as a non-empty tuple of allowed values; ValueError (TypeError for a bare string)
    naming the argument, checked when the strategy is built rather than when it draws."""
    if isinstance(given, str | bytes):
        raise TypeError(f"{name} must be a sequence of choices, e.g. [{given!r}]; got a string")
    given = tuple(given)
    if not given:
        raise ValueError(f"{name} is empty")
    unknown = [g for g in given if allowed is not None and g not in allowed]
    if unknown:
        raise ValueError(f"{name}: unknown {unknown!r}; choose from {allowed}")
    return given


def _dtype(d) -> str:
    """ "float64" or "float32" from any spelling NumPy reads as one (np.float32, "f4", ...)."""
    try:
        name = np.dtype(d).name
    except TypeError:
        name = None
    if name not in DTYPES:
        raise ValueError(f"dtype must be float64 or float32, got {d!r}")
    return name


def _preferring(low: int, high: int, first: int) -> st.SearchStrategy[int]:
    """Integers low..high, uniformly, but shrinking to `first` (clamped into the range), which is
    also what Hypothesis fills in where a mutated example no longer lines up, rather than to low."""
    first = min(max(first, low), high)
    return st.sampled_from((first, *(v for v in range(low, high + 1) if v != first)))


def _rarely() -> st.SearchStrategy[bool]:
    """True one time in four; shrinks to False."""
    return st.sampled_from((False, False, False, True))


def _counts(name: str, low: int, high: int) -> None:
    """ValueError unless 1 <= low <= high, both integers."""
    ints = all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in (low, high))
    if not (ints and 1 <= low <= high):
        raise ValueError(f"need integers 1 <= min_{name} <= max_{name}, got {low!r} and {high!r}")


@dataclass(frozen=True, eq=False)
class Problem:
    """A model with parameters and a batch (X, Y) in its layout, in `dtype`."""

    model: Model
    params: Params
    X: np.ndarray
    Y: np.ndarray
    dtype: str
    style: str  # "typical" | "zero" | "kinks"
    extreme: bool  # the output layer scaled up: logits of order 1e3

    @property
    def kwargs(self) -> dict:
        """params, X, Y and dtype, as keyword arguments of `check_gradients`."""
        return {"params": self.params, "X": self.X, "Y": self.Y, "dtype": self.dtype}

    @property
    def m(self) -> int:
        return self.X.shape[1 if self.model.layout == "column" else 0]


def models(
    hidden=HIDDEN,
    outputs=OUTPUTS,
    layouts=LAYOUTS,
    depths=(1, 2, 3),
    max_width: int = 8,
    min_width: int = 1,
    alphas=(1.0,),
    classes=None,
) -> st.SearchStrategy[Model]:
    """Models with every listed activation, output and layout; depth L in `depths`, widths n_0 to
    n_{L-1} min_width-max_width; an ELU model's alpha drawn from `alphas`; the classes n_L drawn
    from `classes` (e.g. [2, 10]) when given, else min_width-max_width but at least 2 for softmax."""
    _counts("width", min_width, max_width)
    depths = _positive("depths", depths, "depths count weight layers (L >= 1)")
    alphas = _choices("alphas", alphas)
    for a in alphas:
        Model("elu", OUTPUTS[0], LAYOUTS[0], (1, 1), a)  # ValueError naming a bad alpha
    hidden, outputs = _choices("hidden", hidden, HIDDEN), _choices("outputs", outputs, OUTPUTS)
    layouts = _choices("layouts", layouts, LAYOUTS)
    if classes is not None:
        n_L = st.sampled_from(_positive("classes", classes, "classes count outputs (n_L >= 1)"))
        n_L = dict.fromkeys(outputs, n_L)
    else:  # softmax with one class has loss 0 whatever the parameters: nothing to check
        n_L = {o: _preferring(min_width, max_width, 2) for o in outputs}
        n_L["softmax"] = _preferring(max(min_width, 2), max(max_width, 2), 2)
    widths = _preferring(min_width, max_width, 3)
    return _models(hidden, outputs, layouts, depths, widths, alphas, n_L)


def _positive(name: str, given, message: str) -> tuple:
    """`given` as a non-empty tuple of integers >= 1, else ValueError(message)."""
    given = _choices(name, given)
    if not all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in given
    ):
        raise ValueError(f"{message}, got {given!r}")
    return given


@st.composite
def _models(draw, hidden, outputs, layouts, depths, widths, alphas, n_L) -> Model:
    depth = draw(st.sampled_from(depths))
    sizes = draw(st.lists(widths, min_size=depth, max_size=depth))
    g = draw(st.sampled_from(hidden))
    alpha = draw(st.sampled_from(alphas)) if g == "elu" else 1.0
    output = draw(st.sampled_from(outputs))
    sizes.append(draw(n_L[output]))
    return Model(g, output, draw(st.sampled_from(layouts)), tuple(sizes), alpha)


@functools.cache
def _array(shape: tuple[int, ...], style: str) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of `shape`: floats in [-2, 2] ("typical") or dyadic k/4 ("kinks"), drawn
    as offsets from a fixed pattern of +-1/4, +-1/2 and +-3/4: shrinking, and the values Hypothesis
    fills in where a mutated example no longer lines up, give that pattern rather than zeros."""
    base = np.random.default_rng(shape).choice([-3, -2, -1, 1, 2, 3], shape) / 4
    if style == "kinks":
        values = st.integers(-5, 5).map(lambda k: k / 4)
    else:
        values = st.floats(
            -1.25, 1.25, allow_nan=False, allow_infinity=False, allow_subnormal=False
        )
    return arrays(np.float64, shape, elements=values).map(lambda a: a + base)


def parameters(model: Model, dtype="float64", style: str = "typical") -> st.SearchStrategy[Params]:
    """{"W1": ..., "b1": ...} for `model`: "typical" floats in [-2, 2], "zero" or dyadic "kinks"."""
    require_model(model)
    dtype = _dtype(dtype)
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")
    shapes = model.param_shapes()
    if style == "zero":
        return st.builds(lambda: {k: np.zeros(s, dtype) for k, s in shapes.items()})
    return st.fixed_dictionaries(
        {k: _array(s, style).map(lambda a: a.astype(dtype)) for k, s in shapes.items()}
    )


def batches(
    model: Model,
    dtype="float64",
    min_m: int = 1,
    max_m: int = 8,
    style: str = "typical",
    single_class: bool | None = None,
) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """(X, Y) in the model's layout, Y one-hot; single_class None draws it, one time in four
    (m = 1 is reachable too, one time in max_m - min_m + 1)."""
    require_model(model)
    dtype = _dtype(dtype)
    _choices("style", [style], ("typical", "kinks"))
    _counts("m", min_m, max_m)
    return _batches(model, dtype, min_m, max_m, style, single_class)


@st.composite
def _batches(draw, model, dtype, min_m, max_m, style, single_class):
    m = draw(_preferring(min_m, max_m, 4))
    n0, nL = model.sizes[0], model.sizes[-1]
    X = draw(_array((m, n0), style))
    same = draw(_rarely()) if single_class is None else single_class
    if same:
        labels = np.full(m, draw(st.integers(0, nL - 1)))
    else:  # offset by the example's index: shrinks to labels 0, 1, 2, ... (every class) not all 0
        labels = np.array(draw(st.lists(st.integers(0, nL - 1), min_size=m, max_size=m)))
        labels = (labels + np.arange(m)) % nL
    Y = one_hot(labels, nL, "row", dtype)
    if model.layout == "column":
        X, Y = X.T.copy(), Y.T.copy()
    return X.astype(dtype), Y


def put_on_kinks(
    model: Model, params: Params, X: np.ndarray, picks: list[tuple[int, int]]
) -> Params:
    """params with biases shifted so that Z^l[j, i] == 0 exactly for picks[l - 1] = (j, i).

    Exact when params and X are small dyadic numbers (as `parameters(style="kinks")` draws), for
    ReLU hidden layers (A = max(Z, 0) keeps them dyadic); at most the first two hidden layers.
    """
    column = model.layout == "column"
    p = {k: v.astype(np.float64) for k, v in params.items()}

    def native(a: np.ndarray) -> np.ndarray:  # the column-layout view
        return a if column else a.T

    A = native(X).astype(np.float64)
    for l, (j, i) in enumerate(picks, start=1):
        W, b = native(p[f"W{l}"]), native(p[f"b{l}"])  # views: b is shifted in place
        b[j, 0] -= (W @ A + b)[j, i]
        A = np.maximum(W @ A + b, 0.0)
    return p


def problems(
    model_strategy: st.SearchStrategy[Model] | None = None,
    dtypes=("float64", "float32"),
    max_m: int = 8,
    styles=STYLES,
    extreme: bool | None = None,
    min_m: int = 1,
) -> st.SearchStrategy[Problem]:
    """A model (from `model_strategy`, default `models()`), its parameters and a batch: a Problem.

    `styles` picks among "typical", "zero" and "kinks" (kinks are built for ReLU models only;
    others draw typical values), weighted 6:1:3 and shrinking to the first listed. `extreme` None
    draws whether to scale the output layer by 2^6-2^10 (one time in four).
    """
    model_strategy = models() if model_strategy is None else model_strategy
    if not isinstance(model_strategy, st.SearchStrategy):
        raise TypeError(
            f"model_strategy must be a Hypothesis strategy such as strategies.models(...), got "
            f"{type(model_strategy).__name__} (for one model: st.just(model))"
        )
    dtypes = tuple(_dtype(d) for d in _choices("dtypes", dtypes))
    styles = _choices("styles", styles, STYLES)
    styles = tuple(s for s in styles for _ in range(STYLE_WEIGHTS[s]))  # shrinks to the first
    _counts("m", min_m, max_m)
    return _problems(model_strategy, dtypes, min_m, max_m, styles, extreme)


@st.composite
def _problems(draw, model_strategy, dtypes, min_m, max_m, styles, extreme) -> Problem:
    # drawn first: a late choice in a long composite came up one time in eight, not four
    big = draw(_rarely()) if extreme is None else extreme
    model = draw(model_strategy)
    dtype = draw(st.sampled_from(dtypes))
    style = draw(st.sampled_from(styles))
    if style == "kinks" and model.hidden != "relu":
        style = "typical"
    params = {
        k: draw(_array(s, "kinks" if style == "kinks" else "typical"))
        for k, s in model.param_shapes().items()
    }
    if style == "zero":
        params = {k: np.zeros_like(v) for k, v in params.items()}
    X, Y = draw(
        batches(model, "float64", min_m, max_m, style="kinks" if style == "kinks" else "typical")
    )
    if style == "kinks":
        m = X.shape[1 if model.layout == "column" else 0]
        hidden = model.sizes[1 : min(model.depth, 3)]
        picks = [(draw(st.integers(0, n - 1)), draw(st.integers(0, m - 1))) for n in hidden]
        params = put_on_kinks(model, params, X, picks)
    if big:
        scale = 2.0 ** draw(st.sampled_from([6, 8, 10]))
        L = model.depth
        params[f"W{L}"] = params[f"W{L}"] * scale
        params[f"b{L}"] = params[f"b{L}"] * scale
    cast = {k: params[k].astype(dtype) for k in model.param_shapes()}  # W1, b1, ... in order
    return Problem(model, cast, X.astype(dtype), Y.astype(dtype), dtype, style, big)
