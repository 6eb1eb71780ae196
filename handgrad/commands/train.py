"""`handgrad train`: train a recipe (a source document's, or mlp-99) on MNIST or Fashion-MNIST
behind the gradient gate.

Exit status: 0 trained; 1 the gate or a periodic check refused the gradient, or training diverged;
2 bad options or data (one line on stderr, nothing in --out touched).
"""

from __future__ import annotations

import argparse
import os
import sys

from handgrad.augment import AUGMENTATIONS
from handgrad.data import DATASETS
from handgrad.formulations import FORMULATIONS
from handgrad.models import INIT_SCHEMES, parse_sizes
from handgrad.optimizers import OPTIMIZERS, SCHEDULES
from handgrad.recipes import DOCUMENTS, RECIPES, get_recipe, override, title
from handgrad.train import ENGINES, _ingredients

# CLI option -> Recipe field; a given option overrides the recipe's number.
OVERRIDES = {
    "model": "model",
    "sizes": "sizes",
    "alpha": "alpha",
    "init": "init",
    "init_scale": "init_scale",
    "optimizer": "optimizer",
    "lr": "lr",
    "iterations": "iterations",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "train_size": "train_size",
    "dev_size": "dev_size",
    "display_every": "display_every",
    "test_predictions": "test_predictions",
    "momentum": "momentum",
    "weight_decay": "weight_decay",
    "dropout": "dropout",
    "augment": "augment",
    "schedule": "schedule",
    "warmup": "warmup",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `handgrad train`."""
    parser.epilog = "recipes (--list-recipes has their numbers): " + ", ".join(
        f"{r.name} ({'+'.join(r.documents) or _undocumented(r)})" for r in RECIPES.values()
    )
    what = parser.add_argument_group("what to train (a recipe, any number overridden)")
    what.add_argument(
        "--recipe",
        metavar="NAME",
        help="recipe name or document number (2, 02 or 002), e.g. relu-softmax-column",
    )
    what.add_argument("--list-recipes", action="store_true", help="list the recipes and exit")
    what.add_argument(
        "--model", metavar="MODEL", help="e.g. relu-softmax-column ({hidden}-{output}-{layout})"
    )
    what.add_argument(
        "--sizes", type=parse_sizes, metavar="N0,...,NL", help="layer sizes, e.g. 784,10,10"
    )
    what.add_argument("--alpha", type=float, metavar="A", help="ELU alpha")
    what.add_argument("--init", choices=INIT_SCHEMES, help="initialisation scheme")
    what.add_argument(
        "--init-scale", type=float, metavar="S", help="U(-s, s) bound for --init uniform"
    )
    what.add_argument("--formulation", choices=tuple(FORMULATIONS), help="default: model layout")
    what.add_argument(
        "--engine",
        choices=ENGINES,
        help="fast: handgrad.fast evaluates the row/column equations in preallocated buffers "
        "(default there); formulation: the formulation module's own forward/backward",
    )
    how = parser.add_argument_group("how to train")
    how.add_argument(
        "--optimizer",
        choices=tuple(OPTIMIZERS),
        help="gd: full batch; sgd, momentum, adam: mini-batches",
    )
    how.add_argument("--lr", type=float, metavar="LR", help="learning rate (alpha in 002)")
    how.add_argument("--momentum", type=float, metavar="MU", help="mu of --optimizer momentum")
    how.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    how.add_argument("--warmup", type=int, metavar="N", help="steps of linear lr warmup")
    reg = parser.add_argument_group("regularisation (hand-derived, checked by the gate)")
    reg.add_argument(
        "--weight-decay", type=float, metavar="LAMBDA", help="L2: + (lambda/2) sum ||W||^2"
    )
    reg.add_argument("--dropout", type=float, metavar="P", help="dropout rate on hidden layers")
    reg.add_argument(
        "--augment", choices=tuple(AUGMENTATIONS), help="affine: distort every epoch's images"
    )
    length = how.add_mutually_exclusive_group()
    length.add_argument("--iterations", type=int, metavar="N", help="number of update steps")
    length.add_argument("--epochs", type=int, metavar="N", help="passes over the training split")
    mini = ", ".join(name for name, o in OPTIMIZERS.items() if o.batching == "mini")
    how.add_argument("--batch-size", type=int, metavar="B", help=f"mini-batch size ({mini})")
    how.add_argument(
        "--train-size", type=int, metavar="N", help="the first N training images train"
    )
    how.add_argument(
        "--dev-size", type=int, metavar="N", help="the next N training images are the dev split"
    )
    how.add_argument(
        "--display-every", type=int, metavar="N", help="progress/history interval in steps"
    )
    how.add_argument(
        "--test-predictions", type=int, metavar="N", help="sample test predictions to print"
    )
    how.add_argument("--seed", type=int, metavar="S", help="random seed (default 0)")
    how.add_argument("--dtype", choices=("float32", "float64"), help="default float32")
    where = parser.add_argument_group("data and outputs")
    where.add_argument("--dataset", choices=DATASETS, help="default mnist")
    where.add_argument("--data-dir", metavar="DIR", help="directory with the four IDX files")
    where.add_argument(
        "--out", metavar="DIR", help="write metrics.json, params.npz, checkpoint and figures here"
    )
    where.add_argument("--force", action="store_true", help="overwrite a run already in --out")
    where.add_argument("--no-figures", action="store_true", help="write no PNGs to --out")
    where.add_argument("--resume", metavar="DIR", help="continue the run checkpointed in DIR")
    where.add_argument("--checkpoint-every", type=int, metavar="N", help="checkpoint every N steps")
    check = parser.add_argument_group("gradient checks")
    check.add_argument("--no-verify", action="store_true", help="skip the gate (not recommended)")
    check.add_argument(
        "--verify-every", type=int, metavar="N", help="directional check every N steps"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar, status or download lines"
    )


def _undocumented(r) -> str:
    """What a recipe without a source document is, for --help: "no document: relu-softmax-row
    784,800,800,10, adam, dropout 0.2, ..." (`--list-recipes` says why)."""
    what = f"{r.model} {','.join(map(str, r.sizes))}, {r.optimizer}{_ingredients(r)}"
    return f"no document: {what}"


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")  # OpenBLAS reads


def busy_note(command: str = "train", work: str = "training") -> str | None:
    """A note for a machine busy with other work (1-minute load average >= the CPU count) where
    OpenBLAS starts a thread per CPU (no *_NUM_THREADS set): its threads spin against that work,
    and one thread is several times faster there (33.8 s against 5.6 s for 60 steps of 002 at a
    load of 3-5 on 2 CPUs). None otherwise: the thread count is the user's to set."""
    cpus = os.cpu_count() or 1
    if cpus < 2 or any(os.environ.get(name) for name in BLAS_THREADS):
        return None
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows)
        return None
    if load < cpus:
        return None
    return (
        f"note: the load average is {load:.1f} on {cpus} CPUs; OpenBLAS's threads spin "
        f"against the other work and {work} can be several times slower: "
        f"OPENBLAS_NUM_THREADS=1 handgrad {command} ... is much faster here"
    )


