"""What triggers need of the run store, on every backend: runs listed by what started them, and claims."""

from __future__ import annotations

import anyio
import pytest

from apps.agent_core.model import RunTrigger
from apps.agent_core.store.base import InvalidCursor, RunStore
from tests.apps.agent_core.store.helpers import make_header
from tests.apps.agent_core.store.test_contract import list_all

pytestmark = pytest.mark.anyio

SCHEDULED = RunTrigger(kind="schedule", id="nightly", name="Nightly report", detail={"tick": "2026-12-03T02:00:00Z"})
ALERTED = RunTrigger(kind="alert", id="crashloop", name="KubePodCrashLooping", detail={"fingerprint": "4f2a"})


async def test_runs_list_by_trigger_old_headers_counting_as_api(store: RunStore) -> None:
    made = {}
    for index, trigger in enumerate([None, SCHEDULED, ALERTED, SCHEDULED, None, SCHEDULED]):
        header = make_header(created_at=1_700_000_000.0 + index, status="succeeded" if index % 2 else "failed")
        if trigger is not None:
            header = header.model_copy(update={"trigger": trigger})
        await store.create(header)
        made[header.id] = trigger.kind if trigger else "api"
    newest_first = list(reversed(made))

    for kind in ("api", "schedule", "alert"):
        assert await list_all(store, trigger=kind, limit=1) == [i for i in newest_first if made[i] == kind], kind
    scheduled_ok = await list_all(store, trigger="schedule", status="succeeded")
    assert scheduled_ok == [i for i in newest_first if made[i] == "schedule"], "index 1, 3, 5 are succeeded"
    stored = await store.get(scheduled_ok[0])
    assert stored is not None and stored.trigger == SCHEDULED


async def test_a_cursor_is_valid_only_with_the_filters_it_was_issued_for(store: RunStore) -> None:
    for index in range(3):
        await store.create(make_header(created_at=1_700_000_000.0 + index).model_copy(update={"trigger": SCHEDULED}))
    page = await store.list(trigger="schedule", limit=1)
    assert page.next_cursor is not None
    with pytest.raises(InvalidCursor, match="trigger filter"):
        await store.list(limit=1, cursor=page.next_cursor)
    with pytest.raises(InvalidCursor, match="trigger filter"):
        await store.list(trigger="alert", limit=1, cursor=page.next_cursor)


async def test_of_many_concurrent_claims_of_a_key_exactly_one_wins(store: RunStore) -> None:
    won: list[str] = []

    async def claim(holder: str) -> None:
        if await store.claim("rate:crashloop:29433", holder, now=1000.0, ttl_seconds=60):
            won.append(holder)

    async with anyio.create_task_group() as group:
        for index in range(10):
            group.start_soon(claim, f"replica-{index}")
    assert len(won) == 1


async def test_a_claim_lapses_after_its_ttl_and_one_without_a_ttl_never_does(store: RunStore) -> None:
    assert await store.claim("cooldown:a", "one", now=1000.0, ttl_seconds=60)
    assert not await store.claim("cooldown:a", "two", now=1059.9, ttl_seconds=60)
    assert not await store.claim("cooldown:a", "one", now=1030.0, ttl_seconds=60), "not even by its holder"
    assert await store.claim("cooldown:a", "two", now=1060.0, ttl_seconds=60)
    assert not await store.claim("cooldown:a", "three", now=1100.0)

    assert await store.claim("forever", "one", now=1000.0)
    assert not await store.claim("forever", "two", now=10**9, ttl_seconds=1)


async def test_claim_keys_are_bounded(store: RunStore) -> None:
    with pytest.raises(ValueError, match="claim key"):
        await store.claim("", "one", now=1.0)
    with pytest.raises(ValueError, match="claim key"):
        await store.claim("k" * 513, "one", now=1.0)
