"""A step result with an image, a resource and a link, in ``show`` and in a followed run: a line per block."""

from __future__ import annotations

import base64
from typing import Any

from apps.cli.content import content_lines
from apps.cli.narration import RunNarrator
from apps.cli.text import Style
from apps.cli.views import run_detail

PNG = base64.b64encode(bytes(1229)).decode()
RESULT = {
    "content": [
        {"type": "text", "text": "Here's the image you requested:"},
        {"type": "image", "mimeType": "image/png", "data": PNG},
        {"type": "image", "mimeType": "image/png", "omitted": "2.0 MiB not kept: over the 62.5 KiB kept"},
        {"type": "audio", "mimeType": "audio/wav", "data": base64.b64encode(bytes(100)).decode()},
        {"type": "resource", "resource": {"uri": "file:///x", "mimeType": "text/plain", "text": "y" * 340}},
        {"type": "resource", "resource": {"uri": "file:///z.gz", "mimeType": "application/gzip", "blob": "AAAA"}},
        {"type": "resource_link", "uri": "https://example.com/r", "name": "r", "title": "The report"},
    ],
    "structuredContent": {"pages": 2},
}
LINES = [
    "text: Here's the image you requested:",
    "image/png 1.2 KiB",
    "image/png 2.0 MiB not kept: over the 62.5 KiB kept",
    "audio/wav 100 B",
    "resource file:///x (text, 340 chars)",
    "resource file:///z.gz (application/gzip, 3 B)",
    "link https://example.com/r (The report)",
    'structured: {"pages": 2}',
]


def view(result: Any) -> dict[str, Any]:
    step = {"id": "shot", "server": "everything", "tool": "get-tiny-image", "status": "succeeded", "result": result}
    return {"id": "r1", "kind": "workflow", "status": "succeeded", "steps": [step], "usage": {}}


def test_show_prints_a_line_per_block_and_no_base64() -> None:
    text = "\n".join(run_detail(view(RESULT), Style(color=False), "agentic", now=0))
    assert "  ✓ shot  everything.get-tiny-image  succeeded  -  7 content blocks:" in text
    assert [line.strip() for line in text.splitlines() if line.startswith("      ")] == LINES
    assert PNG[:20] not in text


def test_a_followed_run_prints_the_same_lines_under_the_finished_step() -> None:
    narrator = RunNarrator("r1", Style(color=False, unicode=False), "agentic")
    event = {"step_id": "shot", "server": "everything", "tool": "get-tiny-image", "status": "succeeded"}
    lines = narrator.apply({"seq": 1, "type": "step_finished", "at": 1.0, "data": {**event, "result": RESULT}})
    assert [line.text for line in lines] == [
        "+ shot  everything.get-tiny-image  -  7 content blocks:",
        *(f"    {line}" for line in LINES),
    ]


def test_other_results_are_not_taken_for_blocks() -> None:
    assert content_lines("plain text") is None
    assert content_lines({"content": [{"type": "text", "text": "only text"}]}) is None
    assert content_lines({"content": [{"type": "image"}], "page": 1}) is None
    text = "\n".join(run_detail(view({"content": "x", "rows": 2}), Style(color=False), "agentic", now=0))
    assert '{"content": "x", "rows": 2}' in text
