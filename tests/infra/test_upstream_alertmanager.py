"""kube-prometheus-stack's Alertmanager and Prometheus, as the program relies on them, checked with Debian's
`amtool`, `promtool` and `prometheus-alertmanager`.

Upstream facts, read in prometheus-community/helm-charts at tag kube-prometheus-stack-88.5.3 (the version
pinned in infra/charts.py), charts/kube-prometheus-stack/:

- values.yaml `alertmanager.config`: the default configuration quoted in CHART_DEFAULT_CONFIG below (root
  receiver `null`, one route sending `Watchdog` to it, `group_by: ['namespace']`). templates/alertmanager/
  secret.yaml renders `toYaml .Values.alertmanager.config` into the config Secret, after Helm has merged the
  release's values into these defaults: maps key by key, lists and scalars replaced whole (`coalesce` below).
- values.yaml `alertmanager.alertmanagerSpec.secrets: []`: "Secrets ... which shall be mounted into the
  Alertmanager Pods ... into /etc/alertmanager/secrets/"; `alertmanagerSpec.image.tag: v0.34.0`.
- values.yaml `alertmanager.networkPolicy.enabled: false`: the chart adds no NetworkPolicy, so nothing limits
  the Alertmanager pods' egress (and the program adds no policy in the monitoring namespace).
- templates/_helpers.tpl: the Alertmanager's name (`kube-prometheus-stack.alertmanager.crname`) is the
  fullname plus `-alertmanager`; the fullname is the release name when it contains the chart's name.
- values.yaml `prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues: true`, `ruleSelector: {}`,
  `ruleNamespaceSelector: {}`; templates/prometheus/prometheus.yaml renders `ruleSelector: {}` (every
  PrometheusRule) when the former is false, as the program sets it, else `matchLabels: {release: <release>}`.

Read in prometheus-operator/prometheus-operator at v0.93.0 (the chart's appVersion is v0.93.1, not in the
mirror; neither file changed in that patch release's scope):
- pkg/alertmanager/operator.go `makeSelectorLabels`: every Alertmanager pod carries
  `app.kubernetes.io/name: alertmanager` (applicationNameLabelValue), `alertmanager: <name>`,
  `app.kubernetes.io/instance: <name>`, `app.kubernetes.io/managed-by: prometheus-operator`.
- pkg/alertmanager/statefulset.go: `secretsDir = "/etc/alertmanager/secrets"`; each listed Secret is mounted
  read-only at `path.Join(secretsDir, <secret name>)`, its keys as files.

Read in prometheus/alertmanager at v0.34.0 (what the chart deploys), docs/configuration.md: `<webhook_config>`
has `send_resolved` (default true), `url`, `http_config`, `max_alerts` ("Alerts above this threshold are
truncated"; 0 means all) and `timeout`; `<http_config>.authorization` has `type` (default Bearer) and
`credentials_file`; the payload is `"version": "4"`. Debian bookworm ships Alertmanager 0.25.0, which has all of
these but `timeout` (so the program does not set it) and is what the tests below run.
"""

from __future__ import annotations

import copy
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import yaml

from infra import alerting
from infra.charts import KUBE_PROMETHEUS_STACK
from infra.monitoring import ALERTMANAGER_POD_LABELS, NAMESPACE, RELEASE
from infra.offline import ProgramRun
from tests.infra.support import HELM_RELEASE, k8s_objects_of

READ_AT_CHART_VERSION = "88.5.3"
CHART_NAME = "kube-prometheus-stack"
# charts/kube-prometheus-stack/values.yaml at 88.5.3, `alertmanager.config`, verbatim.
CHART_DEFAULT_CONFIG = yaml.safe_load(
    """
global:
  resolve_timeout: 5m
inhibit_rules:
  - source_matchers:
      - 'severity = critical'
    target_matchers:
      - 'severity =~ warning|info'
    equal:
      - 'namespace'
      - 'alertname'
  - source_matchers:
      - 'severity = warning'
    target_matchers:
      - 'severity = info'
    equal:
      - 'namespace'
      - 'alertname'
  - source_matchers:
      - 'alertname = InfoInhibitor'
    target_matchers:
      - 'severity = info'
    equal:
      - 'namespace'
  - target_matchers:
      - 'alertname = InfoInhibitor'
route:
  group_by: ['namespace']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 12h
  receiver: 'null'
  routes:
  - receiver: 'null'
    matchers:
      - alertname = "Watchdog"
receivers:
- name: 'null'
templates:
- '/etc/alertmanager/config/*.tmpl'
"""
)


