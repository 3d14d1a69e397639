"""What the platform offers and how it is: ``tools``, ``health`` and ``templates``."""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from typing import Any

from apps.cli import exit_codes
from apps.cli.context import Context
from apps.cli.errors import UsageError
from apps.cli.text import Style, duration, shorten


def add_parsers(subparsers: Any, common: list[argparse.ArgumentParser], **kwargs: Any) -> None:
    tools = subparsers.add_parser(
        "tools",
        parents=common,
        help="every tool, by server, marked read-only or destructive",
        description="List the tools runs can call. Destructive tools wait for a person's approval before they run.",
        **kwargs,
    )
    tools.add_argument("--server", "-s", metavar="S", help="only this server's tools")
    tools.add_argument("--refresh", action="store_true", help="reload the catalog from the servers now")
    tools.set_defaults(handler=tools_command)

    health = subparsers.add_parser(
        "health",
        parents=common,
        help="the reasoner, the run store and each MCP server (exit 1 when degraded)",
        **kwargs,
    )
    health.set_defaults(handler=health_command)

    templates = subparsers.add_parser("templates", parents=common, help="built-in workflow templates", **kwargs)
    templates.set_defaults(handler=templates_command)


def tool_mark(tool: dict[str, Any]) -> str:
    """How the platform treats the tool: unavailable is not offered, read-only runs freely, destructive waits for
    approval."""
    if tool.get("available") is False:
        return "unavailable"
    if tool.get("read_only"):
        return "read-only"
    if tool.get("destructive", True):
        return "destructive"
    return "writes"


def tools_command(ctx: Context, args: argparse.Namespace) -> int:
    listed: list[dict[str, Any]] = ctx.platform.get("/api/tools", {"refresh": "true"} if args.refresh else None)[
        "tools"
    ]
    by_server: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for tool in listed:
        by_server[str(tool.get("server"))].append(tool)
    if args.server is not None:
        if args.server not in by_server:
            known = ", ".join(sorted(by_server)) or "none answering"
            raise UsageError(f"no tools from a server named {args.server!r} (servers: {known})")
        by_server = {args.server: by_server[args.server]}
    if ctx.out.json_mode:
        ctx.out.emit_json({"tools": [tool for tools in by_server.values() for tool in tools]})
        return exit_codes.OK
    if not by_server:
        ctx.out.say("No tools: no MCP server answered. See 'health'.")
        return exit_codes.OK
    style = ctx.out.style
    colors = {"read-only": "green", "destructive": "red", "writes": "yellow", "unavailable": "dim"}
    for server in sorted(by_server):
        tools = sorted(by_server[server], key=lambda tool: str(tool.get("name")))
        ctx.out.say(style.paint(f"{server} ({len(tools)} tools)", "bold"))
        width = max(len(str(tool.get("name"))) for tool in tools)
        for tool in tools:
            mark = tool_mark(tool)
            description = str(tool.get("description") or "").strip().splitlines()
            summary = shorten(description[0] if description else "", 90, style.ellipsis)
            if mark == "unavailable":  # why, and what to change, instead of what it would do
                summary = shorten(_unavailable_text(tool), 110, style.ellipsis)
            painted = style.paint(mark, colors[mark]) + " " * (len("destructive") - len(mark))
            ctx.out.say(f"  {str(tool.get('name')).ljust(width)}  {painted}  {summary}".rstrip())
    return exit_codes.OK


