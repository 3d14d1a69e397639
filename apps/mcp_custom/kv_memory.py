"""The in-process key/value store: for one replica, development and tests.

Values are kept as JSON text, so a caller mutating what it stored or read cannot change the store.
The store refuses new keys when full rather than evicting: silently losing someone's data is worse
than a clear error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from apps.common.tools import ToolError
from apps.mcp_custom.kv_store import (
    JsonValue,
    StoredItem,
    decode_value,
    encode_value,
    expiry_epoch,
    iso_utc,
    validate_key,
    validate_limit,
    validate_prefix,
    validate_ttl,
)

__all__ = ["MemoryKeyValueStore"]


@dataclass(frozen=True)
class _Entry:
    text: str
    updated_at: str
    expires_at: int | None

    def live(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


class MemoryKeyValueStore:
    """A thread-safe dict with TTLs, bounded to ``max_entries`` keys."""

    def __init__(self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def put(self, key: str, value: JsonValue, ttl_seconds: int | None = None) -> StoredItem:
        validate_key(key)
        ttl = validate_ttl(ttl_seconds)
        text = encode_value(value)
        with self._lock:
            now = self._clock()
            if key not in self._entries and len(self._entries) >= self._max_entries:
                self._purge_expired(now)
                if len(self._entries) >= self._max_entries:
                    raise ToolError(
                        f"the key/value store is full ({self._max_entries} keys); replace an existing key instead"
                    )
            entry = _Entry(text=text, updated_at=iso_utc(now), expires_at=expiry_epoch(now, ttl))
            self._entries[key] = entry
        return StoredItem(key=key, value=decode_value(text), updated_at=entry.updated_at, expires_at=entry.expires_at)

    def get(self, key: str) -> StoredItem | None:
        validate_key(key)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if not entry.live(self._clock()):
                del self._entries[key]
                return None
        return StoredItem(
            key=key, value=decode_value(entry.text), updated_at=entry.updated_at, expires_at=entry.expires_at
        )

    def list_keys(self, prefix: str = "", limit: int = 100) -> tuple[list[str], bool]:
        validate_prefix(prefix)
        validate_limit(limit)
        with self._lock:
            now = self._clock()
            matching = sorted(k for k, e in self._entries.items() if k.startswith(prefix) and e.live(now))
        return matching[:limit], len(matching) > limit

    def check(self) -> None:
        """Always ready: nothing outside the process can fail."""

    def __len__(self) -> int:
        with self._lock:
            now = self._clock()
            return sum(1 for e in self._entries.values() if e.live(now))

    def _purge_expired(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if not e.live(now)]:
            del self._entries[key]
