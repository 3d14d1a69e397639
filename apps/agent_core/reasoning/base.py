"""The reasoning seam: a ``Reasoner`` turns a task into tool calls and a final answer.

Three implementations (``AGENTIC_REASONER``): ``bedrock`` (Converse with tool use), ``openai`` (any
OpenAI-compatible chat-completions endpoint) and ``offline`` (a deterministic planner, the default
when no model is configured). The loop is the reasoner's; running tools is not: it hands the calls
of one turn to ``execute``, which runs them concurrently, asks for approval where needed, records
each step, and returns outcomes in the same order. ``replay`` holds the turns a resumed run already
journaled, by index: a model-backed reasoner reads them back instead of asking the model again.
Tool results are untrusted data: they go back to the model as tool results, never as instructions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, Field

from apps.agent_core.model import ModelTurn, TokenUsage, ToolCall, ToolOutcome, ToolSpec


@dataclass(frozen=True)
class Budget:
    """Where a reasoning loop must stop even if the model would go on."""

    max_turns: int = 12
    max_tokens: int = 200_000


class ReasoningResult(BaseModel):
    final_answer: str
    stop_reason: str
    """``end_turn``, ``max_turns``, ``max_tokens`` or another model-specific reason."""
    usage: TokenUsage = Field(default_factory=TokenUsage)
    turns: int = 0
    unanswered: str | None = None
    """Why the reasoner could not plan anything for the task (the offline planner found no tool for it);
    ``None`` when it answered. The run then ends ``failed`` (``runs/outcome.py``)."""


ToolExecutor = Callable[[list[ToolCall]], Awaitable[list[ToolOutcome]]]
TurnRecorder = Callable[[ModelTurn], Awaitable[None]]


class ReasonerError(Exception):
    """The model could not be reached or refused the request; the message is safe to show."""


class Reasoner(Protocol):
    name: str
    """``bedrock``, ``openai`` or ``offline``: shown to users, so they know what answered."""
    model: str | None

    async def run(
        self,
        task: str,
        tools: list[ToolSpec],
        execute: ToolExecutor,
        record_turn: TurnRecorder,
        budget: Budget,
        *,
        replay: Mapping[int, ModelTurn] | None = None,
    ) -> ReasoningResult: ...

    async def summarize(self, instruction: str, data: Any) -> tuple[str, TokenUsage]:
        """One answer over ``data`` (a workflow's results), with no tools: the ``analyze`` step."""
        ...

    async def aclose(self) -> None: ...
