"""A tool result's content blocks as a step keeps them (``gateway/content.py``), from the SDK's types."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from mcp_types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from apps.agent_core.gateway.content import (
    block_text,
    decoded_size,
    for_text,
    human_size,
    result_text,
    shed_blobs,
    step_result,
    tool_content,
)

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(40))).decode()
WAV = base64.b64encode(b"RIFF" + bytes(1500)).decode()
GZIP = base64.b64encode(b"\x1f\x8b" + bytes(10)).decode()

EVERY_KIND: list[ContentBlock] = [
    TextContent(text="Here is everything:"),
    ImageContent(data=PNG, mime_type="image/png"),
    AudioContent(data=WAV, mime_type="audio/wav"),
    EmbeddedResource(resource=TextResourceContents(uri="file:///notes.txt", mime_type="text/plain", text="a\nb")),
    EmbeddedResource(resource=BlobResourceContents(uri="file:///data.gz", mime_type="application/gzip", blob=GZIP)),
    ResourceLink(uri="https://example.com/r/1", name="r1", title="Resource one", description="The first"),
    ResourceLink(uri="test://static/2", name="r2", mime_type="text/plain"),
]
KEPT: list[dict[str, Any]] = [
    {"type": "text", "text": "Here is everything:"},
    {"type": "image", "mimeType": "image/png", "data": PNG},
    {"type": "audio", "mimeType": "audio/wav", "data": WAV},
    {"type": "resource", "resource": {"uri": "file:///notes.txt", "mimeType": "text/plain", "text": "a\nb"}},
    {"type": "resource", "resource": {"uri": "file:///data.gz", "mimeType": "application/gzip", "blob": GZIP}},
    {
        "type": "resource_link",
        "uri": "https://example.com/r/1",
        "name": "r1",
        "title": "Resource one",
        "description": "The first",
    },
    {"type": "resource_link", "uri": "test://static/2", "name": "r2", "mimeType": "text/plain"},
]


def test_every_kind_of_block_is_kept_in_mcps_own_shape_with_its_data_intact() -> None:
    result = step_result(CallToolResult(content=EVERY_KIND))
    assert result == {"content": KEPT}
    assert base64.b64decode(result["content"][1]["data"]) == base64.b64decode(PNG)
    parsed = tool_content(result)
    assert parsed is not None and parsed.dump() == result and parsed.structured is None


def test_structured_content_is_kept_beside_blocks_that_are_not_text() -> None:
    result = step_result(CallToolResult(content=EVERY_KIND[:2], structured_content={"width": 20, "note": None}))
    assert result == {"content": KEPT[:2], "structuredContent": {"width": 20, "note": None}}
    parsed = tool_content(result)
    assert parsed is not None and parsed.structured == {"width": 20, "note": None}


@pytest.mark.parametrize(
    ("result", "kept"),
    [
        (CallToolResult(content=[TextContent(text="one"), TextContent(text="two")]), "one\ntwo"),
        (CallToolResult(content=[]), ""),
        (CallToolResult(content=[TextContent(text='{"a": 1}')], structured_content={"a": 1}), {"a": 1}),
    ],
)
def test_text_and_structured_results_keep_the_shape_workflows_already_read(result: CallToolResult, kept: Any) -> None:
    assert step_result(result) == kept
    assert tool_content(kept) is None


@pytest.mark.parametrize(
    "value",
    [
        {"content": [{"type": "text", "text": "only text"}]},  # never made: text-only results are strings
        {"content": [{"type": "image", "mimeType": "image/png", "data": PNG}], "page": 2},  # a structured result
        {"content": [{"type": "image", "data": PNG}]},  # no mimeType
        {"content": [{"type": "video", "uri": "x"}]},
        {"content": "text"},
        [{"type": "image", "mimeType": "image/png", "data": PNG}],
    ],
)
def test_only_results_of_that_shape_are_taken_for_content_blocks(value: Any) -> None:
    assert tool_content(value) is None


def test_blocks_as_text_describe_what_is_not_text() -> None:
    text = result_text(CallToolResult(content=EVERY_KIND, is_error=True))
    assert text.splitlines() == [
        "Here is everything:",
        "[image: image/png, 48 B]",
        "[audio: audio/wav, 1.5 KiB]",
        "[resource file:///notes.txt (text/plain)]",
        "a",
        "b",
        "[resource file:///data.gz (application/gzip, 12 B)]",
        "[resource link: https://example.com/r/1 (Resource one): The first]",
        "[resource link: test://static/2 (r2)]",
    ]


def test_sizes_are_read_from_base64_without_decoding() -> None:
    for raw in (b"", b"a", b"ab", b"abc", bytes(1000)):
        assert decoded_size(base64.b64encode(raw).decode()) == len(raw)
    assert [human_size(n) for n in (0, 1023, 1024, 1536, 3 * 1024 * 1024)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "1.5 KiB",
        "3.0 MiB",
    ]


def test_shedding_drops_the_largest_blobs_first_and_only_as_many_as_needed() -> None:
    content = tool_content(step_result(CallToolResult(content=EVERY_KIND)))
    assert content is not None
    shed = shed_blobs(content, 100, "too large").dump()["content"]
    # The audio (2 KB of base64) is the largest blob; dropping it is enough.
    assert shed[2] == {"type": "audio", "mimeType": "audio/wav", "omitted": "1.5 KiB not kept: too large"}
    assert shed[:2] == KEPT[:2] and shed[3:] == KEPT[3:]
    everything = shed_blobs(content, 10_000, "too large").dump()["content"]
    assert everything[1] == {"type": "image", "mimeType": "image/png", "omitted": "48 B not kept: too large"}
    assert everything[4]["resource"] == {
        "uri": "file:///data.gz",
        "mimeType": "application/gzip",
        "omitted": "12 B not kept: too large",
    }
    assert block_text(tool_content({"content": everything}).content[1]) == (  # type: ignore[union-attr]
        "[image: image/png, 48 B not kept: too large]"
    )


def test_text_prompts_get_blobs_described_wherever_they_are() -> None:
    result = step_result(CallToolResult(content=EVERY_KIND[:2]))
    context = {"steps": {"shot": {"result": result, "status": "succeeded"}, "n": {"result": [1, {"a": "b"}]}}}
    assert for_text(context) == {
        "steps": {
            "shot": {"result": {"content": ["Here is everything:", "[image: image/png, 48 B]"]}, "status": "succeeded"},
            "n": {"result": [1, {"a": "b"}]},
        }
    }
