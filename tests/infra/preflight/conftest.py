"""The preflight's stand-ins: fake CLI tools on a private PATH, a stack file to vary, and an AWS made of
moto (STS, EC2, IAM, Service Quotas) plus local endpoints for what moto lacks (Bedrock's control plane,
EKS DescribeClusterVersions), all reached through boto3's standard AWS_ENDPOINT_URL variables."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from infra.offline import ROOT_DIR
from infra.preflight.checks_aws import SPOT_ROLE_NAME
from tests.support.fake_bedrock_control import (
    FakeBedrockControl,
    FoundationModel,
    InferenceProfile,
    run_fake_bedrock_control,
)
from tests.support.fake_eks_versions import ClusterVersion, FakeEksVersions, dated, run_fake_eks_versions

MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"
PROFILE = f"us.{MODEL}"
ACCOUNT = "123456789012"  # moto's default account
STANDARD_VERSIONS = [
    ClusterVersion("1.33", "EXTENDED_SUPPORT", dated(2026, 7, 29), dated(2027, 7, 29)),
    ClusterVersion("1.34", "STANDARD_SUPPORT", dated(2026, 12, 2), dated(2027, 12, 2)),
    ClusterVersion("1.35", "STANDARD_SUPPORT", dated(2027, 3, 27), dated(2028, 3, 27), default=True),
    ClusterVersion("1.29", "UNSUPPORTED", dated(2025, 3, 23), dated(2026, 3, 23)),
]


@dataclass
class ToolBox:
    """Tiny shell scripts standing in for pulumi, aws and docker, alone on PATH."""

    bin: Path

    def script(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def remove(self, name: str) -> None:
        (self.bin / name).unlink(missing_ok=True)

    def pulumi(self, version: str = "3.272.0") -> None:
        self.script("pulumi", f'[ "$1" = version ] && echo "v{version}" && exit 0\nexit 2\n')

    def aws(self, version: str = "2.27.50") -> None:
        line = f"aws-cli/{version} Python/3.13.7 Linux/6.8.0 exe/x86_64.ubuntu.24"
        # v1 prints its version on stderr.
        target = ">&2" if version.startswith("1.") else ""
        self.script("aws", f'[ "$1" = --version ] && echo "{line}" {target} && exit 0\nexit 2\n')

    def docker(
        self,
        engine: str | None = "28.3.3",
        buildx: str | None = "0.26.1",
        platforms: str = "linux/amd64, linux/amd64/v2, linux/386",
    ) -> None:
        engine_answer = (
            f'echo "{engine}"; exit 0'
            if engine
            else 'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1'
        )
        buildx_answer = (
            f'echo "github.com/docker/buildx v{buildx} 1a2b3c4"; exit 0'
            if buildx
            else "echo \"docker: 'buildx' is not a docker command.\" >&2; exit 1"
        )
        inspect = "Name:   default\\nDriver: docker\\n\\nNodes:\\nName:      default\\nStatus:    running\\n"
        if platforms:
            inspect += f"Platforms: {platforms}\\n"
        self.script(
            "docker",
            f'if [ "$1" = version ]; then {engine_answer}; fi\n'
            f'if [ "$1 $2" = "buildx version" ]; then {buildx_answer}; fi\n'
            f'if [ "$1 $2" = "buildx inspect" ]; then printf "{inspect}"; exit 0; fi\n'
            "exit 2\n",
        )

    def all_good(self) -> None:
        self.pulumi()
        self.aws()
        self.docker()


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ToolBox:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return ToolBox(folder)


def write_stack(folder: Path, region: str = "us-west-2", **overrides: Any) -> Path:
    """Pulumi.dev.yaml with the model keys pinned for the fakes, and `overrides` (short keys) applied."""
    document = yaml.safe_load((ROOT_DIR / "Pulumi.dev.yaml").read_text())
    config = document["config"]
    config["aws:region"] = region
    config["agentic-platform:bedrockModelArns"] = [
        f"arn:aws:bedrock:{region}:{ACCOUNT}:inference-profile/{PROFILE}",
        *(f"arn:aws:bedrock:{r}::foundation-model/{MODEL}" for r in ("us-east-1", "us-east-2", "us-west-2")),
    ]
    config["agentic-platform:bedrockModelId"] = PROFILE
    for key, value in overrides.items():
        config[key if ":" in key else f"agentic-platform:{key}"] = value
    path = folder / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture
def bedrock_control() -> Iterator[FakeBedrockControl]:
    with run_fake_bedrock_control() as fake:
        fake.add_model(FoundationModel(MODEL, inference_types=("INFERENCE_PROFILE",)))
        fake.add_profile(InferenceProfile(PROFILE, MODEL))
        yield fake


@pytest.fixture
def eks_versions() -> Iterator[FakeEksVersions]:
    with run_fake_eks_versions(STANDARD_VERSIONS) as fake:
        yield fake


@pytest.fixture
def spot_role(aws_env: str) -> Iterator[None]:
    """The Spot service-linked role as AWS names it (moto's create_service_linked_role names it otherwise)."""
    iam = boto3.client("iam")
    iam.create_role(
        RoleName=SPOT_ROLE_NAME,
        Path="/aws-service-role/spot.amazonaws.com/",
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Principal":{"Service":"spot.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
    )
    try:
        yield
    finally:
        iam.delete_role(RoleName=SPOT_ROLE_NAME)


@pytest.fixture
def aws_world(
    aws_env: str,
    bedrock_control: FakeBedrockControl,
    eks_versions: FakeEksVersions,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """moto for most services; the two local endpoints for Bedrock's control plane and EKS versions."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", bedrock_control.base_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", eks_versions.base_url)
    return {key: value for key, value in os.environ.items() if key.startswith("AWS_")}
