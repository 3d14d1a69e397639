"""Configuration: the dev stack parses, and bad configuration stops the program before any resource."""

from __future__ import annotations

import json
from ipaddress import IPv4Network

import pytest

from infra.cidr import CidrError, SubnetPlan, check_plan, compute_plan, parse_cidr
from infra.config import ConfigError, parse_config
from infra.offline import stack_config
from tests.infra.support import run_with

ORIGINAL_PUBLIC = ["10.0.4.0/20", "10.0.5.0/20", "10.0.6.0/20"]
ORIGINAL_PRIVATE = ["10.0.0.0/20", "10.0.1.0/20", "10.0.2.0/20"]


def test_dev_stack_parses_with_the_documented_plan() -> None:
    config = parse_config(stack_config().get)
    assert config.region == "us-west-2"
    assert config.cluster.name == "agentic-dev"
    assert [str(n) for n in config.network.plan.private] == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    assert [str(n) for n in config.network.plan.public] == ["10.0.96.0/20", "10.0.112.0/20", "10.0.128.0/20"]
    assert config.apps.service_accounts.k8s_mcp.namespace == "k8s-admin"
    assert config.cluster.node_group.desired_size == 2
    assert config.cluster.node_group.instance_types == ("t3.large",)


def test_every_key_in_the_dev_stack_is_read() -> None:
    """A documented knob the program ignores would mislead; each dev key must change what parse_config reads."""
    read: list[str] = []
    values = stack_config()

    def get(key: str) -> str | None:
        read.append(key)
        return values.get(key)

    parse_config(get)
    unread = set(values) - set(read) - {"aws:defaultTags"}  # read by the AWS provider itself
    assert not unread


def test_original_plan_is_rejected_for_host_bits_and_overlap() -> None:
    misaligned = []
    for text in ORIGINAL_PUBLIC + ORIGINAL_PRIVATE:
        try:
            parse_cidr(text)
        except CidrError:
            misaligned.append(text)
    assert misaligned == [*ORIGINAL_PUBLIC, "10.0.1.0/20", "10.0.2.0/20"]  # five have host bits set
    normalised = SubnetPlan(
        vpc=IPv4Network("10.0.0.0/16"),
        private=tuple(IPv4Network(t, strict=False) for t in ORIGINAL_PRIVATE),
        public=tuple(IPv4Network(t, strict=False) for t in ORIGINAL_PUBLIC),
    )
    with pytest.raises(CidrError, match="overlaps") as caught:
        check_plan(normalised)
    assert str(caught.value).count("overlaps") == 15  # all six are one network: every pair overlaps


@pytest.mark.parametrize(
    ("vpc", "zones", "private_prefix", "public_prefix"),
    [("10.0.0.0/16", 3, 19, 20), ("10.20.0.0/16", 6, 20, 22), ("172.16.0.0/20", 2, 23, 24), ("10.0.0.0/24", 2, 27, 28)],
)
def test_computed_plans_are_aligned_inside_and_disjoint(
    vpc: str, zones: int, private_prefix: int, public_prefix: int
) -> None:
    plan = compute_plan(IPv4Network(vpc), zones, private_prefix, public_prefix)
    subnets = [*plan.private, *plan.public]
    assert len(plan.private) == len(plan.public) == zones
    for net in subnets:
        assert IPv4Network(str(net), strict=True) == net
        assert net.subnet_of(plan.vpc)
    for i, a in enumerate(subnets):
        for b in subnets[i + 1 :]:
            assert not a.overlaps(b)


def test_a_plan_that_does_not_fit_is_refused() -> None:
    with pytest.raises(CidrError, match="do not fit"):
        compute_plan(IPv4Network("10.0.0.0/18"), 3, 19, 20)


