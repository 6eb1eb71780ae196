"""Properties of the three hand-derived formulations over Hypothesis-drawn models and batches.

Each drawn problem is a model (1-3 hidden layers, widths 1-12, every activation x output x layout),
parameters and a batch (m = 1-16) with bounded values, constant arrays included (Hypothesis likes
them, and they put pre-activations exactly on ReLU's kink).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from kinks import FLUSHED_REACH, kink_within_reach

import reference
from handgrad import data
from handgrad.activations import HIDDEN
from handgrad.check import kink_sides, rounding_slack
from handgrad.formulations import FORMULATIONS, gradients, loss, loss_function
from handgrad.models import LAYOUTS, OUTPUTS, Model, init_params
from handgrad.recipes import RECIPES
from handgrad.tolerances import gradient_scale, max_abs_error, relative_error, tolerance
from handgrad.verify import DOCUMENT_MODELS, mnist_batch, recipe_model

F64 = np.float64


@st.composite
def problems(draw, value_bound: float = 2.0):
    """(model, params, X, Y) in float64; Y one-hot for softmax, in [0, 1] for MSE."""
    hidden = draw(st.sampled_from(HIDDEN))
    output = draw(st.sampled_from(OUTPUTS))
    layout = draw(st.sampled_from(LAYOUTS))
    sizes = tuple(draw(st.lists(st.integers(1, 12), min_size=3, max_size=5)))
    alpha = draw(st.sampled_from([1.0, 0.5, 1.7])) if hidden == "elu" else 1.0
    model = Model(hidden, output, layout, sizes, alpha)
    m = draw(st.integers(1, 16))
    values = st.floats(-value_bound, value_bound, allow_nan=False, allow_infinity=False)
    params = {k: draw(arrays(F64, s, elements=values)) for k, s in model.param_shapes().items()}
    x_shape, y_shape = model.data_shapes(m)
    X = draw(arrays(F64, x_shape, elements=st.floats(-3, 3)))
    if output == "softmax":
        labels = draw(arrays(np.int64, m, elements=st.integers(0, sizes[-1] - 1)))
        Y = data.one_hot(labels, sizes[-1], layout)
    else:
        Y = draw(arrays(F64, y_shape, elements=st.floats(0, 1)))
    return model, params, X, Y


def _assert_close(actual: dict, expected: dict, comparison: str, dtype=F64, slack=None) -> None:
    """Every tensor within tolerance, relative to the largest entry of the whole gradient, plus
    `slack` (per tensor, `check.rounding_slack`) where rounding of cancelling terms may exceed it."""
    tol, scale = tolerance(dtype, comparison), gradient_scale(expected)
    for key in expected:
        extra = 0.0 if slack is None else float(np.max(slack[key], initial=0.0))
        assert max_abs_error(actual[key], expected[key]) <= tol.atol + tol.rtol * scale + extra, (
            f"{key}: relative error {relative_error(actual[key], expected[key], scale):.3e} "
            f"exceeds {comparison} tolerance {tol}" + (f" + slack {extra:.3g}" if extra else "")
        )


def _slack(model: Model, params: dict, X: np.ndarray, Y: np.ndarray, times: float = 1.0) -> dict:
    """How far two evaluations of a right gradient may differ by rounding alone (twice the slack)."""
    return {k: 2 * times * v for k, v in rounding_slack(model, params, X, Y, F64).items()}


@given(problems())
def test_each_formulation_equals_jax_and_the_others(problem):
    model, params, X, Y = problem
    assume(not kink_within_reach(model, params, X, reach=FLUSHED_REACH))
    expected = reference.jax_gradients(model, params, X, Y)
    results = {name: gradients(model, params, X, Y, name) for name in FORMULATIONS}
    for name, grads in results.items():
        assert {k: v.shape for k, v in grads.items()} == model.param_shapes(), name
        _assert_close(grads, expected, "autodiff")
    slack = _slack(model, params, X, Y)
    _assert_close(results["per-neuron"], results["column"], "formulations", slack=slack)
    _assert_close(results["row"], results["column"], "formulations", slack=slack)


def _f64(params: dict) -> dict:
    return {k: v.astype(F64) for k, v in params.items()}


# Found by Hypothesis: differences that step across kinks whose one-sided slopes agree. All-zero ELU
# layers (alpha 1/2 twice composes to a smooth 1/2, not the chain rule's 1/4) and b1 = 1.7e-197 (the
# step crosses the kink for x = 1 going down and for x = -1 going up, and the two balance).
_ELU_ZEROS = (
    Model("elu", "mse", "row", (1, 1, 1, 1, 1), alpha=0.5),
    {"W1": np.zeros((1, 1)), "W2": np.zeros((1, 1)), "W3": -np.ones((1, 1)), "W4": np.ones((1, 1))}
    | {f"b{l}": np.zeros((1, 1)) for l in range(1, 5)},
    np.zeros((1, 1)),
    np.zeros((1, 1)),
)
_BALANCED = (
    Model("relu", "softmax", "column", (1, 1, 2)),
    {
        "W1": np.zeros((1, 1)),
        "b1": np.full((1, 1), 1.7e-197),
        "W2": np.array([[0.0], [1.0]]),
        "b2": np.zeros((2, 1)),
    },
    np.array([[1.0, 0.0, 0.0, -1.0]]),
    np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]),
)


@given(problems())
@example(_ELU_ZEROS)
@example(_BALANCED)
def test_each_formulation_agrees_with_central_differences(problem):
    model, params, X, Y = problem
    # `kink_sides` names the smooth pieces: a difference that steps across a kink judges nothing
    cd = reference.central_differences(
        kink_sides(model, X, Y) or loss_function(model, X, Y), params
    )
    tol = tolerance(F64, "finite-difference")
    for name in FORMULATIONS:
        grads = gradients(model, params, X, Y, name)
        for key, g in grads.items():
            scale = max(float(np.max(np.abs(g))), 1.0)
            err = np.abs(g - cd.estimate[key])
            # Entries whose one-sided differences disagree (a kink on p) may be off by that much.
            bound = tol.atol + tol.rtol * scale + cd.uncertainty[key]
            worst = np.unravel_index(np.argmax(err - bound), err.shape)
            assert np.all(err <= bound), (
                f"{name} {key}{list(worst)}: hand {g[worst]:.10g} vs FD {cd.estimate[key][worst]:.10g}"
            )


def test_a_difference_that_steps_across_a_kink_says_nothing():
    """f may name its smooth pieces: a step that leaves p's piece gets uncertainty inf; a
    directional derivative shrinks its steps until they stay on p's piece."""
    relu = lambda p: float(np.sum(np.maximum(p["x"], 0)))  # noqa: E731
    sides = lambda p: (relu(p), p["x"] > 0)  # noqa: E731
    p = {"x": np.array([1e-9, 1.0, -1.0])}
    cd = reference.central_differences(sides, p)
    assert np.isinf(cd.uncertainty["x"][0]) and np.all(cd.uncertainty["x"][1:] < 1e-8)
    assert np.allclose(cd.estimate["x"][1:], [1.0, 0.0])
    assert np.isfinite(reference.central_differences(relu, p).uncertainty["x"][0])
    near = {"x": np.array([1e-5])}  # the default first step, 1e-3, crosses the kink
    assert reference.directional_derivative(sides, near, {"x": np.ones(1)}).derivative == 1.0
    assert reference.directional_derivative(relu, near, {"x": np.ones(1)}).derivative != 1.0
    on = reference.directional_derivative(sides, {"x": np.zeros(1)}, {"x": np.ones(1)})
    assert not on.converged  # no step stays on the piece of a point on the kink


