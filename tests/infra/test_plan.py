"""`python -m infra.plan`: the resource tree, printed offline with no credentials in the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _plan(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # No AWS_* variables, no profile, an empty HOME: anything that tried to reach AWS would fail.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "infra.plan", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def plan_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    result = _plan(tmp_path_factory.mktemp("home"))
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_plan_prints_every_component_and_key_inputs(plan_output: str) -> None:
    lines = plan_output.splitlines()
    assert "offline preview: no credentials" in lines[0]
    roots = [line.split()[0] for line in lines[1:] if line and not line.startswith((" ", "│", "├", "└", "Outputs"))]
    assert set(roots) >= {
        "agentic:network:Network",
        "agentic:cluster:Cluster",
        "agentic:state:StateTables",
        "agentic:apps:AppRoles",
        "agentic:karpenter:Karpenter",
        "agentic:alb:AlbController",
        "agentic:monitoring:Monitoring",
    }
    assert any("aws:ec2/subnet:Subnet  agentic-dev-private-1  cidrBlock=10.0.32.0/19" in line for line in lines)
    assert any("aws:eks/cluster:Cluster  agentic-dev-eks  name=agentic-dev  version=1.35" in line for line in lines)
    assert any("chart=oci://public.ecr.aws/karpenter/karpenter  version=1.14.1" in line for line in lines)
    assert any("namespace=agentic  serviceAccount=agent-core" in line for line in lines)


def test_plan_nests_children_under_their_component(plan_output: str) -> None:
    lines = plan_output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("agentic:state:StateTables"))
    assert lines[start + 1].startswith(("├─ aws:dynamodb/table:Table", "└─ aws:dynamodb/table:Table"))


def test_plan_hides_secrets(plan_output: str) -> None:
    assert "kubeconfig: [secret]" in plan_output
    assert "grafanaAdminPassword: [secret]" in plan_output
    assert "mock-password" not in plan_output


def test_plan_rejects_bad_configuration_naming_the_key(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text(
        (ROOT / "Pulumi.dev.yaml").read_text().replace("agentic-platform:azCount: 3", "agentic-platform:azCount: -1")
    )
    result = _plan(tmp_path, "--config-file", str(stack))
    assert result.returncode == 2
    assert "agentic-platform:azCount: must be between 2 and 6" in result.stderr
    assert result.stdout == ""
