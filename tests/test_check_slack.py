"""`handgrad check`: the slack that keeps right gradients from failing for the oracles' own limits.

Two regressions, each a right gradient that an earlier checker failed:
- the kink band widens with the fan-in (`check.kink_slack`, (KINK_ULPS + n) eps (|W||A| + |b|)):
  a pre-activation that cancels to a few tens of ulps can have one sign in NumPy's dot product and
  the other in XLA's, which adds the n terms in another order;
- a directional difference's uncertainty includes the loss's own rounding (`check._fd_noise`,
  eps |L| / step): scipy's error estimate said 0 for a large loss, and where finite differences
  alone judge (a `loss=` JAX cannot trace) a right gradient failed.
"""

from __future__ import annotations

import numpy as np

import handgrad.check
import reference
from handgrad.check import KINK_ULPS, check_gradients, model_loss
from handgrad.diagnose import variant_gradients
from handgrad.formulations import forward, gradients
from handgrad.models import init_params, parse_model

EPS = float(np.finfo(np.float64).eps)


def _right(model):
    return lambda p, X, Y: gradients(model, p, X, Y)


def _negated(model):
    return lambda p, X, Y: {k: -v for k, v in gradients(model, p, X, Y).items()}


# --- the kink band widens with the fan-in -------------------------------------------------------


def _cancelled_pre_activation(n: int = 784):
    """relu-softmax-column n-3-3, one example x = 1, hidden unit 0's W1 row [1, s, ..., s, -1] with
    s = 0.4 eps: a sum in order absorbs every s into the running 1 and cancels to exactly 0 (XLA's
    dot here), a blocked, vectorised one (OpenBLAS) keeps the s's of its other accumulators (about
    150 eps). b1[0] = -(NumPy's sum) / 10 leaves Z1[0] at +0.9 of it in NumPy, -0.1 of it in JAX."""
    model = parse_model("relu-softmax-column", (n, 3, 3))
    rng = np.random.default_rng(0)
    params = init_params(model, rng, "normal")
    params["W1"][0] = 0.4 * EPS
    params["W1"][0, 0], params["W1"][0, -1] = 1.0, -1.0
    params["b1"][0] = 0.0
    X, Y = np.ones((n, 1)), np.array([[1.0], [0.0], [0.0]])
    params["b1"][0] = -forward(model, params, X)["Z1"][0, 0] / 10
    return model, params, X, Y


def test_a_pre_activation_cancelled_to_tens_of_ulps_is_on_the_kink_not_a_wrong_gradient():
    """A reviewer's crafted W1 put Z1 at +5e-14 in NumPy and -7.5e-15 in JAX: the oracle's ReLU' was
    0 where NumPy's (and the user's) was 1, and with a band of 32 ulps of |W1||x| + |b1| the right
    gradient failed as a known bug ("g'(A1) used where g'(Z1) belongs"). The band now allows the
    n eps that a sum of n terms in another order may differ by: W1 and b1 are inconclusive."""
    model, params, X, Y = _cancelled_pre_activation()
    n = model.sizes[0]
    # the premise: NumPy's Z1[0] > 0, beyond 32 ulps of its terms' size but within 32 + n ...
    Z = forward(model, params, X)["Z1"][0, 0]
    scale = float(np.abs(params["W1"][0]) @ np.abs(X[:, 0]) + abs(params["b1"][0, 0]))
    assert KINK_ULPS * EPS * scale < Z <= (KINK_ULPS + n) * EPS * scale, Z / (EPS * scale)
    # ... and the JAX oracle has it on the other side of the kink (ReLU' = 0: no gradient for b1[0])
    oracle, hand = reference.jax_gradients(model, params, X, Y), gradients(model, params, X, Y)
    assert oracle["b1"][0, 0] == 0.0 and hand["b1"][0, 0] != 0.0, (oracle["b1"], hand["b1"])

    report = check_gradients(_right(model), model, params=params, X=X, Y=Y)
    assert report.verdict == "inconclusive", str(report)
    verdicts = {k: p.verdict for k, p in report.parameters.items()}
    assert verdicts == {"W1": "inconclusive", "b1": "inconclusive", "W2": "pass", "b2": "pass"}
    assert "on ReLU's kink" in report.parameters["b1"].diagnosis.detail, str(report)
    assert any("sit on ReLU's kink" in note for note in report.notes), report.notes

    # the wider band does not excuse a wrong gradient
    wrong = check_gradients(_negated(model), model, params=params, X=X, Y=Y)
    assert wrong.verdict == "fail", str(wrong)
    assert wrong.parameters["W2"].diagnosis.kind == "sign", str(wrong)


