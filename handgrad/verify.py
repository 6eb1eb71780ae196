"""`handgrad verify`: every formulation x document model against JAX autodiff and finite differences.

For each document recipe: random parameters (the recipe's initialisation, float64, a fixed seed) and a
real batch of MNIST training images. The hand gradient of each formulation is compared
- with `jax.grad` of the oracle's loss: the norm-wise relative error per parameter, and
- with finite differences of the oracle's loss (its value never comes from handgrad's forward
  pass): random-direction derivatives by `scipy.differentiate` plus central differences at a few
  sampled entries of every tensor (biases included). Each finite-difference estimate carries an
  uncertainty; a mismatch within it is not counted against the formulation, and estimates whose
  step crosses a ReLU/ELU kink (which side of each kink is read off handgrad's forward pass,
  `check.kink_sides`) are left out.
A failing row says which comparison failed: FAIL (JAX), FAIL (FD) or FAIL (both).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial

import numpy as np

import reference
from handgrad import data
from handgrad.check import kink_sides
from handgrad.formulations import FORMULATIONS, gradients
from handgrad.models import Model, Params, init_params, parse_model
from handgrad.recipes import DOCUMENT_RECIPES, RECIPES, Recipe
from handgrad.tolerances import close, relative_error, tolerance


@dataclass(frozen=True)
class VerifyRow:
    """One formulation x model result."""

    formulation: str
    model: str
    documents: str
    rel_error_jax: float  # max over tensors of ||g - g_jax|| / ||g_jax||
    rel_error_fd: float  # the larger of the next two
    passed: bool
    passed_jax: bool = True  # the comparison with JAX autodiff
    passed_fd: bool = True  # the comparison with finite differences
    rel_error_directions: float = 0.0  # max over directions d of |<g, d> - D_d L| / |D_d L|
    rel_error_entries: float = 0.0  # max over sampled entries of |g_i - cd_i| / max|g| (its tensor)


def recipe_model(recipe: Recipe) -> Model:
    """The Model a recipe trains."""
    return parse_model(recipe.model, recipe.sizes, recipe.alpha)


def mnist_batch(model: Model, m: int, rng: np.random.Generator, data_dir=None):
    """A batch of m real MNIST training images (X) and one-hot labels (Y) in the model's layout."""
    train = data.load("mnist", "train", data_dir=data_dir)
    rows = rng.choice(len(train.labels), size=m, replace=False)
    X = np.asarray(train.images[rows], np.float64)
    Y = data.one_hot(train.labels[rows], model.sizes[-1], "row")
    return (X.T.copy(), Y.T.copy()) if model.layout == "column" else (X, Y)


def _sampled_entries(params: Params, per_tensor: int, rng: np.random.Generator) -> dict:
    """A few random entries of every tensor, so that no tensor (biases included) is skipped."""
    entries = {}
    for key, value in params.items():
        flat = rng.choice(value.size, size=min(per_tensor, value.size), replace=False)
        entries[key] = [np.unravel_index(i, value.shape) for i in flat]
    return entries


def finite_difference_error(
    f,
    params: Params,
    grads: Params,
    rng: np.random.Generator,
    directions: int = 2,
    per_tensor: int = 4,
) -> tuple[float, float, bool]:
    """(worst directional relative error, worst entry error relative to its tensor's max|g|,
    within tolerance) of `grads` against finite differences of f: two kinds of error, so two
    numbers.

    f may name its smooth pieces (`reference.central_differences`): a direction that finds no step
    on p's piece, and an entry whose step leaves it, judge nothing and are left out.
    """
    tol_dir, tol_fd = (
        tolerance(np.float64, "directional"),
        tolerance(np.float64, "finite-difference"),
    )
    worst_d, worst_e, ok = 0.0, 0.0, True
    for _ in range(directions):
        d = reference.random_direction(params, rng)
        est = reference.directional_derivative(f, params, d, initial_step=1e-4)
        if np.isnan(est.derivative):
            continue
        gd = sum(float(np.sum(grads[k] * d[k])) for k in params)
        err = abs(gd - est.derivative)
        scale = max(abs(est.derivative), tol_dir.atol)
        worst_d = max(worst_d, err / scale)
        ok &= err <= tol_dir.atol + tol_dir.rtol * scale + 10 * est.error
    cd = reference.central_differences(f, params, entries=_sampled_entries(params, per_tensor, rng))
    for key, g in grads.items():
        sampled = ~np.isnan(cd.estimate[key]) & np.isfinite(cd.uncertainty[key])
        scale = max(float(np.max(np.abs(g))), tol_fd.atol)
        err = np.abs(g[sampled] - cd.estimate[key][sampled])
        worst_e = max(worst_e, float(err.max(initial=0.0)) / scale)
        ok &= bool(np.all(err <= tol_fd.atol + tol_fd.rtol * scale + cd.uncertainty[key][sampled]))
    return worst_d, worst_e, bool(ok)


