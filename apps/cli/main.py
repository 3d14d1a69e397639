"""``main(argv)``: parse flags, connect, dispatch to a command, turn expected failures into messages.

Nothing expected ends in a traceback: ``CliError`` (unreachable, refused, bad input) prints its message
and problems and exits with its code; Ctrl-C exits 130; a closed pipe (``| head``) exits 141 quietly.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import IO

import httpx

from apps.cli import exit_codes
from apps.cli.client import DEFAULT_URL, Platform
from apps.cli.context import Context
from apps.cli.errors import CliError, UsageError
from apps.cli.output import Output
from apps.cli.parser import PROG, build_parser


def check_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise UsageError(f"--url {url!r} is not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"--url must look like http://host:port, got {url!r}")
    return url.rstrip("/")


def cli_prefix(url: str, environ: Mapping[str, str]) -> str:
    """How to write this command line in hints: with ``--url`` only when the shell would not supply it."""
    implied = (environ.get("AGENTIC_URL") or DEFAULT_URL).rstrip("/")
    return PROG if url == implied else f"{PROG} --url {shlex.quote(url)}"


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    stdin: IO[str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> int:
    environ = os.environ if environ is None else environ
    for stream in (sys.stdout, sys.stderr):
        # Run results may hold any text; a terminal that cannot show a character gets '?', not a crash.
        if stream is not None and isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    parser = build_parser(environ)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage: --help is 0, bad flags 2
        return exc.code if isinstance(exc.code, int) else exit_codes.USAGE
    out = Output(
        json_mode=args.json,
        no_color=args.no_color or bool(environ.get("NO_COLOR")),
        stdout=stdout,
        stderr=stderr,
        stdin=stdin,
    )
    handler: Callable[[Context, argparse.Namespace], int] = args.handler
    try:
        prepare = getattr(args, "prepare", None)
        if prepare is not None:  # a command that sets --url or --api-key itself (verify --stack-outputs)
            prepare(args, environ, out.stdin)
        url = check_url(args.url)
        with Platform(url, args.api_key, timeout=args.timeout, transport=transport) as platform:
            return handler(Context(platform, out, cli_prefix(url, environ)), args)
    except CliError as exc:
        out.error(exc)
        return exc.code
    except KeyboardInterrupt:
        out.note("Interrupted.")
        return exit_codes.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, and keep Python from failing to flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return exit_codes.BROKEN_PIPE
