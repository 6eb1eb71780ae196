"""Each source document's model and training setup as one recipe, with the document's numbers.

Documents (in ../shared/seeds/, cited by title and author):
- 000: "MNIST Classification with Numpy and Backpropagation" (GitHub README; author not named).
- 001: "Neural Network Backpropogation", MATH 3480 notes, Dr. Michael Olson.
- 002: "Simple MNIST NN from scratch (numpy, no TF/Keras)", Samson Zhang (Kaggle wwsalmon), as retold.
- 003: "MNIST Neural Network" (lecture-style notes; author not named), the same model as 002.
- 004: "MNIST" README, raneamri (a two-layer ELU/softmax network trained from CSV).

Where a document gives no number, the field's comment says "choice:" and why.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, replace

DOCUMENTS = {
    "000": "MNIST Classification with Numpy and Backpropagation (author not named)",
    "001": "Neural Network Backpropogation, MATH 3480, Dr. Michael Olson",
    "002": "Simple MNIST NN from scratch, Samson Zhang (wwsalmon)",
    "003": "MNIST Neural Network (notes; author not named)",
    "004": "MNIST, raneamri",
}


@dataclass(frozen=True)
class Recipe:
    """A document's model and training setup; `choices` says which numbers the document left out."""

    name: str
    documents: tuple[str, ...]
    model: str
    sizes: tuple[int, ...]
    init: str  # a handgrad.models.INIT_SCHEMES name
    init_scale: float  # the U(-s, s) bound for init="uniform"; unused otherwise
    optimizer: str  # a handgrad.optimizers name: "gd" (full batch), "sgd", "momentum", "adam"
    lr: float
    iterations: int | None  # update steps; None when training by epochs (exactly one is set)
    epochs: int | None  # passes over the training split; None when training by iterations
    batch_size: int | None  # None: the whole training split (full batch)
    train_size: int  # the first train_size training images train
    dev_size: int  # the next dev_size images are the dev split (0: none)
    alpha: float = 1.0  # ELU alpha
    display_every: int = 10  # progress/history interval in steps (004's DISPLAY_REG; 002: 10)
    test_predictions: int = 4  # sample predictions shown at the end (004's TEST_PREDICTIONS)
    reported: str = ""  # what the document reports
    choices: str = ""  # the numbers we chose where the document is silent
    # Accuracy ingredients (mlp-99's); the defaults switch them all off, as in every document.
    momentum: float = 0.9  # mu of optimizer "momentum"
    weight_decay: float = 0.0  # lambda of the L2 term (lambda/2) sum ||W||^2 (weights only)
    dropout: float = 0.0  # inverted-dropout rate on every hidden layer's activations
    augment: str = "none"  # "none" or "affine" (a fresh distorted training set every epoch)
    schedule: str = "constant"  # learning-rate schedule: "constant", "step" or "cosine"
    warmup: int = 0  # steps of linear learning-rate warmup

    def asdict(self) -> dict:
        return asdict(self)


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe(
            name="sigmoid-mse-row",
            documents=("000",),
            model="sigmoid-mse-row",
            sizes=(784, 30, 10),
            init="normal",
            init_scale=0.0,
            optimizer="sgd",
            lr=1.5,
            iterations=None,
            epochs=10,
            batch_size=10,
            train_size=50_000,
            dev_size=10_000,
            display_every=1000,
            reported="no accuracy reported",
            choices=(
                "000 gives no sizes or numbers; it borrows Nielsen's figures, so Nielsen's "
                "784-30-10, N(0, 1/n_in) weights, batch 10 and 50,000/10,000 split; lr 1.5 is "
                "Nielsen's 3.0 halved because 000's MSE has no 1/2; 10 epochs; progress every "
                "1,000 steps (10,000 images) so the history has 50 points, not 5,000"
            ),
        ),
        Recipe(
            name="sigmoid-mse-column",
            documents=("001",),
            model="sigmoid-mse-column",
            sizes=(784, 16, 16, 10),
            init="normal",
            init_scale=0.0,
            optimizer="sgd",
            lr=1.5,
            iterations=None,
            epochs=10,
            batch_size=10,
            train_size=50_000,
            dev_size=10_000,
            display_every=1000,
            reported="no accuracy reported",
            choices=(
                "001 gives 784-16-16-10, sigmoid, squared error and mini-batch SGD; batch size, "
                "learning rate, epochs, split, initialisation and display interval are ours, "
                "the same as 000's (lr 1.5 reaches about 91% test accuracy after one epoch)"
            ),
        ),
        Recipe(
            name="relu-softmax-column",
            documents=("002", "003"),
            model="relu-softmax-column",
            sizes=(784, 10, 10),
            init="uniform",
            init_scale=0.5,
            optimizer="gd",
            lr=0.10,
            iterations=500,
            epochs=None,
            batch_size=None,
            train_size=41_000,
            dev_size=1_000,
            reported="002: about 85% train accuracy, 84% dev accuracy (1,000 held-out images)",
            choices=(
                "all numbers are 002's (003 gives none and shares the model); 002 shuffles Kaggle's "
                "42,000 images first, we take MNIST's first 41,000 for training and the next 1,000 "
                "as dev"
            ),
        ),
        Recipe(
            name="elu-softmax-column",
            documents=("004",),
            model="elu-softmax-column",
            sizes=(784, 10, 10),
            init="uniform",
            init_scale=0.5,
            optimizer="gd",
            lr=0.10,
            iterations=500,
            epochs=None,
            batch_size=None,
            train_size=41_000,
            dev_size=1_000,
            alpha=1.0,
            reported="no accuracy reported",
            choices=(
                "004 names its settings (ITERATIONS, DISPLAY_REG, DATASET_PARTITION, "
                "TEST_PREDICTIONS) but not their values; we use 002's numbers for its 784-10-10 "
                "two-layer network and ELU alpha = 1"
            ),
        ),
        Recipe(
            name="mlp-99",
            documents=(),
            model="relu-softmax-row",
            sizes=(784, 800, 800, 10),
            init="he",
            init_scale=0.0,
            optimizer="adam",
            lr=1e-3,
            iterations=None,
            epochs=20,
            batch_size=128,
            train_size=60_000,
            dev_size=0,
            display_every=2345,  # every 5 epochs: each point is a forward pass over 60,000
            test_predictions=4,
            dropout=0.2,
            augment="affine",
            schedule="cosine",
            reported="the target it was built for: >= 99.0% on the official MNIST test set with "
            "a plain MLP in <= 10 minutes on 2 cores (the README's Accuracy section has what was "
            "measured)",
            choices=(
                "no document: Simard et al. (2003)'s 800-unit MLP widened to two hidden layers "
                "(784-800-800-10, ReLU, He init), Adam lr 1e-3 with cosine decay, batch 128, "
                "dropout 0.2 on both hidden layers, a fresh affine distortion of all 60,000 "
                "training images every epoch (+-12 degrees, scale +-10%, shift +-2 px), 20 "
                "epochs (cosine to 0 at the end); row-major (the batch is rows of X, as the images are stored)"
            ),
        ),
    ]
}

