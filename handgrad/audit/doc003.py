"""Document 003: "MNIST Neural Network" (lecture-style notes; author not named).

The stated model is 002's: ReLU hidden layer, softmax output with cross-entropy, column layout
(A^[0] = X is 784 x m), 784-10-10 (003 gives the 784 inputs and the ten digits; the hidden width is
002's, whose notebook 003 retells). Backprop is written with lower-case dz, dw and the 1/m in dw and
db, as in 002. The worked softmax example ([1.3, 5.1, 2.2, 0.7]) is checked against the model's
softmax.
"""

from __future__ import annotations

import numpy as np

from handgrad.activations import softmax
from handgrad.audit.checks import Backward, Descent, Gradient, Hazard, Shapes, Statement, Value
from handgrad.audit.common import names, setup_names
from handgrad.audit.registry import Entry, Reading, Setup, inputs

DOCUMENT = "003"
SETUP = Setup("relu-softmax-column", (784, 10, 10), m=16, init="uniform")
MODEL = SETUP.describe()
STATED = (
    f"{MODEL} (ReLU hidden layer, softmax + cross-entropy, A^[0] = X is 784 × m; the hidden width "
    "is 002's, which 003 retells)"
)

MATH = Backward(
    SETUP,
    names,
    head=(
        ("dz2", "dz2 = A2 - y"),
        ("dw2", "dw2 = 1 / m * dz2 @ A1.T"),
        ("db2", "db2 = 1 / m * np.sum(dz2, axis=1, keepdims=True)"),
        ("dz1", "dz1 = (W2.T @ dz2) * g_prime(z1)"),
        ("dw1", "dw1 = 1 / m * dz1 @ x.T"),
        ("db1", "db1 = 1 / m * np.sum(dz1, axis=1, keepdims=True)"),
    ),
    outputs=(("W1", "dw1"), ("b1", "db1"), ("W2", "dw2"), ("b2", "db2")),
)

LOGITS = "z = np.array([1.3, 5.1, 2.2, 0.7])\n"


def grad(*lines: tuple[str, str]) -> Gradient:
    """A Gradient check of 003's backprop with `lines` ((slot, code), ...) as written."""
    return Gradient(MATH, tuple(lines))


def value(code: str, result: str, expected, **kw) -> Value:
    """A Value check on the stated model's batch."""
    return Value(code, result, expected, lambda: setup_names(SETUP), **kw)


def example(code: str, result: str, expected) -> Value:
    """A Value check on example 0 of the stated model's batch (few enough numbers to print)."""
    return Value(code, result, expected, lambda: setup_names(SETUP, 0))


def example_softmax(ns) -> np.ndarray:
    """The stated model's softmax of the example logits [1.3, 5.1, 2.2, 0.7]."""
    return softmax(np.array([[1.3], [5.1], [2.2], [0.7]]), 0)[:, 0]


def big_logits() -> dict:
    """The example's logits times 200: [260, 1020, 440, 140]; e^1020 overflows float64."""
    return {"np": np, "z": 200 * np.array([1.3, 5.1, 2.2, 0.7])}


def data_shapes() -> dict:
    """The input batch with the examples as rows (003's X before the transpose), and as columns."""
    X = inputs(SETUP).X
    return {
        "X^T, examples x^{(1)} ... x^{(n)} as rows (n = 784, as in 002)": X.T.shape,
        "X, examples x^{(1)} ... x^{(n)} as columns (n = 784, as in 002)": X.shape,
        "X^T, examples x^{(1)} ... x^{(m)} as rows": X.T.shape,
        "X = A^{[0]}, examples x^{(1)} ... x^{(m)} as columns": X.shape,
    }


def a0_shape() -> dict:
    """The shape of the stated model's input batch."""
    return {"A0": inputs(SETUP).X.shape}


BACK_PROP = "Back Prop"

