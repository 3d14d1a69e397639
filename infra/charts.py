"""Every Helm chart the program installs, pinned in one place.

Versions are exact so a `pulumi up` next month installs what was reviewed today. Bumping the AWS Load
Balancer Controller also means replacing its vendored IAM policy (infra/policies/), which is pinned to
the same version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

__all__ = ["ALB_CONTROLLER", "KARPENTER", "KARPENTER_CRD", "KUBE_PROMETHEUS_STACK", "METRICS_SERVER", "HelmChart"]


@dataclass(frozen=True)
class HelmChart:
    chart: str
    version: str
    repo: str | None = None  # None for OCI charts, whose reference is the chart itself

    def release(
        self,
        resource_name: str,
        *,
        release_name: str,
        namespace: str,
        values: dict[str, Any],
        opts: pulumi.ResourceOptions,
        skip_crds: bool = False,
        create_namespace: bool = False,
    ) -> k8s.helm.v3.Release:
        return k8s.helm.v3.Release(
            resource_name,
            # A fixed release name: the chart's object names (and ServiceMonitor selectors) derive from it.
            name=release_name,
            chart=self.chart,
            version=self.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=self.repo) if self.repo else None,
            namespace=namespace,
            create_namespace=create_namespace,
            values=values,
            skip_crds=skip_crds,
            # Roll back a failed upgrade instead of leaving a half-applied release behind.
            atomic=True,
            cleanup_on_fail=True,
            timeout=900,
            opts=opts,
        )


# aws/karpenter-provider-aws v1.14.1 (supports Kubernetes up to 1.36). The CRDs come from their own chart
# because Helm never upgrades the CRDs in a chart's crds/ folder.
KARPENTER = HelmChart("oci://public.ecr.aws/karpenter/karpenter", "1.14.1")
KARPENTER_CRD = HelmChart("oci://public.ecr.aws/karpenter/karpenter-crd", "1.14.1")
# kubernetes-sigs/aws-load-balancer-controller v3.5.0 (chart 3.5.0).
ALB_CONTROLLER = HelmChart("aws-load-balancer-controller", "3.5.0", "https://aws.github.io/eks-charts")
METRICS_SERVER = HelmChart("metrics-server", "3.13.1", "https://kubernetes-sigs.github.io/metrics-server/")
KUBE_PROMETHEUS_STACK = HelmChart(
    "kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts"
)
