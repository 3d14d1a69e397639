"""Finding a local OpenAI-compatible model server, for ``AGENTIC_REASONER=auto`` with nothing configured.

Ollama (port 11434) and LM Studio (port 1234) both serve the OpenAI API under ``/v1`` on the loopback
interface, and list their models at ``GET /v1/models`` (``{"object": "list", "data": [{"id": …}, …]}``,
the OpenAI shape). The probe asks each configured port in order, with a short timeout, and takes
the first model the first answering server lists. Only 127.0.0.1 is ever asked: nothing leaves the
machine, and a port where nothing listens is refused at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["DEFAULT_LOCAL_MODEL_PORTS", "PROBE_TIMEOUT_SECONDS", "LocalModel", "find_local_model"]

DEFAULT_LOCAL_MODEL_PORTS = (11434, 1234)
"""Ollama, then LM Studio."""
PROBE_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class LocalModel:
    base_url: str
    """Ends in ``/v1``, as OpenAI clients are configured."""
    model: str


def _first_model(payload: Any) -> str | None:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        return None
    ids = [entry.get("id") for entry in data if isinstance(entry, dict)]
    return next((model for model in ids if isinstance(model, str) and model.strip()), None)


def find_local_model(
    ports: Sequence[int] = DEFAULT_LOCAL_MODEL_PORTS, *, timeout: float = PROBE_TIMEOUT_SECONDS
) -> LocalModel | None:
    """The first model of the first server answering ``GET /v1/models`` on 127.0.0.1, or None."""
    with httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False) as client:
        for port in ports:
            base_url = f"http://127.0.0.1:{port}/v1"
            try:
                response = client.get(f"{base_url}/models")
                model = _first_model(response.json()) if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                continue
            if model is not None:
                return LocalModel(base_url, model)
    return None
