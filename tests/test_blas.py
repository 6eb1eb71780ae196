"""handgrad.blas: each bound call computes its routine in place, from either backend, on any layout
BLAS can read (and through scipy's copy on one it cannot)."""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from handgrad import blas, fast
from handgrad.models import Model
from handgrad.tolerances import close, tolerance

BACKENDS = ("numpy", "scipy")
DTYPES = (np.float32, np.float64)
# how a matrix can lie in memory: C or Fortran order, a slice of a wider C array's columns or of a
# taller Fortran array's rows (a leading dimension larger than the matrix), or every other row and
# column (strides BLAS cannot read: scipy copies it)
LAYOUTS = ("C", "F", "C columns", "F rows", "strided")


def _lay(a: np.ndarray, layout: str) -> np.ndarray:
    m, n = a.shape
    if layout == "C":
        return np.ascontiguousarray(a)
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "C columns":
        wide = np.zeros((m, n + 3), a.dtype)
        wide[:, 1 : n + 1] = a
        return wide[:, 1 : n + 1]
    if layout == "F rows":
        tall = np.zeros((m + 3, n), a.dtype, order="F")
        tall[1 : m + 1] = a
        return tall[1 : m + 1]
    big = np.zeros((2 * m, 2 * n), a.dtype)
    big[::2, ::2] = a
    return big[::2, ::2]


def _expected_close(actual, expected, dtype) -> bool:
    return close(actual, expected, tolerance(dtype, "formulations"))


dims = st.integers(1, 6)
# what every routine's property draws: the backend, the dtype, a matrix's m x n and a seed
common = {
    "backend": st.sampled_from(BACKENDS),
    "dtype": st.sampled_from(DTYPES),
    "m": dims,
    "n": dims,
    "seed": st.integers(0, 2**16),
}


@given(
    **common,
    k=dims,
    layouts=st.tuples(st.sampled_from(LAYOUTS), st.sampled_from(LAYOUTS)),
    alpha=st.sampled_from([1.0, -0.5]),
    beta=st.sampled_from([0.0, 1.0]),
)
def test_gemm_is_alpha_A_B_plus_beta_C_in_place(
    backend, dtype, m, k, n, layouts, alpha, beta, seed
):
    rng = np.random.default_rng(seed)
    A0, B0 = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    C = np.asfortranarray(rng.standard_normal((m, n))).astype(dtype, order="F")
    expected = alpha * (A0.astype(dtype) @ B0.astype(dtype)).astype(np.float64) + beta * C
    A, B = (_lay(x.astype(dtype), lay) for x, lay in zip((A0, B0), layouts, strict=True))
    call = blas.routines(dtype, backend).gemm(alpha, A, B, beta, C)
    call()
    assert _expected_close(C, expected, dtype)


@given(
    **common, layout=st.sampled_from(LAYOUTS), x_step=st.sampled_from([1, 2]), beta=st.booleans()
)
def test_gemv_is_alpha_A_x_plus_beta_y_in_place(backend, dtype, m, n, layout, x_step, beta, seed):
    rng = np.random.default_rng(seed)
    A = _lay(rng.standard_normal((m, n)).astype(dtype), layout)
    x = rng.standard_normal(n * x_step).astype(dtype)[::x_step]
    y = rng.standard_normal(m).astype(dtype)
    expected = -2.0 * (A.astype(np.float64) @ x) + beta * y
    blas.routines(dtype, backend).gemv(-2.0, A, x, float(beta), y)()
    assert _expected_close(y, expected, dtype)


