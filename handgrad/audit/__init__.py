"""`handgrad audit`: every equation, formula and code line of the five source documents, run.

The registry (`doc000` ... `doc004`) holds one `Entry` per formula that states a forward step, a
loss, a derivative or an update, with an executable as-written check; `run.audit()` runs them all
and `run.render_markdown()` writes the errata sheet (docs/ERRATA.md). No verdict is typed in:
gradients go through the checker (`handgrad.check.check_gradients`), forward steps, losses and
worked examples are compared numerically with the document's own stated model.
"""

from handgrad.audit.registry import Entry, Outcome, Reading, Setup
from handgrad.audit.run import Result, audit, registry, render_markdown, run_entry, to_json

__all__ = [
    "Entry",
    "Outcome",
    "Reading",
    "Result",
    "Setup",
    "audit",
    "registry",
    "render_markdown",
    "run_entry",
    "to_json",
]
