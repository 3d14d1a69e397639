"""What both backends share: the list cursor, the JSON they store, and the limits on it.

Cursors are opaque to callers: base64url (unpadded) of a small JSON object naming the last run of the
page (its ``created_at`` and id) and the status filter of the listing. Both backends resume from that
position, so a cursor is independent of the backend's own paging token. A cursor that does not
decode, or that was made by a listing with another status filter, is ``InvalidCursor``.

The same size limit applies on both backends, so a run that works on one machine also works in the
cluster: DynamoDB refuses items over 400 KB, and an event's data (or a header) over
``MAX_DOCUMENT_BYTES`` of UTF-8 JSON is refused with ``StoreError`` before anything is written.
Callers cap tool results before storing them.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import ValidationError

from apps.agent_core.model import EventType, RunEvent, RunHeader
from apps.agent_core.store.base import InvalidCursor, StoreError

__all__ = [
    "EVENT_TYPES",
    "MAX_DOCUMENT_BYTES",
    "MAX_LIST_LIMIT",
    "MAX_ONCE_KEY_BYTES",
    "Position",
    "check_claim_key",
    "check_event_type",
    "check_limit",
    "check_once_key",
    "decode_cursor",
    "encode_cursor",
    "encode_event_data",
    "encode_header",
    "listing_filter",
    "make_event",
    "parse_event_data",
    "parse_header",
]

# DynamoDB's item limit is 400 KB including attribute names and the other attributes; this leaves
# room for them.
MAX_DOCUMENT_BYTES = 350_000
MAX_LIST_LIMIT = 1000
# Part of a DynamoDB sort key (at most 1024 bytes) on one backend, so the same bound holds on both.
MAX_ONCE_KEY_BYTES = 512
_MAX_CURSOR_CHARS = 2048
_CURSOR_VERSION = 1
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))


@dataclass(frozen=True)
class Position:
    """Where a listing stopped: the last run returned, in (created_at, id) order."""

    created_at: float
    run_id: str


def listing_filter(status: str | None, trigger: str | None) -> str | None:
    """What a cursor is bound to: the listing's filters (the status alone, as cursors issued before triggers)."""
    return status if trigger is None else f"{status or ''}|trigger={trigger}"


def encode_cursor(position: Position, status: str | None) -> str:
    """``status`` is the listing's filter (``listing_filter``): the cursor is refused with any other."""
    payload = {"v": _CURSOR_VERSION, "s": status, "t": position.created_at, "id": position.run_id}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, status: str | None) -> Position:
    """The position ``cursor`` names; ``InvalidCursor`` unless it came from a listing with this filter."""
    if not cursor or len(cursor) > _MAX_CURSOR_CHARS:
        raise InvalidCursor("the cursor is empty or too long; pass the next_cursor of the previous page unchanged")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        payload: Any = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("the cursor is not one this service issued; start the listing again") from exc
    if not isinstance(payload, dict) or payload.get("v") != _CURSOR_VERSION:
        raise InvalidCursor("the cursor is not one this service issued; start the listing again")
    created_at, run_id = payload.get("t"), payload.get("id")
    if (
        isinstance(created_at, bool)
        or not isinstance(created_at, int | float)
        or not math.isfinite(created_at)
        or created_at < 0
        or not isinstance(run_id, str)
        or not run_id
    ):
        raise InvalidCursor("the cursor is damaged; start the listing again")
    if payload.get("s") != status:
        raise InvalidCursor("the cursor belongs to a listing with a different status or trigger filter")
    return Position(float(created_at), run_id)


def check_limit(limit: int, maximum: int = MAX_LIST_LIMIT) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise ValueError(f"limit must be an integer from 1 to {maximum}, got {limit!r}")


def check_event_type(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; expected one of {sorted(EVENT_TYPES)}")


def check_claim_key(key: str) -> None:
    if not isinstance(key, str) or not 1 <= len(key.encode()) <= MAX_ONCE_KEY_BYTES:
        raise ValueError(f"a claim key must be a string of 1 to {MAX_ONCE_KEY_BYTES} bytes of UTF-8, got {key!r:.80}")


def check_once_key(key: str) -> None:
    if not isinstance(key, str) or not 1 <= len(key.encode()) <= MAX_ONCE_KEY_BYTES:
        raise ValueError(f"a once key must be a string of 1 to {MAX_ONCE_KEY_BYTES} bytes of UTF-8, got {key!r:.80}")


def encode_header(header: RunHeader) -> str:
    if not math.isfinite(header.created_at) or header.created_at < 0:
        # DynamoDB orders runs by a zero-padded created_at, which has no room for a sign.
        raise StoreError(f"run {header.id!r} has created_at {header.created_at!r}; it must be epoch seconds ≥ 0")
    return _within_limit(header.model_dump_json(), f"the header of run {header.id!r}")


def encode_event_data(data: dict[str, Any]) -> str:
    try:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"the event data is not JSON-serialisable: {exc}") from exc
    return _within_limit(text, "the event data")


def parse_header(text: str, version: int) -> RunHeader:
    """The stored header, with the version the store holds (the authority for conditional writes)."""
    try:
        header = RunHeader.model_validate_json(text)
    except ValidationError as exc:
        raise StoreError("a stored run header is damaged (not a valid run header)") from exc
    return header if header.version == version else header.model_copy(update={"version": version})


def parse_event_data(text: str) -> dict[str, Any]:
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise StoreError("a stored event is damaged (its data is not JSON)") from exc
    if not isinstance(data, dict):
        raise StoreError("a stored event is damaged (its data is not a JSON object)")
    return data


def make_event(run_id: str, seq: int, type_: str, data: str, at: float) -> RunEvent:
    """An event as read back from storage, where the stored data is JSON text."""
    try:
        return RunEvent.model_validate(
            {"run_id": run_id, "seq": seq, "type": type_, "data": parse_event_data(data), "at": at}
        )
    except ValidationError as exc:
        raise StoreError(f"a stored event of run {run_id!r} is damaged (seq {seq})") from exc


def _within_limit(text: str, what: str) -> str:
    size = len(text.encode())
    if size > MAX_DOCUMENT_BYTES:
        raise StoreError(
            f"{what} is {size} bytes of JSON; the run store holds at most {MAX_DOCUMENT_BYTES} "
            "(cap large tool results before storing them)"
        )
    return text
