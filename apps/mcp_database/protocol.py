"""What the server and its SQL worker processes say to each other, and how it is framed on their socket.

Each message is one frame: a 4-byte big-endian length, then that many bytes of JSON. The standard
library's ``json`` writes it because it round-trips what a tool call can carry and pydantic's JSON
cannot: lone surrogates (which the engine then refuses with a clear message), ``Infinity`` and
integers past 64 bits (both refused by SQLite's binding, again with a message).

Requests are frozen dataclasses: the server builds them from arguments the SDK has already checked.
Replies are pydantic models and are validated on arrival: the worker runs hostile SQL, so the
server treats what it sends back as data to check, and reads at most ``MAX_REPLY_BYTES`` of it.
"""

from __future__ import annotations

import json
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from apps.mcp_database.models import QueryResult, SchemaResult

__all__ = [
    "MAX_REPLY_BYTES",
    "CheckRequest",
    "Failed",
    "Ready",
    "Reply",
    "Request",
    "SchemaRequest",
    "WorkerLimits",
    "decode_reply",
    "decode_request",
    "frame",
    "read_frame",
]

HEADER = struct.Struct("!I")
MAX_REPLY_BYTES = 64 * 1024 * 1024
"""A worker that claims to send more is treated as broken and killed (results are capped well below)."""
Param = str | int | float | bool | None


@dataclass(frozen=True)
class WorkerLimits:
    """Everything a worker needs to know, fixed when it starts (it is pickled into the new process)."""

    path: Path
    deadline_seconds: float
    max_rows: int
    max_sql_length: int
    max_reply_bytes: int
    """Rows stop being added to a result once it reaches about this size (see ``ReadOnlyDatabase``)."""
    memory_bytes: int
    """The worker's address-space limit (RLIMIT_AS); SQLite's own heap is held to a quarter of it."""

    @property
    def sqlite_heap_bytes(self) -> int:
        return self.memory_bytes // 4


@dataclass(frozen=True)
class QueryRequest:
    sql: str
    params: list[Param] | dict[str, Param] | None = None
    kind: Literal["query"] = "query"


@dataclass(frozen=True)
class SchemaRequest:
    table: str | None = None
    kind: Literal["schema"] = "schema"


@dataclass(frozen=True)
class CheckRequest:
    kind: Literal["check"] = "check"


Request = QueryRequest | SchemaRequest | CheckRequest


class _Reply(BaseModel):
    retire: bool = False
    """The worker exits after this reply (it grew too large to keep) and the server starts another."""


class Ready(_Reply):
    kind: Literal["ready"] = "ready"
    pid: int


class QueryReply(_Reply):
    kind: Literal["query"] = "query"
    result: QueryResult


class SchemaReply(_Reply):
    kind: Literal["schema"] = "schema"
    result: SchemaResult


class CheckReply(_Reply):
    kind: Literal["check"] = "check"


class Failed(_Reply):
    """The request was refused or failed; ``message`` tells the model what to change."""

    kind: Literal["failed"] = "failed"
    message: str
    retryable: bool = False
    """The same call may succeed later (see ``QueryError``)."""


Reply = Annotated[Ready | QueryReply | SchemaReply | CheckReply | Failed, Field(discriminator="kind")]
_REPLY: TypeAdapter[Reply] = TypeAdapter(Reply)


def frame(payload: Any) -> bytes:
    """One frame holding ``payload`` (a request dataclass, a reply model, or plain JSON data)."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="python")
    elif not isinstance(payload, dict):
        payload = vars(payload)  # requests are flat: asdict's deep copy would cost more than the rest of framing
    body = json.dumps(payload, separators=(",", ":")).encode()
    return HEADER.pack(len(body)) + body


def decode_request(body: bytes) -> Request:
    data = json.loads(body)
    kind = data.pop("kind")
    if kind == "query":
        return QueryRequest(**data)
    if kind == "schema":
        return SchemaRequest(**data)
    if kind == "check":
        return CheckRequest()
    raise ValueError(f"unknown request kind {kind!r}")


def decode_reply(body: bytes) -> Reply:
    return _REPLY.validate_python(json.loads(body))


def read_frame(channel: socket.socket) -> bytes | None:
    """The next frame's body from a blocking socket; ``None`` when the other side has closed it."""
    header = _read_exactly(channel, HEADER.size)
    if header is None:
        return None
    (length,) = HEADER.unpack(header)
    return _read_exactly(channel, length)


def _read_exactly(channel: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        count = channel.recv_into(view[received:])
        if count == 0:
            return None
        received += count
    return bytes(buffer)
