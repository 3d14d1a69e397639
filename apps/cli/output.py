"""Where the command line writes: results to stdout, notices and errors to stderr.

With ``--json`` stdout carries exactly one JSON document (or nothing), so it can be piped to ``jq``;
everything meant for a person goes to stderr in that mode.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from apps.cli.errors import CliError
from apps.cli.text import Style


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Output:
    def __init__(
        self,
        *,
        json_mode: bool,
        no_color: bool,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        stdin: IO[str] | None = None,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.stdin = stdin or sys.stdin
        self.json_mode = json_mode
        self.is_tty = _is_tty(self.stdout)
        self.stdin_is_tty = _is_tty(self.stdin)
        self.style = Style.for_stream(self.stdout, is_tty=self.is_tty, no_color=no_color)
        self.err_style = Style.for_stream(self.stderr, is_tty=_is_tty(self.stderr), no_color=no_color)

    def say(self, text: str = "") -> None:
        """A line of the human display (stdout); flushed, so piped output is live too."""
        print(text, file=self.stdout, flush=True)

    def note(self, text: str) -> None:
        """A line for the person at the terminal, whatever stdout is for."""
        print(text, file=self.stderr, flush=True)

    def emit_json(self, value: Any) -> None:
        print(json.dumps(value, indent=2, ensure_ascii=False, default=str), file=self.stdout, flush=True)

    def error(self, exc: CliError) -> None:
        style = self.err_style
        self.note(f"{style.paint('error:', 'red')} {exc.message}")
        for problem in exc.problems:
            self.note(f"  - {problem}")
        if self.json_mode:
            self.emit_json(exc.as_json())
