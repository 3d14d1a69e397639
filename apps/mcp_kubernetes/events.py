"""Core v1 Events as short reports, newest first."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from kubernetes.client import CoreV1Event
from pydantic import BaseModel, Field

from apps.mcp_kubernetes.durations import human_duration, seconds_since
from apps.mcp_kubernetes.text import shorten

_MAX_MESSAGE = 400
_LONG_AGO = datetime.min.replace(tzinfo=UTC)


class EventReport(BaseModel):
    type: str = Field(description="Normal or Warning.")
    reason: str
    message: str
    object: str = Field(description="The object the event is about, as Kind/namespace/name.")
    count: int
    last_seen_seconds: int | None
    last_seen: str = Field(description="How long ago it last happened, e.g. '5m'.")


def last_seen(event: CoreV1Event) -> datetime | None:
    """When the event last happened: the newer events API fills eventTime/series, the older one lastTimestamp."""
    if event.series and event.series.last_observed_time:
        return event.series.last_observed_time
    return event.last_timestamp or event.event_time or event.first_timestamp or event.metadata.creation_timestamp


def newest_first(events: Iterable[CoreV1Event], count: int) -> list[CoreV1Event]:
    return sorted(events, key=lambda event: _aware(last_seen(event)), reverse=True)[:count]


def report_event(event: CoreV1Event, now: datetime) -> EventReport:
    involved = event.involved_object
    where = "/".join(part for part in (involved.namespace, involved.name) if part)
    seconds = seconds_since(last_seen(event), now)
    return EventReport(
        type=event.type or "Normal",
        reason=event.reason or "",
        message=shorten(event.message or "", _MAX_MESSAGE),
        object=f"{involved.kind or 'Object'}/{where}",
        count=event.series.count if event.series and event.series.count else event.count or 1,
        last_seen_seconds=seconds,
        last_seen=human_duration(seconds),
    )


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return _LONG_AGO
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
