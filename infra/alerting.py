"""Alerts: kube-prometheus-stack's Alertmanager delivers to the agent core, and the platform's own health rules.

Alertmanager posts the alerts the agent core has workflows for (`BUILTIN_ALERTS`, the rules the agent core
ships for the cluster's common failures) and the platform's own (infra/alerts/platform-rules.yaml) to
`POST /api/triggers/alertmanager`, as webhook payload version 4, authenticated by an API key holding only the
`trigger` role. The key lives in a Secret in the monitoring namespace that the chart's
`alertmanager.alertmanagerSpec.secrets` mounts into the Alertmanager pods; the webhook reads it from there
(`credentials_file`) on every request, so the key never appears in Alertmanager's configuration. The agent core
holds only its SHA-256 (infra/platform.py). tests/infra/test_upstream_alertmanager.py holds the upstream facts
this relies on (chart 88.5.3, Prometheus Operator v0.93, Alertmanager v0.34).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra.workloads import PART_OF, workloads

__all__ = [
    "ALERTMANAGER_KEY_NAME",
    "BUILTIN_ALERTS",
    "CREDENTIALS_FILE",
    "MAX_ALERTS",
    "RECEIVER",
    "RULES_FILE",
    "SECRET_KEY",
    "SECRET_NAME",
    "TRIGGER_PATH",
    "alertmanager_values",
    "platform_alert_names",
    "platform_rule_groups",
    "prometheus_rule",
    "webhook_url",
]

RULES_FILE = Path(__file__).resolve().parent / "alerts" / "platform-rules.yaml"
RECEIVER = "agentic-workflows"
TRIGGER_PATH = "/api/triggers/alertmanager"
# The key's name in the agent core's keys file: runs it starts record it as their trigger's principal.
ALERTMANAGER_KEY_NAME = "alertmanager"
SECRET_NAME = "agentic-workflows-alertmanager"  # noqa: S105 - the Secret's name
SECRET_KEY = "api-key"  # noqa: S105 - the key's name in the Secret
# The Prometheus Operator mounts each Secret the Alertmanager lists at /etc/alertmanager/secrets/<name>/.
CREDENTIALS_FILE = f"/etc/alertmanager/secrets/{SECRET_NAME}/{SECRET_KEY}"
# The alerts the agent core has built-in rules for (a troubleshooting run on the named pod or deployment).
BUILTIN_ALERTS = ("KubePodCrashLooping", "KubePodNotReady", "KubeDeploymentReplicasMismatch")
# Each notification carries one alert (group_by '...'), so none is ever cut; this bounds the body regardless.
MAX_ALERTS = 20


def platform_rule_groups() -> list[dict[str, Any]]:
    """The rule groups of infra/alerts/platform-rules.yaml, exactly as `promtool check rules` reads them."""
    document = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    groups: list[dict[str, Any]] = document["groups"]
    return groups


def platform_alert_names() -> tuple[str, ...]:
    return tuple(rule["alert"] for group in platform_rule_groups() for rule in group["rules"] if "alert" in rule)


def webhook_url(apps_namespace: str) -> str:
    """The trigger endpoint through the agent core's Service (port 80), from inside the cluster."""
    (agent_core,) = [w for w in workloads(apps_namespace) if w.name == "agent-core"]
    return f"http://{agent_core.service}.{agent_core.namespace}.svc.cluster.local{TRIGGER_PATH}"


def _config(url: str) -> dict[str, Any]:
    """What this program changes in the chart's `alertmanager.config`. Helm merges maps key by key but replaces
    lists, so the chart's `routes` and `receivers` are restated with ours added: its Watchdog route (to the
    `null` receiver, which stays the root's default) and that receiver."""
    alerts = "|".join((*BUILTIN_ALERTS, *platform_alert_names()))
    return {
        "route": {
            "routes": [
                {"receiver": "null", "matchers": ['alertname = "Watchdog"']},
                {
                    "receiver": RECEIVER,
                    "matchers": [f'alertname =~ "{alerts}"'],
                    # One alert per notification: the agent core starts one run per alert, and no alert can
                    # be cut from a large group by max_alerts.
                    "group_by": ["..."],
                    # A resolution reaches the run within a minute (the chart's default interval is 5m).
                    "group_interval": "1m",
                    # Routes an operator adds after this one still see these alerts.
                    "continue": True,
                },
            ]
        },
        "receivers": [
            {"name": "null"},
            {
                "name": RECEIVER,
                "webhook_configs": [
                    {
                        "url": url,
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials_file": CREDENTIALS_FILE}},
                        "max_alerts": MAX_ALERTS,
                    }
                ],
            },
        ],
    }


def alertmanager_values(url: str) -> dict[str, Any]:
    """kube-prometheus-stack values: the route and receiver above, and the key's Secret mounted in the pods."""
    return {"config": _config(url), "alertmanagerSpec": {"secrets": [SECRET_NAME]}}


def prometheus_rule(namespace: str) -> dict[str, Any]:
    """The rules file as a PrometheusRule; the stack's Prometheus selects every one (ruleSelector {})."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "agentic-platform",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "agentic-platform-rules", "app.kubernetes.io/part-of": PART_OF},
        },
        "spec": {"groups": platform_rule_groups()},
    }
