"""A triggered run's sinks hear when it waits for a person and when it ends: once each, across a takeover,
never holding the run up."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from apps.agent_core.app import create_app
from apps.agent_core.auth import LOCAL_PRINCIPAL
from apps.agent_core.model import TERMINAL_STATUSES, RunTrigger
from apps.agent_core.projection import RunView
from apps.agent_core.runs.approvals import DecisionChoice
from apps.agent_core.runs.events import NotificationFailed, NotificationSent
from apps.agent_core.runs.journal import read_journal
from apps.agent_core.runs.service import RunService
from apps.agent_core.settings import AgentCoreSettings
from apps.agent_core.triggers.notify import DeliveryPolicy, Notifications, RunNotification
from apps.common.logging import configure_logging
from tests.support.lab_server import run_lab_server
from tests.support.slack_standin import SlackStandIn, run_slack_standin

pytestmark = pytest.mark.anyio

SCALE = {
    "name": "scale_web",
    "steps": [{"id": "scale", "tool": "lab.scale", "arguments": {"target": "web", "replicas": 3}}],
}
FAST = DeliveryPolicy(attempts=2, timeout_seconds=0.3, backoff_seconds=0.05, total_seconds=1.0)
TRIGGER = RunTrigger(kind="schedule", id="s1", name="Scale every morning", notify=["oncall", "audit"])
SECRET = "xoxSecretToken42"


@pytest.fixture
def lab() -> Iterator[str]:
    with run_lab_server() as (url, _state):
        yield url


def core(tmp_path: Path, lab_url: str, slack: SlackStandIn, replica: str) -> Starlette:
    settings = AgentCoreSettings(
        mcp_servers=f"lab={lab_url}",
        state=f"sqlite:///{tmp_path}/runs.db",
        reasoner="offline",
        replica_id=replica,
        notify=SecretStr("oncall=slack:${TEST_SLACK_URL},audit=webhook:" + slack.url_for(f"audit-{SECRET}")),
        dashboard_url="https://agentic.example.com",
    )
    app = create_app(settings)
    app.state.notifications.policy = FAST
    return app


async def settled(service: RunService, run_id: str, statuses: Collection[str]) -> RunView:
    with anyio.fail_after(15):
        while (view := await service.view(run_id)) is None or view.status not in statuses:
            await anyio.sleep(0.02)
    return view


async def approve(service: RunService, view: RunView) -> None:
    [approval] = view.approvals
    choice = DecisionChoice(decision="approve", approval_id=approval.id, arguments_hash=approval.arguments_hash)
    await service.decide(view.id, LOCAL_PRINCIPAL, choice)


async def notifications_of(service: RunService, run_id: str) -> list[Any]:
    return [
        r.event
        for r in await read_journal(service.store, run_id)
        if isinstance(r.event, NotificationSent | NotificationFailed)
    ]


async def close(*apps: Starlette) -> None:
    for app in apps:
        await app.state.runs.shutdown(1)
        await app.state.notifications.aclose()
        await app.state.runs.store.close()


async def test_a_run_that_waits_then_ends_tells_each_sink_twice(
    tmp_path: Path, lab: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging("DEBUG")  # as the app logs: httpx, which logs each request's URL at INFO, stays at WARNING
    caplog.set_level("DEBUG")
    with run_slack_standin() as slack:
        monkeypatch.setenv("TEST_SLACK_URL", slack.url)
        app = core(tmp_path, lab, slack, "replica-a")
        service: RunService = app.state.runs
        notifications: Notifications = app.state.notifications
        try:
            header = await service.start(principal=LOCAL_PRINCIPAL, workflow=SCALE, trigger=TRIGGER)
            waiting = await settled(service, header.id, {"awaiting_approval"})
            await notifications.idle()
            assert len(slack.received) == 2, "both sinks hear of the approval before anyone decides"
            await approve(service, waiting)
            await settled(service, header.id, TERMINAL_STATUSES)
            await notifications.idle()
            journaled = await notifications_of(service, header.id)
        finally:
            await close(app)
    received = list(zip(slack.paths, slack.received, strict=True))
    to_slack = [body for path, body in received if path.startswith("/services/")]
    to_audit = [RunNotification.model_validate(body) for path, body in received if path.startswith("/hooks/")]
    assert [message["text"].split(":")[1] for message in to_slack] == ["raised_hand", "white_check_mark"]
    assert "`lab.scale`" in str(to_slack[0]["blocks"])
    assert [(b.event, b.status) for b in to_audit] == [
        ("awaiting_approval", "awaiting_approval"),
        ("finished", "succeeded"),
    ]
    assert to_audit[0].approvals[0].tool == "lab.scale" and to_audit[0].trigger == TRIGGER
    assert to_audit[1].url == f"https://agentic.example.com/#/runs/{header.id}"
    assert all(isinstance(event, NotificationSent) for event in journaled), "nothing failed"
    approval_id = waiting.approvals[0].id
    assert sorted(event.key for event in journaled) == sorted(
        [
            f"notify:audit:awaiting_approval:{approval_id}",
            f"notify:oncall:awaiting_approval:{approval_id}",
            "notify:audit:finished:succeeded",
            "notify:oncall:finished:succeeded",
        ]
    )
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "notification delivered" in logged
    assert SECRET not in logged and "standinSecretToken" not in logged, "a sink's URL is never logged"


async def test_a_takeover_does_not_send_again_and_the_new_replica_sends_the_end(
    tmp_path: Path, lab: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with run_slack_standin() as slack:
        monkeypatch.setenv("TEST_SLACK_URL", slack.url)
        first, second = core(tmp_path, lab, slack, "replica-a"), core(tmp_path, lab, slack, "replica-b")
        a: RunService = first.state.runs
        b: RunService = second.state.runs
        try:
            header = await a.start(principal=LOCAL_PRINCIPAL, workflow=SCALE, trigger=TRIGGER)
            await settled(a, header.id, {"awaiting_approval"})
            await first.state.notifications.idle()
            await a.shutdown(1)  # hands the waiting run off
            assert await b.recover() == [header.id]
            # The new owner is told the run waits (its last replica may not have said so), and so is the old one
            # again: the journal's keys let neither send a second time.
            first.state.notifications.status_written(waiting_header := await b.header(header.id))
            assert waiting_header is not None and waiting_header.status == "awaiting_approval"
            await first.state.notifications.idle()
            await second.state.notifications.idle()
            assert len(slack.received) == 2
            await approve(b, await settled(b, header.id, {"awaiting_approval"}))
            await settled(b, header.id, TERMINAL_STATUSES)
            await second.state.notifications.idle()
            journaled = await notifications_of(b, header.id)
        finally:
            await close(first, second)
    assert len(slack.received) == 4, slack.received
    assert sorted((e.sink, e.event) for e in journaled) == [
        ("audit", "awaiting_approval"),
        ("audit", "finished"),
        ("oncall", "awaiting_approval"),
        ("oncall", "finished"),
    ]


async def test_a_hanging_sink_never_holds_the_run_up_and_its_failure_is_journaled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger = RunTrigger(kind="alert", id="r", name="Hang", notify=["oncall", "ghost"])
    with run_slack_standin(hang_seconds=2.0) as slack:
        monkeypatch.setenv("TEST_SLACK_URL", slack.url)
        # No server answers (port 9, discard): the offline planner finds nothing to plan and the run ends at once.
        app = core(tmp_path, "http://127.0.0.1:9/mcp", slack, "replica-a")
        service: RunService = app.state.runs
        notifications: Notifications = app.state.notifications
        try:
            header = await service.start(principal=LOCAL_PRINCIPAL, task="What is the weather?", trigger=trigger)
            finished = await settled(service, header.id, TERMINAL_STATUSES)
            await notifications.idle()
            journal = await read_journal(service.store, header.id)
        finally:
            await close(app)
    assert finished.finished_at is not None
    gave_up = next(r.at for r in journal if isinstance(r.event, NotificationFailed) and r.event.sink == "oncall")
    # Two attempts of 0.3 s each: the run had ended (its header written) before its notification gave up.
    assert gave_up - finished.finished_at >= 2 * FAST.timeout_seconds - 0.05
    failed = {r.event.sink: r.event for r in journal if isinstance(r.event, NotificationFailed)}
    assert failed["oncall"].attempts == 2 and "no answer within 0.3 s" in failed["oncall"].error
    assert failed["ghost"].error == "no sink of this name is configured (AGENTIC_NOTIFY)"
    assert slack.requests == 2, "two attempts, each cut off at its timeout"