def test_a_bug_that_changes_nothing_is_never_named(monkeypatch):
    """ReLU's g'(A) is its g'(Z) and identity's g' is 1: those "bugs" give the right gradient, so
    where the oracle disagrees with a right gradient (here: the kink band narrowed back to 32 ulps)
    the checker must not blame them."""
    model, params, X, Y = _cancelled_pre_activation()
    hints = [hint for hint, _ in variant_gradients(model, params, X, Y)]
    assert not any("g'(A1) used where g'(Z1)" in h for h in hints), hints
    assert any("g(Z1) used where g'(Z1)" in h for h in hints), hints  # other bugs stay
    identity = parse_model("identity-softmax-row", (4, 3, 2))
    p = init_params(identity, np.random.default_rng(1))
    Xi, Yi = np.random.default_rng(2).standard_normal((5, 4)), np.eye(2)[[0, 1, 1, 0, 1]]
    hints = [hint for hint, _ in variant_gradients(identity, p, Xi, Yi)]
    assert not any("left out" in h or "g'(A1)" in h for h in hints), hints

    monkeypatch.setattr(handgrad.check, "KINK_ULPS", KINK_ULPS - model.sizes[0])
    report = check_gradients(_right(model), model, params=params, X=X, Y=Y)
    for key in ("W1", "b1"):
        assert "g'(A1)" not in report.parameters[key].diagnosis.detail, str(report)


# --- a directional difference's error includes the loss's rounding -----------------------------


def _large_loss(margin: float = 2e4):
    """sigmoid-softmax-column 20-16-10 (506 parameters: sampled entries plus random directions),
    8 examples, b2 favouring class 0 by `margin` per class over the next: a loss of about 7e4
    whose gradient entries are at most about 1, and a NumPy loss that JAX cannot trace."""
    model = parse_model("sigmoid-softmax-column", (20, 16, 10))
    rng = np.random.default_rng(0)
    params = init_params(model, rng, "normal")
    X = rng.standard_normal((20, 8))
    Y = np.eye(10)[:, np.arange(8) % 10]
    params["b2"] = params["b2"] + margin * np.arange(10)[::-1, None]

    def numpy_loss(p, X, Y):  # np.asarray of a JAX tracer raises: finite differences only
        return model_loss(model, np.asarray(X), np.asarray(Y))(
            {k: np.asarray(v) for k, v in p.items()}
        )

    return model, params, X, Y, numpy_loss


def test_a_large_loss_judged_by_finite_differences_alone_passes_a_right_gradient():
    """With |L| = 7e4 the loss's rounding, eps |L| over scipy's smallest step (3e-5), may move a
    directional derivative by 5e-7 (here 1.6e-7, relatively 2e-5: the directional tolerance is
    1e-6). scipy's error estimate said 0, so W1's <g, d> = 0.00799269 against 0.00799284 failed a
    right gradient ('the sampled entries agree, so run the full check')."""
    model, params, X, Y, numpy_loss = _large_loss()
    assert numpy_loss(params, X, Y) > 5e4  # the premise: a loss far larger than its gradient
    report = check_gradients(_right(model), model, params=params, X=X, Y=Y, loss=numpy_loss)
    assert any("not JAX-traceable" in note for note in report.notes), report.notes
    assert report.verdict == "pass", str(report)

    wrong = check_gradients(_negated(model), model, params=params, X=X, Y=Y, loss=numpy_loss)
    assert wrong.verdict == "fail", str(wrong)
    assert {p.diagnosis.kind for p in wrong.parameters.values()} == {"sign"}, str(wrong)
