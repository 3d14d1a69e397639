"""The agent core's own caps on a tool result: what the journal stores, and what one model message carries."""

from __future__ import annotations

import base64
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


def test_content_blocks_over_the_journal_limit_lose_their_largest_blobs_and_keep_the_rest() -> None:
    big = base64.b64encode(bytes(30_000)).decode()
    small = base64.b64encode(b"tiny png").decode()
    result = {
        "content": [
            {"type": "text", "text": "Two images:"},
            {"type": "image", "mimeType": "image/png", "data": big},
            {"type": "image", "mimeType": "image/png", "data": small},
            {"type": "resource_link", "uri": "https://example.com/a", "name": "a"},
        ],
        "structuredContent": {"count": 2},
    }
    stored = stored_result(result, 4096)
    assert len(json.dumps(stored).encode()) <= 4096
    assert stored == {
        "content": [
            {"type": "text", "text": "Two images:"},
            {
                "type": "image",
                "mimeType": "image/png",
                "omitted": "29.3 KiB not kept: over the 4.0 KiB kept of a step's result (AGENTIC_STORED_RESULT_BYTES)",
            },
            {"type": "image", "mimeType": "image/png", "data": small},
            {"type": "resource_link", "uri": "https://example.com/a", "name": "a"},
        ],
        "structuredContent": {"count": 2},
    }
    assert stored_result(result, 64_000) == result


def test_content_blocks_whose_text_alone_is_over_the_limit_become_a_preview() -> None:
    result = {
        "content": [
            {"type": "text", "text": "y" * 5000},
            {"type": "image", "mimeType": "image/png", "data": base64.b64encode(b"png").decode()},
        ]
    }
    stored = stored_result(result, 2048)
    assert stored["truncated"] is True and stored["preview"].startswith('{"content": [{"type": "text"')
