"""One module per group of subcommands; each has ``add_parsers(subparsers, common)`` and handlers."""
