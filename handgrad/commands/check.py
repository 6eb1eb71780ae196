"""`handgrad check PATH.py:FUNCTION --model NAME`: verify your own hand-written gradient function.

FUNCTION(params, X, Y) returns a dict keyed like the parameters or a tuple or list
(dW1, db1, dW2, ...).
Exit status: 0 every gradient is right (also when inconclusive: not shown wrong, see the notes,
unless --strict); 1 a gradient is wrong, has the wrong shape, is non-finite, or FUNCTION raised; 2 the check could not
run (no such file or function, unknown model, bad option), with one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `handgrad check`."""
    parser.epilog = (
        "exit status: 0 every gradient is right (or inconclusive: not shown wrong, see the notes; "
        "with --strict that is 1); 1 a gradient is wrong, misshapen or non-finite, or FUNCTION "
        "raised; 2 the check could "
        "not run (no such file or function, unknown model, bad option)"
    )
    parser.add_argument("function", metavar="PATH.py:FUNCTION", help="your gradient function")
    parser.add_argument(
        "--model", required=True, help="{hidden}-{output}-{layout}, e.g. relu-softmax-column"
    )
    parser.add_argument(
        "--sizes",
        help="layer sizes like 784,10,10 (default: the document recipe's, else 784,10,10)",
    )
    parser.add_argument(
        "--alpha", help="ELU's alpha, for elu models (default: the document recipe's, else 1)"
    )
    parser.add_argument(
        "--batch-size",
        help="examples in the batch (default 16, or 12 where a layer is 16 wide: a batch size "
        "equal to a width hides a slip that uses one for the other)",
    )
    parser.add_argument("--seed", default="0", help="seed of the parameters and batch (default 0)")
    parser.add_argument(  # checked by check_gradients, so that --json reports a bad one
        "--dtype", default="float64", metavar="{float64,float32}", help="default float64"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--full", action="store_true", help="finite differences at every entry")
    parser.add_argument(
        "--directions",
        default="3",
        help="random directions along which finite differences check the oracle (default 3); with "
        "a --loss that JAX cannot trace they are most of the evidence: keep them",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when inconclusive too (not only when wrong)"
    )
    parser.add_argument("--loss", metavar="PATH.py:FUNCTION", help="your own loss(params, X, Y)")
    parser.add_argument("--data-dir", help="MNIST directory (default: $HANDGRAD_DATA_DIR)")


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{what} must be an integer, got {text!r}") from None


def _number(text: str | None, what: str) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    """Check the function; print the table (or JSON); 0 right, 1 wrong, 2 could not run."""
    from handgrad.check import CheckReport, check_gradients, load_function, resolve_model
    from handgrad.cli import user_message
    from handgrad.commands.train import busy_note

    busy = busy_note("check", "checking (--full above all)")  # measured now, said after a run
    quiet = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    try:
        with quiet:  # in --json mode the user's own prints must not corrupt stdout
            model = resolve_model(args.model, args.sizes, _number(args.alpha, "--alpha"))
            function = load_function(args.function)
            loss = load_function(args.loss) if args.loss else None
            report = check_gradients(
                function,
                model,
                batch_size=None
                if args.batch_size is None
                else _integer(args.batch_size, "--batch-size"),
                seed=_integer(args.seed, "--seed"),
                dtype=args.dtype,
                loss=loss,
                full=args.full,
                data_dir=args.data_dir,
                directions=_integer(args.directions, "--directions"),
            )
    except (ValueError, OSError) as error:
        message = user_message(error, getattr(args, "_options", {}))
        if args.json:
            print(json.dumps(CheckReport("error", error=message).to_json()))  # the same schema
        print(f"handgrad check: error: {message}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_json()) if args.json else report)
    if busy:  # (an error above stays one line)
        print(f"handgrad check: {busy}", file=sys.stderr)
    refused = ("fail", "error", "inconclusive") if args.strict else ("fail", "error")
    return 1 if report.verdict in refused else 0
