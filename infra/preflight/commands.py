"""Running a local tool's read-only commands with a bound on time, and reading its version."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

__all__ = ["COMMAND_TIMEOUT_SECONDS", "CommandResult", "Version", "find_tool", "run_command"]

# `docker version` waits for an unreachable engine; nothing here may block the preflight for long.
COMMAND_TIMEOUT_SECONDS = 20.0

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """The first `N.N[.N]` in a tool's output (`v3.272.0`, `aws-cli/2.17.4 Python/...`), or None."""
        match = _VERSION.search(text)
        if match is None:
            return None
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class CommandResult:
    returncode: int | None
    """None when the command did not finish within the timeout."""
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def output(self) -> str:
        return (self.stdout + "\n" + self.stderr).strip()

    def failure(self) -> str:
        """Why the command failed, in one line for a finding."""
        if self.returncode is None:
            return f"did not answer within {COMMAND_TIMEOUT_SECONDS:g} s"
        last = self.stderr.strip().splitlines()[-1:] or self.stdout.strip().splitlines()[-1:] or ["no output"]
        return f"exited with {self.returncode}: {last[0]}"


def find_tool(name: str) -> str | None:
    """The tool's path on PATH, as a shell would find it."""
    return shutil.which(name)


def run_command(path: str, *args: str) -> CommandResult:
    try:
        completed = subprocess.run(  # noqa: S603 - a resolved tool path and fixed arguments, no shell
            [path, *args],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return CommandResult(None, _text(exc.stdout), _text(exc.stderr))
    except OSError as exc:
        return CommandResult(126, "", f"{type(exc).__name__}: {exc}")
    return CommandResult(completed.returncode, completed.stdout, completed.stderr)


def _text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value or ""
