"""``verify``'s output: one line per check for people, one JSON document for machines (``--json``)."""

from __future__ import annotations

from apps.cli.output import Output
from apps.cli.verify.results import CheckResult, Report

CHECK_WIDTH = 28
_COLORS = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}


def check_line(result: CheckResult, out: Output) -> str:
    """``PASS  dashboard  GET / answered HTML…``; warnings and failures end with ``→ what to do``."""
    word = out.style.paint(result.outcome.upper(), _COLORS[result.outcome])
    remedy = f"  → {result.remedy}" if result.remedy and result.outcome in ("warn", "fail") else ""
    if remedy and not out.style.unicode:
        remedy = remedy.replace("→", "->")
    return f"{word}  {result.check.ljust(CHECK_WIDTH)} {result.detail}{remedy}"


def summary_line(report: Report, out: Output) -> str:
    summary = report.summary
    counts = (
        f"{summary.passed} passed, {summary.warnings} warnings, {summary.failures} failed, {summary.skipped} skipped"
    )
    if report.ok:
        verdict = out.style.paint("verified", "green")
        return f"{verdict}: {report.url} ({counts})"
    strict = " (--strict: warnings count as failures)" if report.strict and summary.warnings else ""
    return f"{out.style.paint('NOT verified', 'red')}: {report.url} ({counts}){strict}"


def print_report(report: Report, out: Output, *, lines_printed: bool) -> None:
    """The JSON document, or the summary after the lines printed as checks ran (or all lines, if none were)."""
    if out.json_mode:
        out.emit_json(report.as_json())
        return
    if not lines_printed:
        for result in report.checks:
            out.say(check_line(result, out))
    out.say(summary_line(report, out))
