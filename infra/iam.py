"""IAM documents as plain Python data, serialised with `Output.json_dumps`.

Never `aws.iam.get_policy_document`: it is an invoke, so under test mocks it returns whatever the mock
says, and the document the tests check would not be the one deployed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

__all__ = [
    "AwsContext",
    "aws_context",
    "document",
    "managed_policy_arn",
    "pod_identity_trust",
    "policy_json",
    "service_trust",
    "statement",
]

POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
VERSION = "2012-10-17"


@dataclass(frozen=True)
class AwsContext:
    """Where the stack deploys: needed to write ARNs that are exact rather than wildcarded."""

    region: str
    partition: str
    account_id: pulumi.Output[str]


def aws_context(region: str) -> AwsContext:
    partition = aws.get_partition().partition
    return AwsContext(region=region, partition=partition, account_id=aws.get_caller_identity_output().account_id)


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[pulumi.Input[str]] | pulumi.Input[str],
    *,
    effect: str = "Allow",
    condition: dict[str, dict[str, Any]] | None = None,
    principal: dict[str, Any] | str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"Sid": sid, "Effect": effect}
    if principal is not None:
        entry["Principal"] = principal
    entry["Action"] = list(actions)
    entry["Resource"] = list(resources) if isinstance(resources, list | tuple) else resources
    if condition:
        entry["Condition"] = condition
    return entry


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def policy_json(doc: dict[str, Any]) -> pulumi.Output[str]:
    """The document as JSON once every ARN inside it is known."""
    return pulumi.Output.json_dumps(doc)


def pod_identity_trust() -> dict[str, Any]:
    """EKS Pod Identity assumes the role and tags the session (namespace, service account, cluster)."""
    return service_trust(POD_IDENTITY_PRINCIPAL, ("sts:AssumeRole", "sts:TagSession"), sid="PodIdentity")


def service_trust(
    service: str, actions: Sequence[str] = ("sts:AssumeRole",), *, sid: str = "AssumeRole"
) -> dict[str, Any]:
    return document({"Sid": sid, "Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)})


def managed_policy_arn(partition: str, name: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"
