from __future__ import annotations

import threading
from typing import Any

import pytest

from apps.common.tools import ToolError
from apps.mcp_custom.kv_memory import MemoryKeyValueStore
from apps.mcp_custom.kv_store import MAX_TTL_SECONDS, MAX_VALUE_BYTES, KeyExistsError


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> MemoryKeyValueStore:
    return MemoryKeyValueStore(clock=clock)


@pytest.mark.parametrize(
    "value",
    [{"a": [1, 2.5, None, True]}, ["x", {"y": "z"}], "plain text", 42, -3.25, False, None, {"名前": "São Paulo 🌧"}],
)
def test_round_trips_any_json_value(store: MemoryKeyValueStore, value: Any) -> None:
    put = store.create("k", value)
    got = store.get("k")
    assert got is not None
    assert got.value == value
    assert put.value == value
    assert got.updated_at == "2023-11-14T22:13:20.000Z"
    assert got.expires_at is None


def test_replace_overwrites(store: MemoryKeyValueStore) -> None:
    store.replace("k", 1)
    store.replace("k", {"v": 2})
    got = store.get("k")
    assert got is not None and got.value == {"v": 2}
    assert len(store) == 1


def test_create_never_overwrites_a_live_value(store: MemoryKeyValueStore, clock: FakeClock) -> None:
    store.create("k", "first", ttl_seconds=10)
    with pytest.raises(KeyExistsError, match=r"'k' already holds a value.*replace_data"):
        store.create("k", "second")
    got = store.get("k")
    assert got is not None and got.value == "first"
    clock.now += 10  # expired: the key is free again
    assert store.create("k", "third").value == "third"


