"""Document 002: "Simple MNIST NN from scratch (numpy, no TF/Keras)", Samson Zhang (wwsalmon).

The stated model: ReLU hidden layer, softmax output with cross-entropy, column layout (X is
784 x m), 784-10-10, initialised by `np.random.rand(...) - 0.5` (U(-0.5, 0.5)). The document has
three parts, all registered: the math (forward, loss, backprop, updates, and a recap), the code
(`init_params` ... `update_params`), and a retelling of the same notebook ("Credit goes to
wwsalmon") with its own backprop block and a list of shapes.

The document's convention: dZ2 = A2 - Y (no 1/m), with the 1/m in dW and db; equal to handgrad's.
"""

from __future__ import annotations

import jax
import numpy as np

import reference
from handgrad import activations
from handgrad.audit.checks import (
    Backward,
    Descent,
    Gradient,
    Hazard,
    Returned,
    Shapes,
    Statement,
    Value,
)
from handgrad.audit.common import model_loss, names, setup_names
from handgrad.audit.registry import Entry, Reading, Setup, inputs
from handgrad.data import one_hot
from handgrad.formulations import backward as handgrad_backward
from handgrad.formulations import predict

DOCUMENT = "002"
SETUP = Setup("relu-softmax-column", (784, 10, 10), m=16, init="uniform")
MODEL = SETUP.describe()
STATED = f"{MODEL} (ReLU hidden layer, softmax + cross-entropy, X is 784 × m)"

# --- the math's backward pass, correct, in the document's names ---------------------------------

MATH = Backward(
    SETUP,
    names,
    head=(
        ("dZ2", "dZ2 = A2 - Y"),
        ("dW2", "dW2 = 1 / m * dZ2 @ A1.T"),
        ("dB2", "dB2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)"),
        ("dZ1", "dZ1 = (W2.T @ dZ2) * g_prime(Z1)"),
        ("dW1", "dW1 = 1 / m * dZ1 @ X.T"),
        ("dB1", "dB1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)"),
    ),
    outputs=(("W1", "dW1"), ("b1", "dB1"), ("W2", "dW2"), ("b2", "dB2")),
)

# --- the code, as printed ---------------------------------------------------------------------

RELU = "def ReLU(Z):\n    return np.maximum(Z, 0)\n"
SOFTMAX = "def softmax(Z):\n    return np.exp(Z) / sum(np.exp(Z))\n"
RELU_DERIV = "def ReLU_deriv(Z):\n    return Z > 0\n"
# The article's one_hot ends its code block before `return one_hot_Y`, printed in a block of its own.
ONE_HOT = (
    "def one_hot(Y):\n"
    "    one_hot_Y = np.zeros((Y.size, Y.max() + 1))\n"
    "    one_hot_Y[np.arange(Y.size), Y] = 1\n"
    "    one_hot_Y = one_hot_Y.T\n"
    "\n"
    "return one_hot_Y\n"
)
ONE_HOT_INDENTED = ONE_HOT.replace("\nreturn", "\n    return")
ONE_HOT_FIXED = ONE_HOT_INDENTED.replace("Y.max() + 1", "10")
FORWARD_PROP = (
    "def forward_prop(W1, b1, W2, b2, X):\n"
    "    Z1 = W1.dot(X) + b1\n"
    "    A1 = ReLU(Z1) Z2 = W2.dot(A1) + b2\n"
    "    A2 = softmax(Z2)\n"
    "    return Z1, A1, Z2, A2\n"
)
FORWARD_PROP_FIXED = FORWARD_PROP.replace("ReLU(Z1) Z2", "ReLU(Z1)\n    Z2")
FORWARD_CALL = "np.stack(forward_prop(W1, b1, W2, b2, X))"
# get_accuracy's code block ends after its def line; its body follows, unindented, in the next block
GET_PREDICTIONS = "def get_predictions(A2):\n    return np.argmax(A2, 0)\n"
GET_ACCURACY = (
    "def get_accuracy(predictions, Y):\n"
    "\n"
    "print(predictions, Y)\n"
    "\n"
    "return np.sum(predictions == Y) / Y.size\n"
)
GET_ACCURACY_INDENTED = GET_ACCURACY.replace("\nprint", "\n    print").replace(
    "\nreturn", "\n    return"
)
# the page's extraction, most likely: the code elsewhere on the page runs once its blocks are joined
EXTRACTION = "most likely an artifact of how the page was extracted, not of the author's code"
INIT_PARAMS = (
    "def init_params():\n"
    "    W1 = np.random.rand(10, 784) - 0.5\n"
    "    b1 = np.random.rand(10, 1) - 0.5\n"
    "    W2 = np.random.rand(10, 10) - 0.5\n"
    "    b2 = np.random.rand(10, 1) - 0.5\n"
    "    return W1, b1, W2, b2\n"
)
UPDATE_PARAMS = (
    "def update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha):\n"
    "    W1 = W1 - alpha * dW1\n"
    "    b1 = b1 - alpha * db1\n"
    "    W2 = W2 - alpha * dW2\n"
    "    b2 = b2 - alpha * db2\n"
    "    return W1, b1, W2, b2\n"
    "W1, b1, W2, b2 = update_params(W1, b1, W2, b2, dW1, db1, dW2, db2, alpha)\n"
)


def code_names(model, params, X, Y) -> dict:
    """backward_prop's arguments: Y is the label vector; `m` is not among them (a global)."""
    ns = names(model, params, X, Y)
    ns["Y"] = np.argmax(Y, axis=0)
    del ns["m"]
    return ns


