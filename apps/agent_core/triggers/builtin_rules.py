"""The built-in alert rules: kube-prometheus-stack's common Kubernetes alerts, diagnosed read-only.

``KubePodCrashLooping`` and ``KubePodNotReady`` carry the pod's ``namespace`` and ``pod`` labels: the run
troubleshoots that pod. ``KubeDeploymentReplicasMismatch`` carries ``namespace`` and ``deployment``: the run reads
the cluster status (which lists Deployments short of replicas), the namespace's pods, and troubleshoots the first
failing pod there. Only read-only tools are called, so these runs never wait for an approval. A rule of the same
name in ``AGENTIC_TRIGGERS_FILE`` replaces a built-in (to disable one: ``enabled: false``).
"""

from __future__ import annotations

from typing import Any

from apps.agent_core.triggers.rules import AlertRule

POD_TROUBLESHOOTING: dict[str, Any] = {
    "name": "pod_troubleshooting",
    "description": "Diagnose one pod named by an alert: state, events, logs of failing containers, likely causes.",
    "inputs": {"namespace": None, "pod": None},
    "steps": [
        {
            "id": "diagnosis",
            "tool": "kubernetes.troubleshoot_pod",
            "arguments": {"namespace": "{{ inputs.namespace }}", "name": "{{ inputs.pod }}"},
            "retry": {"attempts": 2, "backoff_seconds": 2},
        }
    ],
    "analyze": {
        "instruction": (
            "An alert fired for the pod {{ inputs.namespace }}/{{ inputs.pod }}. From this diagnosis, explain the "
            "likely cause and the next steps for whoever is on call. Be brief and concrete."
        )
    },
}

# kubectl's STATUS column for a pod that is fine (as in the cluster_health template).
_FAILING_POD = "steps.pods.result.pods[?!contains(['Running', 'Succeeded', 'Completed'], status)] | [0]"

DEPLOYMENT_DIAGNOSIS: dict[str, Any] = {
    "name": "deployment_diagnosis",
    "description": "Diagnose a Deployment short of replicas: cluster status, its namespace's pods, a failing pod.",
    "inputs": {"namespace": None, "deployment": None},
    "steps": [
        {
            "parallel": [
                {"id": "status", "tool": "kubernetes.get_cluster_status", "timeout_seconds": 90},
                {
                    "id": "pods",
                    "tool": "kubernetes.list_pods",
                    "arguments": {"namespace": "{{ inputs.namespace }}", "limit": 500},
                },
            ]
        },
        {
            "id": "failing_pod",
            "tool": "kubernetes.troubleshoot_pod",
            "when": _FAILING_POD,
            "arguments": {"namespace": "{{ inputs.namespace }}", "name": "{{ " + _FAILING_POD + ".name }}"},
            "on_error": "continue",
        },
    ],
    "analyze": {
        "instruction": (
            "An alert says the Deployment {{ inputs.namespace }}/{{ inputs.deployment }} has not had the expected "
            "number of replicas. Its pods are named {{ inputs.deployment }}-<hash>-<id>. From the cluster status "
            "(unavailable deployments, warning events), the namespace's pods and the diagnosis of a failing pod if "
            "there was one, explain the likely cause and the next steps. Be brief and concrete."
        )
    },
}

_POD_INPUTS = {"namespace": "{{ alert.labels.namespace }}", "pod": "{{ alert.labels.pod }}"}
_COMMON: dict[str, Any] = {"cooldown_seconds": 1800, "rate_limit": {"runs": 10, "per_seconds": 600}}


def builtin_rules() -> list[AlertRule]:
    return [
        AlertRule.model_validate(
            {
                "name": alertname,
                "match": {"labels": {"alertname": alertname}},
                "target": {"workflow": POD_TROUBLESHOOTING, "inputs": _POD_INPUTS},
                **_COMMON,
            }
        )
        for alertname in ("KubePodCrashLooping", "KubePodNotReady")
    ] + [
        AlertRule.model_validate(
            {
                "name": "KubeDeploymentReplicasMismatch",
                "match": {"labels": {"alertname": "KubeDeploymentReplicasMismatch"}},
                "target": {
                    "workflow": DEPLOYMENT_DIAGNOSIS,
                    "inputs": {
                        "namespace": "{{ alert.labels.namespace }}",
                        "deployment": "{{ alert.labels.deployment }}",
                    },
                },
                **_COMMON,
            }
        )
    ]
