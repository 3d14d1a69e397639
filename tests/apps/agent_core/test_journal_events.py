"""Every journal event kind, written through the journal and read back from SQLite and DynamoDB, is the same event."""

from __future__ import annotations

from typing import get_args

import pytest

from apps.agent_core.model import EventType, RunEvent, TokenUsage, ToolCall
from apps.agent_core.runs.events import (
    AlertResolved,
    ApprovalDecided,
    ApprovalDecisionRefused,
    ApprovalRequested,
    CancelRequested,
    DamagedEvent,
    JournalEvent,
    ModelTurnRecorded,
    NotificationFailed,
    NotificationSent,
    RunFinished,
    RunHandedOff,
    RunResumed,
    RunStarted,
    StepFinished,
    StepProgress,
    StepRecovered,
    StepStarted,
    read,
)
from apps.agent_core.runs.journal import RunJournal, read_journal
from apps.agent_core.runs.notifier import RunNotifier
from apps.agent_core.store.base import RunStore
from tests.apps.agent_core.store.helpers import leased

pytestmark = pytest.mark.anyio

EVERY_KIND: list[JournalEvent] = [
    RunStarted(kind="workflow", reasoner="bedrock", model="us.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ModelTurnRecorded(
        index=1,
        model=None,
        text="Plan: read the schema",
        tool_calls=[ToolCall(id="c1", server="database", tool="get_schema")],
        stop_reason="tool_use",
        usage=TokenUsage(input_tokens=12, output_tokens=3),
        duration_ms=1.5,
        resume={"calls": [{"id": "c1", "name": "database__get_schema"}], "message": {"role": "assistant"}},
    ),
    StepStarted(
        step_id="scale",
        call_id="c2",
        server="kubernetes",
        tool="scale_deployment",
        arguments={"namespace": "shop", "name": "web", "replicas": 3, "note": "ünïcode ✓"},
        attempt=2,
        idempotency_key="r/scale/2",
        retry="outcome of the interrupted call unknown",
    ),
    StepFinished(step_id="scale", status="succeeded", attempt=2, result={"rows": [[1, None, 2.5]]}, duration_ms=3.25),
    StepFinished(step_id="when_false", status="skipped", error="when was false: ${ inputs.go }"),
    StepFinished(step_id="bad", status="rejected", error="was rejected", server="custom", tool="replace_data"),
    StepProgress(step_id="scale", attempt=2, progress=3, total=8.5, message="waiting for pods ✓"),
    StepProgress(step_id="count", progress=0.25),
    StepRecovered(step_id="count", fallback_step_id="count_again"),
    ApprovalRequested(
        id="a1",
        step_id="scale",
        server="kubernetes",
        tool="scale_deployment",
        arguments={"replicas": 3},
        arguments_hash="0" * 64,
        requested_at=1_700_000_000.25,
        expires_at=1_700_000_900.25,
    ),
    ApprovalDecided(approval_id="a1", decision="approved", decided_by="alice", reason="planned"),
    ApprovalDecisionRefused(approval_id="a1", decision="rejected", by="bob", reason="already approved by alice"),
    CancelRequested(by="alice"),
    RunResumed(by="replica-b", previous_owner="replica-a", retried_steps=["s1 (lab.echo)"], unsafe_steps=["s2"]),
    RunHandedOff(by="replica-a", reason="shutting down"),
    NotificationSent(
        sink="oncall", event="awaiting_approval", status="awaiting_approval", approval_id="a1", key="notify:oncall:a1"
    ),
    NotificationFailed(sink="oncall", event="finished", attempts=4, error="HTTP 503"),
    AlertResolved(fingerprint="c48fac53bba4ae6e", ends_at=1_700_000_950.5),
    RunFinished(status="needs_attention", final_answer=None, error="the outcome of s2 is unknown"),
]


def test_every_event_kind_has_a_model_and_the_round_trip_covers_it() -> None:
    assert {event.type for event in EVERY_KIND} == set(get_args(EventType))


async def test_every_kind_reads_back_equal(store: RunStore) -> None:
    header = leased("replica-a", 60)
    await store.create(header)
    journal = RunJournal(store, RunNotifier(), header.id, lease_owner="replica-a")
    written = [await journal.append(event) for event in EVERY_KIND]
    back = await read_journal(store, header.id)
    assert [recorded.event for recorded in back] == EVERY_KIND
    assert [(r.seq, r.at) for r in back] == [(w.seq, w.at) for w in written]


def test_an_event_without_a_version_is_version_1_and_unknown_keys_are_ignored() -> None:
    stored = RunEvent(run_id="r", seq=1, type="cancel_requested", data={"by": "alice", "added_later": True}, at=1.0)
    event = read(stored).event
    assert event == CancelRequested(by="alice") and event.v == 1


def test_a_damaged_event_is_named_with_its_run_its_number_and_the_field() -> None:
    stored = RunEvent(run_id="r9", seq=7, type="step_finished", data={"step_id": "s", "status": "maybe"}, at=1.0)
    with pytest.raises(DamagedEvent, match=r"event 7 \(step_finished\) of run r9 is damaged: status"):
        read(stored)
