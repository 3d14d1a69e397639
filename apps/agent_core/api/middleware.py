"""The API's own ASGI middleware: the headers every response carries, and the body size limit."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apps.agent_core.api.http import ApiError

# The frontend image sends the same policy (docker/nginx.conf); tests/infra/test_images.py holds them equal.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Pure ASGI middleware: the headers every response carries (the dashboard's strict CSP among them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class JsonBodyLimit:
    """Pure ASGI middleware: a body past ``max_body_size`` gets 413 with the API's JSON error body.

    The SDK's ``RequestBodyLimitMiddleware`` answers 413 as bare text with no Content-Type, which the
    OpenAPI document (413: ``ErrorBody``) does not describe. This one works the same way (Content-Length
    checked up front, the body read in full, never past the limit, before the app runs) but answers
    like every other API error.
    """

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = ApiError(413, "too_large", f"the body is larger than {self.max_body_size} bytes").response()
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_size:
            await self._too_large(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_body_size:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replayed() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replayed, send)
