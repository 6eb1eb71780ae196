"""The three formulations behind one boundary: validation, layout conversion, loss and gradients.

`gradients(model, params, X, Y, formulation)` validates its input (ValueError naming the problem),
transposes X, Y and the parameters when the formulation's native layout differs from the model's,
runs the formulation's `forward` and `backward`, and returns `{"W1": dW1, "b1": db1, ...}` in the
model's layout: the same structure as the parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np

from handgrad import column_major, per_neuron, row_major
from handgrad.models import Model, Params, check_inputs, require_model, transpose_params

FORMULATIONS: dict[str, ModuleType] = {
    "per-neuron": per_neuron,
    "row": row_major,
    "column": column_major,
}


def _checked(model, params, X, Y, formulation: str | None, need_y: bool = True) -> ModuleType:
    """The formulation's module, once params, X and (where needed) Y are validated."""
    require_model(model)
    if need_y and Y is None:
        raise ValueError("Y (the one-hot targets) is required")
    check_inputs(model, params, X, Y)
    return get_formulation(formulation or model.layout)


def get_formulation(name: str) -> ModuleType:
    """The formulation module called `name`: "per-neuron", "row" or "column"."""
    if name not in FORMULATIONS:
        raise ValueError(f"unknown formulation {name!r}; expected one of {', '.join(FORMULATIONS)}")
    return FORMULATIONS[name]


def _native(
    model: Model, params: Params, X: np.ndarray, Y: np.ndarray | None, layout: str
) -> tuple[Model, Params, np.ndarray, np.ndarray | None]:
    """Model, params, X, Y expressed in `layout` (transposed when the model's layout differs)."""
    if model.layout == layout:
        return model, params, X, Y
    return (
        model.with_layout(layout),
        transpose_params(params),
        np.ascontiguousarray(X.T),
        None if Y is None else np.ascontiguousarray(Y.T),
    )


def forward(
    model: Model, params: Params, X: np.ndarray, formulation: str | None = None
) -> dict[str, np.ndarray]:
    """The forward cache {"A0", "Z1", "A1", ...} in the formulation's native layout."""
    module = _checked(model, params, X, None, formulation, need_y=False)
    native, p, X, _ = _native(model, params, np.asarray(X), None, module.NATIVE_LAYOUT)
    return module.forward(native, p, X)


def loss(
    model: Model, params: Params, X: np.ndarray, Y: np.ndarray, formulation: str | None = None
) -> float:
    """The model's loss C(params; X, Y), a batch mean (see `handgrad.losses`)."""
    module = _checked(model, params, X, Y, formulation)
    native, p, X, Y = _native(model, params, np.asarray(X), np.asarray(Y), module.NATIVE_LAYOUT)
    Z = module.forward(native, p, X)[f"Z{model.depth}"]
    return native.loss.value(Z, Y, native.class_axis)


def loss_function(
    model: Model, X: np.ndarray, Y: np.ndarray, formulation: str | None = None
) -> Callable[[Params], float]:
    """params -> loss with X and Y fixed, validated once: the fast function finite differences need."""
    require_model(model)
    if Y is None:
        raise ValueError("Y (the one-hot targets) is required")
    module = get_formulation(formulation or model.layout)
    if model.layout != module.NATIVE_LAYOUT:
        X, Y = np.ascontiguousarray(np.asarray(X).T), np.ascontiguousarray(np.asarray(Y).T)
    native = model.with_layout(module.NATIVE_LAYOUT)
    check_inputs(native, {k: np.zeros(v) for k, v in native.param_shapes().items()}, X, Y)

    def f(params: Params) -> float:
        p = params if model.layout == native.layout else transpose_params(params)
        Z = module.forward(native, p, X)[f"Z{model.depth}"]
        return native.loss.value(Z, Y, native.class_axis)

    return f


def backward(
    model: Model, params: Params, X: np.ndarray, Y: np.ndarray, formulation: str | None = None
) -> dict[str, np.ndarray]:
    """Every backward quantity {"dZl", "dWl", "dbl"} in the formulation's native layout."""
    module = _checked(model, params, X, Y, formulation)
    native, p, X, Y = _native(model, params, np.asarray(X), np.asarray(Y), module.NATIVE_LAYOUT)
    return module.backward(native, p, module.forward(native, p, X), Y)


def gradients(
    model: Model, params: Params, X: np.ndarray, Y: np.ndarray, formulation: str | None = None
) -> Params:
    """dC/dparams as {"W1": ..., "b1": ...} in the model's layout, by the named formulation."""
    grads = backward(model, params, X, Y, formulation)
    module = get_formulation(formulation or model.layout)
    out = {}
    for key in model.param_shapes():
        g = grads["d" + key]
        out[key] = g if module.NATIVE_LAYOUT == model.layout else np.ascontiguousarray(g.T)
    return out


def predict_proba(model: Model, params: Params, X: np.ndarray) -> np.ndarray:
    """A^L, the network's outputs, in the model's layout."""
    cache = forward(model, params, X)
    return cache[f"A{model.depth}"]


def predict(model: Model, params: Params, X: np.ndarray) -> np.ndarray:
    """The predicted class of each example: argmax of A^L over the class axis."""
    return np.argmax(predict_proba(model, params, X), axis=model.class_axis)
