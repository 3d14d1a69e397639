"""The key/value store behind the store_data, replace_data, get_data and list_keys tools.

One small interface, three backends: ``MemoryKeyValueStore`` (kv_memory.py) for one process and tests,
``SqliteKeyValueStore`` (kv_sqlite.py) for one machine (``make dev``: kept in ``var/kv.db`` across restarts),
and ``DynamoDBKeyValueStore`` (kv_dynamodb.py) for the cluster, where several replicas must see the same
data. All enforce the same limits here, so a value accepted locally is accepted in the cluster:

- key: 1..256 characters of ``A-Z a-z 0-9 . _ : / @ -``, starting with a letter or digit, in segments
  separated by single ``.`` or ``/`` (so no ``..``, ``//``, leading or trailing separator): ``KEY_PATTERN``
- value: any JSON value, at most ``max_value_bytes`` (``AGENTIC_KV_MAX_VALUE_BYTES``, 64 KiB by default)
  as compact UTF-8 JSON
- ttl_seconds: 1..2,592,000 (30 days), or None to keep the value until it is replaced

Writing comes in two kinds, because they carry different risks: ``create`` never touches a value
someone else stored (it fails with ``KeyExistsError`` when the key holds a live value, atomically in
every backend), and ``replace`` overwrites. The tools map them to ``store_data`` (not destructive) and
``replace_data`` (destructive, so the agent core asks a person before running it).

Every failure a caller can act on is a ``ToolError``; ``check()`` raises one when the store cannot serve.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeAlias

from apps.common.tools import ToolError

__all__ = [
    "DEFAULT_MAX_TOTAL_BYTES",
    "KEY_PATTERN",
    "MAX_KEY_LENGTH",
    "MAX_LIST_LIMIT",
    "MAX_TTL_SECONDS",
    "MAX_VALUE_BYTES",
    "PREFIX_PATTERN",
    "JsonValue",
    "KeyExistsError",
    "KeyValueStore",
    "StoreFullError",
    "StoredItem",
    "decode_value",
    "encode_value",
    "expiry_epoch",
    "footprint",
    "iso_utc",
    "validate_key",
    "validate_limit",
    "validate_prefix",
    "validate_ttl",
]

JsonValue: TypeAlias = Any
"""Any value ``json.dumps`` accepts without coercion; checked at runtime by ``encode_value``."""

# Segments of [A-Za-z0-9_:@-] joined by single "." or "/": no "..", "//", "./" or separator at either end,
# so a key never reads as a relative path. Unambiguous (each separator ends a segment), so it matches in
# linear time, and written without look-arounds so JSON Schema, pydantic and Python all read it alike.
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_:@-]*(?:[./][A-Za-z0-9_:@-]+)*$"
PREFIX_PATTERN = r"^[A-Za-z0-9._:/@-]*$"
MAX_KEY_LENGTH = 256
MAX_VALUE_BYTES = 64 * 1024
"""The default of ``AGENTIC_KV_MAX_VALUE_BYTES``."""
DEFAULT_MAX_TOTAL_BYTES = 64 * 1024 * 1024
"""The default of ``AGENTIC_KV_MAX_TOTAL_BYTES``, the bound of the memory and SQLite stores."""
MAX_TTL_SECONDS = 30 * 24 * 3600
MAX_LIST_LIMIT = 1000

_KEY_RE = re.compile(KEY_PATTERN)
_PREFIX_RE = re.compile(PREFIX_PATTERN)


@dataclass(frozen=True)
class StoredItem:
    key: str
    value: JsonValue
    updated_at: str
    """ISO 8601, UTC."""
    expires_at: int | None
    """Epoch seconds after which the item is gone; None when it has no TTL."""

    @property
    def expires_at_iso(self) -> str | None:
        return None if self.expires_at is None else iso_utc(self.expires_at)


class KeyExistsError(ToolError):
    """``create`` found a live value under the key: nothing was written."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"the key {key!r} already holds a value, so nothing was stored. store_data only creates new keys: "
            "use replace_data to overwrite it (that needs a person's approval), or store under another key"
        )
        self.key = key


