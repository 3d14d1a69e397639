"""MCP servers this project did not write, started as processes on 127.0.0.1 and restartable on the same port.

- ``@modelcontextprotocol/server-everything`` (npm, pinned in tools/mcp-everything): Streamable HTTP with
  sessions, answers POSTs as SSE streams;
- a ``FastMCP`` server on the official Python SDK 1.x (tools/mcp-python-v1, its own ``.venv-mcp-v1``),
  session-ful (SSE answers) or stateless (JSON answers).

Both are installed by ``make test`` (``make unit``'s prerequisites).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
EVERYTHING_ENTRY = (
    ROOT
    / "tools"
    / "mcp-everything"
    / "node_modules"
    / "@modelcontextprotocol"
    / "server-everything"
    / "dist"
    / "index.js"
)
NODE_LOOPBACK = ROOT / "tests" / "support" / "node_loopback.cjs"
PYTHON_V1 = ROOT / ".venv-mcp-v1" / "bin" / "python"
PYTHON_V1_SERVER = ROOT / "tools" / "mcp-python-v1" / "server.py"
INSTALL_HINT = "run `make unit` (it installs tools/mcp-everything with npm ci and .venv-mcp-v1)"


class ServerProcess:
    """One server process on a fixed loopback port; ``restart()`` starts a new process on the same port."""

    def __init__(
        self, name: str, argv: Callable[[int], list[str]], *, log_path: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.port = free_port()
        self._argv = argv
        self._env = {**os.environ, **(env or {})}
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        """Its MCP endpoint."""
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self, timeout: float = 30.0) -> None:
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self._argv(self.port), env=self._env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while not _accepts(self.port):
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self._process.returncode}; see {self._log_path}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} did not listen on {self.port} within {timeout} s")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def server_everything(log_path: Path) -> ServerProcess:
    """server-everything in Streamable HTTP mode (``dist/index.js streamableHttp``, port from ``PORT``)."""

    def argv(port: int) -> list[str]:
        return ["node", "--require", str(NODE_LOOPBACK), str(EVERYTHING_ENTRY), "streamableHttp"]

    process = ServerProcess("server-everything", argv, log_path=log_path)
    process._env["PORT"] = str(process.port)
    return process


def python_sdk_v1(log_path: Path, call_log: Path, *, stateless: bool) -> ServerProcess:
    def argv(port: int) -> list[str]:
        mode = ["--stateless"] if stateless else []
        return [str(PYTHON_V1), str(PYTHON_V1_SERVER), "--port", str(port), "--call-log", str(call_log), *mode]

    name = "python-sdk-v1-stateless" if stateless else "python-sdk-v1"
    return ServerProcess(name, argv, log_path=log_path)
