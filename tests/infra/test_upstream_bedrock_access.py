"""Bedrock: the model is named once, and both roles that invoke it are granted every ARN AWS checks.

Upstream facts (AWS documentation, Amazon Bedrock user guide):

- Model card "Claude 3.5 Haiku": ``anthropic.claude-3-5-haiku-20241022-v1:0``, lifecycle Legacy, EOL 2026-06-19
  (the stack's former default). Model card "Claude Haiku 4.5": lifecycle Active, launched 2025-10-16, geographic
  (US) inference id ``us.anthropic.claude-haiku-4-5-20251001-v1:0``.
- "Geographic cross-Region inference", IAM policy requirements: to invoke a geographic inference profile a role
  needs access to (1) the profile, (2) the foundation model in the source Region, (3) the foundation model in
  every destination Region listed in the profile.
- "Supported Regions and models for inference profiles", US Anthropic Claude Haiku 4.5: source and destination
  Regions are the US commercial Regions us-east-1, us-east-2, us-west-1 and us-west-2 (per source Region the
  guide may list fewer destinations; the grant covers all four, see infra/bedrock_access.py).
- A system-defined profile's ARN is ``arn:aws:bedrock:<source Region>:<account>:inference-profile/<id>``; a
  foundation model's is ``arn:aws:bedrock:<Region>::foundation-model/<model id>`` (no account).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from infra.config import ConfigError
from infra.offline import ACCOUNT_ID, ProgramRun, Registration
from policy.iam_documents import trusts_pod_identity
from tests.infra.support import depends_on, json_input, k8s_object, run_with

ROOT = Path(__file__).resolve().parents[2]
PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
FOUNDATION_MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"
US_HAIKU_4_5_DESTINATIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2")
END_OF_LIFE = "anthropic.claude-3-5-haiku-20241022-v1:0"


def _expected(region: str = "us-west-2") -> set[str]:
    return {f"arn:aws:bedrock:{region}:{ACCOUNT_ID}:inference-profile/{PROFILE}"} | {
        f"arn:aws:bedrock:{destination}::foundation-model/{FOUNDATION_MODEL}"
        for destination in US_HAIKU_4_5_DESTINATIONS
    }


def _invoke_grants(run: ProgramRun, service_account: str) -> set[str]:
    """Every resource the role bound to agentic/<service_account> may call bedrock:InvokeModel on."""
    (association,) = [
        a
        for a in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if (a.inputs["namespace"], a.inputs["serviceAccount"]) == ("agentic", service_account)
    ]
    roles = [r for r in run.of_type("aws:iam/role:Role") if trusts_pod_identity(r.inputs["assumeRolePolicy"])]
    (role,) = [r for r in roles if depends_on(association, "roleArn", r)]
    (policy,) = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if depends_on(p, "role", role)]
    granted: set[str] = set()
    for statement in json_input(policy, "policy")["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if any(action.startswith("bedrock:") for action in actions):
            assert actions == ["bedrock:InvokeModel"], actions  # Converse is authorised as InvokeModel
            granted.update(resources)
    return granted


def _model_env(run: ProgramRun, workload: str) -> str:
    config_map: dict = k8s_object(run, "ConfigMap", f"{workload}-config", "agentic")
    return str(config_map["data"]["AGENTIC_BEDROCK_MODEL_ID"])


@pytest.mark.parametrize("service_account", ["agent-core", "aws-mcp"])
def test_the_profile_and_every_destination_are_granted(update_run: ProgramRun, service_account: str) -> None:
    assert _invoke_grants(update_run, service_account) == _expected()


def test_the_model_is_named_once_and_is_not_the_retired_one(update_run: ProgramRun) -> None:
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    assert document["agentic-platform:bedrockModelId"] == PROFILE
    assert "agentic-platform:bedrockModelArns" not in document
    assert _model_env(update_run, "agent-core") == _model_env(update_run, "aws-mcp") == PROFILE
    retired = [r.name for r in update_run.resources if END_OF_LIFE in json.dumps(r.inputs, default=str)]
    assert retired == []


def test_a_profile_from_outside_its_geography_is_refused() -> None:
    run = run_with({"aws:region": "eu-west-1"})
    assert isinstance(run.error, ConfigError), run.error
    (line,) = [p for p in run.error.problems if p.startswith("agentic-platform:bedrockModelId:")]
    assert "eu-west-1" in line and "us-east-1" in line


def test_an_unknown_profile_needs_its_destinations_listed() -> None:
    profile = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
    run = run_with({"bedrockModelId": profile})
    assert isinstance(run.error, ConfigError), run.error
    assert any(p.startswith("agentic-platform:bedrockModelId:") and "bedrockModelArns" in p for p in run.error.problems)

    destinations = [
        f"arn:aws:bedrock:{region}::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"
        for region in ("eu-central-1", "eu-west-1")
    ]
    run = run_with({"bedrockModelId": profile, "bedrockModelArns": json.dumps(destinations)}, preview=False)
    assert run.error is None
    assert _invoke_grants(run, "agent-core") == {
        f"arn:aws:bedrock:us-west-2:{ACCOUNT_ID}:inference-profile/{profile}",
        *destinations,
    }


def test_a_foundation_model_is_granted_in_the_stack_region_only() -> None:
    run = run_with({"bedrockModelId": "amazon.nova-lite-v1:0"}, preview=False)
    assert run.error is None
    assert _invoke_grants(run, "aws-mcp") == {"arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0"}
    assert _model_env(run, "agent-core") == "amazon.nova-lite-v1:0"


def test_extra_arns_are_added_once() -> None:
    extra = "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0"
    duplicate = f"arn:aws:bedrock:us-east-1::foundation-model/{FOUNDATION_MODEL}"
    run = run_with({"bedrockModelArns": json.dumps([extra, duplicate])}, preview=False)
    assert run.error is None
    grants = _invoke_grants(run, "aws-mcp")
    assert grants == _expected() | {extra}
    policy: Registration = next(p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if extra in p.inputs["policy"])
    resources = next(
        s["Resource"] for s in json_input(policy, "policy")["Statement"] if s["Action"] == ["bedrock:InvokeModel"]
    )
    assert len(resources) == len(set(resources))