CODE = Backward(
    SETUP,
    code_names,
    head=(
        ("m", "m = Y.size"),  # the global m backward_prop reads: the number of examples
        ("one_hot", ONE_HOT_FIXED),
        ("ReLU_deriv", "def ReLU_deriv(Z):\n    return (Z > 0).astype(Z.dtype)\n"),
        ("one_hot_Y", "one_hot_Y = one_hot(Y)"),
        ("dZ2", "dZ2 = A2 - one_hot_Y"),
        ("dW2", "dW2 = 1 / m * dZ2.dot(A1.T)"),
        ("db2", "db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)"),
        ("dZ1", "dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z1)"),
        ("dW1", "dW1 = 1 / m * dZ1.dot(X.T)"),
        ("db1", "db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)"),
    ),
    outputs=(("W1", "dW1"), ("b1", "db1"), ("W2", "dW2"), ("b2", "db2")),
)


def grad(backward: Backward, *lines: tuple[str, str], loss=None) -> Gradient:
    """A Gradient check of `backward` with `lines` ((slot, code), ...) as written."""
    return Gradient(backward, tuple(lines), loss)


def value(code: str, result: str, expected, example: int | None = None, **kw) -> Value:
    """A Value check on the stated model's batch (or one example of it)."""
    return Value(code, result, expected, lambda: setup_names(SETUP, example), **kw)


def given(code: str, result: str, expected, atol=None) -> Value:
    """A Value check of numbers the document states (no model inputs needed)."""
    return Value(code, result, expected, lambda: {"np": np}, atol=atol, what="stated value")


SOFTMAX_SHAPE = Shapes(
    (("A2", (10, "m")),), lambda: {"A2": setup_names(SETUP)["A2"].shape}, SETUP.m
)


# --- the worked example: a prediction vector and a one-hot label 4 -----------------------------

YHAT = "yhat = np.array([0.01, 0.02, 0.05, 0.02, 0.80, 0.01, 0.01, 0.00, 0.01, 0.07])\n"


def example_loss(ns) -> float:
    """The stated model's cross-entropy (natural log) of the example: -log softmax(log yhat)[4]."""
    yhat = np.array([0.01, 0.02, 0.05, 0.02, 0.80, 0.01, 0.01, 0.00, 0.01, 0.07])
    with np.errstate(divide="ignore"):
        return float(-activations.log_softmax(np.log(yhat), 0)[4])


@jax.jit
def log10_loss(params, X, Y):
    """Cross-entropy with log base 10 (the base behind "-log(0.80) ≈ 0.097"), jitted JAX."""
    return reference.loss_fn("relu", "softmax", "column")(params, X, Y) / np.log(10.0)


def dJ_dA2(ns) -> np.ndarray:
    """dJ/dA2 of J = -sum Y log A2 (the unnormalised loss of dZ2 = A2 - Y), by central differences."""
    Y = ns["Y"]
    f = lambda p: float(-np.sum(Y * np.log(p["A"])))  # noqa: E731
    return reference.central_differences(f, {"A": ns["A2"]}, h=1e-9).estimate["A"]


def backprop_shapes() -> dict:
    """The shapes of handgrad's backward quantities on the stated model (dB named as 002 does)."""
    inp = inputs(SETUP)
    grads = handgrad_backward(inp.model, inp.params, inp.X, inp.Y)
    shapes = {k: grads[k].shape for k in ("dZ2", "dW2", "dZ1", "dW1")}
    return shapes | {"dB2": grads["db2"].shape, "dB1": grads["db1"].shape}


def data_shapes() -> dict:
    """The input batch's shape with the examples as rows, and transposed (002's X)."""
    X = inputs(SETUP).X
    rows, columns = X.T.shape, X.shape
    return {
        "X, examples x^{(1)} ... x^{(n)} as rows (n = 784)": rows,
        "X, examples x^{(1)} ... x^{(m)} as rows": rows,
        "X^T, examples as columns": columns,
    }


# 002's bias rule ("n^{[1]} × 1 ... Let's call these matrices b^{[1]}") is stated for any layer l:
# checked where a slip can show (n^{[1]} != n^{[2]}); 002's own 784-10-10 hides it
WIDE = Setup("relu-softmax-column", (784, 20, 10), m=16, init="uniform")


def bias_shapes() -> dict:
    """b^{[1]}, b^{[2]}'s shapes on a network whose two layers differ in width (784-20-10)."""
    shapes = inputs(WIDE).model.param_shapes()
    return {"b^{[1]}": shapes["b1"], "b^{[2]}": shapes["b2"]}


def weight_index_shapes() -> dict:
    """W^{[1]}'s shape (the stated model's), for the matrix [w_{i,j}] read either way round."""
    shape = inputs(SETUP).model.param_shapes()["W1"]
    return {
        "[w_{i,j}], row i (the previous layer's 784 nodes)": shape,
        "[w_{j,i}], row j (the following layer's 10 nodes)": shape,
    }


def accuracy_names() -> dict:
    """The stated model's batch, with `print` silenced (get_accuracy prints its arguments)."""
    return setup_names(SETUP) | {"print": lambda *args, **kwargs: None}


def _accuracy(ns) -> float:
    """The stated model's accuracy on the batch."""
    return float(np.mean(_predictions() == ns["labels"]))


def _get_accuracy(code: str) -> Value:
    """get_accuracy as `code` defines it, run on the stated model's predictions."""
    call = "get_accuracy(get_predictions(A2), labels)"
    return Value(
        code,
        call,
        _accuracy,
        accuracy_names,
        prelude=GET_PREDICTIONS,
        what="accuracy",
        label="get_accuracy",
    )


