"""Document 004: "MNIST" README, raneamri (a two-layer ELU/softmax network trained from CSV).

The stated model: ELU hidden layer, softmax output with cross-entropy, column layout, IMG_SIZE = 784
inputs and ten digits; the hidden width is not stated (784-10-10, the recipe's choice, as in 002).
The README writes products with `*` next to NumPy's `.T`: in NumPy `*` is element-wise, so each
such formula is run both ways.
"""

from __future__ import annotations

import numpy as np

from handgrad.audit.checks import Backward, Descent, Gradient, Hazard, Statement, Value
from handgrad.audit.common import names, setup_names
from handgrad.audit.registry import Entry, Reading, Setup
from handgrad.tolerances import close, relative_error, tolerance

DOCUMENT = "004"
SETUP = Setup("elu-softmax-column", (784, 10, 10), m=16, init="uniform")
MODEL = SETUP.describe()
STATED = (
    f"{MODEL} (ELU hidden layer with alpha = 1, softmax + cross-entropy, IMG_SIZE = 784 inputs; "
    "the hidden width is not stated)"
)
NUMPY_STAR = "`*` as NumPy's element-wise product"

MATH = Backward(
    SETUP,
    names,
    head=(
        ("dZ2", "dZ2 = A2 - Y"),
        ("dW2", "dW2 = 1 / m * dZ2 @ A1.T"),
        ("db2", "db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)"),
        ("dZ1", "dZ1 = (W2.T @ dZ2) * g_prime(Z1)"),
        ("dW1", "dW1 = 1 / m * dZ1 @ X.T"),
        ("db1", "db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)"),
    ),
    outputs=(("W1", "dW1"), ("b1", "db1"), ("W2", "dW2"), ("b2", "db2")),
)


def grad(*lines: tuple[str, str]) -> Gradient:
    """A Gradient check of 004's backprop with `lines` ((slot, code), ...) as written."""
    return Gradient(MATH, tuple(lines))


def value(code: str, result: str, expected) -> Value:
    """A Value check on the stated model's batch."""
    return Value(code, result, expected, lambda: setup_names(SETUP))


SQUARE = Setup("elu-softmax-column", (784, 10, 10), m=10, init="uniform")


def square_batch() -> dict:
    """A batch of m = 10 examples: dZ2 and A1.T are then both 10 × 10."""
    return setup_names(SQUARE)


def differs_from_matmul(value, ns) -> str:
    """What a run without an error computed instead of 1/m dZ2 A1^T, or "" when it is that."""
    right = (ns["A2"] - ns["Y"]) @ ns["A1"].T / ns["m"]
    if np.shape(value) == right.shape and close(
        value, right, tolerance(np.float64, "formulations")
    ):
        return ""
    err = relative_error(value, right) if np.shape(value) == right.shape else float("nan")
    return f"runs without an error, shape {np.shape(value)}, but rel. err {err:.3g} vs 1/m dZ2 A1ᵀ"


UPDATE = (
    "W1 = W1 - alpha * dW1\nb1 = b1 - alpha * db1\nW2 = W2 - alpha * dW2\nb2 = b2 - alpha * db2"
)

# 004's forward propagation, in its names (ELU with alpha = 1, softmax over each column)
FORWARD_PASS = (
    "Z1 = W1 @ A0 + b1\n"
    "A1 = np.where(Z1 > 0, Z1, np.exp(np.minimum(Z1, 0)) - 1)\n"
    "Z2 = W2 @ A1 + b2\n"
    "A2 = np.exp(Z2) / np.sum(np.exp(Z2), axis=0, keepdims=True)"
)

FORWARD = "Forward Propagation"
BACKWARD = "Backward Propagation"