# pkg/alertmanager/operator.go makeSelectorLabels (v0.93.0), for the Alertmanager named `name`.
def operator_pod_labels(name: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "alertmanager",
        "app.kubernetes.io/managed-by": "prometheus-operator",
        "app.kubernetes.io/instance": name,
        "alertmanager": name,
    }


OPERATOR_SECRETS_DIR = "/etc/alertmanager/secrets"


def coalesce(defaults: Any, values: Any) -> Any:
    """Helm's merge of a release's values into a chart's: maps key by key, anything else replaced whole."""
    if isinstance(defaults, dict) and isinstance(values, dict):
        merged = dict(defaults)
        for key, value in values.items():
            merged[key] = coalesce(defaults.get(key), value)
        return merged
    return copy.deepcopy(values)


def chart_alertmanager_name(release: str) -> str:
    """templates/_helpers.tpl: fullname (the release name when it contains the chart's) + "-alertmanager"."""
    fullname = release if CHART_NAME in release else f"{release}-{CHART_NAME}"
    return f"{fullname[:26].rstrip('-')}-alertmanager"


def _stack_values(run: ProgramRun) -> dict[str, Any]:
    (release,) = [r for r in run.of_type(HELM_RELEASE) if r.inputs["name"] == RELEASE]
    values: dict[str, Any] = release.inputs["values"]
    return values


def deployed_config(run: ProgramRun) -> dict[str, Any]:
    """The alertmanager.yaml the chart renders from the program's values."""
    merged: dict[str, Any] = coalesce(CHART_DEFAULT_CONFIG, _stack_values(run)["alertmanager"]["config"])
    return merged


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"Debian's {name} is not installed (make system-deps)")
    return path


def test_the_facts_were_read_at_the_pinned_chart_version() -> None:
    assert KUBE_PROMETHEUS_STACK.version == READ_AT_CHART_VERSION


def test_network_policies_select_the_pods_the_operator_labels() -> None:
    name = chart_alertmanager_name(RELEASE)
    assert name == "kube-prometheus-stack-alertmanager"
    assert ALERTMANAGER_POD_LABELS.items() <= operator_pod_labels(name).items()
    # Another Alertmanager (another release) carries different labels.
    assert not ALERTMANAGER_POD_LABELS.items() <= operator_pod_labels(chart_alertmanager_name("other")).items()


def test_the_key_is_read_where_the_operator_mounts_the_secret(update_run: ProgramRun) -> None:
    spec = _stack_values(update_run)["alertmanager"]["alertmanagerSpec"]
    assert spec["secrets"] == [alerting.SECRET_NAME]
    mounted = f"{OPERATOR_SECRETS_DIR}/{alerting.SECRET_NAME}/{alerting.SECRET_KEY}"
    (receiver,) = [r for r in deployed_config(update_run)["receivers"] if r["name"] == alerting.RECEIVER]
    (webhook,) = receiver["webhook_configs"]
    assert webhook["http_config"]["authorization"] == {"type": "Bearer", "credentials_file": mounted}
    (secret,) = [
        s
        for s in k8s_objects_of(update_run, "Secret")
        if s["metadata"]["name"] == alerting.SECRET_NAME and s["metadata"]["namespace"] == NAMESPACE
    ]
    assert set(secret["stringData"]) == {alerting.SECRET_KEY}


def test_the_prometheus_selects_every_rule(program: ProgramRun) -> None:
    spec = _stack_values(program)["prometheus"]["prometheusSpec"]
    # Both unset or empty: the template renders `ruleSelector: {}` and `ruleNamespaceSelector: {}`.
    assert spec["ruleSelectorNilUsesHelmValues"] is False
    assert not spec.get("ruleSelector") and not spec.get("ruleNamespaceSelector")


def test_nothing_limits_alertmanagers_egress(program: ProgramRun) -> None:
    assert not _stack_values(program)["alertmanager"].get("networkPolicy", {}).get("enabled", False)
    assert [p for p in k8s_objects_of(program, "NetworkPolicy") if p["metadata"]["namespace"] == NAMESPACE] == []


