"""Upstream fact: how many pods a node of the managed (system) node group can hold, against how many the
program puts there.

Max pods per instance type with the VPC CNI and no prefix delegation is ENIs * (IPv4 per ENI - 1) + 2,
tabulated in aws/amazon-vpc-cni-k8s `misc/eni-max-pods.txt` (v1.22.0): t3.medium 17, t3.large 35, t3.xlarge
58, m5.large 29. The kubelet counts every pod against it, host-network DaemonSet pods included.

What must fit on the system nodes is whatever the program installs that does not wait for Karpenter's
NodePool (the EKS add-ons and the ALB controller, Karpenter itself: its chart, aws/karpenter-provider-aws
v1.14.1 charts/karpenter/values.yaml, keeps it off Karpenter nodes with `karpenter.sh/nodepool DoesNotExist`)
and, conservatively, the monitoring stack and the platform at their minimum replicas. Counted from the
program's own registrations: the add-ons it enables, the releases it installs with the values it passes,
and the chart defaults (cited per entry) where it passes none. A release or add-on this file does not
know fails the test, so the count cannot silently go stale.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.offline import ProgramRun
from tests.infra.support import HELM_RELEASE, k8s_objects_of, run_with

# aws/amazon-vpc-cni-k8s misc/eni-max-pods.txt (v1.22.0).
ENI_MAX_PODS = {"t3.medium": 17, "t3.large": 35, "t3.xlarge": 58, "m5.large": 29}

# EKS add-ons → (DaemonSet pods per node, other pods). aws-node, kube-proxy, eks-pod-identity-agent and
# ebs-csi-node are DaemonSets; CoreDNS runs 2 replicas on EKS; the EBS CSI controller 2
# (kubernetes-sigs/aws-ebs-csi-driver charts/aws-ebs-csi-driver/values.yaml `controller.replicaCount: 2`).
ADDON_PODS = {
    "vpc-cni": (1, 0),
    "kube-proxy": (1, 0),
    "eks-pod-identity-agent": (1, 0),
    "aws-ebs-csi-driver": (1, 2),
    "coredns": (0, 2),
}


def _get(values: dict[str, Any], path: tuple[str, ...], default: Any) -> Any:
    for key in path:
        if not isinstance(values, dict) or key not in values:
            return default
        values = values[key]
    return values


def _enabled(values: dict[str, Any], path: tuple[str, ...]) -> bool:
    return bool(_get(values, (*path, "enabled"), True))


def _kube_prometheus_stack(values: dict[str, Any]) -> tuple[int, int]:
    """kube-prometheus-stack 88.5.3 values.yaml: prometheusSpec.replicas 1, alertmanagerSpec.replicas 1, one
    operator, kube-state-metrics (subchart 8.4.0, replicas 1), Grafana (subchart 12.11.1, replicas 1), the
    node-exporter DaemonSet (subchart 4.56.1), and the admission webhook's create/patch hook Jobs (one pod at
    a time, during install and upgrade)."""
    pods = 1  # the operator
    pods += 1  # the webhook certificate Job's pod
    if _enabled(values, ("prometheus",)):
        pods += _get(values, ("prometheus", "prometheusSpec", "replicas"), 1)
    if _enabled(values, ("alertmanager",)):
        pods += _get(values, ("alertmanager", "alertmanagerSpec", "replicas"), 1)
    if _enabled(values, ("kubeStateMetrics",)):
        pods += _get(values, ("kube-state-metrics", "replicas"), 1)
    if _enabled(values, ("grafana",)):
        pods += _get(values, ("grafana", "replicas"), 1)
    per_node = 1 if _enabled(values, ("nodeExporter",)) else 0
    return per_node, pods


# Chart name (its last path segment) → (DaemonSet pods per node, other pods), from the values passed.
CHART_PODS: dict[str, Callable[[dict[str, Any]], tuple[int, int]]] = {
    # aws/karpenter-provider-aws v1.14.1 charts/karpenter/values.yaml `replicas: 2`; the CRD chart runs nothing.
    "karpenter": lambda v: (0, _get(v, ("replicas",), 2)),
    "karpenter-crd": lambda v: (0, 0),
    # kubernetes-sigs/aws-load-balancer-controller helm/aws-load-balancer-controller/values.yaml `replicaCount: 2`.
    "aws-load-balancer-controller": lambda v: (0, _get(v, ("replicaCount",), 2)),
    # kubernetes-sigs/metrics-server charts/metrics-server/values.yaml (3.13.1) `replicas: 1`.
    "metrics-server": lambda v: (0, _get(v, ("replicas",), 1)),
    "kube-prometheus-stack": _kube_prometheus_stack,
}


def _count(run: ProgramRun) -> tuple[int, int, int]:
    """(DaemonSet pods per node, system pods, platform pods at minimum replicas)."""
    per_node = system = 0
    for addon in run.of_type("aws:eks/addon:Addon"):
        name = addon.inputs["addonName"]
        assert name in ADDON_PODS, f"add-on {name} is new: add its pods to ADDON_PODS"
        daemon, pods = ADDON_PODS[name]
        per_node, system = per_node + daemon, system + pods
    for release in run.of_type(HELM_RELEASE):
        chart = release.inputs["chart"].rsplit("/", 1)[-1]
        assert chart in CHART_PODS, f"chart {chart} is new: add its pods to CHART_PODS"
        daemon, pods = CHART_PODS[chart](release.inputs.get("values") or {})
        per_node, system = per_node + daemon, system + pods
    autoscalers = {
        (h["metadata"]["namespace"], h["spec"]["scaleTargetRef"]["name"]): h["spec"]["minReplicas"]
        for h in k8s_objects_of(run, "HorizontalPodAutoscaler")
    }
    platform = 0
    for deployment in k8s_objects_of(run, "Deployment"):
        key = (deployment["metadata"]["namespace"], deployment["metadata"]["name"])
        platform += autoscalers.get(key, deployment["spec"]["replicas"])
    return per_node, system, platform


def _node_group(run: ProgramRun) -> tuple[int, int]:
    """(desired nodes, max pods of the smallest instance type the group may launch)."""
    (group,) = run.of_type("aws:eks/nodeGroup:NodeGroup")
    types = group.inputs["instanceTypes"]
    unknown = [t for t in types if t not in ENI_MAX_PODS]
    assert not unknown, f"add {unknown} from eni-max-pods.txt to ENI_MAX_PODS"
    return group.inputs["scalingConfig"]["desiredSize"], min(ENI_MAX_PODS[t] for t in types)


def _shortfalls(run: ProgramRun) -> list[str]:
    per_node, system, platform = _count(run)
    nodes, max_pods = _node_group(run)
    free = max_pods - per_node  # what a node holds besides its own DaemonSet pods
    problems = []
    # While one node is down or being replaced, the others carry every system pod.
    if (nodes - 1) * free < system:
        problems.append(f"{system} system pods do not fit on {nodes - 1} node(s) with {free} free slots each")
    # On the first `pulumi up`, nothing should have to wait for Karpenter's first launch.
    if nodes * free < system + platform:
        problems.append(f"{system + platform} pods do not fit on {nodes} node(s) with {free} free slots each")
    return problems


def test_the_system_node_group_holds_what_the_program_puts_on_it(update_run: ProgramRun) -> None:
    per_node, system, platform = _count(update_run)
    assert (per_node, system) == (5, 15)  # the figures the README and Pulumi.dev.yaml quote
    assert platform == 12  # six services, two replicas each at least
    assert _shortfalls(update_run) == []


@pytest.mark.parametrize("instance_type", ["t3.medium"])
def test_the_previous_default_was_too_small(instance_type: str) -> None:
    """Two t3.medium: 17 slots each, 12 after the DaemonSets; 15 system pods do not fit on the one left."""
    run = run_with({"nodeInstanceTypes": f'["{instance_type}"]'}, preview=False)
    assert run.error is None
    assert len(_shortfalls(run)) == 2
