"""The bench workloads written idiomatically in JAX: `jax.grad` of the loss, the step under `jit`.

    python benchmarks/peer_jax.py --workload mlp-128 --repeat 5      (one JSON line on stdout)

Same model (batch-major X W + b, ReLU, softmax cross-entropy as the mean over the batch), data (the
first train_size MNIST training images, float32), optimizer (plain SGD / gradient descent, same lr)
and number of steps as handgrad's run of the workload; mini-batches are reshuffled every epoch and
gathered inside the compiled code. Variants, each warmed up (compiled) before timing:

- full batch: `lax.fori_loop` over the steps in one compiled call (the trip count is an argument,
  so the warm-up's 2 steps compile the very program that is timed);
- mini-batches: "step", one jitted step per batch from Python; and "scan", `lax.scan` over the
  epoch's full batches in one compiled call, plus one jitted step for the last, smaller batch.
  Both are timed in every round; the faster variant's median is reported.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from handgrad.bench import get_workload, timed, work, worker_arguments, workload_data


def init(sizes, key) -> list[tuple[jax.Array, jax.Array]]:
    """He-normal weights (n_in x n_out) and zero biases: the layers of X W + b."""
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        key, sub = jax.random.split(key)
        W = jax.random.normal(sub, (n_in, n_out), jnp.float32) * jnp.sqrt(2.0 / n_in)
        params.append((W, jnp.zeros(n_out, jnp.float32)))
    return params


def loss(params, X, Y):
    """Mean softmax cross-entropy of the ReLU network."""
    A = X
    for W, b in params[:-1]:
        A = jax.nn.relu(A @ W + b)
    W, b = params[-1]
    return -jnp.mean(jnp.sum(Y * jax.nn.log_softmax(A @ W + b), axis=1))


def sgd(params, X, Y, lr):
    """One step of gradient descent on the batch (X, Y)."""
    grads = jax.grad(loss)(params, X, Y)
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)


def main() -> int:
    args = worker_arguments(__doc__.splitlines()[0])
    w = get_workload(args.workload)
    X_np, _, Y_np = workload_data(w, args.data_dir)
    X, Y = jax.device_put(X_np), jax.device_put(Y_np)
    params0 = init(w.sizes, jax.random.key(0))
    lr = jnp.float32(w.lr)
    rng = np.random.default_rng(1)
    info = {"impl": "jax", "workload": w.name}

    if w.batch_size is None:

        @jax.jit
        def train(params, X, Y, steps):
            return lax.fori_loop(0, steps, lambda i, p: sgd(p, X, Y, lr), params)

        jax.block_until_ready(train(params0, X, Y, 2))
        run = timed(lambda: jax.block_until_ready(train(params0, X, Y, w.iterations)))
        work(info, {"fori_loop": run}, args.repeat, args.serve)
        return 0

    B, n = w.batch_size, w.train_size
    full = n // B

    @jax.jit
    def step(params, X, Y, idx):
        return sgd(params, X[idx], Y[idx], lr)

    @jax.jit
    def scan_epoch(params, X, Y, batches):
        return lax.scan(lambda p, idx: (step(p, X, Y, idx), None), params, batches)[0]

    def epoch_step() -> None:
        params = params0
        for _ in range(w.epochs):
            order = jnp.asarray(rng.permutation(n).astype(np.int32))
            for start in range(0, n, B):
                params = step(params, X, Y, order[start : start + B])
        jax.block_until_ready(params)

    def epoch_scan() -> None:
        params = params0
        for _ in range(w.epochs):
            order = jnp.asarray(rng.permutation(n).astype(np.int32))
            params = scan_epoch(params, X, Y, order[: full * B].reshape(full, B))
            if n % B:
                params = step(params, X, Y, order[full * B :])
        jax.block_until_ready(params)

    epoch_step(), epoch_scan()  # compile every shape they will see
    work(info, {"step": timed(epoch_step), "scan": timed(epoch_scan)}, args.repeat, args.serve)
    return 0


if __name__ == "__main__":
    sys.exit(main())
