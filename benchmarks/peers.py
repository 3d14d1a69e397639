"""The peers users would pick instead of the platform, each run from a virtualenv of its own.

``make bench`` creates ``var/bench-peers/<name>/`` from ``tools/bench-peers/<name>/requirements.txt`` (exact pins,
hashed); their pins clash with ours, so nothing of theirs is imported here: each runs as a process.

- ``fastmcp``: FastMCP serving the lab's tools (``tools/bench-peers/fastmcp/server.py``).
- ``contextforge``: IBM's ContextForge MCP gateway in its default mode (JWT auth on, SQLite, stateless HTTP;
  only its per-client rate limiter is off), with one upstream gateway registered through its REST API; its
  tools are then named ``<gateway>-<tool>``.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.processes import ROOT, Server, base_env, serve

PEERS = ROOT / "var" / "bench-peers"
TOOLS = ROOT / "tools" / "bench-peers"
CONTEXTFORGE_ADMIN = "admin@example.com"
# Its first start creates and migrates its database; under load on 2 cores that took ~30-70 s here.
CONTEXTFORGE_START_SECONDS = 180.0


def missing(name: str) -> str | None:
    """Why the peer cannot run here, or None when its virtualenv is installed."""
    if (PEERS / name / ".installed").exists():
        return None
    return f"var/bench-peers/{name} is not installed (`make bench` installs it from tools/bench-peers/{name}/)"


def _bin(name: str, program: str) -> str:
    return str(PEERS / name / "bin" / program)


@contextlib.contextmanager
def fastmcp() -> Iterator[Server]:
    script = str(TOOLS / "fastmcp" / "server.py")
    with serve("fastmcp", command=[_bin("fastmcp", "python"), script], env=base_env(), ready_path=None) as server:
        yield server


@dataclass
class Gateway:
    server: Server
    token: str
    """A JWT its REST API and /mcp accept, as ``Authorization: Bearer``."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _contextforge_env(scratch: Path, secret: str) -> dict[str, str]:
    return base_env(
        DATABASE_URL=f"sqlite:///{scratch / 'contextforge.db'}",
        JWT_SECRET_KEY=secret,
        AUTH_ENCRYPTION_SECRET=f"enc-{secret}",
        PLATFORM_ADMIN_EMAIL=CONTEXTFORGE_ADMIN,
        PLATFORM_ADMIN_PASSWORD=f"Bench-{secret[:12]}-1",
        # Its SSRF guard refuses loopback upstreams by default; the lab server is on 127.0.0.1.
        SSRF_ALLOW_LOCALHOST="true",
        # Its limiter allows 100 MCP calls a minute per client by default (then 429): left on, a latency run
        # measures refusals. Off, so the figure is its cost per call, as ours is measured (our API has no limiter).
        RATE_LIMITING_ENABLED="false",
        LOG_LEVEL="ERROR",
    )


def _token_args(secret: str) -> list[str]:
    return ["--username", CONTEXTFORGE_ADMIN, "--exp", "120", "--secret", secret]


@contextlib.contextmanager
def contextforge(scratch: Path, upstream: str, name: str = "lab") -> Iterator[Gateway]:
    """ContextForge on a free port, with ``upstream`` (an MCP URL) registered as gateway ``name``."""
    secret = secrets.token_hex(24)
    env = _contextforge_env(scratch, secret)
    token = (
        subprocess.run(  # noqa: S603 - its own CLI, our argv
            [_bin("contextforge", "python"), "-m", "mcpgateway.utils.create_jwt_token", *_token_args(secret)],
            env=env,
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    with serve(
        "contextforge",
        command=[_bin("contextforge", "mcpgateway")],
        env=env,
        ready_path="/health",
        timeout=CONTEXTFORGE_START_SECONDS,
        poll_seconds=0.5,
        cwd=scratch,
    ) as server:
        gateway = Gateway(server, token)
        body = {"name": name, "url": upstream, "transport": "STREAMABLEHTTP"}
        response = httpx.post(f"{server.url}/gateways", json=body, headers=gateway.headers, timeout=60)
        response.raise_for_status()
        yield gateway
