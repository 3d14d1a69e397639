"""Monitoring: metrics-server (for HPAs and `kubectl top`) and kube-prometheus-stack.

The stack's release name is fixed and its selectors opened (`*SelectorNilUsesHelmValues: false`), so a
ServiceMonitor or PrometheusRule created by any later component is used without carrying this release's
label. Grafana's admin password is generated, stored only in a Kubernetes Secret and a secret stack output.
Alertmanager delivers to the agent core (infra/alerting.py) with a generated key that holds only the
`trigger` role: it is in a Secret mounted into the Alertmanager pods, and the agent core gets its digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra import alerting
from infra.charts import KUBE_PROMETHEUS_STACK, METRICS_SERVER
from infra.config import MonitoringConfig
from infra.ingress import listener_annotations
from infra.workloads import PART_OF

__all__ = [
    "ALERTMANAGER_POD_LABELS",
    "COMPONENT_RESOURCES",
    "DASHBOARD_LABEL",
    "GRAFANA_LOCAL_PORT",
    "NAMESPACE",
    "Monitoring",
    "MonitoringArgs",
    "grafana_ingress_manifest",
    "grafana_port_forward",
    "stack_values",
]

NAMESPACE = "monitoring"
RELEASE = "kube-prometheus-stack"
GRAFANA_SERVICE = f"{RELEASE}-grafana"  # the grafana subchart's fullname for this release name
GRAFANA_SECRET = "grafana-admin"  # noqa: S105 - the Secret's name, not its content
STORAGE_CLASS = "gp3"
# The label Grafana's dashboard sidecar watches for in this namespace (set explicitly below, not left to the chart).
DASHBOARD_LABEL = {"grafana_dashboard": "1"}
GRAFANA_LOCAL_PORT = 3000
# What the Prometheus Operator labels the Alertmanager pods with (makeSelectorLabels); the chart names the
# Alertmanager `<release>-alertmanager`. NetworkPolicies let exactly these pods reach the agent core.
ALERTMANAGER_POD_LABELS = {"app.kubernetes.io/name": "alertmanager", "alertmanager": f"{RELEASE}-alertmanager"}
# How long `pulumi destroy` waits for the release (helm uninstall) and the namespace (its PVCs) to go.
DELETE_TIMEOUT = "20m"


def _resources(cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    # A memory limit (the kernel kills past it) but no CPU limit (throttling only adds latency).
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


# Every container kube-prometheus-stack 88.5.3 runs leaves `resources: {}` by default: without requests the
# scheduler packs them blind onto the system nodes, and Prometheus grows with the series it holds. Value path
# in the chart's values → requests and limits.
COMPONENT_RESOURCES: dict[tuple[str, ...], dict[str, Any]] = {
    ("prometheus", "prometheusSpec", "resources"): _resources("200m", "1Gi", "2Gi"),
    ("alertmanager", "alertmanagerSpec", "resources"): _resources("20m", "64Mi", "128Mi"),
    ("prometheusOperator", "resources"): _resources("50m", "128Mi", "256Mi"),
    ("prometheusOperator", "prometheusConfigReloader", "resources"): _resources("10m", "32Mi", "64Mi"),
    ("prometheusOperator", "admissionWebhooks", "patch", "resources"): _resources("10m", "32Mi", "64Mi"),
    ("grafana", "resources"): _resources("100m", "256Mi", "512Mi"),
    ("grafana", "sidecar", "resources"): _resources("10m", "64Mi", "128Mi"),
    ("kube-state-metrics", "resources"): _resources("20m", "64Mi", "256Mi"),
    ("prometheus-node-exporter", "resources"): _resources("20m", "32Mi", "64Mi"),
}


@dataclass
class MonitoringArgs:
    config: MonitoringConfig
    vpc_cidr: str
    # Where Alertmanager posts alerts: the agent core's trigger endpoint (infra/alerting.py webhook_url).
    alert_webhook_url: str
    provider: k8s.Provider
    cluster_ready: Sequence[pulumi.Resource]
    # The release serving Ingresses of class `alb`; needed only when Grafana is exposed through an ALB.
    ingress_controller: pulumi.Resource | None = None


def stack_values(cfg: MonitoringConfig, alert_webhook_url: str) -> dict[str, Any]:
    def volume(size: str) -> dict[str, Any]:
        return {
            "storageClassName": STORAGE_CLASS,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
        }

    values: dict[str, Any] = {
        "prometheus": {
            "prometheusSpec": {
                "retention": cfg.prometheus_retention,
                "storageSpec": {"volumeClaimTemplate": {"spec": volume(cfg.prometheus_storage)}},
                # The StatefulSet's claim goes with it (helm uninstall), while the EBS CSI driver still runs
                # to delete the volume; by default (Retain) the claim, and its EBS volume, would stay behind.
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
                **{
                    f"{kind}SelectorNilUsesHelmValues": False
                    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig")
                },
            }
        },
        "grafana": {
            "admin": {"existingSecret": GRAFANA_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            "persistence": {
                "enabled": True,
                "type": "pvc",
                "storageClassName": STORAGE_CLASS,
                "accessModes": ["ReadWriteOnce"],
                "size": cfg.grafana_storage,
            },
            # A ReadWriteOnce volume cannot be attached to the old and the new pod at once.
            "deploymentStrategy": {"type": "Recreate"},
            "service": {"type": "ClusterIP"},
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": next(iter(DASHBOARD_LABEL)),
                    "labelValue": next(iter(DASHBOARD_LABEL.values())),
                }
            },
        },
        "alertmanager": alerting.alertmanager_values(alert_webhook_url),
        # EKS runs these on the managed control plane (or binds kube-proxy's metrics to localhost): their
        # targets would only ever be down and fire alerts.
        "kubeControllerManager": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeEtcd": {"enabled": False},
        "kubeProxy": {"enabled": False},
    }
    for path, resources in COMPONENT_RESOURCES.items():
        target = values
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = resources
    return values


def grafana_port_forward() -> str:
    """The command that makes Grafana reachable at http://localhost:3000 from the operator's machine."""
    return f"kubectl --namespace {NAMESPACE} port-forward service/{GRAFANA_SERVICE} {GRAFANA_LOCAL_PORT}:80"


