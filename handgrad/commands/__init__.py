"""One module per `handgrad` subcommand: `add_arguments(parser)` and `run(args) -> int`."""
