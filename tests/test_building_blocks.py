"""Activations, losses, the tolerance table, models, bad input and the docstrings' shapes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import handgrad
from handgrad import column_major, data, row_major
from handgrad.activations import elu, relu, sigmoid, softmax
from handgrad.formulations import FORMULATIONS, gradients
from handgrad.losses import mse, softmax_cross_entropy
from handgrad.models import Model, init_params, parse_model, parse_sizes
from handgrad.recipes import RECIPES, get_recipe
from handgrad.tolerances import COMPARISONS, TOLERANCES, tolerance
from handgrad.verify import DOCUMENT_MODELS


def test_sigmoid_does_not_overflow_at_1000():
    z = np.array([-1000.0, 0.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert sigmoid(z).tolist() == [0.0, 0.5, 1.0]
        assert sigmoid.f_prime(z).tolist() == [0.0, 0.25, 0.0]
    assert sigmoid(z.astype(np.float32)).dtype == np.float32


def test_relu_derivative_at_zero_is_zero_as_the_documents_mask():
    z = np.array([-1.0, 0.0, 2.0])
    assert relu(z).tolist() == [0.0, 0.0, 2.0]
    assert relu.f_prime(z).tolist() == (z > 0).astype(float).tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_elu_values_and_derivative(alpha):
    f = elu(alpha)
    z = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(f(z), [-alpha, alpha * np.expm1(-1), 0, 1, 1000])
        np.testing.assert_allclose(f.f_prime(z), [0, alpha * np.exp(-1), alpha, 1, 1])


def test_softmax_is_max_subtracted_over_the_class_axis_of_either_layout():
    Z = np.array([[1000.0, 0.0], [999.0, 1.0], [0.0, 2.0]])  # column layout: 3 classes x 2 examples
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        A = softmax(Z, 0)
    np.testing.assert_allclose(A.sum(axis=0), 1.0)
    np.testing.assert_allclose(A[:, 0], [1 / (1 + np.e**-1), 1 / (1 + np.e), 0.0], atol=1e-300)
    np.testing.assert_array_equal(softmax(Z.T, 1), A.T)


def test_losses_match_their_definitions():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((4, 6))
    Y = data.one_hot(rng.integers(0, 4, 6), 4, "column")
    A = sigmoid(Z)
    assert mse.value(Z, Y, 0) == pytest.approx(np.sum((A - Y) ** 2) / 6)
    P = np.exp(Z) / np.exp(Z).sum(axis=0)
    assert softmax_cross_entropy.value(Z, Y, 0) == pytest.approx(-np.sum(Y * np.log(P)) / 6)
    np.testing.assert_allclose(softmax_cross_entropy.delta(Z, Y, 0, 6), (P - Y) / 6)


def test_cross_entropy_is_finite_for_extreme_logits():
    Z = np.array([[1000.0], [-1000.0]])
    Y = np.array([[0.0], [1.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert softmax_cross_entropy.value(Z, Y, 0) == pytest.approx(2000.0)


def test_the_tolerance_table_covers_every_dtype_and_comparison():
    for dtype in ("float32", "float64"):
        for comparison in COMPARISONS:
            tol = tolerance(dtype, comparison)
            assert 0 < tol.rtol < 1 and 0 < tol.atol < 1
    assert tolerance("float64", "autodiff").rtol <= 1e-10
    assert len(TOLERANCES) == 2 * len(COMPARISONS)
    with pytest.raises(ValueError, match="float16"):
        tolerance("float16", "autodiff")


@pytest.mark.parametrize(
    ("name", "sizes", "message"),
    [
        ("relu-softmax", (4, 3), "does not parse"),
        ("tanh-softmax-column", (4, 3), "unknown hidden activation 'tanh'"),
        ("relu-hinge-column", (4, 3), "unknown output 'hinge'"),
        ("relu-softmax-diagonal", (4, 3), "unknown layout 'diagonal'"),
        ("relu-softmax-column", (4,), "sizes"),
        ("relu-softmax-column", (4, 0, 3), "sizes"),
    ],
)
def test_bad_model_names_and_sizes_raise_value_error_naming_the_problem(name, sizes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_model(name, sizes)


def test_parse_sizes():
    assert parse_sizes("784,10,10") == (784, 10, 10)
    with pytest.raises(ValueError, match="784,ten"):
        parse_sizes("784,ten")


@pytest.fixture
def small():
    model = Model("relu", "softmax", "column", (4, 3, 2))
    rng = np.random.default_rng(0)
    params = init_params(model, rng)
    return model, params, rng.standard_normal((4, 5)), data.one_hot(np.arange(5) % 2, 2, "column")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p, X, Y: (p, X.T, Y), r"X has shape \(5, 4\), expected \(4, m\): column layout"),
        (lambda p, X, Y: (p, X[:3], Y), r"X has shape \(3, 5\), expected \(4, m\)"),
        (lambda p, X, Y: (p, X, Y[:, :4]), r"Y has shape \(2, 4\), expected \(2, 5\)"),
        (lambda p, X, Y: (p, np.where(X > 0, np.nan, X), Y), "X has non-finite entries"),
        (lambda p, X, Y: (p, X, np.where(Y > 0, np.inf, Y)), "Y has non-finite entries"),
        (lambda p, X, Y: (p, X, 2 * Y), "sums to 1; got per-example sums from 2 to 2"),
        (lambda p, X, Y: (p, X, 2 * Y - 0.5), r"got a negative entry \(-0.5\)"),
        (
            lambda p, X, Y: ({**p, "W1": p["W1"].T}, X, Y),
            r"W1 has shape \(4, 3\), expected \(3, 4\)",
        ),
        (lambda p, X, Y: ({k: v for k, v in p.items() if k != "b2"}, X, Y), "expected keys"),
        (lambda p, X, Y: ({**p, "b1": p["b1"] * np.nan}, X, Y), "b1 has non-finite entries"),
    ],
)
@pytest.mark.parametrize("formulation", list(FORMULATIONS))
def test_bad_input_raises_value_error_naming_the_problem(small, change, message, formulation):
    model, params, X, Y = small
    with pytest.raises(ValueError, match=message):
        gradients(model, *change(params, X, Y), formulation)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda p, X, Y: (p, X[:, :0], Y[:, :0]), ValueError, r"X holds no examples \(m = 0"),
        (lambda p, X, Y: (p, X, None), ValueError, r"Y \(the one-hot targets\) is required"),
        (
            lambda p, X, Y: (p, X + 1j, Y),
            TypeError,
            "X must hold real numbers, got dtype complex128",
        ),
        (lambda p, X, Y: (p, X.astype(str), Y), TypeError, "X must hold real numbers"),
        (lambda p, X, Y: (p, X, Y.astype(object)), TypeError, "Y must hold real numbers"),
        (lambda p, X, Y: ({**p, "W2": p["W2"].tolist()}, X, Y), TypeError, "W2 must be a NumPy"),
        (lambda p, X, Y: ({**p, "b1": p["b1"] + 0j}, X, Y), TypeError, "b1 must hold real numbers"),
        (lambda p, X, Y: (list(p.values()), X, Y), TypeError, "params must be a dict"),
    ],
)
@pytest.mark.parametrize("formulation", list(FORMULATIONS))
def test_bad_types_and_empty_batches_are_named(small, change, error, message, formulation):
    model, params, X, Y = small
    with pytest.raises(error, match=message):
        gradients(model, *change(params, X, Y), formulation)


def test_a_model_must_be_a_model_and_its_alpha_a_positive_number(small):
    model, params, X, Y = small
    with pytest.raises(TypeError, match=r"model must be a handgrad Model.*got str"):
        gradients(model.name, params, X, Y)
    with pytest.raises(TypeError, match="model must be a handgrad Model"):
        handgrad.init_params("relu-softmax-column", np.random.default_rng(0))
    for alpha in (float("nan"), 0.0, -1.0, "1", True):
        with pytest.raises(ValueError, match="alpha must be a positive finite number"):
            parse_model("elu-softmax-column", (4, 3, 2), alpha)
    assert parse_model("elu-softmax-column", (4, 3, 2), np.float32(0.5)).alpha == 0.5


def test_init_params_names_a_bad_rng_dtype_or_scale(small):
    model = small[0]
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        handgrad.init_params(model, 0)
    with pytest.raises(ValueError, match="dtype must be a floating-point type, got int32"):
        handgrad.init_params(model, np.random.default_rng(0), "uniform", dtype=np.int32)
    with pytest.raises(ValueError, match="scale must be a finite number >= 0, got nan"):
        handgrad.init_params(model, np.random.default_rng(0), "uniform", float("nan"))


def test_elu_builds_an_activation_and_says_so_when_given_values():
    assert handgrad.elu(2.0).f(np.array([-np.inf, 1.0])).tolist() == [-2.0, 1.0]
    with pytest.raises(TypeError, match=r"elu\(alpha\).f\(Z\)"):
        handgrad.elu(np.array([1.0, -1.0]))


def test_relative_error_refuses_shapes_that_would_broadcast():
    assert handgrad.relative_error(np.array([1.0, 2.0]), np.array([1.0, 4.0])) == 0.5
    with pytest.raises(ValueError, match=r"shapes differ: \(3, 1\) and \(3,\)"):
        handgrad.relative_error(np.ones((3, 1)), np.ones(3))
    with pytest.raises(ValueError, match=r"shapes differ: \(2,\) and \(3,\)"):
        handgrad.relative_error(np.ones(2), np.ones(3))
    assert handgrad.relative_error(2.0, np.array([[4.0]])) == 0.5  # a number against a 1 x 1
    assert handgrad.relative_error(np.ones((1, 3)), np.full(3, 2.0)) == 0.5


def test_unknown_formulation_and_recipe():
    with pytest.raises(ValueError, match="unknown formulation 'diagonal'"):
        handgrad.get_formulation("diagonal")
    with pytest.raises(ValueError, match="unknown recipe 'resnet'"):
        get_recipe("resnet")


def _docstring_shapes(module) -> dict[str, str]:
    """{"dW^l": "n_l x n_(l-1)", ...} from the lines of the module docstring that name shapes."""
    found = {}
    for line in module.__doc__.splitlines():
        match = re.match(
            r"\s+(d[WbZ]\^\S+)\s+=.*\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*(--.*)?$", line
        )
        if match:
            found[match.group(1)] = match.group(2)
    return found


@pytest.mark.parametrize("module", [column_major, row_major])
def test_the_docstring_shapes_are_the_shapes_the_code_returns(module):
    """STYLE point 3: the equations quoted in the docstring cannot drift from the code."""
    shapes = _docstring_shapes(module)
    assert set(shapes) == {"dZ^L", "dW^l", "db^l", "dZ^(l-1)"}, shapes
    model = Model("sigmoid", "softmax", module.NATIVE_LAYOUT, (7, 5, 3))
    rng = np.random.default_rng(0)
    params = init_params(model, rng)
    m = 4
    X = rng.standard_normal(model.data_shapes(m)[0])
    Y = data.one_hot(np.arange(m) % 3, 3, module.NATIVE_LAYOUT)
    grads = module.backward(model, params, module.forward(model, params, X), Y)
    l, L = 2, model.depth

    def evaluate(text: str, layer: int) -> tuple[int, ...]:
        names = {"m": m, "n_l": model.sizes[layer], "n_(l-1)": model.sizes[layer - 1]}
        names["n_L"] = model.sizes[L]
        return tuple(
            names[part.strip()] if not part.strip().isdigit() else int(part)
            for part in text.split(" x ")
        )

    assert grads[f"dZ{L}"].shape == evaluate(shapes["dZ^L"], L)
    assert grads[f"dW{l}"].shape == evaluate(shapes["dW^l"], l)
    assert grads[f"db{l}"].shape == evaluate(shapes["db^l"], l)
    assert grads[f"dZ{l - 1}"].shape == evaluate(
        shapes["dZ^(l-1)"].replace("n_(l-1)", "n_l"), l - 1
    )


def test_every_document_has_a_recipe():
    assert get_recipe("004").model == "elu-softmax-column"
    assert {d for rec in RECIPES.values() for d in rec.documents} >= {
        "000",
        "001",
        "002",
        "003",
        "004",
    }


def test_uniform_init_is_documents_rand_minus_half_and_seeded():
    model = parse_model("relu-softmax-column", (784, 10, 10))
    a = init_params(model, np.random.default_rng(3), "uniform", 0.5)
    b = init_params(model, np.random.default_rng(3), "uniform", 0.5)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert all(-0.5 <= v.min() and v.max() <= 0.5 for v in a.values())
    assert {k: v.shape for k, v in a.items()} == {
        "W1": (10, 784),
        "b1": (10, 1),
        "W2": (10, 10),
        "b2": (10, 1),
    }


def test_verify_command_passes_on_real_mnist_and_prints_json():
    out = subprocess.run(
        [sys.executable, "-m", "handgrad", "verify", "--json", "--batch-size", "32"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["passed"] is True
    rows = {(r["formulation"], r["model"]) for r in report["rows"]}
    assert rows == {(f, r) for f in FORMULATIONS for r in DOCUMENT_MODELS}
    assert all(r["rel_error_jax"] <= 1e-10 for r in report["rows"])
    for r in report["rows"]:  # two kinds of finite-difference error, and the larger of them
        assert r["rel_error_fd"] == max(r["rel_error_directions"], r["rel_error_entries"]) > 0


def test_verify_fails_when_a_formulation_is_wrong(monkeypatch):
    from handgrad import verify

    def wrong(model, params, X, Y, formulation=None):
        g = gradients(model, params, X, Y, formulation)
        return {**g, "b1": -g["b1"]}

    monkeypatch.setattr(verify, "gradients", wrong)
    rows = verify.verify(recipes=("relu-softmax-column",), formulations=("column",), batch_size=8)
    assert [r.passed for r in rows] == [False]
    assert rows[0].rel_error_jax > 0.1
    assert not rows[0].passed_jax and not rows[0].passed_fd  # a sign is wrong against both
    assert rows[0].rel_error_entries > 0.1  # the sampled entries of b1 see it
    assert "FAIL (both)" in verify.format_table(rows)
