"""handgrad: hand-derived backpropagation for MNIST networks, verified two independent ways.

The gradients are derived by hand in three formulations (`per_neuron`, `row_major`, `column_major`)
and checked against JAX autodiff and finite differences (`reference/`). Public API:

    model = handgrad.parse_model("relu-softmax-column", (784, 10, 10))
    params = handgrad.init_params(model, np.random.default_rng(0))
    grads = handgrad.gradients(model, params, X, Y, formulation="per-neuron")
    report = handgrad.check_gradients(my_grad_fn, model, ...)
    result = handgrad.train.train(handgrad.get_recipe("002"))   # handgrad.train is the module
"""

from handgrad.activations import Activation, elu, identity, relu, sigmoid, softmax
from handgrad.formulations import (
    FORMULATIONS,
    backward,
    forward,
    get_formulation,
    gradients,
    loss,
    predict,
    predict_proba,
)
from handgrad.losses import Loss, get_loss
from handgrad.models import Model, init_params, parse_model, parse_sizes, transpose_params
from handgrad.recipes import RECIPES, Recipe, get_recipe
from handgrad.tolerances import TOLERANCES, Tolerance, relative_error, tolerance

_LAZY = {
    "check_gradients": "handgrad.check",
    "CheckReport": "handgrad.check",
    "TrainResult": "handgrad.train",
}

_SUBMODULES = {"audit", "check", "data", "figures", "strategies", "testing", "train", "verify"}


def __getattr__(name: str):
    """Import the checker and the trainer on first use (they pull in JAX and matplotlib)."""
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"handgrad.{name}")
    raise AttributeError(f"module 'handgrad' has no attribute {name!r}")


__all__ = [
    "FORMULATIONS",
    "RECIPES",
    "TOLERANCES",
    "Activation",
    "CheckReport",
    "Loss",
    "Model",
    "Recipe",
    "Tolerance",
    "TrainResult",
    "backward",
    "check_gradients",
    "elu",
    "forward",
    "get_formulation",
    "get_loss",
    "get_recipe",
    "gradients",
    "identity",
    "init_params",
    "loss",
    "parse_model",
    "parse_sizes",
    "predict",
    "predict_proba",
    "relative_error",
    "relu",
    "sigmoid",
    "softmax",
    "tolerance",
    "transpose_params",
]
