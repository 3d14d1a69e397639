"""Karpenter v1: CRs valid against the v1 schemas, IAM scoped like the terraform-aws-modules module, the
interruption queue and its rules, and the pinned Helm releases."""

from __future__ import annotations

import copy
import json

import pytest

from infra.charts import KARPENTER, KARPENTER_CRD
from infra.offline import ProgramRun, Registration
from tests.infra.support import crd_validator, depends_on, json_input, manifest, run_with

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def _one(run: ProgramRun, type_: str) -> Registration:
    (resource,) = run.of_type(type_)
    return resource


def _release(run: ProgramRun, release_name: str) -> Registration:
    (release,) = [r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == release_name]
    return release


def test_node_pool_is_valid_v1(program: ProgramRun) -> None:
    errors = [
        e.message for e in crd_validator("karpenter-v1-nodepool.json").iter_errors(manifest(_one(program, NODE_POOL)))
    ]
    assert errors == []


def test_ec2_node_class_is_valid_v1(program: ProgramRun) -> None:
    node_class = manifest(_one(program, NODE_CLASS))  # the role's name is auto-named, so known even in preview
    errors = [e.message for e in crd_validator("karpenter-v1-ec2nodeclass.json").iter_errors(node_class)]
    assert errors == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "disruption", "consolidationPolicy"), "WhenIdle"),
        (("spec", "template", "spec", "expireAfter"), "90d"),
        (("spec", "template", "spec", "requirements", 0, "operator"), "Equals"),
        (("spec", "limits", "cpu"), "a hundred"),
        (("spec", "template", "spec", "nodeClassRefs"), {}),
    ],
)
def test_schema_rejects_invalid_node_pools(update_run: ProgramRun, path: tuple, value: object) -> None:
    broken = copy.deepcopy(manifest(_one(update_run, NODE_POOL)))
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert list(crd_validator("karpenter-v1-nodepool.json").iter_errors(broken))


def test_node_pool_content(program: ProgramRun) -> None:
    spec = manifest(_one(program, NODE_POOL))["spec"]
    requirements = {r["key"]: (r["operator"], r["values"]) for r in spec["template"]["spec"]["requirements"]}
    assert requirements == {
        "kubernetes.io/arch": ("In", ["amd64"]),
        "kubernetes.io/os": ("In", ["linux"]),
        "karpenter.sh/capacity-type": ("In", ["spot", "on-demand"]),
        "node.kubernetes.io/instance-type": ("In", ["t3.medium", "t3.large", "t3.xlarge"]),
    }
    assert spec["disruption"] == {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "30s"}
    assert spec["template"]["spec"]["expireAfter"] == "2160h"
    assert spec["limits"] == {"cpu": "100", "memory": "400Gi"}
    assert spec["template"]["spec"]["nodeClassRef"] == {
        "group": "karpenter.k8s.aws",
        "kind": "EC2NodeClass",
        "name": manifest(_one(program, NODE_CLASS))["metadata"]["name"],
    }


def test_node_pool_limits_follow_configuration() -> None:
    run = run_with({"karpenterCpuLimit": "32", "karpenterMemoryLimit": "128Gi", "karpenterCapacityTypes": '["spot"]'})
    assert run.error is None
    spec = manifest(_one(run, NODE_POOL))["spec"]
    assert spec["limits"] == {"cpu": "32", "memory": "128Gi"}
    (capacity,) = [r for r in spec["template"]["spec"]["requirements"] if r["key"] == "karpenter.sh/capacity-type"]
    assert capacity["values"] == ["spot"]


def test_ec2_node_class_content(update_run: ProgramRun) -> None:
    node_class = _one(update_run, NODE_CLASS)
    spec = manifest(node_class)["spec"]
    (node_role,) = [r for r in update_run.of_type("aws:iam/role:Role") if r.name.endswith("karpenter-node-role")]
    assert spec["role"] == node_role.outputs["name"]
    assert depends_on(node_class, "spec", node_role)
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
    discovery = [{"tags": {"karpenter.sh/discovery": "agentic-dev"}}]
    assert spec["subnetSelectorTerms"] == spec["securityGroupSelectorTerms"] == discovery
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1


