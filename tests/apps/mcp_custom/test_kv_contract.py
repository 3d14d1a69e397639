"""The contract every key/value backend keeps, run on each: memory, SQLite (a file in tmp_path) and DynamoDB
(moto's server over real HTTP). What only one backend has is tested in its own module."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from apps.common.tools import ToolError
from apps.mcp_custom.kv_dynamodb import DynamoDBKeyValueStore
from apps.mcp_custom.kv_memory import MemoryKeyValueStore
from apps.mcp_custom.kv_sqlite import SqliteKeyValueStore
from apps.mcp_custom.kv_store import MAX_TTL_SECONDS, MAX_VALUE_BYTES, KeyExistsError, KeyValueStore
from tests.apps.mcp_custom.kv_backends import NOW, FakeClock, create_table

NewStore = Callable[..., KeyValueStore]
"""Builds a store of the backend under test on the test's clock and data; keyword arguments are its limits."""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def new_store(request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Any) -> Iterator[NewStore]:
    opened: list[KeyValueStore] = []
    if request.param == "memory":

        def new(**limits: Any) -> KeyValueStore:
            return MemoryKeyValueStore(clock=clock, **limits)

    elif request.param == "sqlite":

        def new(**limits: Any) -> KeyValueStore:
            return SqliteKeyValueStore(tmp_path / "kv.db", clock=clock, **limits)

    else:
        request.getfixturevalue("aws_env")
        client = boto3.client("dynamodb")
        table = f"kv-{uuid.uuid4().hex[:12]}"
        create_table(client, table)
        request.addfinalizer(lambda: client.delete_table(TableName=table))

        def new(**limits: Any) -> KeyValueStore:
            return DynamoDBKeyValueStore(table, client, clock=clock, **limits)

    def opening(**limits: Any) -> KeyValueStore:
        opened.append(new(**limits))
        return opened[-1]

    yield opening
    for store in opened:
        store.close()


@pytest.fixture
def store(new_store: NewStore) -> KeyValueStore:
    return new_store()


@pytest.mark.parametrize(
    "value",
    [{"a": [1, 2.5, None, True]}, ["x", {"y": "z"}], "plain text", 42, -3.25, False, None, {"名前": "São Paulo 🌧"}],
)
def test_round_trips_any_json_value(store: KeyValueStore, value: Any) -> None:
    put = store.create("k", value)
    got = store.get("k")
    assert got is not None
    assert got == put
    assert (got.key, got.value, got.updated_at, got.expires_at) == ("k", value, "2023-11-14T22:13:20.000Z", None)


def test_replace_overwrites_and_stores_a_new_key(store: KeyValueStore) -> None:
    store.replace("k", 1)
    store.replace("k", {"v": 2})
    got = store.get("k")
    assert got is not None and got.value == {"v": 2}
    assert store.list_keys() == (["k"], False)


def test_create_never_overwrites_a_live_value(store: KeyValueStore, clock: FakeClock) -> None:
    store.create("k", "first", ttl_seconds=10)
    clock.now += 9.9
    with pytest.raises(KeyExistsError, match=r"'k' already holds a value, so nothing was stored.*replace_data"):
        store.create("k", "second")
    got = store.get("k")
    assert got is not None and got.value == "first"
    clock.now += 0.1  # expired: the key is free again
    assert store.create("k", "third").value == "third"
    got = store.get("k")
    assert got is not None and (got.value, got.expires_at) == ("third", None)


def backend(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["new_store"])


