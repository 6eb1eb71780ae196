"""Running the registry: every entry's check, its readings and its corrected form; tables; output.

`audit(documents)` runs entries and returns `Result`s; `render_markdown(results)` gives the errata
sheet (docs/ERRATA.md is this, for all five documents), `to_json(results)` the same as data. Printed
numbers are rounded to 3 significant digits and numbers below 1e-10 print as 0, so the sheet is the
same on every machine; the JSON keeps the raw measurements.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from types import ModuleType

from handgrad.audit import doc000, doc001, doc002, doc003, doc004
from handgrad.audit.registry import Entry, Outcome
from handgrad.recipes import DOCUMENTS

MODULES: dict[str, ModuleType] = {
    "000": doc000,
    "001": doc001,
    "002": doc002,
    "003": doc003,
    "004": doc004,
}


def registry(documents: list[str] | None = None) -> tuple[Entry, ...]:
    """Every entry of the given documents (all five when None), in document order."""
    documents = check_documents(documents)
    return tuple(e for d in documents for e in MODULES[d].ENTRIES)


def check_documents(documents: list[str] | None) -> list[str]:
    """The document ids ("3", "03" and "003" alike give "003"), validated (ValueError if unknown)."""
    if documents is None:
        return list(MODULES)
    ids = [d.strip().zfill(3) if d.strip().isdigit() else d for d in documents]
    unknown = [d for d, i in zip(documents, ids, strict=True) if i not in MODULES]
    if unknown:
        raise ValueError(
            f"unknown document {unknown[0]!r}; expected one of {', '.join(MODULES)} "
            f"(or {int(min(MODULES))}-{int(max(MODULES))})"
        )
    return list(dict.fromkeys(ids))


@dataclass(frozen=True)
class Result:
    """An entry with the outcome of its check, of each other reading and of its corrected form."""

    entry: Entry
    outcome: Outcome
    readings: tuple[tuple[str, Outcome], ...]
    corrected: Outcome | None

    @property
    def verdict(self) -> str:
        """The verdict of the entry's own check."""
        return self.outcome.verdict


def run_entry(entry: Entry) -> Result:
    """Run one entry's check, its other readings and its corrected form."""
    readings = tuple((r.label, r.check()) for r in entry.readings)
    corrected = entry.corrected_check() if entry.corrected_check is not None else None
    return Result(entry, entry.check(), readings, corrected)


def audit(documents: list[str] | None = None) -> list[Result]:
    """Run every entry of the given documents."""
    return [run_entry(e) for e in registry(documents)]


# --- output ------------------------------------------------------------------------------------

_NUMBER = re.compile(r"-?\d+\.\d+(?:[eE][+-]?\d+)?|-?\d+[eE][+-]?\d+")


def stable(text: str) -> str:
    """Text with measured numbers at 3 significant digits, and measured |x| < 1e-10 as 0.

    A number written with at most 3 significant digits ("1e-10", "0.5") is kept as it is: those are
    bounds and round factors. Longer ones ("5.551e-17", "-0.7648") are measurements, whose last
    digits (and, below 1e-10, all digits: rounding noise) differ from machine to machine.
    """

    def one(match: re.Match) -> str:
        literal = match.group()
        mantissa = re.split("[eE]", literal)[0].lstrip("-").replace(".", "").lstrip("0")
        if len(mantissa) <= 3:
            return literal
        x = float(literal)
        return "0" if abs(x) < 1e-10 else f"{x:.3g}"

    return _NUMBER.sub(one, text)


def to_json(results: list[Result], seconds: float | None = None) -> dict:
    """The audit as a JSON-ready dict: per document, its entries with every outcome."""

    def outcome(o: Outcome | None) -> dict | None:
        if o is None:
            return None
        return {
            "verdict": o.verdict,
            "diagnosis": o.diagnosis,
            "evidence": o.evidence,
            "measured": o.measured,
        }

    documents: dict[str, dict] = {}
    for r in results:
        e = r.entry
        doc = documents.setdefault(e.document, {"title": DOCUMENTS[e.document], "entries": []})
        doc["entries"].append(
            {
                "id": e.id,
                "where": e.where,
                "kind": e.kind,
                "formula": e.formula,
                "model": e.model,
                "as_written": _code(e.check),
                "reading": e.reading or None,
                "meant": e.intended or None,
                "why": e.why or None,
                "corrected": e.corrected or None,
                **outcome(r.outcome),
                "corrected_outcome": outcome(r.corrected),
                "readings": [{"label": k, **outcome(o)} for k, o in r.readings],
            }
        )
    out = {"documents": documents, "summary": summary(results)}
    if seconds is not None:
        out["seconds"] = round(seconds, 2)
    return out


def _code(check) -> str | None:
    """The as-written code a check runs, when it has one."""
    code = getattr(check, "code", None)
    return code if isinstance(code, str) else None


def summary(results: list[Result]) -> dict[str, dict[str, int]]:
    """{document: {verdict: count}} (hazards counted as "hazard")."""
    out: dict[str, dict[str, int]] = {}
    for r in results:
        counts = out.setdefault(r.entry.document, {})
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    return out


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return stable(text).replace("|", "\\|").replace("\n", " ")


def _readings_text(r: Result) -> str:
    return "; ".join(f"{label}: {o.verdict}" for label, o in r.readings)


def _corrected_text(r: Result) -> str:
    if not r.entry.corrected:
        return ""
    if r.corrected is None:
        return r.entry.corrected
    return f"{r.entry.corrected} (checked: {r.corrected.verdict})"


def _evidence(o: Outcome) -> str:
    return o.evidence


