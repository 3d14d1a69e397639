"""A tool result's content blocks as the platform keeps them, and the step result they make.

An MCP tool answers with content blocks (text, image, audio, an embedded resource, a resource link)
and, optionally, ``structuredContent``. A step's result — what ``{{ steps.<id>.result… }}`` reads, what
the journal stores and what the run view, the dashboard and the CLI show — is, by this rule:

1. ``structuredContent``, when the server sent it and every block is text (MCP asks a server to repeat
   its structured result as text, so that text adds nothing);
2. else the text blocks joined by newlines, when every block is text;
3. else ``{"content": [block, …]}``, with ``"structuredContent"`` beside it when the server sent one:
   MCP's own ``CallToolResult`` shape, each block in MCP's wire shape without ``annotations`` and
   ``_meta`` — ``{"type": "text", "text"}``, ``{"type": "image" | "audio", "mimeType", "data"}`` (base64),
   ``{"type": "resource", "resource": {"uri", "mimeType", "text" | "blob"}}`` and
   ``{"type": "resource_link", "uri", "name", "title", "description", "mimeType"}``.

Shapes 1 and 2 are what the platform kept before it kept every content type, so a workflow reading a
text or structured result sees the same value as before. Shape 3 is recognized (``tool_content``) only
with at least one block that is not text, since only such a result has it. A blob too large for the
journal (``runs/steps.py``) loses its ``data`` or ``blob``, and ``omitted`` says what it was and why;
the other blocks stay.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp_types import (
    AudioContent,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    TextContent,
    TextResourceContents,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "AudioBlock",
    "Block",
    "ImageBlock",
    "LinkBlock",
    "ResourceBlob",
    "ResourceBlock",
    "ResourceText",
    "TextBlock",
    "ToolContent",
    "block_text",
    "decoded_size",
    "for_text",
    "human_size",
    "kept_block",
    "result_text",
    "shed_blobs",
    "step_result",
    "tool_content",
]


class _Kept(BaseModel):
    # Fields are named in Python and read and written by MCP's names (mimeType). Unknown keys are
    # refused so that a structured result that merely has a "content" key is not taken for blocks.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, serialize_by_alias=True)


class TextBlock(_Kept):
    type: Literal["text"] = "text"
    text: str


class _Media(_Kept):
    type: Literal["image", "audio"]
    mime_type: str = Field(validation_alias="mimeType", serialization_alias="mimeType")
    data: str | None = None
    """Base64, as the server sent it; ``None`` once ``omitted``."""
    omitted: str | None = None
    """Why ``data`` was not kept, with its size."""


class ImageBlock(_Media):
    type: Literal["image"] = "image"


class AudioBlock(_Media):
    type: Literal["audio"] = "audio"


class ResourceText(_Kept):
    uri: str
    mime_type: str | None = Field(default=None, validation_alias="mimeType", serialization_alias="mimeType")
    text: str


class ResourceBlob(_Kept):
    uri: str
    mime_type: str | None = Field(default=None, validation_alias="mimeType", serialization_alias="mimeType")
    blob: str | None = None
    """Base64, as the server sent it; ``None`` once ``omitted``."""
    omitted: str | None = None


class ResourceBlock(_Kept):
    """An embedded resource: its contents came with the result."""

    type: Literal["resource"] = "resource"
    resource: ResourceText | ResourceBlob


class LinkBlock(_Kept):
    """A resource link: the server names a resource; its contents did not come with the result."""

    type: Literal["resource_link"] = "resource_link"
    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mime_type: str | None = Field(default=None, validation_alias="mimeType", serialization_alias="mimeType")


Block = Annotated[TextBlock | ImageBlock | AudioBlock | ResourceBlock | LinkBlock, Field(discriminator="type")]


class ToolContent(_Kept):
    """A step result of shape 3 (see the module's docstring)."""

    content: list[Block]
    structured: Any = Field(default=None, validation_alias="structuredContent", serialization_alias="structuredContent")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def kept_block(block: ContentBlock) -> Block:
    """One block of an SDK result as the platform keeps it."""
    if isinstance(block, TextContent):
        return TextBlock(text=block.text)
    if isinstance(block, ImageContent):
        return ImageBlock(mime_type=block.mime_type, data=block.data)
    if isinstance(block, AudioContent):
        return AudioBlock(mime_type=block.mime_type, data=block.data)
    if isinstance(block, EmbeddedResource):
        contents = block.resource
        if isinstance(contents, TextResourceContents):
            return ResourceBlock(
                resource=ResourceText(uri=contents.uri, mime_type=contents.mime_type, text=contents.text)
            )
        return ResourceBlock(resource=ResourceBlob(uri=contents.uri, mime_type=contents.mime_type, blob=contents.blob))
    return LinkBlock(
        uri=block.uri, name=block.name, title=block.title, description=block.description, mime_type=block.mime_type
    )


def step_result(result: CallToolResult) -> Any:
    """A successful result as its step keeps it, by the rule in the module's docstring."""
    blocks = [kept_block(block) for block in result.content]
    if all(isinstance(block, TextBlock) for block in blocks):
        if result.structured_content is not None:
            return result.structured_content
        return "\n".join(block.text for block in blocks if isinstance(block, TextBlock))
    return ToolContent(content=blocks, structured=result.structured_content).dump()


def result_text(result: CallToolResult) -> str:
    """A result as text (a failed call's message): text blocks as they are, the others described."""
    return "\n".join(block_text(kept_block(block)) for block in result.content)


def tool_content(value: Any) -> ToolContent | None:
    """``value`` as content blocks when it is a step result of shape 3, else ``None``."""
    if not (
        isinstance(value, dict)
        and isinstance(value.get("content"), list)
        and value.keys() <= {"content", "structuredContent"}
        and any(isinstance(block, dict) and block.get("type") != "text" for block in value["content"])
    ):
        return None
    try:
        return ToolContent.model_validate(value)
    except ValidationError:
        return None


def decoded_size(data: str) -> int:
    """The size in bytes of what base64 ``data`` encodes, without decoding it."""
    data = data.rstrip()
    return len(data) * 3 // 4 - (len(data) - len(data.rstrip("=")))


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def _media_facts(mime_type: str | None, data: str | None, omitted: str | None) -> str:
    return f"{mime_type or 'binary'}, {omitted if omitted is not None else human_size(decoded_size(data or ''))}"


def block_text(block: Block) -> str:
    """A block as text for a model or a person: text as it is, resource text under its URI, the rest described."""
    if isinstance(block, TextBlock):
        return block.text
    if isinstance(block, ImageBlock | AudioBlock):
        return f"[{block.type}: {_media_facts(block.mime_type, block.data, block.omitted)}]"
    if isinstance(block, ResourceBlock):
        resource = block.resource
        if isinstance(resource, ResourceText):
            return f"[resource {resource.uri} ({resource.mime_type or 'text'})]\n{resource.text}"
        return f"[resource {resource.uri} ({_media_facts(resource.mime_type, resource.blob, resource.omitted)})]"
    label = block.title or block.name
    about = f": {block.description}" if block.description else ""
    return f"[resource link: {block.uri} ({label}){about}]"


def _blob(block: Block) -> str | None:
    if isinstance(block, ImageBlock | AudioBlock):
        return block.data
    if isinstance(block, ResourceBlock) and isinstance(block.resource, ResourceBlob):
        return block.resource.blob
    return None


def _without_blob(block: Block, why: str) -> Block:
    note = f"{human_size(decoded_size(_blob(block) or ''))} not kept: {why}"
    if isinstance(block, ResourceBlock) and isinstance(block.resource, ResourceBlob):
        return block.model_copy(update={"resource": block.resource.model_copy(update={"blob": None, "omitted": note})})
    return block.model_copy(update={"data": None, "omitted": note})


def shed_blobs(content: ToolContent, excess: int, why: str) -> ToolContent:
    """``content`` without the data of its largest blobs, enough of them to take ``excess`` bytes off its JSON.

    Each dropped blob's block stays, with ``omitted`` saying how large it was and ``why`` it went.
    """
    blocks = list(content.content)
    largest_first = sorted(
        ((len(blob), index) for index, block in enumerate(blocks) if (blob := _blob(block))), reverse=True
    )
    for length, index in largest_first:
        if excess <= 0:
            break
        blocks[index] = _without_blob(blocks[index], why)
        # Base64 has nothing JSON escapes, so its characters are its bytes; the note takes some back.
        excess -= length - len(why) - 40
    return content.model_copy(update={"content": blocks})


def for_text(value: Any) -> Any:
    """``value`` with every content result in it as text blocks (blobs described), for a prompt made of text."""
    content = tool_content(value)
    if content is not None:
        described: dict[str, Any] = {"content": [block_text(block) for block in content.content]}
        if content.structured is not None:
            described["structuredContent"] = content.structured
        return described
    if isinstance(value, dict):
        return {key: for_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [for_text(item) for item in value]
    return value
