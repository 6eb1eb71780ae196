"""Document 000: "MNIST Classification with Numpy and Backpropagation" (GitHub README; author not named).

The stated model: sigmoid layers with the mean squared error MSE = 1/m Σ_i ||y_i - a_i^L||^2 over
the m examples (000 prints 1/m Σ_i^m (y - a^L)^2, its summand without i, and uses m elsewhere for
the width of layer L-1: `000.loss.mse` runs every reading), row layout
(a^L = σ(a^(L-1) w^L + b^L), one example per row). The document derives the chain rule first for one
neuron per layer ("one input neuron, and one output neuron", then "another layer of one neuron":
1-1-1, checked one example at a time), then in matrix form. It gives no layer sizes for MNIST: the
matrix form is checked on 784-30-10 (the recipe's choice, after Nielsen, whose figures 000 uses).
"""

from __future__ import annotations

import numpy as np

from handgrad.audit.checks import Backward, Gradient, Hazard, Value, exception_text
from handgrad.audit.common import model_loss, names, setup_names
from handgrad.audit.registry import Entry, Reading, Setup

DOCUMENT = "000"
CHAIN = Setup("sigmoid-mse-row", (1, 1, 1), m=8)
ROW = Setup("sigmoid-mse-row", (784, 30, 10), m=16)
MODEL = ROW.describe() + " (sizes: the recipe's choice)"
CHAIN_MODEL = CHAIN.describe() + " (one neuron per layer; per example, averaged over 8)"
STATED = (
    "sigmoid-mse-row: σ on every layer, MSE = 1/m Σ_i ||y_i - a_i^L||^2 over the m examples, "
    f"a^L = σ(a^(L-1) w^L + b^L) with one example per row; the one-neuron chain as {CHAIN.describe()}, the matrix form on "
    f"{ROW.describe()} (000 gives no sizes; the recipe's choice)"
)

PER_EXAMPLE = (("W1", "dLoss_dw1"), ("b1", "dLoss_db1"), ("W2", "dLoss_dw2"), ("b2", "dLoss_db2"))

# The one-neuron chain (000's f-n), stated for one example: run on each example of a batch (arrays of
# one column, one row per example) and averaged, as the MSE's 1/m Σ does. dLoss/da^L = 2(a^L - y) is
# the derivative of the MSE's (y - a^L)^2, which 000 does not state on its own.
CHAIN_BACKWARD = Backward(
    CHAIN,
    names,
    head=(
        ("dLoss_da2", "dLoss_da2 = 2 * (a2 - y)"),
        ("da2_dz2", "da2_dz2 = sigma_prime(z2)"),
        ("dz2_dw2", "dz2_dw2 = a1"),
        ("dz2_db2", "dz2_db2 = 1"),
        ("dz2_da1", "dz2_da1 = w2"),
        ("dLoss_dw2", "dLoss_dw2 = dLoss_da2 * da2_dz2 * dz2_dw2"),
        ("dLoss_db2", "dLoss_db2 = dLoss_da2 * da2_dz2 * dz2_db2"),
        ("dLoss_da1", "dLoss_da1 = dLoss_da2 * da2_dz2 * dz2_da1"),
        ("dLoss_dw1", "dLoss_dw1 = dLoss_da1 * sigma_prime(z1) * a0"),
        ("dLoss_db1", "dLoss_db1 = dLoss_da1 * sigma_prime(z1)"),
    ),
    # the mean over the batch's rows; "+ 0 * a0" keeps one row per example where a formula is constant
    outputs=tuple((k, f"np.mean({v} + 0 * a0, axis=0, keepdims=True)") for k, v in PER_EXAMPLE),
)

# The matrix form (000's o-q), one example per row.
MATRIX = Backward(
    ROW,
    names,
    head=(
        ("dLoss_dA2", "dLoss_dA2 = 2 / m * (A2 - Y)"),
        ("delta2", "delta2 = dLoss_dA2 * sigma_prime(Z2)"),
        ("dLoss_dW2", "dLoss_dW2 = A1.T @ delta2"),
        ("dLoss_db2", "dLoss_db2 = np.sum(delta2, axis=0, keepdims=True)"),
        ("dLoss_dA1", "dLoss_dA1 = delta2 @ W2.T"),
        ("delta1", "delta1 = dLoss_dA1 * sigma_prime(Z1)"),
        ("dLoss_dW1", "dLoss_dW1 = A0.T @ delta1"),
        ("dLoss_db1", "dLoss_db1 = np.sum(delta1, axis=0, keepdims=True)"),
    ),
    outputs=(("W1", "dLoss_dW1"), ("b1", "dLoss_db1"), ("W2", "dLoss_dW2"), ("b2", "dLoss_db2")),
)


