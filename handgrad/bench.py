"""Benchmarks: handgrad's float32 training against JAX and PyTorch on the workloads of issue 7.

    handgrad bench [--workload NAME ...] [--repeat N] [--json] [--no-peers]

Every implementation runs in its own process (NumPy's OpenBLAS threads and PyTorch's OpenMP threads
spin against each other on 2 cores; README, "How it is measured"). A worker loads MNIST, warms up (JAX
compiles), says it is ready, and then times one run each time the parent asks, so the parent can
interleave the implementations run by run: on a shared machine whose load drifts, all of them see
the same conditions. Each reported time is the median of N runs. The workers:

- `python -m handgrad.bench --impl train`: `handgrad.train.train` with the gate off; a run's time is
  its `train_seconds` (the training loop, as `handgrad train` runs it);
- `--impl fast`: the same SGD written directly over `handgrad.fast`; this worker also measures the
  floor (below) once per round;
- `benchmarks/peer_jax.py`, `benchmarks/peer_torch.py`: the workload written idiomatically in JAX and
  PyTorch. A peer that is not installed, or whose script is missing, gives null.
Each also runs alone (without --serve): `--repeat N` runs, one JSON line.

The floor is what the workload's matrix products alone cost on this machine: each product of one
step is timed alone at its training shape (the median of several blocks), which gives a rate;
floor = exact FLOPs / rate. A full-batch step must also read X once from memory: the floor is the
larger of that and the time the first product takes to stream the whole X.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path

import numpy as np

from handgrad import data, fast
from handgrad.blas import routines
from handgrad.models import Model, init_params, parse_model
from handgrad.recipes import Recipe, get_recipe

ROOT = Path(__file__).resolve().parents[1]
PEERS = {"jax": ROOT / "benchmarks" / "peer_jax.py", "torch": ROOT / "benchmarks" / "peer_torch.py"}
PEER_MODULES = {"jax": "jax", "torch": "torch"}
IMPLS = ("train", "fast")
THREADS = 2  # OpenBLAS threads for handgrad, torch.set_num_threads for PyTorch
FLOOR_CHUNK = fast.CHUNK  # a full batch's products are timed at this many examples
FLOOR_BLOCK_SECONDS = 0.03  # each timed block of one product lasts about this long
FLOOR_BLOCKS = 7
PAUSE_SECONDS = 0.3  # between two workers' runs, for the last one's spinning threads to sleep


@dataclass(frozen=True)
class Workload:
    """A training run to time: the model, the data, the optimizer and how long."""

    name: str
    description: str
    sizes: tuple[int, ...]
    batch_size: int | None  # None: full batch (gradient descent)
    train_size: int  # the first train_size MNIST training images
    iterations: int | None  # full batch: update steps
    epochs: int | None  # mini-batches: passes over the training images
    lr: float
    init: str
    init_scale: float = 0.5
    dev_size: int = 0
    model_name: str = "relu-softmax-column"

    @property
    def model(self) -> Model:
        return parse_model(self.model_name, self.sizes)

    @property
    def steps(self) -> int:
        """Update steps of one run."""
        if self.batch_size is None:
            return self.iterations
        return self.epochs * math.ceil(self.train_size / self.batch_size)

    @property
    def examples(self) -> int:
        """Examples through forward and backward in one run."""
        if self.batch_size is None:
            return self.iterations * self.train_size
        return self.epochs * self.train_size

    def recipe(self) -> Recipe:
        """This workload as a `handgrad train` recipe (history only at the first and last step)."""
        full = self.batch_size is None
        return get_recipe(
            self.model_name,
            sizes=self.sizes,
            optimizer="gd" if full else "sgd",
            batch_size=self.batch_size,
            iterations=self.iterations,
            epochs=self.epochs,
            lr=self.lr,
            init=self.init,
            init_scale=self.init_scale,
            train_size=self.train_size,
            dev_size=self.dev_size,
            display_every=self.steps,
            test_predictions=0,
        )


def _gd(name: str, what: str, sizes: tuple, n: int, iterations: int, dev: int = 0) -> Workload:
    """Full-batch gradient descent as document 002 trains: lr 0.10, U(-0.5, 0.5) initialisation."""
    return Workload(name, what, sizes, None, n, iterations, None, 0.10, "uniform", 0.5, dev)


def _sgd(name: str, what: str, sizes: tuple, batch: int, n: int) -> Workload:
    """One epoch of mini-batch SGD, lr 0.1, He initialisation."""
    return Workload(name, what, sizes, batch, n, None, 1, 0.1, "he")


_MLP = "ReLU/softmax, SGD lr 0.1, batch 128, one epoch of 60,000"
WORKLOADS = {
    w.name: w
    for w in (
        _gd(
            "doc002",
            "002 recipe: 784-10-10, 500 full-batch iterations, m = 41,000",
            (784, 10, 10),
            41_000,
            500,
            dev=1_000,
        ),
        _sgd("mlp-128", f"784-128-10 {_MLP}", (784, 128, 10), 128, 60_000),
        _sgd("mlp-512x2", f"784-512-512-10 {_MLP}", (784, 512, 512, 10), 128, 60_000),
        _sgd(
            "tiny", "smoke test: 784-32-10, batch 64, one epoch of 2,048", (784, 32, 10), 64, 2_048
        ),
        _gd(
            "tiny-full",
            "smoke test: 784-10-10, 5 full-batch iterations, m = 2,048",
            (784, 10, 10),
            2_048,
            5,
        ),
    )
}
DEFAULT_WORKLOADS = ("doc002", "mlp-128", "mlp-512x2")


def get_workload(name: str) -> Workload:
    """The workload called `name`."""
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r}; expected one of {', '.join(WORKLOADS)}")
    return WORKLOADS[name]


def products(sizes: Sequence[int], m: int) -> list[tuple[int, int, int]]:
    """(rows, inner, cols) of every matrix product in one step over m examples.

    Per layer l: Z^l (m x n_(l-1) times n_(l-1) x n_l), dW^l (n_(l-1) x m times m x n_l) and, above
    the first layer, dA^(l-1) (m x n_l times n_l x n_(l-1)); layer 1 needs no input gradient.
    """
    shapes = []
    for l in range(1, len(sizes)):
        k, n = sizes[l - 1], sizes[l]
        shapes += [(m, k, n), (k, m, n)] + ([(m, n, k)] if l > 1 else [])
    return shapes


def flops(workload: Workload) -> int:
    """Exact floating-point operations of the workload's matrix products (2 per multiply-add)."""
    return sum(2 * a * b * c for a, b, c in products(workload.sizes, workload.examples))


