"""The AWS checks against moto (STS, EC2, IAM, Service Quotas) and the local Bedrock-control and EKS endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest

from infra.preflight.aws_clients import AwsClients
from infra.preflight.checks_aws import check_credentials, check_kubernetes_version, check_spot_role, check_zones
from infra.preflight.checks_bedrock import check_bedrock_model
from infra.preflight.checks_quotas import check_quotas
from infra.preflight.findings import Status
from tests.infra.preflight.conftest import ACCOUNT, MODEL, PROFILE
from tests.support.fake_bedrock_control import FakeBedrockControl, FoundationModel, InferenceProfile


@pytest.fixture
def clients(aws_world: dict[str, str]) -> AwsClients:
    return AwsClients.for_region("us-west-2")


# --- credentials -------------------------------------------------------------------------------------------


def test_credentials_name_the_account(clients: AwsClients) -> None:
    finding, account = check_credentials(clients.sts)
    assert finding.status is Status.PASS and account == ACCOUNT
    assert ACCOUNT in finding.found


def test_no_credentials_fail_with_how_to_configure_them(
    aws_world: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    finding, account = check_credentials(AwsClients.for_region("us-west-2").sts)
    assert finding.status is Status.FAIL and account is None
    assert "no AWS credentials" in finding.found
    assert finding.fix and "aws configure" in finding.fix and "aws sts get-caller-identity" in finding.fix


# --- availability zones ------------------------------------------------------------------------------------


def test_enough_zones_pass_and_name_the_ones_used(clients: AwsClients) -> None:
    """moto 5.2.5 lists us-west-2a..d (moto/ec2/models/availability_zones_and_regions.py); the program takes
    the first azCount in name order."""
    finding = check_zones(clients.ec2, 3, "dev")
    assert finding.status is Status.PASS
    assert "us-west-2a, us-west-2b, us-west-2c" in finding.found


def test_too_few_zones_fail_with_the_azcount_that_fits(clients: AwsClients) -> None:
    finding = check_zones(clients.ec2, 6, "dev")
    assert finding.status is Status.FAIL
    assert "4 usable zones" in finding.found and "azCount is 6" in finding.found
    assert finding.fix == "pulumi config set agentic-platform:azCount 4 --stack dev"


# --- Bedrock -----------------------------------------------------------------------------------------------


def test_inference_profile_that_is_active_and_granted_passes(
    clients: AwsClients, bedrock_control: FakeBedrockControl
) -> None:
    finding = check_bedrock_model(clients.bedrock, PROFILE, "us-west-2", "dev")
    assert finding.status is Status.PASS, finding
    assert PROFILE in finding.found and MODEL in finding.found
    operations = [(call.method, call.operation) for call in bedrock_control.calls]
    assert operations == [
        ("GET", "GetInferenceProfile"),
        ("GET", "GetFoundationModel"),
        ("GET", "GetFoundationModelAvailability"),
    ]


def test_profile_given_as_an_arn_passes(clients: AwsClients, bedrock_control: FakeBedrockControl) -> None:
    arn = f"arn:aws:bedrock:us-west-2:{ACCOUNT}:inference-profile/{PROFILE}"
    finding = check_bedrock_model(clients.bedrock, arn, "us-west-2", "dev")
    assert finding.status is Status.PASS, finding
    assert bedrock_control.calls[0].identifier == arn  # the ARN crossed the wire intact


def test_missing_model_fails_with_how_to_list_models(clients: AwsClients, bedrock_control: FakeBedrockControl) -> None:
    finding = check_bedrock_model(clients.bedrock, "anthropic.claude-nonexistent-v9:0", "us-west-2", "dev")
    assert finding.status is Status.FAIL
    assert "anthropic.claude-nonexistent-v9:0 is not offered in us-west-2" in finding.found
    assert finding.fix and "aws bedrock list-inference-profiles --region us-west-2" in finding.fix
    assert "pulumi config set agentic-platform:bedrockModelId" in finding.fix


def test_missing_profile_arn_fails(clients: AwsClients, bedrock_control: FakeBedrockControl) -> None:
    arn = f"arn:aws:bedrock:us-west-2:{ACCOUNT}:inference-profile/eu.{MODEL}"
    finding = check_bedrock_model(clients.bedrock, arn, "us-west-2", "dev")
    assert finding.status is Status.FAIL and "does not exist in us-west-2" in finding.found


def test_legacy_model_fails_with_its_end_of_life(clients: AwsClients, bedrock_control: FakeBedrockControl) -> None:
    bedrock_control.add_model(FoundationModel(MODEL, lifecycle="LEGACY", end_of_life=datetime(2026, 6, 1, tzinfo=UTC)))
    finding = check_bedrock_model(clients.bedrock, PROFILE, "us-west-2", "dev")
    assert finding.status is Status.FAIL
    assert "is LEGACY, not ACTIVE (end of life 2026-06-01)" in finding.found
    assert finding.fix and finding.fix.startswith("pick an ACTIVE model")


def test_model_not_granted_fails_with_how_to_get_access(
    clients: AwsClients, bedrock_control: FakeBedrockControl
) -> None:
    bedrock_control.add_model(FoundationModel(MODEL, authorization="NOT_AUTHORIZED", agreement="NOT_AVAILABLE"))
    finding = check_bedrock_model(clients.bedrock, PROFILE, "us-west-2", "dev")
    assert finding.status is Status.FAIL
    assert "not granted to the account" in finding.found
    assert "authorizationStatus is NOT_AUTHORIZED" in finding.found and "agreement is NOT_AVAILABLE" in finding.found
    assert finding.fix and f"aws bedrock create-foundation-model-agreement --model-id {MODEL}" in finding.fix


def test_pending_agreement_is_a_warning(clients: AwsClients, bedrock_control: FakeBedrockControl) -> None:
    bedrock_control.add_model(FoundationModel(MODEL, agreement="PENDING"))
    finding = check_bedrock_model(clients.bedrock, PROFILE, "us-west-2", "dev")
    assert finding.status is Status.WARN and "PENDING" in finding.found


def test_inactive_profile_fails(clients: AwsClients, bedrock_control: FakeBedrockControl) -> None:
    """The model's InferenceProfileStatus enum has only ACTIVE today; anything else must not pass."""
    bedrock_control.add_profile(InferenceProfile(PROFILE, MODEL, status="DISABLED"))
    finding = check_bedrock_model(clients.bedrock, PROFILE, "us-west-2", "dev")
    assert finding.status is Status.FAIL and "is DISABLED, not ACTIVE" in finding.found


