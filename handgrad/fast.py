"""A fast training step: the equations of `column_major` / `row_major`, evaluated without temporaries.

The math is theirs, quoted in those modules, and `tests/test_bench.py` checks these gradients against
`handgrad.gradients` for every hidden activation x output x layout. Only the evaluation differs:

- Hidden activations are batch-major, one row per example (m x n_l), as mini-batches are gathered
  from the row-major dataset; the output layer is class-major (n_L x m), where softmax's sums over
  classes run along columns. Each product reads the parameters through views in whichever
  orientation it needs (a column-major hidden layer: Z^lT = A^(l-1)T W^lT + b^lT), so neither X nor
  a parameter is ever copied or transposed; BLAS reads the views.
- Every intermediate lives in a `Workspace` allocated once and is written with `out=`: A^l overwrites
  Z^l and dZ^L overwrites Z^L. g'(Z^l) is kept from the forward pass where that is cheaper than
  recomputing it (ReLU: the 0/1 mask Z > 0, which also gives A = Z * mask; ELU: where Z > 0 and
  alpha e^Z) or read off A^l (sigmoid: A (1 - A)).
- Every product is one BLAS call (gemm; gemv for the bias sums, `handgrad.blas`) on views, never
  copies: C := alpha A B + beta C. beta = 1 adds a chunk's gradient to the chunks' before it, and
  lets `sgd_step` update the parameters straight from the products: W^l := W^l - dZ^lT A^(l-1)
  (alpha = -1), where dZ^L already carries lr/m, once dA^(l-1) = dZ^l W^l has read W^l. NumPy's matmul would need
  a gradient buffer and a pass over it for the same update. The calls go to the OpenBLAS NumPy
  loaded (its CBLAS, `handgrad.blas`), so the step and NumPy's own products share one library and
  one thread pool; two pools spin against each other for about 0.1 s after each switch (an epoch
  20% slower when scipy's BLAS ran the step and NumPy's the evaluation).
- The bias is added in place to the product as a rank-1 update, Z^l := Z^l + 1 b^lT (BLAS ger,
  faster than NumPy's broadcast add along rows); db^l = dZ^l summed over the batch is a product with
  a vector of ones (gemv), straight into its gradient (or its parameter).
- A step is a fixed sequence of calls on fixed views, so it is built once, as a list of bound calls
  (`_program`), and kept in the workspace; a step of a 784-128-10 network then spends its time in
  BLAS and ufuncs rather than in Python (an epoch 4-6% faster). Mini-batches are gathered into the
  workspace (`batch`), where the kept calls read them; `_chunk` rebuilds the calls when other arrays
  come in (another X, or parameters replaced rather than updated in place).
- `scale` multiplies dZ^L (which carries the 1/m): lr for plain (S)GD.
- Dropout (`masks`, as `handgrad.regularizers` draws them): A^l := g(Z^l) * M^l in place, and M^l is
  folded into the stored g'(Z^l), so the backward pass is still one multiply per layer.
- A large batch is processed in chunks of `chunk` examples: a chunk of X is still in cache when
  dW^1 = dZ^1T X reads it again, so X streams from memory once per step instead of twice. Gradients
  add over chunks (beta = 1); the 1/m of the whole batch stays in dZ^L.

`handgrad.train` runs its "fast" engine on `batch` and `sgd_step` for plain (S)GD, and on `backprop`
for every other optimizer (which reads `Workspace.grads`).

Non-goals: tuning for float64 (it works), validation in the hot path (`gradients` validates; the
others trust their caller).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from scipy import special

from handgrad import blas
from handgrad.models import Model, Params, check_inputs

CHUNK = 2048  # examples per chunk of a large batch: 2048 x 784 float32 is 6.4 MB, within L3


@dataclass
class Workspace:
    """Buffers of one model and batch size, allocated once and reused by every step."""

    model: Model
    rows: int  # examples per chunk: min(batch size, chunk)
    H: list[np.ndarray]  # H[l] (rows x n_l), hidden l: Z^l, then A^l
    dH: list[np.ndarray]  # dH[l] (rows x n_l), hidden l: dA^l, then dZ^l
    T: list[np.ndarray]  # T[l] (rows x n_l): g'(Z^l) (ReLU mask, ELU's alpha e^Z)
    mask: list[np.ndarray]  # mask[l] (rows x n_l) bool: Z^l > 0 (ELU)
    out: np.ndarray  # n_L * rows: Z^LT, then dZ^LT (class-major n_L x r, see `_class_major`)
    out_T: np.ndarray  # n_L * rows: sigma'(Z^L) at an MSE output
    top: np.ndarray  # rows: max and sum of each example's logits (softmax)
    ones: np.ndarray  # (rows,): sums over the batch as products
    grads: Params  # (scale times) dC/dparams, model layout: what `backprop` computes
    blas: blas.Routines = field(repr=False)  # gemm, gemv, ger of the workspace's dtype
    X: np.ndarray = field(repr=False)  # (batch x n_0): a gathered mini-batch
    Y: np.ndarray = field(repr=False)  # (batch x n_L)
    batches: dict = field(default_factory=dict, repr=False)  # r -> (X[:r], Y[:r]), see `batch`
    programs: dict = field(default_factory=dict, repr=False)  # a step's calls, see `_chunk`
    dropout: dict = field(default_factory=dict, repr=False)  # "Ml" -> (rows x n_l) mask buffer


def workspace(
    model: Model, batch_size: int, dtype=np.float32, chunk: int = CHUNK, gather: bool = True
) -> Workspace:
    """Buffers for steps of `model` on batches of up to `batch_size` examples.

    `gather=False`: no X, Y buffers to gather mini-batches into (a full batch is read in place).
    """
    if batch_size < 1 or chunk < 1:
        raise ValueError(f"batch_size and chunk must be >= 1, got {batch_size} and {chunk}")
    rows, sizes, nL = min(batch_size, chunk), model.sizes[:-1], model.sizes[-1]
    shapes = model.param_shapes().items()
    return Workspace(
        model=model,
        rows=rows,
        H=[np.empty((rows, n), dtype) for n in sizes],
        dH=[np.empty((rows, n), dtype) for n in sizes],
        T=[np.empty((rows, n), dtype) for n in sizes],
        mask=[np.empty((rows, n), bool) for n in sizes],
        out=np.empty(nL * rows, dtype),
        out_T=np.empty(nL * rows, dtype),
        top=np.empty(rows, dtype),
        ones=np.ones(rows, dtype),
        grads={k: np.empty(s, dtype, order=_order(s, rows < batch_size)) for k, s in shapes},
        blas=blas.routines(dtype),
        X=np.empty((batch_size if gather else 0, model.sizes[0]), dtype),
        Y=np.empty((batch_size if gather else 0, nL), dtype),
    )


def _order(shape: tuple, chunked: bool) -> str:
    """Memory order of a gradient buffer: summed over chunks, a short-and-wide dW (n_l < n_(l-1),
    e.g. 10 x 784) is Fortran-ordered, so that gemm's M is its short side. Measured on 002's dW1
    (10 x 784 over chunks of 2048): 1.1 ms per chunk instead of 1.6. A one-chunk step keeps the
    parameters' (C) order, which its optimizer's elementwise updates read fastest."""
    return "F" if chunked and shape[0] < shape[1] else "C"


def _class_major(buffer: np.ndarray, n: int, r: int) -> np.ndarray:
    """An (n x r) contiguous matrix at the start of a flat buffer (any r up to the workspace's)."""
    return buffer[: n * r].reshape(n, r)


Op = Callable[[], object]  # one call of a step, bound to its views: a ufunc or a BLAS routine


def _gemm(ws: Workspace, alpha: float, A, B, beta: float, C: np.ndarray) -> Op:
    """The call C := alpha A B + beta C in place: one BLAS gemm on the views as they are.

    BLAS reads Fortran order; a C-ordered matrix is the Fortran-ordered transpose of itself, so a
    C-ordered C is computed as C^T = B^T A^T and an operand in the other order is passed with its
    transpose flag set. Nothing is copied (a strided operand would be, by scipy; C never is: a C
    that BLAS could not write in place is refused here, before any step runs).
    """
    if not C.flags.f_contiguous:
        A, B, C = B.T, A.T, C.T
    _in_place(ws, C)
    return ws.blas.gemm(alpha, A, B, beta, C)


def _in_place(ws: Workspace, C: np.ndarray) -> None:
    """Refuse a result that BLAS would write into a copy of (the update would be lost)."""
    if C.dtype != ws.ones.dtype or not (C.flags.f_contiguous and C.flags.writeable):
        raise RuntimeError(
            f"BLAS cannot write in place into a {C.dtype} array with strides {C.strides}: this "
            f"workspace's parameters and buffers must be {ws.ones.dtype}, row- or column-contiguous"
        )


def _sums(ws: Workspace, alpha: float, dZ: np.ndarray, beta: float, y: np.ndarray) -> Op:
    """The call y := alpha dZ^T 1 + beta y in place: dZ (r x n) summed over the batch, one gemv."""
    _in_place(ws, y)
    return ws.blas.gemv(alpha, dZ.T, ws.ones[: len(dZ)], beta, y)


def _add_bias(ws: Workspace, Z: np.ndarray, b: np.ndarray, across: bool) -> Op:
    """The call Z := Z + b in place, b added to every row (across) or column of C-ordered Z.

    A rank-1 update, Z^T := Z^T + b 1^T (BLAS ger on the Fortran-ordered Z^T): the same sums as
    NumPy's broadcast add, which is slower along rows (measured 5 us against 9 for 128 x 128).
    """
    _in_place(ws, Z.T)
    ones = ws.ones[: len(Z) if across else Z.shape[1]]
    x, y = (b, ones) if across else (ones, b)
    return ws.blas.ger(1.0, x, y, Z.T)


def _activate(model: Model, ws: Workspace, l: int, Z: np.ndarray) -> list[Op]:
    """A^l = g(Z^l), in place, keeping what g'(Z^l) needs."""
    r, g = len(Z), model.hidden
    if g == "relu":  # mask = [Z > 0] as 0/1 (ReLU'(0) = 0), A = Z * mask
        T = ws.T[l][:r]
        return [partial(np.greater, Z, 0, out=T), partial(np.multiply, Z, T, out=Z)]
    if g == "sigmoid":
        return [partial(special.expit, Z, out=Z)]
    if g == "elu":  # A = max(Z, 0) + alpha expm1(min(Z, 0)); T = alpha e^min(Z, 0)
        M, T = ws.mask[l][:r], ws.T[l][:r]
        return [
            partial(np.greater, Z, 0, out=M),
            partial(np.minimum, Z, 0, out=T),
            partial(np.expm1, T, out=T),
            partial(np.multiply, T, model.alpha, out=T),
            partial(np.maximum, Z, 0, out=Z),
            partial(np.add, Z, T, out=Z),
            partial(np.add, T, model.alpha, out=T),
            partial(np.copyto, T, 1, where=M),  # ELU'(z) = 1 if z > 0 else alpha e^z
        ]
    return []  # identity


def _drop(model: Model, ws: Workspace, l: int, A: np.ndarray, M: np.ndarray) -> list[Op]:
    """Dropout on hidden layer l: A^l := g(Z^l) * M^l, and T^l := g'(Z^l) * M^l for the backward."""
    T = ws.T[l][: len(A)]
    if model.hidden == "identity":  # g' = 1
        ops = [partial(np.copyto, T, M)]
    else:
        ops = []
        if model.hidden == "sigmoid":  # g' = A (1 - A), taken before A is masked
            ops += [partial(np.subtract, 1, A, out=T), partial(np.multiply, T, A, out=T)]
        ops.append(partial(np.multiply, T, M, out=T))
    return [*ops, partial(np.multiply, A, M, out=A)]


def _times_g_prime(model: Model, ws: Workspace, l: int, dA: np.ndarray, dropped: bool) -> list[Op]:
    """dZ^l = dA^l * g'(Z^l) (with dropout: dA^l * M^l * g'(Z^l), T^l holding M^l * g'), in place."""
    r, g = len(dA), model.hidden
    if g in ("relu", "elu") or dropped:
        return [partial(np.multiply, dA, ws.T[l][:r], out=dA)]
    if g == "sigmoid":  # sigma' = A (1 - A)
        A, T = ws.H[l][:r], ws.T[l][:r]
        return [
            partial(np.subtract, 1, A, out=T),
            partial(np.multiply, T, A, out=T),
            partial(np.multiply, dA, T, out=dA),
        ]
    return []  # identity


def _output_delta(model: Model, ws: Workspace, Z: np.ndarray, Y: np.ndarray, c) -> list[Op]:
    """dZ^L = scale dC/dZ^L in place over the class-major Z^L, with c = scale / m; Y class-major.

    c is a 0-d array, set before each run. The max and sum over classes are ufunc reductions
    (np.max and np.sum add a Python layer).
    """
    r = Z.shape[1]
    if model.output == "softmax":  # (softmax(Z) - Y) c
        top = ws.top[:r].reshape(1, r)
        return [
            partial(np.maximum.reduce, Z, axis=0, keepdims=True, out=top),
            partial(np.subtract, Z, top, out=Z),
            partial(np.exp, Z, out=Z),
            partial(np.add.reduce, Z, axis=0, keepdims=True, out=top),
            partial(np.divide, Z, top, out=Z),
            partial(np.subtract, Z, Y, out=Z),
            partial(np.multiply, Z, c, out=Z),
        ]
    T = _class_major(ws.out_T, len(Z), r)  # mse: 2 c (sigma(Z) - Y) sigma'(Z), sigma' = A (1 - A)
    return [
        partial(special.expit, Z, out=Z),
        partial(np.subtract, 1, Z, out=T),
        partial(np.multiply, T, Z, out=T),
        partial(np.subtract, Z, Y, out=Z),
        partial(np.multiply, Z, T, out=Z),
        partial(np.multiply, Z, 2, out=Z),  # (2 c, as two exact-scaling products)
        partial(np.multiply, Z, c, out=Z),
    ]


def _forward(model: Model, params: Params, X: np.ndarray, ws: Workspace, M: dict):
    """(the calls, Z^L) of one chunk's forward pass (batch-major X, masks M); Z^L is class-major
    (n_L x r) in the workspace."""
    L, r, column = model.depth, len(X), model.layout == "column"
    ops, A = [], X
    for l in range(1, L):  # Z^l = A^(l-1) W^l + b^l  (column: A^(l-1)T W^lT + b^lT), batch-major
        W, b, Z = params[f"W{l}"], params[f"b{l}"], ws.H[l][:r]
        ops += [_gemm(ws, 1.0, A, W.T if column else W, 0.0, Z)]
        ops += [_add_bias(ws, Z, b[:, 0] if column else b[0], across=True)]
        ops += _activate(model, ws, l, Z)
        if M:
            ops += _drop(model, ws, l, Z, M[f"M{l}"])
        A = Z
    W, b = params[f"W{L}"], params[f"b{L}"]  # the output layer, class-major
    ZL = _class_major(ws.out, model.sizes[-1], r)
    ops += [_gemm(ws, 1.0, W if column else W.T, A.T, 0.0, ZL)]
    ops += [_add_bias(ws, ZL, b[:, 0] if column else b[0], across=False)]
    return ops, ZL


def _program(model, params, X, Y, ws, M: dict, into: Params, alpha: float, beta: float):
    """(the calls, c) of the forward and backward pass over one chunk (batch-major X, Y, masks M),
    in order; c is the 0-d array of scale / m that dZ^L is multiplied by.

    Each dW^l, db^l goes into `into` as alpha * (scale times) the gradient + beta * what is there:
    the gradient (into = ws.grads, alpha = 1, beta = 0), a sum over chunks (beta = 1) or, with
    into = params, alpha = -1, beta = 1, the SGD update itself (W^l is read by dA^(l-1) first).
    """
    L, r, column = model.depth, len(X), model.layout == "column"
    c = np.empty((), ws.ones.dtype)
    ops, ZL = _forward(model, params, X, ws, M)
    ops += _output_delta(model, ws, ZL, Y.T, c)
    dZ = ZL.T  # dZ^L as a batch-major view (r x n_L)
    for l in range(L, 0, -1):
        A_prev, W = (ws.H[l - 1][:r] if l > 1 else X), params[f"W{l}"]
        if l > 1:  # dA^(l-1) = dZ^l W^l  (column; row: dZ^l W^lT), before W^l may change
            dA = ws.dH[l - 1][:r]
            ops += [_gemm(ws, 1.0, dZ, W if column else W.T, 0.0, dA)]
        dW, db = into[f"W{l}"], into[f"b{l}"]
        if column:  # dW^l = dZ^lT A^(l-1) (the batch-major transpose of dZ^l A^(l-1)T)
            ops += [_gemm(ws, alpha, dZ.T, A_prev, beta, dW)]
        else:  # dW^l = A^(l-1)T dZ^l
            ops += [_gemm(ws, alpha, A_prev.T, dZ, beta, dW)]
        ops += [_sums(ws, alpha, dZ, beta, db[:, 0] if column else db[0])]  # db^l: dZ^l over m
        if l > 1:  # dZ^(l-1) = dA^(l-1) * g'(Z^(l-1))
            ops += _times_g_prime(model, ws, l - 1, dA, bool(M))
            dZ = dA
    return ops, c


def _chunk(model, params, X, Y, start, stop, c, ws, masks, into, alpha, beta) -> None:
    """Forward and backward over X[start:stop] (see `_program`), dZ^L carrying c = scale / m.

    The calls are built once and kept in the workspace, one slot per (start, stop, alpha, beta,
    dropout or not): they are reused while the same model and arrays come back (X, Y, the
    parameters and `into`, by identity; a slot holds them, so an identity cannot be reused while
    it stands).
    Dropout masks, new every step, are copied into the workspace, where the calls read them.
    """
    M = _dropout(ws, masks, start, stop)
    arrays = (model, X, Y, *params.values(), *into.values())
    key, ids = (start, stop, alpha, beta, bool(M)), tuple(map(id, arrays))
    slot = ws.programs.get(key)
    if slot is None or slot[0] != ids:
        ops, scale = _program(model, params, X[start:stop], Y[start:stop], ws, M, into, alpha, beta)
        slot = ws.programs[key] = (ids, ops, scale, arrays)
    slot[2][()] = c
    for op in slot[1]:
        op()


def _dropout(ws: Workspace, masks: dict | None, start: int, stop: int) -> dict:
    """Rows start:stop of each dropout mask, copied into the workspace's buffer for it."""
    if not masks:
        return {}
    for key, M in masks.items():
        if key not in ws.dropout:
            ws.dropout[key] = np.empty((ws.rows, M.shape[1]), ws.ones.dtype)
        np.copyto(ws.dropout[key][: stop - start], M[start:stop])
    return {key: ws.dropout[key][: stop - start] for key in masks}


def _chunks(m: int, ws: Workspace):
    """(start, stop) of each chunk of a batch of m examples, ws.rows at a time."""
    return [(start, min(start + ws.rows, m)) for start in range(0, m, ws.rows)]


def backprop(
    model: Model,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    ws: Workspace,
    scale: float = 1.0,
    masks: dict | None = None,
) -> Params:
    """scale * dC/dparams into `ws.grads` (model layout); X (m x n_0) and Y (m x n_L) batch-major.

    `masks` {"M1": ..., "M(L-1)"} (each m x n_l, batch-major): dropout on the hidden layers, as in
    `handgrad.regularizers` (A^l = g(Z^l) * M^l). No validation: params must be in the model's
    layout and the workspace's dtype; any m works (in chunks, each added to the ones before).
    """
    c, G = scale / len(X), ws.grads
    for start, stop in _chunks(len(X), ws):
        _chunk(model, params, X, Y, start, stop, c, ws, masks, G, 1.0, float(start > 0))
    return G


def sgd_step(
    model: Model,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    lr: float,
    ws: Workspace,
    masks: dict | None = None,
) -> None:
    """theta := theta - lr dC/dtheta for every parameter, in place; X, Y (and masks) batch-major.

    A batch of one chunk is updated straight from the products (beta = 1; see `_program`); a
    larger batch needs its whole gradient before any parameter moves: `backprop`, then one
    subtraction.
    """
    if len(X) <= ws.rows:
        _chunk(model, params, X, Y, 0, len(X), lr / len(X), ws, masks, params, -1.0, 1.0)
        return
    grads = backprop(model, params, X, Y, ws, scale=lr, masks=masks)
    for key, p in params.items():
        np.subtract(p, grads[key], out=p)


def evaluate(
    model: Model, params: Params, X: np.ndarray, ws: Workspace, Y: np.ndarray | None = None
) -> tuple[float | None, np.ndarray]:
    """(mean loss, or None without Y; the predicted classes) of X (m x n_0), Y (m x n_L), batch-major.

    The forward pass alone, ws.rows examples at a time; a prediction is the argmax of Z^L (the
    output activation is monotonic). Training evaluates with this (no temporaries, and the same
    BLAS calls as its steps).
    """
    total, predicted = 0.0, np.empty(len(X), np.intp)
    for start, stop in _chunks(len(X), ws):
        ops, Z = _forward(model, params, X[start:stop], ws, {})
        for op in ops:
            op()
        if Y is not None:  # each chunk's mean, weighted by its size
            total += model.loss.value(Z, Y[start:stop].T, 0) * (stop - start)
        np.argmax(Z, axis=0, out=predicted[start:stop])
    return (total / len(X) if Y is not None else None), predicted


def batch(ws: Workspace, images: np.ndarray, targets: np.ndarray, idx: np.ndarray):
    """(X, Y): rows idx of images and targets gathered (np.take) into the workspace, batch-major.

    The views returned are the same objects for every batch of the same size, so `sgd_step` and
    `backprop` find the calls they built for the first batch still valid.
    """
    r = len(idx)
    if r not in ws.batches:
        ws.batches[r] = (ws.X[:r], ws.Y[:r])
    X, Y = ws.batches[r]
    np.take(images, idx, axis=0, out=X, mode="clip")  # "clip": unbuffered; idx is in range
    np.take(targets, idx, axis=0, out=Y, mode="clip")
    return X, Y


def sgd_epoch(
    model: Model,
    params: Params,
    images: np.ndarray,
    targets: np.ndarray,
    order: np.ndarray,
    batch_size: int,
    lr: float,
    ws: Workspace,
) -> None:
    """One pass of mini-batch SGD over `order`: batches gathered into the workspace (`batch`).

    images (N x n_0) and targets (N x n_L) are row-major, as `handgrad.data` loads them; the last
    batch may be smaller than `batch_size`.
    """
    for start in range(0, len(order), batch_size):
        X, Y = batch(ws, images, targets, order[start : start + batch_size])
        sgd_step(model, params, X, Y, lr, ws)


def gradients(
    model: Model,
    params: Params,
    X: np.ndarray,
    Y: np.ndarray,
    masks: dict | None = None,
    chunk: int = CHUNK,
) -> Params:
    """dC/dparams in the model's layout, like `handgrad.gradients` (validated), by this fast path.

    `masks`: dropout masks in the model's layout, as `handgrad.regularizers.dropout_masks` draws
    them; the gradient is then `regularizers.gradients`' (without weight decay).
    """
    check_inputs(model, params, X, Y)
    dtype = np.result_type(*params.values(), X)
    params = {k: np.asarray(v, dtype) for k, v in params.items()}
    X, Y = np.asarray(X, dtype), np.asarray(Y, dtype)
    column = model.layout == "column"
    X, Y = (X.T, Y.T) if column else (X, Y)
    masks = {k: np.asarray(v.T if column else v, dtype) for k, v in (masks or {}).items()}
    ws = workspace(model, len(X), dtype, chunk)
    return {k: v.copy() for k, v in backprop(model, params, X, Y, ws, masks=masks).items()}
