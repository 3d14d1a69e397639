"""What a person watching a run should read: one event in, the lines to print and the live status out.

``RunNarrator`` folds events the way the server's projection does, but only keeps what the terminal
needs: which steps are running (for the status line), which approvals are pending (to keep waiting
and to say how to approve) and the last sequence number (to resume).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from apps.cli.content import result_lines
from apps.cli.text import (
    Style,
    duration,
    one_line,
    progress_text,
    shorten,
    status_text,
    tool_name,
    until,
    usage_text,
)

RESULT_WIDTH = 80
TURN_WIDTH = 100


@dataclass(frozen=True)
class Line:
    text: str
    notice: bool = False
    """Addressed to a person even when stdout is for machines (``--json``): approval requests."""


@dataclass(frozen=True)
class Status:
    """The live status line: what is happening and since when (or until when, for an approval)."""

    text: str
    since: float | None = None
    expires_at: float | None = None
    paused: bool = False


@dataclass
class RunNarrator:
    run_id: str
    style: Style
    cli: str
    """The command prefix to quote in hints, e.g. ``python -m apps.cli --url http://host:8080``."""
    show_starts: bool = True
    """A line per started step and per progress report: on a terminal the status line shows them instead."""
    approving: bool = False
    """``run --yes``: requests say they are being approved instead of how to approve them."""
    last_seq: int = 0
    started_at: float | None = None
    running: dict[str, tuple[str, float]] = field(default_factory=dict)
    progress: dict[str, str] = field(default_factory=dict)
    """A running step's last progress report, as the status line shows it."""
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    finished: str | None = None
    reasoner: str = "model"

    @property
    def awaiting_approval(self) -> bool:
        return bool(self.pending) and self.finished is None

    def apply(self, event: dict[str, Any]) -> list[Line]:
        self.last_seq = max(self.last_seq, int(event.get("seq", 0)))
        kind = str(event.get("type"))
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        at = float(event.get("at") or time.time())
        handler = getattr(self, f"_on_{kind}", None)
        return list(handler(data, at)) if handler is not None else []

    def status(self) -> Status:
        if self.pending:
            approval = next(iter(self.pending.values()))
            tool = tool_name(approval.get("server"), approval.get("tool"))
            if self.approving:
                return Status(f"approving {tool} (--yes)")
            return Status(
                f"waiting for approval of {tool} ({self.cli} approve {self.run_id})",
                expires_at=float(approval.get("expires_at") or 0) or None,
                paused=True,
            )
        if self.running:
            since = min(started for _, started in self.running.values())
            steps = [
                f"{step_id}: {tool}" + (f" ({self.progress[step_id]})" if step_id in self.progress else "")
                for step_id, (tool, _) in self.running.items()
            ]
            if len(steps) == 1:
                return Status(f"running {steps[0]}", since=since)
            return Status(f"running {len(steps)} steps: {', '.join(steps)}", since=since)
        if self.started_at is None:
            return Status("waiting for the run to start")
        return Status("working", since=self.started_at)

    def _on_run_started(self, data: dict[str, Any], at: float) -> list[Line]:
        self.started_at = at
        self.reasoner = str(data.get("reasoner") or self.reasoner)
        model = data.get("model")
        reasoner = f"{data.get('reasoner')}" + (f" ({model})" if model else "")
        dot = self.style.dot
        facts = f"{data.get('kind')}{dot}reasoner {reasoner}"
        return [Line(f"{self._mark('start', 'dim')} run {self.run_id} started{dot}{facts}")]

    def _on_model_turn(self, data: dict[str, Any], at: float) -> list[Line]:
        text = str(data.get("text") or "").strip()
        first = text.splitlines()[0] if text else "(no text)"
        calls = data.get("tool_calls") or []
        extras = []
        if calls:
            extras.append(f"{len(calls)} tool call{'s' if len(calls) != 1 else ''}")
        usage = data.get("usage") or {}
        if usage.get("input_tokens") or usage.get("output_tokens"):
            extras.append(f"tokens {usage_text(usage)}")
        suffix = f" ({', '.join(extras)})" if extras else ""
        model = data.get("model") or self.reasoner
        head = f"{self._mark('turn', 'dim')} turn {data.get('index', '?')} [{model}]: "
        return [Line(head + shorten(first, TURN_WIDTH, self.style.ellipsis) + suffix)]

    def _on_step_started(self, data: dict[str, Any], at: float) -> list[Line]:
        step_id = str(data.get("step_id"))
        tool = tool_name(data.get("server"), data.get("tool"))
        self.running[step_id] = (tool, at)
        self.progress.pop(step_id, None)  # an attempt starts from nothing
        if not self.show_starts:
            return []
        attempt = int(data.get("attempt") or 1)
        again = f" (attempt {attempt})" if attempt > 1 else ""
        arguments = one_line(data.get("arguments") or {}, RESULT_WIDTH, self.style.ellipsis)
        return [Line(f"{self._mark('start', 'dim')} {step_id}  {tool}  started{again}  {arguments}")]

    def _on_step_finished(self, data: dict[str, Any], at: float) -> list[Line]:
        step_id = str(data.get("step_id"))
        started = self.running.pop(step_id, None)
        tool = started[0] if started else tool_name(data.get("server"), data.get("tool"))
        status = str(data.get("status"))
        error = shorten(str(data.get("error") or ""), 160, self.style.ellipsis)
        attempt = int(data.get("attempt") or 1)
        again = f" (attempt {attempt})" if attempt > 1 else ""
        took = duration(data.get("duration_ms"))
        if status == "succeeded":
            result, blocks = result_lines(data.get("result"), RESULT_WIDTH, self.style.ellipsis)
            line = Line(f"{self._mark('ok', 'green')} {step_id}  {tool}  {took}{again}  {result}".rstrip())
            return [line, *(Line(f"    {block}") for block in blocks)]
        if status == "skipped":
            return [Line(f"{self._mark('skip', 'dim')} {step_id}  skipped: {error}")]
        label = status_text(status, self.style)
        detail = f"  {took}" if data.get("duration_ms") is not None else ""
        return [Line(f"{self._mark('fail', 'red')} {step_id}  {tool}  {label}{detail}{again}: {error}")]

    def _on_step_progress(self, data: dict[str, Any], at: float) -> list[Line]:
        step_id = str(data.get("step_id"))
        if step_id not in self.running:
            return []
        tool, _ = self.running[step_id]
        self.progress[step_id] = progress_text(data, self.style)
        if not self.show_starts:
            return []  # a terminal's status line shows it, instead of a line per report
        return [Line(f"{self._mark('turn', 'dim')} {step_id}  {tool}  progress {self.progress[step_id]}")]

    def _on_approval_requested(self, data: dict[str, Any], at: float) -> list[Line]:
        approval_id = str(data.get("id"))
        self.pending[approval_id] = data
        tool = tool_name(data.get("server"), data.get("tool"))
        arguments = json.dumps(data.get("arguments") or {}, indent=2, ensure_ascii=False, sort_keys=True)
        expires = float(data.get("expires_at") or 0)
        if self.approving:
            how = ["  approving it with these arguments (--yes)"]
        else:
            how = [
                f"  approve: {self.cli} approve {self.run_id}",
                f'  reject:  {self.cli} approve {self.run_id} --reject --reason "why"',
            ]
        lines = [
            f"{self._mark('pause', 'yellow')} step {data.get('step_id')} needs approval to call {tool} with:",
            *(f"    {line}" for line in arguments.splitlines()),
            f"  approval {approval_id}, expires in {until(expires)}",
            *how,
        ]
        return [Line(line, notice=True) for line in lines]

    def _on_approval_decided(self, data: dict[str, Any], at: float) -> list[Line]:
        approval_id = str(data.get("approval_id"))
        approval = self.pending.pop(approval_id, {})
        tool = tool_name(approval.get("server"), approval.get("tool"))
        decision = str(data.get("decision"))
        by = data.get("decided_by")
        reason = f": {data['reason']}" if data.get("reason") else ""
        if decision == "approved":
            return [Line(f"{self._mark('ok', 'green')} {tool} approved by {by}", notice=True)]
        if decision == "expired":
            return [Line(f"{self._mark('fail', 'red')} approval of {tool} expired; it will not run", notice=True)]
        return [Line(f"{self._mark('fail', 'red')} {tool} {decision} by {by}{reason}", notice=True)]

    def _on_cancel_requested(self, data: dict[str, Any], at: float) -> list[Line]:
        return [Line(f"{self._mark('info', 'yellow')} cancellation requested by {data.get('by')}")]

    def _on_run_finished(self, data: dict[str, Any], at: float) -> list[Line]:
        self.finished = str(data.get("status"))
        self.running.clear()
        self.pending.clear()
        return []

    def _mark(self, name: str, color: str) -> str:
        return self.style.paint(self.style.symbol(name), color)
