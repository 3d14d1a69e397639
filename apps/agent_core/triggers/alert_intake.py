"""Alertmanager's notifications in, runs out: each firing episode of an alert starts one run per matching rule.

For a firing alert and a rule that matches it, in this order:

1. the run id is derived from (rule, fingerprint, startsAt): if that run exists, a re-sent or repeated
   notification of the same episode is skipped (``already started``);
2. the workflow is checked against the live tool catalog, before anything is claimed;
3. the cool-down: ``cooldown:<rule>:<fingerprint>`` is claimed for ``cooldown_seconds``; while another episode's
   run holds it, this episode is skipped;
4. the rate limit: the first free of ``runs`` slots ``rate:<rule>:<window>:<n>`` of the current window is claimed;
   none free, skipped;
5. ``RunService.start`` with that run id: the store's conditional create lets exactly one replica start it.

Claims (3, 4) are conditional writes in the shared store, so replicas agree; a replica that dies between a claim and
the start leaves the claim to lapse (the alert is retried after the cool-down, when Alertmanager repeats it).

A resolved alert is journaled on its episode's run as ``alert_resolved``, once (repeats find it recorded).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from apps.agent_core.auth import Principal
from apps.agent_core.model import RunStatus, RunTrigger
from apps.agent_core.runs.errors import DrainingError, RunRequestError
from apps.agent_core.runs.events import AlertResolved
from apps.agent_core.runs.journal import RunJournal
from apps.agent_core.runs.service import RunService
from apps.agent_core.store.base import AlreadyRecorded, RunExists
from apps.agent_core.triggers.alertmanager import Alert, AlertmanagerMessage
from apps.agent_core.triggers.builtin_rules import builtin_rules
from apps.agent_core.triggers.ids import trigger_run_id
from apps.agent_core.triggers.rules import MissingAlertValue, Rule, configured_rules

logger = logging.getLogger(__name__)

DETAIL_LABELS = ("namespace", "pod", "deployment", "container", "severity")
"""Labels copied into the run's trigger detail, for people reading History and the notifications."""
RECENT_ALERT_RUNS = 200
"""Alert-started runs read to find each rule's last run for ``GET /api/triggers``."""


class StartedAlert(BaseModel):
    rule: str
    fingerprint: str
    run_id: str


class SkippedAlert(BaseModel):
    rule: str | None
    """``None`` when no rule matches the alert."""
    fingerprint: str
    reason: str


class ResolvedAlert(BaseModel):
    rule: str
    fingerprint: str
    run_id: str


class DeliveryReport(BaseModel):
    """The answer to Alertmanager: what each alert of the message did."""

    started: list[StartedAlert]
    skipped: list[SkippedAlert]
    resolved: list[ResolvedAlert]


class LastRun(BaseModel):
    run_id: str
    tick: str | None
    """The firing episode (the alert's ``startsAt``) the run was started for."""
    fingerprint: str | None
    status: RunStatus
    created_at: float
    finished_at: float | None


