"""The agent core's own caps on a tool result: what the journal stores, and what one model message carries."""

from __future__ import annotations

import json

from apps.agent_core.model import ToolOutcome
from apps.agent_core.reasoning.conversation import MAX_TOOL_RESULT_CHARS, tool_result_payload
from apps.agent_core.runs.steps import stored_result


def test_a_result_over_the_journal_limit_is_stored_as_a_marked_preview() -> None:
    small = {"rows": [1, 2, 3]}
    assert stored_result(small, 1024) == small
    big = {"rows": ["x" * 100] * 100}
    stored = stored_result(big, 1024)
    assert stored["truncated"] is True and stored["size_bytes"] == len(json.dumps(big).encode())
    assert len(stored["preview"]) == 512 and stored["preview"].startswith('{"rows": ["xxx')


def test_a_result_over_the_model_limit_is_cut_with_a_note() -> None:
    outcome = ToolOutcome(call_id="c", ok=True, result={"text": "y" * (MAX_TOOL_RESULT_CHARS * 2)})
    kind, payload = tool_result_payload(outcome)
    assert kind == "text" and len(payload) < MAX_TOOL_RESULT_CHARS + 100
    assert payload.endswith("more characters]") and "[cut:" in payload
    assert tool_result_payload(ToolOutcome(call_id="c", ok=True, result={"a": 1})) == ("json", {"a": 1})