def test_finite_difference_uncertainty_stays_small_off_kinks():
    """The kink allowance cannot hide a wrong gradient: off kinks the uncertainty is tiny."""
    model = Model("relu", "softmax", "column", (5, 4, 3))
    rng = np.random.default_rng(1)
    params = init_params(model, rng)
    X, Y = rng.standard_normal((5, 7)), data.one_hot(rng.integers(0, 3, 7), 3, "column")
    cd = reference.central_differences(loss_function(model, X, Y), params)
    assert max(float(np.max(u)) for u in cd.uncertainty.values()) < 1e-4
    wrong = 2 * gradients(model, params, X, Y)["W2"]
    assert not np.all(np.abs(wrong - cd.estimate["W2"]) <= 1e-5 + cd.uncertainty["W2"])


@given(problems(), st.data())
def test_permuting_the_batch_leaves_gradients_unchanged(problem, draw):
    model, params, X, Y = problem
    m = X.shape[1] if model.layout == "column" else X.shape[0]
    order = np.array(draw.draw(st.permutations(range(m))))
    take = (lambda A: A[:, order]) if model.layout == "column" else (lambda A: A[order])
    slack = _slack(model, params, X, Y)
    for name in FORMULATIONS:
        _assert_close(
            gradients(model, params, take(X), take(Y), name),
            gradients(model, params, X, Y, name),
            "formulations",
            slack=slack,
        )


