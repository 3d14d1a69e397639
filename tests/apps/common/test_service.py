"""How every service serves: an idle connection outlives uvicorn's 5 s default, so a pooling client closes first."""

from __future__ import annotations

import http.client
import time
from pathlib import Path

import pytest

from apps.common.service import KEEP_ALIVE_SECONDS
from tests.support.processes import run_service

pytestmark = pytest.mark.slow

UVICORN_DEFAULT_KEEP_ALIVE = 5


def _get_health(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/health")
    response = conn.getresponse()
    response.read()
    return response.status


def test_an_idle_connection_stays_open_past_uvicorns_default(tmp_path: Path) -> None:
    assert KEEP_ALIVE_SECONDS > UVICORN_DEFAULT_KEEP_ALIVE
    with run_service("apps.mcp_custom", {"AGENTIC_LOG_LEVEL": "WARNING"}, log_path=tmp_path / "custom.log") as svc:
        conn = http.client.HTTPConnection(svc.url.removeprefix("http://"), timeout=5)
        try:
            assert _get_health(conn) == 200
            first = conn.sock
            time.sleep(UVICORN_DEFAULT_KEEP_ALIVE + 1.5)
            # Had the server closed it, the request would go out on the dead socket: RemoteDisconnected.
            assert _get_health(conn) == 200
            assert conn.sock is first
        finally:
            conn.close()
