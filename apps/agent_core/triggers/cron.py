"""When a schedule's ticks fall: a 5-field cron expression in an IANA time zone, or ``@every <duration>``.

Cron expressions are evaluated by ``cronsim`` (Healthchecks.io's evaluator), which follows Debian cron on
daylight-saving changes: a job at a fixed local time that falls into the hour skipped in spring runs once when
the clocks resume, and one in the hour repeated in autumn runs once, at its first occurrence.

``@every`` ticks are multiples of the interval since the Unix epoch (``@every 5m`` at :00, :05, …; ``@every 1h``
on the hour, UTC), so every replica computes the same ticks with no shared state. Durations are Go's style
without fractions: ``30s``, ``5m``, ``1h30m``; the minimum is 5 s, the maximum 7 days.

Every tick is a timezone-aware UTC ``datetime``; ``tick_text`` is its one spelling (in run ids and run details).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

__all__ = [
    "EVERY_MAX_SECONDS",
    "EVERY_MIN_SECONDS",
    "CronTiming",
    "EveryTiming",
    "Timing",
    "check_cron",
    "check_timezone",
    "parse_every",
    "tick_text",
]

EVERY_MIN_SECONDS = 5
EVERY_MAX_SECONDS = 7 * 24 * 3600
_EVERY = re.compile(r"^@every\s+(?=\d)(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_CORRECTION_STEPS = 4
_EVERY_FORM = "'@every <duration>' such as '@every 30s', '@every 5m', '@every 1h30m'"


def check_cron(expression: str) -> str:
    """The expression, if it is 5 valid cron fields; ``ValueError`` saying which field is wrong otherwise."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    try:
        CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:  # "Bad minute", "Bad day-of-week", ...
        raise ValueError(f"invalid cron expression {expression!r}: {exc}") from None
    return " ".join(fields)


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'UTC' or 'Europe/Paris'") from None
    return name


def parse_every(text: str) -> int:
    """``@every 1h30m`` → 5400 seconds; ``ValueError`` naming the form, the minimum or the maximum."""
    match = _EVERY.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not {_EVERY_FORM}")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total < EVERY_MIN_SECONDS:
        raise ValueError(f"{text!r} is shorter than the minimum interval of {EVERY_MIN_SECONDS} s")
    if total > EVERY_MAX_SECONDS:
        raise ValueError(f"{text!r} is longer than the maximum interval of 7 days")
    return total


def tick_text(tick: datetime) -> str:
    return tick.astimezone(UTC).isoformat()


class Timing:
    """Where ticks fall; both kinds answer the two questions the scheduler asks."""

    def latest_until(self, moment: datetime) -> datetime:
        """The last tick at or before ``moment``."""
        raise NotImplementedError

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment``."""
        raise NotImplementedError


@dataclass(frozen=True)
class EveryTiming(Timing):
    seconds: int

    def latest_until(self, moment: datetime) -> datetime:
        epoch = int(moment.timestamp())
        return datetime.fromtimestamp(epoch - epoch % self.seconds, UTC)

    def next_after(self, moment: datetime) -> datetime:
        return self.latest_until(moment) + timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class CronTiming(Timing):
    expression: str
    timezone: str = "UTC"

    def latest_until(self, moment: datetime) -> datetime:
        # Reverse iteration drops the microseconds as its first step; adding one makes a tick that falls exactly
        # on ``moment``'s second count as at-or-before it.
        start = moment.astimezone(ZoneInfo(self.timezone)).replace(microsecond=0) + timedelta(microseconds=1)
        latest = next(CronSim(self.expression, start, reverse=True)).astimezone(UTC)
        # Reverse iteration compares local wall-clock times, which repeat in autumn's repeated hour: it can land a
        # tick early. Forward iteration, the one ticks follow, corrects that within a step.
        for _ in range(_CORRECTION_STEPS):
            following = self.next_after(latest)
            if following > moment:
                break
            latest = following
        return latest

    def next_after(self, moment: datetime) -> datetime:
        return next(CronSim(self.expression, moment.astimezone(ZoneInfo(self.timezone)))).astimezone(UTC)
