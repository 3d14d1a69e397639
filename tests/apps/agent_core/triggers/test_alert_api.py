"""``POST /api/triggers/alertmanager`` end to end: real processes on 127.0.0.1 — the Kubernetes MCP server over the
fake Kubernetes API, and two agent cores sharing one SQLite store (two replicas) with API keys and a rules file.

A firing alert starts exactly one troubleshooting run of the pod its labels name; the same notification again,
on either replica, starts nothing; another fingerprint gets its own run; a new episode within the cool-down is
skipped; the rate limit holds across two concurrent deliveries to the two replicas; resolution is recorded on the
run once; a destructive step waits for a person; bad input and keys without the trigger role get 4xx naming why.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
import yaml

from apps.agent_core.triggers.ids import trigger_run_id
from apps.mcp_kubernetes.cluster_access import ClusterAccess
from apps.mcp_kubernetes.server import create_app as create_kubernetes_app
from apps.mcp_kubernetes.settings import KubernetesSettings
from tests.apps.agent_core.triggers.test_alertmanager_payload import sample
from tests.support.agent_core import TERMINAL, CoreClient, Keys, make_keys, run_agent_core
from tests.support.fake_kube import run_fake_kube
from tests.support.fake_kube_state import CRASHLOOP_POD, IMAGE_PULL_POD
from tests.support.servers import serve_in_thread

HOOK = "/api/triggers/alertmanager"
FIRING_SINCE = "2026-12-03T17:48:56.123456+00:00"  # the sample's startsAt, as the run id is derived from it
TROUBLESHOOT = {
    "name": "troubleshoot",
    "inputs": {"namespace": None, "pod": None},
    "steps": [
        {
            "id": "diagnosis",
            "tool": "kubernetes.troubleshoot_pod",
            "arguments": {"namespace": "{{ inputs.namespace }}", "name": "{{ inputs.pod }}"},
        }
    ],
}
RULES = {
    "rules": [
        {
            "name": "rate-one",
            "match": {"labels": {"alertname": "RateTest"}},
            "target": {
                "workflow": TROUBLESHOOT,
                "inputs": {"namespace": "{{ alert.labels.namespace }}", "pod": "{{ alert.labels.pod }}"},
            },
            "cooldown_seconds": 0,
            "rate_limit": {"runs": 1, "per_seconds": 3600},
        },
        {
            "name": "scale-web",
            "match": {"labels": {"alertname": "ScaleWeb"}, "labels_regex": {"namespace": "k8s-.*"}},
            "target": {
                "workflow": {
                    "name": "scale",
                    "steps": [
                        {
                            "id": "scale",
                            "tool": "kubernetes.scale_deployment",
                            "arguments": {"namespace": "k8s-admin", "name": "web", "replicas": 2},
                        }
                    ],
                }
            },
        },
    ]
}


@dataclass
class Replicas:
    a: CoreClient
    b: CoreClient
    keys: Keys


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    state = tmp_path_factory.mktemp("alerts")
    rules_file = state / "rules.yaml"
    rules_file.write_text(yaml.safe_dump(RULES))
    keys = make_keys()
    settings = {"api_keys": keys.entries_json, "triggers_file": rules_file}
    with (
        run_fake_kube() as kube,
        ClusterAccess.from_kubeconfig(kube.kubeconfig) as access,
        serve_in_thread(
            create_kubernetes_app(KubernetesSettings(scalable_namespaces="k8s-admin"), access=access)  # type: ignore[arg-type]
        ) as kubernetes,
    ):
        servers = {"kubernetes": kubernetes + "/mcp"}
        with (
            run_agent_core(servers, state, replica_id="replica-a", **settings) as a,
            run_agent_core(servers, state, replica_id="replica-b", **settings) as b,
        ):
            yield Replicas(a, b, keys)


def message(alertname: str, fingerprint: str, status: str = "firing", since: str = FIRING_SINCE, **labels: str) -> Any:
    body = sample("firing" if status == "firing" else "resolved")
    alert = copy.deepcopy(body["alerts"][0])
    alert |= {"fingerprint": fingerprint, "startsAt": since, "labels": {"alertname": alertname, **labels}}
    return body | {"alerts": [alert], "status": status}


def deliver(core: CoreClient, body: Any, key: str) -> httpx.Response:
    return core.http.post(HOOK, json=body, headers={"Authorization": f"Bearer {key}"})


def delivered(core: CoreClient, body: Any, key: str) -> dict[str, Any]:
    response = deliver(core, body, key)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def test_a_firing_alert_starts_one_troubleshooting_run_of_its_pod_and_repeats_start_none(replicas: Replicas) -> None:
    keys = replicas.keys
    report = delivered(replicas.a, sample(), keys.trigger)  # what Alertmanager 0.25 sent, unchanged
    run_id = trigger_run_id("alert", "KubePodCrashLooping", "c48fac53bba4ae6e", FIRING_SINCE)
    assert report["started"] == [{"rule": "KubePodCrashLooping", "fingerprint": "c48fac53bba4ae6e", "run_id": run_id}]

    run = replicas.a.wait_for(run_id, TERMINAL, key=keys.viewer)
    assert run["status"] == "succeeded", run
    [step] = run["steps"]
    namespace, pod = CRASHLOOP_POD
    assert (step["tool"], step["arguments"]) == ("troubleshoot_pod", {"namespace": namespace, "name": pod})
    assert "CrashLoopBackOff" in str(step["result"])
    assert run["trigger"]["kind"] == "alert" and run["trigger"]["name"] == "KubePodCrashLooping"
    expected_detail = {"pod": pod, "fingerprint": "c48fac53bba4ae6e", "starts_at": FIRING_SINCE}
    assert run["trigger"]["detail"].items() >= expected_detail.items()
    assert run["owner"] == "trigger-user"

    for core in (replicas.a, replicas.b):  # Alertmanager re-sends, to either replica
        again = delivered(core, sample(), keys.trigger)
        assert again["started"] == [] and again["skipped"][0]["reason"] == f"already started: run {run_id}"
    listed = replicas.a.http.get("/api/runs?trigger=alert", headers={"Authorization": f"Bearer {keys.viewer}"})
    assert [r["id"] for r in listed.json()["runs"] if r["trigger"]["id"] == "KubePodCrashLooping"] == [run_id]

    resolved = delivered(replicas.b, sample("resolved"), keys.trigger)
    assert resolved["resolved"] == [
        {"rule": "KubePodCrashLooping", "fingerprint": "c48fac53bba4ae6e", "run_id": run_id}
    ]
    ends_at = datetime.fromisoformat(sample("resolved")["alerts"][0]["endsAt"]).timestamp()
    assert replicas.a.run(run_id, keys.viewer)["trigger_resolved_at"] == pytest.approx(ends_at)
    repeated = delivered(replicas.a, sample("resolved"), keys.trigger)
    assert repeated["resolved"] == [] and "already recorded" in repeated["skipped"][0]["reason"]

    rules = replicas.a.http.get("/api/triggers", headers={"Authorization": f"Bearer {keys.viewer}"}).json()["rules"]
    crashloop = next(rule for rule in rules if rule["name"] == "KubePodCrashLooping")
    assert crashloop["source"] == "builtin" and crashloop["last_run"]["run_id"] == run_id
    assert (
        crashloop["last_run"]["tick"] == FIRING_SINCE
        and crashloop["target"]["inputs"]["pod"] == "{{ alert.labels.pod }}"
    )
    assert {rule["name"]: rule["source"] for rule in rules}["rate-one"] == "file"


def test_another_fingerprint_gets_its_own_run(replicas: Replicas) -> None:
    namespace, pod = IMAGE_PULL_POD
    body = message("KubePodCrashLooping", "00000000000000a2", namespace=namespace, pod=pod)
    [started] = delivered(replicas.a, body, replicas.keys.trigger)["started"]
    run = replicas.a.wait_for(started["run_id"], TERMINAL, key=replicas.keys.viewer)
    assert run["steps"][0]["arguments"] == {"namespace": namespace, "name": pod}


def test_a_new_episode_within_the_cooldown_is_skipped(replicas: Replicas) -> None:
    namespace, pod = CRASHLOOP_POD
    first = message("KubePodNotReady", "00000000000000c1", namespace=namespace, pod=pod)
    assert len(delivered(replicas.a, first, replicas.keys.trigger)["started"]) == 1
    later = message("KubePodNotReady", "00000000000000c1", since="2026-12-03T19:00:00Z", namespace=namespace, pod=pod)
    report = delivered(replicas.b, later, replicas.keys.trigger)
    assert report["started"] == [] and "cooling down" in report["skipped"][0]["reason"]


def test_an_alert_without_the_label_its_rule_needs_is_skipped_saying_which(replicas: Replicas) -> None:
    report = delivered(replicas.a, message("KubePodNotReady", "00000000000000d1", namespace="x"), replicas.keys.trigger)
    assert report["skipped"] == [
        {
            "rule": "KubePodNotReady",
            "fingerprint": "00000000000000d1",
            "reason": "the alert has no label 'pod' (input 'pod' needs it)",
        }
    ]
    unmatched = delivered(replicas.a, message("Watchdog", "00000000000000d2"), replicas.keys.trigger)
    assert unmatched["skipped"] == [{"rule": None, "fingerprint": "00000000000000d2", "reason": "no rule matches"}]


def test_the_rate_limit_holds_across_two_concurrent_deliveries_to_two_replicas(replicas: Replicas) -> None:
    namespace, pod = CRASHLOOP_POD
    reports: list[dict[str, Any]] = []
    barrier = threading.Barrier(2)

    def send(core: CoreClient, fingerprint: str) -> None:
        barrier.wait(timeout=10)
        reports.append(
            delivered(core, message("RateTest", fingerprint, namespace=namespace, pod=pod), replicas.keys.trigger)
        )

    threads = [
        threading.Thread(target=send, args=(core, fingerprint))
        for core, fingerprint in ((replicas.a, "00000000000000e1"), (replicas.b, "00000000000000e2"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    started = [entry for report in reports for entry in report["started"]]
    skipped = [entry for report in reports for entry in report["skipped"]]
    assert len(started) == 1 and len(skipped) == 1, reports
    assert skipped[0]["reason"] == "rate limited: the rule has started 1 run(s) in this 3600 s window"


def test_a_destructive_step_in_a_triggered_run_waits_for_a_person(replicas: Replicas) -> None:
    body = message("ScaleWeb", "00000000000000f1", namespace="k8s-admin")
    [started] = delivered(replicas.a, body, replicas.keys.trigger)["started"]
    run = replicas.a.wait_for(started["run_id"], {"awaiting_approval", *TERMINAL}, key=replicas.keys.viewer)
    assert run["status"] == "awaiting_approval"
    assert [(a["tool"], a["status"]) for a in run["approvals"]] == [("scale_deployment", "pending")]


def test_a_malformed_payload_is_refused_naming_every_problem(replicas: Replicas) -> None:
    body = sample()
    body["version"] = "3"
    body["alerts"][0].pop("fingerprint")
    body["sent_by"] = "a field of a later Alertmanager"  # ignored: refusing it would drop the alert
    response = deliver(replicas.a, body, replicas.keys.trigger)
    assert response.status_code == 422
    fields = {problem["field"] for problem in response.json()["problems"]}
    assert fields == {"version", "alerts.0.fingerprint"}
    not_json = replicas.a.http.post(HOOK, content=b"{", headers={"Authorization": f"Bearer {replicas.keys.trigger}"})
    assert not_json.status_code == 400 and not_json.json()["error"] == "malformed_json"


def test_only_a_trigger_key_delivers_and_a_trigger_key_reads_nothing(replicas: Replicas) -> None:
    keys = replicas.keys
    for key in (keys.viewer, keys.operator, keys.approver):
        refused = deliver(replicas.a, sample(), key)
        assert refused.status_code == 403 and "does not have the trigger role" in refused.json()["message"]
    assert deliver(replicas.a, sample(), "not-a-key").status_code == 401
    for path in ("/api/runs", "/api/triggers"):
        response = replicas.a.http.get(path, headers={"Authorization": f"Bearer {keys.trigger}"})
        assert response.status_code == 403, path
