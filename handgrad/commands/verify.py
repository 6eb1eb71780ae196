"""`handgrad verify [--json] [--seed S] [--batch-size M] [--data-dir DIR]`."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `handgrad verify`."""
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for parameters and the batch (default 0)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=64, help="MNIST images in the batch (default 64)"
    )
    parser.add_argument("--data-dir", help="directory with the MNIST IDX files")


def run(args: argparse.Namespace) -> int:
    """Print the table; exit 0 only when every formulation x model passes."""
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    from handgrad import data
    from handgrad.verify import format_table, rows_to_json, verify  # JAX: imported when run

    images = len(data.load("mnist", "train", args.data_dir).labels)  # the batch is drawn from these
    if args.batch_size > images:
        raise ValueError(
            f"--batch-size {args.batch_size} exceeds the {images:,} MNIST training images "
            "it is drawn from"
        )
    rows = verify(batch_size=args.batch_size, seed=args.seed, data_dir=args.data_dir)
    if args.json:
        print(json.dumps(rows_to_json(rows)))
    else:
        print(format_table(rows))
        passed = sum(r.passed for r in rows)
        print(f"\n{passed} of {len(rows)} formulation x model checks pass.")
    return 0 if all(r.passed for r in rows) else 1
