"""The OpenAPI document, generated from the route table (``api/table.py``) that also enforces each route's rules."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from apps.agent_core.api.endpoint import ApiRoute
from apps.agent_core.api.schemas import ErrorBody

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


def openapi_document(routes: Sequence[ApiRoute[Any]], *, title: str, version: str) -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    error_ref = _schema_ref(ErrorBody, components)
    for route in routes:
        spec: dict[str, Any] = {"summary": route.summary, "operationId": route.name}
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", route.path)
        ]
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": text}
            for name, kind, text in route.query
        ]
        if parameters:
            spec["parameters"] = parameters
        if route.body is not None:
            spec["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema_ref(route.body, components)}},
            }
        responses: dict[str, Any] = {}
        for status, body in route.responses.items():
            if isinstance(body, str):
                media = "text/event-stream" if "event" in body.lower() else "text/plain"
                responses[str(status)] = {"description": body, "content": {media: {"schema": {"type": "string"}}}}
            else:
                responses[str(status)] = {
                    "description": body.__doc__.strip().splitlines()[0] if body.__doc__ else body.__name__,
                    "content": {"application/json": {"schema": _schema_ref(body, components)}},
                }
        # Every route requires a role (the table's type says so), so every route can answer these.
        errors = dict(_ERRORS)
        if route.body is not None:
            errors[422] = "Invalid fields, each listed"
        if "{" in route.path:
            errors[404] = "No such run"
        for status, description in errors.items():
            responses.setdefault(
                str(status), {"description": description, "content": {"application/json": {"schema": error_ref}}}
            )
        spec["responses"] = responses
        spec["security"] = [{"apiKey": []}]
        spec["description"] = f"Requires the {route.role} role."
        paths.setdefault(route.path, {})[route.method.lower()] = spec
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
    }