def test_node_role_joins_with_an_ec2_linux_access_entry(program: ProgramRun) -> None:
    (node_role,) = [r for r in program.of_type("aws:iam/role:Role") if r.name.endswith("karpenter-node-role")]
    (entry,) = [
        e for e in program.of_type("aws:eks/accessEntry:AccessEntry") if depends_on(e, "principalArn", node_role)
    ]
    assert entry.inputs["type"] == "EC2_LINUX"
    policies = {
        a.inputs["policyArn"].rsplit("/", 1)[-1]
        for a in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if depends_on(a, "role", node_role)
    }
    assert policies == {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly"}


def test_interruption_queue_and_policy(update_run: ProgramRun) -> None:
    queue = _one(update_run, "aws:sqs/queue:Queue")
    assert queue.inputs["messageRetentionSeconds"] == 300
    assert queue.inputs["sqsManagedSseEnabled"] is True
    queue_policy = _one(update_run, "aws:sqs/queuePolicy:QueuePolicy")
    assert depends_on(queue_policy, "queueUrl", queue)
    statements = {s["Sid"]: s for s in json_input(queue_policy, "policy")["Statement"]}
    assert statements["SqsWrite"]["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}
    assert statements["SqsWrite"]["Resource"] == [queue.outputs["arn"]]
    deny = statements["DenyHTTP"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_interruption_rules_target_the_queue(program: ProgramRun) -> None:
    queue = _one(program, "aws:sqs/queue:Queue")
    rules = program.of_type("aws:cloudwatch/eventRule:EventRule")
    patterns = {(p["source"][0], p["detail-type"][0]) for p in (json.loads(r.inputs["eventPattern"]) for r in rules)}
    assert patterns == {
        ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
        ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
        ("aws.ec2", "EC2 Instance State-change Notification"),
        ("aws.health", "AWS Health Event"),
        ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
    }
    targets = program.of_type("aws:cloudwatch/eventTarget:EventTarget")
    for rule in rules:
        (target,) = [t for t in targets if depends_on(t, "rule", rule)]
        assert depends_on(target, "arn", queue)


def _controller_policy(run: ProgramRun) -> dict[str, dict]:
    (policy,) = [
        p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("karpenter-controller-policy")
    ]
    return {s["Sid"]: s for s in json_input(policy, "policy")["Statement"]}


def test_controller_policy_is_scoped_like_the_terraform_module(update_run: ProgramRun) -> None:
    statements = _controller_policy(update_run)
    (node_role,) = [r for r in update_run.of_type("aws:iam/role:Role") if r.name.endswith("karpenter-node-role")]
    owned = "kubernetes.io/cluster/agentic-dev"
    pass_role = statements["AllowPassingInstanceRole"]
    assert pass_role["Action"] == ["iam:PassRole"]
    assert pass_role["Resource"] == [node_role.outputs["arn"]]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    launch = statements["AllowScopedEC2InstanceActionsWithTags"]["Condition"]
    assert launch["StringEquals"][f"aws:RequestTag/{owned}"] == "owned"
    assert launch["StringLike"] == {"aws:RequestTag/karpenter.sh/nodepool": "*"}
    deletion = statements["AllowScopedDeletion"]
    assert set(deletion["Action"]) == {"ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"}
    assert deletion["Condition"]["StringEquals"] == {f"aws:ResourceTag/{owned}": "owned"}
    for sid in (
        "AllowScopedInstanceProfileCreationActions",
        "AllowScopedInstanceProfileTagActions",
        "AllowScopedInstanceProfileActions",
    ):
        condition = statements[sid]["Condition"]
        assert any(k.endswith(owned) for k in condition["StringEquals"]), sid
        assert any("karpenter.k8s.aws/ec2nodeclass" in k for k in condition["StringLike"]), sid
        assert statements[sid]["Resource"] == ["arn:aws:iam::123456789012:instance-profile/*"]
    queue = _one(update_run, "aws:sqs/queue:Queue")
    assert statements["AllowInterruptionQueueActions"]["Resource"] == [queue.outputs["arn"]]
    unconditioned_star = [s["Sid"] for s in statements.values() if s["Resource"] == "*" and "Condition" not in s]
    assert sorted(unconditioned_star) == ["AllowPricingReadActions", "AllowUnscopedInstanceProfileListAction"]


def test_helm_releases_are_pinned_and_configured(update_run: ProgramRun) -> None:
    crds, controller = _release(update_run, "karpenter-crd"), _release(update_run, "karpenter")
    assert (crds.inputs["chart"], crds.inputs["version"]) == (KARPENTER_CRD.chart, KARPENTER_CRD.version)
    assert (controller.inputs["chart"], controller.inputs["version"]) == (KARPENTER.chart, KARPENTER.version)
    assert KARPENTER.version == KARPENTER_CRD.version
    assert controller.inputs["skipCrds"] is True and crds.urn in controller.dependencies
    assert controller.inputs["namespace"] == "kube-system"
    settings = controller.inputs["values"]["settings"]
    assert settings["clusterName"] == "agentic-dev"
    assert settings["interruptionQueue"] == _one(update_run, "aws:sqs/queue:Queue").outputs["name"]
    assert controller.inputs["values"]["serviceAccount"]["name"] == "karpenter"
    for cr in (_one(update_run, NODE_POOL), _one(update_run, NODE_CLASS)):
        assert controller.urn in cr.dependencies  # the CRDs and webhooks exist before the objects
