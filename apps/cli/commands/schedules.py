"""``schedules``: list, add, show, pause, resume, run now and delete the schedules that start runs on their own.

A schedule is the platform's (``/api/schedules``); the command line only says what to change. Pausing and resuming
are a PATCH of ``enabled``, so a schedule's other fields stay as the platform has them.
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any
from urllib.parse import quote

from apps.cli import exit_codes
from apps.cli.commands.run import load_workflow, parse_inputs
from apps.cli.context import Context
from apps.cli.errors import UsageError
from apps.cli.views import last_run_text, next_tick_text, schedule_detail, schedule_when, target_text

EVERY = re.compile(r"^(?:@every\s+)?(\d+)(s|m|h)$")


def schedule_path(schedule_id: str, suffix: str = "") -> str:
    """``/api/schedules/<id><suffix>``; the id is quoted, so whatever was typed cannot reach another route."""
    return f"/api/schedules/{quote(schedule_id, safe='')}{suffix}"


def _every(text: str) -> str:
    """``5m`` or ``@every 5m`` → ``@every 5m``; the platform judges the minimum (5 s)."""
    found = EVERY.match(text.strip())
    if not found:
        raise argparse.ArgumentTypeError(f"not a duration like 30s, 5m or 1h: {text!r}")
    return f"@every {found[1]}{found[2]}"


def add_parsers(subparsers: Any, common: list[argparse.ArgumentParser], **kwargs: Any) -> None:
    schedules = subparsers.add_parser(
        "schedules",
        parents=common,
        help="schedules that start runs by themselves: list, add, pause, resume, run now, delete",
        description=(
            "Without an action: every schedule with when it runs, what it runs, its next tick and its last run. "
            "Changing one needs a key with the operator role. With --json: the API's answer."
        ),
        **kwargs,
    )
    schedules.set_defaults(handler=list_command)
    actions = schedules.add_subparsers(dest="action", metavar="ACTION")

    add = actions.add_parser(
        "add",
        parents=common,
        help="create a schedule",
        description=(
            "Create a schedule: when (a 5-field cron expression in a time zone, or every so often) and what "
            "(a template with inputs, a workflow file, or a task)."
        ),
        **kwargs,
    )
    add.add_argument("name", metavar="NAME", help="what people will call it (1-100 characters)")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", metavar="EXPR", help="5 fields: minute hour day-of-month month day-of-week")
    when.add_argument("--every", type=_every, metavar="DURATION", help="30s, 5m, 1h… (at least 5 s)")
    add.add_argument("--tz", metavar="ZONE", help="the cron expression's IANA time zone (default UTC)")
    what = add.add_mutually_exclusive_group(required=True)
    what.add_argument("--template", "-t", metavar="ID", help="a built-in workflow template (see 'templates')")
    what.add_argument("--task", metavar="TEXT", help="a task in plain words")
    what.add_argument("--workflow", "-w", metavar="FILE", help="a workflow document, JSON or YAML")
    add.add_argument(
        "--input",
        "-i",
        dest="inputs",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a workflow input; repeatable (VALUE is JSON when it parses, else text)",
    )
    add.add_argument(
        "--catch-up",
        choices=("latest", "skip"),
        default="latest",
        help="ticks missed while no replica ran: run the latest one (default) or skip them",
    )
    add.add_argument("--notify", action="append", default=[], metavar="SINK", help="a notification sink; repeatable")
    add.add_argument("--paused", action="store_true", help="create it paused (resume it later)")
    add.set_defaults(handler=add_command)

    for verb, help_text, handler in (
        ("show", "one schedule in full", show_command),
        ("pause", "stop starting runs until resumed", pause_command),
        ("resume", "start runs again from the next tick", resume_command),
        ("run", "start one run now (prints its id)", run_now_command),
        ("delete", "delete the schedule (its runs stay)", delete_command),
    ):
        action = actions.add_parser(verb, parents=common, help=help_text, **kwargs)
        action.add_argument("schedule_id", metavar="ID", help="the schedule's id")
        action.set_defaults(handler=handler)


def list_command(ctx: Context, _: argparse.Namespace) -> int:
    listed: dict[str, Any] = ctx.platform.get("/api/schedules")
    if ctx.out.json_mode:
        ctx.out.emit_json(listed)
        return exit_codes.OK
    schedules = listed.get("schedules") or []
    if not schedules:
        ctx.out.say(f"No schedules yet. Add one with: {ctx.cli} schedules add NAME --every 1h --task TEXT")
        return exit_codes.OK
    style = ctx.out.style
    now = time.time()
    headers = ("ID", "NAME", "WHEN", "RUNS", "NEXT", "LAST RUN")
    rows = [
        (
            str(s.get("id")),
            str(s.get("name")),
            schedule_when(s),
            target_text(s, style),
            next_tick_text(s, now),
            last_run_text(s.get("last_run"), style),
        )
        for s in schedules
    ]
    # The last column is not padded, so its colour codes never count as width.
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers) - 1)]
    for row in (headers, *rows):
        ctx.out.say("  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])), row[-1]]).rstrip())
    return exit_codes.OK


def add_request(ctx: Context, args: argparse.Namespace) -> dict[str, Any]:
    """The ``ScheduleRequest`` the flags describe; what flags alone can tell is wrong is refused here."""
    inputs = parse_inputs(args.inputs)
    if args.tz and not args.cron:
        raise UsageError("--tz applies to --cron, not to --every")
    if inputs and args.task is not None:
        raise UsageError("--input applies to a workflow (--workflow or --template), not to a task")
    body: dict[str, Any] = {"name": args.name, "catch_up": args.catch_up, "enabled": not args.paused}
    if args.cron:
        body["cron"] = args.cron
        if args.tz:
            body["timezone"] = args.tz
    else:
        body["every"] = args.every
    if args.task is not None:
        body["task"] = args.task
    elif args.template:
        body["template"] = args.template
    else:
        body["workflow"] = load_workflow(args.workflow, ctx.out.stdin)
    if inputs:
        body["inputs"] = inputs
    if args.notify:
        body["notify"] = args.notify
    return body


def _print_schedule(ctx: Context, schedule: dict[str, Any], said: str) -> None:
    if ctx.out.json_mode:
        ctx.out.emit_json(schedule)
        return
    ctx.out.say(said)
    for line in schedule_detail(schedule, ctx.out.style, ctx.cli)[1:]:
        ctx.out.say(line)


def add_command(ctx: Context, args: argparse.Namespace) -> int:
    schedule: dict[str, Any] = ctx.platform.post("/api/schedules", add_request(ctx, args))
    _print_schedule(ctx, schedule, f"Added schedule {schedule.get('id')} ({schedule.get('name')})")
    return exit_codes.OK


def show_command(ctx: Context, args: argparse.Namespace) -> int:
    schedule: dict[str, Any] = ctx.platform.get(schedule_path(args.schedule_id))
    if ctx.out.json_mode:
        ctx.out.emit_json(schedule)
    else:
        for line in schedule_detail(schedule, ctx.out.style, ctx.cli):
            ctx.out.say(line)
    return exit_codes.OK


def _set_enabled(ctx: Context, schedule_id: str, enabled: bool) -> int:
    schedule: dict[str, Any] = ctx.platform.patch(schedule_path(schedule_id), {"enabled": enabled})
    verb = "Resumed" if enabled else "Paused"
    _print_schedule(ctx, schedule, f"{verb} schedule {schedule.get('id')} ({schedule.get('name')})")
    return exit_codes.OK


def pause_command(ctx: Context, args: argparse.Namespace) -> int:
    return _set_enabled(ctx, args.schedule_id, False)


def resume_command(ctx: Context, args: argparse.Namespace) -> int:
    return _set_enabled(ctx, args.schedule_id, True)


def run_now_command(ctx: Context, args: argparse.Namespace) -> int:
    accepted: dict[str, Any] = ctx.platform.post(schedule_path(args.schedule_id, "/run"))
    if ctx.out.json_mode:
        ctx.out.emit_json(accepted)
    else:
        ctx.out.say(str(accepted["id"]))  # alone on stdout, as 'run --no-wait' prints it, for scripts
        ctx.out.note(f"follow it with: {ctx.cli} show {accepted['id']} --follow")
    return exit_codes.OK


def delete_command(ctx: Context, args: argparse.Namespace) -> int:
    ctx.platform.delete(schedule_path(args.schedule_id))
    if ctx.out.json_mode:
        ctx.out.emit_json({"deleted": args.schedule_id})
    else:
        ctx.out.say(f"Deleted schedule {args.schedule_id} (the runs it started stay in the history)")
    return exit_codes.OK
