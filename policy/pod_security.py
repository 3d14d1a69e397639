"""The Pod Security Standards `restricted` profile (Kubernetes v1.35), as a check over a pod spec.

Mirrors the admission controller's checks (k8s.io/pod-security-admission/policy): the baseline controls and
the restricted ones on top. Returns one message per violation; an empty list means the pod would be admitted
into a namespace enforcing `restricted`. Used by the policy pack (policy/rules.py) and by tests/infra, so a
pod the cluster would refuse fails `pulumi preview --policy-pack policy`, not `pulumi up` half-way.
"""

from __future__ import annotations

from typing import Any

__all__ = ["restricted_violations"]

_RESTRICTED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
_SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
_SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def _containers(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{field}[{c.get('name', index)}]", c)
        for field in ("initContainers", "containers", "ephemeralContainers")
        for index, c in enumerate(spec.get(field) or [])
    ]


def _baseline(spec: dict[str, Any], pod_ctx: dict[str, Any]) -> list[str]:
    problems = [f"{host} must not be true" for host in ("hostNetwork", "hostPID", "hostIPC") if spec.get(host)]
    problems += [f"volume {v.get('name')} is a hostPath" for v in spec.get("volumes") or [] if "hostPath" in v]
    for sysctl in pod_ctx.get("sysctls") or []:
        if sysctl.get("name") not in _SAFE_SYSCTLS:
            problems.append(f"sysctl {sysctl.get('name')} is not in the safe set")
    if (pod_ctx.get("windowsOptions") or {}).get("hostProcess"):
        problems.append("windowsOptions.hostProcess must not be true")
    for where, ctx in [("pod", pod_ctx)] + [(n, c.get("securityContext") or {}) for n, c in _containers(spec)]:
        selinux = ctx.get("seLinuxOptions") or {}
        if selinux.get("type", "") not in _SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
            problems.append(f"{where}: seLinuxOptions are not allowed")
        if (ctx.get("appArmorProfile") or {}).get("type") == "Unconfined":
            problems.append(f"{where}: appArmorProfile must not be Unconfined")
        if (ctx.get("seccompProfile") or {}).get("type") == "Unconfined":
            problems.append(f"{where}: seccompProfile must not be Unconfined")
    for name, container in _containers(spec):
        ctx = container.get("securityContext") or {}
        if ctx.get("privileged"):
            problems.append(f"{name}: privileged")
        if ctx.get("procMount", "Default") != "Default":
            problems.append(f"{name}: procMount must be Default")
        problems += [f"{name}: hostPort {p.get('hostPort')}" for p in container.get("ports") or [] if p.get("hostPort")]
    return problems


def restricted_violations(spec: dict[str, Any]) -> list[str]:
    pod_ctx = spec.get("securityContext") or {}
    problems = _baseline(spec, pod_ctx)
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= _RESTRICTED_VOLUMES:
            problems.append(f"volume {volume.get('name')} has a disallowed type {sorted(kinds - _RESTRICTED_VOLUMES)}")
    pod_non_root = pod_ctx.get("runAsNonRoot") is True
    pod_seccomp = (pod_ctx.get("seccompProfile") or {}).get("type") in ("RuntimeDefault", "Localhost")
    if pod_ctx.get("runAsUser") == 0:
        problems.append("pod: runAsUser must not be 0")
    for name, container in _containers(spec):
        ctx = container.get("securityContext") or {}
        if ctx.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation must be false")
        non_root = ctx.get("runAsNonRoot")
        if non_root is False or (non_root is None and not pod_non_root):
            problems.append(f"{name}: runAsNonRoot must be true (on the pod or the container)")
        if ctx.get("runAsUser") == 0:
            problems.append(f"{name}: runAsUser must not be 0")
        seccomp = (ctx.get("seccompProfile") or {}).get("type")
        if (seccomp is None and not pod_seccomp) or seccomp not in (None, "RuntimeDefault", "Localhost"):
            problems.append(f"{name}: seccompProfile must be RuntimeDefault or Localhost")
        capabilities = ctx.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"{name}: capabilities must drop ALL")
        added = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
        if added:
            problems.append(f"{name}: capabilities may add only NET_BIND_SERVICE, not {sorted(added)}")
    return problems
