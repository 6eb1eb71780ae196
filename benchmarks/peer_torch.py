"""The bench workloads written idiomatically in PyTorch: nn.Linear layers, autograd, optim.SGD.

    python benchmarks/peer_torch.py --workload mlp-128 --repeat 5      (one JSON line on stdout)

Same model (nn.Sequential of nn.Linear and nn.ReLU, F.cross_entropy, the mean over the batch), data
(the first train_size MNIST training images, float32), optimizer (torch.optim.SGD, same lr, no
momentum) and number of steps as handgrad's run of the workload; mini-batches are reshuffled every
epoch (torch.randperm) and gathered by indexing. torch.set_num_threads(BENCH_THREADS, default 2).
A few steps warm up before the timed runs.
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812  (the PyTorch convention)
from torch import nn

from handgrad.bench import THREADS, get_workload, timed, work, worker_arguments, workload_data


def network(sizes) -> nn.Sequential:
    """Linear, ReLU, ..., Linear (the logits), PyTorch's default initialisation."""
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def main() -> int:
    args = worker_arguments(__doc__.splitlines()[0])
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", THREADS)))
    torch.manual_seed(0)
    w = get_workload(args.workload)
    X_np, labels_np, _ = workload_data(w, args.data_dir)
    X = torch.from_numpy(np.array(X_np))  # a writable copy: torch refuses read-only memory
    labels = torch.from_numpy(np.array(labels_np))
    model = network(w.sizes)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    B, n = w.batch_size, w.train_size

    def train(steps: int) -> None:
        # back to the same start, in place: building the network (its default initialisation) in
        # every timed run cost 5-24 ms that no other implementation pays
        model.load_state_dict(initial)
        opt = torch.optim.SGD(model.parameters(), lr=w.lr)

        def step(xb, yb) -> None:
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xb), yb).backward()
            opt.step()

        if B is None:
            for _ in range(steps):
                step(X, labels)
            return
        done = 0
        while done < steps:
            order = torch.randperm(n)
            for start in range(0, n, B):
                if done == steps:
                    break
                idx = order[start : start + B]
                step(X[idx], labels[idx])
                done += 1

    train(3 if B is None else 20)
    info = {"impl": "torch", "workload": w.name, "threads": torch.get_num_threads()}
    work(info, {"autograd": timed(lambda: train(w.steps))}, args.repeat, args.serve)
    return 0


if __name__ == "__main__":
    sys.exit(main())
