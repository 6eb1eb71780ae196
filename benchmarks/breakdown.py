"""Where one epoch of `handgrad.fast` goes: each kept call of the step timed, summed by kind.

    PYTHONPATH=. python benchmarks/breakdown.py [--workload mlp-128] [--repeat 7] [--json]

The step's calls are the ones `handgrad.fast` keeps in its workspace (`_program`); each is
wrapped in a timer (about 0.1 us each), and so is the gather of each mini-batch (`fast.batch`).
"python" is what is left of the epoch: the loop, slicing the order, looking up the kept calls.
Each part is its own median over --repeat epochs (so the parts add up to the median epoch only
roughly).
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

from handgrad import fast
from handgrad.bench import get_workload, workload_data
from handgrad.models import init_params

BIG = 50_000  # a product with an operand of more entries than this is one of the "big" ones


def kind(op) -> str:
    """What a kept call is: a big or small gemm, a bias call (ger, gemv) or a ufunc."""
    routine = getattr(op, "routine", None)  # a BLAS call bound by handgrad.blas
    if routine == "gemm":
        return "gemm (big)" if max(a.size for a in op.arrays) > BIG else "gemm (small)"
    return "ger/gemv (bias)" if routine else "ufuncs"


def breakdown(workload: str, repeat: int, data_dir=None) -> dict[str, float]:
    """Median seconds per epoch of each kind of call, plus "gather", "python" and "epoch"."""
    w = get_workload(workload)
    if w.batch_size is None:
        raise SystemExit("breakdown.py times mini-batch workloads (mlp-128, mlp-512x2, tiny)")
    model, (X, _, Y) = w.model, workload_data(w, data_dir)
    params = init_params(model, np.random.default_rng(0), w.init, w.init_scale, np.float32)
    B, n, rng, clock = w.batch_size, w.train_size, np.random.default_rng(1), time.perf_counter
    ws = fast.workspace(model, B)
    fast.sgd_epoch(model, params, X, Y, rng.permutation(n), B, w.lr, ws)  # builds every call
    spent: dict[str, float] = {}

    def timed(call, key: str):
        def run(*args, **kwargs):
            start = clock()
            result = call(*args, **kwargs)
            spent[key] = spent.get(key, 0.0) + clock() - start
            return result

        return run

    for _, ops, _, _ in ws.programs.values():
        ops[:] = [timed(op, kind(op)) for op in ops]
    epochs, batch = [], fast.batch
    fast.batch = timed(batch, "gather")  # what sgd_epoch calls for each mini-batch
    try:
        for _ in range(repeat):
            spent.clear()
            order = rng.permutation(n)
            start = clock()
            fast.sgd_epoch(model, params, X, Y, order, B, w.lr, ws)
            epoch = clock() - start
            epochs.append({**spent, "python": epoch - sum(spent.values()), "epoch": epoch})
    finally:
        fast.batch = batch
    return {key: statistics.median(e.get(key, 0.0) for e in epochs) for key in epochs[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="mlp-128")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    seconds = breakdown(args.workload, args.repeat, args.data_dir)
    if args.json:
        print(json.dumps({"workload": args.workload, "median_seconds": seconds}))
        return 0
    print(f"{args.workload}: one epoch of handgrad.fast, median of {args.repeat}")
    for key, s in seconds.items():
        print(f"{key:<16} {s * 1e3:8.1f} ms  {s / seconds['epoch']:6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
