"""The `handgrad` command line: a thin dispatcher over `handgrad.commands.<name>` modules.

Each command module defines `add_arguments(parser)` and `run(args) -> int`. User errors (ValueError,
FileNotFoundError, OSError) become one line on stderr and exit status 2, never a traceback: an
OSError as "<file>: <what went wrong>", and a library message that names a Python parameter
(`batch_size must be ...`) names the command's option instead (`--batch-size must be ...`).
A closed pipe (`handgrad predict ... | head -3`) ends the command quietly with status 141, as a
process killed by SIGPIPE would (128 + 13). Ctrl-C is one line and status 130 too: this module
imports only the standard library (and `handgrad/__init__.py` nothing), so that every import that
takes a moment happens inside `main`, after its `except KeyboardInterrupt` exists.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

COMMANDS = {
    "verify": "check every formulation x document model against JAX and finite differences",
    "check": "check your own hand-written gradient function and diagnose what is wrong",
    "train": "train a recipe (a source document's, or mlp-99) on MNIST or Fashion-MNIST with a "
    "verified gradient",
    "predict": "predict the class of an image (a digit, a Fashion-MNIST item) with trained parameters",
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
        options = {
            action.dest: action.option_strings[-1]
            for action in command._actions
            if action.option_strings and action.dest != "help"
        }
        command.set_defaults(_run=module.run, _options=options)
    return parser


def user_message(error: Exception, options: dict[str, str]) -> str:
    """The one line a user sees for a ValueError or OSError raised by a command."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        what = error.strerror[0].lower() + error.strerror[1:]
        return f"{error.filename}: {what}"
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    for dest, flag in options.items():  # `batch_size 400 exceeds ...` -> `--batch-size 400 ...`
        if "_" in dest:
            message = re.sub(rf"(?<![\w/.-]){dest}(?![\w/-])", flag, message)
        elif message.startswith(f"{dest} must "):
            message = flag + message[len(dest) :]
    return message


def _closed_pipe() -> int:
    """stdout's reader went away: send what is left to /dev/null (no second error at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (e.g. under pytest)
        pass
    return 141


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:  # importing the commands takes a moment: Ctrl-C there is no traceback either
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:
        print("handgrad: interrupted", file=sys.stderr)
        return 130
    try:
        status = int(args._run(args))
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        return _closed_pipe()
    except (ValueError, OSError) as error:
        print(
            f"handgrad {args.command}: error: {user_message(error, args._options)}", file=sys.stderr
        )
        return 2
    except KeyboardInterrupt as error:  # a command may say what it left behind
        print(f"handgrad {args.command}: {str(error) or 'interrupted'}", file=sys.stderr)
        return 130
    except MemoryError as error:  # NumPy's says what it could not allocate
        said = str(error) or "out of memory"
        print(
            f"handgrad {args.command}: error: {said[0].lower()}{said[1:]} (smaller --sizes or "
            "--batch-size?)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
