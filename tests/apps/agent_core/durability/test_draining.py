"""A replica that is shutting down takes no new runs and leaves the load balancer's rotation."""

from __future__ import annotations

from pathlib import Path

import httpx

from apps.agent_core.app import create_app
from apps.agent_core.settings import AgentCoreSettings
from tests.support.lab_server import run_lab_server
from tests.support.servers import serve_in_thread


def test_while_draining_new_runs_get_503_and_readiness_fails(tmp_path: Path) -> None:
    with run_lab_server() as (lab_url, _):
        app = create_app(
            AgentCoreSettings(mcp_servers=f"lab={lab_url}", state=f"sqlite:///{tmp_path}/runs.db", reasoner="offline")
        )
        with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as http:
            assert http.get("/ready").status_code == 200
            app.state.runs.draining = True  # what the lifespan's shutdown sets first on SIGTERM
            refused = http.post("/api/runs", json={"task": "echo hello"})
            ready = http.get("/ready")
    assert refused.status_code == 503 and refused.json()["error"] == "shutting_down", refused.text
    assert ready.status_code == 503 and ready.json()["checks"] == {"runs": "shutting down"}
