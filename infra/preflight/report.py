"""The report as people read it (the default) and as machines do (`--json`)."""

from __future__ import annotations

from infra.preflight.findings import Report, Status

__all__ = ["render_json", "render_text"]

_LABEL = {Status.PASS: "PASS", Status.WARN: "WARN", Status.FAIL: "FAIL"}


def render_text(report: Report) -> str:
    where = ", ".join(
        part
        for part in (
            f"region {report.region}" if report.region else "",
            f"account {report.account}" if report.account else "",
        )
        if part
    )
    lines = [f"Preflight for stack {report.stack!r} ({report.config_file})" + (f": {where}" if where else ""), ""]
    width = max((len(finding.name) for finding in report.findings), default=0)
    for finding in report.findings:
        lines.append(f"{_LABEL[finding.status]}  {finding.name.ljust(width)}  {finding.found}")
        if finding.fix and finding.status is not Status.PASS:
            lines.append(f"      {' ' * width}  fix: {finding.fix}")
    failed, warned, passed = (report.count(s) for s in (Status.FAIL, Status.WARN, Status.PASS))
    verdict = "`pulumi up` would fail: fix the FAIL lines first." if failed else "ready for `pulumi up`."
    lines += ["", f"{failed} failed, {warned} warnings, {passed} passed: {verdict}"]
    return "\n".join(lines)


def render_json(report: Report) -> str:
    return report.model_dump_json(indent=2)
