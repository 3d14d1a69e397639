"""The command line's expected failures; ``main`` prints them as messages, never as tracebacks.

Hierarchy::

    CliError                  message, exit code, problems to list
    ├── UsageError            2: bad flags or input files, detected before anything is sent
    ├── ApiRefused            2 for 4xx (the request as given cannot be done), 5 for 5xx
    ├── Unreachable           5: connection refused, DNS, TLS, timeout, an answer that is not the API's
    └── AuthFailed            5: 401 (no key or an unknown key) or 403 (the key lacks the role)
"""

from __future__ import annotations

from typing import Any

from apps.cli import exit_codes


class CliError(Exception):
    code = exit_codes.USAGE

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def as_json(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "message": self.message, "problems": self.problems}


class UsageError(CliError):
    code = exit_codes.USAGE


class Unreachable(CliError):
    code = exit_codes.UNAVAILABLE


class AuthFailed(CliError):
    code = exit_codes.UNAVAILABLE

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ApiRefused(CliError):
    """The API answered with an error body: ``{"error", "message", "problems"}``."""

    def __init__(self, status: int, error: str, message: str, problems: list[str]) -> None:
        super().__init__(message, problems)
        self.status = status
        self.error = error
        self.code = exit_codes.UNAVAILABLE if status >= 500 else exit_codes.USAGE

    def as_json(self) -> dict[str, Any]:
        return {"error": self.error, "status": self.status, "message": self.message, "problems": self.problems}


def problem_text(problem: Any) -> str:
    """One API problem as a line: 422 sends ``{"field", "message"}``, 400 plain strings."""
    if isinstance(problem, dict):
        field, message = problem.get("field"), problem.get("message")
        if field and message:
            return f"{field}: {message}"
        return str(message or field or problem)
    return str(problem)