@given(**common, steps=st.tuples(st.sampled_from([1, 3]), st.sampled_from([1, 2])))
def test_ger_adds_alpha_x_yT_in_place(backend, dtype, m, n, steps, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(m * steps[0]).astype(dtype)[:: steps[0]]
    y = rng.standard_normal(n * steps[1]).astype(dtype)[:: steps[1]]
    A = np.asfortranarray(rng.standard_normal((m, n)).astype(dtype))
    expected = A + 0.5 * np.outer(x, y).astype(np.float64)
    blas.routines(dtype, backend).ger(0.5, x, y, A)()
    assert _expected_close(A, expected, dtype)


def test_a_bound_call_keeps_its_arrays_alive_and_runs_again_on_new_values():
    r = blas.routines(np.float32)
    A, B = np.ones((3, 4), np.float32), np.ones((4, 2), np.float32)
    C = np.zeros((3, 2), np.float32, order="F")
    call = r.gemm(1.0, A, B, 0.0, C)
    del A, B
    gc.collect()
    call()
    np.testing.assert_array_equal(C, 4.0)
    call.arrays[0][:] = 2.0  # the same memory, new values
    call()
    np.testing.assert_array_equal(C, 8.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_output_blas_cannot_write_in_place_is_refused(backend):
    r = blas.routines(np.float32, backend)
    A = np.ones((3, 3), np.float32)
    with pytest.raises(ValueError, match="in place"):
        r.gemm(1.0, A, A, 0.0, np.zeros((3, 3), np.float32)[:, ::2].T)  # not column-contiguous
    with pytest.raises(ValueError, match="in place"):
        r.gemm(1.0, A, A, 0.0, np.zeros((3, 3), np.float64, order="F"))  # another dtype


def test_an_input_of_another_dtype_is_converted_not_misread():
    r = blas.routines(np.float32)
    A, B = np.full((2, 2), 1.5, np.float64), np.ones((2, 2), np.float32)
    C = np.zeros((2, 2), np.float32, order="F")
    r.gemm(1.0, A, B, 0.0, C)()
    np.testing.assert_array_equal(C, 3.0)


def test_the_backend_is_numpys_blas_where_numpy_has_cblas_and_can_be_chosen(monkeypatch):
    numpy_blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    if numpy_blas == "scipy-openblas":  # NumPy's wheels: handgrad must find its CBLAS
        assert blas.routines(np.float32).name.startswith("numpy's BLAS")
    monkeypatch.setenv("HANDGRAD_BLAS", "scipy")
    assert blas.routines(np.float32).name == "scipy.linalg.blas"
    monkeypatch.setenv("HANDGRAD_BLAS", "mkl")
    with pytest.raises(ValueError, match="HANDGRAD_BLAS"):
        blas.routines(np.float32)


@pytest.mark.parametrize("layout", ["row", "column"])
def test_an_epoch_on_either_backend_gives_the_same_parameters(layout):
    model = Model("relu", "softmax", layout, (12, 7, 3))
    rng = np.random.default_rng(0)
    images = rng.standard_normal((40, 12)).astype(np.float32)
    targets = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    shapes = model.param_shapes()
    start = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    order = rng.permutation(40)
    results = []
    for backend in BACKENDS:
        ws = fast.workspace(model, 16)
        ws = dataclasses.replace(ws, blas=blas.routines(np.float32, backend))
        params = {k: v.copy() for k, v in start.items()}
        fast.sgd_epoch(model, params, images, targets, order, 16, 0.1, ws)
        results.append(params)
    for key in start:
        assert not np.array_equal(results[0][key], start[key])
        assert _expected_close(results[1][key], results[0][key], np.float32)


@pytest.mark.parametrize("layout", ["row", "column"])
def test_every_product_of_a_fast_step_goes_to_numpys_cblas_where_numpy_has_it(layout):
    """No silent fallback to scipy (a copy per call) for the views the engine passes."""
    if np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"] != "scipy-openblas":
        pytest.skip("NumPy was built with another BLAS: scipy's is the expected one then")
    model = Model("relu", "softmax", layout, (12, 7, 5, 3))
    rng = np.random.default_rng(0)
    params = {k: rng.standard_normal(s).astype(np.float32) for k, s in model.param_shapes().items()}
    X = rng.standard_normal((40, 12)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    ws = fast.workspace(model, 40, chunk=16)  # chunked: gradients summed with beta = 1
    fast.backprop(model, params, X, Y, ws)
    fast.sgd_step(model, params, X[:16], Y[:16], 0.1, ws)
    calls = [op for _, ops, _, _ in ws.programs.values() for op in ops if hasattr(op, "routine")]
    assert len(calls) > 10
    assert all(isinstance(op.func, ctypes._CFuncPtr) for op in calls)


def test_threads_reads_the_count_numpys_openblas_runs():
    """The count a run records (config's blas_threads), as OPENBLAS_NUM_THREADS sets it."""
    code = "from handgrad import blas; print(blas.threads())"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "1", out.stdout + out.stderr
    assert isinstance(blas.threads(), int) and blas.threads() >= 1
