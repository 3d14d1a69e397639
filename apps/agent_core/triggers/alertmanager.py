"""Alertmanager's webhook payload (version 4), modelled field for field as Alertmanager 0.25 sends it.

Upstream, ``prometheus/alertmanager`` at v0.25.0 (the version Debian bookworm ships as
``prometheus-alertmanager`` 0.25.0):

- ``notify/webhook/webhook.go``, ``type Message``: ``*template.Data`` embedded, plus ``version`` (always
  ``"4"``), ``groupKey`` and ``truncatedAlerts`` (alerts left out by the receiver's ``max_alerts``);
- ``template/template.go``, ``type Data``: ``receiver``, ``status``, ``alerts``, ``groupLabels``,
  ``commonLabels``, ``commonAnnotations``, ``externalURL``; ``type Alert``: ``status``, ``labels``,
  ``annotations``, ``startsAt``, ``endsAt`` (Go's zero time ``0001-01-01T00:00:00Z`` while firing),
  ``generatorURL``, ``fingerprint`` (16 hex digits); ``type KV map[string]string``.

Every field is required, as Alertmanager always writes every one. Fields a later Alertmanager adds are ignored
(``ExternalPayload``): Alertmanager retries only on a 5xx, so refusing them would drop alerts unseen. Sizes are
bounded beyond the API's body limit: alerts per message, labels and annotations per alert, and their lengths.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from apps.agent_core.api.schemas import ExternalPayload

MAX_ALERTS = 500
"""Alerts in one message; a larger group is refused, naming Alertmanager's ``max_alerts`` setting that cuts it."""
MAX_PAIRS = 64
"""Labels, or annotations, of one alert (and of the message's common and group sets)."""
MAX_LABEL_VALUE_CHARS = 1024
MAX_ANNOTATION_CHARS = 8192
"""Annotations are prose (descriptions, runbook links), longer than labels."""

AlertStatus = Literal["firing", "resolved"]
LabelName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
LabelValue = Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE_CHARS)]
AnnotationValue = Annotated[str, StringConstraints(max_length=MAX_ANNOTATION_CHARS)]
Labels = Annotated[dict[LabelName, LabelValue], Field(max_length=MAX_PAIRS)]
Annotations = Annotated[dict[LabelName, AnnotationValue], Field(max_length=MAX_PAIRS)]
Url = Annotated[str, StringConstraints(max_length=4096)]


def _at_most_alerts(alerts: list[Alert]) -> list[Alert]:
    if len(alerts) > MAX_ALERTS:
        raise ValueError(
            f"{len(alerts)} alerts in one message; at most {MAX_ALERTS}: set max_alerts in Alertmanager's "
            "webhook_config (the rest are counted in truncatedAlerts)"
        )
    return alerts


class Alert(ExternalPayload):
    """``template.Alert``: one alert of the group."""

    status: AlertStatus
    labels: Labels
    annotations: Annotations
    startsAt: datetime
    endsAt: datetime
    """Go's zero time (year 1) while the alert fires with no end known."""
    generatorURL: Url
    fingerprint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
    """``model.Fingerprint.String()``: the hash of the alert's labels, ``%016x``."""

    def starts_at_key(self) -> str:
        """The firing episode in one spelling (UTC, microseconds) whichever offset or precision was sent."""
        at = self.startsAt if self.startsAt.tzinfo is not None else self.startsAt.replace(tzinfo=UTC)
        return at.astimezone(UTC).isoformat(timespec="microseconds")


class AlertmanagerMessage(ExternalPayload):
    """``webhook.Message`` of Alertmanager 0.25: what ``webhook_configs`` POSTs (``version`` ``"4"``)."""

    version: Literal["4"]
    groupKey: Annotated[str, StringConstraints(max_length=4096)]
    truncatedAlerts: int = Field(ge=0)
    status: AlertStatus
    receiver: Annotated[str, StringConstraints(max_length=1024)]
    groupLabels: Labels
    commonLabels: Labels
    commonAnnotations: Annotations
    externalURL: Url
    alerts: Annotated[list[Alert], AfterValidator(_at_most_alerts)]
