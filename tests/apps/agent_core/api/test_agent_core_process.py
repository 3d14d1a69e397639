"""``python -m apps.agent_core`` as a process: no API keys means loopback only; with keys, every call needs one.

Every socket here is on loopback. The refusal is tested on 0.0.0.0, which the process must reject
before binding anything; the keyed process binds 127.0.0.2 (a loopback address other than the one the
test clients and servers use) and is reached only there.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.agent_core import make_keys
from tests.support.net import free_port
from tests.support.processes import ROOT

SECOND_LOOPBACK = "127.0.0.2"
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - the address the process must refuse without keys; never bound here
REFUSAL_TIMEOUT = 20.0


def agent_core_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The test's environment without any API key settings, plus a private store and an MCP server URL."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AGENTIC_")}
    return {
        **env,
        "PYTHONPATH": str(ROOT),
        # Nothing listens there: the MCP server is only contacted when a run or /api/tools needs it.
        "AGENTIC_MCP_SERVERS": "lab=http://127.0.0.1:9/mcp",
        "AGENTIC_STATE": f"sqlite:///{tmp_path}/runs.db",
        "AGENTIC_REASONER": "offline",
        **extra,
    }


def command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "apps.agent_core", "--host", host, "--port", str(port)]


@contextlib.contextmanager
def serving(host: str, env: dict[str, str], log: Path, timeout: float = 20.0) -> Iterator[str]:
    """Run the agent core on ``host`` until ``/ready`` answers; yields its base URL."""
    port = free_port()
    url = f"http://{host}:{port}"
    with open(log, "wb") as output:
        process = subprocess.Popen(command(host, port), env=env, cwd=ROOT, stdout=output, stderr=output)
        try:
            deadline = time.monotonic() + timeout
            while True:
                assert process.poll() is None, f"exited with {process.returncode}: {log.read_text()[-2000:]}"
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/ready", timeout=1.0).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"not ready within {timeout}s: {log.read_text()[-2000:]}"
                time.sleep(0.05)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_without_api_keys_it_refuses_a_non_loopback_host(tmp_path: Path) -> None:
    process = subprocess.Popen(
        command(ALL_INTERFACES, free_port()),
        env=agent_core_env(tmp_path),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    stderr = b""
    try:
        # Read until it exits; should it log "listening" instead, stop it before uvicorn binds 0.0.0.0.
        deadline = time.monotonic() + REFUSAL_TIMEOUT
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stderr], [], [], 0.1)
            chunk = os.read(process.stderr.fileno(), 65536) if ready else b""
            stderr += chunk
            if b"listening" in stderr or (ready and not chunk):
                break
    finally:
        if b"listening" in stderr or process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        process.stderr.close()

    text = stderr.decode()
    assert process.returncode == 2, text
    assert "AGENTIC_API_KEYS_FILE" in text
    assert f"asked for {ALL_INTERFACES}" in text
    assert "Traceback" not in text


def test_without_api_keys_it_serves_loopback_as_the_local_user(tmp_path: Path) -> None:
    with serving(SECOND_LOOPBACK, agent_core_env(tmp_path), tmp_path / "core.log") as url:
        response = httpx.get(url + "/api/runs", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["runs"] == []


def test_with_api_keys_it_starts_and_every_call_needs_a_key(tmp_path: Path) -> None:
    keys = make_keys()
    env = agent_core_env(tmp_path, AGENTIC_API_KEYS=keys.entries_json)

    with serving(SECOND_LOOPBACK, env, tmp_path / "core.log") as url, httpx.Client(base_url=url, timeout=10) as http:
        assert http.get("/health").status_code == 200
        anonymous = http.get("/api/runs")
        wrong = http.get("/api/runs", headers={"Authorization": "Bearer awp_not-a-key"})
        viewer = {"Authorization": f"Bearer {keys.viewer}"}
        listed = http.get("/api/runs", headers=viewer)
        viewer_starts = http.post("/api/runs", headers=viewer, json={"task": "list tools"})

    assert anonymous.status_code == 401, anonymous.text
    assert wrong.status_code == 401, wrong.text
    assert listed.status_code == 200 and listed.json()["runs"] == []
    assert viewer_starts.status_code == 403, viewer_starts.text


@pytest.mark.parametrize("setting", ["AGENTIC_API_KEYS", "AGENTIC_API_KEYS_FILE"])
def test_keys_are_what_unlocks_the_check(setting: str, tmp_path: Path) -> None:
    """Guard against the refusal passing for another reason: with keys, the same command gets past it."""
    keys = make_keys()
    value = keys.entries_json
    if setting == "AGENTIC_API_KEYS_FILE":
        path = tmp_path / "keys.json"
        path.write_text(keys.entries_json)
        value = str(path)
    # An unroutable documentation address (TEST-NET-2): past the check, binding fails, nothing listens.
    result = subprocess.run(
        command("198.51.100.7", free_port()),
        env=agent_core_env(tmp_path, **{setting: value}),
        cwd=ROOT,
        capture_output=True,
        timeout=REFUSAL_TIMEOUT,
    )
    text = result.stderr.decode()
    assert result.returncode != 2, text
    assert "no API keys are configured" not in text
    # It went on to bind, which only fails because no interface has that address.
    assert "error while attempting to bind on address ('198.51.100.7'" in text
