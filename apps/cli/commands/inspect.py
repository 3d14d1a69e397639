"""``runs`` (a table, filtered by status or trigger) and ``show`` (one run in full, or followed live: ``--follow``)."""

from __future__ import annotations

import argparse
import shutil
import time
from typing import Any

from apps.cli import exit_codes
from apps.cli.client import run_path
from apps.cli.context import Context
from apps.cli.follow import follow_run
from apps.cli.text import age, status_text
from apps.cli.views import run_detail

RUN_STATUSES = ("queued", "running", "awaiting_approval", "succeeded", "failed", "cancelled", "needs_attention")
TRIGGER_KINDS = ("api", "schedule", "alert", "mcp", "a2a")


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= 200:
        raise argparse.ArgumentTypeError("must be between 1 and 200")
    return value


def add_parsers(subparsers: Any, common: list[argparse.ArgumentParser], **kwargs: Any) -> None:
    runs = subparsers.add_parser("runs", parents=common, help="list recent runs, newest first", **kwargs)
    runs.add_argument("--status", "-s", choices=RUN_STATUSES, help="only runs with this status")
    runs.add_argument("--trigger", choices=TRIGGER_KINDS, help="only runs started this way")
    runs.add_argument("--limit", "-n", type=_limit, default=20, help="how many (1-200, default 20)")
    runs.set_defaults(handler=runs_command)

    show = subparsers.add_parser(
        "show",
        parents=common,
        help="one run: steps, approvals, final answer, errors",
        description=(
            "Show one run. With --follow, watch it live like 'run --wait' does (from its first event, waiting "
            "through approvals) and exit with its outcome; without, exit 0 whenever the run could be shown. "
            "With --json: the run view."
        ),
        **kwargs,
    )
    show.add_argument("run_id", metavar="ID", help="the run's id")
    show.add_argument("--follow", "-f", action="store_true", help="stream the run's events until it ends")
    show.set_defaults(handler=show_command)


def runs_command(ctx: Context, args: argparse.Namespace) -> int:
    params = {"limit": str(args.limit)}
    if args.status:
        params["status"] = args.status
    if args.trigger:
        params["trigger"] = args.trigger
    page: dict[str, Any] = ctx.platform.get("/api/runs", params)
    if ctx.out.json_mode:
        ctx.out.emit_json(page)
        return exit_codes.OK
    runs = page.get("runs") or []
    if not runs:
        said = [f"with status {args.status}"] if args.status else []
        said += [f"started by {args.trigger}"] if args.trigger else []
        ctx.out.say("No runs " + (" and ".join(said) + "." if said else "yet."))
        return exit_codes.OK
    now = time.time()
    style = ctx.out.style
    headers = ("ID", "STATUS", "KIND", "AGE", "TITLE")
    rows = [
        (str(run["id"]), str(run["status"]), str(run["kind"]), age(run.get("created_at"), now), _titled(run))
        for run in runs
    ]
    width = shutil.get_terminal_size((120, 24)).columns if ctx.out.is_tty else None
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(4)]
    title_width = max(10, width - sum(widths) - 2 * 4) if width else None
    ctx.out.say("  ".join(header.ljust(widths[i]) for i, header in enumerate(headers[:4])) + "  TITLE")
    for row in rows:
        # Padding is measured on the bare status: colour codes have no width on screen.
        status = status_text(row[1], style) + " " * (widths[1] - len(row[1]))
        title = " ".join(row[4].split())
        if title_width is not None and len(title) > title_width:
            title = title[: title_width - 1] + style.ellipsis
        cells = [row[0].ljust(widths[0]), status, row[2].ljust(widths[2]), row[3].ljust(widths[3]), title]
        ctx.out.say("  ".join(cells).rstrip())
    if page.get("next_cursor"):
        ctx.out.say("(more: raise --limit, up to 200)")
    return exit_codes.OK


def _titled(run: dict[str, Any]) -> str:
    """The title, after what started the run when that was not the API: ``[schedule nightly] report``."""
    trigger = run.get("trigger") or {}
    if trigger.get("kind", "api") == "api":
        return str(run["title"])
    return f"[{trigger['kind']} {trigger.get('name') or trigger.get('id')}] {run['title']}"


def show_command(ctx: Context, args: argparse.Namespace) -> int:
    view: dict[str, Any] = ctx.platform.get(run_path(args.run_id))
    if args.follow:
        if not ctx.out.json_mode:
            ctx.out.say(f"Run {view['id']}{ctx.out.style.dot}{view['kind']}{ctx.out.style.dot}{_titled(view)}")
        return follow_run(ctx, str(view["id"]))
    if ctx.out.json_mode:
        ctx.out.emit_json(view)
    else:
        for line in run_detail(view, ctx.out.style, ctx.cli):
            ctx.out.say(line)
    return exit_codes.OK
