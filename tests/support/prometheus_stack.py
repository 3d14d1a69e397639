"""Debian's Prometheus and Alertmanager, started by a test on 127.0.0.1, scraping and alerting on our services.

``run_prometheus_stack`` writes their configuration to a temporary directory and starts both binaries (each in
its own process group, so teardown ends whatever they started), with one-second scrapes and rule evaluations and
an Alertmanager that groups, repeats and resolves within seconds, so a test sees a whole alert's life in well under
a minute. Alongside them:

- ``CrashLoopExporter``: our own stand-in for kube-state-metrics, exposing the one series the upstream
  ``KubePodCrashLooping`` rule reads (``KUBE_POD_CRASH_LOOPING``), which a test turns on and off;
- ``WebhookRecorder``: an HTTP endpoint that keeps every delivery (its ``Authorization`` header and JSON body),
  so a test sees exactly what Alertmanager sent;
- ``start_service``/``wait_ready``/``ServiceProcess``: how every process here is started, awaited and stopped.

Every wait is bounded and fails naming what did not happen, with the tails of the processes' logs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.support.net import free_port

PROMETHEUS_BINARY = "prometheus"
# Debian installs Alertmanager as prometheus-alertmanager; upstream's tarball calls it alertmanager.
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")
STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0

GROUP_WAIT = "1s"
GROUP_INTERVAL = "2s"
REPEAT_INTERVAL_SECONDS = 4
"""Alertmanager re-sends a firing group this often (at the next group-interval flush after it has passed)."""

# The upstream rule, from kube-prometheus-stack 88.5.3 (the chart infra/charts.py pins),
# templates/prometheus/rules-1.14/kubernetes-apps.yaml, rendered with its defaults (kube-state-metrics' job,
# every namespace):
#   alert: KubePodCrashLooping
#   expr: max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff",
#           job="kube-state-metrics", namespace=~".*"}[5m]) >= 1
#   for: 15m
#   labels: {severity: warning}
# Only the durations are shorter: `for` 15m → 2s so it fires within the test, and the window 5m → 3s so it resolves
# within the test too (max_over_time keeps a series that went away for as long as the window).
KUBE_POD_CRASH_LOOPING: dict[str, Any] = {
    "alert": "KubePodCrashLooping",
    "expr": (
        'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff", '
        'job="kube-state-metrics", namespace=~".*"}[3s]) >= 1'
    ),
    "for": "2s",
    "labels": {"severity": "warning"},
    "annotations": {
        "description": (
            "Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is in waiting state (reason: "
            '"CrashLoopBackOff") on cluster {{ $labels.cluster }}.'
        ),
        "summary": "Pod is crash looping.",
    },
}
KUBE_STATE_METRICS_JOB = "kube-state-metrics"

T = TypeVar("T")


def installed_binaries() -> tuple[str, str] | None:
    """The paths of Prometheus and Alertmanager, or None when either is not installed."""
    prometheus = shutil.which(PROMETHEUS_BINARY)
    alertmanager = next(filter(None, map(shutil.which, ALERTMANAGER_BINARIES)), None)
    return (prometheus, alertmanager) if prometheus and alertmanager else None


@dataclass
class ServiceProcess:
    """A process a test started, in its own process group, writing to a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, chars: int = 2500) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- {self.name} (exit code {self.process.poll()}), {self.log_path} ---\n{text[-chars:]}"

    def stop(self) -> None:
        """SIGTERM to its group, then SIGKILL if it has not exited within ``STOP_SECONDS``."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_service(
    name: str, argv: Sequence[str], log_dir: Path, *, env: Mapping[str, str] | None = None
) -> ServiceProcess:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:  # the child keeps its own descriptor
        process = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return ServiceProcess(name, process, log_path)


def wait_ready(checks: Sequence[tuple[ServiceProcess, str]], timeout: float = STARTUP_SECONDS) -> None:
    """Wait until every ``(service, url)`` answers 200, all within ``timeout``; a service that exits fails at once."""
    deadline = time.monotonic() + timeout
    for service, url in checks:
        while True:
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited before {url} answered:\n{service.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer 200 within {timeout:g}s:\n{service.log_tail()}")
            time.sleep(0.1)


def wait_for(
    condition: Callable[[], T | None], timeout: float, what: str, diagnostics: Callable[[], str] = lambda: ""
) -> T:
    """Poll ``condition`` until it returns something truthy; else fail naming ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g}s\n{diagnostics()}")
        time.sleep(0.2)


