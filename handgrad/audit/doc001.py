"""Document 001: "Neural Network Backpropogation", MATH 3480, Dr. Michael Olson.

The stated model: sigmoid layers with the squared-error cost C = (a^(L) - y)^2 of one example,
column layout (z^(L) = w^(L) a^(L-1) + b^(L); w_jk joins unit k of layer L-1 to unit j of layer L).
Two networks are stated: "4 layers with a depth of 1 each" (1-1-1-1), where the chain rule is
derived, and the MNIST network 784-16-16-10, where the j, k formulas apply. The cost is written
for one example: the chain's formulas run on each example of a batch of 8 and are averaged (001's
own "average of the changes"); the j, k formulas run on one example.
"""

from __future__ import annotations

import numpy as np

import reference
from handgrad.audit.checks import Backward, Descent, Gradient, Value
from handgrad.audit.common import model_loss, names, setup_names
from handgrad.audit.registry import Entry, Setup, inputs

DOCUMENT = "001"
CHAIN = Setup("sigmoid-mse-column", (1, 1, 1, 1), m=8)
NET = Setup("sigmoid-mse-column", (784, 16, 16, 10), m=1)
BATCH = Setup("sigmoid-mse-column", (784, 16, 16, 10), m=8)
CHAIN_MODEL = CHAIN.describe() + " (depth 1 each; per example, averaged over 8)"
NET_MODEL = NET.describe() + " (one example)"
STATED = (
    "sigmoid-mse-column: σ on every layer, C = (a^(L) - y)^2 per example, "
    f"z^(L) = w^(L) a^(L-1) + b^(L); the chain as {CHAIN.describe()} ('4 layers with a depth of 1 "
    f"each'), the j, k formulas on {NET.describe()} (784 inputs, 2 hidden layers of 16, 10 outputs)"
)

# "We do this for all layers": 001's chain rule, layer by layer from L = 3 down.
CHAIN_BACKWARD = Backward(
    CHAIN,
    names,
    head=(("dC_da", "dC_da3 = 2 * (a3 - y)"),),
    layer=(
        ("da_dz", "da_dz{l} = sigma_prime(z{l})"),
        ("dz_dw", "dz_dw{l} = a{p}"),
        ("dz_db", "dz_db{l} = 1"),
        ("dz_da", "dz_da{l} = w{l}"),
        ("dC_dw", "dC_dw{l} = dC_da{l} * da_dz{l} * dz_dw{l}"),
        ("dC_db", "dC_db{l} = dC_da{l} * da_dz{l} * dz_db{l}"),
        ("dC_da_prev", "dC_da{p} = dC_da{l} * da_dz{l} * dz_da{l}"),
    ),
    # per example (one column each), then the average over the batch (001's step 6); "+ 0 * a0"
    # keeps one column per example where a formula is constant
    outputs=(
        ("W{l}", "np.mean(dC_dw{l} + 0 * a0, axis=1, keepdims=True)"),
        ("b{l}", "np.mean(dC_db{l} + 0 * a0, axis=1, keepdims=True)"),
    ),
)

DC_DW_JK = (
    "dC_dw{l} = np.array([[dC_da{l}[j, 0] * da_dz{l}[j, 0] * a{p}[k, 0] for k in range(n{p})]\n"
    "                     for j in range(n{l})])"
)
DC_DA_K = (
    "dC_da{p} = np.array([[sum(dC_da{l}[j, 0] * da_dz{l}[j, 0] * w{l}[j, k] for j in range(n{l}))]\n"
    "                     for k in range(n{p})])"
)

# The j, k formulas, neuron by neuron (C = Σ_j (a_j - y_j)^2 gives ∂C/∂a_j = 2(a_j - y_j)).
NET_BACKWARD = Backward(
    NET,
    names,
    head=(("dC_da", "dC_da3 = 2 * (a3 - y)"),),
    layer=(
        ("da_dz", "da_dz{l} = sigma_prime(z{l})"),
        ("dC_dw", DC_DW_JK),
        ("dC_db", "dC_db{l} = dC_da{l} * da_dz{l}"),
        ("dC_da_prev", DC_DA_K),
    ),
    outputs=(("W{l}", "dC_dw{l}"), ("b{l}", "dC_db{l}")),
)


def chain(*lines: tuple[str, str]) -> Gradient:
    """A Gradient check of the one-neuron chain with `lines` as written ("slot@3": layer L only)."""
    return Gradient(CHAIN_BACKWARD, tuple(lines))


def net(*lines: tuple[str, str]) -> Gradient:
    """A Gradient check of the j, k formulas with `lines` as written."""
    return Gradient(NET_BACKWARD, tuple(lines))


def chain_value(code: str, result: str, expected) -> Value:
    """A Value check on the one-neuron chain, first example."""
    return Value(code, result, expected, lambda: setup_names(CHAIN, example=0))


