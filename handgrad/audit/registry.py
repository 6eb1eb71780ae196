"""The audit's registry types: an Entry per formula of a source document, its readings and outcomes.

An `Entry` records where a formula is (document id, section or code function), the formula as written
(short), the document's own stated model, an executable *as-written* check, and, when the formula is
wrong, its corrected form as text and as an executable check. Entries never carry a verdict: the
verdict is an `Outcome` computed by running the check (see `handgrad.audit.checks` and `.run`).

Where the text can be read more than one way (a product that may be matrix or elementwise, a sum
without an axis, an index that may name two layers), `check` implements one reading (`reading`:
the one the document must have meant, or the literal print when that is a typo), `readings` holds
the others, each run as well, and `meant` (default: `reading`) with `why` says which one the
document must have meant and why.

Inputs (`Setup` -> `inputs`) are drawn from fixed seeds, in float64, from random numbers only (no
MNIST), so the audit runs anywhere and gives the same numbers every time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from handgrad.models import Model, init_params, parse_model

KINDS = ("forward", "loss", "derivative", "update", "example", "shape", "code", "hazard")
VERDICTS = ("correct", "wrong", "not executable", "inconclusive")
HAZARD_VERDICTS = ("hazard", "safe")


@dataclass(frozen=True)
class Outcome:
    """What running a check found: verdict, diagnosis, evidence, and the raw numbers (for JSON)."""

    verdict: str
    diagnosis: str = ""
    evidence: str = ""
    measured: dict = field(default_factory=dict, compare=False)


Check = Callable[[], Outcome]


@dataclass(frozen=True)
class Reading:
    """One way to read an ambiguous formula, with its executable check."""

    label: str
    check: Check


@dataclass(frozen=True)
class Entry:
    """One formula, code line or worked example of a source document, with its as-written check."""

    id: str  # "<document>.<section>.<name>", e.g. "002.code.db2"
    document: str  # "000" ... "004"
    where: str  # section heading or code function, e.g. "The code: backward_prop"
    kind: str  # one of KINDS
    formula: str  # as written (short LaTeX or code)
    model: str  # the document's own stated model: "relu-softmax-column 784-10-10"
    check: Check  # the formula as written (for ambiguous text: the reading it must mean)
    corrected: str = ""  # the corrected form, when the formula turns out wrong
    corrected_check: Check | None = None  # the corrected form, executable
    reading: str = ""  # the reading `check` implements, when the text is ambiguous
    why: str = ""  # why the document must have meant `meant`
    readings: tuple[Reading, ...] = ()  # the other readings, each checked
    meant: str = ""  # the reading the document must have meant, when not `reading` (a label)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"entry {self.id}: unknown kind {self.kind!r}; expected {KINDS}")
        if not self.id.startswith(self.document + "."):
            raise ValueError(f"entry id {self.id!r} must start with its document {self.document!r}")
        labels = {self.reading, "the corrected form"} | {r.label for r in self.readings}
        if self.readings and (not self.reading or self.intended not in labels):
            raise ValueError(f"entry {self.id}: name its reading and the one it must have meant")

    @property
    def ambiguous(self) -> bool:
        """True when the text has more than one reading (each is run)."""
        return bool(self.readings)

    @property
    def intended(self) -> str:
        """The reading the document must have meant."""
        return self.meant or self.reading


@dataclass(frozen=True)
class Setup:
    """A model with sizes and a batch, drawn from a fixed seed: the inputs an entry runs on."""

    model: str
    sizes: tuple[int, ...]
    m: int = 16
    init: str = "normal"  # a handgrad.models.INIT_SCHEMES name
    seed: int = 0

    def describe(self) -> str:
        """The model an entry belongs to, as "relu-softmax-column 784-10-10"."""
        return f"{self.model} {'-'.join(map(str, self.sizes))}"


@dataclass(frozen=True, eq=False)
class Inputs:
    """Parameters, a batch X, one-hot (or target) Y and the labels behind it, all float64."""

    model: Model
    params: dict[str, np.ndarray]
    X: np.ndarray
    Y: np.ndarray
    labels: np.ndarray

    @property
    def m(self) -> int:
        """The batch size."""
        return self.X.shape[1 if self.model.layout == "column" else 0]


@functools.cache
def inputs(setup: Setup) -> Inputs:
    """Inputs for `setup`: params by the model's init, X ~ U[0, 1) ("pixels"), every label present.

    With more than one output, the labels are a permutation of 0, 1, ..., n_L - 1 repeated, so a
    batch of m >= n_L holds every class (document 002's one-hot width needs label 9 to appear).
    With one output (the one-neuron chains), Y is a target drawn from U(0, 1).
    """
    model = parse_model(setup.model, setup.sizes)
    rng = np.random.default_rng(setup.seed)
    params = init_params(model, rng, setup.init, scale=0.5)
    x_shape, y_shape = model.data_shapes(setup.m)
    X = rng.uniform(0.0, 1.0, x_shape)
    n_L = setup.sizes[-1]
    if n_L > 1:
        labels = rng.permutation(np.arange(setup.m) % n_L)
        Y = np.eye(n_L)[labels]
        Y = Y.T.copy() if model.layout == "column" else Y
    else:
        labels = np.zeros(setup.m, dtype=np.int64)
        Y = rng.uniform(0.0, 1.0, y_shape)
    for array in (X, Y, labels, *params.values()):
        array.setflags(write=False)
    return Inputs(model, params, X, Y, labels)