def test_concurrent_creates_of_one_key_have_exactly_one_winner(
    request: pytest.FixtureRequest, store: KeyValueStore
) -> None:
    if backend(request) == "dynamodb":
        pytest.skip("DynamoDB's conditional write is atomic by its contract; moto's threads would test moto")
    barrier = threading.Barrier(16)
    won: list[int] = []

    def create(worker: int) -> None:
        barrier.wait(timeout=30)
        try:
            store.create("race", worker)
            won.append(worker)
        except KeyExistsError:
            pass

    threads = [threading.Thread(target=create, args=(worker,)) for worker in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(won) == 1
    got = store.get("race")
    assert got is not None and got.value == won[0]


def test_stored_value_is_a_copy(store: KeyValueStore) -> None:
    value: dict[str, Any] = {"items": [1]}
    store.create("k", value)
    value["items"].append(2)
    first = store.get("k")
    assert first is not None
    first.value["items"].append(3)
    again = store.get("k")
    assert again is not None and again.value == {"items": [1]}


def test_missing_key_is_none(store: KeyValueStore) -> None:
    assert store.get("nope") is None


def test_ttl_expiry(store: KeyValueStore, clock: FakeClock) -> None:
    item = store.create("session:1", "v", ttl_seconds=10)
    assert item.expires_at == NOW + 10
    assert item.expires_at_iso == "2023-11-14T22:13:30.000Z"

    clock.now += 9.9
    assert store.get("session:1") is not None
    assert store.list_keys("session:") == (["session:1"], False)

    clock.now += 0.1
    assert store.list_keys("session:") == ([], False)
    assert store.get("session:1") is None


def test_fractional_now_never_expires_early(store: KeyValueStore, clock: FakeClock) -> None:
    clock.now += 0.5
    item = store.create("k", 1, ttl_seconds=1)
    assert item.expires_at == NOW + 2  # rounded up, never down


@pytest.mark.parametrize(
    "key",
    [
        *["", "x" * 257, "has space", "new\nline", "semi;colon", "ключ", "a\u200bb", "nul\x00", "del\x7f"],
        *["..", "../etc/passwd", "a/../b", "a..b", "a//b", "/abs", "trailing/", "trailing.", ".dot", "-dash", "_u"],
    ],
)
def test_invalid_keys_are_refused(store: KeyValueStore, key: str) -> None:
    with pytest.raises(ToolError, match="key must be 1 to 256 characters"):
        store.create(key, 1)
    with pytest.raises(ToolError, match="key must be"):
        store.replace(key, 1)
    with pytest.raises(ToolError):
        store.get(key)


def test_key_limits_and_alphabet(store: KeyValueStore) -> None:
    key = "Az09_:@-.a/b" + "x" * 244
    assert len(key) == 256
    store.create(key, 1)
    assert store.get(key) is not None


def test_value_size_limit(store: KeyValueStore) -> None:
    at_limit = "x" * (MAX_VALUE_BYTES - 2)  # the JSON quotes make it exactly 64 KiB
    store.create("big", at_limit)
    with pytest.raises(ToolError, match=f"value is {MAX_VALUE_BYTES + 1} bytes"):
        store.create("bigger", at_limit + "x")
    # Multi-byte characters count as bytes, not characters.
    with pytest.raises(ToolError, match="64 KiB"):
        store.replace("wide", "é" * (MAX_VALUE_BYTES // 2))
    assert store.get("bigger") is None
    assert store.get("wide") is None


def test_the_value_size_limit_is_configurable(new_store: NewStore) -> None:
    store = new_store(max_value_bytes=100)
    store.create("k", "x" * 98)
    with pytest.raises(ToolError, match="value is 101 bytes as JSON; the limit is 100 bytes"):
        store.replace("k", "x" * 99)


def test_a_lone_surrogate_is_refused_clearly(store: KeyValueStore) -> None:
    with pytest.raises(ToolError, match="value must be valid Unicode text"):
        store.create("k", "\ud800")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, b"bytes", object()])
def test_non_json_values_are_refused(store: KeyValueStore, value: Any) -> None:
    with pytest.raises(ToolError, match="value must be JSON"):
        store.create("k", value)


@pytest.mark.parametrize("ttl", [0, -1, MAX_TTL_SECONDS + 1, True])
def test_ttl_bounds(store: KeyValueStore, ttl: int) -> None:
    with pytest.raises(ToolError, match="ttl_seconds must be between 1 and 2592000"):
        store.create("k", 1, ttl_seconds=ttl)
    assert store.create("k", 1, ttl_seconds=MAX_TTL_SECONDS).expires_at == NOW + MAX_TTL_SECONDS


def test_prefix_listing_sorted_and_truncated(store: KeyValueStore) -> None:
    for key in ["user/3", "user/1", "user/2", "users", "team/1", "user/10"]:
        store.create(key, key)

    assert store.list_keys("user/") == (["user/1", "user/10", "user/2", "user/3"], False)
    assert store.list_keys("user/", limit=2) == (["user/1", "user/10"], True)
    assert store.list_keys("user/", limit=4) == (["user/1", "user/10", "user/2", "user/3"], False)
    assert store.list_keys("user") == (["user/1", "user/10", "user/2", "user/3", "users"], False)
    assert store.list_keys("", limit=1) == (["team/1"], True)
    assert store.list_keys("nobody") == ([], False)


def test_every_key_character_sorts_alike_and_matches_its_prefix(store: KeyValueStore) -> None:
    # One key per character of the alphabet after "a", so the order (and a prefix scan's bounds) is checked
    # for every character a key may hold: code-point order, which is UTF-8 byte order for these.
    keys = ["a-b", "a.b", "a/b", "a0", "a9", "a:b", "a@b", "aA", "aZ", "a_b", "aa", "az"]
    for key in reversed(keys):
        store.create(key, 1)
    store.create("b", 1)
    assert store.list_keys("a") == (sorted(keys), False)
    assert store.list_keys("a", limit=len(keys)) == (sorted(keys), False)
    assert store.list_keys("a_") == (["a_b"], False)  # "_" is a literal here, not a wildcard


@pytest.mark.parametrize(("prefix", "limit"), [("bad prefix", 10), ("x" * 257, 10), ("ok", 0), ("ok", 1001)])
def test_list_arguments_are_checked(store: KeyValueStore, prefix: str, limit: int) -> None:
    with pytest.raises(ToolError):
        store.list_keys(prefix, limit)


def test_check_passes_on_a_working_store(store: KeyValueStore) -> None:
    store.check()


def test_bounded_stores_refuse_writes_past_max_total_bytes(
    request: pytest.FixtureRequest, new_store: NewStore, clock: FakeClock
) -> None:
    if backend(request) == "dynamodb":
        pytest.skip("DynamoDB is not bounded by AGENTIC_KV_MAX_TOTAL_BYTES")
    store = new_store(max_total_bytes=1000)
    assert isinstance(store, MemoryKeyValueStore | SqliteKeyValueStore)
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
    got = store.get("a")
    assert got is not None and got.value == "x" * 400, "the refused replace left the value alone"
    clock.now += 5  # "b" expires: its bytes are freed when room is needed
    store.create("c", "x" * 398)
    assert store.total_bytes == 403 + 401
    assert store.list_keys() == (["a", "c"], False)
