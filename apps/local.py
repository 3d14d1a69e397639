"""The platform on one machine: ``make dev`` → ``python -m apps.local``.

Starts each service as its own process on 127.0.0.1 (as they run in the cluster: one process per
pod): the four MCP servers, and the agent core serving the dashboard at ``/`` and the API at
``/api`` on one URL, the routing the ALB ingress gives. It waits until each is ready, prints
where they are and what they use, and stops them all cleanly on Ctrl-C or when any of them exits.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

from apps.agent_core.reasoning.local_model import DEFAULT_LOCAL_MODEL_PORTS, find_local_model

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
STARTUP_TIMEOUT_SECONDS = 30.0
# A server that answers /ready with a failing check for this long is up, but something outside it is not (the
# cluster a kubeconfig names, say): the platform starts and says which check fails.
NOT_READY_GRACE_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class LocalService:
    name: str
    module: str
    port: int
    summary: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def mcp_servers(first_port: int) -> tuple[LocalService, ...]:
    return (
        LocalService("aws", "apps.mcp_aws", first_port, "S3, Bedrock, Glue (your AWS credentials, if any)"),
        LocalService("database", "apps.mcp_database", first_port + 1, "read-only SQL over the sample database"),
        LocalService("custom", "apps.mcp_custom", first_port + 2, "weather, key/value store"),
        LocalService("kubernetes", "apps.mcp_kubernetes", first_port + 3, "pods, status, scaling (your kubeconfig)"),
    )


def local_environment(servers: tuple[LocalService, ...]) -> dict[str, str]:
    """Local defaults, each overridable from the caller's environment."""
    env = dict(os.environ)
    env.setdefault("AGENTIC_DATABASE_PATH", str(VAR / "sample.db"))
    # A file, not memory: what a run stored is still there after a restart, as the runs themselves are.
    env.setdefault("AGENTIC_KV_STORE", f"sqlite:///{VAR / 'kv.db'}")
    env.setdefault("AGENTIC_LOG_LEVEL", "WARNING")
    env.setdefault("AGENTIC_STATE", f"sqlite:///{VAR / 'agent-core.db'}")
    if (ROOT / "dashboard" / "index.html").is_file():
        env.setdefault("AGENTIC_DASHBOARD_DIR", str(ROOT / "dashboard"))
    env["AGENTIC_MCP_SERVERS"] = ",".join(f"{server.name}={server.url}/mcp" for server in servers)
    return env


def reasoner_description(env: dict[str, str]) -> str:
    chosen = env.get("AGENTIC_REASONER", "auto")
    if chosen == "bedrock" or (chosen == "auto" and env.get("AGENTIC_BEDROCK_MODEL_ID")):
        return f"bedrock ({env.get('AGENTIC_BEDROCK_MODEL_ID')})"
    if chosen == "openai" or (chosen == "auto" and env.get("AGENTIC_OPENAI_BASE_URL")):
        return f"openai-compatible ({env.get('AGENTIC_OPENAI_MODEL')} at {env.get('AGENTIC_OPENAI_BASE_URL')})"
    if chosen == "auto":
        # The agent core probes the same ports at its start; a server found here is the one it uses.
        ports = env.get("AGENTIC_LOCAL_MODEL_PORTS", ",".join(map(str, DEFAULT_LOCAL_MODEL_PORTS)))
        found = find_local_model([int(p) for p in ports.split(",") if p.strip().isdigit()])
        if found is not None:
            return (
                f"openai-compatible ({found.model} at {found.base_url}, a local model found by AGENTIC_REASONER=auto)"
            )
    return (
        "offline planner (no model configured; set AGENTIC_BEDROCK_MODEL_ID=<model id>, or "
        "AGENTIC_OPENAI_BASE_URL=<url> AGENTIC_OPENAI_MODEL=<model>, or start Ollama or LM Studio)"
    )


def wait_until_ready(service: LocalService, process: subprocess.Popen[bytes]) -> None:
    """Wait for ``/ready``; a server alive but not ready (a stale kubeconfig) is a warning, not a failed start."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    alive_since: float | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with code {process.returncode} while starting (see above)")
        try:
            ready = httpx.get(service.url + "/ready", timeout=1.0)
            if ready.status_code == 200:
                return
            alive_since = alive_since or time.monotonic()
            if time.monotonic() - alive_since >= NOT_READY_GRACE_SECONDS:
                print(f"warning: {service.name} runs but is not ready: {ready.text}", file=sys.stderr, flush=True)
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{service.name} was not ready within {STARTUP_TIMEOUT_SECONDS:g}s: {service.url}/ready")


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the platform's services on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8080, help="the dashboard and API (default 8080)")
    parser.add_argument("--mcp-port", type=int, default=8001, help="the first MCP server; the others follow")
    args = parser.parse_args(argv)
    servers = mcp_servers(args.mcp_port)
    agent_core = LocalService("agent core", "apps.agent_core", args.port, "dashboard at /, API at /api")
    VAR.mkdir(exist_ok=True)
    env = local_environment(servers)
    processes: list[subprocess.Popen[bytes]] = []

    def request_stop(signum: int, _: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, request_stop)
    everything = (*servers, agent_core)
    try:
        for service in everything:
            command = [sys.executable, "-m", service.module, "--host", "127.0.0.1", "--port", str(service.port)]
            processes.append(subprocess.Popen(command, env=env, cwd=ROOT))  # noqa: S603 - our own argv
        for service, process in zip(everything, processes, strict=True):
            wait_until_ready(service, process)
        print(f"\nThe platform is running: open {agent_core.url}/ (API at {agent_core.url}/api)", flush=True)
        for service in servers:
            print(f"  {service.name:<11} {service.url}/mcp   {service.summary}", flush=True)
        print(
            f"State: {env['AGENTIC_STATE']}. Key/value store: {env['AGENTIC_KV_STORE']}. "
            f"Reasoner: {reasoner_description(env)}.",
            flush=True,
        )
        print("Ctrl-C stops every service.", flush=True)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        exited = next(s for s, p in zip(everything, processes, strict=True) if p.poll() is not None)
        print(f"{exited.name} stopped unexpectedly; stopping the others.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_all(processes)


if __name__ == "__main__":
    raise SystemExit(main())
