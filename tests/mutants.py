"""Hand-written gradient functions in the documents' style, right and deliberately broken.

Each document's backward pass is written once, as its document writes it (000: row layout, sigmoid
and MSE; 001: column layout, 784-16-16-10 sigmoid and MSE; 002/003: ReLU and softmax; 004: ELU and
softmax), with `bug` switching in one mistake at the line where students make it. The right ones
are `doc000`, `doc001`, `doc002`, `doc004` (tuple or dict returns, as the document has it, plus
`*_dict` / `*_tuple` twins). `MUTANTS` lists the broken ones with the diagnosis kind they must get;
every mutant is also a module attribute, so the command line can load `tests/mutants.py:NAME`.

One deliberate difference from the documents: softmax subtracts the maximum (002's
`np.exp(Z) / sum(np.exp(Z))` overflows on the extreme logits the property tests draw).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.special import expit as sigmoid


def sigmoid_prime(Z):
    s = sigmoid(Z)
    return s * (1 - s)


def ReLU(Z):
    return np.maximum(Z, 0)


def ReLU_deriv(Z):
    return Z > 0


def ELU(Z, alpha=1.0):
    return np.where(Z > 0, Z, alpha * np.expm1(np.minimum(Z, 0)))


def ELU_deriv(Z, alpha=1.0):
    return np.where(Z > 0, 1.0, alpha * np.exp(np.minimum(Z, 0))).astype(Z.dtype)


def softmax(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def _doc000(params, X, Y, bug=None):
    """Document 000, row layout: a1 = sigma(a0 W1 + b1), MSE = (1/m) sum (y - a)^2."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[0]
    z1 = X @ W1 + b1
    a1 = sigmoid(z1)
    z2 = a1 @ W2 + b2
    a2 = sigmoid(z2)
    dC_da2 = 2 / m * (a2 - Y)
    if bug == "mean-over-outputs":
        dC_da2 = 2 * (a2 - Y) / Y.size  # np.mean over the outputs too: 2 / (m n_L)
    if bug == "doc000-formula":
        dC_da2 = Y - a2  # 000's (y - a) sigma'(z): sign flipped, no 2/m
    if bug == "half":
        dC_da2 = 1 / m * (a2 - Y)  # forgot the 2 of d/da (a - y)^2
    delta2 = dC_da2 * sigmoid_prime(z2)
    if bug == "no-output-prime":
        delta2 = dC_da2
    if bug == "output-prime-of-A":
        delta2 = dC_da2 * sigmoid_prime(a2)  # a2 where z2 belongs
    if bug == "ce-delta":
        delta2 = (a2 - Y) / m  # softmax cross-entropy's delta, with a sigmoid MSE output
    dW2 = a1.T @ delta2
    db2 = delta2.sum(axis=0, keepdims=True)
    if bug == "wrong-axis-row":
        db2 = delta2.sum(axis=1, keepdims=True)  # summed over the units, not the batch
    delta1 = delta2 @ W2.T * sigmoid_prime(z1)
    dW1 = X.T @ delta1
    if bug == "raises":
        dW1 = X @ delta1  # (m, 784) @ (m, 30): ValueError
    db1 = delta1.sum(axis=0, keepdims=True)
    return dW1, db1, dW2, db2


def _doc001(params, X, Y, bug=None):
    """Document 001, column layout, 784-16-16-10: z = W a + b, C = (1/m) sum (a - y)^2."""
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    m = X.shape[1]
    Z1 = W1 @ X + b1
    A1 = sigmoid(Z1)
    Z2 = W2 @ A1 + b2
    A2 = sigmoid(Z2)
    Z3 = W3 @ A2 + b3
    A3 = sigmoid(Z3)
    dZ3 = 2 / m * (A3 - Y) * sigmoid_prime(Z3)
    if bug == "double":
        dZ3 = 2 * dZ3
    dZ2 = W3.T @ dZ3 * sigmoid_prime(Z2)
    if bug == "wrong-layer-prime":
        dZ2 = W3.T @ dZ3 * sigmoid_prime(Z1)
    dZ1 = W2.T @ dZ2 * sigmoid_prime(Z1)
    if bug == "no-prime":
        dZ1 = W2.T @ dZ2
    if bug == "not-transposed":
        dZ1 = W2 @ dZ2 * sigmoid_prime(Z1)  # W2 is 16 x 16: it runs
    dW3 = dZ3 @ A2.T
    dW2 = dZ2 @ A1.T
    if bug == "transpose":
        dW2 = A1 @ dZ2.T
    if bug == "off-by-one":
        dW2 = dZ2 @ A2.T
    dW1 = dZ1 @ X.T
    db = [dZ.sum(axis=1, keepdims=True) for dZ in (dZ1, dZ2, dZ3)]
    return {"W1": dW1, "b1": db[0], "W2": dW2, "b2": db[1], "W3": dW3, "b3": db[2]}


