"""``append_event(once=…)`` on every backend: the first append with a key lands, every later one is refused.

See the contract in apps/agent_core/store/base.py. Concurrency tests use ``isolated_moto`` (conftest):
moto alone does not isolate concurrent transactions the way DynamoDB does.
"""

from __future__ import annotations

import asyncio

import pytest

from apps.agent_core.model import RunEvent
from apps.agent_core.store.base import AlreadyRecorded, LeaseLost, RunNotFound, RunStore, StoreError
from apps.agent_core.store.codec import MAX_ONCE_KEY_BYTES
from tests.apps.agent_core.store.helpers import leased, make_header

pytestmark = pytest.mark.anyio


async def test_a_second_append_with_the_key_is_refused_and_writes_nothing(store: RunStore) -> None:
    header = make_header()
    await store.create(header)
    await store.append_event(header.id, "run_started", {})
    first = await store.append_event(header.id, "approval_decided", {"by": "ana"}, once="decision:a1")
    assert first.seq == 2
    before = await store.events(header.id)

    with pytest.raises(AlreadyRecorded) as refused:
        await store.append_event(header.id, "approval_decided", {"by": "bo"}, once="decision:a1")
    assert (refused.value.existing_seq, refused.value.key, refused.value.run_id) == (2, "decision:a1", header.id)
    assert isinstance(refused.value, StoreError) and "decision:a1" in str(refused.value)
    assert await store.events(header.id) == before
    # The refused append used no number: the next event follows on without a gap.
    assert (await store.append_event(header.id, "step_started", {})).seq == 3
    with pytest.raises(AlreadyRecorded) as again:
        await store.append_event(header.id, "run_resumed", {}, once="decision:a1")  # the key, whatever the type
    assert again.value.existing_seq == 2
    assert [event.seq for event in await store.events(header.id)] == [1, 2, 3]


async def test_different_keys_and_runs_do_not_collide(store: RunStore) -> None:
    one, two = make_header(), make_header()
    await store.create(one)
    await store.create(two)
    assert (await store.append_event(one.id, "approval_decided", {"n": 1}, once="decision:a")).seq == 1
    assert (await store.append_event(one.id, "approval_decided", {"n": 2}, once="decision:b")).seq == 2
    assert (await store.append_event(one.id, "model_turn", {"n": 3})).seq == 3
    assert (await store.append_event(two.id, "approval_decided", {"n": 4}, once="decision:a")).seq == 1
    # Keys are compared exactly: case and any prefix make another key.
    assert (await store.append_event(one.id, "approval_decided", {"n": 5}, once="Decision:a")).seq == 4
    assert (await store.append_event(one.id, "approval_decided", {"n": 6}, once="decision:")).seq == 5
    assert [event.data["n"] for event in await store.events(one.id)] == [1, 2, 3, 5, 6]


async def test_of_concurrent_appends_with_one_key_exactly_one_lands(store: RunStore, isolated_moto: None) -> None:
    header = make_header()
    await store.create(header)
    outcomes = await asyncio.gather(
        *(
            store.append_event(header.id, "approval_decided", {"writer": index}, once="decision:a1")
            for index in range(10)
        ),
        return_exceptions=True,
    )
    landed = [outcome for outcome in outcomes if isinstance(outcome, RunEvent)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, AlreadyRecorded)]
    assert len(landed) == 1 and len(refused) == 9, outcomes
    (winner,) = landed
    assert winner.seq == 1 and {exc.existing_seq for exc in refused} == {1}
    assert await store.events(header.id) == [winner]


async def test_racing_keys_and_plain_appends_number_without_gaps(store: RunStore, isolated_moto: None) -> None:
    header = make_header()
    await store.create(header)
    keys = [f"decision:{index}" for index in range(8)]
    outcomes = await asyncio.gather(
        *(
            store.append_event(header.id, "approval_decided", {"key": key, "try": attempt}, once=key)
            for attempt in range(2)
            for key in keys
        ),
        *(store.append_event(header.id, "model_turn", {"plain": index}) for index in range(8)),
        return_exceptions=True,
    )
    assert not [outcome for outcome in outcomes if not isinstance(outcome, RunEvent | AlreadyRecorded)], outcomes
    events = await store.events(header.id)
    assert [event.seq for event in events] == list(range(1, 17))  # 8 keys once each, 8 plain
    held = {event.data["key"]: event.seq for event in events if "key" in event.data}
    assert sorted(held) == keys
    refused = [outcome for outcome in outcomes if isinstance(outcome, AlreadyRecorded)]
    assert sorted(exc.key for exc in refused) == keys
    assert all(exc.existing_seq == held[exc.key] for exc in refused)


async def test_the_lease_fence_applies_and_comes_before_the_key(store: RunStore) -> None:
    header = leased("replica-a", 60)
    await store.create(header)
    with pytest.raises(LeaseLost):
        await store.append_event(header.id, "approval_decided", {}, once="decision:a1", lease_owner="replica-b")
    assert await store.events(header.id) == []
    # The refused append took neither the key nor a number.
    won = await store.append_event(header.id, "approval_decided", {}, once="decision:a1", lease_owner="replica-a")
    assert won.seq == 1
    with pytest.raises(AlreadyRecorded):
        await store.append_event(header.id, "approval_decided", {}, once="decision:a1", lease_owner="replica-a")
    with pytest.raises(LeaseLost):  # a stale replica learns it lost the lease, not who decided
        await store.append_event(header.id, "approval_decided", {}, once="decision:a1", lease_owner="replica-b")
    assert [event.seq for event in await store.events(header.id)] == [1]


async def test_an_expired_lease_fences_a_once_append(store: RunStore) -> None:
    header = leased("replica-a", -1)
    await store.create(header)
    with pytest.raises(LeaseLost):
        await store.append_event(header.id, "approval_decided", {}, once="decision:a1", lease_owner="replica-a")
    assert (await store.append_event(header.id, "approval_decided", {}, once="decision:a1")).seq == 1


async def test_a_once_append_to_a_missing_run(store: RunStore) -> None:
    with pytest.raises(RunNotFound):
        await store.append_event("ghost", "approval_decided", {}, once="decision:a1")
    with pytest.raises(RunNotFound):
        await store.append_event("ghost", "approval_decided", {}, once="decision:a1", lease_owner="replica-a")
    assert await store.events("ghost") == []


async def test_once_keys_are_validated_before_anything_is_written(store: RunStore) -> None:
    header = make_header()
    await store.create(header)
    for key in ("", "é" * (MAX_ONCE_KEY_BYTES // 2 + 1)):
        with pytest.raises(ValueError, match="once key"):
            await store.append_event(header.id, "approval_decided", {}, once=key)
    longest = "é" * (MAX_ONCE_KEY_BYTES // 2)
    assert (await store.append_event(header.id, "approval_decided", {}, once=longest)).seq == 1
    with pytest.raises(AlreadyRecorded):
        await store.append_event(header.id, "approval_decided", {}, once=longest)
    with pytest.raises(StoreError, match="cap large tool results"):  # the data limit holds with a key too
        await store.append_event(header.id, "approval_decided", {"x": "y" * 400_000}, once="decision:big")
    assert (await store.append_event(header.id, "approval_decided", {}, once="decision:big")).seq == 2
