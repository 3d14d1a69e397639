"""``approve`` (or reject) a step waiting for a person, and ``cancel`` a run: the commands that change a run."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from apps.cli import exit_codes
from apps.cli.client import run_path
from apps.cli.context import Context
from apps.cli.errors import UsageError
from apps.cli.text import status_text, tool_name, until

TERMINAL = ("succeeded", "failed", "cancelled", "needs_attention")
CANCEL_WAIT_SECONDS = 5.0
"""A run on this replica stops at once; one elsewhere stops at its next step, which may take longer."""
CANCEL_POLL_SECONDS = 0.1


def add_parsers(subparsers: Any, common: list[argparse.ArgumentParser], **kwargs: Any) -> None:
    approve = subparsers.add_parser(
        "approve",
        parents=common,
        help="approve (or --reject) the step a run is waiting on",
        description=(
            "Show the tool and exact arguments a run is waiting to call, ask for confirmation (unless --yes), "
            "then approve or reject it. The approval is bound to those arguments: if they are not what the "
            "run is waiting on, nothing is approved."
        ),
        **kwargs,
    )
    approve.add_argument("run_id", metavar="ID", help="the run's id")
    approve.add_argument("--reject", action="store_true", help="reject instead of approving: the step will not run")
    approve.add_argument("--reason", metavar="TEXT", help="why (recorded with the decision)")
    approve.add_argument("--approval-id", metavar="A", help="which approval, when several are pending")
    approve.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    approve.set_defaults(handler=approve_command)

    cancel = subparsers.add_parser("cancel", parents=common, help="cancel a run", **kwargs)
    cancel.add_argument("run_id", metavar="ID", help="the run's id")
    cancel.set_defaults(handler=cancel_command)


def pending_approval(view: dict[str, Any], approval_id: str | None) -> dict[str, Any]:
    """The one approval to decide, or a ``UsageError`` saying why there is none to pick."""
    pending: list[dict[str, Any]] = [a for a in view.get("approvals") or [] if a.get("status") == "pending"]
    if approval_id is not None:
        chosen = [a for a in pending if a.get("id") == approval_id]
        if not chosen:
            known = ", ".join(str(a.get("id")) for a in pending) or "none"
            raise UsageError(f"run {view.get('id')} has no pending approval {approval_id} (pending: {known})")
        return chosen[0]
    if not pending:
        raise UsageError(f"run {view.get('id')} has no pending approval (it is {view.get('status')})")
    if len(pending) > 1:
        listed = [f"{a.get('id')}: {tool_name(a.get('server'), a.get('tool'))}" for a in pending]
        raise UsageError("several approvals are pending; choose one with --approval-id", listed)
    return pending[0]


def _confirm(ctx: Context, question: str) -> bool:
    ctx.out.stderr.write(f"{question} [y/N] ")
    ctx.out.stderr.flush()
    answer = ctx.out.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def approve_command(ctx: Context, args: argparse.Namespace) -> int:
    view: dict[str, Any] = ctx.platform.get(run_path(args.run_id))
    approval = pending_approval(view, args.approval_id)
    tool = tool_name(approval.get("server"), approval.get("tool"))
    verb = "reject" if args.reject else "approve"
    arguments = json.dumps(approval.get("arguments") or {}, indent=2, ensure_ascii=False, sort_keys=True)
    # The person reads exactly what they decide on; with --json this goes to stderr, stdout stays JSON.
    show = ctx.out.note if ctx.out.json_mode else ctx.out.say
    show(f"Run {view['id']} waits to call {tool} (step {approval.get('step_id')}) with:")
    for line in arguments.splitlines():
        show(f"    {line}")
    show(f"Approval {approval.get('id')} expires in {until(float(approval.get('expires_at') or 0))}.")
    if not args.yes:
        if not ctx.out.stdin_is_tty:
            raise UsageError(f"not asking for confirmation: stdin is not a terminal; add --yes to {verb} this call")
        if not _confirm(ctx, f"{verb.capitalize()} {tool} with these arguments?"):
            ctx.out.note(f"Nothing was decided; run {view['id']} is still waiting.")
            return exit_codes.AWAITING_APPROVAL
    body: dict[str, Any] = {
        "decision": verb,
        "approval_id": approval.get("id"),
        "arguments_hash": approval.get("arguments_hash"),
    }
    if args.reason:
        body["reason"] = args.reason
    after: dict[str, Any] = ctx.platform.post(run_path(args.run_id, "/approvals"), body)
    if ctx.out.json_mode:
        ctx.out.emit_json(after)
        return exit_codes.OK
    style = ctx.out.style
    mark = style.paint(style.symbol("fail" if args.reject else "ok"), "red" if args.reject else "green")
    if args.reject:
        ctx.out.say(f"{mark} Rejected {tool} (approval {approval.get('id')}): it will not run.")
    else:
        ctx.out.say(f"{mark} Approved {tool} (approval {approval.get('id')}); run {after['id']} goes on.")
    ctx.out.note(f"follow it with: {ctx.cli} show {after['id']} --follow")
    return exit_codes.OK


def cancel_command(ctx: Context, args: argparse.Namespace) -> int:
    accepted: dict[str, Any] = ctx.platform.post(run_path(args.run_id, "/cancel"))
    run_id = str(accepted["id"])
    view: dict[str, Any] = {"id": run_id, "status": accepted.get("status")}
    deadline = time.monotonic() + CANCEL_WAIT_SECONDS
    while view.get("status") not in TERMINAL and time.monotonic() < deadline:
        time.sleep(CANCEL_POLL_SECONDS)
        view = ctx.platform.get(run_path(run_id))
    if ctx.out.json_mode:
        ctx.out.emit_json(view)
        return exit_codes.OK
    status = str(view.get("status"))
    if status in TERMINAL:
        ctx.out.say(f"Run {run_id} is {status_text(status, ctx.out.style)}.")
    else:
        ctx.out.say(f"Cancellation requested; run {run_id} is still {status} and stops at its next step.")
        ctx.out.note(f"follow it with: {ctx.cli} show {run_id} --follow")
    return exit_codes.OK