DOCUMENT_RECIPES = {"000": "sigmoid-mse-row", "001": "sigmoid-mse-column"} | {
    "002": "relu-softmax-column",
    "003": "relu-softmax-column",
    "004": "elu-softmax-column",
}


def get_recipe(name: str, **overrides) -> Recipe:
    """The recipe called `name` (or a document number: "2", "02" and "002" alike give 002's),
    with any field overridden.

    None means "keep the recipe's value". Overriding `iterations` clears `epochs` and vice versa;
    switching to the full-batch optimizer "gd" clears `batch_size` unless one is given.
    """
    number = name.strip().zfill(3) if isinstance(name, str) and name.strip().isdigit() else name
    key = DOCUMENT_RECIPES.get(number, name)
    if key not in RECIPES:
        documents = sorted(DOCUMENT_RECIPES)
        raise ValueError(
            f"unknown recipe {name!r}; expected one of {', '.join(RECIPES)} or a document number "
            f"{documents[0]}-{documents[-1]} (or {int(documents[0])}-{int(documents[-1])})"
        )
    return override(RECIPES[key], **overrides)


def title(name: str, documents, model: str, sizes) -> str:
    """A run's heading: "relu-softmax-column (documents 002+003): 784,10,10", the model's name
    only where it is not the recipe's ("mlp-99 (no document): relu-softmax-row 784,800,800,10")."""
    n = len(documents)
    source = f"document{'s' * (n != 1)} {'+'.join(documents)}" if n else "no document"
    shown = "" if model == name else f"{model} "
    return f"{name} ({source}): {shown}{','.join(map(str, sizes))}"


def override(recipe: Recipe, **overrides) -> Recipe:
    """`recipe` with the non-None fields of `overrides` replaced (see `get_recipe`)."""
    fields = set(Recipe.__dataclass_fields__)
    if unknown := sorted(set(overrides) - fields):
        raise ValueError(f"unknown recipe field(s) {unknown}; expected some of {sorted(fields)}")
    changes = {k: v for k, v in overrides.items() if v is not None}
    if "iterations" in changes and "epochs" not in changes:
        changes["epochs"] = None
    if "epochs" in changes and "iterations" not in changes:
        changes["iterations"] = None
    if changes.get("optimizer") == "gd" and "batch_size" not in changes:
        changes["batch_size"] = None
    return replace(recipe, **changes)


def recipe_from_json(saved: dict) -> Recipe:
    """The Recipe whose `asdict()` (as stored in metrics.json and checkpoints) is `saved`;
    ValueError naming unknown or missing fields."""
    if not isinstance(saved, dict):
        raise ValueError(f"a recipe is a JSON object of fields, got a {type(saved).__name__}")
    fields = Recipe.__dataclass_fields__
    required = {k for k, f in fields.items() if f.default is MISSING}
    if unknown := sorted(set(saved) - set(fields)):
        raise ValueError(f"unknown recipe field(s) {unknown}")
    if missing := sorted(required - set(saved)):
        raise ValueError(f"recipe field(s) {missing} missing")
    for k in ("documents", "sizes"):
        if not isinstance(saved[k], list | tuple):
            raise ValueError(f"recipe field {k!r} must be a list, got {saved[k]!r}")
    return Recipe(**{k: tuple(v) if k in ("documents", "sizes") else v for k, v in saved.items()})
