"""Ages of Kubernetes objects, in seconds and in the short form kubectl prints ("45s", "3h12m", "5d")."""

from __future__ import annotations

from datetime import UTC, datetime


def seconds_since(moment: datetime | None, now: datetime) -> int | None:
    """Whole seconds from ``moment`` to ``now``; None when the API did not say when."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        # The API always sends UTC; a naive value can only come from hand-built objects.
        moment = moment.replace(tzinfo=UTC)
    return max(0, int((now - moment).total_seconds()))


def human_duration(seconds: int | None) -> str:
    """kubectl's HumanDuration: two units while the second one still means something, then one."""
    if seconds is None:
        return "unknown"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return _two_units(minutes, "m", seconds % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return _two_units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _two_units(days, "d", hours % 24, "h")
    if days < 365 * 2:
        return f"{days}d"
    years = days // 365
    if years < 8:
        return _two_units(years, "y", days % 365, "d")
    return f"{years}y"


def _two_units(major: int, major_unit: str, minor: int, minor_unit: str) -> str:
    return f"{major}{major_unit}" if minor == 0 else f"{major}{major_unit}{minor}{minor_unit}"
