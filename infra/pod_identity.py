"""One IAM role for one Kubernetes service account, through EKS Pod Identity.

The role trusts only `pods.eks.amazonaws.com`; which pods may use it is decided by the single
`PodIdentityAssociation` made here (cluster, namespace, service account). No OIDC provider is needed, and
the service account needs no annotation: whoever later creates it just has to use the same name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.iam import pod_identity_trust
from infra.identities import ServiceAccountRef

__all__ = ["PodIdentityRole", "PodIdentityRoleArgs"]


@dataclass
class PodIdentityRoleArgs:
    cluster_name: pulumi.Input[str]
    service_account: ServiceAccountRef
    # An inline policy document as JSON (see infra.iam.policy_json); None for managed policies only.
    policy: pulumi.Input[str] | None = None
    managed_policy_arns: Sequence[str] = field(default_factory=tuple)
    description: str = ""


class PodIdentityRole(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]
    service_account: ServiceAccountRef

    def __init__(self, name: str, args: PodIdentityRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("agentic:iam:PodIdentityRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = args.service_account

        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(pod_identity_trust()),
            description=args.description or f"EKS Pod Identity role for {account}",
            # Pod Identity sessions are short-lived; the default hour is plenty.
            max_session_duration=3600,
            tags={"eks-pod-identity/service-account": str(account).replace("/", ".")},
            opts=child,
        )
        grants: list[pulumi.Resource] = []
        if args.policy is not None:
            grants.append(aws.iam.RolePolicy(f"{name}-policy", role=role.name, policy=args.policy, opts=child))
        for arn in args.managed_policy_arns:
            grants.append(
                aws.iam.RolePolicyAttachment(
                    f"{name}-{_slug(arn.rsplit('/', 1)[-1])}", role=role.name, policy_arn=arn, opts=child
                )
            )
        association = aws.eks.PodIdentityAssociation(
            f"{name}-association",
            cluster_name=args.cluster_name,
            namespace=account.namespace,
            service_account=account.name,
            role_arn=role.arn,
            # Pods that get credentials should get all their permissions at once.
            opts=pulumi.ResourceOptions(parent=self, depends_on=grants),
        )

        self.role_arn = role.arn
        self.role_name = role.name
        self.association_id = association.association_id
        self.service_account = account
        self.register_outputs(
            {
                "roleArn": self.role_arn,
                "namespace": account.namespace,
                "serviceAccount": account.name,
                "associationId": self.association_id,
            }
        )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
