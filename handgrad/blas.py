"""The three BLAS routines `handgrad.fast` builds a step from, each bound once to its arrays.

    gemm  C := alpha op(A) op(B) + beta C      (C column-major; A, B strided any way BLAS reads)
    gemv  y := alpha A x + beta y
    ger   A := alpha x y^T + A                 (A column-major)

A bound call is a `functools.partial` that runs the routine on the same memory every time it is
called, and holds its arrays (`.arrays`) so that memory cannot go away under it.

Which BLAS: the one NumPy itself loaded (OpenBLAS 0.3.31 in NumPy's wheels), through its CBLAS
interface (ctypes, found in NumPy's own extension module, so no path is guessed). Then the training
step, NumPy's products (the gradient gate, `handgrad bench`'s floor, a user's own code) share one
library and one thread pool. The fallback, and `HANDGRAD_BLAS=scipy`, is scipy.linalg.blas
(f2py, its own OpenBLAS): used when NumPy's BLAS has no CBLAS symbol we know, or for an operand
whose strides BLAS cannot read in place (scipy copies it on each call).

Measured on the 2-core EPYC, the two backends alternating in one process (the parameters come out
bit for bit the same): an epoch or run on NumPy's OpenBLAS 0.3.31 takes 0.935x the time on
scipy's 0.3.30 for mlp-128, 0.96-1.0x for mlp-512x2, 0.89x for doc002.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from functools import cache, partial

import numpy as np
from scipy.linalg import blas as scipy_blas

COL_MAJOR, NO_TRANS, TRANS = 102, 111, 112  # CBLAS enums
# (symbol prefix, symbol suffix, integer type): NumPy's scipy-openblas (ILP64), other ILP64, LP64
_CBLAS_NAMES = (
    ("scipy_cblas_", "64_", ctypes.c_int64),
    ("cblas_", "64_", ctypes.c_int64),
    ("scipy_cblas_", "", ctypes.c_int),
    ("cblas_", "", ctypes.c_int),
)
# the arguments of gemm, gemv, ger: o an enum, i an integer, s a scalar, p a pointer
_SIGNATURES = ("oooiiispipispi", "ooiispipispi", "oiispipipi")
_SCALAR = {
    np.dtype(np.float32): ("s", ctypes.c_float),
    np.dtype(np.float64): ("d", ctypes.c_double),
}


@dataclass(frozen=True)
class Routines:
    """gemm, gemv and ger of one dtype, each returning a bound call (see the module's docstring)."""

    name: str  # where the routines come from, e.g. "numpy's BLAS (cblas, scipy_cblas_*64_)"
    dtype: np.dtype
    _cblas: tuple | None  # (gemm, gemv, ger) ctypes functions, or None: scipy only

    def gemm(self, alpha: float, A: np.ndarray, B: np.ndarray, beta: float, C: np.ndarray):
        """C := alpha A B + beta C; C must be column-major (Fortran-contiguous)."""
        self._written(C)
        a, b = self._read(A), self._read(B)
        if self._cblas is None or a is None or b is None:
            return _scipy_gemm(self.dtype, alpha, A, B, beta, C)
        (ta, lda), (tb, ldb) = a, b
        (m, k), n = A.shape, B.shape[1]
        ldc = max(1, m)
        args = (COL_MAJOR, ta, tb, m, n, k, alpha, _at(A), lda, _at(B), ldb, beta, _at(C), ldc)
        call = partial(self._cblas[0], *args)
        return _bound(call, "gemm", A, B, C)

    def gemv(self, alpha: float, A: np.ndarray, x: np.ndarray, beta: float, y: np.ndarray):
        """y := alpha A x + beta y; y must be contiguous."""
        self._written(y)
        a, incx, incy = self._read(A), self._increment(x), _increment(y)
        if self._cblas is None or a is None or not incx:
            return _scipy_gemv(self.dtype, alpha, A, x, beta, y)
        trans, lda = a
        m, n = A.shape if trans == NO_TRANS else A.shape[::-1]  # the matrix as stored
        args = (COL_MAJOR, trans, m, n, alpha, _at(A), lda, _at(x), incx, beta, _at(y), incy)
        call = partial(self._cblas[1], *args)
        return _bound(call, "gemv", A, x, y)

    def ger(self, alpha: float, x: np.ndarray, y: np.ndarray, A: np.ndarray):
        """A := alpha x y^T + A; A must be column-major (Fortran-contiguous)."""
        self._written(A)
        incx, incy = self._increment(x), self._increment(y)
        if self._cblas is None or not incx or not incy:
            return _scipy_ger(self.dtype, alpha, x, y, A)
        m, n = A.shape
        args = (COL_MAJOR, m, n, alpha, _at(x), incx, _at(y), incy, _at(A), max(1, m))
        call = partial(self._cblas[2], *args)
        return _bound(call, "ger", x, y, A)

    def _read(self, A: np.ndarray):
        """How BLAS reads input matrix A in place (see `_operand`); None: scipy, which converts."""
        return _operand(A) if A.dtype == self.dtype else None

    def _increment(self, x: np.ndarray) -> int:
        return _increment(x) if x.dtype == self.dtype else 0

    def _written(self, C: np.ndarray) -> None:
        """Refuse an output BLAS could not write in place (scipy would write into a copy)."""
        if C.dtype != self.dtype or not (C.flags.f_contiguous and C.flags.writeable):
            raise ValueError(
                f"BLAS cannot write in place into a {C.dtype} array with strides {C.strides}: "
                f"it must be {self.dtype}, writeable and column-contiguous"
            )


def routines(dtype, backend: str | None = None) -> Routines:
    """The routines of `dtype` (float32 or float64) from `backend`: "numpy" (the default, or
    $HANDGRAD_BLAS) or "scipy"."""
    dtype = np.dtype(dtype)
    backend = backend or os.environ.get("HANDGRAD_BLAS", "numpy")
    if backend not in ("numpy", "scipy"):
        raise ValueError(f"HANDGRAD_BLAS must be 'numpy' or 'scipy', got {backend!r}")
    found = _numpy_cblas(dtype) if backend == "numpy" and dtype in _SCALAR else None
    if found is None:
        return Routines("scipy.linalg.blas", dtype, None)
    name, functions = found
    return Routines(f"numpy's BLAS (cblas, {name})", dtype, functions)


def threads() -> int | None:
    """The thread count of the OpenBLAS NumPy loaded (None where it cannot be asked): a product's
    sums are split by thread, so its last bits depend on it."""
    try:
        library = ctypes.CDLL(np._core._multiarray_umath.__file__)
    except (AttributeError, OSError):
        return None
    for name in (
        "scipy_openblas_get_num_threads64_",
        "scipy_openblas_get_num_threads",
        "openblas_get_num_threads64_",
        "openblas_get_num_threads",
    ):
        function = getattr(library, name, None)
        if function is not None:
            function.restype, function.argtypes = ctypes.c_int, []
            return int(function())
    return None


@cache
def _numpy_cblas(dtype: np.dtype):
    """(symbol pattern, (gemm, gemv, ger)) of NumPy's CBLAS for dtype, or None if not found."""
    try:
        library = ctypes.CDLL(np._core._multiarray_umath.__file__)  # searches its dependencies too
    except (AttributeError, OSError):
        return None
    letter, scalar = _SCALAR[dtype]
    for prefix, suffix, integer in _CBLAS_NAMES:
        try:
            gemm, gemv, ger = (
                getattr(library, f"{prefix}{letter}{routine}{suffix}")
                for routine in ("gemm", "gemv", "ger")
            )
        except AttributeError:
            continue
        kinds = {"o": ctypes.c_int, "i": integer, "s": scalar, "p": ctypes.c_void_p}
        for function, signature in zip((gemm, gemv, ger), _SIGNATURES, strict=True):
            function.argtypes = [kinds[kind] for kind in signature]
            function.restype = None
        return f"{prefix}*{suffix}", (gemm, gemv, ger)
    return None


def _operand(A: np.ndarray):
    """(transpose flag, leading dimension) under which BLAS reads A (m x n) in place, or None.

    Column-major with columns ld apart (a Fortran array, or a slice of its rows) is read as it is;
    row-major (a C array, a slice of its columns) as the transpose of a column-major matrix.
    """
    m, n = A.shape
    item = A.itemsize
    s0, s1 = A.strides
    if not A.flags.aligned or m == 0 or n == 0 or s0 % item or s1 % item:
        return None
    if (m == 1 or s0 == item) and (n == 1 or s1 >= m * item):
        return NO_TRANS, (s1 // item if n > 1 else m)
    if (n == 1 or s1 == item) and (m == 1 or s0 >= n * item):
        return TRANS, (s0 // item if m > 1 else n)
    return None


def _increment(x: np.ndarray) -> int:
    """The increment BLAS steps through vector x by (0: one it cannot read in place)."""
    step = x.strides[0] if len(x) > 1 else x.itemsize
    return step // x.itemsize if x.flags.aligned and step > 0 and step % x.itemsize == 0 else 0


def _at(a: np.ndarray) -> int:
    return a.ctypes.data


def _bound(call: partial, routine: str, *arrays: np.ndarray) -> partial:
    call.routine, call.arrays = routine, arrays  # held: the call reads and writes their memory
    return call


def _scipy(dtype: np.dtype, routine: str):
    return scipy_blas.get_blas_funcs(routine, dtype=dtype)


def _scipy_gemm(dtype, alpha, A, B, beta, C):
    a, trans_a = (A, 0) if A.flags.f_contiguous else (A.T, 1)
    b, trans_b = (B, 0) if B.flags.f_contiguous else (B.T, 1)
    call = partial(_scipy(dtype, "gemm"), alpha, a, b, beta, C, trans_a, trans_b, 1)
    return _bound(call, "gemm", A, B, C)


def _scipy_gemv(dtype, alpha, A, x, beta, y):
    a, trans = (A, 0) if A.flags.f_contiguous else (A.T, 1)
    call = partial(_scipy(dtype, "gemv"), alpha, a, x, beta, y, 0, 1, 0, 1, trans, 1)
    return _bound(call, "gemv", A, x, y)


def _scipy_ger(dtype, alpha, x, y, A):
    call = partial(_scipy(dtype, "ger"), alpha, x, y, 1, 1, A, 1, 1, 1)
    return _bound(call, "ger", x, y, A)
