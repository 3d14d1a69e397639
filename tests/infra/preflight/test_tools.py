"""The local tool checks against fake `pulumi`, `aws` and `docker` scripts alone on PATH."""

from __future__ import annotations

import re

import pytest

from infra.offline import ROOT_DIR
from infra.preflight.checks_tools import (
    MIN_PULUMI,
    check_aws_cli,
    check_docker_buildx,
    check_docker_engine,
    check_pulumi,
)
from infra.preflight.commands import Version
from infra.preflight.findings import Status
from tests.infra.preflight.conftest import ToolBox


def test_current_tools_pass(tools: ToolBox) -> None:
    tools.all_good()
    findings = [check_pulumi(), check_aws_cli(), check_docker_engine(), check_docker_buildx()]
    assert [f.status for f in findings] == [Status.PASS] * 4, findings
    assert "3.272.0" in findings[0].found
    assert "linux/amd64" in findings[3].found


def test_minimum_pulumi_is_the_pinned_sdk() -> None:
    """The CLI minimum follows the SDK pin: bumping pulumi in requirements.txt must bump MIN_PULUMI too."""
    pinned = re.search(r"^pulumi==(\S+)$", (ROOT_DIR / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned is not None
    assert Version.parse(pinned.group(1)) == MIN_PULUMI


def test_missing_tools_fail_with_install_instructions(tools: ToolBox) -> None:
    pulumi, aws, engine, buildx = check_pulumi(), check_aws_cli(), check_docker_engine(), check_docker_buildx()
    assert {f.status for f in (pulumi, aws, engine, buildx)} == {Status.FAIL}
    assert "not on PATH" in pulumi.found and pulumi.fix and "get.pulumi.com" in pulumi.fix
    assert "aws eks get-token" in aws.found and aws.fix and "getting-started-install" in aws.fix
    assert engine.fix and "docs.docker.com/engine/install" in engine.fix


def test_old_pulumi_fails(tools: ToolBox) -> None:
    tools.pulumi("3.150.2")
    finding = check_pulumi()
    assert finding.status is Status.FAIL
    assert "3.150.2 is older than 3.272.0" in finding.found
    assert finding.fix and finding.fix.startswith("pulumi self-update")


def test_aws_cli_minimum_depends_on_its_major_version(tools: ToolBox) -> None:
    """v1 prints its version on stderr and is new enough from 1.24.0; v2 from 2.7.0."""
    tools.aws("1.23.9")
    old_v1 = check_aws_cli()
    tools.aws("1.45.11")
    new_v1 = check_aws_cli()
    tools.aws("2.6.4")
    old_v2 = check_aws_cli()
    assert (old_v1.status, new_v1.status, old_v2.status) == (Status.FAIL, Status.PASS, Status.FAIL)
    assert "1.23.9 is older than 1.24.0" in old_v1.found
    assert "2.6.4 is older than 2.7.0" in old_v2.found


def test_unreachable_docker_engine_fails_with_how_to_start_it(tools: ToolBox) -> None:
    tools.docker(engine=None)
    finding = check_docker_engine()
    assert finding.status is Status.FAIL
    assert "Cannot connect to the Docker daemon" in finding.found
    assert finding.fix and "systemctl start docker" in finding.fix


def test_old_docker_engine_fails(tools: ToolBox) -> None:
    tools.docker(engine="20.10.24")
    finding = check_docker_engine()
    assert finding.status is Status.FAIL and "20.10.24 is older than 23.0.0" in finding.found


def test_missing_or_old_buildx_fails(tools: ToolBox) -> None:
    tools.docker(buildx=None)
    missing = check_docker_buildx()
    tools.docker(buildx="0.9.1")
    old = check_docker_buildx()
    assert missing.status is Status.FAIL and missing.fix and "docker-buildx-plugin" in missing.fix
    assert old.status is Status.FAIL and "0.9.1 is older than 0.10.0" in old.found


def test_builder_without_amd64_fails_with_the_qemu_fix(tools: ToolBox) -> None:
    tools.docker(platforms="linux/arm64, linux/arm/v7")
    finding = check_docker_buildx()
    assert finding.status is Status.FAIL
    assert "cannot build linux/amd64" in finding.found and "linux/arm64" in finding.found
    assert finding.fix and "tonistiigi/binfmt --install amd64" in finding.fix


def test_builder_not_started_is_a_warning(tools: ToolBox) -> None:
    """A docker-container builder that was never booted lists no platforms: unknown, not wrong."""
    tools.docker(platforms="")
    finding = check_docker_buildx()
    assert finding.status is Status.WARN
    assert finding.fix and "docker buildx inspect --bootstrap" in finding.fix


def test_a_tool_that_hangs_is_reported_not_waited_for(tools: ToolBox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("infra.preflight.commands.COMMAND_TIMEOUT_SECONDS", 0.5)
    tools.script("pulumi", "exec /bin/sleep 30\n")
    finding = check_pulumi()
    assert finding.status is Status.FAIL
    assert "did not answer within 0.5 s" in finding.found


def test_version_parsing() -> None:
    assert Version.parse("v3.272.0") == Version(3, 272, 0)
    assert Version.parse("aws-cli/2.27.50 Python/3.13.7") == Version(2, 27, 50)
    assert Version.parse("github.com/docker/buildx v0.26.1 1a2b") == Version(0, 26, 1)
    assert Version.parse("23.0") == Version(23, 0, 0)
    assert Version.parse("no digits") is None
    assert Version(0, 9, 1) < Version(0, 10, 0)  # numeric, not textual, order
