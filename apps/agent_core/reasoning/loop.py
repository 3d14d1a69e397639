"""The tool-use loop the model-backed reasoners share; each provider supplies a ``ChatModel``.

One turn: ask the model, record the turn, then hand every tool call of that turn to ``execute`` at
once (it runs them concurrently) and give the outcomes back in the order the model asked. Calls
the platform can answer without running anything (an unknown tool name, arguments that are not a
JSON object) get an error result that tells the model how to correct itself; they never reach
``execute``. A tool error its server calls not retryable says so to the model (``NOT_RETRYABLE_NOTE``),
so that it does not spend turns sending the same call again. The loop stops when the model answers
without asking for tools, or at the budget: it never runs tools whose results no model turn would read.

Each recorded turn keeps what is needed to continue without the model (``ModelTurn.resume``: the
calls as written and the provider's message). A resumed run passes those turns as ``replay``: the
loop reads them back instead of asking the model, and the journal answers their tool calls, so the
conversation continues where it stopped and the model is asked only for turns it never answered.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from apps.agent_core.model import ModelTurn, TokenUsage, ToolCall, ToolOutcome, ToolSpec, offered
from apps.agent_core.reasoning.base import Budget, ReasoningResult, ToolExecutor, TurnRecorder
from apps.agent_core.reasoning.conversation import budget_note, cut_off_note, with_note
from apps.agent_core.reasoning.tool_names import ToolNameMap

__all__ = ["NOT_RETRYABLE_NOTE", "ChatModel", "ChatTurn", "RequestedCall", "run_tool_loop", "unknown_tool_message"]

# Stop reasons, normalized across providers: OpenAI's "stop"/"tool_calls"/"length" become these.
END_TURN = "end_turn"
TOOL_USE = "tool_use"
MAX_TOKENS = "max_tokens"
MAX_TURNS = "max_turns"
_FINAL_REASONS = frozenset({END_TURN, "stop_sequence", TOOL_USE})
NOT_RETRYABLE_NOTE = "(Sending this same call again will not help.)"


@dataclass(frozen=True)
class RequestedCall:
    """One tool call as the model wrote it, before the platform decides what to do with it."""

    id: str
    name: str
    """The model-facing name (see ``ToolNameMap``)."""
    arguments: dict[str, Any]
    argument_error: str | None = None
    """Set when the model's arguments could not be used; the call is answered with this error."""


@dataclass(frozen=True)
class ChatTurn:
    text: str
    calls: list[RequestedCall]
    stop_reason: str
    usage: TokenUsage
    message: Any
    """The assistant message in the provider's own format, kept in the history as it came."""


class ChatModel(Protocol):
    """One provider's wire format; errors surface as ``ReasonerError``."""

    model: str

    def start(self, task: str) -> list[Any]:
        """The history before the first turn."""
        ...

    async def complete(self, history: list[Any], tools: ToolNameMap, max_tokens: int) -> ChatTurn: ...

    def tool_results(self, turn: ChatTurn, outcomes: list[ToolOutcome]) -> list[Any]:
        """The messages that answer ``turn``'s calls, ``outcomes`` in the same order as ``turn.calls``."""
        ...


def _replayed(saved: ModelTurn | None) -> ChatTurn | None:
    if saved is None or saved.resume is None:
        return None
    return ChatTurn(
        text=saved.text,
        calls=[RequestedCall(**call) for call in saved.resume.get("calls", [])],
        stop_reason=saved.stop_reason,
        usage=saved.usage,
        message=saved.resume.get("message"),
    )


def unknown_tool_message(name: str, tools: ToolNameMap) -> str:
    valid = ", ".join(tools.names) or "none (no tools are available)"
    return f"There is no tool named {name!r}. Call one of these tools by its exact name: {valid}."


def _to_tool_call(request: RequestedCall, spec: ToolSpec | None) -> ToolCall:
    # Calls the platform refuses are still journaled as asked; the empty server marks them unresolved.
    if spec is None:
        return ToolCall(id=request.id, server="", tool=request.name, arguments=request.arguments)
    return ToolCall(id=request.id, server=spec.server, tool=spec.name, arguments=request.arguments)


