"""The cursor and the stored JSON both backends share."""

from __future__ import annotations

import base64
import json

import pytest

from apps.agent_core.store.base import InvalidCursor, StoreError
from apps.agent_core.store.codec import (
    MAX_DOCUMENT_BYTES,
    Position,
    decode_cursor,
    encode_cursor,
    encode_event_data,
    encode_header,
    parse_header,
)
from tests.apps.agent_core.store.helpers import make_header


def forge(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize("status", [None, "running"])
def test_cursor_round_trips(status: str | None) -> None:
    position = Position(1_700_000_000.123456, "run/ü#1")
    cursor = encode_cursor(position, status)
    assert cursor.isascii() and "=" not in cursor
    assert decode_cursor(cursor, status) == position


@pytest.mark.parametrize(
    "cursor",
    [
        forge({"v": 1, "s": None, "t": -1, "id": "a"}),
        forge({"v": 1, "s": None, "t": True, "id": "a"}),
        forge({"v": 1, "s": None, "t": 1.0, "id": ""}),
        forge({"v": 1, "s": None, "t": "1", "id": "a"}),
        forge({"v": 2, "s": None, "t": 1.0, "id": "a"}),
        forge([1, 2]),
        "%%%%",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_malformed_cursors_are_invalid(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, None)


def test_a_cursor_is_bound_to_its_status_filter() -> None:
    cursor = encode_cursor(Position(1.0, "a"), "queued")
    with pytest.raises(InvalidCursor, match="status or trigger filter"):
        decode_cursor(cursor, "running")


def test_event_data_limits() -> None:
    assert encode_event_data({"a": "é"}) == '{"a":"é"}'
    # The limit counts UTF-8 bytes, not characters.
    with pytest.raises(StoreError, match=r"\d+ bytes of JSON; the run store holds at most 350000"):
        encode_event_data({"a": "é" * (MAX_DOCUMENT_BYTES // 2)})
    with pytest.raises(StoreError, match="not JSON-serialisable"):
        encode_event_data({"a": object()})


def test_header_limits() -> None:
    with pytest.raises(StoreError, match="header of run"):
        encode_header(make_header().model_copy(update={"final_answer": "x" * MAX_DOCUMENT_BYTES}))
    with pytest.raises(StoreError, match="epoch seconds"):
        encode_header(make_header(created_at=-1.0))


def test_the_stored_version_is_the_authority() -> None:
    header = make_header()
    assert parse_header(header.model_dump_json(), 7).version == 7
    with pytest.raises(StoreError, match="damaged"):
        parse_header('{"id": 1}', 0)
