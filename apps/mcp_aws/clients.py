"""The boto3 clients the AWS tools share: made once at start, reused for every call.

Endpoints are never set here. boto3 reads ``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>``
(``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, …) itself, which is how LocalStack, moto and the tests'
fake Bedrock stand in for AWS without a code path of their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    # Stub-only packages: the service images need not install them.
    from botocore.credentials import Credentials
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client

__all__ = [
    "BEDROCK_READ_TIMEOUT_SECONDS",
    "CONNECT_TIMEOUT_SECONDS",
    "MAX_ATTEMPTS",
    "READ_TIMEOUT_SECONDS",
    "USER_AGENT_SUFFIX",
    "AwsClients",
    "resolve_region",
]

# Both stay well under the server's per-tool timeout, so a hung connection surfaces as a
# botocore timeout (mapped to a message the model can act on) rather than a cancelled tool.
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 20.0
# Models take tens of seconds to write a long answer; the tool that calls Bedrock gets a
# longer timeout to match (see tools.py).
BEDROCK_READ_TIMEOUT_SECONDS = 60.0
# botocore's "standard" mode retries throttling and transient 5xx with jittered backoff;
# three attempts absorb a blip without stretching a call past the tool timeout.
MAX_ATTEMPTS = 3
USER_AGENT_SUFFIX = "agentic-workflows-platform/mcp-aws"
# Tools run in worker threads (the SDK's pool is 40 wide); a pool narrower than the calls in
# flight makes urllib3 open and throw away extra connections.
MAX_POOL_CONNECTIONS = 32


def resolve_region(
    default_region: str, environ: Mapping[str, str] | None = None, profile_region: str | None = None
) -> str:
    """``AWS_REGION``, then ``AWS_DEFAULT_REGION``, then the profile's region, then ``default_region``.

    botocore itself only reads ``AWS_DEFAULT_REGION``; ``AWS_REGION`` is what the other SDKs and
    EKS set, so it is honoured first.
    """
    env = os.environ if environ is None else environ
    for candidate in (env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION"), profile_region, default_region):
        if candidate and candidate.strip():
            return candidate.strip()
    raise ValueError("no AWS region: set AWS_REGION or pass a default region")


@dataclass(frozen=True)
class AwsClients:
    """One boto3 session and the clients made from it; thread-safe to share across tool calls."""

    region: str
    s3: S3Client
    glue: GlueClient
    bedrock_runtime: BedrockRuntimeClient
    _credentials: Credentials | None = field(repr=False)

    @classmethod
    def create(
        cls,
        default_region: str = "us-east-1",
        *,
        user_agent_suffix: str = USER_AGENT_SUFFIX,
        max_attempts: int = MAX_ATTEMPTS,
        session: boto3.Session | None = None,
    ) -> AwsClients:
        """Build the clients from the default credentials chain (Pod Identity in the cluster).

        Credentials are resolved here, once: botocore binds them to each client as it is made,
        so what ``credentials_available`` reports is what the clients will sign with. ``session``
        is for callers that already hold one (tests share parsed service models through it);
        a fresh session is made otherwise.
        """
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        # Sessions are not thread-safe, clients are: the session is used only here.
        session = session or boto3.Session()
        region = resolve_region(default_region, profile_region=session.region_name)
        config = Config(
            region_name=region,
            # "total_max_attempts" counts the first try; the older "max_attempts" key counts retries.
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            user_agent_extra=user_agent_suffix,
            max_pool_connections=MAX_POOL_CONNECTIONS,
        )
        bedrock_config = config.merge(Config(read_timeout=BEDROCK_READ_TIMEOUT_SECONDS))
        return cls(
            region=region,
            s3=session.client("s3", config=config),
            glue=session.client("glue", config=config),
            bedrock_runtime=session.client("bedrock-runtime", config=bedrock_config),
            _credentials=session.get_credentials(),
        )

    def credentials_available(self) -> bool:
        """Whether the chain found credentials at start; no network call, cheap enough for /ready.

        Refreshable credentials (Pod Identity, SSO) renew themselves inside botocore; a chain
        that found nothing at start stays empty, since the clients were bound to that result.
        """
        return self._credentials is not None