def _recipe(args: argparse.Namespace):
    """The recipe named by --recipe (or the checkpoint's, with --resume), options applied."""
    overrides = {field: getattr(args, option) for option, field in OVERRIDES.items()}
    if args.recipe is not None:
        return get_recipe(args.recipe, **overrides)
    if args.resume is None:
        names = ", ".join(RECIPES)
        raise ValueError(f"give --recipe NAME (one of {names}) or --resume DIR")
    from handgrad.saved import resume_recipe

    return override(resume_recipe(args.resume), **overrides)


def _plural(n: int, word: str) -> str:
    return f"{word}s" if n != 1 else word


def _length(r) -> str:
    if r.iterations is not None:
        return f"{r.iterations} {_plural(r.iterations, 'iteration')}"
    return f"{r.epochs} {_plural(r.epochs, 'epoch')}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def run(args: argparse.Namespace) -> int:
    """Train, print train/dev/test accuracy; exit 1 when the gradient is refused or training diverges."""
    if args.list_recipes:
        from handgrad.train import list_recipes

        print(list_recipes())
        for doc, title in DOCUMENTS.items():
            print(f"  {doc}: {title}")
        return 0
    from handgrad.data import quiet_downloads

    with quiet_downloads(args.quiet):
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    """`run` past --list-recipes: train and print the results."""
    recipe = _recipe(args)
    from handgrad.recipes import recipe_from_json
    from handgrad.train import DivergedError, GateError, train

    busy = busy_note()  # measured now, printed with the first status line (an error stays one)

    def log(message: str) -> None:
        nonlocal busy
        if not args.quiet:
            if busy:
                print(f"handgrad train: {busy}", file=sys.stderr)
                busy = None
            print(message, file=sys.stderr)

    try:
        result = train(
            recipe,
            formulation=args.formulation,
            seed=args.seed,
            data_dir=args.data_dir,
            dataset=args.dataset,
            dtype=args.dtype,
            engine=args.engine,
            verify=not args.no_verify,
            verify_every=args.verify_every,
            checkpoint_every=args.checkpoint_every,
            out=args.out,
            resume=args.resume,
            force=args.force,
            figures=not args.no_figures,
            progress=not args.quiet,
            log=log,
        )
    except (GateError, DivergedError) as error:
        print(f"handgrad train: {error}", file=sys.stderr)
        return 1
    r, m, config = recipe_from_json(result.config["recipe"]), result.model, result.config
    batch = "full batch" if r.batch_size is None else f"batch {r.batch_size}"
    n_test = len(result.test_predictions)
    print(
        f"{title(r.name, r.documents, m.name, m.sizes)}, {config['formulation']} formulation "
        f"({config.get('engine', 'formulation')} engine), "
        f"{r.optimizer} lr {r.lr:g}, {_length(r)}, {batch}, seed {result.seed}, "
        f"{config['dtype']}, {config['dataset']}{_ingredients(r)}"
    )
    print(f"train accuracy {_percent(result.train_accuracy):>7}  ({r.train_size:,} images)")
    if result.dev_accuracy is not None:
        print(f"dev accuracy   {_percent(result.dev_accuracy):>7}  ({r.dev_size:,} images)")
    print(f"test accuracy  {_percent(result.test_accuracy):>7}  (official test set, {n_test:,})")
    if r.reported and config["dataset"] == "mnist":
        print(f"document reports: {r.reported}")
    if len(result.sample_indices):
        from functools import partial

        from handgrad import data

        dataset = result.config["dataset"]
        labels = data.load(dataset, "test", args.data_dir).labels
        name = partial(data.class_label, dataset)  # "7", or "7 Sneaker" for fashion-mnist
        print(
            "sample test predictions: "
            + ", ".join(
                f"#{i} {name(result.test_predictions[i])} (label {name(labels[i])})"
                for i in result.sample_indices
            )
        )
    if result.checks:  # counted over every segment of a resumed run
        counts = ", ".join(
            f"{n} {v if v != 'pass' else 'passed'}" for v, n in result.checks.items()
        )
        print(f"periodic directional checks: {counts}")
    # a resumed run's loop time sums every segment's, its wall time is this one's
    segments = (" this segment", " over all segments") if args.resume else ("", "")
    print(
        f"wall time {result.seconds:.1f} s{segments[0]} "
        f"(training loop {result.train_seconds:.1f} s{segments[1]})"
    )
    if result.out is not None:
        from handgrad.figures import FILES

        figures = "" if args.no_figures else ", " + ", ".join(FILES)
        print(f"wrote {result.out}/: metrics.json, params.npz, checkpoint.npz{figures}")
    return 0
