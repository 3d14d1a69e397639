"""The whole platform as processes on 127.0.0.1 for load and fault tests, driven by a stateless model.

Four MCP servers and an agent core run as ``python -m`` processes; AWS is moto's server, the model is the
fake Bedrock Converse endpoint, Kubernetes and wttr.in are the local fakes. The model's answers depend only
on the conversation (``LoadModel``), so any number of runs can interleave: a run's task names the tool to
call; once the tool has answered, the model answers ``done``. ``LoadModel.faults_for`` makes it answer
Bedrock's ThrottlingException and InternalServerException for a while, as an overloaded model does.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.agent_core import TERMINAL
from tests.support.fake_bedrock import ConverseCall, FakeBedrock, Fault, Reply, ToolCall, run_fake_bedrock
from tests.support.fake_kube import FakeKube, run_fake_kube
from tests.support.fake_wttr import FakeWttr, run_fake_wttr
from tests.support.processes import RunningService, run_service

MODEL_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"
# One tool per server, each with arguments that succeed against the fakes; runs go round the four.
CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "aws": ("aws__list_s3_buckets", {}),
    "database": ("database__execute_query", {"sql": "SELECT status, count(*) AS n FROM orders GROUP BY status"}),
    "custom": ("custom__get_weather", {"location": "London"}),
    "kubernetes": ("kubernetes__get_cluster_status", {}),
}
SERVERS = tuple(CALLS)


@dataclass
class LoadModel:
    fake: FakeBedrock
    fault_until: float = 0.0
    faults_sent: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def faults_for(self, seconds: float) -> None:
        self.fault_until = time.monotonic() + seconds

    def answer(self, call: ConverseCall) -> Reply | Fault:
        if time.monotonic() < self.fault_until:
            with self._lock:
                self.faults_sent += 1
                odd = self.faults_sent % 2
            return Fault.throttling() if odd else Fault.internal()
        last = call.messages[-1]["content"]
        if any("toolResult" in block for block in last):
            return Reply.text("done")
        server = call.last_user_text.split()[-1]
        name, arguments = CALLS[server]
        return Reply.tool_use(ToolCall(name, arguments))

    def keep_answering(self, count: int) -> None:
        self.fake.script(*([self.answer] * count))


@dataclass
class LoadPlatform:
    core: RunningService
    servers: dict[str, RunningService]
    model: LoadModel
    wttr: FakeWttr
    kube: FakeKube
    env: dict[str, str]
    logs: Path


@contextlib.contextmanager
def load_platform(moto_endpoint: str, logs: Path, **core_env: str) -> Iterator[LoadPlatform]:
    empty = logs / "empty"
    empty.write_text("")
    with run_fake_bedrock() as bedrock, run_fake_wttr() as wttr, run_fake_kube() as kube:
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-west-2",
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.base_url,
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AGENTIC_DATABASE_PATH": str(logs / "sample.db"),
            "AGENTIC_WEATHER_BASE_URL": wttr.base_url,
            "AGENTIC_WEATHER_CACHE_SECONDS": "0",
            "KUBECONFIG": str(kube.kubeconfig),
            "AGENTIC_LOG_LEVEL": "WARNING",
        }
        model = LoadModel(bedrock)
        with contextlib.ExitStack() as stack:
            servers = {
                name: stack.enter_context(run_service(f"apps.mcp_{name}", env, log_path=logs / f"{name}.log"))
                for name in SERVERS
            }
            core = stack.enter_context(
                run_service(
                    "apps.agent_core",
                    {
                        **env,
                        "AGENTIC_MCP_SERVERS": ",".join(f"{n}={s.url}/mcp" for n, s in servers.items()),
                        "AGENTIC_REASONER": "bedrock",
                        "AGENTIC_BEDROCK_MODEL_ID": MODEL_ID,
                        "AGENTIC_STATE": f"sqlite:///{logs}/runs.db",
                        **core_env,
                    },
                    log_path=logs / "agent-core.log",
                    timeout=30,
                )
            )
            yield LoadPlatform(core, servers, model, wttr, kube, env, logs)


@dataclass
class LoadReport:
    runs: dict[str, dict[str, Any]]
    start_statuses: list[int]
    seconds: float

    @property
    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for run in self.runs.values():
            counts[run["status"]] = counts.get(run["status"], 0) + 1
        return counts

    def latency_ms(self, quantile: float) -> float:
        durations = sorted(
            (run["finished_at"] - run["created_at"]) * 1000 for run in self.runs.values() if run["finished_at"]
        )
        if len(durations) < 2:
            return durations[0] if durations else 0.0
        return statistics.quantiles(durations, n=100, method="inclusive")[round(quantile * 100) - 1]

    def summary(self) -> str:
        return (
            f"{len(self.runs)} runs in {self.seconds:.1f} s: {self.statuses}; "
            f"run latency p50 {self.latency_ms(0.5):.0f} ms, p99 {self.latency_ms(0.99):.0f} ms"
        )


async def _start_all(url: str, count: int, label: str) -> tuple[list[str], list[int]]:
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:

        async def start(n: int) -> httpx.Response:
            return await http.post("/api/runs", json={"task": f"{label} run {n} on {SERVERS[n % 4]}"})

        responses = await asyncio.gather(*(start(n) for n in range(count)))
    ids = [str(r.json()["id"]) for r in responses if r.status_code == 202]
    return ids, [r.status_code for r in responses]


async def _wait_all(url: str, ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=20)) as http:
        while len(done) < len(ids) and time.monotonic() < deadline:
            pending = [run_id for run_id in ids if run_id not in done]
            views = await asyncio.gather(*(http.get(f"/api/runs/{run_id}") for run_id in pending[:200]))
            for view in views:
                if view.status_code == 503 and view.json()["error"] == "store_unavailable":
                    continue  # the store is down: the API says so clearly; ask again
                assert view.status_code == 200, view.text
                run = view.json()
                if run["status"] in TERMINAL:
                    done[run["id"]] = run
            await asyncio.sleep(0.2)
    return done


def run_load(url: str, count: int, *, label: str, timeout: float = 240.0) -> LoadReport:
    """Start ``count`` runs at once, wait until every one has finished (or ``timeout``), report."""
    started = time.monotonic()

    async def drive() -> tuple[list[str], list[int], dict[str, dict[str, Any]]]:
        ids, statuses = await _start_all(url, count, label)
        return ids, statuses, await _wait_all(url, ids, timeout)

    # A loop of its own in a thread of its own: the caller's thread may already run one (an async test's).
    with ThreadPoolExecutor(max_workers=1) as pool:
        _, statuses, runs = pool.submit(asyncio.run, drive()).result()
    return LoadReport(runs=runs, start_statuses=statuses, seconds=time.monotonic() - started)