def test_profile_only_model_used_directly_fails(clients: AwsClients, bedrock_control: FakeBedrockControl) -> None:
    """A model offered only through inference profiles cannot be invoked by its bare id."""
    finding = check_bedrock_model(clients.bedrock, MODEL, "us-west-2", "dev")
    assert finding.status is Status.FAIL
    assert "cannot be invoked on demand" in finding.found
    assert finding.fix and f"us.{MODEL}" in finding.fix


def test_on_demand_model_used_directly_passes(clients: AwsClients, bedrock_control: FakeBedrockControl) -> None:
    bedrock_control.add_model(FoundationModel("amazon.nova-lite-v1:0"))
    finding = check_bedrock_model(clients.bedrock, "amazon.nova-lite-v1:0", "us-west-2", "dev")
    assert finding.status is Status.PASS and "amazon.nova-lite-v1:0" in finding.found


def test_access_denied_is_a_warning_naming_the_permission(
    clients: AwsClients, bedrock_control: FakeBedrockControl
) -> None:
    """The caller may deploy without being allowed to read Bedrock: unconfirmed, not refused."""
    bedrock_control.deny("GetFoundationModelAvailability")
    finding = check_bedrock_model(clients.bedrock, PROFILE, "us-west-2", "dev")
    assert finding.status is Status.WARN
    assert "AccessDeniedException" in finding.found
    assert finding.fix and "bedrock:GetFoundationModelAvailability" in finding.fix


# --- Spot service-linked role ------------------------------------------------------------------------------


def test_spot_role_present_passes(clients: AwsClients, spot_role: None) -> None:
    finding = check_spot_role(clients.iam, ("spot", "on-demand"), created_by_program=False, stack="dev")
    assert finding.status is Status.PASS and "AWSServiceRoleForEC2Spot exists" in finding.found


def test_spot_role_missing_fails_with_the_create_command(clients: AwsClients) -> None:
    finding = check_spot_role(clients.iam, ("spot", "on-demand"), created_by_program=False, stack="dev")
    assert finding.status is Status.FAIL
    assert finding.fix and finding.fix.startswith(
        "aws iam create-service-linked-role --aws-service-name spot.amazonaws.com"
    )
    assert "pulumi config set agentic-platform:createSpotServiceLinkedRole true --stack dev" in finding.fix


def test_spot_role_not_needed_without_spot_capacity(clients: AwsClients) -> None:
    finding = check_spot_role(clients.iam, ("on-demand",), created_by_program=False, stack="dev")
    assert finding.status is Status.PASS and "not needed" in finding.found


def test_spot_role_the_stack_creates_passes_with_a_note(clients: AwsClients) -> None:
    finding = check_spot_role(clients.iam, ("spot",), created_by_program=True, stack="dev")
    assert finding.status is Status.PASS and "the stack creates it" in finding.found


def test_spot_role_the_stack_would_create_twice_fails(clients: AwsClients, spot_role: None) -> None:
    """IAM refuses a second service-linked role of the same name, so `pulumi up` would fail creating it."""
    finding = check_spot_role(clients.iam, ("spot",), created_by_program=True, stack="dev")
    assert finding.status is Status.FAIL and "exists already" in finding.found
    assert finding.fix == "pulumi config set agentic-platform:createSpotServiceLinkedRole false --stack dev"


# --- EKS version -------------------------------------------------------------------------------------------

NOW = datetime(2026, 8, 1, tzinfo=UTC)