ENTRIES = (
    Entry(
        "003.data.X-examples",
        DOCUMENT,
        "The data (before Forward Prop)",
        "shape",
        "X = [x^{(1)} ... x^{(n)}]^T = [x^{(1)} x^{(2)} ... x^{(n)}] (one example a row, then a "
        "column)",
        MODEL,
        # 003 never defines n; in 002, which 003 retells, n = 784 counts the features
        Shapes(
            (
                ("X^T, examples x^{(1)} ... x^{(n)} as rows (n = 784, as in 002)", (784, 784)),
                ("X, examples x^{(1)} ... x^{(n)} as columns (n = 784, as in 002)", (784, 784)),
            ),
            data_shapes,
            SETUP.m,
        ),
        corrected=(
            "X = [x^{(1)} ... x^{(m)}]^T: the examples run to x^{(m)}, as A^{[0]} = X (784 × m) "
            "says two steps later; 003 never defines n, which in 002 (whose notebook 003 retells) "
            "counts the 784 features"
        ),
        corrected_check=Shapes(
            (
                ("X^T, examples x^{(1)} ... x^{(m)} as rows", ("m", 784)),
                ("X = A^{[0]}, examples x^{(1)} ... x^{(m)} as columns", (784, "m")),
            ),
            data_shapes,
            SETUP.m,
        ),
    ),
    Entry(
        "003.forward.A0",
        DOCUMENT,
        "Forward Prop, step 1",
        "shape",
        "A^{[0]} = X (784 × m)",
        MODEL,
        Shapes((("A0", (784, "m")),), a0_shape, SETUP.m),
    ),
    Entry(
        "003.forward.Z1",
        DOCUMENT,
        "Forward Prop, step 2",
        "forward",
        "Z^{[1]} = W^{[1]} A^{[0]} + b^{[1]}",
        MODEL,
        value("Z1 = W1 @ A0 + b1", "Z1", lambda ns: ns["Z1"]),
    ),
    Entry(
        "003.forward.A1",
        DOCUMENT,
        "Forward Prop, step 3",
        "forward",
        "A^{[1]} = g(Z^{[1]}) = ReLU(Z^{[1]})",
        MODEL,
        value("A1 = np.maximum(Z1, 0)", "A1", lambda ns: ns["A1"]),
    ),
    Entry(
        "003.forward.Z2",
        DOCUMENT,
        "Forward Prop, step 4",
        "forward",
        "Z^{[2]} = W^{[2]} A^{[1]} + b^{[2]}",
        MODEL,
        value("Z2 = W2 @ A1 + b2", "Z2", lambda ns: ns["Z2"]),
    ),
    Entry(
        "003.forward.A2",
        DOCUMENT,
        "Forward Prop, step 5",
        "forward",
        "A^{[2]} = SoftMax(Z^{[2]})",
        MODEL,
        value("A2 = np.exp(Z2) / np.sum(np.exp(Z2), axis=0)", "A2", lambda ns: ns["A2"]),
    ),
    Entry(
        "003.forward.softmax-formula",
        DOCUMENT,
        "Forward Prop (softmax figure)",
        "forward",
        "e^{z_i} / Σ_{j=1}^{k} e^{z_j}",
        MODEL,
        Value(LOGITS + "p = np.exp(z) / np.sum(np.exp(z))", "p", example_softmax, lambda: {}),
    ),
    Entry(
        "003.example.softmax",
        DOCUMENT,
        "Forward Prop (softmax figure)",
        "example",
        "[1.3, 5.1, 2.2, 0.7] → [0.02, 0.9, 0.05, 0.01]",
        MODEL,
        Value(
            "p = np.array([0.02, 0.9, 0.05, 0.01])",
            "p",
            example_softmax,
            lambda: {},
            atol=np.array([0.005, 0.05, 0.005, 0.005]),  # half a unit of each stated last digit
            what="stated probabilities",
        ),
    ),
    Entry(
        "003.backprop.dz2",
        DOCUMENT,
        BACK_PROP + ", step 1",
        "derivative",
        "dz^{[2]} = A^{[2]} - y",
        MODEL,
        grad(("dz2", "dz2 = A2 - y")),
    ),
    Entry(
        "003.backprop.dz2-in-words",
        DOCUMENT,
        BACK_PROP + ", step 1",
        "derivative",
        "'its our predictions (A^{[2]}) and subtract the actual errors (y)'",
        MODEL,
        Statement(
            (
                (
                    "y as 'the actual errors', against 003's own error dz^{[2]} = A^{[2]} - y "
                    "(example 0)",
                    example("actual_errors = y", "actual_errors", lambda ns: ns["A2"] - ns["Y"]),
                ),
            )
        ),
        corrected="our predictions (A^{[2]}) minus the actual labels y (one-hot): that is the error",
        corrected_check=Statement(
            (
                (
                    "y as the labels, one-hot (example 0)",
                    example(
                        "actual_labels = y",
                        "actual_labels",
                        lambda ns: np.eye(10)[ns["labels"]].T,
                    ),
                ),
            )
        ),
    ),
    Entry(
        "003.backprop.dw2",
        DOCUMENT,
        BACK_PROP + ", step 2",
        "derivative",
        "dw^{[2]} = 1/m dz^{[2]} A^{[0]T}",
        MODEL,
        grad(("dw2", "dw2 = 1 / m * dz2 @ A0.T")),
        corrected="dw^{[2]} = 1/m dz^{[2]} A^{[1]T}",
        corrected_check=grad(("dw2", "dw2 = 1 / m * dz2 @ A1.T")),
    ),
    Entry(
        "003.backprop.db2",
        DOCUMENT,
        BACK_PROP + ", step 3",
        "derivative",
        "db^{[2]} = 1/m Σ dz^{[2]}",
        MODEL,
        grad(("db2", "db2 = 1 / m * np.sum(dz2, axis=1, keepdims=True)")),
        reading="Σ over the examples (axis 1)",
        why="the only reading that gives b^{[2]}'s 10 × 1 shape and the right values",
        readings=(Reading("Σ over every entry", grad(("db2", "db2 = 1 / m * np.sum(dz2)"))),),
    ),
    Entry(
        "003.backprop.db2-in-words",
        DOCUMENT,
        BACK_PROP + ", step 3",
        "derivative",
        "db^{[2]}: 'This is the average of the absolute error'",
        MODEL,
        Statement(
            (
                (
                    "read as 1/m Σ |dz^{[2]}| over the examples: the absolute value throws away the "
                    "sign of each example's error",
                    grad(("db2", "db2 = 1 / m * np.sum(np.abs(dz2), axis=1, keepdims=True)")),
                ),
            )
        ),
        corrected=(
            "the average of the (signed) error over the examples, per output unit: "
            "db^{[2]} = 1/m Σ dz^{[2]} (averaged as absolute values every entry is ≥ 0, so gradient "
            "descent could only ever lower the bias)"
        ),
        corrected_check=grad(("db2", "db2 = 1 / m * np.sum(dz2, axis=1, keepdims=True)")),
    ),
    Entry(
        "003.backprop.dz1",
        DOCUMENT,
        BACK_PROP + ", step 4",
        "derivative",
        "dz^{[1]} = W^{[2]T} dz^{[2]} · g'(z)",
        MODEL,
        grad(("dz1", "dz1 = (W2.T @ dz2) * g_prime(z1)")),
        reading="· element-wise, z = z^{[1]}",
        why="the derivative 'undoes' layer 1's activation, and only 10 × m ⊙ 10 × m fits",
        readings=(
            Reading("· a matrix product", grad(("dz1", "dz1 = (W2.T @ dz2) @ g_prime(z1)"))),
            Reading(
                "z = z^{[2]}, the output layer's", grad(("dz1", "dz1 = (W2.T @ dz2) * g_prime(z2)"))
            ),
        ),
    ),
    Entry(
        "003.backprop.dw1",
        DOCUMENT,
        BACK_PROP + ", step 5",
        "derivative",
        "dw^{[1]} = 1/m dz^{[1]} x^T",
        MODEL,
        grad(("dw1", "dw1 = 1 / m * dz1 @ x.T")),
    ),
    Entry(
        "003.backprop.db1",
        DOCUMENT,
        BACK_PROP + ", step 5",
        "derivative",
        "db^{[1]} = 1/m Σ dz^{[1]}",
        MODEL,
        grad(("db1", "db1 = 1 / m * np.sum(dz1, axis=1, keepdims=True)")),
        reading="Σ over the examples (axis 1)",
        why="the only reading that gives b^{[1]}'s 10 × 1 shape and the right values",
        readings=(Reading("Σ over every entry", grad(("db1", "db1 = 1 / m * np.sum(dz1)"))),),
    ),
    Entry(
        "003.update",
        DOCUMENT,
        "After back prop: the parameter update",
        "update",
        "W^{[l]} = W^{[l]} - α dw^{[l]}, b^{[l]} = b^{[l]} - α db^{[l]}",
        MODEL,
        Descent(
            "W1 = W1 - alpha * dw1\nb1 = b1 - alpha * db1\n"
            "W2 = W2 - alpha * dw2\nb2 = b2 - alpha * db2",
            SETUP,
            names="d{lower}",
        ),
    ),
    Entry(
        "003.hazard.softmax-overflow",
        DOCUMENT,
        "Forward Prop (softmax figure)",
        "hazard",
        "e^{z_i} / Σ_j e^{z_j} evaluated as written, logits in the hundreds",
        MODEL,
        Hazard(
            "p = np.exp(z) / np.sum(np.exp(z))",
            "p",
            big_logits,
            input="the example's logits × 200",
        ),
        corrected="e^{z_i - max z} / Σ_j e^{z_j - max z}",
        corrected_check=Hazard(
            "e = np.exp(z - z.max())\np = e / np.sum(e)",
            "p",
            big_logits,
            input="the example's logits × 200",
        ),
    ),
)