def errata_lines(results: list[Result]) -> list[str]:
    """One line per wrong or not-executable entry: formula, what is wrong, the correction."""
    lines = []
    for r in results:
        if r.verdict not in ("wrong", "not executable"):
            continue
        e = r.entry
        what = r.outcome.diagnosis or r.outcome.evidence
        if r.outcome.evidence and r.outcome.evidence != what:
            what = f"{what} [{r.outcome.evidence}]"
        fix = f" → {e.corrected}" if e.corrected else ""
        lines.append(f"- **{e.id}** ({e.where}): `{e.formula}` is {r.verdict}: {what}{fix}")
    return [stable(line) for line in lines]


# The first and third lines of every sheet `render_markdown` writes: `--write` replaces a file that
# starts so (an earlier sheet) and refuses any other without --force.
SHEET_TITLE = "# Errata for "
SHEET_MARK = "<!-- Generated by `handgrad audit "


def is_errata_sheet(path: str | os.PathLike) -> bool:
    """Whether the file at `path` is an errata sheet `render_markdown` wrote (by its first lines)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096).decode("utf-8", errors="replace").splitlines()
    except OSError:
        return False
    return len(head) >= 3 and head[0].startswith(SHEET_TITLE) and head[2].startswith(SHEET_MARK)


def render_markdown(results: list[Result], title: bool = True) -> str:
    """The errata sheet: a summary, then per document its errata, ambiguities, hazards, table."""
    out = []
    documents = list(dict.fromkeys(r.entry.document for r in results))
    if title:
        out += [
            f"{SHEET_TITLE}{_heading(documents)}",
            "",
            f"{SHEET_MARK}{_options(documents)}`. Do not edit by hand. -->",
            "",
            "Every verdict below was computed by running the formula as written (see",
            "`handgrad/audit/`): gradients through `handgrad.check.check_gradients` against JAX",
            "autodiff and finite differences, forward steps, losses and worked examples against",
            "the document's own stated model. Inputs are random, drawn from fixed seeds, in float64;",
            "numbers are rounded to 3 significant digits. Verdicts: **correct**, **wrong**, **not",
            "executable** (the exception is the evidence; a derivative that uses a quantity of the",
            "backward pass before it exists, or a name that differs only in case from the one a",
            "quantity is defined by, is **wrong**, its NameError the evidence); hazards: **hazard**",
            "(demonstrated) or **safe**. Ambiguous text lists every reading, each run, and the",
            "verdict is the reading the document must have meant; a correct row carries no",
            "correction.",
            "",
            "| document | entries | correct | wrong | not executable | hazards |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        counts = summary(results)
        for doc, c in counts.items():
            total = sum(c.values())
            out.append(
                f"| {doc} | {total} | {c.get('correct', 0)} | {c.get('wrong', 0)} | "
                f"{c.get('not executable', 0)} | {c.get('hazard', 0)} |"
            )
        out.append("")
    for doc in documents:
        rs = [r for r in results if r.entry.document == doc]
        out += _document_section(doc, rs)
    return "\n".join(out).rstrip() + "\n"


def _heading(documents: list[str]) -> str:
    """What the sheet covers: "the five source documents", or the ones audited."""
    if documents == list(MODULES):
        return "the five source documents"
    if len(documents) == 1:
        return f"document {documents[0]}: {DOCUMENTS[documents[0]]}"
    return "documents " + ", ".join(documents)


def _options(documents: list[str]) -> str:
    """The `handgrad audit` options that write this sheet."""
    if documents == list(MODULES):
        return "--write docs/ERRATA.md"
    return " ".join(f"--document {d}" for d in documents)


def _document_section(doc: str, rs: list[Result]) -> list[str]:
    module = MODULES[doc]
    out = [f"## {doc}: {DOCUMENTS[doc]}", "", f"Stated model: {module.STATED}.", ""]
    errata = errata_lines([r for r in rs if r.entry.kind != "hazard"])
    out += ["### Errata", ""] + (errata or ["None found."]) + [""]
    ambiguous = [r for r in rs if r.entry.ambiguous]
    if ambiguous:
        out += ["### Ambiguities: every reading run", ""]
        for r in ambiguous:
            e = r.entry
            readings = f"{e.reading}: {r.verdict}; {_readings_text(r)}"
            out.append(
                stable(
                    f"- **{e.id}** `{e.formula}`: {readings}. Must have meant: {e.intended} ({e.why})."
                )
            )
        out.append("")
    hazards = [r for r in rs if r.entry.kind == "hazard"]
    if hazards:
        out += ["### Numerical hazards, each shown on an input that triggers it", ""]
        for r in hazards:
            e, o = r.entry, r.outcome
            fix = f" Fix: {e.corrected} ({r.corrected.verdict})." if r.corrected else ""
            out.append(
                stable(
                    f"- **{e.id}** `{e.formula}` on {o.diagnosis}: {o.verdict}: {o.evidence}.{fix}"
                )
            )
        out.append("")
    out += [
        "### Every entry",
        "",
        "| id | where | formula as written | verdict | diagnosis | corrected form | evidence |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rs:
        e, o = r.entry, r.outcome
        diagnosis = o.diagnosis if e.kind != "hazard" else f"on {o.diagnosis}"
        if r.readings:
            diagnosis = f"{diagnosis} (readings: {_readings_text(r)})".strip()
        cells = [
            e.id,
            e.where,
            f"`{e.formula}`",
            o.verdict,
            diagnosis,
            _corrected_text(r),
            _evidence(o),
        ]
        out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    out.append("")
    return out


def timed_audit(documents: list[str] | None = None) -> tuple[list[Result], float]:
    """(results, seconds)."""
    start = time.perf_counter()
    results = audit(documents)
    return results, time.perf_counter() - start
