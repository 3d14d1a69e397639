"""The platform's HTTP API as the command line uses it: JSON in and out, errors mapped to ``CliError``.

Every transport or HTTP failure leaves this module as a ``CliError`` subclass with a message a person
can act on, so callers handle outcomes, not httpx. ``transport`` is the testing seam, as in httpx.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from apps.cli.errors import ApiRefused, AuthFailed, CliError, Unreachable, problem_text

DEFAULT_URL = "http://127.0.0.1:8080"
REQUEST_TIMEOUT_SECONDS = 30.0
STREAM_READ_TIMEOUT_SECONDS = 60.0
"""The server pings an idle event stream every 15 s, so a minute of silence means the connection is gone."""
USER_AGENT = "agentic-cli/1.0"


def run_path(run_id: str, suffix: str = "") -> str:
    """``/api/runs/<id><suffix>``; the id is quoted, so whatever was typed cannot reach another route."""
    return f"/api/runs/{quote(run_id, safe='')}{suffix}"


class Platform:
    """One platform URL and API key; one pooled connection set for the command's lifetime."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.has_key = bool(api_key)
        self.timeout = timeout
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self._json("GET", path, params=params)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._json("POST", path, body=body if body is not None else {})

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self._json("PATCH", path, body=body)

    def delete(self, path: str) -> None:
        self._json("DELETE", path)

    def request(self, method: str, path: str, *, body: Any = None, authenticated: bool = True) -> httpx.Response:
        """The answer as it came, whatever its status, for callers that judge statuses themselves (``verify``).

        Transport failures still become ``Unreachable``. ``authenticated=False`` leaves the API key out, for
        what is not the API (the dashboard's static files).
        """
        request = self._http.build_request(method, path, json=body)
        if not authenticated:
            request.headers.pop("Authorization", None)
        try:
            return self._http.send(request)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None

    @contextlib.contextmanager
    def event_lines(self, run_id: str, after: int) -> Iterator[Iterator[str]]:
        """The run's Server-Sent Events stream as text lines, resuming after event ``after``.

        Errors before the stream opens become ``CliError``; errors while reading it are left as
        ``httpx.TransportError`` so the caller can resume from the last event it saw.
        """
        timeout = httpx.Timeout(self.timeout, read=STREAM_READ_TIMEOUT_SECONDS)
        headers = {"Accept": "text/event-stream", "Last-Event-ID": str(after)}
        path = run_path(run_id, "/events")
        try:
            with self._http.stream("GET", path, headers=headers, timeout=timeout) as response:
                if response.status_code != 200:
                    response.read()
                    raise self._refusal("GET", path, response)
                yield response.iter_lines()
        except httpx.TransportError as exc:
            if isinstance(exc, httpx.ReadError | httpx.ReadTimeout | httpx.RemoteProtocolError):
                raise  # the stream was open: resumable
            raise self._unreachable(exc) from None

    def _json(self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None) -> Any:
        try:
            response = self._http.request(method, path, params=params, json=body)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        if response.is_error:
            raise self._refusal(method, path, response)
        if response.status_code == 204:  # DELETE's answer: done, nothing to say
            return None
        try:
            return response.json()
        except ValueError:
            raise self._not_the_api(method, path, response) from None

    def _unreachable(self, exc: httpx.TransportError) -> CliError:
        if isinstance(exc, httpx.TimeoutException):
            return Unreachable(f"the platform at {self.url} did not answer within {self.timeout:g} s")
        reason = str(exc) or type(exc).__name__
        return Unreachable(f"cannot reach the platform at {self.url} ({reason}); is it running? (--url, AGENTIC_URL)")

    def _not_the_api(self, method: str, path: str, response: httpx.Response) -> CliError:
        return Unreachable(
            f"{self.url} answered {response.status_code} {response.reason_phrase} to {method} {path}, "
            "not as the platform's API does; is --url (AGENTIC_URL) right?"
        )

    def _refusal(self, method: str, path: str, response: httpx.Response) -> CliError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "message" not in body:
            if response.status_code in (401, 403):
                body = {"message": response.reason_phrase}
            else:
                return self._not_the_api(method, path, response)
        message = str(body.get("message"))
        if response.status_code == 401:
            if not self.has_key:
                return AuthFailed(
                    f"authentication failed (401): the platform at {self.url} needs an API key; "
                    "pass --api-key or set AGENTIC_API_KEY",
                    401,
                )
            return AuthFailed(
                f"authentication failed (401): the platform at {self.url} did not accept the API key "
                f"(--api-key / AGENTIC_API_KEY): {message}",
                401,
            )
        if response.status_code == 403:
            return AuthFailed(f"not allowed (403): {message}", 403)
        problems = [problem_text(problem) for problem in body.get("problems") or []]
        return ApiRefused(response.status_code, str(body.get("error", "error")), message, problems)