ENTRIES = (
    Entry(
        "004.forward.in-words",
        DOCUMENT,
        FORWARD,
        "forward",
        "'During forward propagation, the neural network takes images and learns to create "
        "predictions out of them'",
        MODEL,
        # to learn is to change the parameters: forward propagation, run, changes none of them
        Descent(FORWARD_PASS, SETUP, updates=("W1", "b1", "W2", "b2"), what="forward propagation"),
        corrected=(
            "during forward propagation the network creates predictions from the images with the "
            "parameters it has; it learns (W and b change) only in the update that follows "
            "backward propagation"
        ),
        corrected_check=Descent(FORWARD_PASS, SETUP, updates=(), what="forward propagation"),
    ),
    Entry(
        "004.forward.Z1",
        DOCUMENT,
        FORWARD,
        "forward",
        "Z^1 = W^1 * A^0 + b^1",
        MODEL,
        value("Z1 = W1 @ A0 + b1", "Z1", lambda ns: ns["Z1"]),
        reading="`*` a matrix product",
        why="'applying a weight ... to the input layer': W^1 is 10 × 784 and A^0 784 × m",
        readings=(Reading(NUMPY_STAR, value("Z1 = W1 * A0 + b1", "Z1", lambda ns: ns["Z1"])),),
    ),
    Entry(
        "004.forward.A1",
        DOCUMENT,
        FORWARD,
        "forward",
        "A^1 = ELU(Z^1)",
        MODEL,
        value("A1 = np.where(Z1 > 0, Z1, np.exp(Z1) - 1)", "A1", lambda ns: ns["A1"]),
    ),
    Entry(
        "004.forward.Z2",
        DOCUMENT,
        FORWARD,
        "forward",
        "Z^2 = W^2 * A^1 + b^2",
        MODEL,
        value("Z2 = W2 @ A1 + b2", "Z2", lambda ns: ns["Z2"]),
        reading="`*` a matrix product",
        why="W^2 is 10 × 10 and A^1 10 × m: only the matrix product gives Z^2 for every m",
        readings=(Reading(NUMPY_STAR, value("Z2 = W2 * A1 + b2", "Z2", lambda ns: ns["Z2"])),),
    ),
    Entry(
        "004.forward.A2",
        DOCUMENT,
        FORWARD,
        "forward",
        "A^2 = softmax(Z^2)",
        MODEL,
        value("A2 = np.exp(Z2) / np.sum(np.exp(Z2), axis=0)", "A2", lambda ns: ns["A2"]),
    ),
    Entry(
        "004.backprop.dZ2",
        DOCUMENT,
        BACKWARD,
        "derivative",
        "dZ^2 = A^2 - Y",
        MODEL,
        grad(("dZ2", "dZ2 = A2 - Y")),
    ),
    Entry(
        "004.backprop.dW2",
        DOCUMENT,
        BACKWARD,
        "derivative",
        "dW^2 = 1/m * dZ^2 * A^1.T",
        MODEL,
        grad(("dW2", "dW2 = 1 / m * dZ2 @ A1.T")),
        reading="the second `*` a matrix product",
        why="dZ^2 is 10 × m and A^1.T m × 10: the product must give W^2's 10 × 10",
        readings=(Reading(NUMPY_STAR, grad(("dW2", "dW2 = 1 / m * dZ2 * A1.T"))),),
    ),
    Entry(
        "004.backprop.db2",
        DOCUMENT,
        BACKWARD,
        "derivative",
        "db^2 = 1/m * Σ dZ^2",
        MODEL,
        grad(("db2", "db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)")),
        reading="Σ over the examples (axis 1)",
        why="the only reading that gives b^2's 10 × 1 shape and the right values",
        readings=(Reading("Σ over every entry", grad(("db2", "db2 = 1 / m * np.sum(dZ2)"))),),
    ),
    Entry(
        "004.backprop.db2-in-words",
        DOCUMENT,
        BACKWARD,
        "derivative",
        "db^2: 'This is the average of the absolute error'",
        MODEL,
        Statement(
            (
                (
                    "read as 1/m Σ |dZ^2| over the examples: the absolute value throws away the "
                    "sign of each example's error",
                    grad(("db2", "db2 = 1 / m * np.sum(np.abs(dZ2), axis=1, keepdims=True)")),
                ),
            )
        ),
        corrected=(
            "the average of the (signed) error over the examples, per output unit: "
            "db^2 = 1/m Σ dZ^2 (averaged as absolute values every entry is ≥ 0, so gradient "
            "descent could only ever lower the bias)"
        ),
        corrected_check=grad(("db2", "db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)")),
    ),
    Entry(
        "004.backprop.dZ1",
        DOCUMENT,
        BACKWARD,
        "derivative",
        "dZ^1 = W^2.T * dZ^1 * g'()",
        MODEL,
        grad(("dZ1", "dZ1 = W2.T * dZ1 * g_prime()")),
        corrected="dZ^1 = W^2.T dZ^2 * g'(Z^1) (matrix product, then element-wise)",
        corrected_check=grad(("dZ1", "dZ1 = (W2.T @ dZ2) * g_prime(Z1)")),
        reading="as printed: dZ^1 on both sides, g'() without an argument",
        meant="dZ^2, W^2.T dZ^2 a matrix product, g' at Z^1",
        why="the error flows back from dZ^2, through W^2, and g' undoes layer 1's ELU at Z^1",
        readings=(
            Reading(
                "dZ^2 on the right, " + NUMPY_STAR, grad(("dZ1", "dZ1 = W2.T * dZ2 * g_prime(Z1)"))
            ),
            Reading(
                "dZ^2, W^2.T dZ^2 a matrix product, g' at Z^2",
                grad(("dZ1", "dZ1 = (W2.T @ dZ2) * g_prime(Z2)")),
            ),
            Reading(
                "dZ^2, W^2.T dZ^2 a matrix product, g' at Z^1",
                grad(("dZ1", "dZ1 = (W2.T @ dZ2) * g_prime(Z1)")),
            ),
        ),
    ),
    Entry(
        "004.backprop.dW1",
        DOCUMENT,
        BACKWARD,
        "derivative",
        "dW^1 = 1/m * dZ^1 * X.T",
        MODEL,
        grad(("dW1", "dW1 = 1 / m * dZ1 @ X.T")),
        reading="the second `*` a matrix product",
        why="dZ^1 is 10 × m and X.T m × 784: the product must give W^1's 10 × 784",
        readings=(Reading(NUMPY_STAR, grad(("dW1", "dW1 = 1 / m * dZ1 * X.T"))),),
    ),
    Entry(
        "004.backprop.db1",
        DOCUMENT,
        BACKWARD,
        "derivative",
        "db^1 = 1/m * Σ dZ^1",
        MODEL,
        grad(("db1", "db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)")),
        reading="Σ over the examples (axis 1)",
        why="the only reading that gives b^1's 10 × 1 shape and the right values",
        readings=(Reading("Σ over every entry", grad(("db1", "db1 = 1 / m * np.sum(dZ1)"))),),
    ),
    Entry(
        "004.update",
        DOCUMENT,
        "Update Parameters",
        "update",
        "W^l := W^l - αdW^l, b^l := b^l - αdb^l",
        MODEL,
        Descent(UPDATE, SETUP),
    ),
    Entry(
        "004.update.in-words",
        DOCUMENT,
        "Update Parameters",
        "update",
        "'the algorithm updates a hyperparameter α in this fashion: W^1 := W^1 - αdW^1 ...'",
        MODEL,
        Descent(UPDATE, SETUP, updates=("alpha",)),
        corrected=(
            "the algorithm updates the parameters W^1, b^1, W^2, b^2 in this fashion, with the "
            "learning rate α, a hyperparameter that stays fixed (as the README says next)"
        ),
        corrected_check=Descent(UPDATE, SETUP, updates=("W1", "b1", "W2", "b2")),
    ),
    Entry(
        "004.hazard.star-square-batch",
        DOCUMENT,
        BACKWARD,
        "hazard",
        "dW^2 = 1/m * dZ^2 * A^1.T in NumPy on a batch of m = 10",
        MODEL,
        Hazard(
            "dZ2 = A2 - Y\ndW2 = 1 / m * dZ2 * A1.T",
            "dW2",
            square_batch,
            detect=differs_from_matmul,
            input="m = 10 = n^1 (dZ^2 and A^1.T both 10 × 10)",
        ),
        corrected="dW2 = 1 / m * dZ2 @ A1.T",
        corrected_check=Hazard(
            "dZ2 = A2 - Y\ndW2 = 1 / m * dZ2 @ A1.T",
            "dW2",
            square_batch,
            detect=differs_from_matmul,
            input="m = 10 = n^1 (dZ^2 and A^1.T both 10 × 10)",
        ),
    ),
)
