"""Prometheus alerts reach the agent core: Debian's ``prometheus`` and ``prometheus-alertmanager``, for real.

One stack per module, all on 127.0.0.1: a fake Kubernetes API with a crash-looping pod, the Kubernetes MCP server
and the agent core (each its own process, with API keys, the built-in ``KubePodCrashLooping`` rule told to notify a
Slack-compatible stand-in), our stand-in for kube-state-metrics, Prometheus scraping all of them and evaluating the
upstream ``KubePodCrashLooping`` rule, and Alertmanager delivering to the agent core's ``/api/triggers/alertmanager``
with a ``trigger`` key, and to a recorder that shows what it sent.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from apps.agent_core.triggers.alertmanager import AlertmanagerMessage
from apps.agent_core.triggers.builtin_rules import builtin_rules
from tests.support.agent_core import TERMINAL, Keys, make_keys
from tests.support.fake_kube import run_fake_kube
from tests.support.fake_kube_state import CRASHLOOP_POD
from tests.support.net import free_port
from tests.support.prometheus_stack import (
    KUBE_POD_CRASH_LOOPING,
    KUBE_STATE_METRICS_JOB,
    REPEAT_INTERVAL_SECONDS,
    CrashLoopExporter,
    PrometheusStack,
    ScrapeJob,
    ServiceProcess,
    WebhookRecorder,
    installed_binaries,
    run_prometheus_stack,
    start_service,
    wait_for,
    wait_ready,
)
from tests.support.servers import serve_in_thread
from tests.support.slack_standin import SlackStandIn, run_slack_standin

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE, POD = CRASHLOOP_POD
CONTAINER = "api"  # the fake cluster's crash-looping container (tests/support/fake_kube_state.py)
RULE = "KubePodCrashLooping"
SINK = "oncall"
ALERT_PATH = "/api/triggers/alertmanager"
RECORDER_PATH = "/alertmanager"
FIRE_SECONDS = 20.0
"""Scrape (1 s) + the rule's ``for`` (2 s) + evaluation (1 s) + Alertmanager's group_wait (1 s), with room for a
loaded machine."""
RUN_SECONDS = 30.0
"""One read-only diagnosis against the fake cluster and the offline planner's summary."""
RESOLVE_SECONDS = 20.0
"""The series' staleness + the rule's 3 s window + evaluation (1 s) + Alertmanager's group_interval (2 s)."""


