"""Alertmanager's webhook payload, version 4, as Alertmanager 0.25 sends it.

The two samples beside this file are what Debian bookworm's ``prometheus-alertmanager`` 0.25.0 POSTed to a
``webhook_configs`` receiver (``send_resolved: true``) for one alert, firing then resolved. Their shape is
upstream's ``notify/webhook/webhook.go`` (``Message``: ``version``, ``groupKey``, ``truncatedAlerts``) and
``template/template.go`` (``Data``, ``Alert``, ``KV``) at v0.25.0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from apps.agent_core.triggers.alertmanager import MAX_ALERTS, AlertmanagerMessage

HERE = Path(__file__).parent


def sample(status: str = "firing") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / f"alertmanager-0.25-{status}.json").read_text())
    return data


def test_the_firing_sample_of_alertmanager_0_25_reads_field_for_field() -> None:
    message = AlertmanagerMessage.model_validate(sample())
    assert (message.version, message.status, message.receiver, message.truncatedAlerts) == ("4", "firing", "agent", 0)
    assert message.groupKey == '{}:{alertname="KubePodCrashLooping", namespace="agentic"}'
    assert message.groupLabels == {"alertname": "KubePodCrashLooping", "namespace": "agentic"}
    assert message.commonLabels["pod"] == "api-5f7c9d8b4-x2v7q" and "summary" in message.commonAnnotations
    [alert] = message.alerts
    assert alert.status == "firing" and alert.fingerprint == "c48fac53bba4ae6e"
    assert alert.labels["pod"] == "api-5f7c9d8b4-x2v7q" and alert.generatorURL.startswith("http://prometheus")
    assert alert.endsAt.year == 1, "Go's zero time while the alert fires"
    # Go writes nanoseconds; the episode's key keeps microseconds, in UTC, however it was spelled.
    assert alert.starts_at_key() == "2026-12-03T17:48:56.123456+00:00"


def test_the_resolved_sample_carries_the_same_episode_and_its_end() -> None:
    firing = AlertmanagerMessage.model_validate(sample()).alerts[0]
    resolved = AlertmanagerMessage.model_validate(sample("resolved")).alerts[0]
    assert resolved.status == "resolved" and resolved.fingerprint == firing.fingerprint
    assert resolved.starts_at_key() == firing.starts_at_key() and resolved.endsAt > resolved.startsAt


def test_an_offset_spelling_of_the_same_instant_is_the_same_episode() -> None:
    body = sample()
    body["alerts"][0]["startsAt"] = "2026-12-03T18:48:56.123456789+01:00"
    assert AlertmanagerMessage.model_validate(body).alerts[0].starts_at_key() == "2026-12-03T17:48:56.123456+00:00"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(version="3"), "version"),
        (lambda b: b.pop("groupKey"), "groupKey"),
        (lambda b: b["alerts"][0].pop("fingerprint"), "alerts.0.fingerprint"),
        (lambda b: b["alerts"][0].update(fingerprint="not-hex"), "alerts.0.fingerprint"),
        (lambda b: b["alerts"][0].update(status="pending"), "alerts.0.status"),
        (lambda b: b["alerts"][0]["labels"].update(big="x" * 2000), "alerts.0.labels.big"),
        (lambda b: b["alerts"][0].update(labels={f"l{i}": "v" for i in range(65)}), "alerts.0.labels"),
    ],
)
def test_a_malformed_message_names_the_field(change: Any, field: str) -> None:
    body = sample()
    change(body)
    with pytest.raises(ValidationError) as caught:
        AlertmanagerMessage.model_validate(body)
    assert field in {".".join(str(part) for part in error["loc"]) for error in caught.value.errors()}


def test_fields_a_later_alertmanager_adds_are_ignored_not_refused() -> None:
    """Alertmanager retries only on a 5xx: a 4xx for a field it added would drop the alert unseen."""
    body = sample()
    body["newTopLevelField"] = {"anything": 1}
    body["alerts"][0]["silencedBy"] = ["x"]
    message = AlertmanagerMessage.model_validate(body)
    assert message.alerts[0].fingerprint == sample()["alerts"][0]["fingerprint"]


def test_too_many_alerts_are_refused_naming_alertmanagers_max_alerts() -> None:
    body = sample()
    body["alerts"] = body["alerts"] * (MAX_ALERTS + 1)
    with pytest.raises(ValidationError, match="max_alerts"):
        AlertmanagerMessage.model_validate(body)
