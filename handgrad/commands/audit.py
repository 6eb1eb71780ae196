"""`handgrad audit [--document ID] [--json] [--write PATH [--force]]`: check the source documents.

`--write` replaces an existing file only if it is an errata sheet (`is_errata_sheet`: its first
lines are the ones `render_markdown` writes), unless --force: a mistyped path never loses a model.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from handgrad.checkpoint import atomic_write


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `handgrad audit`."""
    parser.add_argument(
        "--document",
        action="append",
        metavar="ID",
        help="audit only this document (000-004, or 0-4); repeat for several",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--write",
        metavar="PATH",
        help="write the errata sheet (Markdown) to PATH, e.g. docs/ERRATA.md; an existing file "
        "is replaced only if it is an errata sheet this command wrote (see --force)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="let --write replace an existing file that is not an errata sheet",
    )


def run(args: argparse.Namespace) -> int:
    """Print the per-document tables (or JSON); exit 0 when the audit ran, errata or not."""
    from handgrad.audit.run import (  # JAX
        check_documents,
        is_errata_sheet,
        render_markdown,
        timed_audit,
        to_json,
    )

    if args.write and Path(args.write).is_dir():
        raise ValueError(f"--write {args.write}: is a directory; give a file name, e.g. ERRATA.md")
    if args.write and os.path.lexists(args.write) and not args.force:
        if not is_errata_sheet(args.write):  # e.g. a trained params.npz: never lost by a typo
            raise ValueError(
                f"--write {args.write}: exists and is not an errata sheet; give another path, "
                "or --force to replace it"
            )
    documents = check_documents(args.document)
    results, seconds = timed_audit(args.document and documents)
    if args.write:  # its directory is created, as `handgrad train --out` creates its own
        atomic_write(args.write, lambda f: f.write(render_markdown(results).encode()))
    if args.json:
        print(json.dumps(to_json(results, seconds), indent=1, default=str))
    elif args.write:
        errata = sum(r.verdict in ("wrong", "not executable") for r in results)
        print(f"wrote {args.write}: {len(results)} entries, {errata} errata ({seconds:.1f} s)")
    else:
        print(render_markdown(results))
        print(f"{len(results)} entries audited in {seconds:.1f} s")
    return 0
