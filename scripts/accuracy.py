"""Measure a recipe's MNIST test accuracy over several seeds (issue 7): mean, spread and time.

    python scripts/accuracy.py                          # mlp-99, seeds 0 1 2, the gate on
    python scripts/accuracy.py --seeds 0 --recipe mlp-99 --dataset fashion-mnist --epochs 10
    python scripts/accuracy.py --seeds 0 --set dropout=0 --set augment=none   # an ablation

Each seed is one `handgrad.train.train` run (the same function as `handgrad train`); the test
accuracy after every epoch is printed as one JSON line (a forward pass over the 10,000 test
images, outside the timed training loop's decisions: it changes nothing that is trained), then a
summary line with the mean, the standard deviation (ddof 1), the min and max, the seconds per run
and the machine's load average. `--json FILE` writes all of it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handgrad import data
from handgrad.formulations import get_formulation
from handgrad.models import parse_sizes
from handgrad.recipes import Recipe, get_recipe
from handgrad.train import DivergedError, GateError, machine, train


def _setting(text: str) -> tuple[str, object]:
    """ "field=value" with value parsed as JSON where it parses (numbers), else kept as a string."""
    name, equals, value = text.partition("=")
    if not (name and equals):
        raise ValueError(f"--set {text!r}: expected FIELD=VALUE, e.g. --set dropout=0")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def run_seed(recipe: Recipe, seed: int, dataset: str, formulation: str | None) -> dict:
    """One training run; test accuracy after every epoch and at the end, seconds, load."""
    test = data.load(dataset, "test")
    formulation = formulation or recipe.model.rsplit("-", 1)[-1]
    module = get_formulation(formulation)
    native_layout = module.NATIVE_LAYOUT
    X_test = np.ascontiguousarray(
        data.to_layout(np.asarray(test.images, np.float32), native_layout)
    )
    per_epoch = -(-recipe.train_size // recipe.batch_size)
    curve = []

    def callback(step: int, params: dict) -> None:
        if step % per_epoch == 0:
            from handgrad.models import parse_model

            model = parse_model(recipe.model, recipe.sizes, recipe.alpha).with_layout(native_layout)
            A = module.forward(model, params, X_test)[f"A{model.depth}"]
            accuracy = float(np.mean(A.argmax(model.class_axis) == test.labels))
            curve.append(accuracy)
            line = {"seed": seed, "epoch": step // per_epoch, "test_accuracy": accuracy}
            print(json.dumps(line), flush=True)

    result = train(
        recipe,
        seed=seed,
        dataset=dataset,
        formulation=formulation,
        progress=False,
        figures=False,
        callback=callback,
    )
    return {
        "seed": seed,
        "test_accuracy": result.test_accuracy,
        "train_accuracy": result.train_accuracy,
        "seconds": result.seconds,
        "train_seconds": result.train_seconds,
        "gate": result.gate["verdict"] if result.gate else None,
        "curve": curve,
        "load_average": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the seeds and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="mlp-99")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--formulation")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    try:
        return _measure(args)
    except (GateError, DivergedError) as error:  # the gradient refused, or training diverged
        print(f"accuracy.py: {error}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as error:  # bad options or data: one line, no traceback
        print(f"accuracy.py: error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2


def _measure(args: argparse.Namespace) -> int:
    changes = dict(_setting(s) for s in args.set)
    if "sizes" in changes:
        changes["sizes"] = parse_sizes(str(changes["sizes"]))
    recipe = get_recipe(args.recipe, epochs=args.epochs, **changes)
    started = time.time()
    runs = [run_seed(recipe, seed, args.dataset, args.formulation) for seed in args.seeds]
    accuracies = np.array([r["test_accuracy"] for r in runs])
    summary = {
        "recipe": recipe.asdict(),
        "dataset": args.dataset,
        "runs": runs,
        "mean": float(accuracies.mean()),
        "std": float(accuracies.std(ddof=1)) if len(runs) > 1 else None,
        "min": float(accuracies.min()),
        "max": float(accuracies.max()),
        "seconds": time.time() - started,
        "machine": machine(),
        "load_average_end": os.getloadavg(),
    }
    print(json.dumps({k: v for k, v in summary.items() if k not in ("recipe", "runs")}))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