def forward_shapes() -> dict:
    """The shapes of the stated model's forward quantities and parameters."""
    inp = inputs(SETUP)
    ns = names(inp.model, inp.params, inp.X, inp.Y)
    return {k: ns[k].shape for k in ("A0", "Z1", "A1", "W1", "b1", "Z2", "A2", "W2", "b2")}


def softmax_overflow_input() -> dict:
    """One example whose largest logit is 1000 (the others 0): e^1000 overflows float64."""
    Z = np.zeros((10, 1))
    Z[3] = 1000.0
    return {"np": np, "Z": Z}


def labels_without_nine() -> dict:
    """A batch of 16 labels in which the digit 9 does not occur, with the model's A2."""
    ns = setup_names(SETUP)
    ns["Y"] = np.arange(16) % 9  # 0..8, 0..6: no 9
    return ns


def _example_model_loss() -> float:
    """The stated model's cross-entropy of the batch's first example."""
    return model_loss(SETUP, example=0)


def _one_hot_of_4() -> np.ndarray:
    """handgrad's one-hot encoding of the label 4 (10 classes)."""
    return one_hot(np.array([4]), 10, "column")[:, 0]


def _cache(ns) -> np.ndarray:
    """The stated model's Z1, A1, Z2, A2, stacked (forward_prop's return value)."""
    return np.stack([ns["Z1"], ns["A1"], ns["Z2"], ns["A2"]])


def _predictions() -> np.ndarray:
    """The stated model's predicted classes on the batch."""
    inp = inputs(SETUP)
    return predict(inp.model, inp.params, inp.X)


class _SeededNumPy:
    """NumPy with `np.random` replaced by a seeded RandomState, for code that draws globally."""

    def __init__(self) -> None:
        self.random = np.random.RandomState(0)

    def __getattr__(self, name: str):
        return getattr(np, name)


U = "U(-0.5, 0.5)"
RECAP = "Backward propagation; recap"
ALL_THREE = "Forward propagation; recap; retelling"