def _doc002(params, X, Y, bug=None):
    """Document 002's backward_prop (with its forward_prop), 1/m in dW and db as 002 has it."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[1]
    Z1 = W1.dot(X) + b1
    A1 = ReLU(Z1)
    Z2 = W2.dot(A1) + b2
    A2 = softmax(Z2)
    if bug == "m-from-X.shape[0]":
        m = X.shape[0]  # n_0 = 784: the row layout's m
    if bug == "epsilon":  # a guard against 0 / 0 that moves every probability a little
        E = np.exp(Z2 - Z2.max(axis=0, keepdims=True))
        A2 = E / (E.sum(axis=0, keepdims=True) + 1e-8)
    if bug == "softmax-over-batch":
        A2 = np.exp(Z2 - Z2.max()) / np.exp(Z2 - Z2.max()).sum(axis=1, keepdims=True)
    dZ2 = A2 - Y
    if bug == "labels":
        dZ2 = A2 - Y.argmax(axis=0)  # the integer labels where the one-hot Y belongs: broadcast
    if bug == "rows":
        dZ2 = A2.copy()
        dZ2[Y.argmax(axis=0)] -= 1  # whole rows (classes), not dZ2[y, range(m)]
    if bug == "softmax-prime":
        dZ2 = (A2 - Y) * A2 * (1 - A2)  # softmax's "derivative" as if it were sigmoid's
    if bug == "diagonal-jacobian":
        dZ2 = (-Y / A2) * A2 * (1 - A2)  # dJ/dA2 times the diagonal of softmax's Jacobian
    if bug == "sign":
        dZ2 = Y - A2
    if bug == "over-m":
        dZ2 = (A2 - Y) / m  # and 1/m again below
    k = 1 if bug == "no-1/m" else 1 / (2 * m) if bug == "2m" else 1 / m
    dW2 = k * dZ2.dot(A1.T)
    if bug == "transpose":
        dW2 = k * A1.dot(dZ2.T)
    if bug == "raises":
        dW2 = k * A1.dot(dZ2)
    if bug == "A0-in-dW2":
        dW2 = k * dZ2.dot(X.T)  # document 003's dw2 = 1/m dz2 A^[0]T
    db2 = k * np.sum(dZ2, axis=1, keepdims=True)
    if bug == "wrong-axis":
        db2 = k * np.sum(dZ2)  # 002 as printed: a sum over every axis
    if bug == "reduced-shape":
        db2 = k * np.sum(dZ2, axis=1)
    if bug == "abs":  # 003/004's "the average of the absolute error"
        db2 = k * np.sum(np.abs(dZ2), axis=1, keepdims=True)
    if bug == "update-first":  # the update W2 -= alpha dW2 before dZ1 has read W2
        W2 = W2 - 0.5 * dW2
    dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z1)
    if bug == "no-prime":
        dZ1 = W2.T.dot(dZ2)
    if bug == "wrong-layer-prime":
        dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z2)
    if bug == "nan":
        with np.errstate(invalid="ignore"):
            dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z1) / ReLU_deriv(Z1)  # 0 / 0 where Z1 <= 0
    dW1 = k * dZ1.dot(X.T)
    if bug == "transposed-shape":
        dW1 = k * X.dot(dZ1.T)
    if bug == "decay":  # weight decay in the gradient, none in the loss
        dW1, dW2 = dW1 + 0.01 * W1, dW2 + 0.01 * W2
    db1 = k * np.sum(dZ1, axis=1, keepdims=True)
    if bug == "wrong-axis":
        db1 = k * np.sum(dZ1)
    if bug == "off-by-one":
        db1 = k * np.sum(dZ2, axis=1, keepdims=True)
    if bug == "zero":
        db1 = np.zeros_like(b1)
    if bug == "decay-biases":  # weight decay on the biases too, none in the loss
        db1, db2 = db1 + 0.01 * b1, db2 + 0.01 * b2
    if bug == "order":
        return dW1, dW2, db1, db2
    if bug == "reversed":  # a backward loop's output-first order
        return dW2, db2, dW1, db1
    if bug == "float32":
        return tuple(g.astype(np.float32) for g in (dW1, db1, dW2, db2))
    return dW1, db1, dW2, db2


def _doc004(params, X, Y, bug=None):
    """Document 004, ELU hidden layer and softmax; returns a dict."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[1]
    Z1 = W1.dot(X) + b1
    A1 = ELU(Z1)
    Z2 = W2.dot(A1) + b2
    A2 = softmax(Z2)
    dZ2 = A2 - Y
    if bug == "double":
        dZ2 = 2 * (A2 - Y)
    if bug == "minus-m":
        dZ2 = m * (Y - A2)  # ascent direction, and no 1/m
    dW2 = 1 / m * dZ2.dot(A1.T)
    db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = W2.T.dot(dZ2) * ELU_deriv(Z1)
    if bug == "relu-for-elu":
        dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z1)
    if bug == "elu-prime-no-alpha":
        dZ1 = W2.T.dot(dZ2) * np.where(Z1 > 0, 1.0, A1)  # ELU' from A: A1 + alpha
    if bug == "activation-not-derivative":
        dZ1 = W2.T.dot(dZ2) * ELU(Z1)
    dW1 = 1 / m * dZ1.dot(X.T)
    db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def doc000(params, X, Y):
    """Document 000, right; returns (dW1, db1, dW2, db2)."""
    return _doc000(params, X, Y)


