"""What the catalog makes of a listing's capability statuses: per tool availability, per server statuses, and a
server that says nothing (or says it badly) still listing every tool as available."""

from __future__ import annotations

from typing import Any

import pytest
from mcp_types import Tool

from apps.agent_core.gateway.catalog import ToolCatalog, ToolListing, tool_listing
from apps.agent_core.gateway.errors import ServerUnavailable
from apps.common.capabilities import CAPABILITIES_META, UNAVAILABLE_META

pytestmark = pytest.mark.anyio

SCALING = {
    "name": "scaling",
    "ok": False,
    "detail": "no namespace may be scaled",
    "setting": "AGENTIC_SCALABLE_NAMESPACES",
    "tools": ["scale"],
}


def tool(name: str, meta: dict[str, Any] | None = None) -> Tool:
    return Tool(name=name, description=name, input_schema={"type": "object"}, _meta=meta)


def test_a_tool_marked_unavailable_carries_its_reason_and_setting() -> None:
    unavailable = {UNAVAILABLE_META: {"reason": SCALING["detail"], "setting": SCALING["setting"]}}
    listing = tool_listing("k8s", [tool("scale", unavailable), tool("pods")], {CAPABILITIES_META: [SCALING]})

    scale, pods = listing.tools
    assert (scale.available, scale.unavailable_reason, scale.setting) == (False, SCALING["detail"], SCALING["setting"])
    assert scale.unavailable_message() == (
        "k8s.scale cannot run on its server now: no namespace may be scaled; "
        "to enable it, set AGENTIC_SCALABLE_NAMESPACES"
    )
    assert pods.available is True
    assert [(c.name, c.ok, c.tools) for c in listing.capabilities] == [("scaling", False, ("scale",))]


def test_a_server_that_says_nothing_has_every_tool_available_and_no_statuses() -> None:
    listing = tool_listing("other", [tool("a"), tool("b", {"vendor/key": 1})], None)
    assert [spec.available for spec in listing.tools] == [True, True]
    assert listing.capabilities == []


def test_statuses_that_do_not_parse_are_skipped_and_an_odd_unavailable_claim_is_believed() -> None:
    meta = {CAPABILITIES_META: [{"name": "no ok field"}, SCALING, "text"]}
    listing = tool_listing("odd", [tool("x", {UNAVAILABLE_META: "maintenance window"})], meta)
    assert [c.name for c in listing.capabilities] == ["scaling"]
    (x,) = listing.tools
    assert (x.available, x.unavailable_reason, x.setting) == (False, "maintenance window", None)


async def test_the_catalog_keeps_each_servers_statuses_until_its_listing_is_lost() -> None:
    answers: list[ToolListing | Exception] = [
        tool_listing("k8s", [tool("scale")], {CAPABILITIES_META: [SCALING]}),
        ServerUnavailable("k8s", "connection refused", reached=False),
    ]

    async def lister() -> ToolListing:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    catalog = ToolCatalog({"k8s": lister}, ttl_seconds=60)
    await catalog.tools()
    assert [c.name for c in catalog.capabilities("k8s")] == ["scaling"]
    await catalog.tools(refresh=True)
    assert catalog.capabilities("k8s") == [], "a server whose tools are not held has no statuses to show"
    assert catalog.capabilities("unknown") == []
