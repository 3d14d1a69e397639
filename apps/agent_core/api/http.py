"""Request plumbing shared by the routes: errors as JSON, strict body parsing, who is calling."""

from __future__ import annotations

import ipaddress
import json
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler

from apps.agent_core.auth import LOCAL_PRINCIPAL, ApiKeys, Principal, Role
from apps.agent_core.runs.errors import ConflictError, DrainingError, GoneError, RunRequestError
from apps.agent_core.runs.events import DamagedEvent
from apps.agent_core.store.base import InvalidCursor, RunNotFound, StoreError

ModelT = TypeVar("ModelT", bound=BaseModel)


class ApiError(Exception):
    """An error with an HTTP status and a message meant for the caller."""

    def __init__(self, status: int, error: str, message: str, problems: list[object] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.problems = problems or []

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer realm="agentic"'} if self.status == 401 else None
        body = {"error": self.error, "message": self.message, "problems": self.problems}
        return JSONResponse(body, status_code=self.status, headers=headers)


# What the run service and the store refuse, as HTTP. First match wins (dict order): the specific store errors
# before StoreError itself.
_KNOWN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    RunNotFound: (404, "not_found"),
    ConflictError: (409, "conflict"),
    GoneError: (410, "gone"),
    DrainingError: (503, "shutting_down"),
    InvalidCursor: (400, "invalid_request"),
    StoreError: (503, "store_unavailable"),
    DamagedEvent: (500, "damaged_journal"),
}
"""A damaged journal is no request's fault and no retry mends it: 500, naming the run, the event and the field."""


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _request_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RunRequestError)
    return ApiError(
        400, "invalid_workflow", f"{len(exc.problems)} problem(s) in the workflow", list(exc.problems)
    ).response()


async def _known_error(_: Request, exc: Exception) -> Response:
    status, error = next(value for kind, value in _KNOWN_ERRORS.items() if isinstance(exc, kind))
    message = "no run with this id" if isinstance(exc, RunNotFound) else str(exc)
    return ApiError(status, error, message).response()


EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
    ApiError: _api_error,
    RunRequestError: _request_error,
    **dict.fromkeys(_KNOWN_ERRORS, _known_error),
}
"""Every error the API turns into its JSON error body, for ``Starlette(exception_handlers=...)``."""


MAX_JSON_DEPTH = 64
"""Objects and arrays nested deeper than this are refused: what reads them later (validation, references, the
journal's JSON) recurses, and Python's stack ends near 1,000 levels."""
MAX_EVENT_NUMBER = 10**18 - 1
"""Event numbers are SQLite/DynamoDB integers: a bigger ``Last-Event-ID`` is refused before it reaches the store."""


def nested_deeper_than(value: object, limit: int) -> bool:
    """Whether ``value`` nests objects or arrays more than ``limit`` deep; a loop, never recursion."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


async def parse_body(request: Request, model: type[ModelT]) -> ModelT:
    """The body as ``model``: 400 for malformed or too deeply nested JSON, 422 listing every field problem."""
    raw = await request.body()
    too_deep = ApiError(
        400, "malformed_json", f"the body nests objects or arrays more than {MAX_JSON_DEPTH} levels deep (the limit)"
    )
    try:
        data = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else "body is not UTF-8"
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {message}") from None
    except RecursionError:  # the parser recurses per level: thousands of "[" end here, before any check of ours
        raise too_deep from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits (Python's int_max_str_digits)
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    if nested_deeper_than(data, MAX_JSON_DEPTH):
        raise too_deep
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems: list[object] = [
            {"field": ".".join(str(part) for part in error["loc"]) or "(body)", "message": error["msg"]}
            for error in exc.errors()
        ]
        raise ApiError(422, "invalid_request", f"{len(problems)} problem(s) in the request", problems) from None


LOOPBACK_NAMES = frozenset({"localhost", "[::1]"})


def _host_name(authority: str) -> str:
    """``[::1]:8080`` → ``[::1]``, ``Localhost:8080`` → ``localhost``."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority.split("]", 1)[0] + "]"
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def _is_loopback(name: str) -> bool:
    """``localhost`` or a loopback address (all of 127.0.0.0/8, ``::1``), as names, never resolved."""
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def _addressed_to_this_machine(request: Request) -> None:
    """Without API keys: 421 unless the Host is a loopback name, 403 for a browser Origin from elsewhere."""
    if not _is_loopback(_host_name(request.headers.get("host", ""))):
        raise ApiError(
            421, "misdirected_request", "without API keys this API answers only requests addressed to 127.0.0.1"
        )
    origin = request.headers.get("origin")
    if origin is None:
        return
    allowed: tuple[str, ...] = getattr(request.app.state.settings, "cors_origins", ())
    parts = urlsplit(origin)
    if origin in allowed or (parts.scheme in ("http", "https") and _is_loopback(parts.hostname or "")):
        return
    raise ApiError(403, "forbidden_origin", f"requests from the origin {origin[:100]!r} are not accepted")


def principal(request: Request, role: Role) -> Principal:
    """Who is calling, if they may act as ``role``; 401 without a valid key, 403 without the role."""
    keys: ApiKeys = request.app.state.api_keys
    if not keys.enabled:
        # Only reachable on a loopback bind (__main__ refuses anything else), but a browser can still be made
        # to call it: a page elsewhere posting to 127.0.0.1, or a rebound DNS name. Neither gets in.
        _addressed_to_this_machine(request)
        return LOCAL_PRINCIPAL
    found = keys.authenticate(request.headers.get("authorization"))
    if found is None:
        raise ApiError(401, "unauthorized", "send a valid API key as 'Authorization: Bearer <key>'")
    if not found.can(role):
        raise ApiError(403, "forbidden", f"the key '{found.name}' does not have the {role} role")
    return found