async def _run_calls(requests: list[RequestedCall], tools: ToolNameMap, execute: ToolExecutor) -> list[ToolOutcome]:
    answered: dict[str, ToolOutcome] = {}
    runnable: list[ToolCall] = []
    for request in requests:
        spec = tools.spec_for(request.name)
        if spec is None:
            answered[request.id] = ToolOutcome(
                call_id=request.id, ok=False, error=unknown_tool_message(request.name, tools)
            )
        elif request.argument_error is not None:
            answered[request.id] = ToolOutcome(call_id=request.id, ok=False, error=request.argument_error)
        else:
            runnable.append(_to_tool_call(request, spec))
    if runnable:
        for outcome in await execute(runnable):
            answered.setdefault(outcome.call_id, _as_told(outcome))
    missing = "The platform returned no result for this call; try it again."
    return [answered.get(r.id) or ToolOutcome(call_id=r.id, ok=False, error=missing) for r in requests]


def _as_told(outcome: ToolOutcome) -> ToolOutcome:
    """The outcome as the model reads it: a failure that retrying cannot fix says so."""
    if outcome.ok or outcome.retryable is not False:
        return outcome
    return outcome.model_copy(update={"error": f"{outcome.error or 'The tool failed.'}\n{NOT_RETRYABLE_NOTE}"})


async def run_tool_loop(
    chat: ChatModel,
    *,
    task: str,
    tools: list[ToolSpec],
    execute: ToolExecutor,
    record_turn: TurnRecorder,
    budget: Budget,
    max_tokens_per_turn: int,
    replay: Mapping[int, ModelTurn] | None = None,
) -> ReasoningResult:
    names = ToolNameMap(offered(tools))  # a tool its server cannot run now is not shown to the model
    history = chat.start(task)
    usage = TokenUsage()
    last_text = ""

    def stopped(reason: str, turns: int, note: str) -> ReasoningResult:
        return ReasoningResult(final_answer=with_note(last_text, note), stop_reason=reason, usage=usage, turns=turns)

    for index in range(1, budget.max_turns + 1):
        remaining = budget.max_tokens - usage.input_tokens - usage.output_tokens
        if remaining <= 0:
            return stopped(MAX_TOKENS, index - 1, budget_note(MAX_TOKENS, budget, []))
        # The output of one turn cannot exceed what is left of the run's budget.
        turn_limit = max(1, min(max_tokens_per_turn, remaining))
        started = time.perf_counter()
        turn = _replayed((replay or {}).get(index)) or await chat.complete(history, names, turn_limit)
        duration_ms = (time.perf_counter() - started) * 1000
        usage = usage.plus(turn.usage)
        if turn.text.strip():
            last_text = turn.text
        calls = [_to_tool_call(request, names.spec_for(request.name)) for request in turn.calls]
        # Recorded before any tool runs, so the journal shows what the model asked even if a tool hangs.
        await record_turn(
            ModelTurn(
                index=index,
                model=chat.model,
                text=turn.text,
                tool_calls=calls,
                stop_reason=turn.stop_reason,
                usage=turn.usage,
                duration_ms=round(duration_ms, 3),
                resume={"calls": [asdict(call) for call in turn.calls], "message": turn.message},
            )
        )
        pending = [f"{call.server}.{call.tool}" if call.server else call.tool for call in calls]
        if turn.stop_reason == MAX_TOKENS:
            return stopped(MAX_TOKENS, index, cut_off_note(turn_limit, pending))
        if not turn.calls:
            if turn.stop_reason in _FINAL_REASONS:
                answer = turn.text.strip() or "The model finished without writing an answer."
            else:
                answer = turn.text.strip() or f"The model stopped ({turn.stop_reason}) without an answer."
            return ReasoningResult(final_answer=answer, stop_reason=turn.stop_reason, usage=usage, turns=index)
        if index == budget.max_turns:
            return stopped(MAX_TURNS, index, budget_note(MAX_TURNS, budget, pending))
        if usage.input_tokens + usage.output_tokens >= budget.max_tokens:
            return stopped(MAX_TOKENS, index, budget_note(MAX_TOKENS, budget, pending))
        outcomes = await _run_calls(turn.calls, names, execute)
        history.append(turn.message)
        history.extend(chat.tool_results(turn, outcomes))
    return stopped(MAX_TURNS, budget.max_turns, budget_note(MAX_TURNS, budget, []))
