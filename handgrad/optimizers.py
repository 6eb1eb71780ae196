"""Optimizers: hand-written update rules over plain parameter dicts, one small object each.

Every optimizer follows the same protocol, so the training loop never needs to know which one runs:

    state = optimizer.init(params)                            # dict of arrays (checkpointable)
    params, state = optimizer.step(params, grads, state, lr)  # pure: new dicts, inputs untouched

`batching` says which batches it is meant for: "full" (the whole training split every step, 002's
gradient descent), "mini" (shuffled mini-batches, 001's SGD) or "any". State is a flat
`dict[str, np.ndarray]` so `handgrad.checkpoint` can store it with `allow_pickle=False`; a later
optimizer with memory keeps e.g. {"v/W1": ...} there, initialised to zeros in `init`.

    momentum (classical):  v := mu v - lr g;   theta := theta + v
    adam (bias-corrected): m := b1 m + (1 - b1) g;  v := b2 v + (1 - b2) g^2;  t := t + 1
                           theta := theta - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

The learning rate of step t (0-based) of T comes from `learning_rate(schedule, lr, t, T, warmup)`:
"constant", "step" (x0.1 at 50% and again at 75% of T) or "cosine" (lr (1 + cos(pi t/T)) / 2),
multiplied during the first `warmup` steps by the linear ramp (t + 1) / warmup.
Weight decay is a term of the loss (`handgrad.regularizers`), not of the update rule.

Non-goals: AdamW's decoupled decay, Nesterov momentum, per-parameter learning rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

Params = dict[str, np.ndarray]
State = dict[str, np.ndarray]


class Optimizer(Protocol):
    """The protocol every optimizer follows (see the module docstring)."""

    name: str
    batching: str  # "full", "mini" or "any"

    def init(self, params: Params) -> State: ...

    def step(
        self, params: Params, grads: Params, state: State, lr: float
    ) -> tuple[Params, State]: ...


@dataclass(frozen=True)
class GradientDescent:
    """Full-batch gradient descent, 002's update_params:  W^l := W^l - alpha dW^l,  b^l likewise."""

    name: str = "gd"
    batching: str = "full"

    def init(self, params: Params) -> State:
        """No state: the rule uses only this step's gradient."""
        return {}

    def step(self, params: Params, grads: Params, state: State, lr: float) -> tuple[Params, State]:
        """theta := theta - lr * dC/dtheta for every parameter."""
        return {k: p - lr * grads[k] for k, p in params.items()}, state


@dataclass(frozen=True)
class SGD(GradientDescent):
    """Mini-batch SGD (001): the same rule, with dC/dtheta from one shuffled mini-batch."""

    name: str = "sgd"
    batching: str = "mini"


@dataclass(frozen=True)
class Momentum:
    """Classical momentum on mini-batches:  v := mu v - lr g;  theta := theta + v."""

    mu: float = 0.9
    name: str = "momentum"
    batching: str = "mini"

    def init(self, params: Params) -> State:
        """v = 0 for every parameter, stored as "v/<key>"."""
        return {f"v/{k}": np.zeros_like(p) for k, p in params.items()}

    def step(self, params: Params, grads: Params, state: State, lr: float) -> tuple[Params, State]:
        """v := mu v - lr g;  theta := theta + v."""
        new_params, new_state = {}, {}
        for k, p in params.items():
            v = self.mu * state[f"v/{k}"] - lr * grads[k]
            new_params[k], new_state[f"v/{k}"] = p + v, v
        return new_params, new_state


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba 2015) with bias correction; state m/<key>, v/<key> and the count t."""

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    name: str = "adam"
    batching: str = "mini"

    def init(self, params: Params) -> State:
        """m = v = 0 for every parameter and t = 0 (a 0-d int64 array, so it checkpoints)."""
        state = {f"{s}/{k}": np.zeros_like(p) for s in ("m", "v") for k, p in params.items()}
        return state | {"t": np.array(0, np.int64)}

    def step(self, params: Params, grads: Params, state: State, lr: float) -> tuple[Params, State]:
        """m, v := moving averages of g and g^2; theta -= lr m_hat / (sqrt(v_hat) + eps)."""
        t = int(state["t"]) + 1
        b1, b2 = self.beta1, self.beta2
        # lr m_hat / (sqrt(v_hat) + eps) = step m / (sqrt(v) + eps c2), c2 = sqrt(1 - b2^t),
        # step = lr c2 / (1 - b1^t): the same number with fewer full-size temporaries
        c2 = math.sqrt(1 - b2**t)
        step = lr * c2 / (1 - b1**t)
        new_params, new_state = {}, {"t": np.array(t, np.int64)}
        for k, p in params.items():
            g = grads[k]
            m = (1 - b1) * g
            m += b1 * state[f"m/{k}"]
            v = np.square(g)
            v *= 1 - b2
            v += b2 * state[f"v/{k}"]
            denom = np.sqrt(v)
            denom += self.eps * c2
            np.divide(m, denom, out=denom)
            denom *= step
            new_params[k] = p - denom
            new_state[f"m/{k}"], new_state[f"v/{k}"] = m, v
        return new_params, new_state


OPTIMIZERS: dict[str, type] = {
    "gd": GradientDescent,
    "sgd": SGD,
    "momentum": Momentum,
    "adam": Adam,
}
SCHEDULES = ("constant", "step", "cosine")


def get_optimizer(name: str, momentum: float = 0.9) -> Optimizer:
    """The optimizer called `name` ("gd", "sgd", "momentum" with coefficient mu, or "adam")."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
    if name == "momentum":
        if not (isinstance(momentum, int | float) and 0 <= momentum < 1):
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        return Momentum(float(momentum))
    return OPTIMIZERS[name]()


def learning_rate(schedule: str, lr: float, t: int, total: int, warmup: int = 0) -> float:
    """The learning rate of step t (0-based) of `total` (see the module docstring)."""
    if schedule == "constant":
        rate = lr
    elif schedule == "step":
        rate = lr * (0.1 if t >= total // 2 else 1.0) * (0.1 if t >= (3 * total) // 4 else 1.0)
    elif schedule == "cosine":
        rate = lr * 0.5 * (1 + math.cos(math.pi * t / total))
    else:
        raise ValueError(f"unknown schedule {schedule!r}; expected one of {', '.join(SCHEDULES)}")
    return rate * (t + 1) / warmup if t < warmup else rate