@dataclass(frozen=True)
class Platform:
    core_url: str
    mcp_url: str
    keys: Keys
    slack: SlackStandIn
    services: list[ServiceProcess]

    def logs(self) -> str:
        return "\n".join(service.log_tail() for service in self.services)

    def get(self, path: str, **params: str) -> Any:
        """``GET /api<path>`` as a person with the viewer role (the trigger key cannot read runs)."""
        headers = {"Authorization": f"Bearer {self.keys.viewer}"}
        response = httpx.get(f"{self.core_url}/api{path}", params=params, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def alert_runs(self) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.get("/runs", trigger="alert")["runs"]
        return runs


@dataclass(frozen=True)
class AlertStack:
    platform: Platform
    prometheus: PrometheusStack
    exporter: CrashLoopExporter
    recorder: WebhookRecorder

    def logs(self) -> str:
        return f"{self.prometheus.logs()}\n{self.platform.logs()}"

    def messages(self, status: str) -> list[AlertmanagerMessage]:
        """What Alertmanager sent (to the recorder, and in the same flush to the agent core) with this status,
        parsed with the agent core's own model: what the real Alertmanager sends is what the endpoint accepts."""
        parsed = [AlertmanagerMessage.model_validate(delivery.body) for delivery in self.recorder.received()]
        return [m for m in parsed if m.status == status and any(a.labels.get("pod") == POD for a in m.alerts)]


def rules_file(directory: Path) -> Path:
    """The built-in ``KubePodCrashLooping`` rule as it is, told to notify ``SINK``: a file rule of a built-in's name
    replaces it, so this is how a team routes the built-in's results to its channel."""
    (builtin,) = (rule for rule in builtin_rules() if rule.name == RULE)
    path = directory / "triggers.yml"
    rule = builtin.model_copy(update={"notify": [SINK]}).model_dump(mode="json")
    path.write_text(yaml.safe_dump({"rules": [rule]}, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def alert_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The Kubernetes MCP server over the fake cluster, and the agent core using it, started side by side."""
    if installed_binaries() is None:
        pytest.skip("Debian's prometheus and prometheus-alertmanager are not installed (make test installs them)")
    directory = tmp_path_factory.mktemp("platform")
    keys = make_keys()
    core_port, mcp_port = free_port(), free_port()
    core_url, mcp_url = f"http://127.0.0.1:{core_port}", f"http://127.0.0.1:{mcp_port}"
    # Only what these services are given, not what this shell has set.
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTIC_") and k != "KUBECONFIG"}
    base_env["PYTHONPATH"] = str(ROOT)
    with run_fake_kube() as kube, run_slack_standin() as slack:
        mcp_env = {**base_env, "KUBECONFIG": str(kube.kubeconfig)}
        core_env = {
            **base_env,
            "AGENTIC_STATE": f"sqlite:///{directory / 'agent-core.db'}",
            "AGENTIC_MCP_SERVERS": f"kubernetes={mcp_url}/mcp",
            "AGENTIC_REASONER": "offline",
            "AGENTIC_API_KEYS": keys.entries_json,
            "AGENTIC_TRIGGERS_FILE": str(rules_file(directory)),
            # The webhook's URL is a credential: named by a variable, as a deployment's Secret would give it.
            "AGENTIC_NOTIFY": f"{SINK}=slack:${{SLACK_WEBHOOK_URL}}",
            "SLACK_WEBHOOK_URL": slack.url,
            "AGENTIC_DASHBOARD_URL": core_url,
        }
        services = [
            start_service("mcp-kubernetes", service_argv("apps.mcp_kubernetes", mcp_port), directory, env=mcp_env),
            start_service("agent-core", service_argv("apps.agent_core", core_port), directory, env=core_env),
        ]
        try:
            wait_ready([(services[0], f"{mcp_url}/ready"), (services[1], f"{core_url}/ready")])
            yield Platform(core_url=core_url, mcp_url=mcp_url, keys=keys, slack=slack, services=services)
        finally:
            for service in services:
                service.stop()


def service_argv(module: str, port: int) -> list[str]:
    return [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)]


@pytest.fixture(scope="module")
def stack(alert_platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertStack]:
    exporter, recorder = CrashLoopExporter(), WebhookRecorder()
    with serve_in_thread(exporter.app()) as exporter_url, serve_in_thread(recorder.app()) as recorder_url:
        jobs = [
            ScrapeJob(KUBE_STATE_METRICS_JOB, [exporter_url]),
            ScrapeJob("agent-core", [alert_platform.core_url]),
            ScrapeJob("mcp-kubernetes", [alert_platform.mcp_url]),
        ]
        with run_prometheus_stack(
            tmp_path_factory.mktemp("prometheus"),
            jobs=jobs,
            rules=[KUBE_POD_CRASH_LOOPING],
            webhook_urls=[alert_platform.core_url + ALERT_PATH, recorder_url + RECORDER_PATH],
            bearer_key=alert_platform.keys.trigger,
        ) as prometheus:
            yield AlertStack(alert_platform, prometheus, exporter, recorder)


def test_prometheus_scrapes_the_agent_core_and_the_mcp_server(stack: AlertStack) -> None:
    jobs = {"agent-core", "mcp-kubernetes", KUBE_STATE_METRICS_JOB}

    def all_up() -> bool:
        up = {sample["metric"]["job"]: sample["value"][1] for sample in stack.prometheus.query("up")}
        return all(up.get(job) == "1" for job in jobs)

    # Prometheus' discovery hands new targets to the scrapers every 5 s: the first scrape comes 5-6 s after start.
    wait_for(all_up, 15, f"up == 1 for {sorted(jobs)}", stack.logs)
    # What Prometheus stored is the services' own metrics, which count its scrapes.
    for expression in (
        'agent_core_requests_total{job="agent-core", route="/metrics", status="200"} > 0',
        'mcp_http_requests_total{job="mcp-kubernetes", path="/metrics", status="200"} > 0',
    ):
        wait_for(functools.partial(stack.prometheus.query, expression), 5, expression, stack.logs)


def test_alertmanager_delivers_the_firing_alert_with_the_trigger_key(stack: AlertStack) -> None:
    stack.exporter.crash_loop(NAMESPACE, POD, CONTAINER)
    message = wait_for(lambda: stack.messages("firing"), FIRE_SECONDS, f"a firing {RULE} delivery", stack.logs)[0]
    assert message.version == "4"
    (alert,) = message.alerts
    assert alert.labels == {
        "alertname": RULE,
        "namespace": NAMESPACE,
        "pod": POD,
        "container": CONTAINER,
        "reason": "CrashLoopBackOff",
        "job": KUBE_STATE_METRICS_JOB,
        "instance": alert.labels["instance"],
        "severity": "warning",
    }, message.model_dump_json()
    assert alert.annotations["summary"] == "Pod is crash looping."
    assert {d.authorization for d in stack.recorder.received()} == {f"Bearer {stack.platform.keys.trigger}"}


def test_a_firing_alert_starts_one_troubleshooting_run_and_its_result_and_resolution_follow(stack: AlertStack) -> None:
    platform = stack.platform
    stack.exporter.crash_loop(NAMESPACE, POD, CONTAINER)
    runs = wait_for(platform.alert_runs, FIRE_SECONDS, "a run started by the alert", stack.logs)
    assert len(runs) == 1, runs
    run_id = runs[0]["id"]

    def finished() -> dict[str, Any] | None:
        view: dict[str, Any] = platform.get(f"/runs/{run_id}")
        return view if view["status"] in TERMINAL else None

    run = wait_for(finished, RUN_SECONDS, f"run {run_id} finishing", stack.logs)
    assert run["status"] == "succeeded", run
    assert run["trigger"]["kind"] == "alert"
    assert run["trigger"]["id"] == RULE
    assert run["trigger"]["detail"]["namespace"] == NAMESPACE
    assert run["trigger"]["detail"]["pod"] == POD
    # The built-in rule's read-only diagnosis, of the pod the alert's labels name, in the fake cluster.
    (step,) = run["steps"]
    assert (step["server"], step["tool"], step["status"]) == ("kubernetes", "troubleshoot_pod", "succeeded"), step
    assert step["arguments"] == {"namespace": NAMESPACE, "name": POD}
    assert "CrashLoopBackOff" in str(step["result"])

    # Alertmanager repeats the firing group every repeat interval; none of the repeats starts another run.
    seen = len(stack.messages("firing"))
    wait_for(
        lambda: len(stack.messages("firing")) >= seen + 2,
        3 * REPEAT_INTERVAL_SECONDS + 10,
        "two repeated firing notifications",
        stack.logs,
    )
    assert [r["id"] for r in platform.alert_runs()] == [run_id]
    # Every delivery went through: the recorder always answers 200, so a failure is the agent core refusing one.
    metric = stack.prometheus.alertmanager_metric
    assert metric("alertmanager_notifications_total", integration="webhook") > 0
    assert metric("alertmanager_notifications_failed_total", integration="webhook") == 0, stack.logs()

    # The team heard of the result once, with its status and a link to the run.
    notes = wait_for(lambda: platform.slack.received, 10, "the run's result at the Slack stand-in", stack.logs)
    assert len(notes) == 1, notes
    message = notes[0]
    assert message["text"].endswith(f"Run succeeded: {run['title']}"), message
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["url"] for b in buttons] == [f"{platform.core_url}/#/runs/{run_id}"], message

    # The pod stops crash-looping: the series goes away, the alert resolves and the run records it.
    stack.exporter.recover(NAMESPACE, POD, CONTAINER)
    (resolved,) = wait_for(lambda: stack.messages("resolved"), RESOLVE_SECONDS, "a resolved delivery", stack.logs)
    (alert,) = resolved.alerts
    assert alert.fingerprint == run["trigger"]["detail"]["fingerprint"]

    def resolution() -> float | None:
        resolved_at: float | None = platform.get(f"/runs/{run_id}")["trigger_resolved_at"]
        return resolved_at

    assert wait_for(resolution, 10, "the resolution recorded on the run", stack.logs) == alert.endsAt.timestamp()
    assert [r["id"] for r in platform.alert_runs()] == [run_id]
    assert len(platform.slack.received) == 1
