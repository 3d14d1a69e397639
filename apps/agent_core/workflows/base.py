"""What the workflow engine needs from the run that executes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from apps.agent_core.model import ToolCall, ToolOutcome

RunStep = Callable[[str, ToolCall, int, float | None], Awaitable[ToolOutcome]]
"""``run_step(step_id, call, attempt, timeout)``: records the step, asks for approval if needed, calls the tool."""

StepSkipper = Callable[[str, str], Awaitable[None]]
"""``skip_step(step_id, reason)``: records a step that did not run (its ``when`` was false)."""

StepRecorder = Callable[[str, str], Awaitable[None]]
"""``recovered_step(step_id, fallback_id)``: records a failed step whose fallback's result stands in for it."""

Analyzer = Callable[[str, Any], Awaitable[str]]
"""``analyze(instruction, data)``: the reasoner's summary of the workflow's results."""
