"""Choosing the reasoner from configuration (``AGENTIC_REASONER``), failing fast with the variable's name.

``auto`` with nothing configured looks, once at start, for a local OpenAI-compatible server
(``local_model.py``: Ollama, LM Studio) and uses its first model; else the offline planner.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal, get_args
from urllib.parse import urlsplit

from apps.agent_core.reasoning.base import Reasoner
from apps.agent_core.reasoning.bedrock import create_bedrock_reasoner
from apps.agent_core.reasoning.local_model import DEFAULT_LOCAL_MODEL_PORTS, find_local_model
from apps.agent_core.reasoning.offline import OfflineReasoner
from apps.agent_core.reasoning.openai import OpenAIReasoner

__all__ = ["ReasonerKind", "create_reasoner"]

ReasonerKind = Literal["auto", "bedrock", "openai", "offline"]

# Model ids, inference profile ids and ARNs: no spaces, nothing that would need explaining in a URL path.
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,2047}$")
# Hosted APIs that always need a key; local servers (Ollama, vLLM, LM Studio) usually do not.
_KEYED_HOSTS = ("api.openai.com",)


def _required(value: str | None, variable: str, kind: str) -> str:
    if value is None or not value.strip():
        raise ValueError(f"{variable} is required when AGENTIC_REASONER={kind}")
    return value.strip()


def create_reasoner(
    kind: ReasonerKind,
    *,
    bedrock_model_id: str | None = None,
    openai_base_url: str | None = None,
    openai_model: str | None = None,
    openai_api_key: str | None = None,
    local_model_ports: Sequence[int] = DEFAULT_LOCAL_MODEL_PORTS,
) -> Reasoner:
    """The configured reasoner; ValueError naming the ``AGENTIC_*`` variable when a setting is missing or bad."""
    if kind == "offline":
        return OfflineReasoner()
    if kind == "auto":
        found = find_local_model(local_model_ports)
        if found is None:
            return OfflineReasoner()
        return OpenAIReasoner(found.base_url, found.model, None, detected=True)
    if kind == "bedrock":
        model_id = _required(bedrock_model_id, "AGENTIC_BEDROCK_MODEL_ID", kind)
        if not _MODEL_ID.fullmatch(model_id):
            raise ValueError(
                f"AGENTIC_BEDROCK_MODEL_ID: {model_id!r} is not a Bedrock model id, inference profile id or ARN"
            )
        return create_bedrock_reasoner(model_id)
    if kind == "openai":
        base_url = _required(openai_base_url, "AGENTIC_OPENAI_BASE_URL", kind)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"AGENTIC_OPENAI_BASE_URL: {base_url!r} is not an http(s) URL")
        model = _required(openai_model, "AGENTIC_OPENAI_MODEL", kind)
        if openai_api_key is not None and not openai_api_key.strip():
            raise ValueError("AGENTIC_OPENAI_API_KEY is set but empty")
        if openai_api_key is None and parts.hostname in _KEYED_HOSTS:
            raise ValueError(f"AGENTIC_OPENAI_API_KEY is required for {parts.hostname}")
        return OpenAIReasoner(base_url, model, openai_api_key.strip() if openai_api_key else None)
    choices = ", ".join(get_args(ReasonerKind))
    raise ValueError(f"AGENTIC_REASONER: {kind!r} is not one of {choices}")
