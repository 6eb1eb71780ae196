"""What each change to the training step gives: one epoch of a workload, step by step to handgrad.fast.

    PYTHONPATH=. python benchmarks/ablation.py [--workload mlp-128] [--repeat 5] [--json]

Variants, each a full epoch of mini-batch SGD from the same parameters and shuffling, timed in one
process, interleaved round by round (median of `repeat`):

- "loop f64": the loop of `handgrad.train` before the fast path: the column formulation's forward
  and backward on a gathered batch copied into the column layout (a transposed, contiguous copy of
  X and Y per batch), and a pure update that allocates new parameters; float64.
- "loop f32": the same in float32.
- "views": the same, but the batch stays row-major and column_major reads its transpose as a view
  (no per-batch copy); BLAS takes the transposed operand as it is.
- "fast": `handgrad.fast.sgd_epoch`: buffers allocated once, out= everywhere, the ReLU mask kept
  from the forward pass, db as a product with ones, a class-major softmax, lr folded into delta,
  every product one BLAS call (handgrad.blas) and the update inside the weight-gradient products
  (beta = 1).

Run it pinned to one core (`taskset -c 0`, OPENBLAS_NUM_THREADS=1) to measure the step's own cost
on a shared machine, or as it is for the 2-thread picture.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from handgrad import column_major, fast
from handgrad.bench import get_workload, workload_data
from handgrad.models import init_params


def loop(model, params, images, targets, order, B, lr, dtype, copy: bool) -> None:
    """The formulation-module loop; `copy`: transposed contiguous batches, else views."""
    images = np.asarray(images, dtype)
    targets = np.asarray(targets, dtype)
    for start in range(0, len(order), B):
        idx = order[start : start + B]
        X, Y = images[idx], targets[idx]
        X, Y = (np.ascontiguousarray(X.T), np.ascontiguousarray(Y.T)) if copy else (X.T, Y.T)
        cache = column_major.forward(model, params, X)
        back = column_major.backward(model, params, cache, Y)
        params = {k: p - lr * back["d" + k] for k, p in params.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="mlp-128")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    w = get_workload(args.workload)
    if w.batch_size is None:
        raise SystemExit("ablation.py times mini-batch workloads (mlp-128, mlp-512x2, tiny)")
    model, (X, _, Y) = w.model, workload_data(w)
    initial = init_params(model, np.random.default_rng(0), w.init, w.init_scale, np.float32)
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    p64 = {k: v.astype(np.float64) for k, v in initial.items()}
    ws = fast.workspace(model, w.batch_size)
    B, lr = w.batch_size, w.lr

    def fast_epoch(order):
        params = {k: v.copy() for k, v in initial.items()}
        fast.sgd_epoch(model, params, X, Y, order, B, lr, ws)

    variants = {
        "loop f64": lambda o: loop(model, p64, X64, Y64, o, B, lr, np.float64, True),
        "loop f32": lambda o: loop(model, initial, X, Y, o, B, np.float32(lr), np.float32, True),
        "views": lambda o: loop(model, initial, X, Y, o, B, np.float32(lr), np.float32, False),
        "fast": fast_epoch,
    }
    rng = np.random.default_rng(1)
    for run in variants.values():  # warm-up
        run(rng.permutation(w.train_size)[: 20 * B])
    seconds = {name: [] for name in variants}
    for _ in range(args.repeat):
        order = rng.permutation(w.train_size)
        for name, run in variants.items():
            start = time.perf_counter()
            run(order)
            seconds[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(s) for name, s in seconds.items()}
    if args.json:
        print(json.dumps({"workload": w.name, "median": medians, "seconds": seconds}))
        return 0
    print(f"{w.name}: one epoch, median of {args.repeat} interleaved runs")
    base = medians["loop f64"]
    for name, s in medians.items():
        print(f"{name:<10} {s:8.3f} s   x{base / s:5.2f} vs loop f64")
    return 0


if __name__ == "__main__":
    sys.exit(main())
