"""What ``run`` does when its run stops at a step that needs a person: keep watching, stop, or approve.

``wait``     keep watching until the run ends (a person may decide elsewhere): ``show --follow``,
             ``run --wait``, and ``run`` on a terminal.
``stop``     say what waits and how to decide it, then exit 4: ``run`` with no terminal on stdin, so a
             script or CI job never blocks on a decision nobody there can make.
``approve``  ``run --yes``: approve each approval this run asks for, through the normal API, so the
             decision is recorded as made by the API key's principal.

Approving sends the exact arguments printed with the request (not a hash of them): the server approves
only when they are what the step waits to call, so what was shown is what was approved.
"""

from __future__ import annotations

from typing import Any, Literal

from apps.cli import exit_codes
from apps.cli.client import run_path
from apps.cli.context import Context
from apps.cli.errors import ApiRefused, AuthFailed
from apps.cli.narration import Line
from apps.cli.text import one_line, tool_name

OnApproval = Literal["wait", "stop", "approve"]

ARGUMENTS_WIDTH = 100
LOST_RACE = (409, 410)
"""Someone decided first, or the approval lapsed: the run goes on either way, so watching does too."""


def approve(ctx: Context, run_id: str, approval: dict[str, Any]) -> list[Line]:
    """Approve one of ``run_id``'s own approvals, bound to the arguments it was requested with."""
    body = {"decision": "approve", "approval_id": approval.get("id"), "arguments": approval.get("arguments") or {}}
    tool = tool_name(approval.get("server"), approval.get("tool"))
    try:
        ctx.platform.post(run_path(run_id, "/approvals"), body)
    except ApiRefused as exc:
        if exc.status not in LOST_RACE:
            raise
        return [Line(f"  could not approve {tool} (approval {approval.get('id')}): {exc.message}", notice=True)]
    except AuthFailed as exc:
        how = f"approve it with a key that may: {ctx.cli} approve {run_id}"
        raise AuthFailed(f"{exc.message}. Run {run_id} waits for approval of {tool}; {how}", exc.status) from None
    return []


def stop_waiting(ctx: Context, run_id: str, pending: list[dict[str, Any]]) -> int:
    """Exit 4 with what waits and the exact commands to decide it (``stop``)."""
    out = ctx.out
    if out.json_mode:
        out.emit_json(ctx.platform.get(run_path(run_id)))
    out.note(f"Run {run_id} is waiting for approval. Not waiting for a decision: stdin is not a terminal.")
    out.note("  (--wait keeps watching until the run ends; --yes approves.)")
    several = len(pending) > 1
    for approval in pending:
        tool = tool_name(approval.get("server"), approval.get("tool"))
        arguments = one_line(approval.get("arguments") or {}, ARGUMENTS_WIDTH, out.err_style.ellipsis)
        out.note(f"  step {approval.get('step_id')} waits to call {tool} with {arguments}")
        which = f" --approval-id {approval.get('id')}" if several else ""
        out.note(f"  approve: {ctx.cli} approve {run_id}{which}")
        out.note(f'  reject:  {ctx.cli} approve {run_id}{which} --reject --reason "why"')
    out.note(f"  follow:  {ctx.cli} show {run_id} --follow")
    return exit_codes.AWAITING_APPROVAL
