"""``triggers``: the alert rules that start runs when Alertmanager reports an alert (``GET /api/triggers``)."""

from __future__ import annotations

import argparse
from typing import Any

from apps.cli import exit_codes
from apps.cli.context import Context
from apps.cli.views import last_run_text, rule_limits_text, rule_match_text, target_text


def add_parsers(subparsers: Any, common: list[argparse.ArgumentParser], **kwargs: Any) -> None:
    triggers = subparsers.add_parser(
        "triggers",
        parents=common,
        help="the alert rules: which alerts start which workflow, their limits and last run",
        description=(
            "List the alert rules (built in, and from AGENTIC_TRIGGERS_FILE): what each matches, what it runs, "
            "its cool-down and rate limit, and its last run. With --json: the API's answer."
        ),
        **kwargs,
    )
    triggers.set_defaults(handler=triggers_command)


def triggers_command(ctx: Context, _: argparse.Namespace) -> int:
    listed: dict[str, Any] = ctx.platform.get("/api/triggers")
    if ctx.out.json_mode:
        ctx.out.emit_json(listed)
        return exit_codes.OK
    rules = listed.get("rules") or []
    if not rules:
        ctx.out.say("No alert rules.")
        return exit_codes.OK
    style = ctx.out.style
    for index, rule in enumerate(rules):
        state = "" if rule.get("enabled", True) else f"{style.dot}disabled"
        inputs = (rule.get("target") or {}).get("inputs") or {}
        if index:
            ctx.out.say()
        ctx.out.say(f"{rule.get('name')}{style.dot}{rule.get('source')}{state}")
        ctx.out.say(f"  match:    {rule_match_text(rule.get('match') or {})}")
        ctx.out.say(f"  runs:     {target_text(rule.get('target') or {}, style)}")
        if inputs:
            ctx.out.say("  inputs:   " + ", ".join(f"{name}={value}" for name, value in inputs.items()))
        ctx.out.say(f"  limits:   {rule_limits_text(rule)}")
        if rule.get("notify"):
            ctx.out.say(f"  notify:   {', '.join(rule['notify'])}")
        ctx.out.say(f"  last run: {last_run_text(rule.get('last_run'), style)}")
    return exit_codes.OK
