"""What a preflight check reports: one typed finding per check, gathered into a report.

These models are the `--json` output's schema; the human-readable text is rendered from them (report.py).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

__all__ = ["Finding", "Report", "Status", "guarded"]


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    # `pulumi up` would still work, but something deserves attention (cost, a value that could not be confirmed).
    WARN = "warn"
    # `pulumi up` (or the platform it deploys) would fail.
    FAIL = "fail"


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    """A stable identifier, e.g. `docker-buildx` or `quota-elastic-ips`."""
    status: Status
    found: str
    """What the check saw, in a sentence."""
    fix: str | None = None
    """For warn and fail: the exact command or action that resolves it."""

    @classmethod
    def passed(cls, name: str, found: str) -> Finding:
        return cls(name=name, status=Status.PASS, found=found)

    @classmethod
    def warned(cls, name: str, found: str, fix: str) -> Finding:
        return cls(name=name, status=Status.WARN, found=found, fix=fix)

    @classmethod
    def failed(cls, name: str, found: str, fix: str) -> Finding:
        return cls(name=name, status=Status.FAIL, found=found, fix=fix)


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    stack: str
    config_file: str
    region: str | None
    account: str | None
    findings: tuple[Finding, ...]

    def count(self, status: Status) -> int:
        return sum(1 for finding in self.findings if finding.status is status)

    @property
    def ok(self) -> bool:
        """True when nothing would fail (warnings allowed)."""
        return self.count(Status.FAIL) == 0


def guarded(name: str, check: Callable[[], Finding], fix: str) -> Finding:
    """Run one check; an unexpected error becomes a failure naming it, never a traceback."""
    try:
        return check()
    except Exception as exc:  # any error of one check must not hide the others' findings
        return Finding.failed(name, f"the check itself failed: {describe_error(exc)}", fix)


def describe_error(exc: BaseException) -> str:
    """`Code: message` for AWS errors (botocore's ClientError), `Type: message` for the rest."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code, message = error.get("Code"), error.get("Message")
        if code:
            return f"{code}: {message}" if message else str(code)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
