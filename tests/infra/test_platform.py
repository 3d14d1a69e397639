"""The platform's workloads: Deployments, Services, ServiceAccounts and their configuration, checked against
the services' own contracts (their settings, Service names, Host allow-lists, key file format, drain time)."""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import urlsplit

import pytest

from apps.agent_core.auth import ApiKeys
from apps.agent_core.gateway.config import parse_mcp_servers
from apps.common.security import service_host_names
from apps.common.service import GRACE_SECONDS
from apps.mcp_aws.server import SERVICE_NAME as AWS_SERVICE
from apps.mcp_custom.server import SERVICE_NAME as CUSTOM_SERVICE
from apps.mcp_database.server import SERVICE_NAME as DATABASE_SERVICE
from apps.mcp_kubernetes.server import SERVICE_NAME as K8S_SERVICE
from infra.offline import ProgramRun, Registration, Secret
from tests.infra.support import k8s_object, k8s_objects_of, kubernetes_objects, run_with

APPS = "agentic"
EXPECTED = {  # deployment → (namespace, replicas, Service, port, component)
    "agent-core": (APPS, 2, "agent-core-service", 8000, "api"),
    "aws-mcp": (APPS, 2, AWS_SERVICE, 8000, "mcp-server"),
    "database-mcp": (APPS, 2, DATABASE_SERVICE, 8000, "mcp-server"),
    "custom-mcp": (APPS, 2, CUSTOM_SERVICE, 8000, "mcp-server"),
    "k8s-mcp": ("k8s-admin", 2, K8S_SERVICE, 8000, "mcp-server"),
    "frontend": (APPS, 2, "agentic-frontend-service", 8080, "frontend"),
}
MCP_KEYS = {"aws": "aws-mcp", "database": "database-mcp", "custom": "custom-mcp", "kubernetes": "k8s-mcp"}
_CPU = re.compile(r"^([0-9]+)m$")
_MEMORY = re.compile(r"^([0-9]+)Mi$")


def _deployments(run: ProgramRun) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in k8s_objects_of(run, "Deployment")}


def _config(run: ProgramRun, workload: str) -> dict[str, str]:
    namespace = EXPECTED[workload][0]
    data: dict[str, str] = k8s_object(run, "ConfigMap", f"{workload}-config", namespace)["data"]
    return data


def test_deployments_replicas_and_labels(program: ProgramRun) -> None:
    deployments = _deployments(program)
    assert set(deployments) == set(EXPECTED)
    for name, (namespace, replicas, _, _, component) in EXPECTED.items():
        deployment = deployments[name]
        assert deployment["metadata"]["namespace"] == namespace
        assert deployment["spec"]["replicas"] == replicas
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == name
        assert labels["app.kubernetes.io/component"] == component
        assert labels["app.kubernetes.io/part-of"] == "agentic-platform"
        assert re.fullmatch(r"[0-9a-f]{16}", labels["app.kubernetes.io/version"])
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items() and "app.kubernetes.io/version" not in selector


def test_resources_are_bounded(program: ProgramRun) -> None:
    for name, deployment in _deployments(program).items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        resources = container["resources"]
        for bound in ("requests", "limits"):
            cpu = int(_CPU.fullmatch(resources[bound]["cpu"]).group(1))  # type: ignore[union-attr]
            memory = int(_MEMORY.fullmatch(resources[bound]["memory"]).group(1))  # type: ignore[union-attr]
            assert 100 <= cpu <= 500 and 128 <= memory <= 512, (name, bound, resources)
        assert (
            _CPU.fullmatch(resources["requests"]["cpu"]) and resources["requests"]["cpu"] <= resources["limits"]["cpu"]
        )


