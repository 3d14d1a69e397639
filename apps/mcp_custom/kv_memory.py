"""The in-process key/value store: for one process and tests (``make dev`` keeps its store in SQLite instead).

Values are kept as JSON text, so a caller mutating what it stored or read cannot change the store.
It is bounded twice: ``max_entries`` keys and ``max_total_bytes`` of keys and values together
(``AGENTIC_KV_MAX_TOTAL_BYTES``), so a caller cannot grow the process without limit. When full it
refuses the write rather than evicting: silently losing someone's data is worse than a clear error.
Every check-then-write happens under one lock, so ``create`` is atomic across threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from apps.common.tools import ToolError
from apps.mcp_custom.kv_store import (
    DEFAULT_MAX_TOTAL_BYTES,
    MAX_VALUE_BYTES,
    JsonValue,
    KeyExistsError,
    StoredItem,
    StoreFullError,
    decode_value,
    encode_value,
    expiry_epoch,
    footprint,
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
    """A thread-safe dict with TTLs, bounded to ``max_entries`` keys and ``max_total_bytes`` of data."""

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
        max_value_bytes: int = MAX_VALUE_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if max_total_bytes < 1 or max_value_bytes < 1:
            raise ValueError("max_total_bytes and max_value_bytes must be at least 1")
        self._max_entries = max_entries
        self._max_total_bytes = max_total_bytes
        self._max_value_bytes = max_value_bytes
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._total_bytes = 0
        self._lock = threading.Lock()

    def create(self, key: str, value: JsonValue, ttl_seconds: int | None = None) -> StoredItem:
        return self._write(key, value, ttl_seconds, overwrite=False)

    def replace(self, key: str, value: JsonValue, ttl_seconds: int | None = None) -> StoredItem:
        return self._write(key, value, ttl_seconds, overwrite=True)

    @property
    def total_bytes(self) -> int:
        """Bytes of keys and values held now, expired ones included until they are purged."""
        with self._lock:
            return self._total_bytes

    def _write(self, key: str, value: JsonValue, ttl_seconds: int | None, *, overwrite: bool) -> StoredItem:
        validate_key(key)
        ttl = validate_ttl(ttl_seconds)
        text = encode_value(value, self._max_value_bytes)
        size = footprint(key, text)
        with self._lock:
            now = self._clock()
            previous = self._entries.get(key)
            if previous is not None and not overwrite and previous.live(now):
                raise KeyExistsError(key)
            if previous is None and len(self._entries) >= self._max_entries:
                self._purge_expired(now)
                if len(self._entries) >= self._max_entries:
                    raise ToolError(
                        f"the key/value store is full ({self._max_entries} keys); "
                        "nothing was stored. Wait for values to expire, or replace an existing key"
                    )
            if self._total_after(key, size) > self._max_total_bytes:
                self._purge_expired(now)
                if self._total_after(key, size) > self._max_total_bytes:
                    raise StoreFullError(self._total_bytes, self._max_total_bytes, size)
            entry = _Entry(text=text, updated_at=iso_utc(now), expires_at=expiry_epoch(now, ttl))
            self._total_bytes = self._total_after(key, size)
            self._entries[key] = entry
        return StoredItem(key=key, value=decode_value(text), updated_at=entry.updated_at, expires_at=entry.expires_at)

    def get(self, key: str) -> StoredItem | None:
        validate_key(key)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if not entry.live(self._clock()):
                self._drop(key)
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

    def close(self) -> None:
        """Nothing to release: the values go with the process."""

    def __len__(self) -> int:
        with self._lock:
            now = self._clock()
            return sum(1 for e in self._entries.values() if e.live(now))

    def _purge_expired(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if not e.live(now)]:
            self._drop(key)

    def _total_after(self, key: str, size: int) -> int:
        """The store's bytes once ``key`` holds ``size`` bytes (its current value, if any, freed)."""
        current = self._entries.get(key)
        return self._total_bytes + size - (0 if current is None else footprint(key, current.text))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self._total_bytes -= footprint(key, entry.text)
