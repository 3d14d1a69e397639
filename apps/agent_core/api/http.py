"""Request plumbing shared by the routes: errors as JSON, strict body parsing, who is calling."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from apps.agent_core.auth import LOCAL_PRINCIPAL, ApiKeys, Principal, Role

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


async def parse_body(request: Request, model: type[ModelT]) -> ModelT:
    """The body as ``model``: 400 for malformed JSON, 422 listing every field problem (unknown fields too)."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else "body is not UTF-8"
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {message}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems: list[object] = [
            {"field": ".".join(str(part) for part in error["loc"]) or "(body)", "message": error["msg"]}
            for error in exc.errors()
        ]
        raise ApiError(422, "invalid_request", f"{len(problems)} problem(s) in the request", problems) from None


def principal(request: Request, role: Role) -> Principal:
    """Who is calling, if they may act as ``role``; 401 without a valid key, 403 without the role."""
    keys: ApiKeys = request.app.state.api_keys
    if not keys.enabled:
        return LOCAL_PRINCIPAL  # only reachable on a loopback bind: __main__ refuses anything else
    found = keys.authenticate(request.headers.get("authorization"))
    if found is None:
        raise ApiError(401, "unauthorized", "send a valid API key as 'Authorization: Bearer <key>'")
    if not found.can(role):
        raise ApiError(403, "forbidden", f"the key '{found.name}' does not have the {role} role")
    return found
