"""Pod Identity and IAM: one role per service account, least privilege, every document valid JSON."""

from __future__ import annotations

import json

import pytest

from infra.offline import ProgramRun, Registration
from policy.iam_documents import permission_problems, trust_problems, trusts_pod_identity
from policy.rules import STACK_RULES
from tests.infra.support import depends_on, json_input, run_with, stack_resources

EXPECTED_BINDINGS = {
    ("agentic", "agent-core"),
    ("agentic", "aws-mcp"),
    ("agentic", "custom-mcp"),
    ("kube-system", "karpenter"),
    ("kube-system", "aws-load-balancer-controller"),
    ("kube-system", "ebs-csi-controller-sa"),
}
# The dev stack's model (a US inference profile): the profile and its foundation model in each US Region
# (tests/infra/test_upstream_bedrock_access.py holds the upstream facts).
MODEL = {"arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0"} | {
    f"arn:aws:bedrock:{region}::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"
    for region in ("us-east-1", "us-east-2", "us-west-1", "us-west-2")
}


def _pod_roles(run: ProgramRun) -> list[Registration]:
    return [r for r in run.of_type("aws:iam/role:Role") if trusts_pod_identity(r.inputs["assumeRolePolicy"])]


def _role_for(run: ProgramRun, namespace: str, account: str) -> Registration:
    (association,) = [
        a
        for a in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if (a.inputs["namespace"], a.inputs["serviceAccount"]) == (namespace, account)
    ]
    (role,) = [r for r in _pod_roles(run) if depends_on(association, "roleArn", r)]
    return role


def _policy_of(run: ProgramRun, role: Registration) -> dict:
    (policy,) = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if depends_on(p, "role", role)]
    return json_input(policy, "policy")


def _grants(document: dict) -> dict[str, set[str]]:
    """Action → resources it is allowed on."""
    grants: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in statement["Action"]:
            grants.setdefault(action, set()).update(resources)
    return grants


def test_every_aws_caller_has_exactly_the_expected_binding(program: ProgramRun) -> None:
    associations = program.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    bindings = [(a.inputs["namespace"], a.inputs["serviceAccount"]) for a in associations]
    assert sorted(bindings) == sorted(EXPECTED_BINDINGS)
    assert ("k8s-admin", "k8s-mcp") not in bindings  # it calls no AWS API
    for association in associations:
        assert depends_on(association, "clusterName", program.of_type("aws:eks/cluster:Cluster")[0])


