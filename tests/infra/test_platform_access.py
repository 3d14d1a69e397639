"""Who may reach what: NetworkPolicies (evaluated over a connection matrix), k8s-mcp's RBAC (against the
calls apps/mcp_kubernetes makes), and the ALB Ingress."""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from pathlib import Path

import pytest
from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH

from apps.common.service import KEEP_ALIVE_SECONDS
from infra.ingress import A2A_AGENT_CARD_PATH
from infra.offline import ProgramRun, Secret
from tests.infra.netpol import Endpoint, Service, allowed, allowed_via_service
from tests.infra.support import k8s_object, k8s_objects_of, run_with

ROOT = Path(__file__).resolve().parents[2]
APPS, ADMIN = "agentic", "k8s-admin"


def _pod(name: str, namespace: str = APPS, ip: str = "10.0.0.20") -> Endpoint:
    return Endpoint(ip, namespace, {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "agentic-platform"})


AGENT, FRONTEND = _pod("agent-core", ip="10.0.0.10"), _pod("frontend", ip="10.0.0.11")
MCP = {
    "aws-mcp": _pod("aws-mcp", ip="10.0.0.12"),
    "database-mcp": _pod("database-mcp", ip="10.0.0.13"),
    "custom-mcp": _pod("custom-mcp", ip="10.0.0.14"),
    "k8s-mcp": _pod("k8s-mcp", ADMIN, ip="10.0.32.15"),
}
ALB = Endpoint("10.0.96.10")  # a load balancer node in a public subnet
STRANGER = Endpoint("10.0.64.9", "default", {"app": "curious"})  # any other pod in the cluster
PROMETHEUS = Endpoint("10.0.64.7", "monitoring", {"app.kubernetes.io/name": "prometheus"})
COREDNS = Endpoint("10.0.64.2", "kube-system", {"k8s-app": "kube-dns"})
INTERNET = Endpoint("52.94.133.131")  # an AWS API (or wttr.in) address
POD_IDENTITY = Endpoint("169.254.170.23")
API_SERVER_ENI = Endpoint("10.0.1.200")  # an EKS control-plane ENI in a private subnet, behind the Service


def _kubernetes_service(run: ProgramRun) -> Service:
    """`default/kubernetes`, as in-cluster clients reach it (KUBERNETES_SERVICE_HOST): the first address of the
    cluster's service range (kubernetes/kubernetes pkg/controlplane/services.go ServiceIPRange), port 443, no
    selector (its endpoints are the control plane's ENIs)."""
    (cluster,) = run.of_type("aws:eks/cluster:Cluster")
    service_range = IPv4Network(cluster.inputs["kubernetesNetworkConfig"]["serviceIpv4Cidr"])
    return Service(
        cluster_ip=str(service_range.network_address + 1),
        port=443,
        target_port=443,
        namespace="default",
        selector=None,
        endpoints=(API_SERVER_ENI,),
    )


def _mcp_service(name: str, namespace: str, cluster_ip: str) -> Service:
    """An MCP server's Service as infra/manifests.py writes it: port 80 to the container's port 8000."""
    labels = MCP[name].labels
    return Service(cluster_ip, port=80, target_port=8000, namespace=namespace, selector=labels, endpoints=(MCP[name],))


@pytest.fixture(scope="module")
def policies(update_run: ProgramRun) -> list[dict]:
    return k8s_objects_of(update_run, "NetworkPolicy")


