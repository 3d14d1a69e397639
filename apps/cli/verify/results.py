"""What ``verify`` finds: one ``CheckResult`` per check, gathered into a ``Report`` that decides the exit code."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from apps.cli import exit_codes

Outcome = Literal["pass", "warn", "fail", "skip"]


class CheckResult(BaseModel):
    """One check's verdict, in words a person can act on."""

    model_config = ConfigDict(frozen=True)

    check: str
    """What was checked, e.g. ``dashboard``, ``mcp server custom``, ``tool call aws``, ``cluster nodepool``."""
    outcome: Outcome
    detail: str
    """What was seen: the answer, the error, the figure."""
    remedy: str | None = None
    """What to do about a warning or a failure."""
    server: str | None = None
    """The MCP server the check is about, so scripts can name it without parsing ``check``."""


def passed(check: str, detail: str, *, server: str | None = None) -> CheckResult:
    return CheckResult(check=check, outcome="pass", detail=detail, server=server)


def warned(check: str, detail: str, remedy: str, *, server: str | None = None) -> CheckResult:
    return CheckResult(check=check, outcome="warn", detail=detail, remedy=remedy, server=server)


def failed(check: str, detail: str, remedy: str, *, server: str | None = None) -> CheckResult:
    return CheckResult(check=check, outcome="fail", detail=detail, remedy=remedy, server=server)


def skipped(check: str, detail: str, *, server: str | None = None) -> CheckResult:
    return CheckResult(check=check, outcome="skip", detail=detail, server=server)


class Summary(BaseModel):
    passed: int = Field(serialization_alias="pass")
    warnings: int = Field(serialization_alias="warn")
    failures: int = Field(serialization_alias="fail")
    skipped: int = Field(serialization_alias="skip")


class Report(BaseModel):
    """Every check in the order it ran, and whether the platform counts as verified."""

    url: str
    strict: bool
    checks: list[CheckResult]
    unreachable: bool = False
    """The API could not be reached or refused the key, so the checks behind it could not run."""

    @property
    def summary(self) -> Summary:
        def count(outcome: Outcome) -> int:
            return sum(1 for check in self.checks if check.outcome == outcome)

        return Summary(passed=count("pass"), warnings=count("warn"), failures=count("fail"), skipped=count("skip"))

    @property
    def ok(self) -> bool:
        """Nothing failed; with ``strict``, nothing warned either."""
        summary = self.summary
        return summary.failures == 0 and not (self.strict and summary.warnings)

    def exit_code(self) -> int:
        if self.unreachable:
            return exit_codes.UNAVAILABLE
        return exit_codes.OK if self.ok else exit_codes.RUN_FAILED

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "strict": self.strict,
            "url": self.url,
            "summary": self.summary.model_dump(by_alias=True),
            "checks": [check.model_dump() for check in self.checks],
        }