class StoreFullError(ToolError):
    """A write would take a bounded store past its ``max_total_bytes``: nothing was written."""

    def __init__(self, held: int, limit: int, needed: int) -> None:
        super().__init__(
            f"the key/value store is full: it holds {held} of its {limit} bytes and this value needs {needed}; "
            "nothing was stored. Store a smaller value, or wait for values to expire"
        )


class KeyValueStore(Protocol):
    """What the tools need from a store. Methods are synchronous: the tools run in worker threads."""

    def create(self, key: str, value: JsonValue, ttl_seconds: int | None = None) -> StoredItem:
        """Store ``key`` only if it holds no live value (an expired one counts as none), else raise
        ``KeyExistsError``; atomic, so of two concurrent creates exactly one wins. A TTL makes it disappear
        after that many seconds."""
        ...

    def replace(self, key: str, value: JsonValue, ttl_seconds: int | None = None) -> StoredItem:
        """Store ``key`` whether or not it holds a value, overwriting it."""
        ...

    def get(self, key: str) -> StoredItem | None:
        """The live item under ``key``, or None when absent or expired."""
        ...

    def list_keys(self, prefix: str = "", limit: int = 100) -> tuple[list[str], bool]:
        """Live keys starting with ``prefix`` in ascending order, at most ``limit``; True when more exist."""
        ...

    def check(self) -> None:
        """Raise ``ToolError`` saying why when the store cannot serve requests (readiness)."""
        ...

    def close(self) -> None:
        """Release what the store holds open (a file); called once, when the server stops."""
        ...


def validate_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not _KEY_RE.fullmatch(key):
        raise ToolError(
            f"key must be 1 to {MAX_KEY_LENGTH} characters of letters, digits and . _ : / @ -, starting with a "
            "letter or digit, with no '..', '//' or '.' or '/' at the end "
            f"(e.g. 'reports/2025-03:summary'); got {key[:80]!r}"
        )
    return key


def validate_prefix(prefix: str) -> str:
    if len(prefix) > MAX_KEY_LENGTH or not _PREFIX_RE.fullmatch(prefix):
        raise ToolError(
            f"prefix must be at most {MAX_KEY_LENGTH} characters of letters, digits and . _ : / @ -; "
            f"got {prefix[:80]!r}"
        )
    return prefix


def validate_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ToolError(f"limit must be between 1 and {MAX_LIST_LIMIT}")
    return limit


def validate_ttl(ttl_seconds: int | None) -> int | None:
    if ttl_seconds is None:
        return None
    if isinstance(ttl_seconds, bool) or not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise ToolError(f"ttl_seconds must be between 1 and {MAX_TTL_SECONDS} (30 days), or omitted to keep the value")
    return int(ttl_seconds)


def encode_value(value: JsonValue, max_bytes: int = MAX_VALUE_BYTES) -> str:
    """Compact JSON text of ``value``, refusing what JSON cannot carry or what is over ``max_bytes``."""
    try:
        # allow_nan=False: NaN and Infinity are not JSON, and other readers would choke on them.
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ToolError(f"value must be JSON (object, array, string, number, boolean or null): {exc}") from exc
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:  # a lone surrogate ("\ud800") parses as JSON but is not Unicode text
        raise ToolError(f"value must be valid Unicode text: {exc.reason} at character {exc.start}") from None
    if size > max_bytes:
        raise ToolError(f"value is {size} bytes as JSON; the limit is {max_bytes} bytes ({max_bytes / 1024:g} KiB)")
    return text


def footprint(key: str, text: str) -> int:
    """What a bounded store counts for an item: UTF-8 bytes of key and JSON text, whatever the overhead."""
    return len(key.encode()) + len(text.encode())


def decode_value(text: str) -> JsonValue:
    return json.loads(text)


def expiry_epoch(now: float, ttl_seconds: int | None) -> int | None:
    # Rounded up so an item never expires earlier than promised.
    return None if ttl_seconds is None else math.ceil(now + ttl_seconds)


def iso_utc(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
