"""Starting a service as its own process, exactly as ``python -m apps.<name>`` runs in a container."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningService:
    url: str
    process: subprocess.Popen[bytes]
    seconds_to_ready: float


STARTUP_SECONDS = 60.0
"""How long a started service may take to answer ``/ready``. Importing the agent core (the MCP SDK, boto3,
pydantic models) takes about 3 s on an idle 2-core machine and five times that with the suite, a benchmark and
other work sharing the cores; tests check behaviour, not start-up speed (``make bench`` measures that)."""


@contextlib.contextmanager
def run_service(
    module: str,
    env: Mapping[str, str],
    *,
    timeout: float = STARTUP_SECONDS,
    log_path: Path | None = None,
    port: int | None = None,
) -> Iterator[RunningService]:
    """Start ``python -m module`` on ``port`` (a free loopback port by default); wait until ``/ready`` is 200."""
    port = port or free_port()
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)],
        env=full_env,
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = started + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{module} exited with {process.returncode} before it was ready")
            try:
                if httpx.get(url + "/ready", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{module} not ready within {timeout}s")
            time.sleep(0.02)
        yield RunningService(url, process, time.monotonic() - started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log_path:
            log.close()  # type: ignore[union-attr]