# Found by Hypothesis: logits of 20 make dZ4 = A - Y about 1e-8, where an ulp of A (NumPy's exp
# differs by one between batch lengths) is a relative 1e-8: rounding, which the slack allows.
_SATURATED = (
    Model("identity", "softmax", "row", (1, 1, 5, 1, 8)),
    {"W1": np.zeros((1, 1)), "b1": np.zeros((1, 1)), "W2": np.zeros((1, 5))}
    | {"b2": np.full((1, 5), 2.0), "W3": -np.ones((5, 1)), "b3": np.zeros((1, 1))}
    | {"W4": np.eye(1, 8) * -2.0, "b4": np.zeros((1, 8))},
    np.zeros((1, 1)),
    np.eye(1, 8),
)


@given(problems(), st.integers(1, 15))
@example(_SATURATED, 1)
def test_gradients_of_the_summed_loss_add_over_a_split_of_the_batch(problem, split):
    model, params, X, Y = problem
    m = X.shape[1] if model.layout == "column" else X.shape[0]
    if m < 2:
        m, X, Y = 2, *(np.concatenate([A, A], axis=1 - model.class_axis) for A in (X, Y))
    k = 1 + (split - 1) % (m - 1)
    cut = (lambda A, s: A[:, s]) if model.layout == "column" else (lambda A, s: A[s])
    head, tail = slice(0, k), slice(k, m)
    # m times the whole batch's rounding, k and m - k times the parts'
    parts = [_slack(model, params, X, Y, m)]
    parts += [_slack(model, params, cut(X, s), cut(Y, s), n) for s, n in ((head, k), (tail, m - k))]
    slack = {key: sum(np.max(p[key]) for p in parts) for key in parts[0]}
    for name in FORMULATIONS:
        whole = gradients(model, params, X, Y, name)
        g1 = gradients(model, params, cut(X, head), cut(Y, head), name)
        g2 = gradients(model, params, cut(X, tail), cut(Y, tail), name)
        summed = {key: k * g1[key] + (m - k) * g2[key] for key in whole}
        _assert_close({key: m * v for key, v in whole.items()}, summed, "formulations", slack=slack)


@given(problems(value_bound=1.0))
def test_float32_matches_the_float64_oracle_within_float32_tolerance(problem):
    model, params, X, Y = problem
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    # float32 rounding or underflow moves a pre-activation this near a kink across it (Hypothesis
    # found W2 = 2**-126 times an A1 of 1e-17: 0 in float32, > 0 in float64, and ReLU' flips)
    assume(not kink_within_reach(model, _f64(p32), X32.astype(F64), reach=1e-3))
    expected = reference.jax_gradients(model, p32, X32, Y32)
    for name in FORMULATIONS:
        grads = gradients(model, p32, X32, Y32, name)
        assert all(g.dtype == np.float32 for g in grads.values()), name
        _assert_close(grads, expected, "autodiff", np.float32)


@given(problems())
def test_loss_equals_the_oracles_loss(problem):
    model, params, X, Y = problem
    for name in FORMULATIONS:
        value = loss(model, params, X, Y, name)
        assert value == pytest.approx(reference.jax_loss(model, params, X, Y), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("recipe", DOCUMENT_MODELS)
@pytest.mark.parametrize("formulation", list(FORMULATIONS))
def test_document_recipes_on_a_real_mnist_batch_equal_jax(recipe, formulation):
    rng = np.random.default_rng(64)
    model = recipe_model(RECIPES[recipe])
    params = init_params(model, rng, RECIPES[recipe].init, RECIPES[recipe].init_scale)
    X, Y = mnist_batch(model, 64, rng)
    assert X.shape == model.data_shapes(64)[0] and 0 <= X.min() and X.max() <= 1
    expected = reference.jax_gradients(model, params, X, Y)
    grads = gradients(model, params, X, Y, formulation)
    assert max(relative_error(grads[k], expected[k]) for k in params) <= 1e-10
