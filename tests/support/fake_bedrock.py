"""A stand-in for Bedrock Runtime's Converse API on 127.0.0.1, since moto does not implement it.

    with run_fake_bedrock() as bedrock:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.base_url)
        bedrock.script(Reply.tool_use(ToolCall("get_weather", {"city": "Paris"})), Reply.text("Sunny."))
        ...  # two converse calls
        assert all(call.tool_config for call in bedrock.calls)

It speaks the wire format boto3 uses: ``POST /model/{modelId}/converse`` (the id percent-encoded,
an ARN included) with the request as JSON, answered with ``output.message``, ``stopReason``,
``usage`` and ``metrics``. Each request takes the next scripted step (a ``Reply``, a ``Fault``,
or a function of the call returning either); with the script empty it echoes the last user text.

Errors are sent as Bedrock sends them: the status from the service model and an
``x-amzn-ErrorType: <Code>:<namespace>`` header, with ``{"message": ...}`` as the body. botocore's
rest-json parser takes the code from that header, so ``Fault.throttling()`` surfaces as a
``ClientError`` with code ``ThrottlingException`` (after botocore's own retries, each of which
takes a step from the script).

Like the real service, the fake rejects with ``ValidationException`` a conversation that does not
start with a user turn or alternate roles, ``toolUse``/``toolResult`` blocks without
``toolConfig``, tool results that do not answer the previous turn's tool uses, and tool specs
with bad names or empty descriptions. Set ``strict = False`` to accept anything.
"""

from __future__ import annotations

import asyncio
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

__all__ = [
    "ConverseCall",
    "FakeBedrock",
    "Fault",
    "Reply",
    "Step",
    "ToolCall",
    "conversation_error",
    "run_fake_bedrock",
]

_HEALTH_PATH = "/__fake_bedrock/health"
_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_MAX_DELAY_SECONDS = 10.0


@dataclass(frozen=True)
class ConverseCall:
    """One request as the fake received it."""

    model_id: str
    """Percent-decoded, as the caller named it."""
    raw_path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    """Lower-cased names."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def system(self) -> list[dict[str, Any]] | None:
        return self.body.get("system")

    @property
    def tool_config(self) -> dict[str, Any] | None:
        return self.body.get("toolConfig")

    @property
    def inference_config(self) -> dict[str, Any] | None:
        return self.body.get("inferenceConfig")

    @property
    def tool_names(self) -> list[str]:
        tools = (self.tool_config or {}).get("tools", [])
        return [tool["toolSpec"]["name"] for tool in tools if "toolSpec" in tool]

    @property
    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return "\n".join(block["text"] for block in message.get("content", []) if "text" in block)
        return ""


@dataclass(frozen=True)
class ToolCall:
    """A ``toolUse`` block for a scripted reply; the id is generated when not given."""

    name: str
    input: dict[str, Any]
    tool_use_id: str | None = None


@dataclass(frozen=True)
class Reply:
    """A successful Converse answer."""

    content: tuple[dict[str, Any], ...]
    stop_reason: str = "end_turn"
    input_tokens: int | None = None
    """Counted from the request's words when not given."""
    output_tokens: int | None = None
    """Counted from the reply's words when not given."""
    latency_ms: int = 7
    delay_seconds: float = 0.0
    """How long to wait before answering (capped at 10 s), for timeout tests."""

    @classmethod
    def text(cls, text: str, *, stop_reason: str = "end_turn", **extra: Any) -> Reply:
        return cls(content=({"text": text},), stop_reason=stop_reason, **extra)

    @classmethod
    def tool_use(cls, *calls: ToolCall, text: str | None = None, **extra: Any) -> Reply:
        """One assistant turn asking for ``calls`` (several run in parallel), after optional text."""
        if not calls:
            raise ValueError("Reply.tool_use needs at least one ToolCall")
        blocks: list[dict[str, Any]] = [{"text": text}] if text else []
        blocks += [
            {
                "toolUse": {
                    "toolUseId": call.tool_use_id or f"tooluse_{uuid.uuid4().hex[:22]}",
                    "name": call.name,
                    "input": call.input,
                }
            }
            for call in calls
        ]
        return cls(content=tuple(blocks), stop_reason="tool_use", **extra)


STRAY_AWS_VARIABLES = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ENDPOINT_URL",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)
"""Variables that could take boto3 elsewhere than the fake (other credentials, a profile, a general
endpoint): tests that point boto3 at the fake remove them first."""


@dataclass(frozen=True)
class Fault:
    """An error answer, as Bedrock sends it; status codes are the service model's."""

    status: int
    code: str
    message: str

    @classmethod
    def throttling(cls, message: str = "Too many requests, please wait before trying again.") -> Fault:
        return cls(429, "ThrottlingException", message)

    @classmethod
    def validation(cls, message: str = "The provided model identifier is invalid.") -> Fault:
        return cls(400, "ValidationException", message)

    @classmethod
    def internal(cls, message: str = "The server encountered an internal error.") -> Fault:
        return cls(500, "InternalServerException", message)

    @classmethod
    def access_denied(cls, message: str = "You don't have access to the model with the specified model ID.") -> Fault:
        return cls(403, "AccessDeniedException", message)

    @classmethod
    def not_found(cls, message: str = "The requested model was not found.") -> Fault:
        return cls(404, "ResourceNotFoundException", message)

    @classmethod
    def model_not_ready(cls, message: str = "The model is not ready to serve inference requests.") -> Fault:
        return cls(429, "ModelNotReadyException", message)

    @classmethod
    def unavailable(cls, message: str = "The service is temporarily unavailable.") -> Fault:
        return cls(503, "ServiceUnavailableException", message)


