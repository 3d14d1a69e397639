"""Extra MCP servers from stack config (`extraMcpServers`): what the program registers for them is schema-valid,
meets PSS restricted, runs the bridge in front of the configured command, and is reachable only from the
agent core; a bad entry stops the program naming the entry and the field.

The worked example is the awslabs EKS server (config only: its image is not built here), with a second,
self-contained server beside it (no AWS, no egress)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import ConfigError
from infra.offline import ProgramRun
from policy.pod_security import restricted_violations
from policy.rules import evaluate
from tests.infra.netpol import Endpoint, Service, allowed, allowed_via_service
from tests.infra.support import (
    crd_validator,
    k8s_object,
    kubernetes_objects,
    manifest,
    run_with,
    stack_resources,
    validate_manifest,
)

APPS = "agentic"
REGISTRY = "123456789012.dkr.ecr.us-west-2.amazonaws.com/agentic-dev"
EKS_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["eks:DescribeCluster", "eks:ListClusters"], "Resource": "*"},
    ],
}
EXTRA: list[dict[str, Any]] = [
    {
        "name": "eks",
        "image": f"{REGISTRY}/eks-mcp:0.1.25",
        "command": "/opt/eks-mcp/bin/awslabs.eks-mcp-server",
        "args": ["--allow-sensitive-data-access"],
        "env": {
            "FASTMCP_LOG_LEVEL": "ERROR",
            "EKS_API_TOKEN": {"secretKeyRef": {"name": "eks-mcp", "key": "token"}},
        },
        "aws": {"policy": EKS_POLICY},
    },
    {
        "name": "everything",
        "image": f"{REGISTRY}/everything-mcp@sha256:{'ab' * 32}",
        "command": "node",
        "args": ["/opt/everything/dist/index.js", "stdio"],
        "replicas": 3,
        "timeoutSeconds": 120,
    },
]


def _pod(name: str, namespace: str = APPS, ip: str = "10.0.0.20") -> Endpoint:
    return Endpoint(ip, namespace, {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "agentic-platform"})


AGENT, FRONTEND = _pod("agent-core", ip="10.0.0.10"), _pod("frontend", ip="10.0.0.11")
EKS, EVERYTHING = _pod("mcp-eks", ip="10.0.0.30"), _pod("mcp-everything", ip="10.0.0.31")
OTHER_SERVERS = [_pod("aws-mcp", ip="10.0.0.12"), _pod("k8s-mcp", "k8s-admin", ip="10.0.32.15")]
STRANGER = Endpoint("10.0.64.9", "default", {"app": "curious"})
PROMETHEUS = Endpoint("10.0.64.7", "monitoring", {"app.kubernetes.io/name": "prometheus"})
COREDNS = Endpoint("10.0.64.2", "kube-system", {"k8s-app": "kube-dns"})
INTERNET = Endpoint("52.94.133.131")
POD_IDENTITY = Endpoint("169.254.170.23")


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    program = run_with({"extraMcpServers": json.dumps(EXTRA)}, preview=False)
    if program.error is not None:
        raise program.error
    return program


def _component_objects(run: ProgramRun) -> list[dict[str, Any]]:
    (component,) = run.of_type("agentic:platform:ExtraMcpServers")
    return [manifest(r) for r in kubernetes_objects(run) if r.parent == component.urn]


def _policies(run: ProgramRun) -> list[dict[str, Any]]:
    return [manifest(r) for r in kubernetes_objects(run) if r.inputs.get("kind") == "NetworkPolicy"]


def test_every_object_is_schema_valid(run: ProgramRun) -> None:
    objects = _component_objects(run)
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(
        ["NetworkPolicy"]  # the agent core's way out to them
        + ["NetworkPolicy", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "ServiceMonitor"] * 2
        + ["ServiceAccount"]  # eks only: it has an AWS role
    )
    monitor_schema = crd_validator("servicemonitor-v1.json")
    for document in objects:
        if document["kind"] == "ServiceMonitor":
            assert list(monitor_schema.iter_errors(document)) == []
        else:
            validate_manifest(document, "1.35")


def test_their_pods_meet_the_restricted_profile_and_run_the_bridge(run: ProgramRun) -> None:
    for entry in EXTRA:
        deployment = k8s_object(run, "Deployment", f"mcp-{entry['name']}", APPS)
        spec = deployment["spec"]["template"]["spec"]
        assert restricted_violations(spec) == [], entry["name"]
        (container,) = spec["containers"]
        assert container["image"] == entry["image"]
        assert container["command"] == ["python", "-m", "apps.mcp_bridge"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["envFrom"] == [{"configMapRef": {"name": f"mcp-{entry['name']}-config"}}]
        assert {"name": "mcp-token", "mountPath": "/etc/agentic/mcp-token", "readOnly": True} in container[
            "volumeMounts"
        ]
        assert deployment["spec"]["replicas"] == entry.get("replicas", 2)


def test_the_bridge_is_told_which_server_to_run_and_passes_it_only_its_own_variables(run: ProgramRun) -> None:
    config = k8s_object(run, "ConfigMap", "mcp-eks-config", APPS)["data"]
    assert config["AGENTIC_BRIDGE_NAME"] == "eks" and config["AGENTIC_BRIDGE_SERVICE"] == "mcp-eks-service"
    assert config["AGENTIC_BRIDGE_COMMAND"] == "/opt/eks-mcp/bin/awslabs.eks-mcp-server"
    assert json.loads(config["AGENTIC_BRIDGE_ARGS"]) == ["--allow-sensitive-data-access"]
    assert config["AGENTIC_BRIDGE_PASS_ENV"].split(",") == [
        "FASTMCP_LOG_LEVEL",
        "EKS_API_TOKEN",
        "AWS_REGION",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    ]
    assert config["AGENTIC_MCP_TOKEN_FILE"] == "/etc/agentic/mcp-token/token" and config["AWS_REGION"] == "us-west-2"
    (container,) = k8s_object(run, "Deployment", "mcp-eks", APPS)["spec"]["template"]["spec"]["containers"]
    assert container["env"] == [
        {"name": "FASTMCP_LOG_LEVEL", "value": "ERROR"},
        {"name": "EKS_API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "eks-mcp", "key": "token"}}},
    ]
    assert config["AGENTIC_TOOL_TIMEOUT_SECONDS"] == "30"
    plain = k8s_object(run, "ConfigMap", "mcp-everything-config", APPS)["data"]
    assert plain["AGENTIC_BRIDGE_PASS_ENV"] == "" and "AWS_REGION" not in plain
    assert plain["AGENTIC_TOOL_TIMEOUT_SECONDS"] == "120"


def test_they_are_reachable_only_from_the_agent_core(run: ProgramRun) -> None:
    policies = _policies(run)
    for server in (EKS, EVERYTHING):
        assert allowed(policies, AGENT, server, 8000)
        assert allowed(policies, PROMETHEUS, server, 8000)
        for caller in (FRONTEND, STRANGER, *OTHER_SERVERS, EKS, EVERYTHING):
            if caller is not server:
                assert not allowed(policies, caller, server, 8000), (caller, server)
        impostor = _pod("agent-core", namespace="default")
        assert not allowed(policies, impostor, server, 8000)
        # As the agent core really connects: the Service's ClusterIP, port 80 to the pods' 8000.
        service = Service("172.20.20.1", 80, 8000, APPS, server.labels, (server,))
        assert allowed_via_service(policies, AGENT, service)
        assert not allowed_via_service(policies, FRONTEND, service)
    # The platform's own policy for the agent core lets it reach only its own servers: it is the component's
    # extra policy that opens the way, and only to these two.
    without = [p for p in policies if p["metadata"]["name"] != "agent-core-extra-mcp-servers"]
    assert not allowed(without, AGENT, EKS, 8000)
    assert not allowed(policies, AGENT, _pod("mcp-other", ip="10.0.0.40"), 8000)


def test_egress_is_only_what_the_entry_asks_for(run: ProgramRun) -> None:
    policies = _policies(run)
    # eks has an AWS role: names, HTTPS to AWS and the cluster's endpoint, and the Pod Identity agent.
    assert allowed(policies, EKS, COREDNS, 53, "UDP")
    assert allowed(policies, EKS, INTERNET, 443) and not allowed(policies, EKS, INTERNET, 80)
    assert allowed(policies, EKS, POD_IDENTITY, 80)
    # everything asked for nothing: no way out at all.
    for destination, port, protocol in ((COREDNS, 53, "UDP"), (INTERNET, 443, "TCP"), (POD_IDENTITY, 80, "TCP")):
        assert not allowed(policies, EVERYTHING, destination, port, protocol)
    assert not allowed(policies, EVERYTHING, AGENT, 8000)


def test_an_entry_with_aws_gets_a_pod_identity_role_with_exactly_its_policy(run: ProgramRun) -> None:
    (association,) = [
        a for a in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation") if "mcp-eks" in str(a.inputs)
    ]
    assert association.inputs["namespace"] == APPS and association.inputs["serviceAccount"] == "mcp-eks"
    (policy,) = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-extra-mcp-eks-policy")]
    assert json.loads(policy.inputs["policy"]) == EKS_POLICY
    account = k8s_object(run, "ServiceAccount", "mcp-eks", APPS)
    assert account["automountServiceAccountToken"] is False
    spec = k8s_object(run, "Deployment", "mcp-eks", APPS)["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == "mcp-eks"
    assert "serviceAccountName" not in k8s_object(run, "Deployment", "mcp-everything", APPS)["spec"]["template"]["spec"]


def test_the_policy_pack_passes_them(run: ProgramRun) -> None:
    assert evaluate(stack_resources(run)) == []


def test_their_urls_are_exported_for_the_agent_core(run: ProgramRun) -> None:
    assert run.exports["extraMcpServers"].value == {
        "eks": f"http://mcp-eks-service.{APPS}.svc.cluster.local/mcp",
        "everything": f"http://mcp-everything-service.{APPS}.svc.cluster.local/mcp",
    }


def test_the_dev_stack_deploys_none(update_run: ProgramRun) -> None:
    (component,) = update_run.of_type("agentic:platform:ExtraMcpServers")
    assert update_run.children(component) == []


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({**EXTRA[1], "image": f"{REGISTRY}/everything-mcp:latest"}, "[0] (everything).image: "),
        ({**EXTRA[1], "image": f"{REGISTRY}/everything-mcp"}, "must name a tag other than latest, or a digest"),
        ({**EXTRA[1], "name": "aws"}, "[0] (aws).name: 'aws' is one of the platform's own servers"),
        ({**EXTRA[1], "name": "Bad_Name"}, "[0] (Bad_Name).name: 'Bad_Name' is malformed"),
        ({**EXTRA[1], "command": ""}, "[0] (everything).command: required"),
        ({**EXTRA[1], "env": {"AGENTIC_MCP_TOKEN": "x"}}, "env.AGENTIC_MCP_TOKEN: is not a variable an entry may set"),
        ({**EXTRA[1], "env": {"X": {"secretKeyRef": {"name": "s"}}}}, "env.X: secretKeyRef takes exactly name and key"),
        ({**EXTRA[1], "replicas": 1}, "replicas: must be an integer from 2 to 10"),
        ({**EXTRA[1], "aws": {"policy": {"Statement": []}}}, "aws.policy: must be an IAM policy document"),
        ({**EXTRA[1], "sidecar": True}, "[0] (everything).sidecar: is not a field"),
    ],
)
def test_a_bad_entry_stops_the_program_naming_the_entry_and_field(entry: dict[str, Any], problem: str) -> None:
    program = run_with({"extraMcpServers": json.dumps([entry])}, preview=True)
    assert isinstance(program.error, ConfigError)
    assert any(
        line.startswith("agentic-platform:extraMcpServers: ") and problem in line for line in program.error.problems
    )
    assert program.resources == [], "nothing is declared from a bad configuration"


def test_every_problem_of_every_entry_is_reported_together() -> None:
    entries = [{**EXTRA[1], "image": "x:latest"}, {**EXTRA[1], "command": ""}, EXTRA[1]]
    program = run_with({"extraMcpServers": json.dumps(entries)}, preview=True)
    assert isinstance(program.error, ConfigError)
    assert [line for line in program.error.problems if "extraMcpServers" in line] == [
        "agentic-platform:extraMcpServers: [0] (everything).image: "
        "'x:latest' must name a tag other than latest, or a digest, so every pod runs the same code",
        "agentic-platform:extraMcpServers: [1] (everything).command: required, a non-empty string",
    ]


def test_the_agent_core_lists_them_in_agentic_mcp_servers(run: ProgramRun) -> None:
    from apps.agent_core.gateway.config import parse_mcp_servers

    data = k8s_object(run, "ConfigMap", "agent-core-config", APPS)["data"]
    servers = parse_mcp_servers(data["AGENTIC_MCP_SERVERS"])
    assert {name: servers[name] for name in ("eks", "everything")} == run.exports["extraMcpServers"].value
