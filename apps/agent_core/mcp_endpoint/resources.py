"""Runs as MCP resources: ``run://<id>``, listed newest first (bounded) and read as the run view's JSON."""

from __future__ import annotations

import json

from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, ListResourcesResult, ReadResourceResult, Resource, TextResourceContents

from apps.agent_core.runs.service import RunService

RUN_SCHEME = "run://"
LISTED_RUNS = 50
"""``resources/list`` shows this many recent runs: older ones are read by their URI (or through the API)."""
MIME_TYPE = "application/json"
RESOURCE_NOT_FOUND = -32002
"""MCP's code for a resource that does not exist (the spec's resources page)."""


async def list_runs(service: RunService) -> ListResourcesResult:
    page = await service.list_runs(status=None, limit=LISTED_RUNS, cursor=None)
    return ListResourcesResult(
        resources=[
            Resource(
                uri=f"{RUN_SCHEME}{header.id}",
                name=f"run {header.id}",
                title=header.title,
                description=f"{header.kind} run, {header.status}, started by {header.trigger.kind} ({header.owner})",
                mime_type=MIME_TYPE,
            )
            for header in page.runs
        ]
    )


async def read_run(service: RunService, uri: str) -> ReadResourceResult:
    if not uri.startswith(RUN_SCHEME):
        raise MCPError(INVALID_PARAMS, f"unknown resource {uri[:200]!r}: runs are run://<id>")
    run_id = uri.removeprefix(RUN_SCHEME)
    view = await service.view(run_id) if run_id.isalnum() and len(run_id) <= 64 else None
    if view is None:
        raise MCPError(RESOURCE_NOT_FOUND, f"no run {run_id[:64]!r}", {"uri": uri[:200]})
    text = json.dumps(view.model_dump(mode="json"), ensure_ascii=False)
    return ReadResourceResult(contents=[TextResourceContents(uri=uri, mime_type=MIME_TYPE, text=text)])