Step = Reply | Fault | Callable[[ConverseCall], Reply | Fault]


def _words(text: str) -> int:
    return len(text.split())


def _request_words(body: dict[str, Any]) -> int:
    blocks = [block for message in body.get("messages", []) for block in message.get("content", [])]
    blocks += body.get("system", [])
    return sum(_words(block["text"]) for block in blocks if isinstance(block.get("text"), str))


def conversation_error(body: dict[str, Any]) -> str | None:
    """The ValidationException message Bedrock would give this request, or None if it would accept it."""
    messages = body.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        return (
            "A conversation must start with a user message. "
            "Try again with a conversation that starts with a user message."
        )
    for index in range(1, len(messages)):
        if messages[index].get("role") == messages[index - 1].get("role"):
            return (
                "A conversation must alternate between user and assistant roles. Make sure the conversation "
                "alternates between user and assistant roles and try again."
            )
    uses_tools = any(
        "toolUse" in block or "toolResult" in block for message in messages for block in message.get("content", [])
    )
    tool_config = body.get("toolConfig")
    if uses_tools and not tool_config:
        return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
    for number, tool in enumerate((tool_config or {}).get("tools", []), start=1):
        spec = tool.get("toolSpec", {})
        if not _TOOL_NAME.fullmatch(str(spec.get("name", ""))):
            return (
                f"1 validation error detected: Value '{spec.get('name')}' at 'toolConfig.tools.{number}.member."
                "toolSpec.name' failed to satisfy constraint: Member must satisfy regular expression pattern: "
                "[a-zA-Z0-9_-]+"
            )
        if not str(spec.get("description", "")).strip():
            return f"The description of tool {spec.get('name')} must not be empty."
    for index in range(1, len(messages)):
        asked = [b["toolUse"]["toolUseId"] for b in messages[index - 1].get("content", []) if "toolUse" in b]
        answered = [b["toolResult"]["toolUseId"] for b in messages[index].get("content", []) if "toolResult" in b]
        if messages[index].get("role") == "user" and sorted(asked) != sorted(answered):
            if len(answered) > len(asked):
                return (
                    f"The number of toolResult blocks at messages.{index}.content exceeds the number of toolUse "
                    "blocks of previous turn."
                )
            missing = ", ".join(sorted(set(asked) - set(answered)))
            return f"Expected toolResult blocks at messages.{index}.content for the following Ids: {missing}"
    return None


class FakeBedrock(ScriptedEndpoint[ConverseCall, Step]):
    async def _converse(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _fault(Fault(400, "SerializationException", "The request body is not valid JSON."))
        raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("ascii", "replace")
        call = ConverseCall(
            model_id=request.path_params["model_id"], raw_path=raw_path, body=body, headers=dict(request.headers)
        )
        # Bedrock rejects a malformed conversation before any model sees it, so such a request
        # leaves the script alone: the step stays for the corrected request.
        invalid = conversation_error(body) if self.strict else None
        with self._lock:
            self._calls.append(call)
            step = self._script.popleft() if self._script and invalid is None else None
        if invalid is not None:
            return _fault(Fault.validation(invalid))
        answer = step(call) if callable(step) else step
        if answer is None:
            answer = Reply.text(f"echo: {call.last_user_text}")
        if isinstance(answer, Fault):
            return _fault(answer)
        if answer.delay_seconds > 0:
            await asyncio.sleep(min(answer.delay_seconds, _MAX_DELAY_SECONDS))
        return _reply(answer, body)


def _fault(fault: Fault) -> Response:
    headers = {"x-amzn-ErrorType": f"{fault.code}:{_ERROR_NAMESPACE}", "x-amzn-RequestId": str(uuid.uuid4())}
    return JSONResponse({"message": fault.message}, status_code=fault.status, headers=headers)


def _reply(reply: Reply, body: dict[str, Any]) -> Response:
    input_tokens = reply.input_tokens if reply.input_tokens is not None else max(1, _request_words(body))
    output_text = " ".join(block["text"] for block in reply.content if "text" in block)
    output_tokens = reply.output_tokens if reply.output_tokens is not None else max(1, _words(output_text))
    payload = {
        "output": {"message": {"role": "assistant", "content": list(reply.content)}},
        "stopReason": reply.stop_reason,
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens,
        },
        "metrics": {"latencyMs": reply.latency_ms},
    }
    return JSONResponse(payload, headers={"x-amzn-RequestId": str(uuid.uuid4())})


async def _health(_: Request) -> Response:
    return PlainTextResponse("OK")


@contextmanager
def run_fake_bedrock() -> Iterator[FakeBedrock]:
    """Serve a ``FakeBedrock`` on a free 127.0.0.1 port for the duration of the block."""
    fake = FakeBedrock(base_url="")
    app = Starlette(
        routes=[
            Route(_HEALTH_PATH, _health),
            Route("/model/{model_id:path}/converse", fake._converse, methods=["POST"]),
        ]
    )
    with serve_in_thread(app, ready_path=_HEALTH_PATH) as url:
        fake.base_url = url
        yield fake
