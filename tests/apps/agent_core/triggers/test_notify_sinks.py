"""``AGENTIC_NOTIFY``: sinks from environment variables, files or literal URLs; every bad entry named, no URL shown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from apps.agent_core.settings import AgentCoreSettings
from apps.agent_core.triggers.notify.sinks import NotifySinks
from apps.common.settings import ConfigurationError

SECRET = "https://hooks.slack.com/services/T0SECRET/B0SECRET/xoxSecretToken42"


def test_sinks_come_from_the_environment_a_file_or_the_url(tmp_path: Path) -> None:
    secret_file = tmp_path / "audit-url"
    secret_file.write_text("https://audit.example.com/hooks/agentic?token=abc\n")
    sinks = NotifySinks.parse(
        f"oncall=slack:${{SLACK_URL}}, audit=webhook:file:{secret_file},local=webhook:http://127.0.0.1:9000/h",
        {"SLACK_URL": SECRET},
    )
    assert sinks.names() == {"oncall", "audit", "local"}
    oncall, audit, local = sinks.get("oncall"), sinks.get("audit"), sinks.get("local")
    assert oncall is not None and audit is not None and local is not None
    assert (oncall.kind, oncall.url.get_secret_value(), oncall.host) == ("slack", SECRET, "hooks.slack.com")
    assert audit.url.get_secret_value() == "https://audit.example.com/hooks/agentic?token=abc"
    assert (local.kind, local.host) == ("webhook", "127.0.0.1")
    assert sinks.describe() == [
        "oncall (slack webhook at hooks.slack.com)",
        "audit (webhook webhook at audit.example.com)",
        "local (webhook webhook at 127.0.0.1)",
    ]
    assert SECRET not in repr(oncall) and "xoxSecretToken42" not in str(sinks.describe())


def test_no_setting_is_no_sinks_and_every_name_is_unknown() -> None:
    sinks = NotifySinks.parse(None, {})
    assert len(sinks) == 0 and sinks.names() == frozenset()
    assert sinks.unknown(["oncall"]) == [
        "no notification sink is named 'oncall' (configured: none: AGENTIC_NOTIFY is not set)"
    ]
    configured = NotifySinks.parse("a=webhook:https://a.example.com/x,b=slack:https://b.example.com/y", {})
    assert configured.unknown(["a", "c"]) == ["no notification sink is named 'c' (configured: a, b)"]


def test_every_bad_entry_is_named_and_no_url_appears(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    entries = [
        f"bare{SECRET}",  # no '='
        f"Bad Name=slack:{SECRET}",
        f"teams=teams:{SECRET}",
        "missing=slack:${NOT_SET}",
        "empty=slack:${EMPTY}",
        f"nofile=webhook:file:{tmp_path / 'absent'}",
        "plain=slack:http://hooks.slack.com/services/T0SECRET/B0SECRET/xoxSecretToken42",
        "ftp=webhook:ftp://files.example.com/xoxSecretToken42",
        "creds=webhook:https://user:xoxSecretToken42@hooks.example.com/x",
        "inline=slack:https://x.example.com/${SLACK}",
        "ok=slack:${SLACK}",
        "ok=webhook:https://y.example.com/xoxSecretToken42",
    ]
    with pytest.raises(ConfigurationError) as raised:
        NotifySinks.parse(",".join(entries), {"SLACK": SECRET, "EMPTY": " "})
    message = str(raised.value)
    assert message.startswith("AGENTIC_NOTIFY: ")
    for expected in (
        "entry 1 is not name=kind:target",
        "entry 2: a sink's name is 1 to 40",
        "sink 'teams': the kind must be one of slack, webhook",
        "sink 'missing': the environment variable NOT_SET is not set or empty",
        "sink 'empty': the environment variable EMPTY is not set or empty",
        f"sink 'nofile': cannot read {tmp_path / 'absent'}: FileNotFoundError",
        "sink 'plain': the URL must use https (http only to a loopback host",
        "sink 'ftp': the target is not an http(s) URL with a host",
        "sink 'creds': the URL must not carry a user name or password",
        "sink 'inline': a reference is written ${NAME} and is the whole target",
        "sink 'ok' is named twice",
    ):
        assert expected in message
    assert message.count(";") == 10, message
    assert "xoxSecretToken42" not in message and "SECRET" not in message
    assert all("xoxSecretToken42" not in record.getMessage() for record in caplog.records)


def test_the_settings_keep_the_setting_secret_and_warn_without_a_dashboard_link() -> None:
    settings = AgentCoreSettings(notify=SecretStr(f"oncall=slack:{SECRET}"))
    assert "xoxSecretToken42" not in repr(settings) and "xoxSecretToken42" not in str(settings.model_dump())
    assert any("AGENTIC_DASHBOARD_URL" in warning for warning in settings.start_warnings({}))
    linked = AgentCoreSettings(notify=SecretStr(f"oncall=slack:{SECRET}"), dashboard_url="https://agentic.example.com")
    assert linked.start_warnings({}) == []
    with pytest.raises(ValueError, match="dashboard_url"):
        AgentCoreSettings(dashboard_url="agentic.example.com")