def test_every_pod_identity_trust_is_exact(program: ProgramRun) -> None:
    roles = _pod_roles(program)
    assert len(roles) == len(EXPECTED_BINDINGS)
    for role in roles:
        trust = json.loads(role.inputs["assumeRolePolicy"])
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert set(statement["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
        assert trust_problems(trust) == []


def test_each_role_is_bound_to_one_service_account(program: ProgramRun) -> None:
    (rule,) = [r for r in STACK_RULES if r.name == "pod-identity-one-binding"]
    assert rule.validate(stack_resources(program)) == []


def test_every_iam_document_is_json_and_least_privilege(update_run: ProgramRun) -> None:
    permissions = update_run.of_type("aws:iam/rolePolicy:RolePolicy") + update_run.of_type(
        "aws:sqs/queuePolicy:QueuePolicy"
    )
    # agent-core, aws-mcp, custom-mcp, Karpenter controller, ALB controller + the interruption queue's policy
    assert len(permissions) == 6
    for resource in permissions:
        document = json_input(resource, "policy")
        assert document["Version"] == "2012-10-17"
        assert permission_problems(document) == [], resource.name
    roles = update_run.of_type("aws:iam/role:Role")
    assert len(roles) == 9  # cluster, system nodes, Karpenter nodes and six Pod Identity roles
    for role in roles:
        trust = json_input(role, "assumeRolePolicy")
        assert trust_problems(trust) == [], role.name
        for statement in trust["Statement"]:
            assert statement["Principal"]["Service"] in (
                "eks.amazonaws.com",
                "ec2.amazonaws.com",
                "pods.eks.amazonaws.com",
            ), role.name
    assert not update_run.of_type("aws:iam/policy:Policy")  # inline only: nothing reusable to over-attach


def test_agent_core_policy(update_run: ProgramRun) -> None:
    grants = _grants(_policy_of(update_run, _role_for(update_run, "agentic", "agent-core")))
    (runs,) = [t for t in update_run.of_type("aws:dynamodb/table:Table") if t.name.endswith("-runs")]
    table_arn = runs.outputs["arn"]
    assert grants.pop("bedrock:InvokeModel") == MODEL
    for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "DescribeTable"):
        assert grants.pop(f"dynamodb:{action}") == {table_arn, f"{table_arn}/index/*"}
    assert grants == {}


def test_aws_mcp_policy_by_default(update_run: ProgramRun) -> None:
    grants = _grants(_policy_of(update_run, _role_for(update_run, "agentic", "aws-mcp")))
    assert grants.pop("s3:ListAllMyBuckets") == {"*"}
    assert grants.pop("glue:GetJobs") == {"*"}
    assert grants.pop("bedrock:InvokeModel") == MODEL
    assert grants == {}  # no object access at all, and no Glue job may be started until one is named


def test_aws_mcp_glue_access_is_scoped_by_configuration() -> None:
    run = run_with({"awsMcpGlueJobs": '["nightly-etl", "reports.export"]'}, preview=False)
    assert run.error is None
    grants = _grants(_policy_of(run, _role_for(run, "agentic", "aws-mcp")))
    jobs = {f"arn:aws:glue:us-west-2:123456789012:job/{job}" for job in ("nightly-etl", "reports.export")}
    assert grants["glue:StartJobRun"] == grants["glue:GetJobRun"] == jobs
    assert not [action for action in grants if action.startswith("s3:") and action != "s3:ListAllMyBuckets"]


def test_custom_mcp_policy(update_run: ProgramRun) -> None:
    grants = _grants(_policy_of(update_run, _role_for(update_run, "agentic", "custom-mcp")))
    (kv,) = [t for t in update_run.of_type("aws:dynamodb/table:Table") if t.name.endswith("-kv")]
    assert grants == {f"dynamodb:{a}": {kv.outputs["arn"]} for a in ("PutItem", "GetItem", "Query", "DescribeTable")}


def test_role_arns_and_service_accounts_are_exported(update_run: ProgramRun) -> None:
    arns = update_run.exports["appRoleArns"].value
    assert set(arns) == {"agent-core", "aws-mcp", "custom-mcp"}
    assert arns["agent-core"] == _role_for(update_run, "agentic", "agent-core").outputs["arn"]
    assert update_run.exports["serviceAccounts"].value == {
        "agent-core": "agentic/agent-core",
        "aws-mcp": "agentic/aws-mcp",
        "custom-mcp": "agentic/custom-mcp",
        "k8s-mcp": "k8s-admin/k8s-mcp",
    }


def test_apps_namespace_is_configurable() -> None:
    run = run_with({"appsNamespace": "workflows"})
    assert run.error is None
    namespaces = {a.inputs["namespace"] for a in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    assert namespaces == {"workflows", "kube-system"}


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, "every action"),
        ({"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}, "wildcard action"),
        ({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}, "without a Condition"),
        ({"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": ["*"]}, "without a Condition"),
        ({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}, "NotAction"),
        (
            {
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            },
            "privilege escalation",
        ),
    ],
)
def test_permission_rule_catches_broad_grants(statement: dict, fragment: str) -> None:
    problems = permission_problems({"Version": "2012-10-17", "Statement": [statement]})
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        (
            {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": "sts:AssumeRole"},
            "exactly",
        ),
        (
            {
                "Effect": "Allow",
                "Principal": {"Service": ["pods.eks.amazonaws.com", "ec2.amazonaws.com"]},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            },
            "trusts more",
        ),
    ],
)
def test_trust_rule_catches_loose_trust(statement: dict, fragment: str) -> None:
    problems = trust_problems({"Version": "2012-10-17", "Statement": [statement]})
    assert any(fragment in p for p in problems), problems


def test_binding_rule_catches_a_shared_role(update_run: ProgramRun) -> None:
    resources = stack_resources(update_run)
    (association,) = [r for r in resources if r.props.get("serviceAccount") == "aws-mcp"]
    (agent_core_role,) = [r for r in resources if r.name.endswith("agent-core-role")]
    shared = type(association)(
        association.urn + "-copy",
        association.resource_type,
        association.name + "-copy",
        {**association.props, "serviceAccount": "another"},
        {"roleArn": (agent_core_role.urn,)},
    )
    (rule,) = [r for r in STACK_RULES if r.name == "pod-identity-one-binding"]
    messages = [v.message for v in rule.validate([*resources, shared])]
    assert any("exactly one service account; found 2" in m for m in messages), messages