def _write(config: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "alertmanager.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_amtool_accepts_the_deployed_configuration(update_run: ProgramRun, tmp_path: Path) -> None:
    amtool = _binary("amtool")
    path = _write(deployed_config(update_run), tmp_path)
    result = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    # The check is real: a receiver the route names but nobody defines is refused.
    broken = deployed_config(update_run)
    broken["receivers"] = [r for r in broken["receivers"] if r["name"] != alerting.RECEIVER]
    bad = subprocess.run([amtool, "check-config", str(_write(broken, tmp_path))], capture_output=True, timeout=60)
    assert bad.returncode != 0


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ({"alertname": "KubePodCrashLooping", "namespace": "agentic", "pod": "x"}, [alerting.RECEIVER]),
        ({"alertname": "KubePodNotReady", "namespace": "default", "pod": "y"}, [alerting.RECEIVER]),
        ({"alertname": "KubeDeploymentReplicasMismatch", "deployment": "z"}, [alerting.RECEIVER]),
        ({"alertname": "McpServerDown", "job": "aws-mcp-service"}, [alerting.RECEIVER]),
        ({"alertname": "RunsStuckAwaitingApproval", "namespace": "agentic"}, [alerting.RECEIVER]),
        ({"alertname": "Watchdog"}, ["null"]),
        ({"alertname": "KubePodCrashLoopingSoon"}, ["null"]),  # the matcher is anchored
        ({"alertname": "NodeFilesystemAlmostOutOfSpace", "severity": "warning"}, ["null"]),
    ],
)
def test_routing(update_run: ProgramRun, tmp_path: Path, labels: dict[str, str], receivers: list[str]) -> None:
    amtool = _binary("amtool")
    path = _write(deployed_config(update_run), tmp_path)
    command = [amtool, "config", "routes", "test", f"--config.file={path}"]
    result = subprocess.run(
        [*command, *(f"{k}={v}" for k, v in labels.items())], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == receivers


def test_every_platform_alert_reaches_the_agent_core(update_run: ProgramRun, tmp_path: Path) -> None:
    amtool = _binary("amtool")
    path = _write(deployed_config(update_run), tmp_path)
    names = (*alerting.BUILTIN_ALERTS, *alerting.platform_alert_names())
    assert len(names) >= 7
    for name in names:
        command = [amtool, "config", "routes", "test", f"--config.file={path}", f"alertname={name}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.stdout.split() == [alerting.RECEIVER], name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str | None, dict[str, Any]]]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, self.headers.get("Authorization"), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, str | None, dict[str, Any]]]]]:
    received: list[tuple[str, str | None, dict[str, Any]]] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_alertmanager_posts_the_alert_with_the_mounted_key(
    update_run: ProgramRun, tmp_path: Path, recorder: tuple[str, list[tuple[str, str | None, dict[str, Any]]]]
) -> None:
    """The real Alertmanager with the deployed configuration; only the agent core's address and the Secret's
    mount point are this machine's (a local recorder; the key in a file under tmp_path)."""
    binary = _binary("prometheus-alertmanager")
    base, received = recorder
    key_file = tmp_path / "secrets" / alerting.SECRET_NAME / alerting.SECRET_KEY
    key_file.parent.mkdir(parents=True)
    key_file.write_text("awp_test-key")
    text = yaml.safe_dump(deployed_config(update_run))
    text = text.replace(alerting.webhook_url("agentic"), f"{base}{alerting.TRIGGER_PATH}")
    text = text.replace(alerting.CREDENTIALS_FILE, str(key_file))
    assert str(key_file) in text and base in text
    config = tmp_path / "alertmanager.yaml"
    config.write_text(text)
    port = _free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # one instance: no gossip port
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        api = f"http://127.0.0.1:{port}/api/v2"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        labels = {
            "alertname": "KubePodCrashLooping",
            "namespace": "shop",
            "pod": "cart-5d9c-xk2lp",
            "severity": "warning",
        }
        sent = [{"labels": labels, "annotations": {"description": "restarting"}}, {"labels": {"alertname": "Watchdog"}}]
        assert httpx.post(f"{api}/alerts", json=sent, timeout=5).status_code == 200
        deadline = time.monotonic() + 60  # the chart's group_wait is 30 s
        while not received and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert received, stderr.decode()[-2000:]
    path, authorization, body = received[0]
    assert path == alerting.TRIGGER_PATH
    assert authorization == "Bearer awp_test-key"
    assert body["version"] == "4" and body["receiver"] == alerting.RECEIVER and body["status"] == "firing"
    (alert,) = body["alerts"]  # one alert per notification; Watchdog went to the null receiver
    assert alert["labels"] == labels
    assert alert["fingerprint"] and alert["startsAt"]
    assert len(received) == 1
