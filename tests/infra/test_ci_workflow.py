"""The GitHub Actions workflow users' CI runs: the tests always, `pulumi preview` on pull requests only when
credentials are configured, with least privilege."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _workflow() -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def test_tests_run_on_pushes_and_pull_requests() -> None:
    workflow = _workflow()
    assert set(workflow["on"]) == {"push", "pull_request"}
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["test"]["steps"]
    assert any(step.get("run") == "make test" for step in steps)
    assert workflow["jobs"]["test"]["container"].startswith("python:3.11.")


def test_preview_runs_on_pull_requests_with_credentials_only() -> None:
    job = _workflow()["jobs"]["preview"]
    assert job["if"] == "github.event_name == 'pull_request'" and job["needs"] == "test"
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    steps = job["steps"]
    gate = steps[0]
    assert "PULUMI_ACCESS_TOKEN" in gate["run"] and "AWS_ROLE_ARN" in gate["run"]
    for step in steps[1:]:
        assert step["if"] == "steps.credentials.outputs.configured == 'true'", step
    (pulumi,) = [s for s in steps if s.get("uses", "").startswith("pulumi/actions@")]
    assert pulumi["with"]["command"] == "preview"
    assert any(s.get("run") == "make .venv/.installed" for s in steps)  # Pulumi.yaml's virtualenv
    (aws,) = [s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert "role-to-assume" in aws["with"] and "aws-access-key-id" not in aws["with"]


def test_actions_are_pinned_to_a_major_version() -> None:
    for job in _workflow()["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert "@v" in step["uses"] and not step["uses"].endswith(("@main", "@master")), step["uses"]