def _with_pieces(f, sides, params: Params) -> tuple[float, np.ndarray]:
    return f(params), sides(params)[1]


def verify_recipe(
    recipe: Recipe, formulations=tuple(FORMULATIONS), batch_size=64, seed=0, data_dir=None
) -> list[VerifyRow]:
    """Rows for one document recipe, one per formulation."""
    rng = np.random.default_rng(seed)
    model = recipe_model(recipe)
    params = init_params(model, rng, recipe.init, recipe.init_scale)
    X, Y = mnist_batch(model, batch_size, rng, data_dir)
    g_jax = reference.jax_gradients(model, params, X, Y)
    f, sides = reference.loss_callable(model, X, Y), kink_sides(model, X, Y)
    if sides is not None:  # the oracle's loss, and which side of each kink handgrad's forward is on
        f = partial(_with_pieces, f, sides)
    tol = tolerance(np.float64, "autodiff")
    rows = []
    for name in formulations:
        g = gradients(model, params, X, Y, name)
        rel_jax = max(relative_error(g[k], g_jax[k]) for k in params)
        ok_jax = all(close(g[k], g_jax[k], tol) for k in params)
        rel_d, rel_e, ok_fd = finite_difference_error(f, params, g, np.random.default_rng(seed))
        docs, ok = ",".join(recipe.documents), ok_jax and ok_fd
        row = VerifyRow(
            name, model.name, docs, rel_jax, max(rel_d, rel_e), ok, ok_jax, ok_fd, rel_d, rel_e
        )
        rows.append(row)
    return rows


DOCUMENT_MODELS = tuple(dict.fromkeys(DOCUMENT_RECIPES.values()))  # 000-004's four models


def verify(
    recipes=DOCUMENT_MODELS, formulations=tuple(FORMULATIONS), batch_size=64, seed=0, data_dir=None
) -> list[VerifyRow]:
    """Rows for every document recipe x formulation."""
    return [
        row
        for name in recipes
        for row in verify_recipe(RECIPES[name], formulations, batch_size, seed, data_dir)
    ]


def format_table(rows: list[VerifyRow]) -> str:
    """The human-readable table."""
    header = (
        f"{'formulation':<12} {'model':<20} {'docs':<7} {'vs JAX':>8} {'FD dirs':>8} "
        f"{'FD entries':>10}  verdict"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        failed = [n for n, ok in (("JAX", r.passed_jax), ("FD", r.passed_fd)) if not ok]
        verdict = "PASS" if r.passed else f"FAIL ({'both' if len(failed) != 1 else failed[0]})"
        lines.append(
            f"{r.formulation:<12} {r.model:<20} {r.documents:<7} {r.rel_error_jax:>8.1e} "
            f"{r.rel_error_directions:>8.1e} {r.rel_error_entries:>10.1e}  {verdict}"
        )
    lines += [
        "",
        "vs JAX: ||g - g_jax|| / ||g_jax||, the worst tensor; FD dirs: |<g, d> - D_d L| / |D_d L|,",
        "the worst random direction d; FD entries: |g_i - central difference| / max|g|, the worst",
        "sampled entry (4 per tensor); each finite difference is judged within its own uncertainty.",
    ]
    return "\n".join(lines)


def rows_to_json(rows: list[VerifyRow]) -> dict:
    """{"passed": bool, "rows": [...]} for --json."""
    return {"passed": all(r.passed for r in rows), "rows": [asdict(r) for r in rows]}
