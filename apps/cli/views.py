"""A run view (``GET /api/runs/{id}``) as text: the full detail for ``show``, the summary after a run."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from apps.cli.content import result_lines
from apps.cli.text import Style, age, duration, shorten, status_text, tool_name, until, usage_text

STEP_MARKS = {
    "succeeded": ("ok", "green"),
    "failed": ("fail", "red"),
    "rejected": ("fail", "red"),
    "cancelled": ("fail", "yellow"),
    "skipped": ("skip", "dim"),
    "awaiting_approval": ("pause", "yellow"),
    "running": ("start", "cyan"),
}
RUN_MARKS = {
    "succeeded": ("ok", "green"),
    "failed": ("fail", "red"),
    "needs_attention": ("fail", "red"),
    "cancelled": ("fail", "yellow"),
    "awaiting_approval": ("pause", "yellow"),
}


def _mark(status: str, style: Style, marks: dict[str, tuple[str, str]]) -> str:
    name, color = marks.get(status, ("info", "cyan"))
    return style.paint(style.symbol(name), color)


def _indented(text: str, prefix: str = "  ") -> list[str]:
    return [prefix + line for line in text.splitlines()] or [prefix]


def step_lines(view: dict[str, Any], style: Style) -> list[str]:
    steps = view.get("steps") or []
    if not steps:
        return []
    width = max(len(str(step.get("id"))) for step in steps)
    tool_width = max(len(tool_name(step.get("server"), step.get("tool"))) for step in steps)
    lines = ["Steps:"]
    for step in steps:
        status = str(step.get("status"))
        tool = tool_name(step.get("server"), step.get("tool"))
        headline, blocks = result_lines(step.get("result"), 100, style.ellipsis)
        detail = step.get("error") or shorten(headline, 70, style.ellipsis)
        attempt = f" (attempt {step['attempt']})" if (step.get("attempt") or 1) > 1 else ""
        lines.append(
            f"  {_mark(status, style, STEP_MARKS)} {str(step.get('id')).ljust(width)}  {tool.ljust(tool_width)}  "
            f"{status_text(status, style)}  {duration(step.get('duration_ms'))}{attempt}  "
            f"{shorten(str(detail or ''), 100, style.ellipsis)}".rstrip()
        )
        lines += [f"      {block}" for block in blocks]
    return lines


def approval_lines(view: dict[str, Any], style: Style, cli: str) -> list[str]:
    approvals = view.get("approvals") or []
    if not approvals:
        return []
    lines = ["Approvals:"]
    for approval in approvals:
        status = str(approval.get("status"))
        tool = tool_name(approval.get("server"), approval.get("tool"))
        if status == "pending":
            when = f"expires in {until(float(approval.get('expires_at') or 0))}"
        else:
            by = f" by {approval['decided_by']}" if approval.get("decided_by") else ""
            reason = f": {approval['reason']}" if approval.get("reason") else ""
            when = f"{by}{reason}".strip()
        lines.append(f"  {approval.get('id')}  {tool}  {status_text(status, style)}  {when}".rstrip())
        lines.append(
            f"    arguments: {json.dumps(approval.get('arguments') or {}, ensure_ascii=False, sort_keys=True)}"
        )
    if any(approval.get("status") == "pending" for approval in approvals):
        lines.append(f"  approve with: {cli} approve {view.get('id')}")
    return lines


def turn_lines(view: dict[str, Any], style: Style) -> list[str]:
    turns = view.get("turns") or []
    if not turns:
        return []
    lines = [f"Model turns ({len(turns)}):"]
    for turn in turns:
        text = str(turn.get("text") or "").strip()
        first = text.splitlines()[0] if text else "(no text)"
        calls = len(turn.get("tool_calls") or [])
        extra = f" ({calls} tool call{'s' if calls != 1 else ''})" if calls else ""
        lines.append(f"  {turn.get('index')}. {shorten(first, 100, style.ellipsis)}{extra}")
    return lines


def outcome_lines(view: dict[str, Any], style: Style) -> list[str]:
    """The end of a run: final answer, error, tokens and status with its duration."""
    lines: list[str] = []
    if view.get("final_answer"):
        lines += ["Final answer:", *_indented(str(view["final_answer"]))]
    if view.get("error"):
        lines.append(f"{style.paint('Error:', 'red')} {view['error']}")
    lines.append(f"Tokens: {usage_text(view.get('usage'))}")
    status = str(view.get("status"))
    took = f" in {duration(view['duration_ms'])}" if view.get("duration_ms") is not None else ""
    lines.append(f"{_mark(status, style, RUN_MARKS)} {status_text(status, style)}{took}{style.dot}run {view.get('id')}")
    return lines


ALERT_SUBJECTS = ("pod", "deployment", "service", "node", "namespace")
"""The alert detail that names what it is about, most specific first: "alert KubePodCrashLooping on web-1"."""


def trigger_text(trigger: dict[str, Any] | None) -> str:
    """What started a run, in a few words: "api", "schedule nightly (tick …)", "alert X on pod (rule r)"."""
    trigger = trigger or {}
    kind = str(trigger.get("kind") or "api")
    detail: dict[str, Any] = trigger.get("detail") or {}
    if kind == "schedule":
        tick = f" (tick {detail['tick']})" if detail.get("tick") else ""
        return f"schedule {trigger.get('name') or trigger.get('id')}{tick}"
    if kind == "alert":
        subject = next((str(detail[key]) for key in ALERT_SUBJECTS if detail.get(key)), None)
        on = f" on {subject}" if subject else ""
        rule = f" (rule {trigger['id']})" if trigger.get("id") else ""
        return f"alert {trigger.get('name') or trigger.get('id')}{on}{rule}"
    return kind


def run_detail(view: dict[str, Any], style: Style, cli: str, now: float | None = None) -> list[str]:
    """Everything ``show`` prints about one run."""
    now = time.time() if now is None else now
    model = f" ({view['model']})" if view.get("model") else ""
    header = [
        f"Run {view.get('id')}{style.dot}{view.get('kind')}{style.dot}{status_text(str(view.get('status')), style)}",
        f"  title:    {shorten(str(view.get('title') or ''), 200, style.ellipsis)}",
        f"  created:  {age(view.get('created_at'), now)} ago by {view.get('owner')}",
        f"  trigger:  {trigger_text(view.get('trigger'))}",
        f"  reasoner: {view.get('reasoner')}{model}",
    ]
    sections = [step_lines(view, style), approval_lines(view, style, cli), turn_lines(view, style)]
    lines = header
    for section in sections:
        if section:
            lines += ["", *section]
    return [*lines, "", *outcome_lines(view, style)]


def schedule_when(schedule: dict[str, Any]) -> str:
    """``0 6 * * 1-5 Europe/Paris`` or ``@every 5m``."""
    if schedule.get("cron"):
        return f"{schedule['cron']} {schedule.get('timezone') or 'UTC'}"
    return str(schedule.get("every") or "-")


def target_text(target: dict[str, Any], style: Style) -> str:
    """What a schedule or rule runs: ``template cluster_health``, ``workflow report``, ``task: look at …``."""
    if target.get("template"):
        return f"template {target['template']}"
    workflow = target.get("workflow")
    if workflow is not None:
        name = workflow.get("name") if isinstance(workflow, dict) else None
        return f"workflow {name}" if name else "workflow"
    if target.get("task"):
        return f"task: {shorten(str(target['task']), 40, style.ellipsis)}"
    return "-"


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return dt.datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


def next_tick_text(schedule: dict[str, Any], now: float | None = None) -> str:
    if not schedule.get("enabled", True):
        return "paused"
    at = _epoch(schedule.get("next_tick"))
    if at is None:
        return "-"
    left = until(at, now)
    return "due now" if left == "expired" else f"in {left}"


def last_run_text(last: dict[str, Any] | None, style: Style) -> str:
    """``succeeded · run 3f2a…`` (the id whole: it is what ``show`` takes)."""
    if not last:
        return "never"
    return f"{status_text(str(last.get('status')), style)}{style.dot}run {last.get('run_id')}"


def schedule_detail(schedule: dict[str, Any], style: Style, cli: str, now: float | None = None) -> list[str]:
    """Everything ``schedules show`` prints about one schedule."""
    state = "enabled" if schedule.get("enabled", True) else "paused"
    inputs = schedule.get("inputs") or {}
    last = schedule.get("last_run")
    lines = [
        f"Schedule {schedule.get('id')}{style.dot}{schedule.get('name')}{style.dot}{state}",
        f"  when:      {schedule_when(schedule)} (missed ticks: {schedule.get('catch_up') or 'latest'})",
        f"  runs:      {target_text(schedule, style)}",
    ]
    if inputs:
        lines.append(f"  inputs:    {json.dumps(inputs, ensure_ascii=False, sort_keys=True)}")
    lines += [
        f"  next tick: {next_tick_text(schedule, now)}"
        + (f" ({schedule['next_tick']})" if schedule.get("next_tick") else ""),
        f"  last run:  {last_run_text(last, style)}" + (f" (tick {last['tick']})" if last and last.get("tick") else ""),
        f"  notify:    {', '.join(schedule.get('notify') or []) or '-'}",
        f"  created:   {schedule.get('created_at')} by {schedule.get('created_by')}",
    ]
    if last:
        lines.append(f"  see the last run with: {cli} show {last.get('run_id')}")
    return lines


def rule_match_text(match: dict[str, Any]) -> str:
    """``alertname=KubePodCrashLooping namespace=~prod-.*``."""
    equal = [f"{name}={value}" for name, value in (match.get("labels") or {}).items()]
    regex = [f"{name}=~{value}" for name, value in (match.get("labels_regex") or {}).items()]
    return " ".join(equal + regex) or "(every alert)"


def rule_limits_text(rule: dict[str, Any]) -> str:
    """``cool-down 15m, 5 runs per 1h``."""
    parts = []
    if rule.get("cooldown_seconds"):
        parts.append(f"cool-down {duration(float(rule['cooldown_seconds']) * 1000)}")
    limit = rule.get("rate_limit") or {}
    if limit.get("runs"):
        parts.append(f"{limit['runs']} runs per {duration(float(limit.get('per_seconds') or 0) * 1000)}")
    return ", ".join(parts) or "-"