BAD = [
    pytest.param({"vpcCidr": "10.0.4.0/20"}, "agentic-platform:vpcCidr", "misaligned", id="vpc-host-bits"),
    pytest.param(
        {"privateSubnetCidrs": json.dumps(["10.0.0.0/20", "10.0.0.0/20", "10.0.16.0/20"])},
        "agentic-platform:privateSubnetCidrs",
        "overlaps",
        id="overlapping-private",
    ),
    pytest.param(
        {"publicSubnetCidrs": json.dumps(["10.0.96.0/20", "10.0.112.0/20", "10.0.64.0/20"])},
        "agentic-platform:publicSubnetCidrs",
        "overlaps",
        id="public-overlaps-private",
    ),
    pytest.param(
        {"publicSubnetCidrs": json.dumps(["10.0.96.0/20", "10.0.112.0/20", "192.168.0.0/20"])},
        "agentic-platform:publicSubnetCidrs",
        "outside the VPC",
        id="outside-vpc",
    ),
    pytest.param(
        {"privateSubnetCidrs": json.dumps(ORIGINAL_PRIVATE)},
        "agentic-platform:privateSubnetCidrs",
        "misaligned",
        id="original-plan",
    ),
    pytest.param({"nodeInstanceTypes": '["t3medium"]'}, "agentic-platform:nodeInstanceTypes", "malformed", id="type"),
    pytest.param(
        {"karpenterInstanceTypes": '["t3.large", "T3.XLARGE"]'},
        "agentic-platform:karpenterInstanceTypes",
        "malformed",
        id="karpenter-type",
    ),
    pytest.param({"nodeMinSize": "-1"}, "agentic-platform:nodeMinSize", "between 0", id="negative-count"),
    pytest.param({"azCount": "-3"}, "agentic-platform:azCount", "between 2", id="negative-zones"),
    pytest.param({"nodeDesiredSize": "5"}, "agentic-platform:nodeDesiredSize", "nodeMaxSize", id="desired>max"),
    pytest.param({"azCount": "three"}, "agentic-platform:azCount", "integer", id="not-a-number"),
    pytest.param({"clusterName": None}, "agentic-platform:clusterName", "required", id="missing-cluster-name"),
    pytest.param({"kubernetesVersion": None}, "agentic-platform:kubernetesVersion", "required", id="missing-version"),
    pytest.param({"aws:region": None}, "aws:region", "required", id="missing-region"),
    pytest.param({"kubernetesVersion": "1.35.2"}, "agentic-platform:kubernetesVersion", "malformed", id="patch"),
    pytest.param({"natGateways": "two"}, "agentic-platform:natGateways", "one of", id="nat-mode"),
    pytest.param({"bedrockModelArns": '["claude"]'}, "agentic-platform:bedrockModelArns", "malformed", id="model"),
    pytest.param(
        {"bedrockModelId": "apac.amazon.nova-lite-v1:0"}, "agentic-platform:bedrockModelId", "bedrockModelArns"
    ),
    pytest.param({"adminPrincipalArns": '"arn"'}, "agentic-platform:adminPrincipalArns", "list", id="not-a-list"),
    pytest.param({"controlPlaneLogRetentionDays": "31"}, "agentic-platform:controlPlaneLogRetentionDays", "31"),
    pytest.param({"addonVersions": '{"coredns": "latest"}'}, "agentic-platform:addonVersions", "malformed"),
    pytest.param({"appsNamespace": "k8s-admin"}, "agentic-platform:appsNamespace", "reserved", id="namespace"),
    pytest.param({"karpenterMemoryLimit": "-4Gi"}, "agentic-platform:karpenterMemoryLimit", "malformed"),
    pytest.param(
        {"grafanaExposure": "alb", "grafanaAlbScheme": "internet-facing"},
        "agentic-platform:grafanaCertificateArn",
        "required",
        id="public-grafana-without-tls",
    ),
]


@pytest.mark.parametrize(("overrides", "key", "fragment"), BAD)
def test_bad_configuration_stops_the_program_before_any_resource(
    overrides: dict[str, str | None], key: str, fragment: str
) -> None:
    run = run_with(overrides, preview=True)
    assert isinstance(run.error, ConfigError), run.error
    lines = [line for line in run.error.problems if line.startswith(f"{key}:")]
    assert lines, run.error.problems
    assert any(fragment in line for line in lines), lines
    assert run.resources == []
    assert run.invokes == []  # not even a lookup in the account


def test_all_problems_are_reported_together() -> None:
    config = stack_config()
    config.update({"agentic-platform:azCount": "0", "agentic-platform:nodeInstanceTypes": '["large"]'})
    del config["agentic-platform:clusterName"]
    with pytest.raises(ConfigError) as caught:
        parse_config(config.get)
    keys = {line.split(": ", 1)[0] for line in caught.value.problems}
    assert keys == {"agentic-platform:azCount", "agentic-platform:nodeInstanceTypes", "agentic-platform:clusterName"}


def test_explicit_valid_plan_is_used() -> None:
    config = stack_config()
    config["agentic-platform:privateSubnetCidrs"] = json.dumps(["10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"])
    config["agentic-platform:publicSubnetCidrs"] = json.dumps(["10.0.192.0/20", "10.0.208.0/20", "10.0.224.0/20"])
    plan = parse_config(config.get).network.plan
    assert [str(n) for n in plan.private] == ["10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"]
    assert [str(n) for n in plan.public] == ["10.0.192.0/20", "10.0.208.0/20", "10.0.224.0/20"]


def test_the_longest_cluster_name_keeps_derived_names_within_aws_limits() -> None:
    """Auto-named resources take `<resource name>-<7 hex>`; with 24 characters of cluster name they still fit."""
    run = run_with({"clusterName": "a" * 24}, preview=False)
    assert run.error is None
    limits = {
        "aws:iam/role:Role": 64,
        "aws:cloudwatch/eventRule:EventRule": 64,
        "aws:sqs/queue:Queue": 80,
        "aws:dynamodb/table:Table": 255,
        "aws:eks/nodeGroup:NodeGroup": 63,
    }
    for type_, limit in limits.items():
        for resource in run.of_type(type_):
            name = resource.outputs.get("name") or resource.outputs["nodeGroupName"]
            assert len(name) <= limit, f"{type_} {name} has {len(name)} characters (limit {limit})"
    assert isinstance(run_with({"clusterName": "a" * 25}).error, ConfigError)
