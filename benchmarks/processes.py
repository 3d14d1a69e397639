"""Servers under test, each in a process of its own so the load generator never shares their GIL."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def base_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "AWS_EC2_METADATA_DISABLED": "true", **extra}


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    seconds_to_ready: float

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def rss_mb(self) -> float:
        return rss_mb(self.process.pid)


def _answers(port: int, ready_path: str | None) -> bool:
    if ready_path is None:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return True
        return False
    try:
        return httpx.get(f"http://{HOST}:{port}{ready_path}", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def serve(
    module: str,
    args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    ready_path: str | None = "/ready",
    timeout: float = 30.0,
    poll_seconds: float = 0.01,
    command: Sequence[str] | None = None,
    cwd: Path = ROOT,
) -> Iterator[Server]:
    """``python -m module --port P [args]`` on a free loopback port, ready when ``ready_path`` answers 200.

    ``command`` replaces ``python -m module`` (a peer in a virtualenv of its own); ``module`` then only names it.
    """
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below; read back only if the server fails
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - our own argv
        [*(command or (sys.executable, "-m", module)), "--host", HOST, "--port", str(port), *args],
        env=dict(env) if env is not None else base_env(),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        while not _answers(port, ready_path):
            if process.poll() is not None:
                log.seek(0)
                tail = log.read()[-2000:].decode(errors="replace")
                raise RuntimeError(f"{module} exited with {process.returncode} before it was ready:\n{tail}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{module} not ready within {timeout:g} s")
            time.sleep(poll_seconds)
        yield Server(process, port, time.monotonic() - started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