class CrashLoopExporter:
    """kube-state-metrics' ``kube_pod_container_status_waiting_reason`` for the pods a test says crash-loop."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # The same name, labels and meaning as kube-state-metrics': 1 while the container waits for that reason;
        # the series goes away when it no longer does.
        self._waiting = Gauge(
            "kube_pod_container_status_waiting_reason",
            "Describes the reason the container is currently in waiting state.",
            ["namespace", "pod", "container", "reason"],
            registry=self.registry,
        )

    def crash_loop(self, namespace: str, pod: str, container: str) -> None:
        self._waiting.labels(namespace, pod, container, "CrashLoopBackOff").set(1)

    def recover(self, namespace: str, pod: str, container: str) -> None:
        self._waiting.remove(namespace, pod, container, "CrashLoopBackOff")

    def app(self) -> Starlette:
        async def metrics(_: Request) -> Response:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        async def health(_: Request) -> Response:
            return PlainTextResponse("OK")

        return Starlette(routes=[Route("/metrics", metrics), Route("/health", health)])


class Delivery(BaseModel):
    """One POST the recorder received."""

    path: str
    authorization: str | None
    body: dict[str, Any]


@dataclass
class WebhookRecorder:
    """Answers 200 to every POST and keeps it, for a test to read."""

    deliveries: list[Delivery] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def app(self) -> Starlette:
        async def record(request: Request) -> Response:
            delivery = Delivery(
                path=request.url.path, authorization=request.headers.get("authorization"), body=await request.json()
            )
            with self._lock:
                self.deliveries.append(delivery)
            return PlainTextResponse("OK")

        async def health(_: Request) -> Response:
            return PlainTextResponse("OK")

        return Starlette(routes=[Route("/health", health), Route("/{path:path}", record, methods=["POST"])])


@dataclass(frozen=True)
class ScrapeJob:
    name: str
    urls: Sequence[str]
    """Base URLs (``http://127.0.0.1:PORT``) whose ``/metrics`` Prometheus scrapes."""


def prometheus_config(jobs: Sequence[ScrapeJob], alertmanager_port: int, rules_file: Path) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_file)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]},
        "scrape_configs": [
            {
                "job_name": job.name,
                "static_configs": [{"targets": [url.removeprefix("http://") for url in job.urls]}],
            }
            for job in jobs
        ],
    }


def alertmanager_config(webhook_urls: Sequence[str], credentials_file: Path) -> dict[str, Any]:
    """One receiver delivering to every URL with the bearer key in ``credentials_file``, resolved alerts too."""
    http_config = {"authorization": {"type": "Bearer", "credentials_file": str(credentials_file)}}
    return {
        "route": {
            "receiver": "agent-core",
            "group_by": ["alertname", "namespace", "pod"],
            "group_wait": GROUP_WAIT,
            "group_interval": GROUP_INTERVAL,
            "repeat_interval": f"{REPEAT_INTERVAL_SECONDS}s",
        },
        "receivers": [
            {
                "name": "agent-core",
                "webhook_configs": [
                    {"url": url, "send_resolved": True, "http_config": http_config} for url in webhook_urls
                ],
            }
        ],
    }


@dataclass
class PrometheusStack:
    prometheus_url: str
    alertmanager_url: str
    services: list[ServiceProcess]

    def logs(self) -> str:
        return "\n".join(service.log_tail() for service in self.services)

    def query(self, expression: str) -> list[dict[str, Any]]:
        """An instant query's result vector, through Prometheus' HTTP API."""
        response = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": expression}, timeout=5)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def alertmanager_metric(self, name: str, **labels: str) -> float:
        """The sum of an Alertmanager metric's samples whose labels include ``labels`` (0 when there are none)."""
        text = httpx.get(f"{self.alertmanager_url}/metrics", timeout=5).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total


@contextlib.contextmanager
def run_prometheus_stack(
    directory: Path,
    *,
    jobs: Sequence[ScrapeJob],
    rules: Sequence[dict[str, Any]],
    webhook_urls: Sequence[str],
    bearer_key: str,
) -> Iterator[PrometheusStack]:
    """Alertmanager delivering to ``webhook_urls`` with ``bearer_key``, and Prometheus scraping ``jobs`` and
    evaluating ``rules`` (one group), both on free loopback ports with their state in ``directory``."""
    binaries = installed_binaries()
    if binaries is None:
        raise RuntimeError("Debian's prometheus and prometheus-alertmanager are not installed")
    prometheus_binary, alertmanager_binary = binaries
    credentials_file = directory / "alertmanager-bearer"
    credentials_file.write_text(bearer_key)
    credentials_file.chmod(0o600)
    rules_file = directory / "rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "kubernetes-apps", "rules": list(rules)}]}))
    alertmanager_file = directory / "alertmanager.yml"
    alertmanager_file.write_text(yaml.safe_dump(alertmanager_config(webhook_urls, credentials_file)))
    alertmanager_port, prometheus_port = free_port(), free_port()
    prometheus_file = directory / "prometheus.yml"
    prometheus_file.write_text(yaml.safe_dump(prometheus_config(jobs, alertmanager_port, rules_file)))
    services: list[ServiceProcess] = []
    try:
        alertmanager = start_service(
            "alertmanager",
            [
                alertmanager_binary,
                f"--config.file={alertmanager_file}",
                f"--storage.path={directory / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{alertmanager_port}",
                "--cluster.listen-address=",  # no gossip peers: one instance, no port opened for them
            ],
            directory,
        )
        services.append(alertmanager)
        prometheus = start_service(
            "prometheus",
            [
                prometheus_binary,
                f"--config.file={prometheus_file}",
                f"--storage.tsdb.path={directory / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ],
            directory,
        )
        services.append(prometheus)
        stack = PrometheusStack(
            prometheus_url=f"http://127.0.0.1:{prometheus_port}",
            alertmanager_url=f"http://127.0.0.1:{alertmanager_port}",
            services=services,
        )
        wait_ready(
            [(alertmanager, f"{stack.alertmanager_url}/-/ready"), (prometheus, f"{stack.prometheus_url}/-/ready")]
        )
        yield stack
    finally:
        for service in services:
            service.stop()