def chain(*lines: tuple[str, str]) -> Gradient:
    """A Gradient check of the one-neuron chain with `lines` as written."""
    return Gradient(CHAIN_BACKWARD, tuple(lines))


def matrix(*lines: tuple[str, str]) -> Gradient:
    """A Gradient check of the matrix form with `lines` as written."""
    return Gradient(MATRIX, tuple(lines))


def value(code: str, result: str, expected) -> Value:
    """A Value check on the matrix model's batch."""
    return Value(code, result, expected, lambda: setup_names(ROW))


UPDATE_INPUT = (
    "a batch of m = 16 rows, used in the plain step b_L := b_L - α ∂Loss/∂b_L "
    "(000 names gradient descent but writes no update rule)"
)


def update_namespace() -> dict:
    """The matrix model's batch and a learning rate."""
    return setup_names(ROW) | {"alpha": 0.1}


def bias_grows(value, ns) -> str:
    """What updating b^L with a per-example (unsummed) gradient does to it, shown on a smaller batch."""
    if np.shape(value) == (1, ns["b2"].shape[1]):
        return ""
    try:
        ns["A1"][:8] @ ns["W2"] + value  # the next batch of 8 examples
        then = "a batch of 8 still runs"
    except ValueError as error:
        then = f"a batch of 8 then fails: {exception_text(error)}"
    return f"b^L silently becomes {np.shape(value)} (one row per example); {then}"


def mse_of_model(ns) -> float:
    """The stated model's MSE on the matrix model's batch."""
    return model_loss(ROW)


CHAIN_W = "∂Loss/∂w^L = 2(a^L - y) σ'(z^L) a^{L-1} (× 1/m over a batch)"
FACTOR = "∂Loss/∂a^L = 2/m (a^L - y), not (y - a^L)"

