from __future__ import annotations

import pytest

from apps.common.tools import ToolError
from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.scaling import ScalePolicy, scale_deployment
from tests.support.fake_kube import FakeKube

POLICY = ScalePolicy(scalable_namespaces=frozenset({"k8s-admin", "agentic"}), max_replicas=10)
SCALE_PATH = "/apis/apps/v1/namespaces/k8s-admin/deployments/web/scale"


def web_replicas(kube: FakeKube) -> int | None:
    deployment = kube.state.deployment("k8s-admin", "web")
    assert deployment is not None and deployment.spec is not None
    return deployment.spec.replicas


def test_scales_through_the_scale_subresource(kube: FakeKube, access: ClusterAccess) -> None:
    result = scale_deployment(access, POLICY, "k8s-admin", "web", 5)

    assert (result.old_replicas, result.new_replicas, result.dry_run) == (3, 5, False)
    assert result.message == "Deployment k8s-admin/web now asks for 5 replicas (was 3)."
    assert web_replicas(kube) == 5
    assert kube.scale_patches_applied == 1
    (patch,) = kube.requests_to(SCALE_PATH, "PATCH")
    assert patch.body == {"spec": {"replicas": 5}}
    assert "dryRun" not in patch.query


def test_dry_run_is_validated_by_the_server_and_changes_nothing(kube: FakeKube, access: ClusterAccess) -> None:
    result = scale_deployment(access, POLICY, "k8s-admin", "web", 0, dry_run=True)

    assert (result.old_replicas, result.new_replicas, result.dry_run) == (3, 0, True)
    assert "nothing was changed" in result.message
    assert web_replicas(kube) == 3
    assert (kube.scale_patches_dry_run, kube.scale_patches_applied) == (1, 0)
    assert kube.requests_to(SCALE_PATH, "PATCH")[0].query["dryRun"] == "All"


def test_scaling_to_the_current_count_sends_no_patch(kube: FakeKube, access: ClusterAccess) -> None:
    result = scale_deployment(access, POLICY, "k8s-admin", "web", 3)

    assert (result.old_replicas, result.new_replicas) == (3, 3)
    assert "already asks for 3 replicas" in result.message
    assert kube.requests_to(SCALE_PATH, "PATCH") == []


def test_namespaces_outside_the_allow_list_are_refused(kube: FakeKube, access: ClusterAccess) -> None:
    with pytest.raises(ToolError) as refused:
        scale_deployment(access, POLICY, "kube-system", "coredns", 3)

    assert str(refused.value) == (
        "Scaling in namespace 'kube-system' is not allowed; this server may scale deployments only in: "
        "agentic, k8s-admin. Nothing was changed."
    )
    assert kube.requests == []


def test_an_empty_allow_list_disables_scaling(kube: FakeKube, access: ClusterAccess) -> None:
    policy = ScalePolicy(scalable_namespaces=frozenset(), max_replicas=10)

    with pytest.raises(ToolError, match="Scaling is disabled"):
        scale_deployment(access, policy, "k8s-admin", "web", 1)

    assert kube.requests == []


@pytest.mark.parametrize("replicas", [11, 1000, -1])
def test_replicas_beyond_the_maximum_are_refused(kube: FakeKube, access: ClusterAccess, replicas: int) -> None:
    with pytest.raises(ToolError, match=r"between 0 and 10 \(this server's maximum\)"):
        scale_deployment(access, POLICY, "k8s-admin", "web", replicas)

    assert kube.requests == []
    assert web_replicas(kube) == 3


def test_unknown_deployment(kube: FakeKube, access: ClusterAccess) -> None:
    with pytest.raises(ToolError, match=r"Not found \(404\): deployment 'agentic/nope' does not exist"):
        scale_deployment(access, POLICY, "agentic", "nope", 1)


def test_missing_patch_permission_is_named(kube: FakeKube, access: ClusterAccess) -> None:
    kube.state.forbid(SCALE_PATH, method="PATCH")

    with pytest.raises(ToolError) as refused:
        scale_deployment(access, POLICY, "k8s-admin", "web", 4)

    message = str(refused.value)
    assert "lacks RBAC permission 'patch' on 'deployments/scale' (API group 'apps') in namespace 'k8s-admin'" in message
    assert 'cannot patch resource "deployments/scale" in API group "apps"' in message
    assert web_replicas(kube) == 3


def test_invalid_policy_is_rejected_at_construction() -> None:
    with pytest.raises(ValueError, match="max_replicas"):
        ScalePolicy(scalable_namespaces=frozenset({"k8s-admin"}), max_replicas=-1)
    with pytest.raises(ValueError, match="these are not: Not_A_Namespace"):
        ScalePolicy(scalable_namespaces=frozenset({"k8s-admin", "Not_A_Namespace"}), max_replicas=3)
