"""boto3 clients for the stack's region, bounded in time.

Endpoints come from boto3's own configuration (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, profiles), never
from here, so moto or a local stand-in can take AWS's place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_service_quotas import ServiceQuotasClient
    from mypy_boto3_sts import STSClient

__all__ = ["CLIENT_CONFIG", "AwsClients"]

# Each call gives up after seconds, not minutes: two attempts (one retry) with short timeouts, so an
# unreachable endpoint costs a check at most ~30 s and never blocks the preflight.
CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=10,
    retries={"max_attempts": 2, "mode": "standard"},
)


@dataclass(frozen=True)
class AwsClients:
    """One client per service the preflight reads, all in the stack's region."""

    region: str
    sts: STSClient
    ec2: EC2Client
    iam: IAMClient
    eks: EKSClient
    bedrock: BedrockClient
    quotas: ServiceQuotasClient

    @classmethod
    def for_region(cls, region: str) -> AwsClients:
        # Clients are made here, in one thread: a boto3 Session is not safe to share while it creates them;
        # the clients themselves are.
        session = boto3.Session(region_name=region)
        return cls(
            region=region,
            sts=session.client("sts", config=CLIENT_CONFIG),
            ec2=session.client("ec2", config=CLIENT_CONFIG),
            iam=session.client("iam", config=CLIENT_CONFIG),
            eks=session.client("eks", config=CLIENT_CONFIG),
            bedrock=session.client("bedrock", config=CLIENT_CONFIG),
            quotas=session.client("service-quotas", config=CLIENT_CONFIG),
        )
