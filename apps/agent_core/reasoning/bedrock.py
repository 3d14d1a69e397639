"""The ``bedrock`` reasoner: Amazon Bedrock's Converse API with tool use.

Every request carries ``toolConfig`` when the run has tools: Bedrock rejects a conversation with
``toolUse``/``toolResult`` blocks and no tool configuration, and the model needs the list on every
turn anyway. Tool results go back as ``toolResult`` blocks (``{"json": ...}`` for structured results,
``{"text": ...}`` otherwise, ``{"image": ...}`` for a result's images, ``status: "error"`` for failures).
Converse documents images in tool results for Amazon Nova and Anthropic Claude models only, and
``toolResult.status`` likewise; a model that refuses either gets the conversation again without it,
images described in text, and never gets it again.

botocore's own retries are turned off (one attempt) so that this module's backoff, whose attempts
and delays are known and testable, is the only one. The client comes from the default credentials
chain and honours ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``; no endpoint is ever set here.
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from apps.agent_core.model import ModelTurn, TokenUsage, ToolOutcome, ToolSpec
from apps.agent_core.reasoning.base import Budget, ReasonerError, ReasoningResult, ToolExecutor, TurnRecorder
from apps.agent_core.reasoning.conversation import (
    DEFAULT_SYSTEM_PROMPT,
    NO_IMAGES,
    SUMMARY_SYSTEM_PROMPT,
    ImagePart,
    JsonPart,
    ResultPart,
    cut_off_note,
    image_note,
    summary_prompt,
    tool_result_parts,
    with_note,
)
from apps.agent_core.reasoning.loop import ChatTurn, RequestedCall, run_tool_loop
from apps.agent_core.reasoning.retry import ModelRetryPolicy, Sleep, with_retries
from apps.agent_core.reasoning.tool_names import ToolNameMap, input_schema, tool_description

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

__all__ = ["DEFAULT_REGION", "BedrockReasoner", "create_bedrock_reasoner"]

DEFAULT_REGION = "us-west-2"
CONNECT_TIMEOUT_SECONDS = 5.0
# A model writing a long answer takes tens of seconds; a read timeout shorter than that would cut it off.
READ_TIMEOUT_SECONDS = 120.0
USER_AGENT_SUFFIX = "agentic-workflows-platform/agent-core"

RETRYABLE_CODES = frozenset(
    {"ThrottlingException", "ServiceUnavailableException", "InternalServerException", "ModelNotReadyException"}
)
_ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied"})
_BAD_CREDENTIAL_CODES = frozenset(
    {"UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "InvalidClientTokenId"}
)
_MAX_AWS_MESSAGE_CHARS = 500
# Only some models (Anthropic's, Amazon's) accept toolResult.status; others reject the request with
# a ValidationException naming the field. The error text in the result says "Error:" either way.
_STATUS_FIELD = "toolResult.status"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "Unknown")


def _aws_message(exc: ClientError) -> str:
    message = " ".join(str(exc.response.get("Error", {}).get("Message") or "").split())
    return message if len(message) <= _MAX_AWS_MESSAGE_CHARS else message[:_MAX_AWS_MESSAGE_CHARS] + "…"


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def is_retryable(exc: Exception) -> bool:
    """Throttling, a model still loading, 5xx and connection failures; not timeouts or refusals."""
    if isinstance(exc, ClientError):
        return _code(exc) in RETRYABLE_CODES or _status(exc) >= 500
    return isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError))


class BedrockReasoner:
    """Reasons with one Bedrock model through Converse; the client may be shared between reasoners."""

    name = "bedrock"

    def __init__(
        self,
        client: BedrockRuntimeClient,
        model_id: str,
        *,
        max_tokens_per_turn: int = 2048,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        retry: ModelRetryPolicy | None = None,
        sleep: Sleep = anyio.sleep,
        rand: Callable[[], float] = random.random,
        close_client: bool = False,
    ) -> None:
        if not model_id.strip():
            raise ValueError("model_id must not be empty")
        if max_tokens_per_turn < 1:
            raise ValueError(f"max_tokens_per_turn must be at least 1, got {max_tokens_per_turn}")
        if not system_prompt.strip():
            raise ValueError("system_prompt must not be empty")
        self.model: str | None = model_id
        self._model_id = model_id
        self._client = client
        self.max_tokens_per_turn = max_tokens_per_turn
        self.system_prompt = system_prompt
        self._retry = retry or ModelRetryPolicy()
        self._sleep = sleep
        self._rand = rand
        self._close_client = close_client
        self._send_status = True
        self._send_images = True

    async def run(
        self,
        task: str,
        tools: list[ToolSpec],
        execute: ToolExecutor,
        record_turn: TurnRecorder,
        budget: Budget,
        *,
        replay: Mapping[int, ModelTurn] | None = None,
    ) -> ReasoningResult:
        return await run_tool_loop(
            _BedrockChat(self),
            task=task,
            tools=tools,
            execute=execute,
            record_turn=record_turn,
            budget=budget,
            max_tokens_per_turn=self.max_tokens_per_turn,
            replay=replay,
        )

    async def summarize(self, instruction: str, data: Any) -> tuple[str, TokenUsage]:
        response = await self.converse(
            {
                "messages": [{"role": "user", "content": [{"text": summary_prompt(instruction, data)}]}],
                "system": [{"text": SUMMARY_SYSTEM_PROMPT}],
                "inferenceConfig": {"maxTokens": self.max_tokens_per_turn},
            }
        )
        turn = _parse(response)
        text = turn.text.strip() or "The model returned no summary."
        if turn.stop_reason == "max_tokens":
            text = with_note(turn.text, cut_off_note(self.max_tokens_per_turn, []))
        return text, turn.usage

    async def aclose(self) -> None:
        if self._close_client:
            await anyio.to_thread.run_sync(self._client.close)

    async def converse(self, request: dict[str, Any]) -> dict[str, Any]:
        """One Converse call with retries; every failure becomes a ``ReasonerError``."""
        # Every pass but the last turns a feature off for good, so there are at most three.
        while True:
            try:
                return await self._converse_with_retries(request)
            except ClientError as exc:
                if not self._leave_out_refused(exc, request):
                    raise ReasonerError(self._describe(exc)) from exc
            except BotoCoreError as exc:
                raise ReasonerError(self._describe(exc)) from exc

    def _leave_out_refused(self, exc: ClientError, request: dict[str, Any]) -> bool:
        """Whether the model refused a field this reasoner can do without; if so, the field is gone from
        ``request``'s history (the messages are the loop's own) and from every later turn."""
        if _code(exc) != "ValidationException":
            return False
        message = _aws_message(exc)
        results = [
            block["toolResult"]
            for turn in request.get("messages", [])
            for block in turn.get("content", [])
            if "toolResult" in block
        ]
        if self._send_status and _STATUS_FIELD in message:
            self._send_status = False
            for result in results:
                result.pop("status", None)
            return True
        # E.g. "This model doesn't support the image field for user messages."
        if self._send_images and "image" in message.lower() and _describe_images(results):
            self._send_images = False
            return True
        return False

    async def _converse_with_retries(self, request: dict[str, Any]) -> dict[str, Any]:
        call = functools.partial(self._client.converse, modelId=self._model_id, **request)

        async def attempt() -> dict[str, Any]:
            return dict(await anyio.to_thread.run_sync(call))

        return await with_retries(
            attempt,
            policy=self._retry,
            retryable=is_retryable,
            what=f"Bedrock Converse with {self._model_id}",
            sleep=self._sleep,
            rand=self._rand,
        )

    def _describe(self, exc: ClientError | BotoCoreError) -> str:
        model, region = self._model_id, self._client.meta.region_name
        attempts = self._retry.max_attempts
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return (
                "No AWS credentials were found for calling Bedrock: give this service an IAM role "
                "(EKS Pod Identity in the cluster) or AWS credentials in its environment."
            )
        if isinstance(exc, ClientError):
            code, message = _code(exc), _aws_message(exc)
            if code in _ACCESS_DENIED_CODES:
                # AWS's text names the role ARN and account id; the model id is what the user needs.
                return (
                    f"Access to Bedrock model {model} was denied in {region}. Enable access to this model in "
                    "the Bedrock console and allow bedrock:InvokeModel on it for this service's IAM role."
                )
            if code in _BAD_CREDENTIAL_CODES:
                return f"AWS rejected this service's credentials for Bedrock ({code}): they are invalid or expired."
            if code == "ValidationException":
                return f"Bedrock rejected the request for model {model}: {message}"
            if code == "ResourceNotFoundException":
                return f"Bedrock model {model} was not found in {region}: {message}"
            if is_retryable(exc):
                return (
                    f"Bedrock kept failing for model {model} ({code}) after {attempts} attempts: {message} "
                    "Try again later."
                )
            return f"Bedrock returned {code} for model {model}: {message}"
        if isinstance(exc, ReadTimeoutError):
            return f"Bedrock did not answer within {READ_TIMEOUT_SECONDS:g} s for model {model}."
        if is_retryable(exc):
            return f"Could not connect to Bedrock Runtime in {region} after {attempts} attempts."
        return f"The AWS SDK failed calling Bedrock model {model} ({type(exc).__name__})."

    def _tool_result_block(self, call: RequestedCall, outcome: ToolOutcome) -> dict[str, Any]:
        content = [_content_block(part) for part in tool_result_parts(outcome, images=self._send_images)]
        result: dict[str, Any] = {"toolUseId": call.id, "content": content}
        if not outcome.ok and self._send_status:
            result["status"] = "error"
        return {"toolResult": result}


def _content_block(part: ResultPart) -> dict[str, Any]:
    if isinstance(part, ImagePart):
        # boto3 takes the bytes themselves and base64-encodes them for the wire.
        return {"image": {"format": part.format, "source": {"bytes": part.raw}}}
    if isinstance(part, JsonPart):
        return {"json": part.value}
    return {"text": part.text}


def _describe_images(results: list[dict[str, Any]]) -> bool:
    """Replace every image in these tool results by a note; whether there was one."""
    found = False
    for result in results:
        content = result.get("content", [])
        for index, block in enumerate(content):
            if "image" in block:
                image = block["image"]
                size = len(image.get("source", {}).get("bytes") or b"")
                content[index] = {"text": image_note(f"image/{image.get('format')}", size, NO_IMAGES)}
                found = True
    return found


def _parse(response: dict[str, Any]) -> ChatTurn:
    message = response.get("output", {}).get("message") or {}
    content: list[dict[str, Any]] = list(message.get("content") or [])
    text = "\n".join(block["text"] for block in content if isinstance(block.get("text"), str))
    calls: list[RequestedCall] = []
    for block in content:
        use = block.get("toolUse")
        if use is None:
            continue
        arguments = use.get("input")
        if isinstance(arguments, dict):
            calls.append(RequestedCall(id=use["toolUseId"], name=use["name"], arguments=arguments))
        else:
            error = "The tool input must be a JSON object whose properties are the tool's arguments. Call it again."
            calls.append(RequestedCall(id=use["toolUseId"], name=use["name"], arguments={}, argument_error=error))
    usage = response.get("usage") or {}
    return ChatTurn(
        text=text,
        calls=calls,
        stop_reason=str(response.get("stopReason") or "end_turn"),
        usage=TokenUsage(
            input_tokens=int(usage.get("inputTokens") or 0), output_tokens=int(usage.get("outputTokens") or 0)
        ),
        message={"role": "assistant", "content": content},
    )


class _BedrockChat:
    def __init__(self, reasoner: BedrockReasoner) -> None:
        self._reasoner = reasoner
        self.model = reasoner._model_id

    def start(self, task: str) -> list[Any]:
        return [{"role": "user", "content": [{"text": task}]}]

    async def complete(self, history: list[Any], tools: ToolNameMap, max_tokens: int) -> ChatTurn:
        request: dict[str, Any] = {
            "messages": history,
            "system": [{"text": self._reasoner.system_prompt}],
            "inferenceConfig": {"maxTokens": max_tokens},
        }
        if len(tools):
            request["toolConfig"] = {
                "tools": [
                    {
                        "toolSpec": {
                            "name": tools.name_for(spec),
                            "description": tool_description(spec),
                            "inputSchema": {"json": input_schema(spec)},
                        }
                    }
                    for spec in tools.specs
                ]
            }
        return _parse(await self._reasoner.converse(request))

    def tool_results(self, turn: ChatTurn, outcomes: list[ToolOutcome]) -> list[Any]:
        blocks = [
            self._reasoner._tool_result_block(call, outcome) for call, outcome in zip(turn.calls, outcomes, strict=True)
        ]
        return [{"role": "user", "content": blocks}]


def _region(session: boto3.Session) -> str:
    # botocore reads only AWS_DEFAULT_REGION; AWS_REGION is what EKS and the other SDKs set.
    for candidate in (os.environ.get("AWS_REGION"), os.environ.get("AWS_DEFAULT_REGION"), session.region_name):
        if candidate and candidate.strip():
            return candidate.strip()
    return DEFAULT_REGION


def create_bedrock_reasoner(
    model_id: str,
    *,
    session: boto3.Session | None = None,
    max_tokens_per_turn: int = 2048,
    system_prompt: str = DEFAULT_SYSTEM_PROMPT,
    retry: ModelRetryPolicy | None = None,
    sleep: Sleep = anyio.sleep,
) -> BedrockReasoner:
    """A ``BedrockReasoner`` with its own ``bedrock-runtime`` client from the default credentials chain."""
    session = session or boto3.Session()
    config = Config(
        region_name=_region(session),
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        user_agent_extra=USER_AGENT_SUFFIX,
        max_pool_connections=32,
    )
    client = session.client("bedrock-runtime", config=config)
    return BedrockReasoner(
        client,
        model_id,
        max_tokens_per_turn=max_tokens_per_turn,
        system_prompt=system_prompt,
        retry=retry,
        sleep=sleep,
        close_client=True,
    )
