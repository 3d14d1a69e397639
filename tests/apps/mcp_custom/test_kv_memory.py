"""What only the in-memory store has: a bound on the number of keys, and threads writing at once.

The contract it shares with the other backends is in test_kv_contract.py."""

from __future__ import annotations

import threading

import pytest

from apps.common.tools import ToolError
from apps.mcp_custom.kv_memory import MemoryKeyValueStore
from tests.apps.mcp_custom.kv_backends import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_bounded_total_entries(clock: FakeClock) -> None:
    store = MemoryKeyValueStore(max_entries=3, clock=clock)
    store.create("a", 1)
    store.create("b", 2, ttl_seconds=5)
    store.create("c", 3)
    with pytest.raises(ToolError, match=r"full \(3 keys\)"):
        store.create("d", 4)
    store.replace("a", 10)  # replacing a key needs no room

    clock.now += 5  # "b" expires and frees its slot
    store.create("d", 4)
    assert store.list_keys() == (["a", "c", "d"], False)


def test_len_counts_live_keys(clock: FakeClock) -> None:
    store = MemoryKeyValueStore(clock=clock)
    store.replace("k", 1)
    store.replace("k", 2)
    store.create("short", 1, ttl_seconds=1)
    assert len(store) == 2
    clock.now += 1
    assert len(store) == 1


def test_concurrent_writers() -> None:
    store = MemoryKeyValueStore()
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(200):
                store.create(f"w{worker}/{i}", i)
                store.list_keys(f"w{worker}/", limit=5)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(store) == 1600
    assert store.list_keys("w7/", limit=1000)[0] == sorted(f"w7/{i}" for i in range(200))
