"""The AWS Load Balancer Controller: its published IAM policy through Pod Identity, and its Helm release.

The policy is vendored (infra/policies/aws-load-balancer-controller-v<version>.json) for the exact chart
version in infra/charts.py: the controller's needs change between releases, and a policy fetched at
deploy time would be neither reviewed nor reproducible.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.charts import ALB_CONTROLLER
from infra.identities import ALB_CONTROLLER as SERVICE_ACCOUNT
from infra.pod_identity import PodIdentityRole, PodIdentityRoleArgs

__all__ = ["POLICY_FILE", "SERVICE_MUTATOR_WEBHOOK_VALUE", "AlbController", "AlbControllerArgs", "controller_policy"]

# The chart value that registers the `mservice.elbv2.k8s.aws` webhook (helm/aws-load-balancer-controller,
# templates/webhook.yaml, chart 3.5.0); tests/infra/test_upstream_alb_webhook.py holds the upstream facts.
SERVICE_MUTATOR_WEBHOOK_VALUE = "enableServiceMutatorWebhook"
POLICY_FILE = Path(__file__).parent / "policies" / f"aws-load-balancer-controller-v{ALB_CONTROLLER.version}.json"


def controller_policy(partition: str) -> dict[str, Any]:
    """The vendored policy; its ARNs say `arn:aws:`, rewritten for other partitions (China, GovCloud)."""
    text = POLICY_FILE.read_text()
    document: dict[str, Any] = json.loads(text.replace("arn:aws:", f"arn:{partition}:"))
    return document


@dataclass
class AlbControllerArgs:
    cluster_name: str
    cluster: pulumi.Input[str]
    partition: str
    region: str
    vpc_id: pulumi.Input[str]
    provider: k8s.Provider
    cluster_ready: Sequence[pulumi.Resource]


class AlbController(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: AlbControllerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:alb:AlbController", name, None, opts)
        role = PodIdentityRole(
            name,
            PodIdentityRoleArgs(
                cluster_name=args.cluster,
                service_account=SERVICE_ACCOUNT,
                policy=json.dumps(controller_policy(args.partition)),
                description=f"AWS Load Balancer Controller ({SERVICE_ACCOUNT})",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = ALB_CONTROLLER.release(
            f"{name}-release",
            release_name="aws-load-balancer-controller",
            namespace=SERVICE_ACCOUNT.namespace,
            values={
                # Set explicitly: discovering them needs IMDS, which the nodes' hop limit denies to pods.
                "clusterName": args.cluster_name,
                "region": args.region,
                "vpcId": args.vpc_id,
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT.name},
                # On by default in the chart: a Service-mutating webhook (failurePolicy Fail, every namespace)
                # that rejects every Service created while the controller's pods are still starting, so
                # the other charts and the platform's Services raced it. It only makes this controller the
                # default for Services of type LoadBalancer, and there are none here.
                SERVICE_MUTATOR_WEBHOOK_VALUE: False,
            },
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[role, *args.cluster_ready]),
        )
        self.role_arn = role.role_arn
        self.register_outputs({"roleArn": self.role_arn, "releaseName": self.release.name})
