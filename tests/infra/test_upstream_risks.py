"""Upstream facts behind the first `pulumi up` (and the last `pulumi destroy`), each checked on what the
program registers under mocks. Each test names the upstream file it encodes; the capacity of the system
nodes has its own file (tests/infra/test_upstream_capacity.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import ConfigError
from infra.images import DOCKERFILES
from infra.karpenter import DRAIN_LIMIT, SPOT_SERVICE
from infra.offline import ROOT_DIR, ProgramRun, Registration
from tests.infra.support import (
    HELM_RELEASE,
    json_input,
    k8s_objects_of,
    manifest,
    run_with,
    validate_manifest,
)

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
SPOT_ROLE = "aws:iam/serviceLinkedRole:ServiceLinkedRole"


def _release(run: ProgramRun, name: str) -> Registration:
    (release,) = [r for r in run.of_type(HELM_RELEASE) if r.inputs["name"] == name]
    return release


def _one(run: ProgramRun, type_: str) -> Registration:
    (resource,) = run.of_type(type_)
    return resource


def _needs(run: ProgramRun, resource: Registration) -> set[str]:
    """Every URN `resource` depends on, directly or through others: what `pulumi destroy` deletes after it."""
    by_urn = run.by_urn()
    seen: set[str] = set()
    todo = [resource.urn]
    while todo:
        current = by_urn.get(todo.pop())
        if current is None:
            continue
        direct = set(current.dependencies).union(*current.property_dependencies.values())
        for urn in direct - seen:
            seen.add(urn)
            todo.append(urn)
    return seen


def _minutes(duration: str) -> float:
    """A Go duration made of h/m/s parts ("45m", "1h30m") in minutes."""
    parts = re.findall(r"([0-9]+)([hms])", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(int(n) * {"h": 60, "m": 1, "s": 1 / 60}[u] for n, u in parts)


# --- The EC2 Spot service-linked role ----------------------------------------------------------------------


def test_spot_service_linked_role_is_opt_in_and_kept_on_destroy() -> None:
    """aws/karpenter-provider-aws v1.14.1: without AWSServiceRoleForEC2Spot, CreateFleet fails with
    `AuthFailure.ServiceLinkedRoleCreationNotPermitted`; pkg/providers/instance/instance.go then marks the whole
    spot capacity type unavailable (MarkCapacityTypeUnavailable) and publishes SpotSLRCreationFailed, so the
    NodePool silently runs on-demand only. website/content/en/docs/troubleshooting.md ("Missing Service Linked
    Role") and getting-started step06-add-spot-role.sh create it with `aws iam create-service-linked-role
    --aws-service-name spot.amazonaws.com || true`: the call fails (InvalidInput) where it exists already,
    which is why the program creates it only when asked (createSpotServiceLinkedRole) and retains it."""
    run = run_with({"createSpotServiceLinkedRole": "true"}, preview=False)
    assert run.error is None
    (role,) = run.of_type(SPOT_ROLE)
    assert role.inputs["awsServiceName"] == SPOT_SERVICE == "spot.amazonaws.com"
    assert role.retain_on_delete  # account-wide: other stacks' Spot launches may rely on it
    assert role.urn in _one(run, NODE_POOL).dependencies  # no Spot launch before it exists

    on_demand = run_with(
        {"createSpotServiceLinkedRole": "true", "karpenterCapacityTypes": '["on-demand"]'}, preview=False
    )
    assert on_demand.error is None and not on_demand.of_type(SPOT_ROLE)


def test_spot_service_linked_role_is_not_created_by_default(update_run: ProgramRun) -> None:
    assert not update_run.of_type(SPOT_ROLE)
    stack = (ROOT_DIR / "Pulumi.dev.yaml").read_text()
    assert yaml.safe_load(stack)["config"]["agentic-platform:createSpotServiceLinkedRole"] is False
    assert "aws iam create-service-linked-role --aws-service-name spot.amazonaws.com" in stack


# --- Resource requests for kube-prometheus-stack ---------------------------------------------------------

# kube-prometheus-stack 88.5.3 values.yaml (prometheus-community/helm-charts) leaves `resources: {}` at each
# of these paths, so its containers would run with no request and no limit.
CHART_RESOURCE_PATHS = (
    ("prometheus", "prometheusSpec", "resources"),
    ("alertmanager", "alertmanagerSpec", "resources"),
    ("prometheusOperator", "resources"),
    ("prometheusOperator", "prometheusConfigReloader", "resources"),
    ("prometheusOperator", "admissionWebhooks", "patch", "resources"),
    ("grafana", "resources"),  # grafana subchart 12.11.1
    ("grafana", "sidecar", "resources"),
    ("kube-state-metrics", "resources"),  # subchart 8.4.0
    ("prometheus-node-exporter", "resources"),  # subchart 4.56.1
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def _bytes(quantity: str) -> int:
    match = re.fullmatch(r"([0-9]+)(Ki|Mi|Gi)", quantity)
    assert match, quantity
    return int(match[1]) * _BINARY[match[2]]


def test_every_monitoring_container_requests_resources_and_caps_memory(program: ProgramRun) -> None:
    """kube-prometheus-stack 88.5.3 values.yaml: `resources: {}` at every path in CHART_RESOURCE_PATHS.
    Prometheus's memory grows with its series; with no request the scheduler places it blind, with no limit
    it can take the node's memory from Karpenter and CoreDNS."""
    values = _release(program, "kube-prometheus-stack").inputs["values"]
    for path in CHART_RESOURCE_PATHS:
        target: Any = values
        for key in path:
            assert isinstance(target, dict) and key in target, f"{'.'.join(path)} is not set"
            target = target[key]
        assert set(target["requests"]) == {"cpu", "memory"}, path
        assert _bytes(target["limits"]["memory"]) >= _bytes(target["requests"]["memory"]), path
    prometheus = values["prometheus"]["prometheusSpec"]["resources"]
    assert _bytes(prometheus["requests"]["memory"]) >= 2**30  # a week of a small cluster's series


# --- PodDisruptionBudgets --------------------------------------------------------------------------------


def _allowed_evictions(pdb: dict[str, Any], replicas: int) -> int:
    spec = pdb["spec"]
    if "maxUnavailable" in spec:
        return int(spec["maxUnavailable"])
    return replicas - int(spec["minAvailable"])


def test_every_deployment_has_a_pdb_that_lets_a_node_drain(program: ProgramRun, dev_config: dict[str, str]) -> None:
    """aws/karpenter-provider-aws v1.14.1 website/content/en/docs/concepts/disruption.md: the NodePool here
    consolidates (WhenEmptyOrUnderutilized, consolidateAfter 30s); the Termination Controller drains with the
    Eviction API, which honours PDBs, and "misconfigured PDBs ... may block draining indefinitely". So each
    Deployment runs at least two replicas and has one PDB allowing at least one eviction (a drain proceeds)
    and fewer than all of them (the service never goes down for a drain). Valid policy/v1 (kubernetes-validate)."""
    minor = dev_config["agentic-platform:kubernetesVersion"]
    budgets = k8s_objects_of(program, "PodDisruptionBudget")
    minimum = {
        (h["metadata"]["namespace"], h["spec"]["scaleTargetRef"]["name"]): h["spec"]["minReplicas"]
        for h in k8s_objects_of(program, "HorizontalPodAutoscaler")
    }
    deployments = k8s_objects_of(program, "Deployment")
    assert len(deployments) == 6
    for deployment in deployments:
        namespace, name = deployment["metadata"]["namespace"], deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [
            pdb
            for pdb in budgets
            if pdb["metadata"]["namespace"] == namespace
            and pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(matching) == 1, f"{namespace}/{name} has {len(matching)} PDBs"
        validate_manifest(matching[0], minor)
        replicas = min(deployment["spec"]["replicas"], minimum.get((namespace, name), deployment["spec"]["replicas"]))
        allowed = _allowed_evictions(matching[0], replicas)
        assert 1 <= allowed < replicas, f"{namespace}/{name}: {allowed} of {replicas} may be evicted at once"
        # The replicas are spread over nodes, so one node's drain does not hold them all.
        keys = {c["topologyKey"] for c in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]}
        assert "kubernetes.io/hostname" in keys, name


# --- Destroy: Karpenter's instances and Prometheus's volume ------------------------------------------------


def test_karpenter_capacity_is_deleted_while_its_controller_still_runs(update_run: ProgramRun) -> None:
    """aws/karpenter-provider-aws v1.14.1 pkg/controllers/nodeclass/controller.go `finalize`: the EC2NodeClass
    keeps its `karpenter.k8s.aws/termination` finalizer while any NodeClaim uses it, and its NodeClaims'
    finalizers terminate their instances (docs/concepts/disruption.md, Termination Controller). Both need the
    controller, its IAM role and the system nodes it runs on: they must be deleted first (depend on them).
    pulumi/pulumi-kubernetes provider/pkg/await/await.go `Deletion`: a foreground delete that waits for the
    object to go, 300 s unless customTimeouts.delete says otherwise; draining and terminating nodes (bounded by
    the NodePool's terminationGracePeriod) takes longer."""
    node_pool, node_class = _one(update_run, NODE_POOL), _one(update_run, NODE_CLASS)
    karpenter = _release(update_run, "karpenter")
    (controller_role,) = [r for r in update_run.of_type("aws:iam/role:Role") if "karpenter-controller" in r.name]
    (node_group,) = update_run.of_type("aws:eks/nodeGroup:NodeGroup")
    for capacity in (node_pool, node_class):
        needs = _needs(update_run, capacity)
        assert {karpenter.urn, controller_role.urn, node_group.urn} <= needs, capacity.name
        assert _minutes(capacity.custom_timeouts["delete"]) > _minutes(DRAIN_LIMIT) + 5, capacity.name
    assert node_class.urn in node_pool.dependencies
    assert manifest(node_pool)["spec"]["template"]["spec"]["terminationGracePeriod"] == DRAIN_LIMIT


def _platform_and_monitoring(run: ProgramRun) -> Iterable[Registration]:
    yield _release(run, "kube-prometheus-stack")
    yield from (r for r in run.resources if r.type == "kubernetes:apps/v1:Deployment")


def test_what_runs_on_karpenter_nodes_is_deleted_before_them(update_run: ProgramRun) -> None:
    """Same sources: a drain evicts through PDBs. If the NodePool went first, the platform's pods could not be
    rescheduled (no NodePool, no new nodes) and their PDBs would hold the drain until terminationGracePeriod.
    Everything that may land on Karpenter's nodes depends on the NodePool, so it is deleted before it."""
    node_pool = _one(update_run, NODE_POOL)
    for resource in _platform_and_monitoring(update_run):
        assert node_pool.urn in _needs(update_run, resource), resource.name


def test_prometheus_volume_is_deleted_while_the_ebs_csi_driver_runs(update_run: ProgramRun) -> None:
    """prometheus-community/helm-charts kube-prometheus-stack 88.5.3 values.yaml:
    `prometheus.prometheusSpec.persistentVolumeClaimRetentionPolicy: {}` (the StatefulSet default, Retain):
    helm uninstall would leave the claim, and the gp3 StorageClass's `reclaimPolicy: Delete` only deletes the
    EBS volume when the claim is deleted while the EBS CSI controller runs. So the claim goes with the
    StatefulSet, and the release and the namespace (whose deletion removes any claim left) are deleted before
    the EBS CSI add-on and the StorageClass, each given time to finish."""
    stack = _release(update_run, "kube-prometheus-stack")
    retention = stack.inputs["values"]["prometheus"]["prometheusSpec"]["persistentVolumeClaimRetentionPolicy"]
    assert retention["whenDeleted"] == "Delete"
    (csi,) = [a for a in update_run.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "aws-ebs-csi-driver"]
    (storage_class,) = update_run.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    (namespace,) = [
        r for r in update_run.of_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == "monitoring"
    ]
    for resource in (stack, namespace):
        assert {csi.urn, storage_class.urn} <= _needs(update_run, resource), resource.name
        assert _minutes(resource.custom_timeouts["delete"]) >= 10, resource.name


# --- aws-mcp's IAM --------------------------------------------------------------------------------------

_APP_ACTION = re.compile(r"""aws_errors\(\s*["']([a-z0-9-]+:[A-Za-z]+)["']""")


def _actions_called(package: Path) -> set[str]:
    """The IAM actions aws-mcp's tools name where they call AWS (`aws_errors("<service>:<Action>")`)."""
    return {m for f in package.glob("*.py") for m in _APP_ACTION.findall(f.read_text())}


def _aws_mcp_grants(run: ProgramRun) -> dict[str, set[str]]:
    (policy,) = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if "aws-mcp" in p.name]
    grants: dict[str, set[str]] = {}
    for statement in json_input(policy, "policy")["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in statement["Action"]:
            grants.setdefault(action, set()).update(resources)
    return grants


def test_aws_mcp_is_granted_exactly_what_its_tools_call() -> None:
    """apps/mcp_aws/s3.py calls only ListBuckets (s3:ListAllMyBuckets): no object is read or written, so no
    s3:GetObject, s3:PutObject or s3:ListBucket. Glue jobs may be started and inspected only by exact name."""
    called = _actions_called(ROOT_DIR / "apps" / "mcp_aws")
    assert {a for a in called if a.startswith("s3:")} == {"s3:ListAllMyBuckets"}
    run = run_with({"awsMcpGlueJobs": '["nightly-etl"]'}, preview=False)
    assert run.error is None
    grants = _aws_mcp_grants(run)
    assert set(grants) == called
    job = "arn:aws:glue:us-west-2:123456789012:job/nightly-etl"
    assert grants["glue:StartJobRun"] == grants["glue:GetJobRun"] == {job}


def test_aws_mcp_starts_no_glue_job_by_default(update_run: ProgramRun) -> None:
    grants = _aws_mcp_grants(update_run)
    assert "glue:StartJobRun" not in grants and "glue:GetJobRun" not in grants
    assert {a for a in grants if a.startswith("s3:")} == {"s3:ListAllMyBuckets"}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("awsMcpGlueJobs", '["*"]', "no wildcards"),
        ("awsMcpGlueJobs", '["etl-*"]', "no wildcards"),
        ("awsMcpS3Buckets", '["team-data"]', "no longer read"),
    ],
)
def test_broad_aws_mcp_access_is_refused_by_name(key: str, value: str, message: str) -> None:
    run = run_with({key: value})
    assert isinstance(run.error, ConfigError)
    assert any(p.startswith(f"agentic-platform:{key}:") and message in p for p in run.error.problems)


# --- ECR lifecycle and the pushed manifests -------------------------------------------------------------


def test_lifecycle_never_selects_untagged_images(program: ProgramRun) -> None:
    """AWS ECR user guide, lifecycle_policy_parameters: `untagged` selects every image without a tag and `any`
    every image. The manifests an image index points to (per platform, and buildx's attestation manifests,
    docs.docker.com/build/metadata/attestations/attestation-storage) are untagged images of their own, and a
    rule does not follow the index to them: such rules could expire a child of a tag in use. Only a count over
    tagged images is safe."""
    policies = program.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert len(policies) == len(DOCKERFILES)
    for policy in policies:
        for rule in json.loads(policy.inputs["policy"])["rules"]:
            selection = rule["selection"]
            assert selection["tagStatus"] == "tagged", rule
            assert selection["countType"] == "imageCountMoreThan", rule


def test_images_are_pushed_as_single_manifests(program: ProgramRun) -> None:
    """pulumi/pulumi-docker-build v0.0.22 provider/internal/client.go: the embedded build sets
    `Attests: {"provenance": nil}` (no provenance attestation); `exec` mode runs the buildx CLI instead, whose
    default adds one (docs.docker.com/build/attestations/slsa-provenance, mode=min), making the push an index
    with an untagged attestation child. One platform and no exec: one manifest, nothing untagged."""
    images = program.of_type("docker-build:index:Image")
    assert len(images) == len(DOCKERFILES)
    for image in images:
        assert image.inputs["platforms"] == ["linux/amd64"], image.name
        assert image.inputs.get("exec") is False, image.name


# --- Grafana's address ----------------------------------------------------------------------------------


def test_grafana_cluster_ip_outputs_are_usable(program: ProgramRun) -> None:
    """A ClusterIP Service has no address outside the cluster: the output is the port-forward's local URL
    and the exact command, naming the Service the grafana subchart creates for this release."""
    command = program.exports["grafanaPortForward"].value
    assert command == "kubectl --namespace monitoring port-forward service/kube-prometheus-stack-grafana 3000:80"
    assert program.exports["grafanaUrl"].value == "http://localhost:3000"
    port = int(command.rsplit(" ", 1)[1].split(":")[0])
    assert program.exports["grafanaUrl"].value.endswith(f":{port}")
    assert ".svc.cluster.local" not in program.exports["grafanaUrl"].value


def test_grafana_alb_url_is_the_load_balancer() -> None:
    run = run_with({"grafanaExposure": "alb"}, preview=False)
    assert run.error is None
    (ingress,) = [
        r for r in run.of_type("kubernetes:networking.k8s.io/v1:Ingress") if r.inputs["metadata"]["name"] == "grafana"
    ]
    hostname = ingress.outputs["status"]["loadBalancer"]["ingress"][0]["hostname"]
    assert run.exports["grafanaUrl"].value == f"http://{hostname}"
    assert run.exports["grafanaPortForward"].value.startswith("kubectl --namespace monitoring port-forward")