def test_both_namespaces_deny_by_default(policies: list[dict]) -> None:
    defaults = [p for p in policies if p["metadata"]["name"] == "default-deny"]
    assert {p["metadata"]["namespace"] for p in defaults} == {APPS, ADMIN}
    for policy in defaults:
        assert policy["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_the_load_balancer_reaches_only_the_dashboard_and_the_api(policies: list[dict]) -> None:
    assert allowed(policies, ALB, AGENT, 8000)
    assert allowed(policies, ALB, FRONTEND, 8080)
    assert not allowed(policies, ALB, AGENT, 9000)
    for server in MCP.values():
        assert not allowed(policies, ALB, server, 8000)
    assert not allowed(policies, STRANGER, AGENT, 8000)  # other pods are not the load balancer


def test_only_the_agent_core_reaches_the_mcp_servers(policies: list[dict]) -> None:
    for name, server in MCP.items():
        assert allowed(policies, AGENT, server, 8000), name
        assert not allowed(policies, FRONTEND, server, 8000), name
        assert not allowed(policies, STRANGER, server, 8000), name
        for other_name, other in MCP.items():
            if other_name != name:
                assert not allowed(policies, other, server, 8000), (other_name, name)
    impostor = _pod("agent-core", namespace="default")  # the right labels in the wrong namespace
    assert not allowed(policies, impostor, MCP["k8s-mcp"], 8000)


def test_prometheus_scrapes_every_service_with_metrics(policies: list[dict]) -> None:
    for server in [AGENT, *MCP.values()]:
        assert allowed(policies, PROMETHEUS, server, 8000)
    assert not allowed(
        policies, Endpoint("10.0.64.8", "monitoring", {"app.kubernetes.io/name": "grafana"}), AGENT, 8000
    )


def test_egress_only_where_needed(policies: list[dict], update_run: ProgramRun) -> None:
    kubernetes = _kubernetes_service(update_run)
    needs = {  # pod → (DNS, HTTPS out, Pod Identity agent, Kubernetes API)
        "agent-core": (AGENT, True, True, True, False),
        "aws-mcp": (MCP["aws-mcp"], True, True, True, False),
        "custom-mcp": (MCP["custom-mcp"], True, True, True, False),
        "database-mcp": (MCP["database-mcp"], False, False, False, False),
        "k8s-mcp": (MCP["k8s-mcp"], True, False, False, True),
        "frontend": (FRONTEND, False, False, False, False),
    }
    for name, (pod, dns, https, identity, kubernetes_api) in needs.items():
        assert allowed(policies, pod, COREDNS, 53, "UDP") is dns, name
        assert allowed(policies, pod, INTERNET, 443) is https, name
        assert not allowed(policies, pod, INTERNET, 80), name
        assert allowed(policies, pod, POD_IDENTITY, 80) is identity, name
        # Judged at the Service address, as the CNI judges it: an ipBlock for the control plane's ENIs (the
        # VPC) does not let a connection to the `kubernetes` ClusterIP through.
        assert allowed_via_service(policies, pod, kubernetes) is (kubernetes_api or https), name


def test_the_agent_core_reaches_the_mcp_servers_through_their_services(policies: list[dict]) -> None:
    """What agent-core really opens (AGENTIC_MCP_SERVERS names the Services): ClusterIP:80, target port 8000."""
    for index, (name, pod) in enumerate(MCP.items()):
        service = _mcp_service(name, pod.namespace or APPS, f"172.20.10.{index + 1}")
        assert allowed_via_service(policies, AGENT, service), name
        assert not allowed_via_service(policies, FRONTEND, service), name
        assert not allowed_via_service(policies, STRANGER, service), name


def test_k8s_mcp_reaches_only_the_api_servers_service_address(policies: list[dict], update_run: ProgramRun) -> None:
    k8s_mcp = MCP["k8s-mcp"]
    assert allowed_via_service(policies, k8s_mcp, _kubernetes_service(update_run))
    # Nothing else in the VPC on 443: the control plane's ENIs are reached only through the Service.
    assert not allowed(policies, k8s_mcp, API_SERVER_ENI, 443)
    assert not allowed(policies, k8s_mcp, ALB, 443)


def test_network_policies_are_enforced_by_the_cni(program: ProgramRun) -> None:
    (addon,) = [a for a in program.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "vpc-cni"]
    assert '"enableNetworkPolicy": "true"' in addon.inputs["configurationValues"]


def test_an_internal_alb_admits_its_private_subnets() -> None:
    run = run_with({"ingressScheme": "internal"}, preview=False)
    assert run.error is None
    (policy,) = [p for p in k8s_objects_of(run, "NetworkPolicy") if p["metadata"]["name"] == "agent-core"]
    sources = {block["ipBlock"]["cidr"] for block in policy["spec"]["ingress"][0]["from"]}
    assert sources == {"10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"}


# --- RBAC ----------------------------------------------------------------------------------------------------

_CALL = re.compile(r'apis\.call\("(\w+)", "([\w/]+)"(?:, group="(\w*)")?(?:, namespace=(\w+))?')


def _app_calls() -> set[tuple[str, str, str, bool]]:
    """(verb, resource, group, namespaced) for every Kubernetes call the server makes."""
    calls = set()
    for path in (ROOT / "apps" / "mcp_kubernetes").glob("*.py"):
        for verb, resource, group, namespace in _CALL.findall(path.read_text()):
            calls.add((verb, resource, group or "", bool(namespace)))
    return calls


def _grants(rules: list[dict], verb: str, resource: str, group: str) -> bool:
    return any(verb in r["verbs"] and resource in r["resources"] and group in r["apiGroups"] for r in rules)


def test_cluster_role_reads_exactly_what_the_tools_read(program: ProgramRun) -> None:
    role = k8s_object(program, "ClusterRole", "k8s-mcp-read")
    binding = k8s_object(program, "ClusterRoleBinding", "k8s-mcp-read")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "k8s-mcp", "namespace": ADMIN}]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "k8s-mcp-read",
    }
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule
        assert "*" not in rule["resources"] and "*" not in rule["apiGroups"] and "secrets" not in rule["resources"]
    granted = {(r, g) for rule in role["rules"] for r in rule["resources"] for g in rule["apiGroups"]}
    assert granted == {("pods", ""), ("pods/log", ""), ("events", ""), ("nodes", ""), ("deployments", "apps")}
    calls = _app_calls()
    assert ("patch", "deployments/scale", "apps", True) in calls  # the pattern still finds the server's calls
    for verb, resource, group, _ in calls:
        if resource != "deployments/scale":
            assert _grants(role["rules"], verb, resource, group), (verb, resource)