def doc001(params, X, Y):
    """Document 001, right; returns a dict."""
    return _doc001(params, X, Y)


def doc002(params, X, Y):
    """Documents 002/003, right; returns (dW1, db1, dW2, db2)."""
    return _doc002(params, X, Y)


def doc004(params, X, Y):
    """Document 004, right; returns a dict."""
    return _doc004(params, X, Y)


def _as_dict(fn):
    def dict_version(params, X, Y):
        keys = [f"{p}{l}" for l in range(1, len(params) // 2 + 1) for p in "Wb"]
        return dict(zip(keys, fn(params, X, Y), strict=True))

    return dict_version


def _as_tuple(fn):
    def tuple_version(params, X, Y):
        grads = fn(params, X, Y)
        return tuple(grads[f"{p}{l}"] for l in range(1, len(params) // 2 + 1) for p in "Wb")

    return tuple_version


doc000_dict, doc002_dict = _as_dict(doc000), _as_dict(doc002)
doc001_tuple, doc004_tuple = _as_tuple(doc001), _as_tuple(doc004)

# model name -> the right hand-written functions for it (document sizes: see handgrad.recipes)
RIGHT = {
    "sigmoid-mse-row": (doc000, doc000_dict),
    "sigmoid-mse-column": (doc001, doc001_tuple),
    "relu-softmax-column": (doc002, doc002_dict),
    "elu-softmax-column": (doc004, doc004_tuple),
}


@dataclass(frozen=True)
class Mutant:
    """A broken gradient function and what the checker must say about it."""

    name: str
    model: str
    bug: str
    kinds: dict  # parameter -> expected diagnosis kind (None: must pass); "*": every parameter
    factor: str | None = None  # the factor's name in the diagnosis, for scale
    hint: str | None = None  # words the diagnosis must contain
    first_wrong_layer: int | None = None

    @property
    def fn(self):
        base = {"000": _doc000, "001": _doc001, "002": _doc002, "004": _doc004}[self.name[-3:]]
        fn = _accumulating(base) if self.bug == "accumulate" else partial(base, bug=self.bug)
        fn.__name__ = self.name
        return fn


def _accumulating(base):
    """Nielsen's network.py style, with the zeroing forgotten: each call adds its gradient to sums
    kept between calls (a fresh function, with fresh sums, each time `Mutant.fn` is read)."""
    nabla = {}

    def accumulating(params, X, Y):
        grads = base(params, X, Y)
        named = grads if isinstance(grads, dict) else dict(enumerate(grads))
        for key, g in named.items():
            nabla[key] = nabla.get(key, 0) + g
        return nabla if isinstance(grads, dict) else tuple(nabla.values())

    return accumulating


_RELU, _ELU = "relu-softmax-column", "elu-softmax-column"
_ROW, _COL3 = "sigmoid-mse-row", "sigmoid-mse-column"
_KNOWN_BUG_1 = {"W1": "known-bug", "b1": "known-bug", "W2": None, "b2": None}

MUTANTS = [
    # document 000, row layout
    Mutant("doc_formula_000", _ROW, "doc000-formula", {"*": "scale"}, "-m/2"),
    Mutant("half_000", _ROW, "half", {"*": "scale"}, "1/2"),
    Mutant(
        "no_output_prime_000",
        _ROW,
        "no-output-prime",
        {"*": "known-bug"},
        hint="sigma'(Z2) left out",
        first_wrong_layer=2,
    ),
    Mutant("wrong_axis_row_000", _ROW, "wrong-axis-row", {"b2": "wrong-axis", "W1": None}),
    Mutant(
        "ce_delta_000",
        _ROW,
        "ce-delta",
        {"*": "known-bug"},
        hint="cross-entropy's delta, with MSE",
        first_wrong_layer=2,
    ),
    Mutant(
        "output_prime_of_A_000",
        _ROW,
        "output-prime-of-A",
        {"*": "known-bug"},
        hint="sigma'(A2) used where sigma'(Z2) belongs in dZ2",
        first_wrong_layer=2,
    ),
    Mutant(
        "mean_over_outputs_000",
        _ROW,
        "mean-over-outputs",
        {"*": "scale"},
        hint="(factor 1/n_L, n_L = 10): m = Y.size with a one-hot Y",
    ),
    Mutant("raises_000", _ROW, "raises", {}),
    # document 001, column layout, 784-16-16-10
    Mutant("double_001", _COL3, "double", {"*": "scale"}, "2"),
    Mutant(
        "wrong_layer_prime_001",
        _COL3,
        "wrong-layer-prime",
        {"W3": None, "b3": None, "W2": "known-bug", "b1": "known-bug"},
        hint="g'(Z1) used where g'(Z2) belongs",
        first_wrong_layer=2,
    ),
    Mutant(
        "no_prime_001",
        _COL3,
        "no-prime",
        {"W1": "known-bug", "b1": "known-bug", "W2": None, "W3": None},
        hint="g'(Z1) left out",
        first_wrong_layer=1,
    ),
    Mutant(
        "not_transposed_001",
        _COL3,
        "not-transposed",
        {"W1": "known-bug", "b1": "known-bug", "W2": None, "b2": None},
        hint="W2 not transposed in dZ1",
        first_wrong_layer=1,
    ),
    Mutant("transpose_001", _COL3, "transpose", {"W2": "transpose", "W1": None, "b2": None}),
    Mutant(
        "off_by_one_001",
        _COL3,
        "off-by-one",
        {"W2": "known-bug", "b2": None, "W1": None},
        hint="A2 used in dW2 where A1 belongs",
        first_wrong_layer=2,
    ),
    # documents 002/003, ReLU + softmax, 784-10-10
    Mutant("sign_002", _RELU, "sign", {"*": "sign"}),
    Mutant("no_1_over_m_002", _RELU, "no-1/m", {"*": "scale"}, "m"),
    Mutant("over_m_002", _RELU, "over-m", {"*": "scale"}, "1/m"),
    Mutant("two_m_002", _RELU, "2m", {"*": "scale"}, "1/2", hint="a 1/(2m) where 1/m belongs"),
    Mutant("transpose_002", _RELU, "transpose", {"W2": "transpose", "W1": None, "b2": None}),
    Mutant(
        "wrong_axis_002", _RELU, "wrong-axis", {"b1": "wrong-axis", "b2": "wrong-axis", "W2": None}
    ),
    Mutant(
        "no_prime_002",
        _RELU,
        "no-prime",
        _KNOWN_BUG_1,
        hint="g'(Z1) left out",
        first_wrong_layer=1,
    ),
    Mutant(
        "wrong_layer_prime_002",
        _RELU,
        "wrong-layer-prime",
        _KNOWN_BUG_1,
        hint="g'(Z2) used where g'(Z1) belongs",
        first_wrong_layer=1,
    ),
    Mutant(
        "off_by_one_002",
        _RELU,
        "off-by-one",
        {"b1": "known-bug", "W1": None, "W2": None, "b2": None},
        hint="equals the right db2",
        first_wrong_layer=1,
    ),
    Mutant(
        "update_first_002",
        _RELU,
        "update-first",
        {"W1": "unexplained", "b1": "unexplained", "W2": None, "b2": None},
        hint="no simple pattern fits",
        first_wrong_layer=1,
    ),
    Mutant("labels_002", _RELU, "labels", {"*": "known-bug"}, hint="Y as integer labels y in dZ2"),
    Mutant("rows_002", _RELU, "rows", {"*": "known-bug"}, hint="dZ2[y] -= 1, whole rows"),
    Mutant(
        "abs_002",
        _RELU,
        "abs",
        {"b2": "unexplained", "W1": None, "b1": None, "W2": None},
        hint="every entry is >= 0 where",
        first_wrong_layer=2,
    ),
    Mutant("epsilon_002", _RELU, "epsilon", {"*": "approximate"}, hint="an approximation"),
    Mutant("raises_002", _RELU, "raises", {}),
    Mutant("nan_002", _RELU, "nan", {"W1": "non-finite", "b1": "non-finite", "W2": None}),
    Mutant("reduced_shape_002", _RELU, "reduced-shape", {"b2": "shape", "W2": None}),
    Mutant("transposed_shape_002", _RELU, "transposed-shape", {"W1": "shape", "b1": None}),
    Mutant("zero_002", _RELU, "zero", {"b1": "zero", "W1": None}),
    Mutant("decay_002", _RELU, "decay", {"W1": "weight-decay", "W2": "weight-decay", "b1": None}),
    Mutant("order_002", _RELU, "order", {"b1": "order", "W2": "order", "W1": None, "b2": None}),
    Mutant(
        "reversed_002",
        _RELU,
        "reversed",
        {"*": "order"},
        hint="wrong order: yours are (dW2, db2, dW1, db1), expected (dW1, db1, dW2, db2)",
    ),
    Mutant("float32_002", _RELU, "float32", {"*": "precision"}, hint="pass dtype='float32'"),
    Mutant(
        "A0_in_dW2_002",
        _RELU,
        "A0-in-dW2",
        {"W2": "shape", "W1": None, "b2": None},
        hint="A0 used in dW2 where A1 belongs",
    ),
    Mutant(
        "softmax_prime_002",
        _RELU,
        "softmax-prime",
        {"*": "known-bug"},
        hint="A2(1 - A2) multiplied into dZ2",
        first_wrong_layer=2,
    ),
    Mutant(
        "diagonal_jacobian_002",
        _RELU,
        "diagonal-jacobian",
        {"*": "known-bug"},
        hint="the diagonal of softmax's Jacobian only",
        first_wrong_layer=2,
    ),
    Mutant(
        "softmax_over_batch_002",
        _RELU,
        "softmax-over-batch",
        {"*": "known-bug"},
        hint="softmax normalised over the batch (axis=1) instead of the classes (axis=0)",
        first_wrong_layer=2,
    ),
    Mutant(
        "m_from_wrong_axis_002",
        _RELU,
        "m-from-X.shape[0]",
        {"*": "scale"},
        hint="(factor m/n_0, m = 16, n_0 = 784): m taken from the wrong axis of X or Y",
    ),
    Mutant(
        "decay_biases_002",
        _RELU,
        "decay-biases",
        {"b1": "weight-decay", "b2": "weight-decay", "W1": None, "W2": None},
        hint="too many (the loss penalises no bias)",
    ),
    # document 004, ELU + softmax
    Mutant(
        "relu_for_elu_004",
        _ELU,
        "relu-for-elu",
        _KNOWN_BUG_1,
        hint="ReLU's derivative (Z1 > 0) used for ELU's",
        first_wrong_layer=1,
    ),
    Mutant(
        "elu_prime_no_alpha_004",
        _ELU,
        "elu-prime-no-alpha",
        _KNOWN_BUG_1,
        hint="ELU' from A without + alpha",
        first_wrong_layer=1,
    ),
    Mutant("double_004", _ELU, "double", {"*": "scale"}, "2"),
    Mutant("accumulate_004", _ELU, "accumulate", {"*": "state"}, hint="2 times the first"),
    Mutant("minus_m_004", _ELU, "minus-m", {"*": "scale"}, "-m"),
    Mutant(
        "activation_not_derivative_004",
        _ELU,
        "activation-not-derivative",
        _KNOWN_BUG_1,
        hint="g(Z1) used where g'(Z1) belongs",
        first_wrong_layer=1,
    ),
]

for _mutant in MUTANTS:  # module attributes, so that `handgrad check tests/mutants.py:NAME` works
    globals()[_mutant.name] = _mutant.fn
