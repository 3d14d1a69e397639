"""The A2A agent's routes, from the official SDK: the public agent card and the JSON-RPC endpoint behind the API keys.

``GET /.well-known/agent-card.json`` (the SDK's ``AGENT_CARD_WELL_KNOWN_PATH``, where A2A clients look) is public,
as the protocol intends; its ``securitySchemes`` say bearer. ``POST /api/a2a`` takes the same keys as the rest of
/api: 401 without a valid key, 403 without the role the method needs (viewer to read tasks, operator for anything
else). The role is checked on the body's ``method`` before the SDK sees the request: the SDK itself has no notion of
roles, and a JSON-RPC error would hide from proxies and logs what every other /api route answers as 401/403.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from a2a.server.agent_execution import SimpleRequestContextBuilder
from a2a.server.context import ServerCallContext
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import DefaultServerCallContextBuilder, create_agent_card_routes, create_jsonrpc_routes
from a2a.types.a2a_pb2 import AgentCard
from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apps.agent_core.a2a.card import RPC_PATH, agent_card
from apps.agent_core.a2a.executor import PRINCIPAL_STATE, RunExecutor, RunIds
from apps.agent_core.a2a.store import RunTaskStore
from apps.agent_core.api.http import principal
from apps.agent_core.auth import Role
from apps.agent_core.runs.service import RunService

__all__ = ["AGENT_CARD_WELL_KNOWN_PATH", "RPC_PATH", "A2AEndpoint", "a2a_endpoint"]

READ_METHODS = frozenset({"GetTask", "ListTasks", "SubscribeToTask", "GetExtendedAgentCard"})
"""JSON-RPC methods a viewer key may call; every other method (known or not) needs the operator role."""

_origin: contextvars.ContextVar[str] = contextvars.ContextVar("a2a_card_origin")
"""The address the card request came to, for the card's endpoint URL (the SDK's modifier is not given the request)."""


def required_role(body: bytes) -> Role:
    try:
        method = json.loads(body).get("method")
    except (ValueError, AttributeError):  # not JSON, or not an object: the SDK answers the error; nobody reads
        return "operator"
    return "viewer" if method in READ_METHODS else "operator"


class _CallerContext(DefaultServerCallContextBuilder):
    """The SDK's context, plus the caller our route authenticated (who owns the run, who cancelled it)."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        context.state[PRINCIPAL_STATE] = request.state.principal
        return context


@dataclass
class A2AEndpoint:
    routes: list[Route]
    aclose: Callable[[], Awaitable[None]]
    """Ends the tasks this replica follows (their runs go on): for the app's lifespan."""


def a2a_endpoint(runs: RunService, *, version: str, dashboard_url: str | None) -> A2AEndpoint:
    def card_for(origin: str) -> AgentCard:
        return agent_card(dashboard_url or origin, version)

    handler = DefaultRequestHandler(
        agent_executor=RunExecutor(runs, dashboard_url),
        task_store=RunTaskStore(runs, dashboard_url),
        agent_card=card_for("http://127.0.0.1"),
        request_context_builder=SimpleRequestContextBuilder(task_id_generator=RunIds()),
    )
    [rpc] = create_jsonrpc_routes(handler, rpc_url=RPC_PATH, context_builder=_CallerContext())
    sdk_rpc: Callable[[Request], Awaitable[Response]] = rpc.endpoint

    async def rpc_endpoint(request: Request) -> Response:
        request.state.principal = principal(request, required_role(await request.body()))
        return await sdk_rpc(request)

    async def with_origin(card: AgentCard) -> AgentCard:
        return card_for(_origin.get())

    [card] = create_agent_card_routes(card_for("http://127.0.0.1"), card_modifier=with_origin)
    sdk_card: Callable[[Request], Awaitable[Response]] = card.endpoint

    async def card_endpoint(request: Request) -> Response:
        _origin.set(str(request.base_url))
        return await sdk_card(request)

    return A2AEndpoint(
        routes=[
            Route(AGENT_CARD_WELL_KNOWN_PATH, card_endpoint, methods=["GET"], name="a2a_agent_card"),
            Route(RPC_PATH, rpc_endpoint, methods=["POST"], name="a2a_jsonrpc"),
        ],
        aclose=handler.aclose,
    )