def test_scaling_is_granted_only_in_allow_listed_namespaces(program: ProgramRun) -> None:
    assert k8s_objects_of(program, "Role") == [] and k8s_objects_of(program, "RoleBinding") == []
    for cluster_role in k8s_objects_of(program, "ClusterRole"):
        assert not _grants(cluster_role["rules"], "patch", "deployments/scale", "apps")
        assert not _grants(cluster_role["rules"], "patch", "deployments", "apps")


def test_scale_roles_follow_configuration() -> None:
    run = run_with({"scalableNamespaces": '["staging", "agentic"]'}, preview=False)
    assert run.error is None
    roles = {r["metadata"]["namespace"]: r for r in k8s_objects_of(run, "Role")}
    bindings = {b["metadata"]["namespace"]: b for b in k8s_objects_of(run, "RoleBinding")}
    assert set(roles) == set(bindings) == {"staging", "agentic"}
    scale_calls = {(v, r, g) for v, r, g, _ in _app_calls() if r == "deployments/scale"}
    assert scale_calls == {("get", "deployments/scale", "apps"), ("patch", "deployments/scale", "apps")}
    for namespace, role in roles.items():
        assert role["rules"] == [{"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]}]
        assert bindings[namespace]["subjects"] == [{"kind": "ServiceAccount", "name": "k8s-mcp", "namespace": ADMIN}]
        assert bindings[namespace]["roleRef"]["kind"] == "Role"


@pytest.mark.parametrize("namespace", ["kube-system", "k8s-admin"])
def test_the_cluster_itself_cannot_be_made_scalable(namespace: str) -> None:
    run = run_with({"scalableNamespaces": f'["{namespace}"]'})
    assert run.error is not None and "scalableNamespaces" in str(run.error)


# --- Ingress ---------------------------------------------------------------------------------------------------

A = "alb.ingress.kubernetes.io/"


def test_ingress_routes_the_dashboard_and_the_api(program: ProgramRun) -> None:
    ingress = k8s_object(program, "Ingress", "agentic-ingress", APPS)
    assert ingress["spec"]["ingressClassName"] == "alb"
    annotations = ingress["metadata"]["annotations"]
    assert annotations[A + "scheme"] == "internet-facing"
    assert annotations[A + "target-type"] == "ip"
    assert annotations[A + "healthcheck-path"] == "/health"
    assert annotations[A + "listen-ports"] == '[{"HTTP": 80}]'
    assert A + "certificate-arn" not in annotations and A + "group.name" not in annotations
    (rule,) = ingress["spec"]["rules"]
    routes = {p["path"]: (p["pathType"], p["backend"]["service"]) for p in rule["http"]["paths"]}
    assert routes == {
        "/": ("Prefix", {"name": "agentic-frontend-service", "port": {"number": 80}}),
        "/api": ("Prefix", {"name": "agent-core-service", "port": {"number": 80}}),
        "/.well-known/agent-card.json": ("Exact", {"name": "agent-core-service", "port": {"number": 80}}),
    }


def test_the_a2a_card_path_is_where_the_a2a_sdk_serves_and_fetches_it() -> None:
    assert A2A_AGENT_CARD_PATH == AGENT_CARD_WELL_KNOWN_PATH


def test_targets_keep_idle_connections_longer_than_the_load_balancer(program: ProgramRun) -> None:
    """Else a target closes a connection the ALB is about to reuse, and the ALB answers 502."""
    ingress = k8s_object(program, "Ingress", "agentic-ingress", APPS)
    attributes = dict(
        pair.split("=") for pair in ingress["metadata"]["annotations"][A + "load-balancer-attributes"].split(",")
    )
    idle_timeout = int(attributes["idle_timeout.timeout_seconds"])
    nginx = re.search(r"^\s*keepalive_timeout (\d+)s;", (ROOT / "docker" / "nginx.conf").read_text(), re.MULTILINE)
    assert nginx is not None
    assert idle_timeout < KEEP_ALIVE_SECONDS and idle_timeout < int(nginx.group(1))


def test_ingress_with_a_certificate_and_a_group() -> None:
    certificate = "arn:aws:acm:us-west-2:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    run = run_with(
        {
            "ingressCertificateArn": certificate,
            "ingressGroupName": "shared",
            "ingressAllowedCidrs": '["203.0.113.0/24"]',
        },
        preview=False,
    )
    assert run.error is None
    annotations = k8s_object(run, "Ingress", "agentic-ingress")["metadata"]["annotations"]
    assert annotations[A + "certificate-arn"] == certificate
    assert annotations[A + "listen-ports"] == '[{"HTTP": 80}, {"HTTPS": 443}]'
    assert annotations[A + "ssl-redirect"] == "443"
    assert annotations[A + "ssl-policy"].startswith("ELBSecurityPolicy-TLS13")
    assert annotations[A + "group.name"] == "shared"
    assert annotations[A + "inbound-cidrs"] == "203.0.113.0/24"
    assert run.exports["dashboardUrl"].value.startswith("https://")


def test_urls_come_from_the_load_balancer(program: ProgramRun) -> None:
    dashboard, api = program.exports["dashboardUrl"], program.exports["apiUrl"]
    if program.preview:
        assert not dashboard.known and not api.known
        return
    (ingress,) = [
        r
        for r in program.of_type("kubernetes:networking.k8s.io/v1:Ingress")
        if r.inputs["metadata"]["name"] == "agentic-ingress"
    ]
    host = ingress.outputs["status"]["loadBalancer"]["ingress"][0]["hostname"]
    assert (dashboard.value, api.value) == (f"http://{host}/", f"http://{host}/api")
    assert program.exports["apiKey"].secret and not isinstance(program.exports["apiKey"].value, Secret)


@pytest.mark.parametrize(
    ("key", "value"),
    [("ingressCertificateArn", "not-an-arn"), ("ingressGroupName", "Bad_Group"), ("ingressScheme", "public")],
)
def test_bad_ingress_configuration_is_rejected(key: str, value: str) -> None:
    run = run_with({key: value})
    assert run.error is not None and key in str(run.error)
