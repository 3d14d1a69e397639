"""The policy rules: the program passes all of them, and each one catches what it is for."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from infra import charts
from infra.offline import ProgramRun
from policy.model import StackResource
from policy.rules import RESOURCE_RULES, STACK_RULES, evaluate
from tests.infra.support import plain, stack_resources

ROOT = Path(__file__).resolve().parents[2]


def test_program_passes_every_rule(program: ProgramRun) -> None:
    assert evaluate(stack_resources(program)) == []


def test_every_helm_release_is_a_pinned_chart_from_infra_charts(program: ProgramRun) -> None:
    pinned = {(c.chart, c.version) for c in vars(charts).values() if isinstance(c, charts.HelmChart)}
    releases = program.of_type("kubernetes:helm.sh/v3:Release")
    assert len(releases) == 5
    assert {(r.inputs["chart"], r.inputs["version"]) for r in releases} <= pinned


POLICY_STAR = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("iam-documents-least-privilege", "aws:iam/rolePolicy:RolePolicy", {"policy": POLICY_STAR}),
    ("iam-documents-least-privilege", "aws:iam/rolePolicy:RolePolicy", {"policy": "{not json"}),
    (
        "iam-documents-least-privilege",
        "aws:iam/role:Role",
        {
            "assumeRolePolicy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "pods.eks.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            )
        },
    ),
    (
        "subnet-cidr-and-tags",
        "aws:ec2/subnet:Subnet",
        {"cidrBlock": "10.0.4.0/20", "tags": {"kubernetes.io/role/elb": "1", "kubernetes.io/cluster/c": "owned"}},
    ),
    ("subnet-cidr-and-tags", "aws:ec2/subnet:Subnet", {"cidrBlock": "10.0.0.0/20", "tags": {}}),
    (
        "eks-cluster-access",
        "aws:eks/cluster:Cluster",
        {"accessConfig": {"authenticationMode": "CONFIG_MAP"}, "vpcConfig": {}, "version": "1.35"},
    ),
    ("helm-chart-pinned", "kubernetes:helm.sh/v3:Release", {"chart": "oci://x/y", "version": "^1.2"}),
    (
        "helm-chart-pinned",
        "kubernetes:helm.sh/v3:Release",
        {"chart": "y", "version": "1.2.3", "repositoryOpts": {"repo": "http://charts.example"}},
    ),
    ("dynamodb-table-hardened", "aws:dynamodb/table:Table", {"billingMode": "PROVISIONED"}),
    ("sqs-encrypted", "aws:sqs/queue:Queue", {"messageRetentionSeconds": 300}),
    (
        "ebs-encrypted",
        "kubernetes:storage.k8s.io/v1:StorageClass",
        {"provisioner": "ebs.csi.aws.com", "parameters": {}},
    ),
    (
        "karpenter-node-imdsv2",
        "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
        {"spec": {"metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 2}}},
    ),
    ("karpenter-nodepool-bounded", "kubernetes:karpenter.sh/v1:NodePool", {"spec": {"template": {"spec": {}}}}),
    ("no-plaintext-secrets", "kubernetes:helm.sh/v3:Release", {"values": {"grafana": {"adminPassword": "hunter2"}}}),
    (
        "workloads-restricted",
        "kubernetes:apps/v1:Deployment",
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "x", "securityContext": {}}]}}}},
    ),
    (
        "cluster-roles-read-only",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        {"rules": [{"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]}]},
    ),
]


@pytest.mark.parametrize(("rule_name", "resource_type", "props"), CASES)
def test_each_rule_catches_a_violation(rule_name: str, resource_type: str, props: dict[str, Any]) -> None:
    (rule,) = [r for r in RESOURCE_RULES if r.name == rule_name]
    assert rule.validate(resource_type, props)


def test_every_resource_rule_has_a_failing_case() -> None:
    assert {r.name for r in RESOURCE_RULES} == {name for name, _, _ in CASES}


def test_subnet_stack_rule_catches_overlap_and_escape() -> None:
    def subnet(name: str, cidr: str) -> StackResource:
        return StackResource(f"urn:{name}", "aws:ec2/subnet:Subnet", name, {"cidrBlock": cidr})

    resources = [
        StackResource("urn:vpc", "aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"}),
        subnet("a", "10.0.0.0/19"),
        subnet("b", "10.0.16.0/20"),
        subnet("c", "10.1.0.0/20"),
    ]
    (rule,) = [r for r in STACK_RULES if r.name == "subnets-inside-vpc-disjoint"]
    messages = [v.message for v in rule.validate(resources)]
    assert any("overlaps b" in m for m in messages)
    assert any("outside the VPC" in m for m in messages)


def test_policy_pack_adapts_every_rule_when_pulumi_policy_is_installed(update_run: ProgramRun) -> None:
    pulumi_policy = pytest.importorskip("pulumi_policy")
    from pulumi_policy.policy import ResourceValidationArgs

    spec = importlib.util.spec_from_file_location("policy_pack", ROOT / "policy" / "__main__.py")
    assert spec and spec.loader
    pack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pack)
    policies = pack.policies(pulumi_policy)
    assert len(policies) == len(RESOURCE_RULES) + len(STACK_RULES)
    reported: list[str] = []
    for policy in policies:
        if isinstance(policy, pulumi_policy.ResourceValidationPolicy):
            for resource in update_run.resources:
                args = ResourceValidationArgs(
                    resource.type, plain(resource.inputs), resource.urn, resource.name, None, None
                )
                policy.validate(args, lambda message, urn=None: reported.append(message))
    assert reported == []
