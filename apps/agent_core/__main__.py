"""``python -m apps.agent_core [--host H] [--port P]``."""

from __future__ import annotations

import ipaddress
import logging

from starlette.applications import Starlette

from apps.agent_core.app import create_app
from apps.agent_core.auth import ApiKeys
from apps.agent_core.settings import AgentCoreSettings
from apps.common.service import serve
from apps.common.settings import ConfigurationError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_keys_off_loopback(host: str, app: Starlette) -> None:
    """Without API keys anyone who can reach the port could act: allow that only on loopback."""
    keys: ApiKeys = app.state.api_keys
    if keys.enabled:
        return
    if not is_loopback(host):
        raise ConfigurationError(
            f"no API keys are configured, so the agent core only binds to 127.0.0.1 (asked for {host}); "
            "set AGENTIC_API_KEYS_FILE or AGENTIC_API_KEYS"
        )
    logging.getLogger("apps.agent_core").warning(
        "no API keys configured: every caller on this machine acts as 'local' with every role; bound to loopback only"
    )


serve("agent core", create_app, AgentCoreSettings, check_bind=require_keys_off_loopback)
