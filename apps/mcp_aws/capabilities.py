"""What the AWS tools need: credentials from boto3's chain, found once at start (``AwsClients.create``).

Reading the result costs nothing: the chain ran when the clients were made, and botocore bound each client to
what it found, so a credential added later takes a restart to be used. That is what the setting says.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps.common.capabilities import Capability
from apps.mcp_aws.clients import AwsClients

__all__ = ["CREDENTIALS_SETTING", "AwsCapabilities"]

CREDENTIALS_SETTING = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (then restart the server)"


class AwsCapabilities:
    """A ``CapabilityCheck``: whether the server's clients hold credentials, for every AWS tool."""

    def __init__(self, clients: AwsClients, *, tools: Sequence[str]) -> None:
        self._clients = clients
        self._tools = tuple(tools)

    async def __call__(self) -> list[Capability]:
        found = self._clients.credentials_available()
        detail = (
            f"found by boto3's credential chain; region {self._clients.region}"
            if found
            else "none found by boto3's credential chain (environment, shared files, SSO, container or instance role)"
        )
        return [
            Capability(name="aws credentials", ok=found, detail=detail, setting=CREDENTIALS_SETTING, tools=self._tools)
        ]
