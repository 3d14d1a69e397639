"""Watching a run live until it ends, a person must approve something and stops us, or Ctrl-C.

Shared by ``run`` and ``show --follow``. The exit code is the run's outcome (``exit_codes``). What
happens while a step waits for approval is the caller's choice (``waiting.OnApproval``): keep waiting —
the approval may come from another terminal or the dashboard — until the run ends, the approval lapses
with no decision recorded, or Ctrl-C; stop at once with exit 4; or approve it (``run --yes``).
"""

from __future__ import annotations

import time
from typing import Any

from apps.cli import exit_codes
from apps.cli.client import run_path
from apps.cli.context import Context
from apps.cli.narration import Line, RunNarrator
from apps.cli.progress import make_progress
from apps.cli.stream import follow_events
from apps.cli.views import outcome_lines
from apps.cli.waiting import OnApproval, approve, stop_waiting

EXPIRY_GRACE_SECONDS = 30.0
"""The server records an expiry itself within a second; this much later, nobody is recording it."""


class _ApprovalLapsed(Exception):
    pass


def follow_run(ctx: Context, run_id: str, on_approval: OnApproval = "wait") -> int:
    out = ctx.out
    approving = on_approval == "approve"
    narrator = RunNarrator(run_id, out.style, ctx.cli, show_starts=not out.is_tty, approving=approving)
    progress = make_progress(out)
    asked: set[str] = set()  # approvals already decided here: once each, whatever a reconnect repeats

    def check_expiry() -> None:
        if narrator.awaiting_approval and all(
            float(approval.get("expires_at") or 0) + EXPIRY_GRACE_SECONDS < time.time()
            for approval in narrator.pending.values()
        ):
            raise _ApprovalLapsed

    def reconnecting(after: int, reason: str) -> None:
        # Through the display, so a terminal's status line is cleared first and redrawn after.
        progress.show([Line(f"{reason}; reconnecting after event {after}", notice=True)], narrator.status())

    try:
        for event in follow_events(ctx.platform, run_id, on_line=check_expiry, on_reconnect=reconnecting):
            lines = narrator.apply(event)
            progress.show(lines, narrator.status())
            if not narrator.awaiting_approval:
                continue
            if on_approval == "stop":
                progress.close()
                return stop_waiting(ctx, run_id, list(narrator.pending.values()))
            if approving:
                for approval_id, approval in list(narrator.pending.items()):
                    if approval_id not in asked:
                        asked.add(approval_id)
                        progress.show(approve(ctx, run_id, approval), narrator.status())
    except KeyboardInterrupt:
        progress.close()
        return _stopped(ctx, run_id, narrator.awaiting_approval, "Stopped watching")
    except _ApprovalLapsed:
        progress.close()
        out.note("The approval passed its expiry and no decision was recorded.")
        if out.json_mode:
            out.emit_json(ctx.platform.get(run_path(run_id)))
        return _stopped(ctx, run_id, True, "Stopped waiting")
    finally:
        progress.close()
    view: dict[str, Any] = ctx.platform.get(run_path(run_id))
    if out.json_mode:
        out.emit_json(view)
    else:
        for text in outcome_lines(view, out.style):
            out.say(text)
    return exit_codes.for_run_status(str(view.get("status")))


def _stopped(ctx: Context, run_id: str, awaiting: bool, what: str) -> int:
    waiting = " and is waiting for approval" if awaiting else ""
    ctx.out.note(f"{what}. Run {run_id} continues on the server{waiting}.")
    if awaiting:
        ctx.out.note(f"  approve it: {ctx.cli} approve {run_id}")
    ctx.out.note(f"  follow it:  {ctx.cli} show {run_id} --follow")
    return exit_codes.AWAITING_APPROVAL if awaiting else exit_codes.INTERRUPTED
