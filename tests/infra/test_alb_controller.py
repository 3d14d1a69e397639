"""AWS Load Balancer Controller: vendored policy pinned to the chart, Pod Identity, explicit Helm values."""

from __future__ import annotations

import json

from infra.alb_controller import POLICY_FILE, controller_policy
from infra.charts import ALB_CONTROLLER
from infra.offline import ProgramRun, Registration
from policy.iam_documents import permission_problems
from tests.infra.support import depends_on, json_input


def _release(run: ProgramRun) -> Registration:
    (release,) = [
        r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "aws-load-balancer-controller"
    ]
    return release


def test_vendored_policy_is_pinned_to_the_chart_version() -> None:
    assert POLICY_FILE.name == f"aws-load-balancer-controller-v{ALB_CONTROLLER.version}.json"
    document = json.loads(POLICY_FILE.read_text())
    assert document["Version"] == "2012-10-17"
    assert permission_problems(document) == []
    actions = {a for s in document["Statement"] for a in s["Action"]}
    # Spot checks of what the controller cannot work without.
    assert {"elasticloadbalancing:CreateLoadBalancer", "ec2:DescribeSubnets", "iam:CreateServiceLinkedRole"} <= actions


def test_policy_is_rewritten_for_other_partitions() -> None:
    text = json.dumps(controller_policy("aws-cn"))
    assert "arn:aws:" not in text and "arn:aws-cn:elasticloadbalancing" in text


def test_role_is_bound_to_the_controller_service_account(update_run: ProgramRun) -> None:
    (association,) = [
        a
        for a in update_run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["serviceAccount"] == "aws-load-balancer-controller"
    ]
    assert association.inputs["namespace"] == "kube-system"
    (role,) = [r for r in update_run.of_type("aws:iam/role:Role") if depends_on(association, "roleArn", r)]
    (policy,) = [p for p in update_run.of_type("aws:iam/rolePolicy:RolePolicy") if depends_on(p, "role", role)]
    assert json_input(policy, "policy") == json.loads(POLICY_FILE.read_text())


def test_helm_release(update_run: ProgramRun) -> None:
    release = _release(update_run)
    assert release.inputs["chart"] == "aws-load-balancer-controller"
    assert release.inputs["version"] == ALB_CONTROLLER.version
    assert release.inputs["repositoryOpts"] == {"repo": "https://aws.github.io/eks-charts"}
    assert release.inputs["namespace"] == "kube-system"
    values = release.inputs["values"]
    assert values["clusterName"] == "agentic-dev"
    assert values["region"] == "us-west-2"
    assert values["vpcId"] == update_run.exports["vpcId"].value
    assert values["serviceAccount"] == {"create": True, "name": "aws-load-balancer-controller"}
    (association,) = [
        a
        for a in update_run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["serviceAccount"] == "aws-load-balancer-controller"
    ]
    assert association.urn in release.dependencies  # credentials exist before the controller's pods start
