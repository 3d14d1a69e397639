"""Start-to-ready time and idle memory of each service, each started alone, several times.

Run with ``make bench`` (or ``python -m benchmarks.services``). Budgets from the containers'
requests: idle RSS ≤ 128 MB, ready ≤ 2.5 s after the process starts.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("apps.mcp_aws", "apps.mcp_database", "apps.mcp_custom", "apps.mcp_kubernetes", "apps.agent_core")
RSS_BUDGET_MB = 128
READY_BUDGET_SECONDS = 2.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def measure_once(module: str, env: dict[str, str], settle_seconds: float) -> tuple[float, float]:
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - our own argv
        [sys.executable, "-m", module, "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{module} exited with {process.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > 30:
                raise TimeoutError(f"{module} not ready in 30 s")
            time.sleep(0.01)
        ready = time.monotonic() - started
        time.sleep(settle_seconds)
        return ready, rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds idle before reading RSS")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "AGENTIC_DATABASE_PATH": str(Path(scratch, "sample.db")),
            "AGENTIC_LOG_LEVEL": "WARNING",
            "AGENTIC_STATE": f"sqlite:///{Path(scratch, 'runs.db')}",
        }
        print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"{args.runs} runs each, started alone; median (max)\n")
        print("| service | ready after start (s) | idle RSS (MB) | within budget |")
        print("|---|---|---|---|")
        failures = 0
        for module in SERVICES:
            samples = [measure_once(module, env, args.settle) for _ in range(args.runs)]
            ready = [sample[0] for sample in samples]
            rss = [sample[1] for sample in samples]
            ok = max(ready) <= READY_BUDGET_SECONDS and max(rss) <= RSS_BUDGET_MB
            failures += not ok
            print(
                f"| {module} | {statistics.median(ready):.2f} ({max(ready):.2f}) "
                f"| {statistics.median(rss):.1f} ({max(rss):.1f}) | {'yes' if ok else 'NO'} |"
            )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
