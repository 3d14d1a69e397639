"""The RunStore contract (see apps/agent_core/store/base.py), checked on every backend."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

from apps.agent_core.store.base import (
    InvalidCursor,
    RunExists,
    RunNotFound,
    RunStore,
    StoreError,
    VersionConflict,
)
from apps.agent_core.store.codec import MAX_DOCUMENT_BYTES
from apps.agent_core.store.dynamodb import DynamoDBRunStore
from apps.agent_core.store.sqlite import SqliteRunStore
from tests.apps.agent_core.conftest import BACKENDS
from tests.apps.agent_core.store.helpers import make_header

pytestmark = pytest.mark.anyio


async def list_all(store: RunStore, **kwargs: Any) -> list[str]:
    """Every run id, page by page; fails rather than loop if cursors never end."""
    ids: list[str] = []
    cursor = None
    for _ in range(100):
        page = await store.list(cursor=cursor, **kwargs)
        ids += [run.id for run in page.runs]
        cursor = page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("the listing never ended")


async def test_create_then_get_round_trips(store: RunStore) -> None:
    header = make_header(title="Résumé the 🌍 report").model_copy(
        update={"request": {"task": "x", "nested": [1, {"a": None}]}, "model": "m"}
    )
    await store.create(header)
    assert await store.get(header.id) == header
    assert await store.get("no-such-run") is None


async def test_duplicate_create_is_refused_and_keeps_the_original(store: RunStore) -> None:
    header = make_header(title="first")
    await store.create(header)
    with pytest.raises(RunExists, match=header.id):
        await store.create(header.model_copy(update={"title": "second"}))
    stored = await store.get(header.id)
    assert stored is not None and stored.title == "first"


async def test_update_is_conditional_on_the_version(store: RunStore) -> None:
    header = make_header()
    await store.create(header)
    first = await store.update(header.model_copy(update={"status": "running", "started_at": 5.0}))
    assert first.version == 1 and first.status == "running"
    assert await store.get(header.id) == first
    with pytest.raises(VersionConflict):
        await store.update(header.model_copy(update={"status": "failed"}))  # still version 0
    second = await store.update(first.model_copy(update={"status": "succeeded", "final_answer": "42"}))
    assert second.version == 2
    stored = await store.get(header.id)
    assert stored is not None and (stored.status, stored.final_answer, stored.version) == ("succeeded", "42", 2)


async def test_update_of_a_missing_run(store: RunStore) -> None:
    with pytest.raises(RunNotFound):
        await store.update(make_header("ghost"))


async def test_concurrent_updates_exactly_one_wins(store: RunStore) -> None:
    header = make_header()
    await store.create(header)
    outcomes: dict[str, str] = {}

    async def writer(name: str) -> None:
        try:
            await store.update(header.model_copy(update={"title": name}))
            outcomes[name] = "won"
        except VersionConflict:
            outcomes[name] = "conflict"

    async with anyio.create_task_group() as group:
        for index in range(10):
            group.start_soon(writer, f"writer-{index}")
    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    assert len(outcomes) == 10 and len(winners) == 1
    stored = await store.get(header.id)
    assert stored is not None and stored.title == winners[0] and stored.version == 1


async def test_list_is_newest_first_with_ties_broken_by_id(store: RunStore) -> None:
    for run_id, created in [("a", 10.0), ("b", 30.0), ("c", 20.0), ("d", 30.0), ("e", 20.5)]:
        await store.create(make_header(run_id, created_at=created))
    page = await store.list()
    assert [run.id for run in page.runs] == ["d", "b", "e", "c", "a"]
    assert page.next_cursor is None


async def test_list_filters_by_status_and_follows_updates(store: RunStore) -> None:
    await store.create(make_header("q1", created_at=1.0))
    await store.create(make_header("r1", created_at=2.0, status="running"))
    await store.create(make_header("q2", created_at=3.0))
    assert [run.id for run in (await store.list(status="queued")).runs] == ["q2", "q1"]
    assert [run.id for run in (await store.list(status="running")).runs] == ["r1"]
    assert (await store.list(status="failed")).runs == []

    q1 = await store.get("q1")
    assert q1 is not None
    await store.update(q1.model_copy(update={"status": "running"}))
    assert [run.id for run in (await store.list(status="running")).runs] == ["r1", "q1"]
    assert [run.id for run in (await store.list(status="queued")).runs] == ["q2"]


@pytest.mark.parametrize("count", [7, 6])  # a last page part-full and exactly full
async def test_list_pages_cover_every_run_once(store: RunStore, count: int) -> None:
    expected = [f"run-{index:02d}" for index in reversed(range(count))]
    for index in range(count):
        await store.create(make_header(f"run-{index:02d}", created_at=100.0 + index))
    pages = []
    cursor = None
    for _ in range(10):
        page = await store.list(limit=2, cursor=cursor)
        pages.append([run.id for run in page.runs])
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [run_id for page in pages for run_id in page] == expected
    assert len(pages) == (count + 1) // 2
    assert all(len(page) == 2 for page in pages[:-1])
    assert await list_all(store, limit=3) == expected


async def test_list_pages_with_a_status_filter(store: RunStore) -> None:
    for index in range(5):
        await store.create(make_header(f"f-{index}", created_at=float(index), status="failed"))
        await store.create(make_header(f"s-{index}", created_at=float(index) + 0.5, status="succeeded"))
    assert await list_all(store, status="failed", limit=2) == [f"f-{index}" for index in reversed(range(5))]


async def test_invalid_cursors_are_refused(store: RunStore) -> None:
    for index in range(3):
        await store.create(make_header(f"run-{index}", created_at=float(index), status="failed"))
    filtered = await store.list(status="failed", limit=1)
    assert filtered.next_cursor is not None
    not_json = base64.urlsafe_b64encode(b"{oops").decode()
    not_ours = base64.urlsafe_b64encode(json.dumps({"v": 99}).encode()).decode()
    for cursor in ["not a cursor!", "", not_json, not_ours, "A" * 5000]:
        with pytest.raises(InvalidCursor):
            await store.list(cursor=cursor)
    # A cursor carries the filter of its listing: it cannot be replayed against another one.
    with pytest.raises(InvalidCursor, match="status or trigger filter"):
        await store.list(cursor=filtered.next_cursor)
    following = await store.list(status="failed", limit=1, cursor=filtered.next_cursor)
    assert [run.id for run in following.runs] == ["run-1"]


async def test_list_limit_is_validated(store: RunStore) -> None:
    for limit in (0, -1, 1001):
        with pytest.raises(ValueError, match="limit"):
            await store.list(limit=limit)


async def test_append_event_numbers_events_per_run(store: RunStore) -> None:
    one, two = make_header(), make_header()
    await store.create(one)
    await store.create(two)
    data = {"kind": "task", "text": "naïve ✓", "nested": {"list": [1, 2.5, None, True]}}
    first = await store.append_event(one.id, "run_started", data)
    assert (first.run_id, first.seq, first.type, first.data) == (one.id, 1, "run_started", data)
    assert first.at > 0
    assert (await store.append_event(one.id, "model_turn", {"n": 2})).seq == 2
    assert (await store.append_event(two.id, "run_started", {})).seq == 1
    assert (await store.append_event(one.id, "run_finished", {"status": "succeeded"})).seq == 3

    events = await store.events(one.id)
    assert [(event.seq, event.type) for event in events] == [(1, "run_started"), (2, "model_turn"), (3, "run_finished")]
    assert events[0] == first
    assert [event.seq for event in await store.events(two.id)] == [1]


async def test_events_after_and_limit(store: RunStore) -> None:
    header = make_header()
    await store.create(header)
    for index in range(12):
        await store.append_event(header.id, "step_started", {"index": index})
    assert [event.seq for event in await store.events(header.id, after=9)] == [10, 11, 12]
    assert [event.data["index"] for event in await store.events(header.id, after=3, limit=4)] == [3, 4, 5, 6]
    assert await store.events(header.id, after=12) == []
    assert len(await store.events(header.id, after=-5)) == 12
    assert await store.events("no-such-run") == []


async def test_append_event_to_a_missing_run(store: RunStore) -> None:
    with pytest.raises(RunNotFound):
        await store.append_event("ghost", "run_started", {})
    assert await store.events("ghost") == []


async def test_concurrent_appends_get_unique_contiguous_numbers(store: RunStore) -> None:
    header = make_header()
    await store.create(header)
    seqs: list[int] = []

    async def append(index: int) -> None:
        event = await store.append_event(header.id, "step_finished", {"index": index})
        seqs.append(event.seq)

    async with anyio.create_task_group() as group:
        for index in range(50):
            group.start_soon(append, index)
    assert sorted(seqs) == list(range(1, 51))
    stored = await store.events(header.id)
    assert [event.seq for event in stored] == list(range(1, 51))
    assert sorted(event.data["index"] for event in stored) == list(range(50))


async def test_events_do_not_disturb_header_versions(store: RunStore) -> None:
    header = make_header()
    await store.create(header)
    await store.append_event(header.id, "run_started", {})
    updated = await store.update(header.model_copy(update={"status": "running"}))
    assert (await store.append_event(header.id, "model_turn", {})).seq == 2
    assert await store.get(header.id) == updated


async def test_oversized_event_data_is_refused_without_a_gap(store: RunStore) -> None:
    header = make_header()
    await store.create(header)
    with pytest.raises(StoreError, match="cap large tool results"):
        await store.append_event(header.id, "step_finished", {"result": "x" * (MAX_DOCUMENT_BYTES + 1)})
    assert await store.events(header.id) == []
    big = await store.append_event(header.id, "step_finished", {"result": "y" * 300_000})
    assert big.seq == 1
    assert (await store.events(header.id))[0].data["result"] == "y" * 300_000


async def test_unknown_event_type_is_refused(store: RunStore) -> None:
    header = make_header()
    await store.create(header)
    with pytest.raises(ValueError, match="unknown event type"):
        await store.append_event(header.id, "not_a_type", {})  # type: ignore[arg-type]


async def test_check_passes_on_a_usable_store(store: RunStore) -> None:
    await store.check()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_unusable_store_raises_store_error(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "sqlite":
        path = tmp_path / "runs.db"
        path.write_bytes(b"this is not a database, just some bytes" * 100)
        with pytest.raises(StoreError, match="not a usable SQLite database"):
            SqliteRunStore(path)
        return
    request.getfixturevalue("aws_env")
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    store = DynamoDBRunStore(missing, request.getfixturevalue("dynamodb"))
    for call in (store.check(), store.get("x"), store.create(make_header()), store.list()):
        with pytest.raises(StoreError, match=f"table '{missing}' does not exist"):
            await call