class AlertIntake:
    def __init__(self, service: RunService, rules: list[Rule], clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self.rules = rules
        self.clock = clock

    async def deliver(self, message: AlertmanagerMessage, principal: Principal) -> DeliveryReport:
        if self.service.draining:  # before any claim: Alertmanager retries a 503 on another replica
            raise DrainingError("this replica is shutting down; deliver again (another replica will take it)")
        report = DeliveryReport(started=[], skipped=[], resolved=[])
        for alert in message.alerts:
            matching = [rule for rule in self.rules if rule.matches(alert.labels)]
            if not matching:
                report.skipped.append(SkippedAlert(rule=None, fingerprint=alert.fingerprint, reason="no rule matches"))
            for rule in matching:
                outcome: StartedAlert | ResolvedAlert | SkippedAlert
                if alert.status == "firing":
                    outcome = await self._fire(rule, alert, principal)
                else:
                    outcome = await self._resolve(rule, alert)
                if isinstance(outcome, StartedAlert):
                    report.started.append(outcome)
                elif isinstance(outcome, ResolvedAlert):
                    report.resolved.append(outcome)
                else:
                    report.skipped.append(outcome)
        return report

    async def _fire(self, rule: Rule, alert: Alert, principal: Principal) -> StartedAlert | SkippedAlert:
        def skipped(reason: str) -> SkippedAlert:
            return SkippedAlert(rule=rule.name, fingerprint=alert.fingerprint, reason=reason)

        if not rule.spec.enabled:
            return skipped("the rule is disabled")
        try:
            inputs = rule.inputs_for(alert)
        except MissingAlertValue as exc:
            return skipped(str(exc))
        run_id = trigger_run_id("alert", rule.name, alert.fingerprint, alert.starts_at_key())
        store = self.service.store
        if await store.get(run_id) is not None:
            return skipped(f"already started: run {run_id}")
        try:
            await self.service.validate_workflow(rule.workflow)
        except RunRequestError as exc:
            return skipped("the workflow cannot run now: " + "; ".join(exc.problems))
        now = self.clock()
        cooldown = rule.spec.cooldown_seconds
        if cooldown and not await store.claim(
            f"cooldown:{rule.name}:{alert.fingerprint}", run_id, now=now, ttl_seconds=cooldown
        ):
            if await store.get(run_id) is not None:  # a concurrent delivery of this same episode got there first
                return skipped(f"already started: run {run_id}")
            return skipped(f"cooling down: a run for this alert started less than {cooldown} s ago")
        if not await self._rate_slot(rule, run_id, now):
            limit = rule.spec.rate_limit
            return skipped(
                f"rate limited: the rule has started {limit.runs} run(s) in this {limit.per_seconds} s window"
            )
        trigger = RunTrigger(
            kind="alert",
            id=rule.name,
            name=alert.labels.get("alertname"),
            detail={
                "fingerprint": alert.fingerprint,
                "starts_at": alert.starts_at_key(),
                **{name: alert.labels[name] for name in DETAIL_LABELS if name in alert.labels},
            },
            notify=list(rule.spec.notify),
        )
        try:
            await self.service.start(
                principal=principal, workflow=rule.workflow, inputs=inputs, trigger=trigger, run_id=run_id
            )
        except RunExists:
            return skipped(f"already started: run {run_id}")
        except RunRequestError as exc:
            logger.warning("alert rule %s: run not started: %s", rule.name, "; ".join(exc.problems))
            return skipped("the run was refused: " + "; ".join(exc.problems))
        return StartedAlert(rule=rule.name, fingerprint=alert.fingerprint, run_id=run_id)

    async def _rate_slot(self, rule: Rule, run_id: str, now: float) -> bool:
        """Claim the first free slot of the window; each slot is one run, so ``runs`` claims at most."""
        limit = rule.spec.rate_limit
        window = int(now // limit.per_seconds)
        for slot in range(limit.runs):
            key = f"rate:{rule.name}:{window}:{slot}"
            if await self.service.store.claim(key, run_id, now=now, ttl_seconds=limit.per_seconds):
                return True
        return False

    async def _resolve(self, rule: Rule, alert: Alert) -> ResolvedAlert | SkippedAlert:
        run_id = trigger_run_id("alert", rule.name, alert.fingerprint, alert.starts_at_key())
        if await self.service.store.get(run_id) is None:
            reason = "resolved; no run was started for this firing"
            return SkippedAlert(rule=rule.name, fingerprint=alert.fingerprint, reason=reason)
        journal = RunJournal(self.service.store, self.service.notifier, run_id)
        event = AlertResolved(fingerprint=alert.fingerprint, ends_at=alert.endsAt.timestamp())
        try:
            await journal.append(event, once="resolved")
        except AlreadyRecorded:
            reason = f"resolution already recorded on run {run_id}"
            return SkippedAlert(rule=rule.name, fingerprint=alert.fingerprint, reason=reason)
        return ResolvedAlert(rule=rule.name, fingerprint=alert.fingerprint, run_id=run_id)

    async def last_runs(self) -> dict[str, LastRun]:
        """Each rule's newest run among the latest alert-started ones (bounded: ``RECENT_ALERT_RUNS``)."""
        page = await self.service.list_runs(status=None, trigger="alert", limit=RECENT_ALERT_RUNS, cursor=None)
        last: dict[str, LastRun] = {}
        for header in page.runs:  # newest first
            rule = header.trigger.id
            if rule is None or rule in last:
                continue
            detail: dict[str, Any] = header.trigger.detail
            last[rule] = LastRun(
                run_id=header.id,
                tick=detail.get("starts_at"),
                fingerprint=detail.get("fingerprint"),
                status=header.status,
                created_at=header.created_at,
                finished_at=header.finished_at,
            )
        return last


def open_alert_intake(rules_file: Path | None, service: RunService, sinks: frozenset[str]) -> AlertIntake:
    """The intake with the built-in rules and ``AGENTIC_TRIGGERS_FILE``'s; ``ConfigurationError`` if that is bad."""
    return AlertIntake(service, configured_rules(rules_file, builtin_rules(), sinks))
