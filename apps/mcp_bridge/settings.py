"""Configuration of the bridge (``AGENTIC_*`` variables; the command may also come from flags)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, field_validator

from apps.agent_core.gateway.stdio_process import StdioCommand
from apps.common.settings import CommaList, ConfigurationError, McpServerSettings, split_comma_list

_NAME = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class BridgeSettings(McpServerSettings):
    bridge_name: str = Field(default="bridge", pattern=_NAME)
    """The stdio server's name in the bridge's logs and metrics (the name the agent core knows it by)."""
    bridge_service: str = Field(default="mcp-bridge-service", pattern=_NAME)
    """The bridge's Kubernetes Service name; its Host allow-list accepts it (with ``AGENTIC_NAMESPACE``)."""
    bridge_command: str = ""
    """The stdio server's executable (``--command``); required."""
    bridge_args: str = "[]"
    """Its arguments, a JSON list of strings such as ``["--flag", "value"]`` (or what follows ``--`` on the
    command line)."""
    bridge_pass_env: CommaList = ()
    """Names of this process's variables passed on to the stdio server (set them from Secrets); it gets nothing
    else of the bridge's environment but ``HOME``, ``LOGNAME``, ``PATH``, ``SHELL``, ``TERM`` and ``USER``."""
    bridge_cwd: Path | None = None
    """The stdio server's working directory; the bridge's own when unset."""
    bridge_max_restarts: int = Field(default=5, ge=0, le=100)
    """Restarts of the stdio server allowed within five minutes; past them it stays stopped and ``/health`` fails,
    so Kubernetes restarts the pod (with its own backoff)."""
    bridge_start_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    """How long the first start (and tool listing) may take: ``uvx`` and ``npx`` may download the server first."""

    _split_pass_env = field_validator("bridge_pass_env", mode="before")(split_comma_list)

    @field_validator("bridge_args")
    @classmethod
    def _json_list(cls, value: str) -> str:
        try:
            items = json.loads(value)
        except ValueError:
            items = None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise ValueError('must be a JSON list of strings, e.g. ["--flag", "value"]')
        return value

    def stdio_command(self, environ: Mapping[str, str]) -> StdioCommand:
        """The child's command, with the variables ``bridge_pass_env`` names taken from ``environ``."""
        if not self.bridge_command:
            raise ConfigurationError("set the stdio server's command: --command or AGENTIC_BRIDGE_COMMAND")
        missing = [name for name in self.bridge_pass_env if name not in environ]
        if missing:
            raise ConfigurationError(f"AGENTIC_BRIDGE_PASS_ENV names variables that are not set: {', '.join(missing)}")
        env = {name: environ[name] for name in self.bridge_pass_env}
        return StdioCommand(self.bridge_command, tuple(json.loads(self.bridge_args)), env, self.bridge_cwd)
