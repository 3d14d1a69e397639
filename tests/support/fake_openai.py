"""A stand-in for an OpenAI-compatible chat-completions server (Ollama, vLLM, LM Studio) on 127.0.0.1.

    with run_fake_openai() as fake:
        fake.script(Reply.calls(FunctionCall("custom__get_weather", '{"location": "Paris"}')), Reply.text("Sunny."))
        reasoner = OpenAIReasoner(fake.base_url, "llama3.1")
        ...
        assert fake.calls[1].messages[-1]["role"] == "tool"

``POST /v1/chat/completions`` answers with the next scripted step: a ``Reply`` (text, or tool calls
whose ``arguments`` string is sent exactly as given, broken JSON included), a ``Fault`` (an HTTP
error such as 429 or 500, optionally with ``Retry-After``), or a function of the call returning
either. With the script empty it echoes the last user message. Every request is recorded.

Like real servers, the fake rejects with 400 (and without using a scripted step) a conversation
whose ``tool`` messages do not answer the previous assistant message's ``tool_calls``, and tools
with names outside ``[a-zA-Z0-9_-]{1,64}``. Set ``strict = False`` to accept anything.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support.scripted import ScriptedEndpoint
from tests.support.servers import serve_in_thread

__all__ = ["ChatCall", "FakeOpenAI", "Fault", "FunctionCall", "Reply", "Step", "conversation_error", "run_fake_openai"]

_HEALTH_PATH = "/__fake_openai/health"
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True)
class ChatCall:
    """One request as the fake received it."""

    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    """Lower-cased names."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def tools(self) -> list[dict[str, Any]] | None:
        return self.body.get("tools")

    @property
    def tool_names(self) -> list[str]:
        return [tool["function"]["name"] for tool in self.tools or []]

    @property
    def tool_messages(self) -> list[dict[str, Any]]:
        return [message for message in self.messages if message.get("role") == "tool"]

    @property
    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return str(message.get("content") or "")
        return ""


@dataclass(frozen=True)
class FunctionCall:
    """A tool call for a scripted reply; ``arguments`` is sent verbatim when it is a string."""

    name: str
    arguments: str | dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    content: str | None
    tool_calls: tuple[FunctionCall, ...] = ()
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    """Counted from the request's words when not given."""
    completion_tokens: int | None = None
    include_usage: bool = True
    """Some servers leave ``usage`` out."""

    @classmethod
    def text(cls, text: str, *, finish_reason: str = "stop", **extra: Any) -> Reply:
        return cls(content=text, finish_reason=finish_reason, **extra)

    @classmethod
    def calls(cls, *calls: FunctionCall, text: str | None = None, **extra: Any) -> Reply:
        if not calls:
            raise ValueError("Reply.calls needs at least one FunctionCall")
        extra.setdefault("finish_reason", "tool_calls")
        return cls(content=text, tool_calls=calls, **extra)


@dataclass(frozen=True)
class Fault:
    status: int
    message: str
    retry_after: str | None = None

    @classmethod
    def rate_limited(cls, retry_after: str | None = None) -> Fault:
        return cls(429, "Rate limit reached for requests", retry_after)

    @classmethod
    def server_error(cls, message: str = "The server had an error while processing your request.") -> Fault:
        return cls(500, message)

    @classmethod
    def unauthorized(cls) -> Fault:
        return cls(401, "Incorrect API key provided.")

    @classmethod
    def not_found(cls, model: str = "missing") -> Fault:
        return cls(404, f"model '{model}' not found")


Step = Reply | Fault | Callable[[ChatCall], Reply | Fault]


def conversation_error(body: dict[str, Any]) -> str | None:
    """The 400 message a strict server would give this request, or None if it would accept it."""
    for tool in body.get("tools") or []:
        name = str((tool.get("function") or {}).get("name", ""))
        if tool.get("type") != "function" or not _TOOL_NAME.fullmatch(name):
            return f"Invalid 'tools': function name {name!r} must match ^[a-zA-Z0-9_-]{{1,64}}$"
    messages = body.get("messages") or []
    if not messages:
        return "'messages' must contain at least one message"
    expected: list[str] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in expected:
                return (
                    f"Invalid parameter: messages[{index}] with role 'tool' must be a response to a preceding "
                    f"message with 'tool_calls' (unknown tool_call_id {call_id!r})."
                )
            expected.remove(call_id)
            if not isinstance(message.get("content"), str):
                return f"messages[{index}].content must be a string"
            continue
        if expected:
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(expected)}"
            )
        if role not in ("system", "user", "assistant"):
            return f"messages[{index}].role {role!r} is not one of system, user, assistant, tool"
        expected = [call["id"] for call in message.get("tool_calls") or []] if role == "assistant" else []
    return None


class FakeOpenAI(ScriptedEndpoint[ChatCall, Step]):
    """A scripted OpenAI-compatible endpoint; ``base_url`` ends in ``/v1``, as clients are usually configured."""

    listed_models: tuple[str, ...] = ("llama3.2:1b",)
    """What ``GET /v1/models`` lists, in the OpenAI shape that Ollama and LM Studio also serve:
    ``{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}``."""

    async def _models(self, _: Request) -> Response:
        data = [
            {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "library"}
            for name in self.listed_models
        ]
        return JSONResponse({"object": "list", "data": data})

    async def _complete(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(Fault(400, "We could not parse the JSON body of your request."))
        call = ChatCall(body=body, headers=dict(request.headers))
        invalid = conversation_error(body) if self.strict else None
        with self._lock:
            self._calls.append(call)
            step = self._script.popleft() if self._script and invalid is None else None
        if invalid is not None:
            return _error(Fault(400, invalid))
        answer = step(call) if callable(step) else step
        if answer is None:
            answer = Reply.text(f"echo: {call.last_user_text}")
        if isinstance(answer, Fault):
            return _error(answer)
        return _reply(answer, body)


def _error(fault: Fault) -> Response:
    headers = {"retry-after": fault.retry_after} if fault.retry_after is not None else None
    payload = {"error": {"message": fault.message, "type": "invalid_request_error", "code": None}}
    return JSONResponse(payload, status_code=fault.status, headers=headers)


def _words(body: dict[str, Any]) -> int:
    return sum(len(str(message.get("content") or "").split()) for message in body.get("messages", []))


def _reply(reply: Reply, body: dict[str, Any]) -> Response:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id or f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments),
                },
            }
            for call in reply.tool_calls
        ]
    payload: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "model": body.get("model"),
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
    }
    if reply.include_usage:
        prompt = reply.prompt_tokens if reply.prompt_tokens is not None else max(1, _words(body))
        completion = (
            reply.completion_tokens
            if reply.completion_tokens is not None
            else max(1, len((reply.content or "").split()))
        )
        payload["usage"] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }
    return JSONResponse(payload)


async def _health(_: Request) -> Response:
    return PlainTextResponse("OK")


@contextmanager
def run_fake_openai() -> Iterator[FakeOpenAI]:
    """Serve a ``FakeOpenAI`` on a free 127.0.0.1 port for the duration of the block."""
    fake = FakeOpenAI(base_url="")
    app = Starlette(
        routes=[
            Route(_HEALTH_PATH, _health),
            Route("/v1/chat/completions", fake._complete, methods=["POST"]),
            Route("/v1/models", fake._models, methods=["GET"]),
        ]
    )
    with serve_in_thread(app, ready_path=_HEALTH_PATH) as url:
        fake.base_url = f"{url}/v1"
        yield fake