def grafana_ingress_manifest(cfg: MonitoringConfig, vpc_cidr: str) -> dict[str, Any]:
    annotations = {
        "alb.ingress.kubernetes.io/scheme": cfg.alb_scheme,
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/inbound-cidrs": ",".join(cfg.allowed_cidrs or (vpc_cidr,)),
        "alb.ingress.kubernetes.io/healthcheck-path": "/api/health",
        **listener_annotations(cfg.certificate_arn, redirect_http=False),
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "grafana", "namespace": NAMESPACE, "annotations": annotations},
        "spec": {
            "ingressClassName": "alb",
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": GRAFANA_SERVICE, "port": {"number": 80}}},
                            }
                        ]
                    }
                }
            ],
        },
    }


class Monitoring(pulumi.ComponentResource):
    # Where a person opens Grafana: the ALB's URL, or http://localhost:3000 through grafana_port_forward.
    grafana_url: pulumi.Output[str]
    grafana_port_forward: pulumi.Output[str]
    grafana_admin_password: pulumi.Output[str]
    # The key Alertmanager sends (secret): the agent core's keys file needs its digest.
    alertmanager_api_key: pulumi.Output[str]
    # The Prometheus Operator's CRDs (ServiceMonitor) and Grafana exist once this release does.
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:monitoring:Monitoring", name, None, opts)
        cfg = args.config
        in_cluster = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.cluster_ready))

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            # node-exporter needs the host's network and PID namespaces: nothing stricter than privileged fits.
            metadata={
                "name": NAMESPACE,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "privileged",
                    "pod-security.kubernetes.io/warn": "baseline",
                },
            },
            # Deleting it deletes whatever claims are left in it, while the EBS CSI driver still runs.
            opts=pulumi.ResourceOptions.merge(
                in_cluster, pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(delete=DELETE_TIMEOUT))
            ),
        )
        password = random.RandomPassword(
            f"{name}-grafana-admin",
            length=32,
            special=False,  # Grafana reads it into an ini file; letters and digits avoid any quoting issue
            opts=pulumi.ResourceOptions(parent=self),
        )
        # RandomPassword's result is secret in the engine; say so here too, so no code path can unwrap it.
        secret_password: pulumi.Output[str] = pulumi.Output.secret(password.result)
        admin_secret = k8s.core.v1.Secret(
            f"{name}-grafana-secret",
            metadata={"name": GRAFANA_SECRET, "namespace": NAMESPACE},
            type="Opaque",
            string_data={"admin-user": "admin", "admin-password": secret_password},
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[namespace]),
        )

        self.alertmanager_api_key, alert_key = self._alertmanager_key(name, args.provider, namespace)

        METRICS_SERVER.release(
            f"{name}-metrics-server", release_name="metrics-server", namespace="kube-system", values={}, opts=in_cluster
        )
        stack = KUBE_PROMETHEUS_STACK.release(
            f"{name}-stack",
            release_name=RELEASE,
            namespace=NAMESPACE,
            values=stack_values(cfg, args.alert_webhook_url),
            opts=pulumi.ResourceOptions.merge(
                in_cluster,
                pulumi.ResourceOptions(
                    # The Alertmanager pods mount the key's Secret: it exists before they are scheduled.
                    depends_on=[namespace, admin_secret, alert_key],
                    custom_timeouts=pulumi.CustomTimeouts(delete=DELETE_TIMEOUT),
                ),
            ),
        )

        if cfg.grafana_exposure == "alb":
            manifest = grafana_ingress_manifest(cfg, args.vpc_cidr)
            controller = [args.ingress_controller] if args.ingress_controller else []
            ingress = k8s.networking.v1.Ingress(
                f"{name}-grafana-ingress",
                metadata=manifest["metadata"],
                spec=manifest["spec"],
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[stack, *controller]),
            )
            scheme = "https" if cfg.certificate_arn else "http"
            self.grafana_url = ingress.status.apply(lambda status: _ingress_url(scheme, status))
        else:
            # A ClusterIP Service has no address outside the cluster: the URL is the port-forward's.
            self.grafana_url = pulumi.Output.from_input(f"http://localhost:{GRAFANA_LOCAL_PORT}")
        self.grafana_port_forward = pulumi.Output.from_input(grafana_port_forward())
        self.grafana_admin_password = secret_password
        self.release = stack
        self.register_outputs(
            {
                "alertmanagerApiKey": self.alertmanager_api_key,
                "grafanaUrl": self.grafana_url,
                "grafanaPortForward": self.grafana_port_forward,
                "grafanaAdminPassword": self.grafana_admin_password,
            }
        )

    def _alertmanager_key(
        self, name: str, provider: k8s.Provider, namespace: pulumi.Resource
    ) -> tuple[pulumi.Output[str], pulumi.Resource]:
        """The key Alertmanager authenticates with (made as `python -m apps.agent_core.auth` makes keys: "awp_"
        and 43 random characters), and the Secret the Alertmanager pods mount it from."""
        generated = random.RandomPassword(
            f"{name}-alertmanager-api-key", length=43, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        key: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.concat("awp_", generated.result))
        secret = k8s.core.v1.Secret(
            f"{name}-alertmanager-key-secret",
            metadata={
                "name": alerting.SECRET_NAME,
                "namespace": NAMESPACE,
                "labels": {"app.kubernetes.io/part-of": PART_OF},
            },
            type="Opaque",
            string_data={alerting.SECRET_KEY: key},
            opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[namespace]),
        )
        return key, secret


def _ingress_url(scheme: str, status: k8s.networking.v1.outputs.IngressStatus | None) -> str:
    """The ALB's address; pulumi-kubernetes waits for it before the Ingress counts as created."""
    ingress = (status.load_balancer.ingress if status and status.load_balancer else None) or []
    if not ingress or not ingress[0].hostname:
        raise pulumi.RunError("the Grafana Ingress has no load balancer address; is the ALB controller running?")
    return f"{scheme}://{ingress[0].hostname}"
