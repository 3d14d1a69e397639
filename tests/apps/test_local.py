"""`make dev`: its start-up wait (a server that runs but is not ready warns instead of stopping the platform) and
the local defaults it gives the services."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps import local
from apps.local import LocalService, wait_until_ready

NOT_READY_BODY = b'{"status": "not ready", "checks": {"kubernetes_api": "connection refused"}}'


class _NotReady(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = (503, NOT_READY_BODY) if self.path == "/ready" else (200, b"OK")
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def not_ready_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotReady)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def running_process() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_server_alive_but_not_ready_is_a_warning_naming_the_failing_check(
    not_ready_server: str,
    running_process: subprocess.Popen[bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(local, "NOT_READY_GRACE_SECONDS", 0.3)
    port = int(not_ready_server.rsplit(":", 1)[1])
    wait_until_ready(LocalService("kubernetes", "apps.mcp_kubernetes", port, ""), running_process)
    warning = capsys.readouterr().err
    assert "kubernetes runs but is not ready" in warning
    assert "kubernetes_api" in warning


def test_a_server_that_exits_while_starting_stops_the_platform(running_process: subprocess.Popen[bytes]) -> None:
    running_process.kill()
    running_process.wait()
    with pytest.raises(RuntimeError, match="exited with code"):
        wait_until_ready(LocalService("kubernetes", "apps.mcp_kubernetes", 9, ""), running_process)


def test_the_key_value_store_is_a_file_in_var_unless_the_caller_names_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTIC_KV_STORE", raising=False)
    servers = local.mcp_servers(8001)
    assert local.local_environment(servers)["AGENTIC_KV_STORE"] == f"sqlite:///{local.ROOT / 'var' / 'kv.db'}"
    monkeypatch.setenv("AGENTIC_KV_STORE", "memory")
    assert local.local_environment(servers)["AGENTIC_KV_STORE"] == "memory"
