"""Telling a run's sinks (``RunTrigger.notify``) when it waits for a person or ends, without holding the run up.

The replica that writes the status hears of it from its ``RunNotifier`` (no polling) and puts the run on a
bounded queue; a background worker reads the run, then for each sink journals ``notification_sent`` with
the once key ``notify:<sink>:<event>:<approval id or status>`` and only then sends (``sending.py``), at
most ``CONCURRENT_SENDS`` at a time. A sink that never accepts gets ``notification_failed`` in the journal.

Claim, then send: of every replica that sees the same moment (the run's own, one that takes it over), exactly
one journals the key, so a notification is sent at most once. The price is that one claimed by a replica
that stops before it is sent is not sent by any other; nor is one whose run reached its status in the
instant before its replica stopped, or that found the queue full (both logged). The opposite trade
(send, then record) would repeat a message to people on every takeover, which they would learn to ignore.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

import httpx

from apps.agent_core.model import TERMINAL_STATUSES, RunHeader
from apps.agent_core.projection import project
from apps.agent_core.runs.events import NotificationFailed, NotificationOccasion, NotificationSent
from apps.agent_core.runs.journal import RunJournal
from apps.agent_core.runs.notifier import RunNotifier
from apps.agent_core.store.base import AlreadyRecorded, RunStore, StoreError
from apps.agent_core.triggers.notify.payloads import RunNotification, notification, slack_message, webhook_body
from apps.agent_core.triggers.notify.sending import DeliveryPolicy, send
from apps.agent_core.triggers.notify.sinks import NotifySinks, Sink

QUEUE_SIZE = 1000
"""Runs waiting to be notified about; past it a notification is dropped (and logged), never the run delayed."""
CONCURRENT_SENDS = 8

log = logging.getLogger(__name__)


def occasion(status: str) -> NotificationOccasion | None:
    if status == "awaiting_approval":
        return "awaiting_approval"
    return "finished" if status in TERMINAL_STATUSES else None


class Notifications:
    """One replica's notification sender: ``status_written`` is its ``RunNotifier`` listener."""

    def __init__(
        self,
        sinks: NotifySinks,
        store: RunStore,
        notifier: RunNotifier,
        *,
        dashboard_url: str | None = None,
        policy: DeliveryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.sinks = sinks
        self.store = store
        self.notifier = notifier
        self.dashboard_url = dashboard_url
        self.policy = policy or DeliveryPolicy()
        self._client = httpx.AsyncClient(transport=transport, follow_redirects=False)
        self._queue: asyncio.Queue[RunHeader] = asyncio.Queue(maxsize=queue_size)
        self._slots = asyncio.Semaphore(CONCURRENT_SENDS)
        self._worker: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def status_written(self, header: RunHeader) -> None:
        """Queue the run if its status is one its sinks hear of; returns at once (it runs in the run's writer)."""
        event = occasion(header.status)
        if event is None or not header.trigger.notify:
            return
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="notifications")
        try:
            self._queue.put_nowait(header)
        except asyncio.QueueFull:
            log.warning("notification queue full; not sent", extra={"run_id": header.id, "event": event})

    async def _work(self) -> None:
        while True:
            header = await self._queue.get()
            try:
                await self._dispatch(header)
            except StoreError as exc:
                log.warning("could not read a run to notify about: %s", exc, extra={"run_id": header.id})
            except Exception:  # the worker outlives any one run's fault
                log.exception("could not notify about a run", extra={"run_id": header.id})
            finally:
                self._queue.task_done()

    async def _dispatch(self, header: RunHeader) -> None:
        event = occasion(header.status)
        assert event is not None  # only such headers are queued
        # Unfenced: the run's lease is gone once it has finished, and any replica may claim its notifications.
        journal = RunJournal(self.store, self.notifier, header.id)
        note = notification(project(header, await journal.history()), event, self.dashboard_url)
        if event == "awaiting_approval" and not note.approvals:
            return  # decided before we got here: nobody needs to be asked any more
        approval_id = note.approvals[0].id if note.approvals else None
        for name in dict.fromkeys(header.trigger.notify):
            await self._slots.acquire()
            try:
                claimed = await self._claim(journal, name, note, approval_id)
            except BaseException:
                self._slots.release()
                raise
            if not claimed:
                self._slots.release()
                continue
            task = asyncio.create_task(self._deliver(journal, name, note), name=f"notify-{name}-{header.id}")
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _claim(self, journal: RunJournal, name: str, note: RunNotification, approval_id: str | None) -> bool:
        key = f"notify:{name}:{note.event}:{approval_id or note.status}"
        sent = NotificationSent(sink=name, event=note.event, status=note.status, approval_id=approval_id, key=key)
        try:
            await journal.append(sent, once=key)
        except AlreadyRecorded:
            return False  # another replica (or an earlier look) has it
        except StoreError as exc:
            log.warning("could not claim a notification; not sent: %s", exc, extra={"run_id": note.run_id})
            return False
        return True

    async def _deliver(self, journal: RunJournal, name: str, note: RunNotification) -> None:
        sink = self.sinks.get(name)
        try:
            if sink is None:
                await self._failed(journal, name, note, 0, "no sink of this name is configured (AGENTIC_NOTIFY)")
                return
            body = slack_message(note) if sink.kind == "slack" else webhook_body(note)
            delivery = await send(self._client, sink, body, self.policy)
        finally:
            self._slots.release()
        fields = _log_fields(sink, note)
        if delivery.ok:
            log.info("notification delivered", extra={**fields, "attempts": delivery.attempts})
            return
        await self._failed(journal, name, note, delivery.attempts, delivery.error or "not delivered")

    async def _failed(self, journal: RunJournal, name: str, note: RunNotification, attempts: int, error: str) -> None:
        log.warning("notification not delivered: %s", error, extra=_log_fields(self.sinks.get(name), note, name))
        try:
            await journal.append(NotificationFailed(sink=name, event=note.event, attempts=attempts, error=error))
        except StoreError as exc:
            log.warning("could not journal a failed notification: %s", exc, extra={"run_id": note.run_id})

    async def idle(self) -> None:
        """Wait until everything queued so far has been sent or given up (for tests and shutdown)."""
        await self._queue.join()
        while self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)

    async def aclose(self, timeout: float = 5.0) -> None:
        """Give queued notifications up to ``timeout`` seconds, then stop; closes the HTTP client."""
        if self._worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.idle(), timeout)
            self._worker.cancel()
            for task in list(self._sending):
                task.cancel()
            await asyncio.gather(self._worker, *self._sending, return_exceptions=True)
        await self._client.aclose()


def _log_fields(sink: Sink | None, note: RunNotification, name: str | None = None) -> dict[str, str]:
    shown = {"sink": sink.name, "sink_kind": sink.kind, "sink_host": sink.host} if sink else {"sink": name or "?"}
    return {**shown, "run_id": note.run_id, "event": note.event}


def configured_notifications(
    notify: str | None,
    dashboard_url: str | None,
    store: RunStore,
    notifier: RunNotifier,
    environ: Mapping[str, str],
) -> Notifications:
    """Read ``AGENTIC_NOTIFY`` (``ConfigurationError`` naming each bad entry) and listen to ``notifier``."""
    notifications = Notifications(NotifySinks.parse(notify, environ), store, notifier, dashboard_url=dashboard_url)
    notifier.listen(notifications.status_written)
    if notifications.sinks:
        log.info("notification sinks: %s", ", ".join(notifications.sinks.describe()))
    return notifications