def averaged(ns=None) -> dict:
    """Per-example gradients of C (the oracle's, one example at a time) over a batch of 8."""
    inp = inputs(BATCH)
    flat = []
    for i in range(BATCH.m):
        g = reference.jax_gradients(inp.model, inp.params, inp.X[:, i : i + 1], inp.Y[:, i : i + 1])
        flat.append(np.concatenate([v.ravel() for v in g.values()]))
    return {"np": np, "per_example": flat}


def batch_gradient(ns) -> np.ndarray:
    """The gradient of the batch's mean cost, flattened."""
    inp = inputs(BATCH)
    g = reference.jax_gradients(inp.model, inp.params, inp.X, inp.Y)
    return np.concatenate([v.ravel() for v in g.values()])


W_L = "∂C/∂w^{(L)}"
MATH = "The math"
JK = "The math (depth larger than 1)"

ENTRIES = (
    Entry(
        "001.math.cost",
        DOCUMENT,
        MATH,
        "loss",
        "C = (a^{(L)} - y)^2",
        CHAIN_MODEL,
        chain_value("C = (a3 - y) ** 2", "C", lambda ns: model_loss(CHAIN, example=0)),
    ),
    Entry(
        "001.math.activation",
        DOCUMENT,
        MATH,
        "forward",
        "a^{(L)} = σ(z^{(L)})",
        CHAIN_MODEL,
        chain_value("a3 = sigma(z3)", "a3", lambda ns: ns["a3"]),
    ),
    Entry(
        "001.math.z",
        DOCUMENT,
        MATH,
        "forward",
        "z^{(L)} = w^{(L)} a^{(L-1)} + b^{(L)}",
        CHAIN_MODEL,
        chain_value("z3 = w3 * a2 + b3", "z3", lambda ns: ns["z3"]),
    ),
    Entry(
        "001.chain.dw",
        DOCUMENT,
        MATH,
        "derivative",
        f"{W_L} = ∂C/∂a^{{(L)}} ∂a^{{(L)}}/∂z^{{(L)}} ∂z^{{(L)}}/∂w^{{(L)}}",
        CHAIN_MODEL,
        chain(("dC_dw@3", "dC_dw{l} = dC_da{l} * da_dz{l} * dz_dw{l}")),
    ),
    Entry(
        "001.chain.dC_da",
        DOCUMENT,
        MATH + " (w, b and a^{(L-1)} alike)",
        "derivative",
        "∂C/∂a^{(L)} = 2(a^{(L)} - y)",
        CHAIN_MODEL,
        chain(("dC_da", "dC_da3 = 2 * (a3 - y)")),
    ),
    Entry(
        "001.chain.da_dz",
        DOCUMENT,
        MATH + " (w, b and a^{(L-1)} alike)",
        "derivative",
        "∂a^{(L)}/∂z^{(L)} = σ'(z^{(L)})",
        CHAIN_MODEL,
        chain(("da_dz@3", "da_dz{l} = sigma_prime(z{l})")),
    ),
    Entry(
        "001.chain.dz_dw",
        DOCUMENT,
        MATH,
        "derivative",
        "∂z^{(L)}/∂w^{(L)} = a^{(L)}",
        CHAIN_MODEL,
        chain(("dz_dw@3", "dz_dw{l} = a{l}")),
        corrected=(
            "∂z^{(L)}/∂w^{(L)} = a^{(L-1)}: z^{(L)} = w^{(L)} a^{(L-1)} + b^{(L)} changes with "
            "w^{(L)} at the rate of the neuron's input a^{(L-1)}, not of its output a^{(L)}"
        ),
        corrected_check=chain(("dz_dw@3", "dz_dw{l} = a{p}")),
    ),
    Entry(
        "001.chain.dw-result",
        DOCUMENT,
        MATH,
        "derivative",
        f"{W_L} = 2(a^{{(L)}}-y) σ'(z^{{(L)}}) a^{{(L)}}",
        CHAIN_MODEL,
        chain(("dC_dw@3", "dC_dw{l} = 2 * (a{l} - y) * sigma_prime(z{l}) * a{l}")),
        corrected=f"{W_L} = 2(a^{{(L)}}-y) σ'(z^{{(L)}}) a^{{(L-1)}}",
        corrected_check=chain(("dC_dw@3", "dC_dw{l} = 2 * (a{l} - y) * sigma_prime(z{l}) * a{p}")),
    ),
    Entry(
        "001.chain.db",
        DOCUMENT,
        MATH,
        "derivative",
        "∂C/∂b^{(L)} = ∂C/∂a^{(L)} ∂a^{(L)}/∂z^{(L)} ∂z^{(L)}/∂b^{(L)}",
        CHAIN_MODEL,
        chain(("dC_db@3", "dC_db{l} = dC_da{l} * da_dz{l} * dz_db{l}")),
    ),
    Entry(
        "001.chain.dz_db",
        DOCUMENT,
        MATH,
        "derivative",
        "∂z^{(L)}/∂b^{(L)} = 1",
        CHAIN_MODEL,
        chain(("dz_db@3", "dz_db{l} = 1")),
    ),
    Entry(
        "001.chain.db-result",
        DOCUMENT,
        MATH,
        "derivative",
        "∂C/∂b^{(L)} = 2(a^{(L)}-y) σ'(z^{(L)})",
        CHAIN_MODEL,
        chain(("dC_db@3", "dC_db{l} = 2 * (a{l} - y) * sigma_prime(z{l})")),
    ),
    Entry(
        "001.chain.da",
        DOCUMENT,
        MATH,
        "derivative",
        "∂C/∂a^{(L-1)} = ∂C/∂a^{(L)} ∂a^{(L)}/∂z^{(L)} ∂z^{(L)}/∂a^{(L-1)}",
        CHAIN_MODEL,
        chain(("dC_da_prev@3", "dC_da{p} = dC_da{l} * da_dz{l} * dz_da{l}")),
    ),
    Entry(
        "001.chain.dz_da",
        DOCUMENT,
        MATH,
        "derivative",
        "∂z^{(L)}/∂a^{(L-1)} = w^{(L)}",
        CHAIN_MODEL,
        chain(("dz_da@3", "dz_da{l} = w{l}")),
    ),
    Entry(
        "001.chain.da-result",
        DOCUMENT,
        MATH,
        "derivative",
        "∂C/∂a^{(L-1)} = 2(a^{(L)}-y) σ'(z^{(L)}) w^{(L)}",
        CHAIN_MODEL,
        chain(("dC_da_prev@3", "dC_da{p} = 2 * (a{l} - y) * sigma_prime(z{l}) * w{l}")),
    ),
    Entry(
        "001.chain.all-layers",
        DOCUMENT,
        MATH,
        "derivative",
        "'We do this for all layers': the same three rules at every layer",
        CHAIN_MODEL,
        chain(),
    ),
    Entry(
        "001.update.nabla",
        DOCUMENT,
        MATH,
        "update",
        "∇C = [∂C/∂w^{(1)}, ∂C/∂b^{(1)}, ..., ∂C/∂w^{(L)}, ∂C/∂b^{(L)}]; apply gradient descent",
        CHAIN_MODEL,
        Descent(
            "W1 = W1 - alpha * dW1\nb1 = b1 - alpha * db1\nW2 = W2 - alpha * dW2\n"
            "b2 = b2 - alpha * db2\nW3 = W3 - alpha * dW3\nb3 = b3 - alpha * db3",
            CHAIN,
        ),
    ),
    Entry(
        "001.update.average",
        DOCUMENT,
        "A conceptual description, step 6",
        "update",
        "'The average of the changes we calculated ... indicate how much the weights need to change'",
        BATCH.describe() + " (a batch of 8)",
        Value("avg = sum(per_example) / len(per_example)", "avg", batch_gradient, averaged),
    ),
    Entry(
        "001.net.cost",
        DOCUMENT,
        JK,
        "loss",
        "C = Σ_{j=0}^{n_L - 1} = (a_j^{(L)} - y_j)^2",
        NET_MODEL,
        Value(
            "C = sum(range(0, n3)) = (a3[j, 0] - y[j, 0]) ** 2",
            "C",
            lambda ns: model_loss(NET),
            lambda: setup_names(NET),
        ),
        corrected="C = Σ_{j=0}^{n_L - 1} (a_j^{(L)} - y_j)^2 (no '=' after the Σ)",
        corrected_check=Value(
            "C = sum((a3[j, 0] - y[j, 0]) ** 2 for j in range(0, n3))",
            "C",
            lambda ns: model_loss(NET),
            lambda: setup_names(NET),
        ),
    ),
    Entry(
        "001.net.dw_jk",
        DOCUMENT,
        JK,
        "derivative",
        "∂C/∂w_{jk}^{(L)} = ∂C/∂a_j^{(L)} ∂a_j^{(L)}/∂z_j^{(L)} ∂z_j^{(L)}/∂w_{jk}^{(L)}",
        NET_MODEL,
        net(("dC_dw@3", DC_DW_JK)),
    ),
    Entry(
        "001.net.da_k",
        DOCUMENT,
        JK,
        "derivative",
        "∂C/∂a_k^{(L)} = Σ_j ∂C/∂a_j^{(L)} ∂a_j^{(L)}/∂z_j^{(L)} ∂z_j^{(L)}/∂a_k^{(L-1)}",
        NET_MODEL,
        net(("dC_da_prev@3", DC_DA_K.replace("dC_da{p} =", "dC_da{l} ="))),
        corrected="∂C/∂a_k^{(L-1)} = Σ_j ... (the unit k is in layer L-1)",
        corrected_check=net(("dC_da_prev@3", DC_DA_K)),
    ),
)