# ---------------------------------------------------------------- the worker side


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (getrusage; kB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_budget_mb(workload: Workload) -> float:
    """The issue's bound: 2 x (the float32 MNIST training images + the float32 parameters)."""
    dataset = 60_000 * workload.sizes[0] * 4
    params = sum(4 * math.prod(s) for s in workload.model.param_shapes().values())
    return 2 * (dataset + params) / 2**20


def images_needed(workload: Workload) -> int:
    """MNIST training images a run reads: train_size to train, then dev_size for `handgrad train`'s
    dev split."""
    return workload.train_size + workload.dev_size


def check_data(workloads: Sequence[Workload], data_dir=None) -> None:
    """Refuse, before anything is timed, a data directory with too few training images for one of
    `workloads` (the fast path would silently reuse the last image and time work it never did)."""
    have = len(data.load("mnist", "train", data_dir, scale=False).labels)
    for w in workloads:
        if (need := images_needed(w)) > have:
            root = data.resolve_data_dir("mnist", data_dir)[0]
            source = "--data-dir " if data_dir is not None else ""
            if data_dir is None and os.environ.get(data.DIR_ENV["mnist"]):
                source = f"{data.DIR_ENV['mnist']}="
            raise ValueError(
                f"workload {w.name} needs {need:,} MNIST training images but {source}{root} has "
                f"{have:,}; give --data-dir a directory with at least {need:,}"
            )


def workload_data(workload: Workload, data_dir=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, labels, Y): the training images (row-major float32 view), labels and one-hot rows."""
    train = data.load("mnist", "train", data_dir)
    n = workload.train_size
    if n > len(train.labels):  # the parent checks first (check_data); a worker alone checks too
        raise ValueError(
            f"workload {workload.name} needs {n:,} MNIST training images; the data has "
            f"{len(train.labels):,}"
        )
    X, labels = train.images[:n], train.labels[:n]
    return X, labels, data.one_hot(labels, 10, "row", np.float32)


def versions() -> dict:
    """Versions of what is timed: Python, NumPy and its BLAS (the floor's), scipy and its BLAS,
    the BLAS handgrad.fast calls (`handgrad.blas`), JAX, PyTorch (None: absent)."""
    import scipy

    def blas(module) -> str:
        found = module.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        return f"{found.get('name', '?')} {found.get('version', '?')}"

    found = {}
    for name in ("jax", "jaxlib", "torch"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas(np),
        "scipy": scipy.__version__,
        "scipy_blas": blas(scipy),
        "fast_blas": routines(np.float32).name,
    } | found


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    """A run that returns the wall-clock seconds of one call of `fn`."""

    def run() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return run


def worker_arguments(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    """The options every worker takes: --workload, --repeat, --serve, --data-dir."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--workload", required=True, choices=tuple(WORKLOADS))
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (without --serve)")
    parser.add_argument("--serve", action="store_true", help="time one run per 'run' on stdin")
    parser.add_argument("--data-dir")
    parser.add_argument("--impl", choices=IMPLS, help="handgrad's workers only")
    return parser.parse_args(argv)


def _say(message: dict) -> None:
    print(json.dumps(message), flush=True)


def work(
    info: dict,
    runs: Mapping[str, Callable[[], float]],
    repeat: int,
    serve: bool,
    floor_fn: Callable[[], dict] | None = None,
) -> None:
    """A worker's main loop, once warmed up. `runs`: variant -> one timed run (its seconds).

    Alone, it times `repeat` runs of every variant and prints one JSON line: the fastest variant's
    seconds, every variant's and peak RSS. With `serve` it prints {"ready": true}, then answers
    each line on stdin: "run" -> {"seconds": {variant: s}}, "floor" -> {"floor": floor_fn()};
    anything else (or the end of stdin) -> the final line {impl, peak_rss_mb, versions, ...}.
    """
    final = {"peak_rss_mb": 0.0, "versions": versions()} | info
    if not serve:
        seconds = {name: [run() for _ in range(repeat)] for name, run in runs.items()}
        best = min(seconds, key=lambda name: statistics.median(seconds[name]))
        final |= {"variant": best, "seconds": seconds[best], "variants": seconds}
        if floor_fn is not None:
            final["floor"] = floor_fn()
        _say(final | {"peak_rss_mb": round(peak_rss_mb(), 1)})
        return
    _say({"ready": True})
    for line in sys.stdin:
        if line.strip() == "run":
            _say({"seconds": {name: run() for name, run in runs.items()}})
        elif line.strip() == "floor" and floor_fn is not None:
            _say({"floor": floor_fn()})
        else:
            break
    _say(final | {"peak_rss_mb": round(peak_rss_mb(), 1)})


def _train_run(workload: Workload, data_dir) -> Callable[[], float]:
    """A run of `handgrad.train.train` (gate off) returning its train_seconds; warmed up."""
    from handgrad.recipes import override
    from handgrad.train import train

    recipe = workload.recipe()

    def once(r: Recipe) -> float:
        return train(r, verify=False, progress=False, data_dir=data_dir).train_seconds

    once(override(recipe, iterations=min(3, workload.steps), display_every=1000))
    return lambda: once(recipe)


def _fast_run(workload: Workload, data_dir) -> Callable[[], float]:
    """A run of the workload's SGD over `handgrad.fast` from fresh parameters; warmed up."""
    model, (X, _, Y) = workload.model, workload_data(workload, data_dir)
    initial = init_params(
        model, np.random.default_rng(0), workload.init, workload.init_scale, np.float32
    )
    B, n = workload.batch_size, workload.train_size
    ws = fast.workspace(model, B or n)
    rng = np.random.default_rng(1)

    def once(steps: int) -> None:
        params = {k: v.copy() for k, v in initial.items()}
        if B is None:
            for _ in range(steps):
                fast.sgd_step(model, params, X, Y, workload.lr, ws)
            return
        for _ in range(workload.epochs):
            order = rng.permutation(n)[: steps * B]
            fast.sgd_epoch(model, params, X, Y, order, B, workload.lr, ws)

    once(min(3, workload.steps) if B is None else min(20, workload.steps))
    return timed(lambda: once(workload.steps))


def _median_seconds(fn: Callable[[], object], blocks: int = FLOOR_BLOCKS) -> float:
    """Median seconds of one call of `fn`, over `blocks` blocks of about FLOOR_BLOCK_SECONDS."""
    fn()
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < FLOOR_BLOCK_SECONDS / 4:
        fn()
        calls += 1
    per_block = max(1, round(calls * 4))
    times = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(per_block):
            fn()
        times.append((time.perf_counter() - start) / per_block)
    return statistics.median(times)


def floor(workload: Workload, X: np.ndarray | None = None) -> dict:
    """The floor of `workload`: its products at the measured rate, or streaming X, if larger."""
    rng = np.random.default_rng(2)
    m = workload.batch_size or min(workload.train_size, FLOOR_CHUNK)
    product_seconds = 0.0
    for rows, inner, cols in products(workload.sizes, m):
        a = rng.standard_normal((rows, inner), np.float32)
        b = rng.standard_normal((inner, cols), np.float32)
        out = np.empty((rows, cols), np.float32)
        product_seconds += _median_seconds(lambda a=a, b=b, out=out: np.matmul(a, b, out=out))
    step_flops = sum(2 * a * b * c for a, b, c in products(workload.sizes, m))
    rate = step_flops / product_seconds
    compute = flops(workload) / rate
    result = {"gflop": flops(workload) / 1e9, "gflops": rate / 1e9, "compute_seconds": compute}
    if workload.batch_size is None and X is not None:  # the first product reads all of X
        W = rng.standard_normal((X.shape[1], workload.sizes[1]), np.float32)
        out = np.empty((len(X), workload.sizes[1]), np.float32)
        stream = _median_seconds(lambda: np.matmul(X, W, out=out), blocks=3)
        result["memory_seconds"] = stream * workload.iterations
        result["stream_gb_s"] = X.nbytes / stream / 1e9
    result["seconds"] = max(compute, result.get("memory_seconds", 0.0))
    return result


def main(argv: list[str] | None = None) -> int:
    """handgrad's worker: `python -m handgrad.bench --impl train|fast --workload NAME [--serve]`."""
    args = worker_arguments(main.__doc__, argv)
    workload = get_workload(args.workload)
    impl = args.impl or "fast"
    if impl == "train":
        runs, floor_fn = {"train": _train_run(workload, args.data_dir)}, None
    else:
        X = workload_data(workload, args.data_dir)[0]
        runs, floor_fn = {"fast": _fast_run(workload, args.data_dir)}, lambda: floor(workload, X)
    info = {
        "impl": impl,
        "workload": workload.name,
        "threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }
    work(info, runs, args.repeat, args.serve, floor_fn)
    return 0


# ---------------------------------------------------------------- the parent: one process each


class Worker:
    """One implementation's worker process, driven over its stdin and stdout (see `work`)."""

    def __init__(self, name: str, command: list[str], env: dict, cpus=None, error=None):
        self.name, self.error, self.final = name, error, None
        self.seconds: dict[str, list[float]] = {}
        self.floors: list[dict] = []
        self.proc = None
        if error is None:
            self.log = tempfile.TemporaryFile("w+")
            self.proc = subprocess.Popen(
                [*command, "--serve"],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.log,
                text=True,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
            )

    def ask(self, command: str | None) -> dict | None:
        """Send `command` (None: nothing) and return the next JSON line, or None on failure."""
        if self.proc is None or self.error is not None:
            return None
        try:
            if command is not None:
                self.proc.stdin.write(command + "\n")
                self.proc.stdin.flush()
            for line in self.proc.stdout:
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    continue  # something a library printed
        except OSError:
            pass
        self.proc.wait()
        self.log.seek(0)
        tail = self.log.read().strip().splitlines()[-1:] or ["no output"]
        self.error = f"exit status {self.proc.returncode}: {tail[0]}"
        return None

    def ready(self) -> None:
        self.ask(None)

    def run(self) -> None:
        answer = self.ask("run")
        for variant, s in (answer or {}).get("seconds", {}).items():
            self.seconds.setdefault(variant, []).append(s)

    def floor(self) -> None:
        answer = self.ask("floor")
        if answer is not None:
            self.floors.append(answer["floor"])

    def close(self) -> None:
        self.final = self.ask("end")
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait()
            self.log.close()

    def median(self) -> float | None:
        """The median of the fastest variant (None when the worker failed or never ran)."""
        if self.error is not None or not self.seconds:
            return None
        return min(statistics.median(s) for s in self.seconds.values())


def _env(threads: int, numpy_threads: int | None, data_dir) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["OPENBLAS_NUM_THREADS"] = str(numpy_threads or threads)
    env["BENCH_THREADS"] = str(threads)
    if data_dir is not None:
        env["HANDGRAD_DATA_DIR"] = str(data_dir)
    return env


def _cpus(threads: int) -> set[int] | None:
    """The CPUs a worker may use: the first `threads` when fewer than all (XLA ignores its thread
    flags, so pinning is the only way to give JAX one core), else None (no pinning)."""
    if not hasattr(os, "sched_setaffinity") or threads >= len(os.sched_getaffinity(0)):
        return None
    return set(sorted(os.sched_getaffinity(0))[:threads])


def _workers(w: Workload, peers: Mapping[str, Path], threads: int, data_dir) -> list[Worker]:
    """handgrad's two workers and one per peer (a peer not installed or not found: no process)."""
    workers, cpus = [], _cpus(threads)
    for impl in IMPLS:
        command = [sys.executable, "-m", "handgrad.bench", "--impl", impl, "--workload", w.name]
        workers.append(Worker(f"handgrad_{impl}", command, _env(threads, None, data_dir), cpus))
    for name, script in peers.items():
        module = PEER_MODULES.get(name, name)
        error = None
        if not Path(script).is_file():
            error = f"peer script {script} not found"
        elif util.find_spec(module) is None:
            error = f"{module} is not installed (pip install handgrad[bench])"
        command = [sys.executable, str(script), "--workload", w.name]
        workers.append(Worker(name, command, _env(threads, 1, data_dir), cpus, error))
    return workers


def measure(
    w: Workload, repeat: int, peers: Mapping[str, Path], threads: int, data_dir, say
) -> list[Worker]:
    """Start every worker, wait until all are warm, then `repeat` rounds of one run each.

    Rounds interleave the implementations (in a rotating order, with a pause between workers for
    idle threads to sleep), so that a machine whose load changes treats them all alike.
    """
    workers = _workers(w, peers, threads, data_dir)
    for worker in workers:
        worker.ready()
    live = [worker for worker in workers if worker.proc is not None and worker.error is None]
    for r in range(repeat):
        say(f"{w.name}: round {r + 1} of {repeat}")
        order = live[r % len(live) :] + live[: r % len(live)] if live else []
        for worker in order:
            time.sleep(PAUSE_SECONDS)
            worker.run()
            if worker.name == "handgrad_fast":
                time.sleep(PAUSE_SECONDS)
                worker.floor()
    for worker in workers:
        worker.close()
    return workers


def machine() -> dict:
    """The machine: CPUs, processor, load average (the machine may be shared)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "processor": model, "system": platform.system()}


def run(
    workloads: Sequence[str] = DEFAULT_WORKLOADS,
    repeat: int = 5,
    peers: Mapping[str, Path] | None = None,
    threads: int = THREADS,
    data_dir=None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Time handgrad (train and fast) and each peer on every workload; the JSON report."""
    if repeat < 1:
        raise ValueError(f"--repeat must be >= 1, got {repeat}")
    chosen = [get_workload(name) for name in workloads]
    check_data(chosen, data_dir)  # too few images: one error before any worker starts
    peers = PEERS if peers is None else peers
    say = log or (lambda message: None)
    report = {
        "machine": machine() | {"loadavg_start": os.getloadavg()},
        "threads": threads,
        "pinned_cpus": sorted(_cpus(threads) or []) or None,
        "repeat": repeat,
        "statistic": f"median of {repeat} interleaved runs after a warm-up, one process each",
        "workloads": {},
    }
    for w in chosen:
        workers = measure(w, repeat, peers, threads, data_dir, say)
        report["workloads"][w.name] = summarize(w, {worker.name: worker for worker in workers})
    report["machine"]["loadavg_end"] = os.getloadavg()
    report["versions"] = versions()
    return report


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a / b, 3)


def summarize(w: Workload, workers: Mapping[str, Worker]) -> dict:
    """One workload's entry of the JSON report."""
    peer_names = [n for n in workers if not n.startswith("handgrad_")]
    peer_names += [n for n in PEERS if n not in peer_names]  # jax and torch always (null: not run)
    seconds = {"handgrad": workers["handgrad_train"].median()}
    seconds |= {n: workers[n].median() if n in workers else None for n in peer_names}
    seconds["handgrad_fast"] = workers["handgrad_fast"].median()
    floors = workers["handgrad_fast"].floors
    the_floor = {k: statistics.median(f[k] for f in floors) for k in floors[0]} if floors else {}
    floor_seconds = the_floor.get("seconds")
    present = [seconds[n] for n in peer_names if seconds[n] is not None]
    best = min(present) if present else None
    final = {n: worker.final or {} for n, worker in workers.items()}
    return {
        "description": w.description,
        "seconds": seconds,
        "floor_seconds": floor_seconds,
        "peak_rss_mb": final["handgrad_train"].get("peak_rss_mb"),
        "ratios": {
            impl: {n: _ratio(seconds[impl], seconds[n]) for n in peer_names}
            | {
                "best_peer": _ratio(seconds[impl], best),
                "floor": _ratio(seconds[impl], floor_seconds),
            }
            for impl in ("handgrad", "handgrad_fast")
        },
        "memory_budget_mb": round(memory_budget_mb(w), 1),
        "peak_rss_mb_by_impl": {n: f.get("peak_rss_mb") for n, f in final.items()},
        "floor": the_floor,
        "runs": {n: worker.seconds for n, worker in workers.items()},
        "errors": {n: worker.error for n, worker in workers.items() if worker.error},
    }


if __name__ == "__main__":
    sys.exit(main())