ENTRIES = (
    Entry(
        "000.forward.neuron",
        DOCUMENT,
        "Deep neural networks (one neuron)",
        "forward",
        "a_n^L = σ((Σ_i^m w_{in}^L a_i^{L-1}) + b_n^L)",
        MODEL,
        value(
            "a0 = X[0]\n"
            "a1 = np.array([sigma(sum(W1[i, n] * a0[i] for i in range(W1.shape[0])) + b1[0, n])\n"
            "               for n in range(W1.shape[1])])",
            "a1",
            lambda ns: ns["A1"][0],
        ),
    ),
    Entry(
        "000.forward.matrix",
        DOCUMENT,
        "Deep neural networks (matrix form)",
        "forward",
        "a^L = σ([a_1^{L-1} ... a_m^{L-1}] [w_{11}^L ... w_{mn}^L] + [b_1^L ... b_n^L])",
        MODEL,
        value("a1 = sigma(X[:1] @ W1 + b1)", "a1", lambda ns: ns["A1"][:1]),
    ),
    Entry(
        "000.forward.batch",
        DOCUMENT,
        "Deep neural networks; Batches (more rows)",
        "forward",
        "a^L = σ(a^{L-1} w^L + b^L)",
        MODEL,
        value("A1 = sigma(X @ W1 + b1)\nA2 = sigma(A1 @ W2 + b2)", "A2", lambda ns: ns["A2"]),
    ),
    Entry(
        "000.loss.mse",
        DOCUMENT,
        "Backpropagation",
        "loss",
        "MSE = 1/m Σ_i^m (y - a^L)^2",
        MODEL,
        value(
            "MSE = 1 / m * sum(np.sum((Y[i] - A2[i]) ** 2) for i in range(m))",
            "MSE",
            lambda ns: model_loss(ROW),
        ),
        reading=(
            "i indexes the examples, m of them (the batch's rows): "
            "(1/m) Σ_{i=1}^{m} ||y_i - a_i^L||^2, summed over the 10 outputs"
        ),
        why=(
            "a loss averages over the examples, so m must count them here, although 000's forward "
            "formulas use m for the width of layer L-1 (Σ_i^m w_{in}^L a_i^{L-1}, the m × n weight "
            "matrix); and the summand, printed without i, must be example i's squared error summed "
            "over the outputs, ||y_i - a_i^L||^2"
        ),
        readings=(
            Reading(
                "as printed: no i in the summand, so Σ_i^m adds m copies of (y - a^L)^2 (an array)",
                value("MSE = 1 / m * sum((Y - A2) ** 2 for i in range(m))", "MSE", mse_of_model),
            ),
            Reading(
                "m as in 000's forward formulas: the width of layer L-1 (30 here)",
                value(
                    "width = W2.shape[0]  # 000's m: the units of layer L-1\n"
                    "MSE = 1 / width * np.sum((Y - A2) ** 2)",
                    "MSE",
                    mse_of_model,
                ),
            ),
            Reading(
                "the mean over every entry (examples and the 10 outputs)",
                value("MSE = np.mean((Y - A2) ** 2)", "MSE", mse_of_model),
            ),
        ),
    ),
    Entry(
        "000.chain.dw",
        DOCUMENT,
        "Backpropagation (one neuron)",
        "derivative",
        "∂Loss/∂w^L = ∂Loss/∂a^L ∂a^L/∂z^L ∂z^L/∂w^L",
        CHAIN_MODEL,
        chain(("dLoss_dw2", "dLoss_dw2 = dLoss_da2 * da2_dz2 * dz2_dw2")),
    ),
    Entry(
        "000.chain.dw-result",
        DOCUMENT,
        "Backpropagation (one neuron)",
        "derivative",
        "∂Loss/∂w^L = (y - a^L) σ'(z^L) a^{L-1}",
        CHAIN_MODEL,
        chain(("dLoss_dw2", "dLoss_dw2 = (y - a2) * sigma_prime(z2) * a1")),
        corrected=CHAIN_W,
        corrected_check=chain(("dLoss_dw2", "dLoss_dw2 = 2 * (a2 - y) * sigma_prime(z2) * a1")),
        reading="scalars (one neuron per layer, as stated)",
        why="it is stated for one input and one output neuron, where the order of factors is free",
        readings=(
            Reading(
                "the same product in the written order, for layers of many neurons (matrices)",
                matrix(("dLoss_dW2", "dLoss_dW2 = ((Y - A2) * sigma_prime(Z2)) @ A1")),
            ),
        ),
    ),
    Entry(
        "000.chain.db",
        DOCUMENT,
        "Backpropagation (one neuron)",
        "derivative",
        "∂Loss/∂b^L = ∂Loss/∂a^L ∂a^L/∂z^L ∂z^L/∂b^L",
        CHAIN_MODEL,
        chain(("dLoss_db2", "dLoss_db2 = dLoss_da2 * da2_dz2 * dz2_db2")),
    ),
    Entry(
        "000.chain.db-result",
        DOCUMENT,
        "Backpropagation (one neuron)",
        "derivative",
        "∂Loss/∂b^L = (y - a^L) σ'(z^L)",
        CHAIN_MODEL,
        chain(("dLoss_db2", "dLoss_db2 = (y - a2) * sigma_prime(z2)")),
        corrected="∂Loss/∂b^L = 2(a^L - y) σ'(z^L)",
        corrected_check=chain(("dLoss_db2", "dLoss_db2 = 2 * (a2 - y) * sigma_prime(z2)")),
    ),
    Entry(
        "000.chain.da",
        DOCUMENT,
        "Backpropagation (another layer of one neuron)",
        "derivative",
        "∂Loss/∂a^{L-1} = ∂Loss/∂a^L ∂a^L/∂z^L ∂z^L/∂a^{L-1}",
        CHAIN_MODEL,
        chain(("dLoss_da1", "dLoss_da1 = dLoss_da2 * da2_dz2 * dz2_da1")),
    ),
    Entry(
        "000.chain.da-result",
        DOCUMENT,
        "Backpropagation (another layer of one neuron)",
        "derivative",
        "∂Loss/∂a^{L-1} = (y - a^L) σ'(z^L) w^L",
        CHAIN_MODEL,
        chain(("dLoss_da1", "dLoss_da1 = (y - a2) * sigma_prime(z2) * w2")),
        corrected="∂Loss/∂a^{L-1} = 2(a^L - y) σ'(z^L) w^L",
        corrected_check=chain(("dLoss_da1", "dLoss_da1 = 2 * (a2 - y) * sigma_prime(z2) * w2")),
    ),
    Entry(
        "000.chain.dw-prev",
        DOCUMENT,
        "Backpropagation (another layer of one neuron)",
        "derivative",
        "∂Loss/∂w^{L-1} = ∂Loss/∂a^{L-1} σ'(z^{L-1}) a^{L-2}",
        CHAIN_MODEL,
        chain(("dLoss_dw1", "dLoss_dw1 = dLoss_da1 * sigma_prime(z1) * a0")),
    ),
    Entry(
        "000.chain.db-prev",
        DOCUMENT,
        "Backpropagation (another layer of one neuron)",
        "derivative",
        "∂Loss/∂b^{L-1} = ∂Loss/∂a^{L-1} σ'(z^{L-1})",
        CHAIN_MODEL,
        chain(("dLoss_db1", "dLoss_db1 = dLoss_da1 * sigma_prime(z1)")),
    ),
    Entry(
        "000.matrix.dw",
        DOCUMENT,
        "Backpropagation (more neurons per layer)",
        "derivative",
        "∂Loss/∂w_L = a^T_{L-1} (y - a_L) σ'(z_L)",
        MODEL,
        matrix(("dLoss_dW2", "dLoss_dW2 = A1.T @ ((Y - A2) * sigma_prime(Z2))")),
        corrected="∂Loss/∂w_L = a^T_{L-1} [2/m (a_L - y) ⊙ σ'(z_L)]",
        corrected_check=matrix(
            ("dLoss_dW2", "dLoss_dW2 = A1.T @ (2 / m * (A2 - Y) * sigma_prime(Z2))")
        ),
        reading="(y - a_L) σ'(z_L) element-wise, then the matrix product with a^T_{L-1}",
        why="(y - a_L) and σ'(z_L) are both m × n: only their element-wise product fits",
        readings=(
            Reading(
                "every product a matrix product",
                matrix(("dLoss_dW2", "dLoss_dW2 = A1.T @ (Y - A2) @ sigma_prime(Z2)")),
            ),
        ),
    ),
    Entry(
        "000.matrix.db",
        DOCUMENT,
        "Backpropagation (more neurons per layer)",
        "derivative",
        "∂Loss/∂b_L = (y - a_L) σ'(z_L)",
        MODEL,
        matrix(("dLoss_db2", "dLoss_db2 = (Y - A2) * sigma_prime(Z2)")),
        corrected="∂Loss/∂b_L = Σ over the rows (examples) of 2/m (a_L - y) ⊙ σ'(z_L)",
        corrected_check=matrix(
            (
                "dLoss_db2",
                "dLoss_db2 = np.sum(2 / m * (A2 - Y) * sigma_prime(Z2), axis=0, keepdims=True)",
            )
        ),
        readings=(
            Reading(
                "summed over the batch (rows)",
                matrix(
                    (
                        "dLoss_db2",
                        "dLoss_db2 = np.sum((Y - A2) * sigma_prime(Z2), axis=0, keepdims=True)",
                    )
                ),
            ),
        ),
        reading="as printed: one row per example, no sum",
        meant="summed over the batch (rows)",
        why="a bias gradient must have the bias's 1 × n shape: the sum over the batch is missing",
    ),
    Entry(
        "000.matrix.da",
        DOCUMENT,
        "Backpropagation (more neurons per layer)",
        "derivative",
        "∂Loss/∂a_{L-1} = (y - a_L) σ'(z_L) w^T_L",
        MODEL,
        matrix(("dLoss_dA1", "dLoss_dA1 = ((Y - A2) * sigma_prime(Z2)) @ W2.T")),
        corrected="∂Loss/∂a_{L-1} = [2/m (a_L - y) ⊙ σ'(z_L)] w^T_L",
        corrected_check=matrix(
            ("dLoss_dA1", "dLoss_dA1 = (2 / m * (A2 - Y) * sigma_prime(Z2)) @ W2.T")
        ),
    ),
    Entry(
        "000.hazard.bias-broadcast",
        DOCUMENT,
        "Backpropagation (more neurons per layer)",
        "hazard",
        "∂Loss/∂b_L = (y - a_L) σ'(z_L)",
        MODEL,
        # 000 names gradient descent but writes no update rule: the hazard is its bias gradient
        # used in the plain step, as a reader implementing it in NumPy would
        Hazard(
            "b2 = b2 - alpha * (Y - A2) * sigma_prime(Z2)",
            "b2",
            update_namespace,
            detect=bias_grows,
            input=UPDATE_INPUT,
        ),
        corrected="b_L := b_L - α Σ_rows 2/m (a_L - y) ⊙ σ'(z_L)",
        corrected_check=Hazard(
            "b2 = b2 - alpha * np.sum(2 / m * (A2 - Y) * sigma_prime(Z2), axis=0, keepdims=True)",
            "b2",
            update_namespace,
            detect=bias_grows,
            input=UPDATE_INPUT,
        ),
    ),
)
