"""Running the agent core for real (uvicorn on 127.0.0.1) against given MCP servers and settings."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from apps.agent_core.app import create_app
from apps.agent_core.auth import ROLES, new_key
from apps.agent_core.settings import AgentCoreSettings
from tests.support.servers import serve_in_thread

TERMINAL = {"succeeded", "failed", "cancelled", "needs_attention"}


@dataclass
class CoreClient:
    url: str
    http: httpx.Client

    def start(self, body: dict[str, Any], key: str | None = None) -> str:
        response = self.http.post("/api/runs", json=body, headers=_auth(key))
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    def run(self, run_id: str, key: str | None = None) -> dict[str, Any]:
        response = self.http.get(f"/api/runs/{run_id}", headers=_auth(key))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_for(
        self, run_id: str, statuses: set[str], timeout: float = 20.0, key: str | None = None
    ) -> dict[str, Any]:
        """Poll until the run reaches one of ``statuses``; fail the test after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id, key)
            if run["status"] in statuses:
                return run
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"run {run_id} stayed {run['status']}, wanted {statuses}: {json.dumps(run)[:2000]}"
                )
            time.sleep(0.05)


def _auth(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


@dataclass
class Keys:
    viewer: str
    operator: str
    approver: str
    trigger: str
    entries_json: str


def make_keys() -> Keys:
    pairs = {role: new_key(f"{role}-user", [role]) for role in ROLES}
    entries = [entry.model_dump() for _, entry in pairs.values()]
    return Keys(
        viewer=pairs["viewer"][0],
        operator=pairs["operator"][0],
        approver=pairs["approver"][0],
        trigger=pairs["trigger"][0],
        entries_json=json.dumps(entries),
    )


@contextlib.contextmanager
def run_agent_core(mcp_servers: dict[str, str], state_dir: Path, **settings: Any) -> Iterator[CoreClient]:
    """The agent core over real HTTP with a SQLite store in ``state_dir`` (unless ``state`` is given)."""
    values: dict[str, Any] = {
        "mcp_servers": ",".join(f"{name}={url}" for name, url in mcp_servers.items()),
        "state": f"sqlite:///{state_dir}/runs.db",
        "reasoner": "offline",
        **settings,
    }
    app = create_app(AgentCoreSettings(**values))
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield CoreClient(url, http)
