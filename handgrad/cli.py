"""The `handgrad` command line: a thin dispatcher over `handgrad.commands.<name>` modules.

Each command module defines `add_arguments(parser)` and `run(args) -> int`. User errors (ValueError,
FileNotFoundError, OSError) become one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "verify": "check every formulation x document model against JAX and finite differences",
    "check": "check your own hand-written gradient function and diagnose what is wrong",
    "train": "train a document recipe on MNIST with a verified gradient",
    "predict": "predict a digit with trained parameters",
    "audit": "machine-check every equation of the five source documents",
    "bench": "time handgrad's training against JAX and PyTorch",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's usage errors: exit 2, one line
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser with one subcommand per available command module."""
    parser = _Parser(prog="handgrad", description="Hand-derived backprop, verified.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_text in COMMANDS.items():
        try:
            module = importlib.import_module(f"handgrad.commands.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"handgrad.commands.{name}":
                raise
            continue
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args))
    except (ValueError, OSError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"handgrad {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"handgrad {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
