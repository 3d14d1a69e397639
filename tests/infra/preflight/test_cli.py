"""`python -m infra.preflight` end to end: the real process against the stand-ins, its exit status, its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from infra.offline import ROOT_DIR
from infra.preflight.__main__ import main
from infra.preflight.findings import Report, Status
from infra.preflight.run import run_preflight
from tests.infra.preflight.conftest import ToolBox, write_stack
from tests.support.fake_bedrock_control import FakeBedrockControl
from tests.support.fake_eks_versions import FakeEksVersions
from tests.support.net import free_port

ALL_CHECKS = [
    "stack-config",
    "pulumi-cli",
    "aws-cli",
    "docker-engine",
    "docker-buildx",
    "aws-credentials",
    "availability-zones",
    "bedrock-model",
    "spot-service-linked-role",
    "eks-version",
    "quota-vpcs",
    "quota-internet-gateways",
    "quota-nat-gateways",
    "quota-elastic-ips",
]


def run_process(*args: str) -> subprocess.CompletedProcess[str]:
    """As `make preflight` runs it: its own interpreter, from the repository root, the test's environment."""
    env = {**os.environ, "PYTHONPATH": str(ROOT_DIR)}
    return subprocess.run(
        [sys.executable, "-m", "infra.preflight", *args],
        cwd=ROOT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def account_state() -> dict[str, object]:
    """What a preflight must leave as it found it."""
    ec2, iam = boto3.client("ec2", region_name="us-west-2"), boto3.client("iam")
    return {
        "vpcs": sorted(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]),
        "addresses": sorted(a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]),
        "gateways": sorted(g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]),
        "nat": sorted(n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"]),
        "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"]),
    }


