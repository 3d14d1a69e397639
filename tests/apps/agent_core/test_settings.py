"""The agent core's limits have names of their own; the MCP servers' names configure the servers only."""

from __future__ import annotations

import pytest

from apps.agent_core.settings import SERVER_ONLY_LIMITS, AgentCoreSettings
from apps.common.settings import ConfigurationError, McpServerSettings, env_name, load_settings

NAMES = (
    "AGENTIC_STEP_TIMEOUT_SECONDS",
    "AGENTIC_STORED_RESULT_BYTES",
    "AGENTIC_TOOL_TIMEOUT_SECONDS",
    "AGENTIC_MAX_RESULT_BYTES",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_the_agent_core_reads_its_own_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTIC_STEP_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("AGENTIC_STORED_RESULT_BYTES", "2048")
    settings = AgentCoreSettings()
    assert (settings.step_timeout_seconds, settings.stored_result_bytes) == (5, 2048)
    assert settings.start_warnings({"AGENTIC_STEP_TIMEOUT_SECONDS": "5", "AGENTIC_STORED_RESULT_BYTES": "2048"}) == []


def test_the_servers_names_configure_the_servers_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTIC_TOOL_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("AGENTIC_MAX_RESULT_BYTES", "8192")
    settings = AgentCoreSettings()
    assert (settings.step_timeout_seconds, settings.stored_result_bytes) == (60, 64_000)
    server = McpServerSettings()
    assert (server.tool_timeout_seconds, server.max_result_bytes) == (5, 8192)


def test_a_servers_name_set_alone_is_warned_about_at_start() -> None:
    settings = AgentCoreSettings()
    warnings = settings.start_warnings({"AGENTIC_TOOL_TIMEOUT_SECONDS": "5", "agentic_max_result_bytes": "8192"})
    assert warnings == [
        "AGENTIC_TOOL_TIMEOUT_SECONDS is set but configures the MCP servers only; "
        "the agent core reads AGENTIC_STEP_TIMEOUT_SECONDS (using 60)",
        "AGENTIC_MAX_RESULT_BYTES is set but configures the MCP servers only; "
        "the agent core reads AGENTIC_STORED_RESULT_BYTES (using 64000)",
    ]


def test_no_warning_when_both_names_are_set() -> None:
    """One environment for every service (``make dev``) may set both, each for its own reader."""
    environ = dict.fromkeys(NAMES, "5000")
    assert AgentCoreSettings().start_warnings(environ) == []
    assert McpServerSettings().start_warnings(environ) == []


def test_each_pair_names_a_servers_field_and_an_agent_core_field() -> None:
    for server, own in SERVER_ONLY_LIMITS.items():
        assert server in McpServerSettings.model_fields and server not in AgentCoreSettings.model_fields
        assert own in AgentCoreSettings.model_fields and own not in McpServerSettings.model_fields
        assert env_name(own) in NAMES


def test_a_bad_value_names_the_new_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTIC_STEP_TIMEOUT_SECONDS", "0")
    with pytest.raises(ConfigurationError, match="AGENTIC_STEP_TIMEOUT_SECONDS: Input should be greater than 0"):
        load_settings(AgentCoreSettings)
