"""The oracles: JAX autodiff and finite differences, written independently of handgrad's math.

`reference` never imports handgrad's gradient code; it knows a model only by the attributes `hidden`,
`output`, `layout` and `alpha`, and finite differences only by a function `f(params) -> float`.
"""

from reference.finite_differences import (
    central_differences,
    directional_derivative,
    random_direction,
    taylor_remainder,
)
from reference.jax_models import (
    jax_gradients,
    jax_loss,
    jax_value_and_gradients,
    loss_callable,
    loss_fn,
)

__all__ = [
    "central_differences",
    "directional_derivative",
    "jax_gradients",
    "jax_loss",
    "jax_value_and_gradients",
    "loss_callable",
    "loss_fn",
    "random_direction",
    "taylor_remainder",
]