def health_command(ctx: Context, args: argparse.Namespace) -> int:
    started = time.perf_counter()
    report: dict[str, Any] = ctx.platform.get("/api/health")
    api_ms = (time.perf_counter() - started) * 1000
    ok = report.get("status") == "ok"
    if ctx.out.json_mode:
        ctx.out.emit_json(report)
        return exit_codes.OK if ok else exit_codes.RUN_FAILED
    style = ctx.out.style
    overall = style.paint(str(report.get("status")), "green" if ok else "red")
    reasoner = report.get("reasoner") or {}
    model = f" ({reasoner['model']})" if reasoner.get("model") else ""
    store = str(report.get("store"))
    ctx.out.say(f"platform  {ctx.platform.url}  {overall}  (answered in {duration(api_ms)})")
    ctx.out.say(f"reasoner  {reasoner.get('name')}{model}")
    ctx.out.say(f"store     {style.paint(store, 'green' if store == 'ok' else 'red')}")
    servers = report.get("servers") or []
    ctx.out.say(f"servers   {len(servers)}")
    width = max((len(str(server.get("server"))) for server in servers), default=0)
    for server in servers:
        up = bool(server.get("reachable"))
        mark = style.paint(style.symbol("ok" if up else "fail"), "green" if up else "red")
        state = f"{duration(server.get('latency_ms'))}" if up else f"unreachable: {server.get('error') or '?'}"
        breaker = f"{style.dot}breaker {server.get('breaker')}" if server.get("breaker") != "closed" else ""
        name = str(server.get("server")).ljust(width)
        ctx.out.say(f"  {mark} {name}  {server.get('url')}  {state}{breaker}")
        for capability in server.get("capabilities") or []:
            ctx.out.say(" " * (width + 5) + _capability_line(capability, style))
    local = report.get("local_model")
    if isinstance(local, dict):
        ctx.out.say(f"local     {_local_model_text(local, reasoner)}")
    return exit_codes.OK if ok else exit_codes.RUN_FAILED


def _unavailable_text(tool: dict[str, Any]) -> str:
    reason = str(tool.get("unavailable_reason") or "its server cannot run it now")
    return f"{reason}; set {tool['setting']}" if tool.get("setting") else reason


def _capability_line(capability: dict[str, Any], style: Style) -> str:
    """One capability status: shown under its server, never counted against health."""
    ok = bool(capability.get("ok"))
    # A lasting not-ok is the operator's to fix (yellow); a transient one may pass by itself.
    mark = style.paint(style.symbol("ok" if ok else "fail"), "green" if ok else "yellow")
    line = f"{mark} {capability.get('name')}: {capability.get('detail')}"
    return line if ok or not capability.get("setting") else f"{line}{style.dot}set {capability['setting']}"


def _local_model_text(local: dict[str, Any], reasoner: dict[str, Any]) -> str:
    """What a fresh look for a local model server found, and whether it is the one in use."""
    ports = ", ".join(str(port) for port in local.get("ports") or []) or "none (AGENTIC_LOCAL_MODEL_PORTS is empty)"
    detected = local.get("detected")
    if not isinstance(detected, dict):
        return f"no model server answers on 127.0.0.1 ports {ports}"
    found = f"{detected.get('model')} at {detected.get('base_url')}"
    in_use = reasoner.get("name") == "openai" and reasoner.get("model") == detected.get("model")
    return f"{found} (in use)" if in_use else f"{found} (found after start: restart the agent core to use it)"


def templates_command(ctx: Context, args: argparse.Namespace) -> int:
    listed: dict[str, Any] = ctx.platform.get("/api/workflows/templates")
    if ctx.out.json_mode:
        ctx.out.emit_json(listed)
        return exit_codes.OK
    style = ctx.out.style
    for template in listed.get("templates") or []:
        workflow = template.get("workflow") or {}
        ctx.out.say(f"{style.paint(str(template.get('id')), 'bold')}  {template.get('title')}")
        ctx.out.say(f"  {shorten(str(template.get('description') or ''), 110, style.ellipsis)}")
        steps = [_step_tools(item) for item in workflow.get("steps") or []]
        ctx.out.say(f"  steps: {' then '.join(steps) or 'none'}")
        inputs = workflow.get("inputs") or {}
        if inputs:
            ctx.out.say("  inputs: " + ", ".join(f"{key} (default {value!r})" for key, value in inputs.items()))
        ctx.out.say("")
    ctx.out.say(f"Run one with: {ctx.cli} run --template ID [--input KEY=VALUE]")
    return exit_codes.OK


def _step_tools(item: dict[str, Any]) -> str:
    if "parallel" in item:
        return "(" + " + ".join(_step_tools(step) for step in item["parallel"]) + ")"
    tool = item.get("tool")
    if isinstance(tool, dict):
        return f"{tool.get('server')}.{tool.get('name')}"
    return str(tool)
