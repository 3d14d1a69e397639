"""The fake Kubernetes API itself, which end-to-end tests rely on too: selectors, paging, errors, logs."""

from __future__ import annotations

import httpx
import pytest

from tests.support.fake_kube import FakeKube
from tests.support.fake_kube_selectors import (
    SelectorError,
    decode_continue,
    encode_continue,
    field_selector,
    label_selector,
)
from tests.support.fake_kube_state import CRASHLOOP_POD

POD = {"metadata": {"name": "p", "labels": {"app": "web", "env": "prod"}}, "status": {"phase": "Running"}}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("app=web", True),
        ("app==web,env=prod", True),
        ("app!=web", False),
        ("env in (staging, prod)", True),
        ("env notin (prod)", False),
        ("app", True),
        ("!app", False),
        ("!tier", True),
        ("", True),
    ],
)
def test_label_selectors(selector: str, matches: bool) -> None:
    assert label_selector(selector)(POD) is matches


def test_field_selectors_and_bad_input() -> None:
    assert field_selector("status.phase=Running,metadata.name==p")(POD)
    assert not field_selector("status.phase!=Running")(POD)
    with pytest.raises(SelectorError):
        field_selector("status.phase")
    with pytest.raises(SelectorError):
        label_selector("app = = web")
    with pytest.raises(SelectorError):
        decode_continue("not-a-token")
    assert decode_continue(encode_continue(40)) == 40


def api(kube: FakeKube, path: str, token: str | None = None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or kube.state.token}"}
    return httpx.get(kube.url + path, params=params, headers=headers, timeout=5)


def test_errors_are_status_objects(kube: FakeKube) -> None:
    unknown_path = api(kube, "/api/v1/secrets")
    unknown_pod = api(kube, "/api/v1/namespaces/agentic/pods/nope")
    bad_selector = api(kube, "/api/v1/pods", labelSelector="a = = b")
    wrong_token = api(kube, "/api/v1/pods", token="stolen")

    assert (unknown_path.status_code, unknown_path.json()["kind"]) == (404, "Status")
    assert unknown_pod.json()["message"] == 'pods "nope" not found'
    assert (bad_selector.status_code, bad_selector.json()["reason"]) == (400, "BadRequest")
    assert wrong_token.status_code == 401


def test_pages_cover_the_list_exactly_once(kube: FakeKube) -> None:
    names: list[str] = []
    token = ""
    for _ in range(10):
        page = api(kube, "/api/v1/pods", limit="5", **({"continue": token} if token else {})).json()
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"].get("continue", "")
        if not token:
            break

    assert sorted(names) == sorted(pod.metadata.name for pod in kube.state.pods if pod.metadata and pod.metadata.name)
    assert len(names) == len(set(names)) == 12


def test_logs_follow_the_kubelet_rules(kube: FakeKube) -> None:
    namespace, name = CRASHLOOP_POD
    path = f"/api/v1/namespaces/{namespace}/pods/{name}/log"

    previous = api(kube, path, previous="true", tailLines="2")
    current = api(kube, path)
    wrong_container = api(kube, path, container="nope")

    assert previous.status_code == 200
    assert previous.text.splitlines()[-1].startswith("ConnectionRefusedError")
    assert len(previous.text.splitlines()) == 2
    assert current.status_code == 400
    assert "is waiting to start: CrashLoopBackOff" in current.json()["message"]
    assert wrong_container.status_code == 400


def test_json_patch_and_invalid_replicas(kube: FakeKube) -> None:
    path = f"{kube.url}/apis/apps/v1/namespaces/k8s-admin/deployments/web/scale"
    headers = {"Authorization": f"Bearer {kube.state.token}", "Content-Type": "application/json-patch+json"}

    patched = httpx.patch(path, json=[{"op": "replace", "path": "/spec/replicas", "value": 6}], headers=headers)
    invalid = httpx.patch(path, json={"spec": {"replicas": -2}}, headers=headers)

    assert patched.json()["spec"]["replicas"] == 6
    assert invalid.status_code == 422
    assert kube.scale_patches_applied == 1
    web = kube.state.deployment("k8s-admin", "web")
    assert web is not None and web.spec is not None and web.spec.replicas == 6
