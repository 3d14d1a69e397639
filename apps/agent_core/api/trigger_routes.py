"""Alert triggers under /api/triggers: Alertmanager's webhook (role ``trigger``) and the list of rules (viewer).

``POST /api/triggers/alertmanager`` answers 200 with what each alert did (started, skipped with the reason, or
resolved), also when nothing started: Alertmanager retries only 5xx answers, and re-sending a delivery that
was understood would change nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from apps.agent_core.api.endpoint import Call
from apps.agent_core.triggers.alert_intake import AlertIntake, DeliveryReport, LastRun
from apps.agent_core.triggers.alertmanager import AlertmanagerMessage
from apps.agent_core.triggers.rules import RateLimit, RuleMatch, RuleSource


class RuleView(BaseModel):
    name: str
    source: RuleSource
    match: RuleMatch
    target: dict[str, Any]
    """``template`` or ``workflow``, and ``inputs`` as written (with their ``{{ alert.… }}`` placeholders)."""
    cooldown_seconds: int
    rate_limit: RateLimit
    notify: list[str]
    enabled: bool
    last_run: LastRun | None


class RuleList(BaseModel):
    rules: list[RuleView]


def _intake(request: Request) -> AlertIntake:
    intake: AlertIntake = request.app.state.alert_intake
    return intake


async def alertmanager_webhook(request: Request, call: Call[AlertmanagerMessage]) -> Response:
    report: DeliveryReport = await _intake(request).deliver(call.body, call.principal)
    return JSONResponse(report.model_dump(mode="json"))


async def list_rules(request: Request, _: Call[None]) -> Response:
    intake = _intake(request)
    last = await intake.last_runs()
    rules = [
        RuleView(
            name=rule.name,
            source=rule.source,
            match=rule.spec.match,
            target=rule.spec.target.model_dump(mode="json", exclude_none=True),
            cooldown_seconds=rule.spec.cooldown_seconds,
            rate_limit=rule.spec.rate_limit,
            notify=list(rule.spec.notify),
            enabled=rule.spec.enabled,
            last_run=last.get(rule.name),
        )
        for rule in intake.rules
    ]
    return JSONResponse(RuleList(rules=rules).model_dump(mode="json"))
