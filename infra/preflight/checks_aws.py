"""The account-level facts `pulumi up` depends on: credentials, zones, the Spot service-linked role, the EKS version.

Every call is a read (sts:GetCallerIdentity, ec2:DescribeAvailabilityZones, iam:GetRole, eks:DescribeClusterVersions).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from infra.preflight.findings import Finding, describe_error

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_eks.type_defs import ClusterVersionInformationTypeDef
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sts import STSClient

__all__ = [
    "SPOT_ROLE_NAME",
    "check_credentials",
    "check_kubernetes_version",
    "check_spot_role",
    "check_zones",
    "usable_zones",
]

SPOT_ROLE_NAME = "AWSServiceRoleForEC2Spot"
SPOT_ROLE_FIX = "aws iam create-service-linked-role --aws-service-name spot.amazonaws.com"
_CREDENTIALS_FIX = (
    "configure credentials for the target account: aws configure  (or aws sso login --profile <name> and "
    "export AWS_PROFILE=<name>), then check with aws sts get-caller-identity"
)


def check_credentials(sts: STSClient) -> tuple[Finding, str | None]:
    """The caller's identity, and the account id when there is one."""
    name = "aws-credentials"
    try:
        identity = sts.get_caller_identity()
    except NoCredentialsError:
        return Finding.failed(name, "no AWS credentials were found", _CREDENTIALS_FIX), None
    except (ClientError, BotoCoreError) as exc:
        return Finding.failed(name, f"the credentials were refused: {describe_error(exc)}", _CREDENTIALS_FIX), None
    account = identity.get("Account")
    return Finding.passed(name, f"account {account} as {identity.get('Arn')}"), account


def usable_zones(ec2: EC2Client) -> list[str]:
    """The zones the program may use, in the order it takes them (infra/network.py `_zones`).

    The program asks for `state=available` and `opt-in-status=opt-in-not-required`; the opt-in status is
    checked here on each zone rather than as a server-side filter, with the same result.
    """
    zones = ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])["AvailabilityZones"]
    return sorted(
        zone["ZoneName"]
        for zone in zones
        if "ZoneName" in zone and zone.get("OptInStatus", "opt-in-not-required") == "opt-in-not-required"
    )


def check_zones(ec2: EC2Client, az_count: int, stack: str) -> Finding:
    name = "availability-zones"
    zones = usable_zones(ec2)
    if len(zones) < az_count:
        fix = (
            f"pulumi config set agentic-platform:azCount {len(zones)} --stack {stack}"
            if len(zones) >= 2
            else "choose a region with at least two availability zones (pulumi config set aws:region <region>)"
        )
        return Finding.failed(
            name, f"the region has {len(zones)} usable zones ({', '.join(zones) or 'none'}); azCount is {az_count}", fix
        )
    return Finding.passed(name, f"{len(zones)} usable zones; the stack uses {', '.join(zones[:az_count])}")


def check_spot_role(iam: IAMClient, capacity_types: Sequence[str], created_by_program: bool, stack: str) -> Finding:
    """EC2 refuses Spot launches (Karpenter's spot capacity) until this account-wide service-linked role exists.

    With `createSpotServiceLinkedRole: true` the stack creates it (infra/karpenter.py), and IAM refuses to create
    it a second time, so then it must not exist yet.
    """
    name = "spot-service-linked-role"
    knob = "agentic-platform:createSpotServiceLinkedRole"
    if "spot" not in capacity_types:
        return Finding.passed(name, "not needed: karpenterCapacityTypes does not include spot")
    try:
        iam.get_role(RoleName=SPOT_ROLE_NAME)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise
        if created_by_program:
            return Finding.passed(name, f"{SPOT_ROLE_NAME} does not exist yet; the stack creates it ({knob})")
        return Finding.failed(
            name,
            f"{SPOT_ROLE_NAME} does not exist, so EC2 would refuse Karpenter's Spot launches",
            f"{SPOT_ROLE_FIX}  (once per account; or pulumi config set {knob} true --stack {stack})",
        )
    if created_by_program:
        return Finding.failed(
            name,
            f"{SPOT_ROLE_NAME} exists already, and the stack would try to create it again ({knob} is true)",
            f"pulumi config set {knob} false --stack {stack}",
        )
    return Finding.passed(name, f"{SPOT_ROLE_NAME} exists")


def check_kubernetes_version(eks: EKSClient, version: str, stack: str, now: datetime | None = None) -> Finding:
    name = "eks-version"
    now = now or datetime.now(UTC)
    offered = eks.describe_cluster_versions(clusterVersions=[version], includeAll=True)["clusterVersions"]
    info = next((v for v in offered if v.get("clusterVersion") == version), None)
    status = _support_status(info) if info is not None else None
    if info is None or status == "UNSUPPORTED":
        newest = _newest_standard_version(eks)
        target = newest or "<a version in standard support>"
        found = (
            f"EKS in this region does not offer Kubernetes {version}"
            if info is None
            else f"Kubernetes {version} is no longer supported by EKS"
        )
        return Finding.failed(
            name,
            found + (f"; the newest in standard support is {newest}" if newest else ""),
            f"pulumi config set agentic-platform:kubernetesVersion {target} --stack {stack}",
        )
    end = info.get("endOfStandardSupportDate")
    if status == "EXTENDED_SUPPORT" or (end is not None and end <= now):
        newest = _newest_standard_version(eks) or "<a version in standard support>"
        return Finding.warned(
            name,
            f"Kubernetes {version} is past the end of standard support"
            + (f" ({end:%Y-%m-%d})" if end else "")
            + ": EKS bills extended support for it",
            f"pulumi config set agentic-platform:kubernetesVersion {newest} --stack {stack}",
        )
    until = f" until {end:%Y-%m-%d}" if end else ""
    return Finding.passed(name, f"Kubernetes {version} is in standard support{until}")


def _support_status(info: ClusterVersionInformationTypeDef) -> str:
    # `status` is the deprecated spelling of `versionStatus` (lower-case values) in the service model.
    if "versionStatus" in info:
        return str(info["versionStatus"])
    return str(info.get("status", "")).upper().replace("-", "_")


def _newest_standard_version(eks: EKSClient) -> str | None:
    try:
        listed = eks.describe_cluster_versions(versionStatus="STANDARD_SUPPORT")["clusterVersions"]
    except (ClientError, BotoCoreError):
        return None
    versions = [
        v["clusterVersion"] for v in listed if "clusterVersion" in v and _support_status(v) == "STANDARD_SUPPORT"
    ]
    return max(versions, key=lambda text: tuple(int(part) for part in text.split(".")), default=None)