def test_probes_and_drain_match_the_services(program: ProgramRun) -> None:
    for name, deployment in _deployments(program).items():
        spec = deployment["spec"]["template"]["spec"]
        (container,) = spec["containers"]
        assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}, name
        assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}, name
        assert container["ports"] == [{"name": "http", "containerPort": EXPECTED[name][3], "protocol": "TCP"}]
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        # The pod keeps serving through the preStop sleep, then uvicorn drains for up to GRACE_SECONDS.
        assert pre_stop >= 5
        assert spec["terminationGracePeriodSeconds"] >= pre_stop + GRACE_SECONDS, name
    # The agent core then hands its runs off for up to AGENTIC_DRAIN_SECONDS: its grace covers that too.
    agent_core = _deployments(program)["agent-core"]["spec"]["template"]["spec"]
    drain = int(_config(program, "agent-core")["AGENTIC_DRAIN_SECONDS"])
    pre_stop = agent_core["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert drain >= 10 and agent_core["terminationGracePeriodSeconds"] >= pre_stop + GRACE_SECONDS + drain


def test_multi_replica_services_spread_across_zones_and_nodes(program: ProgramRun) -> None:
    # Every service runs at least two replicas (so that a PDB can let a node drain without an outage).
    for name, deployment in _deployments(program).items():
        spread = {c["topologyKey"]: c for c in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]}
        assert spread["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "DoNotSchedule", name
        assert spread["topology.kubernetes.io/zone"]["maxSkew"] == 1
        assert "kubernetes.io/hostname" in spread
        for constraint in spread.values():
            assert constraint["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == name


def test_services_are_named_as_in_the_design(program: ProgramRun) -> None:
    services = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in k8s_objects_of(program, "Service")}
    for name, (namespace, _, service_name, port, _) in EXPECTED.items():
        service = services[(namespace, service_name)]
        assert service["spec"]["type"] == "ClusterIP"
        assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
        assert service["spec"]["selector"]["app.kubernetes.io/name"] == name
        container_port = _deployments(program)[name]["spec"]["template"]["spec"]["containers"][0]["ports"][0]
        assert (container_port["name"], container_port["containerPort"]) == ("http", port)


def test_agent_core_reaches_every_mcp_server_through_a_host_it_accepts(program: ProgramRun) -> None:
    # The agent core's own parser: it would refuse to start on a malformed value.
    urls = parse_mcp_servers(_config(program, "agent-core")["AGENTIC_MCP_SERVERS"])
    assert set(urls) == set(MCP_KEYS)
    for key, workload in MCP_KEYS.items():
        namespace, _, service_name, _, _ = EXPECTED[workload]
        url = urlsplit(urls[key])
        assert (url.scheme, url.port, url.path) == ("http", None, "/mcp")
        # The server builds its Host allow-list from its SERVICE_NAME and AGENTIC_NAMESPACE.
        assert _config(program, workload)["AGENTIC_NAMESPACE"] == namespace
        assert url.hostname in service_host_names(service_name, namespace)


def test_agent_core_configuration(update_run: ProgramRun) -> None:
    config = _config(update_run, "agent-core")
    (runs,) = [t for t in update_run.of_type("aws:dynamodb/table:Table") if t.name.endswith("-runs")]
    assert config["AGENTIC_STATE"] == f"dynamodb://{runs.outputs['name']}"
    assert config["AGENTIC_REASONER"] == "bedrock"
    assert config["AGENTIC_BEDROCK_MODEL_ID"] == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert config["AWS_REGION"] == "us-west-2"
    assert "AGENTIC_CORS_ORIGINS" not in config  # the dashboard is served from the same ALB origin
    (container,) = _deployments(update_run)["agent-core"]["spec"]["template"]["spec"]["containers"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    directory = config["AGENTIC_API_KEYS_FILE"].rsplit("/", 1)[0]
    assert mounts[directory]["readOnly"] is True
    token = [e for e in container["env"] if e["name"] == "AGENTIC_MCP_TOKEN"]
    assert token == [
        {"name": "AGENTIC_MCP_TOKEN", "valueFrom": {"secretKeyRef": {"name": "mcp-token", "key": "token"}}}
    ]


def test_each_server_configuration(update_run: ProgramRun) -> None:
    (kv,) = [t for t in update_run.of_type("aws:dynamodb/table:Table") if t.name.endswith("-kv")]
    assert _config(update_run, "custom-mcp")["AGENTIC_KV_STORE"] == f"dynamodb://{kv.outputs['name']}"
    database = _config(update_run, "database-mcp")
    assert database["AGENTIC_DATABASE_PATH"] == "/app/data/sample.db"
    assert database["AGENTIC_BUILD_SAMPLE_DATABASE"] == "false"
    k8s_mcp = _config(update_run, "k8s-mcp")
    assert k8s_mcp["AGENTIC_NAMESPACE"] == "k8s-admin" and k8s_mcp["AGENTIC_SCALABLE_NAMESPACES"] == ""
    for workload in MCP_KEYS.values():
        config = _config(update_run, workload)
        assert config["AGENTIC_MCP_TOKEN_FILE"] == "/etc/agentic/mcp-token/token"
        (container,) = _deployments(update_run)[workload]["spec"]["template"]["spec"]["containers"]
        assert container["envFrom"] == [{"configMapRef": {"name": f"{workload}-config"}}]
        assert any(m["mountPath"] == "/etc/agentic/mcp-token" for m in container["volumeMounts"])


def test_configuration_follows_the_stack() -> None:
    run = run_with({"scalableNamespaces": '["staging", "agentic"]', "bedrockModelId": None}, preview=False)
    assert run.error is None
    assert _config(run, "k8s-mcp")["AGENTIC_SCALABLE_NAMESPACES"] == "staging,agentic"
    assert _config(run, "agent-core")["AGENTIC_BEDROCK_MODEL_ID"] == "us.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_a_configuration_change_rolls_the_pods() -> None:
    def config_hash(run: ProgramRun) -> str:
        template = _deployments(run)["k8s-mcp"]["spec"]["template"]["metadata"]
        return str(template["annotations"]["agentic.io/config-sha256"])

    before = run_with({}, preview=False)
    after = run_with({"scalableNamespaces": '["staging"]'}, preview=False)
    assert re.fullmatch(r"[0-9a-f]{64}", config_hash(before))
    assert config_hash(before) != config_hash(after)


def test_service_accounts_are_bound_to_their_pod_identity_roles(program: ProgramRun) -> None:
    accounts = {
        (a["metadata"]["namespace"], a["metadata"]["name"]): a for a in k8s_objects_of(program, "ServiceAccount")
    }
    assert set(accounts) == {(APPS, "agent-core"), (APPS, "aws-mcp"), (APPS, "custom-mcp"), ("k8s-admin", "k8s-mcp")}
    associations = {
        (a.inputs["namespace"], a.inputs["serviceAccount"])
        for a in program.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    }
    for key, account in accounts.items():
        kubernetes_api = key[1] == "k8s-mcp"
        assert account["automountServiceAccountToken"] is kubernetes_api
        assert (key in associations) is not kubernetes_api  # k8s-mcp calls no AWS API and has no role
    for name, deployment in _deployments(program).items():
        spec = deployment["spec"]["template"]["spec"]
        assert spec["automountServiceAccountToken"] is (name == "k8s-mcp")
        if (EXPECTED[name][0], name) in accounts:
            assert spec["serviceAccountName"] == name
        else:
            assert "serviceAccountName" not in spec  # database-mcp and the frontend call nothing


def test_pods_are_created_after_their_pod_identity_associations(program: ProgramRun) -> None:
    deployments = {
        r.inputs["metadata"]["name"]: r for r in kubernetes_objects(program) if r.inputs["kind"] == "Deployment"
    }
    associations = program.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    app_associations = [a for a in associations if a.inputs["namespace"] in (APPS, "k8s-admin")]
    assert len(app_associations) == 3
    for association in app_associations:
        assert association.urn in deployments["agent-core"].dependencies


def _secret_data(run: ProgramRun, name: str, namespace: str) -> dict[str, str]:
    (secret,) = [
        r
        for r in run.of_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["name"] == name and r.inputs["metadata"]["namespace"] == namespace
    ]
    data = secret.inputs["stringData"]
    assert isinstance(data, Secret)
    return dict(data.value)


def _generated(run: ProgramRun, suffix: str) -> Registration:
    (password,) = [r for r in run.of_type("random:index/randomPassword:RandomPassword") if r.name.endswith(suffix)]
    return password


def test_api_key_secret_holds_only_a_digest(update_run: ProgramRun, tmp_path: pytest.TempPathFactory) -> None:
    exported = update_run.exports["apiKey"]
    assert exported.secret and exported.value.startswith("awp_")
    keys_file = _secret_data(update_run, "agent-core-api-keys", APPS)["keys.json"]
    assert exported.value not in keys_file
    entries = json.loads(keys_file)
    # Beside the operator's, Alertmanager's key with the trigger role only (tests/infra/test_alerting.py).
    assert [entry["name"] for entry in entries] == ["operator", "alertmanager"]
    assert entries[0] == {
        "name": "operator",
        "roles": ["operator", "approver"],
        "sha256": hashlib.sha256(exported.value.encode()).hexdigest(),
    }
    # The agent core's own loader accepts the file and authenticates the exported key with it.
    path = tmp_path / "keys.json"  # type: ignore[operator]
    path.write_text(keys_file)
    principal = ApiKeys.load(path, None).authenticate(f"Bearer {exported.value}")
    assert principal is not None and principal.can("operator") and principal.can("approver")


def test_generated_credentials_never_appear_in_the_clear(update_run: ProgramRun) -> None:
    key = update_run.exports["apiKey"].value
    token = _generated(update_run, "mcp-token").outputs["result"]
    assert _secret_data(update_run, "mcp-token", APPS)["token"] == token
    assert _secret_data(update_run, "mcp-token", "k8s-admin")["token"] == token
    for resource in update_run.resources:
        if resource.type == "random:index/randomPassword:RandomPassword":
            continue
        shown = json.dumps(resource.inputs, default=lambda v: "<secret>" if isinstance(v, Secret) else str(v))
        assert key not in shown and token not in shown, resource.name


def test_operator_key_is_long_and_random(program: ProgramRun) -> None:
    key = _generated(program, "operator-api-key")
    assert key.inputs["length"] >= 43 and key.inputs["special"] is False