ENTRIES = (
    # ----- Forward propagation ------------------------------------------------------------------
    Entry(
        "002.math.Z1",
        DOCUMENT,
        ALL_THREE,
        "forward",
        "Z^{[1]} = W^{[1]} X + b^{[1]}",
        MODEL,
        value("Z1 = W1 @ X + b1", "Z1", lambda ns: ns["Z1"]),
    ),
    Entry(
        "002.math.A1",
        DOCUMENT,
        ALL_THREE,
        "forward",
        "A^{[1]} = ReLU(Z^{[1]}), ReLU(x) = x if x > 0, 0 if x ≤ 0",
        MODEL,
        value("A1 = np.where(Z1 > 0, Z1, 0)", "A1", lambda ns: ns["A1"]),
    ),
    Entry(
        "002.math.Z2",
        DOCUMENT,
        ALL_THREE,
        "forward",
        "Z^{[2]} = W^{[2]} A^{[1]} + b^{[2]}",
        MODEL,
        value("Z2 = W2 @ A1 + b2", "Z2", lambda ns: ns["Z2"]),
    ),
    Entry(
        "002.math.A2",
        DOCUMENT,
        ALL_THREE,
        "forward",
        "A^{[2]} = softmax(Z^{[2]}), 'a column of data at a time'",
        MODEL,
        value(
            "A2 = np.exp(Z2) / np.sum(np.exp(Z2), axis=0, keepdims=True)", "A2", lambda ns: ns["A2"]
        ),
    ),
    Entry(
        "002.math.softmax-in-words",
        DOCUMENT,
        "Forward propagation",
        "forward",
        "'Softmax runs element-wise, so the dimensions of Z^{[2]} are preserved at 10 × m'",
        MODEL,
        # the reason, on one example (e^{z_i} / Σ_j e^{z_j} with the sum over the element itself),
        # and the conclusion, on the batch
        Statement(
            (
                (
                    "the reason, 'element-wise' (e^z / e^z, example 0)",
                    value("A2 = np.exp(Z2) / np.exp(Z2)", "A2", lambda ns: ns["A2"], example=0),
                ),
                ("the conclusion, A^{[2]} is 10 × m", SOFTMAX_SHAPE),
            )
        ),
        corrected=(
            "right conclusion, wrong reason: softmax is not element-wise, it normalises over the "
            "10 classes of each column (every output depends on the whole column); A^{[2]} is "
            "10 × m all the same"
        ),
        corrected_check=Statement(
            (
                (
                    "softmax over each column",
                    value(
                        "A2 = np.exp(Z2) / np.sum(np.exp(Z2), axis=0, keepdims=True)",
                        "A2",
                        lambda ns: ns["A2"],
                    ),
                ),
                ("A^{[2]} is 10 × m", SOFTMAX_SHAPE),
            )
        ),
    ),
    Entry(
        "002.math.X-examples",
        DOCUMENT,
        "Representing our data",
        "shape",
        "X = [x^{(1)} ... x^{(n)}] (rows, then transposed to columns), n the number of features",
        MODEL,
        Shapes(
            (
                ("X, examples x^{(1)} ... x^{(n)} as rows (n = 784)", (784, 784)),
                ("X^T, examples as columns", (784, 784)),
            ),
            data_shapes,
            SETUP.m,
        ),
        corrected=(
            "X = [x^{(1)} ... x^{(m)}]: one row (transposed, one column) per example, m of them; "
            "n = 784 counts the features"
        ),
        corrected_check=Shapes(
            (
                ("X, examples x^{(1)} ... x^{(m)} as rows", ("m", 784)),
                ("X^T, examples as columns", (784, "m")),
            ),
            data_shapes,
            SETUP.m,
        ),
    ),
    Entry(
        "002.math.w-index",
        DOCUMENT,
        "Representing weights and biases",
        "shape",
        "'a weight w_{i,j} for every i in ... the previous layer and every j in ... the following "
        "one'; 'then' W^{[l]}: n^{[l]} × n^{[l-1]}",
        MODEL,
        Shapes(
            (("[w_{i,j}], row i (the previous layer's 784 nodes)", (784, 10)),),
            weight_index_shapes,
            SETUP.m,
        ),
        corrected=(
            "w_{i,j} sits at row j, column i of W^{[l]} (its rows are the following layer's "
            "nodes): index it w_{j,i}, so that it is entry (j, i) of W^{[l]}"
        ),
        corrected_check=Shapes(
            (("[w_{j,i}], row j (the following layer's 10 nodes)", (10, 784)),),
            weight_index_shapes,
            SETUP.m,
        ),
    ),
    Entry(
        "002.math.b-shape",
        DOCUMENT,
        "Representing weights and biases",
        "shape",
        "b^{[l]}: 'a matrix with dimensions n^{[1]} × 1. Let's call these matrices b^{[1]}'",
        WIDE.describe() + " (the rule for any layer l, where n^{[1]} ≠ n^{[2]})",
        Shapes(
            (("b^{[1]}", (20, 1)), ("b^{[2]}", (20, 1))),
            bias_shapes,
            WIDE.m,
        ),
        corrected=(
            "b^{[l]}: n^{[l]} × 1, and call these matrices b^{[l]} (as printed, n^{[1]} × 1 fits "
            "b^{[2]} only because 002's n^{[1]} = n^{[2]} = 10)"
        ),
        corrected_check=Shapes(
            (("b^{[1]}", (20, 1)), ("b^{[2]}", (10, 1))),
            bias_shapes,
            WIDE.m,
        ),
    ),
    Entry(
        "002.math.shapes",
        DOCUMENT,
        "Representing weights and biases; Forward propagation",
        "shape",
        "X: 784 × m, W^{[1]}: 10 × 784, W^{[2]}: 10 × 10, b^{[1]}, b^{[2]}: 10 × 1, W^{[1]}X: 10 × m",
        MODEL,
        Shapes(
            (
                ("A0", (784, "m")),
                ("W1", (10, 784)),
                ("W2", (10, 10)),
                ("b1", (10, 1)),
                ("b2", (10, 1)),
                ("Z1", (10, "m")),
            ),
            forward_shapes,
            SETUP.m,
        ),
    ),
    # ----- the loss and its worked example ------------------------------------------------------
    Entry(
        "002.math.J",
        DOCUMENT,
        "Backward propagation",
        "loss",
        "J(ŷ, y) = -Σ_{i=0}^{c} y_i log(ŷ_i)",
        MODEL + " (one example)",
        value(
            "yhat, y, c = A2[:, 0], Y[:, 0], 9\n"
            "J = -sum(y[i] * np.log(yhat[i]) for i in range(0, c + 1))",
            "J",
            lambda ns: _example_model_loss(),
            example=0,
        ),
        reading="c = 9, the last class; log = ln",
        why=(
            "002 never defines c: it must be the last class index, 9, so that i runs over the 10 "
            "classes 0..9 (were c the number of classes, 10, the sum would have one term too many, "
            "i = 10, past the last class); and only the natural log gives dZ^{[2]} = A^{[2]} - Y"
        ),
        readings=(
            Reading(
                "c = 10, the number of classes",
                value(
                    "yhat, y, c = A2[:, 0], Y[:, 0], 10\n"
                    "J = -sum(y[i] * np.log(yhat[i]) for i in range(0, c + 1))",
                    "J",
                    lambda ns: _example_model_loss(),
                    example=0,
                ),
            ),
            Reading(
                "log = log10",
                value(
                    "yhat, y = A2[:, 0], Y[:, 0]\nJ = -np.sum(y * np.log10(yhat))",
                    "J",
                    lambda ns: _example_model_loss(),
                    example=0,
                ),
            ),
        ),
    ),
    Entry(
        "002.example.yhat",
        DOCUMENT,
        "Backward propagation (example prediction ŷ)",
        "example",
        "ŷ = [0.01 0.02 0.05 0.02 0.80 0.01 0.01 0.00 0.01 0.07]: a probability vector",
        MODEL,
        given(YHAT, "np.sum(yhat)", lambda ns: 1.0, atol=0.05),
    ),
    Entry(
        "002.example.one-hot",
        DOCUMENT,
        "Backward propagation (one-hot example)",
        "example",
        "label 4 → y = [0 0 0 0 1 0 0 0 0 0]",
        MODEL,
        given(
            "y = np.array([0, 0, 0, 0, 1, 0, 0, 0, 0, 0])",
            "y",
            lambda ns: _one_hot_of_4(),
            atol=0.0,
        ),
    ),
    Entry(
        "002.example.J-label",
        DOCUMENT,
        "Backward propagation (loss of the example)",
        "example",
        "J(ŷ, y) = -log(y_4)",
        MODEL,
        given("y = np.eye(10)[4]\nJ = -np.log(y[4])", "J", example_loss, atol=0.0005),
        corrected="J(ŷ, y) = -log(ŷ_4)",
    ),
    Entry(
        "002.example.J-value",
        DOCUMENT,
        "Backward propagation (loss of the example)",
        "example",
        "-log(0.80) ≈ 0.097",
        MODEL,
        given("J = 0.097", "J", example_loss, atol=0.0005),
        corrected="-ln(0.80) ≈ 0.223 (0.097 is -log10(0.80))",
        reading="log = ln, the model's",
        why="dZ^{[2]} = A^{[2]} - Y is the gradient of the natural-log J; with log10 it is off by ln 10",
        readings=(
            Reading(
                "log = log10: the number",
                given("J = 0.097", "J", lambda ns: float(-np.log10(0.80)), atol=0.0005),
            ),
            Reading(
                "log = log10, with the document's dZ^{[2]} = A^{[2]} - Y",
                grad(MATH, loss=log10_loss),
            ),
        ),
    ),
    Entry(
        "002.math.loss-in-words",
        DOCUMENT,
        "Backward propagation",
        "loss",
        "'the loss ... is just the log of the probability given for the correct prediction'",
        MODEL,
        given(YHAT + "J = np.log(yhat[4])", "J", example_loss, atol=0.0005),
        corrected="the loss is minus the log of that probability: J = -log ŷ_label",
    ),
    # ----- backprop ------------------------------------------------------------------------------
    Entry(
        "002.math.update-dJ",
        DOCUMENT,
        "Backward propagation",
        "update",
        "W^{[l]} := W^{[l]} - α ∂J/∂W^{[l]}, b^{[l]} := b^{[l]} - α ∂J/∂b^{[l]}",
        MODEL,
        Descent(
            "W1 = W1 - alpha * dW1\nb1 = b1 - alpha * db1\n"
            "W2 = W2 - alpha * dW2\nb2 = b2 - alpha * db2",
            SETUP,
        ),
    ),
    Entry(
        "002.math.dA2",
        DOCUMENT,
        "Backward propagation",
        "derivative",
        "dA^{[2]} = Y - A^{[2]} ('this derivative is simply'), then dW^{[2]} from it",
        MODEL,
        grad(MATH, ("dZ2", "dA2 = Y - A2\ndZ2 = dA2")),
        corrected=(
            "dZ^{[2]} = A^{[2]} - Y (∂J/∂A^{[2]} itself is -Y / A^{[2]}, entry by entry, for one "
            "example's J; -(1/m) Y / A^{[2]} for the batch's mean J)"
        ),
        reading="the quantity the next line uses as dZ^{[2]}",
        why="'From dA^{[2]} we can calculate dW^{[2]}' with dW^{[2]} = 1/m dZ^{[2]} A^{[1]T}",
        readings=(
            Reading(
                "∂J/∂A^{[2]}, as the text names it (J = -Σ y log ŷ over the batch)",
                value("dA2 = Y - A2", "dA2", dJ_dA2),
            ),
        ),
    ),
    Entry(
        "002.math.db1-index",
        DOCUMENT,
        "Backward propagation",
        "derivative",
        "'From dA^{[2]}, we can calculate dW^{[2]} and db^{[1]}' (then 1/m Σ{dZ^{[2]}})",
        MODEL,
        grad(MATH, ("dB1", "dB1 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)")),
        corrected="dW^{[2]} and db^{[2]}",
        corrected_check=grad(MATH, ("dB2", "dB2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)")),
    ),
    Entry(
        "002.math.dW2",
        DOCUMENT,
        RECAP + "; retelling",
        "derivative",
        "dW^{[2]} = 1/m dZ^{[2]} A^{[1]T}",
        MODEL,
        grad(MATH, ("dW2", "dW2 = 1 / m * dZ2 @ A1.T")),
    ),
    Entry(
        "002.math.dB2",
        DOCUMENT,
        RECAP + "; retelling",
        "derivative",
        "dB^{[2]} = 1/m Σ{dZ^{[2]}}",
        MODEL,
        grad(MATH, ("dB2", "dB2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)")),
        reading="Σ over the examples (axis 1)",
        why="the only reading that gives b^{[2]}'s 10 × 1 shape and the right values",
        readings=(
            Reading(
                "Σ over every entry (what the document's own code does)",
                grad(MATH, ("dB2", "dB2 = 1 / m * np.sum(dZ2)")),
            ),
            Reading(
                "Σ over the classes (axis 0)",
                grad(MATH, ("dB2", "dB2 = 1 / m * np.sum(dZ2, axis=0, keepdims=True)")),
            ),
        ),
    ),
    Entry(
        "002.math.dB-name",
        DOCUMENT,
        RECAP,
        "update",
        "dB^{[2]} = ..., dB^{[1]} = ... defined; b^{[l]} := b^{[l]} - α db^{[l]} used",
        MODEL,
        Descent(
            "W1 = W1 - alpha * dW1\nb1 = b1 - alpha * db1\n"
            "W2 = W2 - alpha * dW2\nb2 = b2 - alpha * db2",
            SETUP,
            names="d{upper}",
        ),
        corrected=(
            "one name for ∂J/∂b^{[l]}: db^{[l]} in both places (the name 002 gives it when it "
            "sets out to find dW^{[1]}, db^{[1]}, dW^{[2]}, db^{[2]})"
        ),
        corrected_check=Descent(
            "W1 = W1 - alpha * dW1\nb1 = b1 - alpha * dB1\n"
            "W2 = W2 - alpha * dW2\nb2 = b2 - alpha * dB2",
            SETUP,
            names="d{upper}",
        ),
    ),
    Entry(
        "002.math.dZ1",
        DOCUMENT,
        RECAP,
        "derivative",
        "dZ^{[1]} = W^{[2]T} dZ^{[2]} · g'^{(Z^{[1]})}",
        MODEL,
        grad(MATH, ("dZ1", "dZ1 = (W2.T @ dZ2) * g_prime(Z1)")),
        reading="· element-wise, g' evaluated at Z^{[1]}",
        why="the text: 'we perform an element-wise multiplication with the derivative'",
        readings=(
            Reading(
                "· a matrix product",
                grad(MATH, ("dZ1", "dZ1 = (W2.T @ dZ2) @ g_prime(Z1)")),
            ),
        ),
    ),
    Entry(
        "002.math.relu-prime",
        DOCUMENT,
        "Backward propagation",
        "derivative",
        "g'(Z^{[1]}) is a matrix of 1s (Z > 0) and 0s (Z < 0)",
        MODEL,
        grad(MATH, ("dZ1", "dZ1 = (W2.T @ dZ2) * np.where(Z1 > 0, 1.0, 0.0)")),
    ),
    Entry(
        "002.math.dW1",
        DOCUMENT,
        "Backward propagation",
        "derivative",
        "dW^{[1]} = 1/m dZ^{[1]} X^T",
        MODEL,
        grad(MATH, ("dW1", "dW1 = 1 / m * dZ1 @ X.T")),
    ),
    Entry(
        "002.math.dB1",
        DOCUMENT,
        RECAP + "; retelling",
        "derivative",
        "dB^{[1]} = 1/m Σ{dZ^{[1]}}",
        MODEL,
        grad(MATH, ("dB1", "dB1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)")),
        reading="Σ over the examples (axis 1)",
        why="the only reading that gives b^{[1]}'s 10 × 1 shape and the right values",
        readings=(
            Reading(
                "Σ over every entry (what the document's own code does)",
                grad(MATH, ("dB1", "dB1 = 1 / m * np.sum(dZ1)")),
            ),
        ),
    ),
    Entry(
        "002.math.update",
        DOCUMENT,
        RECAP + " (twice); retelling",
        "update",
        "W^{[l]} := W^{[l]} - α dW^{[l]}, b^{[l]} := b^{[l]} - α db^{[l]}",
        MODEL,
        Descent(
            "W2 = W2 - alpha * dW2\nb2 = b2 - alpha * db2\n"
            "W1 = W1 - alpha * dW1\nb1 = b1 - alpha * db1",
            SETUP,
        ),
    ),
    Entry(
        "002.recap.dZ2",
        DOCUMENT,
        "recap; retelling",
        "derivative",
        "dZ^{[2]} = A^{[2]} - Y",
        MODEL,
        grad(MATH, ("dZ2", "dZ2 = A2 - Y")),
    ),
    Entry(
        "002.recap.dW1",
        DOCUMENT,
        "recap; retelling",
        "derivative",
        "dW^{[1]} = 1/m dZ^{[1]} A^{[0]T}",
        MODEL,
        grad(MATH, ("dW1", "dW1 = 1 / m * dZ1 @ A0.T")),
    ),
    # ----- the retelling ("Credit goes to wwsalmon") ---------------------------------------------
    Entry(
        "002.notes.dZ1",
        DOCUMENT,
        "retelling: Backward propagation",
        "derivative",
        "dZ^{[1]} = W^{[2]T} dZ^{[2]} ·* g^{[1]'}(z^{[1]})",
        MODEL,
        grad(MATH, ("dZ1", "dZ1 = (W2.T @ dZ2) * g_prime(Z1)")),
        reading="·* as MATLAB's .* (element-wise)",
        why="W^{[2]T} dZ^{[2]} and g'(Z^{[1]}) are both 10 × m: only the element-wise product fits",
        readings=(
            Reading(
                "· a matrix product",
                grad(MATH, ("dZ1", "dZ1 = (W2.T @ dZ2) @ g_prime(Z1)")),
            ),
        ),
    ),
    Entry(
        "002.notes.shapes-forward",
        DOCUMENT,
        "retelling: Vars and shapes (Forward prop)",
        "shape",
        "A^{[0]}: 784 × m, Z^{[1]}, A^{[1]}: 10 × m, W^{[1]}: 10 × 784, B^{[1]}: 10 × 1, ...",
        MODEL,
        Shapes(
            (
                ("A0", (784, "m")),
                ("Z1", (10, "m")),
                ("A1", (10, "m")),
                ("W1", (10, 784)),
                ("b1", (10, 1)),
                ("Z2", (10, "m")),
                ("A2", (10, "m")),
                ("W2", (10, 10)),
                ("b2", (10, 1)),
            ),
            forward_shapes,
            SETUP.m,
        ),
    ),
    Entry(
        "002.notes.shapes-backprop",
        DOCUMENT,
        "retelling: Vars and shapes (Backprop)",
        "shape",
        "dZ^{[2]}: 10 × m, dW^{[2]}: 10 × 10, dB^{[2]}: 10 × 1, dZ^{[1]}: 10 × m, "
        "dW^{[1]}: 10 × 10, dB^{[1]}: 10 × 1",
        MODEL,
        Shapes(
            (
                ("dZ2", (10, "m")),
                ("dW2", (10, 10)),
                ("dB2", (10, 1)),
                ("dZ1", (10, "m")),
                ("dW1", (10, 10)),
                ("dB1", (10, 1)),
            ),
            backprop_shapes,
            SETUP.m,
        ),
        corrected="dW^{[1]}: 10 × 784 (the shape of W^{[1]})",
        corrected_check=Shapes(
            (
                ("dZ2", (10, "m")),
                ("dW2", (10, 10)),
                ("dB2", (10, 1)),
                ("dZ1", (10, "m")),
                ("dW1", (10, 784)),
                ("dB1", (10, 1)),
            ),
            backprop_shapes,
            SETUP.m,
        ),
    ),
    # ----- the code ------------------------------------------------------------------------------
    Entry(
        "002.code.init_params",
        DOCUMENT,
        "The code: init_params",
        "code",
        "W1 = np.random.rand(10, 784) - 0.5 ... b2 = np.random.rand(10, 1) - 0.5",
        MODEL,
        Value(
            INIT_PARAMS,
            "[d for p in init_params() for d in (*p.shape, p.min() >= -0.5, p.max() < 0.5)]",
            lambda ns: [d for s in inputs(SETUP).model.param_shapes().values() for d in (*s, 1, 1)],
            lambda: {"np": _SeededNumPy()},
            what=f"parameter shapes and range {U}",
        ),
    ),
    Entry(
        "002.code.forward_prop",
        DOCUMENT,
        "The code: forward_prop",
        "code",
        "A1 = ReLU(Z1) Z2 = W2.dot(A1) + b2   (two statements on one line)",
        MODEL,
        value(FORWARD_PROP, FORWARD_CALL, _cache, prelude=RELU + SOFTMAX, label="forward_prop"),
        corrected=(
            f"a line break between A1 = ReLU(Z1) and Z2 = W2.dot(A1) + b2 (the join is {EXTRACTION}, "
            "like one_hot's and get_accuracy's split code blocks)"
        ),
        corrected_check=value(
            FORWARD_PROP_FIXED, FORWARD_CALL, _cache, prelude=RELU + SOFTMAX, label="forward_prop"
        ),
    ),
    Entry(
        "002.code.forward_prop-returns",
        DOCUMENT,
        "The code: after forward_prop",
        "code",
        "'we returned not just our final predictions but also Z1, A2, and Z2'",
        MODEL,
        Returned(
            ("A2", "Z1", "A2", "Z2"),  # the final predictions are A2
            FORWARD_PROP_FIXED,
            "forward_prop(W1, b1, W2, b2, X)",
            lambda: setup_names(SETUP),
            ("Z1", "A1", "Z2", "A2"),
            prelude=RELU + SOFTMAX,
        ),
        corrected="not just our final predictions (A2) but also Z1, A1, and Z2",
        corrected_check=Returned(
            ("A2", "Z1", "A1", "Z2"),
            FORWARD_PROP_FIXED,
            "forward_prop(W1, b1, W2, b2, X)",
            lambda: setup_names(SETUP),
            ("Z1", "A1", "Z2", "A2"),
            prelude=RELU + SOFTMAX,
        ),
    ),
    Entry(
        "002.code.ReLU",
        DOCUMENT,
        "The code: ReLU",
        "code",
        "np.maximum(Z, 0)",
        MODEL,
        value(RELU, "ReLU(Z1)", lambda ns: ns["A1"]),
    ),
    Entry(
        "002.code.softmax",
        DOCUMENT,
        "The code: softmax",
        "code",
        "np.exp(Z) / sum(np.exp(Z))",
        MODEL,
        value(SOFTMAX, "softmax(Z2)", lambda ns: ns["A2"]),
    ),
    Entry(
        "002.code.m",
        DOCUMENT,
        "The code: backward_prop",
        "code",
        "1 / m * ... with m neither an argument nor defined in backward_prop",
        MODEL,
        grad(CODE, ("m", "")),
        corrected="m = Y.size (the number of examples) inside backward_prop",
        corrected_check=grad(CODE, ("m", "m = Y.size")),
        readings=(
            Reading(
                "m a global from a data set twice the batch's size",
                grad(CODE, ("m", "m = 2 * Y.size")),
            ),
        ),
        reading="as printed: no m in scope",
        meant="the corrected form",
        why="the document never says where m comes from; it must equal the batch's number of examples",
    ),
    Entry(
        "002.code.one_hot_Y",
        DOCUMENT,
        "The code: backward_prop",
        "code",
        "one_hot_Y = one_hot(Y)",
        MODEL,
        grad(CODE, ("one_hot", ONE_HOT_INDENTED), ("one_hot_Y", "one_hot_Y = one_hot(Y)")),
    ),
    Entry(
        "002.code.dZ2",
        DOCUMENT,
        "The code: backward_prop",
        "code",
        "dZ2 = A2 - one_hot_Y",
        MODEL,
        grad(CODE, ("dZ2", "dZ2 = A2 - one_hot_Y")),
    ),
    Entry(
        "002.code.dW2",
        DOCUMENT,
        "The code: backward_prop",
        "code",
        "dW2 = 1 / m * dZ2.dot(A1.T)",
        MODEL,
        grad(CODE, ("dW2", "dW2 = 1 / m * dZ2.dot(A1.T)")),
    ),
    Entry(
        "002.code.db2",
        DOCUMENT,
        "The code: backward_prop",
        "code",
        "db2 = 1 / m * np.sum(dZ2)",
        MODEL,
        grad(CODE, ("db2", "db2 = 1 / m * np.sum(dZ2)")),
        corrected=(
            "db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True) (summed over everything it is one "
            "number, 0 up to rounding, as every column of A2 - one_hot_Y sums to 0: b2 never moves)"
        ),
        corrected_check=grad(CODE, ("db2", "db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)")),
    ),
    Entry(
        "002.code.dZ1",
        DOCUMENT,
        "The code: backward_prop",
        "code",
        "dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z1)",
        MODEL,
        grad(CODE, ("ReLU_deriv", RELU_DERIV), ("dZ1", "dZ1 = W2.T.dot(dZ2) * ReLU_deriv(Z1)")),
    ),
    Entry(
        "002.code.dW1",
        DOCUMENT,
        "The code: backward_prop",
        "code",
        "dW1 = 1 / m * dZ1.dot(X.T)",
        MODEL,
        grad(CODE, ("dW1", "dW1 = 1 / m * dZ1.dot(X.T)")),
    ),
    Entry(
        "002.code.db1",
        DOCUMENT,
        "The code: backward_prop",
        "code",
        "db1 = 1 / m * np.sum(dZ1)",
        MODEL,
        grad(CODE, ("db1", "db1 = 1 / m * np.sum(dZ1)")),
        corrected="db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)",
        corrected_check=grad(CODE, ("db1", "db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)")),
    ),
    Entry(
        "002.code.ReLU_deriv",
        DOCUMENT,
        "The code: ReLU_deriv",
        "code",
        "return Z > 0",
        MODEL,
        grad(CODE, ("ReLU_deriv", RELU_DERIV)),
    ),
    Entry(
        "002.code.one_hot",
        DOCUMENT,
        "The code: one_hot",
        "code",
        "one_hot_Y = np.zeros((Y.size, Y.max() + 1)) ... then, in a block of its own, return one_hot_Y",
        MODEL,
        grad(CODE, ("one_hot", ONE_HOT), ("one_hot_Y", "one_hot_Y = one_hot(Y)")),
        corrected=(
            f"indent `return one_hot_Y` into one_hot (the split block is {EXTRACTION}); and width "
            "10 (the classes), not Y.max() + 1 (that one is the code's own: see the hazard)"
        ),
        corrected_check=grad(
            CODE, ("one_hot", ONE_HOT_FIXED), ("one_hot_Y", "one_hot_Y = one_hot(Y)")
        ),
    ),
    Entry(
        "002.code.update_params",
        DOCUMENT,
        "The code: update_params",
        "code",
        "W1 = W1 - alpha * dW1 ... b2 = b2 - alpha * db2",
        MODEL,
        Descent(UPDATE_PARAMS, SETUP),
    ),
    Entry(
        "002.code.get_predictions",
        DOCUMENT,
        "The code: get_predictions",
        "code",
        "np.argmax(A2, 0)",
        MODEL,
        value(
            GET_PREDICTIONS,
            "get_predictions(A2)",
            lambda ns: _predictions(),
        ),
    ),
    Entry(
        "002.code.get_accuracy",
        DOCUMENT,
        "The code: get_accuracy",
        "code",
        "def get_accuracy(predictions, Y): ... then, in a block of its own and unindented, "
        "print(predictions, Y); return np.sum(predictions == Y) / Y.size",
        MODEL,
        _get_accuracy(GET_ACCURACY),
        corrected=(
            f"indent the body into get_accuracy (the split block is {EXTRACTION}, like one_hot's)"
        ),
        corrected_check=_get_accuracy(GET_ACCURACY_INDENTED),
    ),
    # ----- numerical hazards ---------------------------------------------------------------------
    Entry(
        "002.hazard.softmax-overflow",
        DOCUMENT,
        "The code: softmax",
        "hazard",
        "np.exp(Z) / sum(np.exp(Z)) with a logit of 1000",
        MODEL,
        Hazard(
            SOFTMAX + "A = softmax(Z)",
            "A",
            softmax_overflow_input,
            input="Z = [0, 0, 0, 1000, 0, ...]",
        ),
        corrected="np.exp(Z - Z.max(axis=0)) / np.sum(np.exp(Z - Z.max(axis=0)), axis=0)",
        corrected_check=Hazard(
            "E = np.exp(Z - Z.max(axis=0))\nA = E / np.sum(E, axis=0)",
            "A",
            softmax_overflow_input,
            input="Z = [0, 0, 0, 1000, 0, ...]",
        ),
    ),
    Entry(
        "002.hazard.one-hot-width",
        DOCUMENT,
        "The code: one_hot",
        "hazard",
        "np.zeros((Y.size, Y.max() + 1)) on a batch without the digit 9",
        MODEL,
        Hazard(
            ONE_HOT_INDENTED + "dZ2 = A2 - one_hot(Y)",
            "dZ2",
            labels_without_nine,
            input="labels 0..8, 0..6 (no 9), m = 16",
        ),
        corrected="np.zeros((Y.size, 10)): the width is the number of classes",
        corrected_check=Hazard(
            ONE_HOT_FIXED + "dZ2 = A2 - one_hot(Y)",
            "dZ2",
            labels_without_nine,
            input="labels 0..8, 0..6 (no 9), m = 16",
        ),
    ),
    Entry(
        "002.hazard.log0",
        DOCUMENT,
        "Backward propagation (the example ŷ and J)",
        "hazard",
        "J = -Σ y_i log(ŷ_i) on the document's own ŷ (which has ŷ_7 = 0.00)",
        MODEL,
        Hazard(
            YHAT + "y = np.eye(10)[4]\nJ = -np.sum(y * np.log(yhat))",
            "J",
            lambda: {"np": np},
            input="the example ŷ, label 4",
        ),
        corrected="J = -log ŷ_label (or -Σ y log_softmax(Z), computed from the logits)",
        corrected_check=Hazard(
            YHAT + "label = 4\nJ = -np.log(yhat[label])",
            "J",
            lambda: {"np": np},
            input="the example ŷ, label 4",
        ),
    ),
)
