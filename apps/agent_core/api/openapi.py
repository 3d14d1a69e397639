"""The OpenAPI document, generated from the same table that builds the routes, so they cannot drift."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from apps.agent_core.api.schemas import ErrorBody

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    role: str | None
    """The role required (``viewer``, ``operator``, ``approver``), or None for open endpoints."""
    request: type[BaseModel] | None = None
    responses: dict[int, type[BaseModel] | str] = field(default_factory=dict)
    query: tuple[tuple[str, str, str], ...] = ()
    """(name, JSON type, description) of query parameters."""


_ERRORS = {
    400: "Malformed request",
    401: "No valid API key",
    403: "The key lacks the role (or, without keys, a browser origin not allowed)",
    413: "Body too large",
    421: "Without API keys, a Host other than 127.0.0.1 or localhost",
}


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def openapi_document(operations: list[Operation], *, title: str, version: str) -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    error_ref = _schema_ref(ErrorBody, components)
    for operation in operations:
        spec: dict[str, Any] = {"summary": operation.summary, "operationId": operation.handler.__name__}
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", operation.path)
        ]
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": text}
            for name, kind, text in operation.query
        ]
        if parameters:
            spec["parameters"] = parameters
        if operation.request is not None:
            spec["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema_ref(operation.request, components)}},
            }
        responses: dict[str, Any] = {}
        for status, body in operation.responses.items():
            if isinstance(body, str):
                media = "text/event-stream" if "event" in body.lower() else "text/plain"
                responses[str(status)] = {"description": body, "content": {media: {"schema": {"type": "string"}}}}
            else:
                responses[str(status)] = {
                    "description": body.__doc__.strip().splitlines()[0] if body.__doc__ else body.__name__,
                    "content": {"application/json": {"schema": _schema_ref(body, components)}},
                }
        errors = dict(_ERRORS) if operation.role else {}
        if operation.request is not None:
            errors[422] = "Invalid fields, each listed"
        if "{" in operation.path:
            errors[404] = "No such run"
        for status, description in errors.items():
            responses.setdefault(
                str(status), {"description": description, "content": {"application/json": {"schema": error_ref}}}
            )
        spec["responses"] = responses
        if operation.role:
            spec["security"] = [{"apiKey": []}]
            spec["description"] = f"Requires the {operation.role} role."
        paths.setdefault(operation.path, {})[operation.method.lower()] = spec
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
    }
