"""Time handgrad's default gradient check against torch.autograd.gradcheck and jax check_grads.

    PYTHONPATH=. python benchmarks/bench_check_compare.py [--repeat 5] [--json]

One network and batch for all three: relu-softmax-column 784-128-10 (101,770 parameters), float64,
the parameters and 16 MNIST training images that `handgrad.check.make_problem` draws from seed 0
(what a default `handgrad check` uses). Each checker runs in its own process (thread pools of NumPy,
PyTorch and XLA must not spin against each other); "first" is the first call in that process (JAX
tracing and compilation included, imports not), "warm" the median of the next `repeat` calls.

- handgrad: `check_gradients(grad_fn, model, params=..., X=..., Y=...)` with the hand-derived
  `handgrad.gradients`: JAX autodiff of every entry, sampled central differences, random directions.
- torch: `torch.autograd.gradcheck(loss, (W1, b1, W2, b2), fast_mode=True)`: one random direction
  per input, compared with finite differences (eps 1e-6).
- jax: `jax.test_util.check_grads(jit(loss), (params,), order=1, modes=["rev"])`, at its default
  step and at eps = 1e-6 (the default step crosses ReLU kinks on this network; see PERF-NOTES).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHECKERS = ("handgrad", "torch", "jax", "jax-eps-1e-6")


def problem():
    """(model, params, X, Y): the default check's network and batch (seed 0, 16 MNIST images)."""
    import numpy as np

    from handgrad.check import make_problem
    from handgrad.models import parse_model

    model = parse_model("relu-softmax-column", (784, 128, 10))
    p = make_problem(model, np.random.default_rng(0), 16)
    return model, p.params, p.X, p.Y


def _time(fn, repeat: int) -> tuple[float, float, object]:
    """(first-call seconds, median of `repeat` further calls, the first call's result)."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    warm = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - start)
    return first, statistics.median(warm), result


def check_handgrad(repeat: int) -> dict:
    from handgrad.check import check_gradients
    from handgrad.formulations import gradients

    model, params, X, Y = problem()

    def run():
        return check_gradients(
            lambda p, X, Y: gradients(model, p, X, Y), model, params=params, X=X, Y=Y
        ).verdict

    first, warm, verdict = _time(run, repeat)
    return {"first": first, "warm": warm, "verdict": verdict}


def check_torch(repeat: int) -> dict:
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", 2)))
    _, params, X, Y = problem()
    inputs = tuple(torch.tensor(params[k], requires_grad=True) for k in ("W1", "b1", "W2", "b2"))
    Xt, Yt = torch.tensor(X), torch.tensor(Y)

    def loss(W1, b1, W2, b2):
        A1 = torch.relu(W1 @ Xt + b1)
        return -(Yt * torch.log_softmax(W2 @ A1 + b2, dim=0)).sum() / Xt.shape[1]

    def run():
        return "pass" if torch.autograd.gradcheck(loss, inputs, fast_mode=True) else "fail"

    first, warm, verdict = _time(run, repeat)
    return {"first": first, "warm": warm, "verdict": verdict}


def check_jax(repeat: int, eps: float | None) -> dict:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.test_util import check_grads

    _, params, X, Y = problem()
    p = {k: jnp.asarray(v) for k, v in params.items()}
    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)

    @jax.jit
    def loss(p):
        A1 = jax.nn.relu(p["W1"] @ Xj + p["b1"])
        return -jnp.sum(Yj * jax.nn.log_softmax(p["W2"] @ A1 + p["b2"], axis=0)) / Xj.shape[1]

    def run():
        try:
            check_grads(loss, (p,), order=1, modes=["rev"], **({"eps": eps} if eps else {}))
        except AssertionError as error:
            return "fail: " + " ".join(str(error).split())[:160]
        return "pass"

    first, warm, verdict = _time(run, repeat)
    return {"first": first, "warm": warm, "verdict": verdict}


def worker(which: str, repeat: int) -> dict:
    """Time one checker (in this process)."""
    if which == "handgrad":
        return check_handgrad(repeat)
    if which == "torch":
        return check_torch(repeat)
    return check_jax(repeat, 1e-6 if which == "jax-eps-1e-6" else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", choices=CHECKERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeat)))
        return 0
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    results = {}
    for which in CHECKERS:
        command = [sys.executable, __file__, "--worker", which, "--repeat", str(args.repeat)]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        lines = done.stdout.strip().splitlines()
        if done.returncode or not lines:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            results[which] = {"first": None, "warm": None, "verdict": f"error: {tail}"}
        else:
            results[which] = json.loads(lines[-1])
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print("784-128-10 relu-softmax-column, float64, 16 MNIST images (seed 0), one process each")
    print(f"{'checker':<14} {'first call':>10} {'warm':>10}  verdict")
    for which, r in results.items():
        first = "-" if r["first"] is None else f"{r['first']:.3f} s"
        warm = "-" if r["warm"] is None else f"{r['warm'] * 1e3:.1f} ms"
        print(f"{which:<14} {first:>10} {warm:>10}  {r['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
