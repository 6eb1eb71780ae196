"""Run every document recipe over several seeds and print the README's results table.

    python scripts/reproduce.py                       # 4 recipes x 5 seeds, gate on, float32
    python scripts/reproduce.py --recipes relu-softmax-column --seeds 2 --jsonl runs.jsonl

Each run is `handgrad.train.train(recipe, seed=s)` exactly as `handgrad train --recipe NAME --seed s`
does it (the gate included). One JSON line per finished run goes to --jsonl as it completes, so a
long reproduction can be interrupted and rendered later with --render. The table gives, per recipe,
what the document reports and handgrad's mean ± standard deviation (ddof = 1) of train, dev and
test accuracy over the seeds, and the mean wall time of one run, with the machine below it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import numpy as np

from handgrad.recipes import RECIPES
from handgrad.train import machine, train


def blas() -> str:
    """The BLAS numpy uses, e.g. "scipy-openblas 0.3.31"."""
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{info['name']} {info['version']}"
    except (KeyError, TypeError, ValueError):
        return "unknown BLAS"


def describe_machine() -> str:
    """One line: CPUs, processor, OS, Python, NumPy, BLAS and its thread setting."""
    m = machine()
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default (one per CPU)")
    cpu = _cpu_model() or m["processor"]
    return (
        f"{m['cpus']} vCPU ({cpu}), {platform.system()} {platform.release()}, Python "
        f"{m['python']}, NumPy {m['numpy']} with {blas()} (threads: {threads})"
    )


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def run_one(name: str, seed: int, data_dir: str | None) -> dict:
    """Train one recipe with one seed; its accuracies and wall time."""
    result = train(name, seed=seed, data_dir=data_dir, progress=False)
    return {
        "recipe": name,
        "seed": seed,
        "train_accuracy": result.train_accuracy,
        "dev_accuracy": result.dev_accuracy,
        "test_accuracy": result.test_accuracy,
        "seconds": result.seconds,
        "train_seconds": result.train_seconds,
        "gate": None if result.gate is None else result.gate["verdict"],
    }


def _stat(values: list[float]) -> str:
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * mean:.1f} ± {100 * sd:.1f}"


def table(runs: list[dict], machine_line: str) -> str:
    """The markdown results table, one row per recipe found in `runs`."""
    lines = [
        "| recipe (documents) | the document reports | seeds | handgrad train | dev | test "
        "| wall time per run |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, recipe in RECIPES.items():
        mine = [r for r in runs if r["recipe"] == name]
        if not mine:
            continue
        dev = [r["dev_accuracy"] for r in mine if r["dev_accuracy"] is not None]
        seconds = statistics.fmean(r["seconds"] for r in mine)
        lines.append(
            f"| `{name}` ({', '.join(recipe.documents)}) | {recipe.reported} | {len(mine)} "
            f"| {_stat([r['train_accuracy'] for r in mine])} % "
            f"| {_stat(dev) + ' %' if dev else '-'} "
            f"| {_stat([r['test_accuracy'] for r in mine])} % | {seconds:.0f} s |"
        )
    lines += [
        "",
        "Accuracies in percent, mean ± standard deviation over the seeds (0, 1, 2, ...); test = "
        "the official 10,000 MNIST test images; wall time = one whole `train()` call (data, "
        "gate, training, evaluation).",
        f"Machine: {machine_line}.",
    ]
    return "\n".join(lines)


# What `table` reads from each run (None: no dev split).
RUN_FIELDS = {
    "recipe": (str,),
    "seed": (int,),
    "train_accuracy": (int, float),
    "dev_accuracy": (int, float, type(None)),
    "test_accuracy": (int, float),
    "seconds": (int, float),
}


def read_jsonl(path: str) -> list[dict]:
    """The runs saved in a --jsonl file; ValueError naming the file and line of a malformed one."""
    runs = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            run = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}, line {n}: not JSON ({e})") from None
        if not isinstance(run, dict):
            raise ValueError(f"{path}, line {n}: a JSON {type(run).__name__}, not a run object")
        for key, kinds in RUN_FIELDS.items():
            if key not in run:
                raise ValueError(f"{path}, line {n}: no {key!r} in the run")
            if isinstance(run[key], bool) or not isinstance(run[key], kinds):
                names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
                raise ValueError(f"{path}, line {n}: {key!r} is {run[key]!r}, expected {names}")
        if run["recipe"] not in RECIPES:
            raise ValueError(f"{path}, line {n}: unknown recipe {run['recipe']!r}")
        runs.append(run)
    return runs


def main(argv: list[str] | None = None) -> int:
    """Run the reproduction (or render saved runs) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    documents = [name for name, recipe in RECIPES.items() if recipe.documents]  # not mlp-99
    parser.add_argument("--recipes", nargs="+", default=documents, choices=list(RECIPES))
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--data-dir", help="directory with the four MNIST IDX files")
    parser.add_argument("--jsonl", help="append one JSON line per finished run here")
    parser.add_argument("--render", action="store_true", help="only print the table of --jsonl")
    args = parser.parse_args(argv)
    try:
        if args.seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
        if args.render and not (args.jsonl and Path(args.jsonl).is_file()):
            raise ValueError(f"--render needs an existing --jsonl file, got {args.jsonl!r}")
        runs = read_jsonl(args.jsonl) if args.jsonl and Path(args.jsonl).exists() else []
    except (ValueError, OSError) as error:
        print(f"reproduce.py: error: {error}", file=sys.stderr)
        return 2
    if not args.render:
        done = {(r["recipe"], r["seed"]) for r in runs}
        for name in args.recipes:
            for seed in range(args.seeds):
                if (name, seed) in done:
                    continue
                run = run_one(name, seed, args.data_dir)
                run["machine"] = describe_machine()
                runs.append(run)
                print(
                    f"{name} seed {seed}: train {run['train_accuracy']:.4f} dev "
                    f"{run['dev_accuracy']} test {run['test_accuracy']:.4f} "
                    f"({run['seconds']:.1f} s, gate {run['gate']})",
                    file=sys.stderr,
                    flush=True,
                )
                if args.jsonl:
                    with open(args.jsonl, "a") as f:
                        f.write(json.dumps(run) + "\n")
    machines = sorted({r.get("machine", "") for r in runs} - {""}) or [describe_machine()]
    print(table(runs, "; ".join(machines)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
