"""The command line's flags: global options (accepted before or after the subcommand) and subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from apps.cli.client import DEFAULT_URL, REQUEST_TIMEOUT_SECONDS
from apps.cli.commands import decide, inspect, platform, run, schedules, triggers, verify
from apps.cli.exit_codes import EPILOG

PROG = "python -m apps.cli"
DESCRIPTION = (
    "The Agentic Workflows Platform from a terminal: start runs and watch their steps live, approve steps "
    "that wait for a person, list and inspect runs, tools, templates and health, and manage the schedules and "
    "alert rules that start runs on their own."
)


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 600 seconds")
    return value


def _add_global_options(parser: argparse.ArgumentParser, defaults: dict[str, Any] | None) -> None:
    """On the main parser with real defaults; on every subcommand with none, so a later flag never resets one."""

    def default(name: str) -> Any:
        return argparse.SUPPRESS if defaults is None else defaults[name]

    parser.add_argument(
        "--url", default=default("url"), help=f"the platform's URL (env AGENTIC_URL; default {DEFAULT_URL})"
    )
    parser.add_argument(
        "--api-key",
        default=default("api_key"),
        metavar="KEY",
        help="API key, sent as a bearer token (env AGENTIC_API_KEY)",
    )
    parser.add_argument("--json", action="store_true", default=default("json"), help="print JSON for machines")
    parser.add_argument(
        "--no-color", action="store_true", default=default("no_color"), help="no colours (also env NO_COLOR)"
    )
    parser.add_argument(
        "--timeout",
        type=_timeout,
        default=default("timeout"),
        metavar="SECONDS",
        help=f"per request (default {REQUEST_TIMEOUT_SECONDS:g}); watching a run has no overall limit",
    )


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    formatting: dict[str, Any] = {"epilog": EPILOG, "formatter_class": argparse.RawDescriptionHelpFormatter}
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, **formatting)
    _add_global_options(
        parser,
        {
            "url": environ.get("AGENTIC_URL") or DEFAULT_URL,
            "api_key": environ.get("AGENTIC_API_KEY") or None,
            "json": False,
            "no_color": False,
            "timeout": REQUEST_TIMEOUT_SECONDS,
        },
    )
    common = argparse.ArgumentParser(add_help=False)
    _add_global_options(common, None)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (run, inspect, decide, schedules, triggers, platform, verify):
        module.add_parsers(subparsers, [common], **formatting)
    return parser
