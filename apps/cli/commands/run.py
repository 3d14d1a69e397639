"""``run``: start a task, a workflow file or a built-in template, then watch it (or not: ``--no-wait``).

A step that needs approval: on a terminal, watching goes on while a person decides (here, in another
terminal or on the dashboard); with no terminal on stdin ``run`` says what waits and exits 4 at once,
unless ``--wait``; ``--yes`` approves each approval this run asks for (``apps.cli.waiting``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import IO, Any

from apps.cli import exit_codes
from apps.cli.context import Context
from apps.cli.errors import UsageError
from apps.cli.follow import follow_run
from apps.cli.waiting import OnApproval

MAX_WORKFLOW_BYTES = 1_000_000


def add_parsers(subparsers: Any, common: list[argparse.ArgumentParser], **kwargs: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        parents=common,
        help="start a run and watch its steps live",
        description=(
            "Start a run and show its steps as they happen. Give a task in plain words, a workflow file "
            "(JSON or YAML; '-' reads stdin) or a built-in template. With --json, nothing is printed while "
            "the run goes on; then the final run view, as one JSON document."
        ),
        **kwargs,
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("task", nargs="?", help="what to do, in plain words (the reasoner plans the tool calls)")
    what.add_argument("--workflow", "-w", metavar="FILE", help="a workflow document, JSON or YAML")
    what.add_argument("--template", "-t", metavar="ID", help="a built-in workflow template (see 'templates')")
    parser.add_argument(
        "--input",
        "-i",
        dest="inputs",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a workflow input; repeatable. VALUE is read as JSON when it parses (3, true, [1]), else as text",
    )
    waiting = parser.add_mutually_exclusive_group()
    waiting.add_argument(
        "--no-wait", action="store_true", help="print the run's id and how to follow it, exit 0 without watching"
    )
    waiting.add_argument(
        "--wait",
        action="store_true",
        help="keep watching while a step waits for approval, even with no terminal on stdin (which exits 4)",
    )
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="approve every approval this run asks for, each printed with its tool and exact arguments",
    )
    parser.set_defaults(handler=run_command)


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--input takes KEY=VALUE, got {pair!r}")
        try:
            inputs[key] = json.loads(raw)
        except ValueError:
            inputs[key] = raw  # plain text, the common case: --input location=Paris
    return inputs


def load_workflow(path: str, stdin: IO[str]) -> dict[str, Any] | str:
    """The document to send: parsed when it is JSON, else its text (the server parses YAML, safely)."""
    try:
        text = stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"cannot read the workflow file {path}: {reason}") from None
    if len(text.encode()) > MAX_WORKFLOW_BYTES:
        raise UsageError(f"the workflow file {path} is over {MAX_WORKFLOW_BYTES // 1000} kB")
    if not text.strip():
        raise UsageError(f"the workflow file {path} is empty")
    if path.endswith(".json"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
        if not isinstance(document, dict):
            raise UsageError(f"{path} must hold a JSON object (a workflow document)")
        return document
    return text


def template_workflow(ctx: Context, template_id: str) -> dict[str, Any]:
    templates = ctx.platform.get("/api/workflows/templates").get("templates") or []
    for template in templates:
        if template.get("id") == template_id:
            return dict(template["workflow"])
    known = ", ".join(sorted(str(t.get("id")) for t in templates)) or "none"
    raise UsageError(f"no template {template_id!r}; the platform has: {known}")


def request_body(ctx: Context, args: argparse.Namespace) -> dict[str, Any]:
    inputs = parse_inputs(args.inputs)
    if args.task is not None:
        if inputs:
            raise UsageError("--input applies to a workflow (--workflow or --template), not to a task")
        if not args.task.strip():
            raise UsageError("the task is empty")
        return {"task": args.task}
    workflow = load_workflow(args.workflow, ctx.out.stdin) if args.workflow else template_workflow(ctx, args.template)
    body: dict[str, Any] = {"workflow": workflow}
    if inputs:
        body["inputs"] = inputs
    return body


def on_approval(ctx: Context, args: argparse.Namespace) -> OnApproval:
    if args.yes:
        return "approve"
    # Without a terminal nobody here can answer, and a script must not block on a decision.
    return "wait" if args.wait or ctx.out.stdin_is_tty else "stop"


def run_command(ctx: Context, args: argparse.Namespace) -> int:
    if args.yes and args.no_wait:
        raise UsageError("--yes approves while watching the run; --no-wait does not watch it")
    accepted = ctx.platform.post("/api/runs", request_body(ctx, args))
    run_id = str(accepted["id"])
    if args.no_wait:
        if ctx.out.json_mode:
            ctx.out.emit_json(accepted)
        else:
            ctx.out.say(run_id)  # alone on stdout, so scripts can capture it
            ctx.out.note(f"follow it with: {ctx.cli} show {run_id} --follow")
        return exit_codes.OK
    if not ctx.out.json_mode:
        ctx.out.say(f"Started run {run_id}")
    return follow_run(ctx, run_id, on_approval(ctx, args))
