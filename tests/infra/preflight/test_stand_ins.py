"""The stand-ins speak the real wire formats, and the quota codes are AWS's: checked against upstream data.

Service models: botocore 1.44.5, botocore/data/bedrock/2023-04-20/service-2.json and
botocore/data/eks/2017-11-01/service-2.json. Quota codes: moto 5.2.5,
moto/servicequotas/resources/default_quotas/vpc.py (moto's copy of AWS's list for the `vpc` service code).
"""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import httpx
import pytest
from moto.servicequotas.resources.default_quotas.vpc import VPC_DEFAULT_QUOTAS

from infra.preflight.checks_quotas import ELASTIC_IPS, INTERNET_GATEWAYS, NAT_GATEWAYS, VPCS
from tests.infra.preflight.conftest import MODEL, PROFILE
from tests.support.fake_bedrock_control import FakeBedrockControl
from tests.support.fake_eks_versions import FakeEksVersions

SESSION = botocore.session.get_session()


def _path(model: Any, operation: str, **labels: str) -> str:
    uri = model.operation_model(operation).http["requestUri"]
    return re.sub(r"\{(\w+)\}", lambda m: httpx.URL("/" + labels[m.group(1)]).raw_path.decode()[1:], uri)


def _check_members(model: Any, operation: str, body: dict[str, Any]) -> None:
    shape = model.operation_model(operation).output_shape
    assert set(body) <= set(shape.members), set(body) - set(shape.members)
    assert set(shape.required_members) <= set(body)


@pytest.mark.parametrize(
    ("operation", "label", "value"),
    [
        ("GetInferenceProfile", "inferenceProfileIdentifier", PROFILE),
        ("GetFoundationModel", "modelIdentifier", MODEL),
        ("GetFoundationModelAvailability", "modelId", MODEL),
    ],
)
def test_bedrock_control_answers_at_the_modelled_paths_with_modelled_members(
    bedrock_control: FakeBedrockControl, operation: str, label: str, value: str
) -> None:
    model = SESSION.get_service_model("bedrock")
    assert model.operation_model(operation).http["method"] == "GET"
    response = httpx.get(bedrock_control.base_url + _path(model, operation, **{label: value}))
    assert response.status_code == model.operation_model(operation).http.get("responseCode", 200)
    body = response.json()
    _check_members(model, operation, body)
    if operation == "GetFoundationModel":
        details = model.shape_for("FoundationModelDetails")
        assert set(body["modelDetails"]) <= set(details.members)


@pytest.mark.parametrize(
    ("code", "provoke"),
    [
        ("ResourceNotFoundException", lambda fake: "/inference-profiles/us.amazon.nothing-v1%3A0"),
        ("ValidationException", lambda fake: "/foundation-models/NOT%20A%20MODEL"),
        ("AccessDeniedException", lambda fake: fake.deny("GetFoundationModel") or f"/foundation-models/{MODEL}"),
    ],
)
def test_bedrock_control_errors_use_the_modelled_status_and_header(
    bedrock_control: FakeBedrockControl, code: str, provoke: Any
) -> None:
    model = SESSION.get_service_model("bedrock")
    assert code in [e.name for e in model.operation_model("GetFoundationModel").error_shapes]
    response = httpx.get(bedrock_control.base_url + provoke(bedrock_control))
    assert response.status_code == model.shape_for(code).metadata["error"]["httpStatusCode"]
    assert response.headers["x-amzn-ErrorType"].split(":", 1)[0] == code
    assert response.json()["message"]


def test_eks_versions_answer_at_the_modelled_path(eks_versions: FakeEksVersions) -> None:
    model = SESSION.get_service_model("eks")
    operation = model.operation_model("DescribeClusterVersions")
    assert (operation.http["method"], operation.http["requestUri"]) == ("GET", "/cluster-versions")
    query = {m.serialization["name"] for m in operation.input_shape.members.values()}
    assert {"clusterVersions", "includeAll", "versionStatus"} <= query
    body = httpx.get(eks_versions.base_url + "/cluster-versions", params={"includeAll": "true"}).json()
    _check_members(model, "DescribeClusterVersions", body)
    info = model.shape_for("ClusterVersionInformation")
    statuses = set(model.shape_for("VersionStatus").enum)
    for entry in body["clusterVersions"]:
        assert set(entry) <= set(info.members)
        assert entry["versionStatus"] in statuses


def test_quota_codes_are_aws_codes() -> None:
    names = {quota["QuotaCode"]: quota["QuotaName"] for quota in VPC_DEFAULT_QUOTAS}
    for quota in (VPCS, INTERNET_GATEWAYS, NAT_GATEWAYS):
        assert quota.service_code == "vpc"
        assert names[quota.quota_code] == quota.title
    # EC2's quotas are not in moto; L-0263D0A3 is "EC2-VPC Elastic IPs" in the Service Quotas console.
    assert (ELASTIC_IPS.service_code, ELASTIC_IPS.quota_code) == ("ec2", "L-0263D0A3")
