"""Schedule requests are checked as a whole, every problem named; cron and @every ticks fall where documented."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from apps.agent_core.triggers.cron import CronTiming, EveryTiming, check_cron, parse_every, tick_text
from apps.agent_core.triggers.schedules import SchedulePatch, ScheduleRequest


def problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        ScheduleRequest.model_validate(data)
    return {".".join(map(str, error["loc"])): error["msg"] for error in caught.value.errors()}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_every_problem_of_a_request_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        ScheduleRequest.model_validate(
            {
                "name": "",
                "cron": "61 * * * *",
                "every": "@every 3s",
                "timezone": "Mars/Olympus",
                "task": "report",
                "template": "no_such_template",
                "catch_up": "all",
                "colour": "red",
            }
        )
    found = [(".".join(map(str, error["loc"])), error["msg"]) for error in caught.value.errors()]
    templates = "s3_inventory, database_report, cluster_health, weather_to_store"
    assert found == [
        ("name", "String should have at least 1 character"),
        ("cron", "invalid cron expression '61 * * * *': Bad minute"),
        ("timezone", "unknown time zone 'Mars/Olympus'; use an IANA name such as 'UTC' or 'Europe/Paris'"),
        ("every", "'@every 3s' is shorter than the minimum interval of 5 s"),
        ("template", f"no built-in template 'no_such_template'; the templates are: {templates}"),
        ("catch_up", "Input should be 'latest' or 'skip'"),
        ("colour", "Extra inputs are not permitted"),
        ("every", "send exactly one of 'cron' or 'every'"),
        ("task", "send exactly one of 'template', 'workflow' or 'task'"),
    ]
    # What only the whole request shows is named too, beside the fields' own problems.
    shape = problems({"name": "n", "cron": "* * * * *", "every": "@every 1m", "task": "t", "workflow": "x"})
    assert shape == {
        "every": "send exactly one of 'cron' or 'every'",
        "task": "send exactly one of 'template', 'workflow' or 'task'",
    }


def test_a_request_needs_a_timing_and_a_target_that_fit() -> None:
    assert problems({"name": "n"}) == {
        "cron": "send exactly one of 'cron' or 'every'",
        "task": "send exactly one of 'template', 'workflow' or 'task'",
    }
    found = problems({"name": "n", "every": "@every 1m", "timezone": "UTC", "task": "t", "inputs": {"a": 1}})
    assert found == {
        "timezone": "'timezone' applies only to 'cron'",
        "inputs": "'inputs' applies only to a template or a workflow",
    }
    found = problems({"name": "n", "every": "@every 1m", "template": "weather_to_store", "inputs": {"city": "x"}})
    assert found == {"workflow": 'unknown input "city"; the workflow takes: location'}
    found = problems({"name": "n", "every": "@every 1m", "workflow": {"name": "w", "steps": []}})
    assert list(found) == ["workflow"] and "steps" in found["workflow"]


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("* * * *", "a cron expression has 5 fields (minute hour day-of-month month day-of-week), got 4"),
        ("0 * * * * *", "a cron expression has 5 fields (minute hour day-of-month month day-of-week), got 6"),
        ("0 24 * * *", "invalid cron expression '0 24 * * *': Bad hour"),
        ("0 0 31 2 *", "invalid cron expression '0 0 31 2 *': Bad day-of-month"),
        ("0 0 * * 8", "invalid cron expression '0 0 * * 8': Bad day-of-week"),
    ],
)
def test_an_invalid_cron_expression_says_what_is_wrong(cron: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_cron(cron)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "seconds"), [("@every 5s", 5), ("@every 5m", 300), ("@every 1h", 3600), ("@every 1h30m", 5400)]
)
def test_every_takes_go_style_durations(text: str, seconds: int) -> None:
    assert parse_every(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@every 4s", "shorter than the minimum interval of 5 s"),
        ("@every 0h", "shorter than the minimum interval of 5 s"),
        ("@every 8d", "is not '@every <duration>'"),
        ("@every 30", "is not '@every <duration>'"),
        ("every 30s", "is not '@every <duration>'"),
        ("@every 169h", "longer than the maximum interval of 7 days"),
    ],
)
def test_a_bad_interval_says_why(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_every(text)


def test_every_ticks_are_multiples_of_the_interval_since_the_epoch() -> None:
    timing = EveryTiming(5)
    assert timing.latest_until(utc(2026, 1, 1, 0, 0, 7)) == utc(2026, 1, 1, 0, 0, 5)
    assert timing.latest_until(utc(2026, 1, 1, 0, 0, 5)) == utc(2026, 1, 1, 0, 0, 5)  # due at its moment
    assert timing.next_after(utc(2026, 1, 1, 0, 0, 5)) == utc(2026, 1, 1, 0, 0, 10)
    assert tick_text(utc(2026, 1, 1, 0, 0, 5)) == "2026-01-01T00:00:05+00:00"


def test_cron_ticks_follow_the_time_zone_across_daylight_saving_changes() -> None:
    daily = CronTiming("30 2 * * *", "Europe/Paris")
    # 29 March 2026: Paris skips from 02:00 to 03:00; the 02:30 job runs once, when the clocks resume (Debian cron).
    spring = daily.next_after(utc(2026, 3, 28, 12))
    assert spring == utc(2026, 3, 29, 1, 0)
    assert daily.next_after(spring) == utc(2026, 3, 30, 0, 30)  # 02:30 CEST
    # 25 October 2026: 02:30 happens twice; the job runs at the first, once.
    autumn = daily.next_after(utc(2026, 10, 24, 12))
    assert autumn == utc(2026, 10, 25, 0, 30)
    assert daily.next_after(autumn) == utc(2026, 10, 26, 1, 30)  # 02:30 CET
    assert daily.latest_until(utc(2026, 10, 25, 1, 0)) == autumn
    weekdays = CronTiming("0 9 * * 1-5", "America/New_York")
    assert weekdays.next_after(utc(2026, 3, 6, 15)) == utc(2026, 3, 9, 13)  # Friday after 9:00 → Monday, EDT


def test_a_cron_schedule_defaults_to_utc() -> None:
    request = ScheduleRequest.model_validate({"name": "n", "cron": "0 6 * * *", "task": "morning report"})
    assert request.timezone == "UTC"
    assert request.timing() == CronTiming("0 6 * * *", "UTC")


def test_a_patch_replaces_the_timing_or_target_it_sets_and_keeps_the_rest() -> None:
    current = ScheduleRequest.model_validate(
        {
            "name": "n",
            "cron": "0 6 * * *",
            "timezone": "Europe/Paris",
            "template": "weather_to_store",
            "inputs": {"location": "Paris"},
            "notify": ["team"],
        }
    )
    to_interval = SchedulePatch.model_validate({"every": "@every 1m", "task": "check"}).applied_to(current)
    request = ScheduleRequest.model_validate(to_interval)
    assert (request.cron, request.timezone, request.every) == (None, None, "@every 1m")
    assert (request.template, request.inputs, request.task) == (None, None, "check")
    assert request.notify == ["team"] and request.name == "n"
    paused = ScheduleRequest.model_validate(SchedulePatch(enabled=False).applied_to(current))
    assert paused.enabled is False and paused.model_dump(exclude={"enabled"}) == current.model_dump(exclude={"enabled"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        SchedulePatch.model_validate({"paused": True})
