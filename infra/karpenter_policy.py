"""Karpenter's IAM: the controller policy and the interruption queue's policy.

Scoped as the terraform-aws-modules/eks `karpenter` module scopes them (modules/karpenter/policy.tf):
launches only from launch templates and into resources tagged for this cluster and a NodePool, deletion
only of what carries those tags, `iam:PassRole` only for the node role, instance profiles only when
tagged for this cluster, region and an EC2NodeClass.
"""

from __future__ import annotations

from typing import Any

import pulumi

from infra.iam import AwsContext, document, statement

__all__ = ["controller_policy", "queue_policy"]


def controller_policy(
    ctx: AwsContext,
    cluster_name: str,
    node_role_arn: pulumi.Input[str],
    queue_arn: pulumi.Input[str],
) -> dict[str, Any]:
    ec2 = f"arn:{ctx.partition}:ec2:{ctx.region}"
    iam_profiles = pulumi.Output.concat(f"arn:{ctx.partition}:iam::", ctx.account_id, ":instance-profile/*")
    cluster_arn = pulumi.Output.concat(
        f"arn:{ctx.partition}:eks:{ctx.region}:", ctx.account_id, f":cluster/{cluster_name}"
    )
    owned = f"kubernetes.io/cluster/{cluster_name}"
    launched = [
        f"{ec2}:*:{kind}/*"
        for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")
    ]
    request_tags = {
        "StringEquals": {f"aws:RequestTag/{owned}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster_name},
        "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"},
    }
    resource_tags = {
        "StringEquals": {f"aws:ResourceTag/{owned}": "owned"},
        "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
    }
    profile_resource = {
        f"aws:ResourceTag/{owned}": "owned",
        "aws:ResourceTag/topology.kubernetes.io/region": ctx.region,
    }
    profile_request = {
        f"aws:RequestTag/{owned}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
        "aws:RequestTag/topology.kubernetes.io/region": ctx.region,
    }
    return document(
        statement(
            "AllowScopedEC2InstanceAccessActions",
            ["ec2:RunInstances", "ec2:CreateFleet"],
            [f"{ec2}::image/*", f"{ec2}::snapshot/*"]
            + [f"{ec2}:*:{kind}/*" for kind in ("security-group", "subnet", "capacity-reservation", "placement-group")],
        ),
        statement(
            "AllowScopedEC2LaunchTemplateAccessActions",
            ["ec2:RunInstances", "ec2:CreateFleet"],
            [f"{ec2}:*:launch-template/*"],
            condition=resource_tags,
        ),
        statement(
            "AllowScopedEC2InstanceActionsWithTags",
            ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            [*launched, f"{ec2}:*:capacity-reservation/*"],
            condition=request_tags,
        ),
        statement(
            "AllowScopedResourceCreationTagging",
            ["ec2:CreateTags"],
            launched,
            condition={
                "StringEquals": {
                    **request_tags["StringEquals"],
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": request_tags["StringLike"],
            },
        ),
        statement(
            "AllowScopedResourceTagging",
            ["ec2:CreateTags"],
            [f"{ec2}:*:instance/*"],
            condition={
                **resource_tags,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        ),
        statement(
            "AllowScopedDeletion",
            ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            condition=resource_tags,
        ),
        statement(
            "AllowRegionalReadActions",
            [
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
                "ec2:DescribePlacementGroups",
            ],
            "*",
            condition={"StringEquals": {"aws:RequestedRegion": ctx.region}},
        ),
        statement(
            "AllowSSMReadActions",
            ["ssm:GetParameter"],
            [f"arn:{ctx.partition}:ssm:{ctx.region}::parameter/aws/service/*"],
        ),
        # The Price List API has no resource-level permissions.
        statement("AllowPricingReadActions", ["pricing:GetProducts"], "*"),
        statement("AllowZonalShiftReadActions", ["arc-zonal-shift:GetManagedResource"], [cluster_arn]),
        statement(
            "AllowInterruptionQueueActions", ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], [queue_arn]
        ),
        statement(
            "AllowPassingInstanceRole",
            ["iam:PassRole"],
            [node_role_arn],
            condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        ),
        statement(
            "AllowScopedInstanceProfileCreationActions",
            ["iam:CreateInstanceProfile"],
            [iam_profiles],
            condition={
                "StringEquals": profile_request,
                "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        ),
        statement(
            "AllowScopedInstanceProfileTagActions",
            ["iam:TagInstanceProfile"],
            [iam_profiles],
            condition={
                "StringEquals": {**profile_resource, **profile_request},
                "StringLike": {
                    "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                    "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*",
                },
            },
        ),
        statement(
            "AllowScopedInstanceProfileActions",
            ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
            [iam_profiles],
            condition={
                "StringEquals": profile_resource,
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        ),
        statement("AllowInstanceProfileReadActions", ["iam:GetInstanceProfile"], [iam_profiles]),
        statement("AllowUnscopedInstanceProfileListAction", ["iam:ListInstanceProfiles"], "*"),
        statement("AllowAPIServerEndpointDiscovery", ["eks:DescribeCluster"], [cluster_arn]),
    )


def queue_policy(queue_arn: pulumi.Input[str]) -> dict[str, Any]:
    """EventBridge (and SQS itself) may send; nobody may use the queue without TLS."""
    return document(
        statement(
            "SqsWrite",
            ["sqs:SendMessage"],
            [queue_arn],
            principal={"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
        ),
        statement(
            "DenyHTTP",
            ["sqs:*"],
            [queue_arn],
            effect="Deny",
            principal="*",
            condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
    )
