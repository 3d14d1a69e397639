"""One API route as data: its path and method, the role it requires, its body model and its documentation.

``ApiRoute.endpoint`` is the only place the API checks a role or parses a body: it does both before the
handler runs, and hands the handler the result (``Call``). A handler cannot forget either, and the OpenAPI
document, built from the same entries (``api/openapi.py``), cannot describe a rule other than the one enforced.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, NamedTuple, TypeVar, cast, overload

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apps.agent_core.api.http import parse_body, principal
from apps.agent_core.auth import Principal, Role

BodyT = TypeVar("BodyT", bound=BaseModel | None)
ModelT = TypeVar("ModelT", bound=BaseModel)
Method = Literal["GET", "POST", "PATCH", "DELETE"]


@dataclass(frozen=True)
class Call(Generic[BodyT]):
    """What the route established before its handler runs: who is calling (with the role) and the parsed body."""

    principal: Principal
    body: BodyT


Handler = Callable[[Request, Call[BodyT]], Awaitable[Response]]


class QueryParam(NamedTuple):
    """A query parameter, for the document only: handlers read and check their own."""

    name: str
    type: Literal["string", "integer", "boolean"]
    description: str


class ApiRoute(Generic[BodyT]):
    """A route under /api. Constructed with ``body=Model`` the handler gets ``Call[Model]``; without, ``Call[None]``.

    ``responses`` maps each success status to its body's model, or to a description of a body that is not JSON
    (Server-Sent Events); the error statuses every route can answer are added by the document itself.
    """

    @overload
    def __init__(
        self: ApiRoute[None],
        method: Method,
        path: str,
        handler: Handler[None],
        *,
        role: Role,
        summary: str,
        responses: Mapping[int, type[BaseModel] | str],
        query: tuple[QueryParam, ...] = (),
    ) -> None: ...

    @overload
    def __init__(
        self: ApiRoute[ModelT],
        method: Method,
        path: str,
        handler: Handler[ModelT],
        *,
        role: Role,
        body: type[ModelT],
        summary: str,
        responses: Mapping[int, type[BaseModel] | str],
        query: tuple[QueryParam, ...] = (),
    ) -> None: ...

    def __init__(
        self,
        method: Method,
        path: str,
        handler: Handler[Any],
        *,
        role: Role,
        body: type[BaseModel] | None = None,
        summary: str,
        responses: Mapping[int, type[BaseModel] | str],
        query: tuple[QueryParam, ...] = (),
    ) -> None:
        self.method = method
        self.path = path
        self.handler = handler
        self.role = role
        self.body = body
        self.summary = summary
        self.responses = dict(responses)
        self.query = query

    @property
    def name(self) -> str:
        """The handler's name: the OpenAPI ``operationId`` and the Starlette route's name."""
        return self.handler.__name__

    async def endpoint(self, request: Request) -> Response:
        # The role first: a caller without it learns nothing about what a valid body looks like.
        who = principal(request, self.role)
        body = None if self.body is None else await parse_body(request, self.body)
        # The overloads tie ``self.body`` to ``BodyT``: a model when one was given, None otherwise.
        return await self.handler(request, Call(who, cast(BodyT, body)))

    def route(self) -> Route:
        return Route(self.path, self.endpoint, methods=[self.method], name=self.name)
