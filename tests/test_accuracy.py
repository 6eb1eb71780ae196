"""Issue 7's accuracy ingredients: each gradient checked by the checker, each rule by its formula.

Momentum and Adam against their update formulas; L2 weight decay and dropout (masks fixed) through
`handgrad.check.check_gradients` with the regularised loss as the oracle (JAX autodiff + finite
differences), and a gradient that forgets the term or the mask must fail; schedules; affine
augmentation against scipy's `map_coordinates`; the gate on a regularised run; resume bit for bit
with every ingredient on; one short real-MNIST run with all of them clearing a floor.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from scipy import ndimage

from handgrad import augment, checkpoint, fast, regularizers
from handgrad.check import check_gradients
from handgrad.cli import main
from handgrad.formulations import gradients
from handgrad.models import init_params, parse_model
from handgrad.optimizers import Adam, Momentum, get_optimizer, learning_rate
from handgrad.recipes import RECIPES, get_recipe
from handgrad.train import ENGINES, GateError, VerificationError, list_recipes, train
from reference import central_differences

SIZES = (12, 7, 5, 3)  # small: the checks compile and run in a second or two


def problem(layout: str, seed: int = 0, m: int = 6):
    """A relu-softmax model, He-initialised params, a random batch and one-hot labels."""
    model = parse_model(f"relu-softmax-{layout}", SIZES)
    rng = np.random.default_rng(seed)
    params = init_params(model, rng, "he")
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}  # biases != 0
    X_shape, _ = model.data_shapes(m)
    X = rng.standard_normal(X_shape)
    labels = rng.integers(0, SIZES[-1], m)
    Y = np.eye(SIZES[-1])[labels]
    return model, params, X, (Y.T if layout == "column" else Y), rng


# --- L2 weight decay ---------------------------------------------------------------------------


def test_l2_gradient_passes_the_checker_and_decaying_the_biases_fails():
    # column only: the row layout's L2 term is checked with dropout below (JAX compiles each
    # new set of shapes once, the slow part of these checks)
    model, params, X, Y, _ = problem("column")
    lam = 0.3
    oracle = regularizers.oracle_loss(model, {}, lam)

    def right(p, X, Y):
        return regularizers.add_l2_gradient(gradients(model, p, X, Y), p, lam)

    def wrong(p, X, Y):  # decays the biases too
        return {k: g + lam * p[k] for k, g in gradients(model, p, X, Y).items()}

    kwargs = dict(params=params, X=X, Y=Y, loss=oracle)
    assert check_gradients(right, model, **kwargs).verdict == "pass"
    report = check_gradients(wrong, model, **kwargs)
    assert report.verdict == "fail" and report.parameters["b1"].verdict == "fail"
    assert report.parameters["W1"].verdict == "pass"


def test_l2_penalty_is_half_lambda_sum_of_squared_weights_only():
    model, params, X, Y, _ = problem("column")
    expected = 0.5 * 0.3 * sum(np.sum(params[f"W{l}"] ** 2) for l in (1, 2, 3))
    assert regularizers.l2_penalty(params, 0.3) == pytest.approx(expected, rel=1e-12)
    value = regularizers.loss(model, params, X, Y, {}, 0.3)
    assert value == pytest.approx(float(oracle_value(model, {}, 0.3, params, X, Y)), rel=1e-10)


def oracle_value(model, masks, lam, params, X, Y):
    return regularizers.oracle_loss(model, masks, lam)(params, X, Y)


# --- dropout with the masks fixed ----------------------------------------------------------------


@pytest.mark.parametrize("layout", ["column", "row"])
def test_dropout_gradient_with_fixed_masks_passes_and_without_the_mask_fails(layout, monkeypatch):
    model, params, X, Y, rng = problem(layout, seed=1)
    masks = regularizers.dropout_masks(model, X.shape[1 - model.class_axis], 0.4, rng, np.float64)
    assert set(masks) == {"M1", "M2"} and masks["M1"].shape == (
        (7, 6) if layout == "column" else (6, 7)
    )
    assert set(np.unique(masks["M1"])) <= {0.0, 1 / 0.6}
    lam = 0.05
    oracle = regularizers.oracle_loss(model, masks, lam)
    kwargs = dict(params=params, X=X, Y=Y, loss=oracle)

    def grad_fn(p, X, Y):
        return regularizers.gradients(model, p, X, Y, masks, lam)

    assert check_gradients(grad_fn, model, **kwargs).verdict == "pass"
    # finite differences of the masked, penalised loss agree too (independently of JAX)
    fd = central_differences(lambda p: regularizers.loss(model, p, X, Y, masks, lam), params)
    g = grad_fn(params, X, Y)
    for k in params:
        np.testing.assert_allclose(g[k], fd.estimate[k], atol=1e-6 + 10 * fd.uncertainty[k].max())

    # the classic bug: the mask applied in the forward pass but not in the backward pass
    forward_only = {}
    monkeypatch.setattr(
        regularizers,
        "backward",
        lambda model, params, cache, Y, masks: real_backward(model, params, cache, Y, forward_only),
    )
    report = check_gradients(grad_fn, model, **kwargs)
    assert report.verdict == "fail" and report.parameters["W1"].verdict == "fail"


real_backward = regularizers.backward


def test_no_masks_is_the_plain_formulation():
    for layout in ("column", "row"):
        model, params, X, Y, _ = problem(layout, seed=2)
        plain = gradients(model, params, X, Y, layout)
        mine = regularizers.gradients(model, params, X, Y, {}, 0.0)
        for k in params:
            np.testing.assert_allclose(mine[k], plain[k], rtol=1e-12, atol=1e-15)


def test_dropout_keeps_the_expected_activation_and_rejects_bad_rates():
    model = parse_model("relu-softmax-row", (784, 400, 10))
    masks = regularizers.dropout_masks(model, 500, 0.25, np.random.default_rng(0))
    assert masks["M1"].dtype == np.float32 and masks["M1"].mean() == pytest.approx(1.0, abs=0.01)
    assert np.mean(masks["M1"] == 0) == pytest.approx(0.25, abs=0.01)
    with pytest.raises(ValueError, match=r"1\.0"):
        regularizers.dropout_masks(model, 5, 1.0, np.random.default_rng(0))


# --- optimizers and schedules ------------------------------------------------------------------


def tiny():
    rng = np.random.default_rng(3)
    params = {"W1": rng.standard_normal((3, 2)), "b1": rng.standard_normal((3, 1))}
    grads = [{k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(4)]
    return params, grads


def test_momentum_follows_v_mu_v_minus_lr_g():
    params, grads = tiny()
    opt, mu, lr = Momentum(0.8), 0.8, 0.1
    state = opt.init(params)
    p, v = dict(params), {k: np.zeros_like(x) for k, x in params.items()}
    for g in grads:
        before = {k: x.copy() for k, x in params.items()}
        params, state = opt.step(params, g, state, lr)
        for k in p:
            v[k] = mu * v[k] - lr * g[k]
            p[k] = p[k] + v[k]
            np.testing.assert_allclose(params[k], p[k], rtol=1e-14)
            np.testing.assert_allclose(state[f"v/{k}"], v[k], rtol=1e-14)
        assert all(np.array_equal(before[k], x) for k, x in before.items())  # pure
    assert get_optimizer("momentum", 0.5) == Momentum(0.5)
    with pytest.raises(ValueError, match=r"1\.5"):
        get_optimizer("momentum", 1.5)


def test_adam_follows_the_bias_corrected_formula():
    params, grads = tiny()
    opt, lr, b1, b2, eps = Adam(), 0.01, 0.9, 0.999, 1e-8
    state = opt.init(params)
    p = dict(params)
    m = {k: np.zeros_like(x) for k, x in p.items()}
    v = {k: np.zeros_like(x) for k, x in p.items()}
    for t, g in enumerate(grads, start=1):
        params, state = opt.step(params, g, state, lr)
        for k in p:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            m_hat, v_hat = m[k] / (1 - b1**t), v[k] / (1 - b2**t)
            p[k] = p[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
            np.testing.assert_allclose(params[k], p[k], rtol=1e-13, atol=1e-15)
        assert int(state["t"]) == t
    # the first step moves every entry by about lr (m_hat / sqrt(v_hat) = sign(g))
    fresh, _ = Adam().step(tiny()[0], tiny()[1][0], Adam().init(tiny()[0]), lr)
    moved = np.abs(fresh["W1"] - tiny()[0]["W1"])
    np.testing.assert_allclose(moved, lr, rtol=1e-5)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_optimizer_state_round_trips_through_a_checkpoint(name, tmp_path):
    params, grads = tiny()
    opt = get_optimizer(name)
    state = opt.init(params)
    params, state = opt.step(params, grads[0], state, 0.1)
    checkpoint.save(tmp_path / "c.npz", {f"opt/{k}": v for k, v in state.items()}, {})
    arrays, _ = checkpoint.load(tmp_path / "c.npz")
    loaded = {k[4:]: v for k, v in arrays.items()}
    a, _ = opt.step(params, grads[1], state, 0.1)
    b, _ = opt.step(params, grads[1], loaded, 0.1)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_schedules():
    assert learning_rate("constant", 0.1, 50, 100) == 0.1
    assert learning_rate("step", 1.0, 49, 100) == 1.0
    assert learning_rate("step", 1.0, 50, 100) == pytest.approx(0.1)
    assert learning_rate("step", 1.0, 75, 100) == pytest.approx(0.01)
    assert learning_rate("cosine", 1.0, 0, 100) == 1.0
    assert learning_rate("cosine", 1.0, 50, 100) == pytest.approx(0.5)
    assert learning_rate("cosine", 1.0, 99, 100) == pytest.approx(0.5 * (1 + np.cos(np.pi * 0.99)))
    assert learning_rate("constant", 1.0, 0, 100, warmup=10) == pytest.approx(0.1)
    assert learning_rate("constant", 1.0, 9, 100, warmup=10) == 1.0
    with pytest.raises(ValueError, match="'linear'"):
        learning_rate("linear", 1.0, 0, 10)


# --- augmentation --------------------------------------------------------------------------------


def test_affine_matches_map_coordinates_per_image():
    rng = np.random.default_rng(0)
    images = rng.random((20, 784)).astype(np.float32)
    images[:, :60] = 0
    distortion = augment.Affine(rotation=15, scale=0.15, shift=2.0)
    out = augment.affine(images, np.random.default_rng(7), distortion)
    assert out.shape == images.shape and out.dtype == np.float32
    # the same draws, one image at a time with scipy (order 1, zeros outside)
    draw = np.random.default_rng(7)
    theta = np.deg2rad(draw.uniform(-15, 15, 20))
    s = draw.uniform(0.85, 1.15, 20)
    t = draw.uniform(-2, 2, (2, 20))
    c = np.array([13.5, 13.5])[:, None]
    grid = np.mgrid[0:28, 0:28].reshape(2, -1).astype(float)
    for k in range(20):
        cos, sin = np.cos(theta[k]), np.sin(theta[k])
        A_inv = np.array([[cos, sin], [-sin, cos]]) / s[k]
        src = c + A_inv @ (grid - c - t[:, k : k + 1])
        ref = ndimage.map_coordinates(images[k].reshape(28, 28), src, order=1, mode="grid-constant")
        np.testing.assert_allclose(out[k], ref, atol=1e-5)
    assert not np.allclose(out, images)


def test_zero_distortion_is_the_identity_and_bad_input_is_refused():
    images = np.random.default_rng(1).random((3, 784)).astype(np.float32)
    same = augment.affine(images, np.random.default_rng(0), augment.Affine(0, 0, 0))
    np.testing.assert_allclose(same, images, atol=1e-6)
    with pytest.raises(ValueError, match=r"\(3, 28\)"):
        augment.affine(images[:, :28], np.random.default_rng(0))
    with pytest.raises(ValueError, match="'twirl'"):
        augment.get_augmentation("twirl")


# --- training: the gate, resume, a real run --------------------------------------------------------

SMALL = get_recipe(
    "mlp-99", sizes=(784, 32, 16, 10), epochs=1, train_size=2_000, dev_size=500, batch_size=64
)


def _forget_the_mask_in_backward(model, ws, l, A, M):
    """handgrad.fast's dropout, with M^l applied to A^l but not folded into g'(Z^l)."""
    return [partial(np.multiply, A, M, out=A)]


@pytest.mark.parametrize("engine", ENGINES)
def test_the_gate_refuses_dropout_without_its_mask_in_the_backward_pass(monkeypatch, engine):
    if engine == "formulation":
        monkeypatch.setattr(
            regularizers,
            "backward",
            lambda model, params, cache, Y, masks: real_backward(model, params, cache, Y, {}),
        )
    else:
        monkeypatch.setattr(fast, "_drop", _forget_the_mask_in_backward)
    with pytest.raises(GateError, match="dropout") as refused:
        train(SMALL, progress=False, figures=False, engine=engine)
    assert refused.value.report.verdict == "fail"


def test_verify_every_checks_the_regularised_gradient(monkeypatch):
    # the gate passes; after step 1 dropout's mask drops out of the backward pass
    def break_dropout(step, params):
        if step == 1:
            monkeypatch.setattr(fast, "_drop", _forget_the_mask_in_backward)

    with pytest.raises(VerificationError, match=r"at step 2 .* with dropout") as stopped:
        train(SMALL, progress=False, figures=False, verify_every=2, callback=break_dropout)
    assert stopped.value.step == 2 and stopped.value.report.verdict == "fail"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("formulation", ["row", "column"])
def test_resume_is_bit_for_bit_with_every_ingredient_on(formulation, engine, tmp_path):
    recipe = get_recipe(
        "mlp-99",
        sizes=(784, 16, 10),
        epochs=2,
        train_size=640,
        batch_size=64,
        weight_decay=1e-4,
        warmup=3,
        dev_size=0,
    )
    kwargs = dict(formulation=formulation, progress=False, figures=False, verify=False)
    whole = train(recipe, seed=4, engine=engine, **kwargs)

    def stop(step, params):
        if step == 15:  # mid-epoch: the resumed run must rebuild that epoch's distorted images
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(
            recipe, seed=4, out=tmp_path, checkpoint_every=5, callback=stop, engine=engine, **kwargs
        )
    resumed = train(resume=tmp_path, progress=False, figures=False, verify=False)
    assert resumed.config["engine"] == engine
    for k in whole.params:
        np.testing.assert_array_equal(whole.params[k], resumed.params[k], err_msg=k)


def test_a_short_real_run_with_every_ingredient_clears_a_floor():
    recipe = get_recipe(
        "mlp-99",
        sizes=(784, 128, 10),
        epochs=2,
        train_size=10_000,
        dev_size=1_000,
        weight_decay=1e-5,
        warmup=20,
        display_every=100,
        batch_size=64,
        lr=2e-3,
    )
    result = train(recipe, seed=0, progress=False, figures=False, verify_every=150)
    assert result.gate["verdict"] == "pass"
    assert result.test_accuracy >= 0.89, result.test_accuracy  # measured 0.9175 (313 steps)
    assert result.history["loss"][-1] < result.history["loss"][0] / 4


def test_mlp_99_recipe_and_the_command_line(capsys, tmp_path):
    r = RECIPES["mlp-99"]
    assert (r.sizes, r.optimizer, r.train_size, r.batch_size) == (
        (784, 800, 800, 10),
        "adam",
        60_000,
        128,
    )
    assert "conv" not in r.model and r.dropout > 0 and r.augment == "affine"
    assert "mlp-99" in list_recipes() and "dropout 0.2" in list_recipes()
    assert main(["train", "--list-recipes"]) == 0
    assert "mlp-99" in capsys.readouterr().out
    argv = ["train", "--recipe", "mlp-99", "--sizes", "784,16,10", "--epochs", "1"]
    argv += ["--train-size", "500", "--dev-size", "100", "--optimizer", "momentum", "--lr", "0.05"]
    argv += ["--momentum", "0.8", "--weight-decay", "1e-4", "--dropout", "0.1", "--augment"]
    argv += ["none", "--schedule", "step", "--warmup", "2", "--quiet", "--no-verify"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "momentum 0.8" in out and "dropout 0.1" in out and "L2 0.0001" in out
    assert main([*argv[:-1], "--dropout", "1.5"]) == 2
    assert "dropout" in capsys.readouterr().err
    assert main([*argv[:-1], "--formulation", "per-neuron"]) == 2
    assert "per-neuron" in capsys.readouterr().err