def test_concurrent_creates_of_one_key_have_exactly_one_winner(store: MemoryKeyValueStore) -> None:
    barrier = threading.Barrier(16)
    won: list[int] = []

    def create(worker: int) -> None:
        barrier.wait()
        try:
            store.create("race", worker)
            won.append(worker)
        except KeyExistsError:
            pass

    threads = [threading.Thread(target=create, args=(worker,)) for worker in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    got = store.get("race")
    assert got is not None and got.value == won[0]


def test_stored_value_is_a_copy(store: MemoryKeyValueStore) -> None:
    value: dict[str, Any] = {"items": [1]}
    store.create("k", value)
    value["items"].append(2)
    first = store.get("k")
    assert first is not None
    first.value["items"].append(3)
    again = store.get("k")
    assert again is not None and again.value == {"items": [1]}


def test_missing_key_is_none(store: MemoryKeyValueStore) -> None:
    assert store.get("nope") is None


def test_ttl_expiry(store: MemoryKeyValueStore, clock: FakeClock) -> None:
    item = store.create("session:1", "v", ttl_seconds=10)
    assert item.expires_at == 1_700_000_010
    assert item.expires_at_iso == "2023-11-14T22:13:30.000Z"

    clock.now += 9.9
    assert store.get("session:1") is not None
    assert store.list_keys("session:") == (["session:1"], False)

    clock.now += 0.1
    assert store.list_keys("session:") == ([], False)  # listed before get() purges it
    assert len(store) == 0
    assert store.get("session:1") is None


def test_fractional_now_never_expires_early(store: MemoryKeyValueStore, clock: FakeClock) -> None:
    clock.now += 0.5
    item = store.create("k", 1, ttl_seconds=1)
    assert item.expires_at == 1_700_000_002  # rounded up, never down


@pytest.mark.parametrize(
    "key",
    [
        *["", "x" * 257, "has space", "new\nline", "semi;colon", "ключ", "a\u200bb", "nul\x00", "del\x7f"],
        *["..", "../etc/passwd", "a/../b", "a..b", "a//b", "/abs", "trailing/", "trailing.", ".dot", "-dash", "_u"],
    ],
)
def test_invalid_keys_are_refused(store: MemoryKeyValueStore, key: str) -> None:
    with pytest.raises(ToolError, match="key must be 1 to 256 characters"):
        store.create(key, 1)
    with pytest.raises(ToolError, match="key must be"):
        store.replace(key, 1)
    with pytest.raises(ToolError):
        store.get(key)


def test_key_limits_and_alphabet(store: MemoryKeyValueStore) -> None:
    key = "Az09_:@-.a/b" + "x" * 244
    assert len(key) == 256
    store.create(key, 1)
    assert store.get(key) is not None


def test_value_size_limit(store: MemoryKeyValueStore) -> None:
    at_limit = "x" * (MAX_VALUE_BYTES - 2)  # the JSON quotes make it exactly 64 KiB
    store.create("big", at_limit)
    with pytest.raises(ToolError, match=f"value is {MAX_VALUE_BYTES + 1} bytes"):
        store.create("bigger", at_limit + "x")
    # Multi-byte characters count as bytes, not characters.
    with pytest.raises(ToolError, match="64 KiB"):
        store.replace("wide", "é" * (MAX_VALUE_BYTES // 2))
    assert store.get("bigger") is None
    assert store.get("wide") is None


def test_the_value_size_limit_is_configurable(clock: FakeClock) -> None:
    store = MemoryKeyValueStore(max_value_bytes=100, clock=clock)
    store.create("k", "x" * 98)
    with pytest.raises(ToolError, match="value is 101 bytes as JSON; the limit is 100 bytes"):
        store.replace("k", "x" * 99)


def test_a_lone_surrogate_is_refused_clearly(store: MemoryKeyValueStore) -> None:
    with pytest.raises(ToolError, match="value must be valid Unicode text"):
        store.create("k", "\ud800")


def test_bounded_total_bytes(clock: FakeClock) -> None:
    store = MemoryKeyValueStore(max_total_bytes=1000, clock=clock)
    store.create("a", "x" * 398)  # 1 + 400 bytes
    store.create("b", "x" * 398, ttl_seconds=5)  # 802 bytes held
    with pytest.raises(ToolError, match="full: it holds 802 of its 1000 bytes and this value needs 401"):
        store.create("c", "x" * 398)
    assert store.get("c") is None and store.total_bytes == 802
    store.replace("a", "x" * 10)  # replacing frees the old value's bytes first
    assert store.total_bytes == 1 + 12 + 401
    store.replace("a", "x" * 400)  # 1 + 402 + 401 <= 1000
    with pytest.raises(ToolError, match="full"):
        store.replace("a", "x" * 700)
    clock.now += 5  # "b" expires: its bytes are freed when room is needed
    store.create("c", "x" * 398)
    assert store.total_bytes == 403 + 401
    assert store.list_keys() == (["a", "c"], False)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, b"bytes", object()])
def test_non_json_values_are_refused(store: MemoryKeyValueStore, value: Any) -> None:
    with pytest.raises(ToolError, match="value must be JSON"):
        store.create("k", value)


@pytest.mark.parametrize("ttl", [0, -1, MAX_TTL_SECONDS + 1, True])
def test_ttl_bounds(store: MemoryKeyValueStore, ttl: int) -> None:
    with pytest.raises(ToolError, match="ttl_seconds must be between 1 and 2592000"):
        store.create("k", 1, ttl_seconds=ttl)
    assert store.create("k", 1, ttl_seconds=MAX_TTL_SECONDS).expires_at == 1_700_000_000 + MAX_TTL_SECONDS


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


def test_prefix_listing_sorted_and_truncated(store: MemoryKeyValueStore) -> None:
    for key in ["user/3", "user/1", "user/2", "users", "team/1", "user/10"]:
        store.create(key, key)

    assert store.list_keys("user/") == (["user/1", "user/10", "user/2", "user/3"], False)
    assert store.list_keys("user/", limit=2) == (["user/1", "user/10"], True)
    assert store.list_keys("user/", limit=4) == (["user/1", "user/10", "user/2", "user/3"], False)
    assert store.list_keys("user") == (["user/1", "user/10", "user/2", "user/3", "users"], False)
    assert store.list_keys("", limit=1) == (["team/1"], True)
    assert store.list_keys("nobody") == ([], False)


@pytest.mark.parametrize(("prefix", "limit"), [("bad prefix", 10), ("x" * 257, 10), ("ok", 0), ("ok", 1001)])
def test_list_arguments_are_checked(store: MemoryKeyValueStore, prefix: str, limit: int) -> None:
    with pytest.raises(ToolError):
        store.list_keys(prefix, limit)


def test_concurrent_writers(store: MemoryKeyValueStore) -> None:
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