def test_version_in_standard_support_passes(clients: AwsClients) -> None:
    finding = check_kubernetes_version(clients.eks, "1.35", "dev", now=NOW)
    assert finding.status is Status.PASS and "until 2027-03-27" in finding.found


def test_unsupported_version_fails_and_suggests_the_newest(clients: AwsClients) -> None:
    finding = check_kubernetes_version(clients.eks, "1.29", "dev", now=NOW)
    assert finding.status is Status.FAIL
    assert "no longer supported" in finding.found
    assert finding.fix == "pulumi config set agentic-platform:kubernetesVersion 1.35 --stack dev"


def test_version_eks_does_not_offer_fails(clients: AwsClients) -> None:
    finding = check_kubernetes_version(clients.eks, "1.41", "dev", now=NOW)
    assert finding.status is Status.FAIL and "does not offer Kubernetes 1.41" in finding.found


def test_extended_support_is_a_warning(clients: AwsClients) -> None:
    finding = check_kubernetes_version(clients.eks, "1.33", "dev", now=NOW)
    assert finding.status is Status.WARN and "extended support" in finding.found
    assert finding.fix and finding.fix.endswith("kubernetesVersion 1.35 --stack dev")


def test_standard_support_ended_by_date_is_a_warning(clients: AwsClients) -> None:
    """Even if the status lags, a passed end-of-standard-support date means extended support billing."""
    finding = check_kubernetes_version(clients.eks, "1.34", "dev", now=datetime(2027, 1, 5, tzinfo=UTC))
    assert finding.status is Status.WARN and "(2026-12-02)" in finding.found


# --- quotas ------------------------------------------------------------------------------------------------


@pytest.fixture
def isolated_region(aws_world: dict[str, str], request: pytest.FixtureRequest) -> Iterator[str]:
    """A region no other test touches, cleaned after: moto's server is shared by the session."""
    region: str = request.param
    ec2 = boto3.client("ec2", region_name=region)
    before_vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    before_ips = {a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]}
    try:
        yield region
    finally:
        for vpc in ec2.describe_vpcs()["Vpcs"]:
            if vpc["VpcId"] not in before_vpcs:
                ec2.delete_vpc(VpcId=vpc["VpcId"])
        for address in ec2.describe_addresses()["Addresses"]:
            if address["AllocationId"] not in before_ips:
                ec2.release_address(AllocationId=address["AllocationId"])


def test_quotas_with_room_pass(clients: AwsClients) -> None:
    """moto serves the vpc quotas (moto/servicequotas/resources/default_quotas/vpc.py) but no ec2 ones: the
    Elastic IP limit then comes from EC2's vpc-max-elastic-ips account attribute."""
    findings = {f.name: f for f in check_quotas(clients, az_count=3, nat_per_az=True)}
    assert {f.status for f in findings.values()} == {Status.PASS}, findings
    assert "quota 5" in findings["quota-vpcs"].found
    assert "the stack adds 3" in findings["quota-elastic-ips"].found
    assert "vpc-max-elastic-ips" in findings["quota-elastic-ips"].found


@pytest.mark.parametrize("isolated_region", ["eu-west-1"], indirect=True)
def test_exhausted_vpc_quota_fails_with_the_increase_request(isolated_region: str) -> None:
    ec2 = boto3.client("ec2", region_name=isolated_region)
    in_use = len(ec2.describe_vpcs()["Vpcs"])  # moto's default VPC
    for index in range(5 - in_use):
        ec2.create_vpc(CidrBlock=f"10.{100 + index}.0.0/16")
    findings = {f.name: f for f in check_quotas(AwsClients.for_region(isolated_region), 3, nat_per_az=False)}
    vpcs = findings["quota-vpcs"]
    assert vpcs.status is Status.FAIL
    assert "5 VPCs in use, the stack adds 1, but the quota is 5" in vpcs.found
    assert vpcs.fix and vpcs.fix.startswith(
        "aws service-quotas request-service-quota-increase --service-code vpc --quota-code L-F678F1CE "
        f"--desired-value 6 --region {isolated_region}"
    )
    assert findings["quota-internet-gateways"].status is Status.PASS


@pytest.mark.parametrize("isolated_region", ["ca-central-1"], indirect=True)
def test_elastic_ips_for_nat_per_zone_count_against_the_quota(isolated_region: str) -> None:
    """perAz needs one address per zone: 3 in use + 3 > 5, while a single NAT gateway (3 + 1) still fits."""
    ec2 = boto3.client("ec2", region_name=isolated_region)
    for _ in range(3):
        ec2.allocate_address(Domain="vpc")
    clients = AwsClients.for_region(isolated_region)
    per_zone = {f.name: f for f in check_quotas(clients, 3, nat_per_az=True)}["quota-elastic-ips"]
    single = {f.name: f for f in check_quotas(clients, 3, nat_per_az=False)}["quota-elastic-ips"]
    assert per_zone.status is Status.FAIL and "3 addresses in use, the stack adds 3" in per_zone.found
    assert per_zone.fix and "--service-code ec2 --quota-code L-0263D0A3 --desired-value 6" in per_zone.fix
    assert single.status is Status.PASS