def test_ready_stack_passes_every_check_and_changes_nothing(
    tools: ToolBox,
    aws_world: dict[str, str],
    spot_role: None,
    bedrock_control: FakeBedrockControl,
    eks_versions: FakeEksVersions,
    tmp_path: Path,
) -> None:
    tools.all_good()
    stack = write_stack(tmp_path)
    before = account_state()

    result = run_process("--stack", "test", "--config-file", str(stack), "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    report = Report.model_validate_json(result.stdout)
    assert [f.name for f in report.findings] == ALL_CHECKS
    assert {f.status for f in report.findings} == {Status.PASS}, [f for f in report.findings if f.status != "pass"]
    assert (report.stack, report.region, report.account) == ("test", "us-west-2", "123456789012")
    assert all(f.fix is None for f in report.findings)
    assert account_state() == before
    assert {call.method for call in bedrock_control.calls} == {"GET"}
    assert eks_versions.queries, "the EKS version was not asked for"

    text = run_process("--stack", "test", "--config-file", str(stack))
    assert text.returncode == 0
    assert "0 failed, 0 warnings, 14 passed: ready for `pulumi up`." in text.stdout
    assert "PASS  bedrock-model" in text.stdout


def test_no_credentials_exit_1_and_say_how_to_configure_them(
    tools: ToolBox, aws_world: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tools.all_good()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    result = run_process("--config-file", str(write_stack(tmp_path)))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL  aws-credentials" in result.stdout
    assert "fix: configure credentials for the target account: aws configure" in result.stdout
    assert "were not run" in result.stdout
    assert "1 failed, 0 warnings, 5 passed: `pulumi up` would fail" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_each_failing_check_is_reported_with_its_fix_in_one_run(
    tools: ToolBox, aws_world: dict[str, str], bedrock_control: FakeBedrockControl, tmp_path: Path
) -> None:
    """Too many zones, an unsupported Kubernetes version, a missing Spot role, an old Pulumi: all in one report."""
    tools.all_good()
    tools.pulumi("3.100.0")
    stack = write_stack(tmp_path, azCount=5, kubernetesVersion="1.29", natGateways="perAz")

    report = run_preflight("test", stack)

    statuses = {f.name: f.status for f in report.findings}
    failed = {name for name, status in statuses.items() if status is Status.FAIL}
    assert failed == {"pulumi-cli", "availability-zones", "eks-version", "spot-service-linked-role"}, statuses
    fixes = {f.name: f.fix for f in report.findings}
    assert fixes["availability-zones"] == "pulumi config set agentic-platform:azCount 4 --stack test"
    assert fixes["eks-version"] == "pulumi config set agentic-platform:kubernetesVersion 1.35 --stack test"
    assert not report.ok


def test_invalid_config_fails_with_the_programs_own_message(
    tools: ToolBox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Validation is infra.config's: the same key-naming message `pulumi up` would print, and no AWS calls."""
    tools.all_good()
    stack = write_stack(tmp_path, kubernetesVersion="1.x", azCount=9)

    status = main(["--config-file", str(stack), "--json"])

    report = Report.model_validate_json(capsys.readouterr().out)
    assert status == 1
    config = report.findings[0]
    assert config.name == "stack-config" and config.status is Status.FAIL
    assert "agentic-platform:kubernetesVersion: '1.x' is malformed" in config.found
    assert "agentic-platform:azCount: must be between 2 and 6; got 9" in config.found
    assert [f.name for f in report.findings] == ALL_CHECKS[:5]


def test_missing_stack_file_names_the_stack(tools: ToolBox, capsys: pytest.CaptureFixture[str]) -> None:
    tools.all_good()
    assert main(["--stack", "no-such-stack"]) == 1
    out = capsys.readouterr().out
    assert "Pulumi.no-such-stack.yaml does not exist" in out
    assert "fix: pulumi stack init no-such-stack" in out


def test_warnings_alone_exit_0(
    tools: ToolBox, aws_world: dict[str, str], spot_role: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tools.all_good()
    tools.docker(platforms="")  # a builder not started yet: a warning
    assert main(["--config-file", str(write_stack(tmp_path))]) == 0
    assert "0 failed, 1 warnings, 13 passed: ready for `pulumi up`." in capsys.readouterr().out


def test_an_unreachable_endpoint_is_a_named_failure_not_a_traceback(
    tools: ToolBox, aws_world: dict[str, str], spot_role: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools.all_good()
    monkeypatch.setenv("AWS_ENDPOINT_URL_EKS", f"http://127.0.0.1:{free_port()}")  # nothing listens there

    report = run_preflight("test", write_stack(tmp_path))

    eks = next(f for f in report.findings if f.name == "eks-version")
    assert eks.status is Status.FAIL
    assert "the check itself failed: EndpointConnectionError" in eks.found
    assert eks.fix and "run the preflight again" in eks.fix
    others = [f for f in report.findings if f.name != "eks-version"]
    assert {f.status for f in others} == {Status.PASS}


def test_json_is_the_typed_report() -> None:
    schema = Report.model_json_schema()
    assert set(schema["required"]) >= {"stack", "config_file", "region", "account", "findings"}
    finding = Report.model_validate(
        {
            "stack": "dev",
            "config_file": "Pulumi.dev.yaml",
            "region": None,
            "account": None,
            "findings": [{"name": "x", "status": "warn", "found": "y", "fix": "z"}],
        }
    ).findings[0]
    assert finding.status is Status.WARN
    assert json.loads(finding.model_dump_json())["status"] == "warn"


@pytest.mark.parametrize("text", ["config: [unclosed", "config: [1, 2]\n", "- a list\n"])
def test_unreadable_stack_file_is_a_failure_not_a_traceback(
    tools: ToolBox, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    tools.all_good()
    stack = tmp_path / "Pulumi.broken.yaml"
    stack.write_text(text)
    assert main(["--config-file", str(stack)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  stack-config" in out and "Pulumi.broken.yaml is unreadable" in out
    assert f"fix: fix the YAML in {stack}" in out


def test_the_stack_creating_the_spot_role_makes_its_absence_pass(
    tools: ToolBox, aws_world: dict[str, str], tmp_path: Path
) -> None:
    """The knob is read from the stack file: with createSpotServiceLinkedRole the missing role is expected."""
    tools.all_good()
    report = run_preflight("test", write_stack(tmp_path, createSpotServiceLinkedRole=True))
    spot = next(f for f in report.findings if f.name == "spot-service-linked-role")
    assert spot.status is Status.PASS and "the stack creates it" in spot.found
