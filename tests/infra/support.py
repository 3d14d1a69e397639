"""Helpers for reading what the program registered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from kubernetes_validate.utils import all_versions

from infra.offline import UNKNOWN, ProgramRun, Registration, Secret, run_program, stack_config
from policy.model import StackResource

SCHEMAS = Path(__file__).parent / "schemas"


def plain(value: Any) -> Any:
    """Inputs with secret markers removed (for schema validation, which knows nothing of secrets)."""
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def json_input(resource: Registration, key: str) -> Any:
    value = plain(resource.inputs[key])
    assert value is not UNKNOWN, f"{resource.name}.{key} is unknown"
    return json.loads(value)


def depends_on(resource: Registration, prop: str, target: Registration) -> bool:
    """True when `prop` of `resource` was computed from an output of `target`."""
    return target.urn in resource.property_dependencies.get(prop, ())


def stack_resources(run: ProgramRun) -> list[StackResource]:
    return [StackResource(r.urn, r.type, r.name, r.inputs, r.property_dependencies) for r in run.resources]


def run_with(overrides: dict[str, str | None], *, preview: bool = True) -> ProgramRun:
    """The dev stack with some keys changed (None removes one)."""
    config = stack_config()
    for key, value in overrides.items():
        full = key if ":" in key else f"agentic-platform:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value
    return run_program(config, preview=preview)


def kubernetes_version(minor: str) -> str:
    """The newest schema set kubernetes-validate ships for the cluster's minor version, or the closest below."""
    wanted = tuple(int(p) for p in minor.split("."))
    candidates = [v for v in all_versions() if tuple(int(p) for p in v.split(".")[:2]) <= wanted]
    assert candidates, f"kubernetes-validate has no schemas at or below {minor}"
    return candidates[-1]


def validate_manifest(manifest: dict[str, Any], minor: str) -> None:
    kubernetes_validate.validate(plain(manifest), kubernetes_version(minor), strict=True)


def crd_validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def manifest(resource: Registration) -> dict[str, Any]:
    """A Kubernetes object as the provider sends it: for typed resources and CRs alike, the inputs are the object."""
    assert resource.type.startswith("kubernetes:") and resource.custom, resource.type
    return plain(resource.inputs)


HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def kubernetes_objects(run: ProgramRun) -> list[Registration]:
    """Every Kubernetes object the program registers as a resource of its own (Helm releases excluded)."""
    return [r for r in run.resources if r.custom and r.type.startswith("kubernetes:") and r.type != HELM_RELEASE]


def k8s_object(run: ProgramRun, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    """The one manifest of this kind and name (and namespace, when given)."""
    found = [
        manifest(r)
        for r in kubernetes_objects(run)
        if r.inputs.get("kind") == kind
        and r.inputs["metadata"].get("name") == name
        and (namespace is None or r.inputs["metadata"].get("namespace") == namespace)
    ]
    assert len(found) == 1, f"{len(found)} {kind} objects named {name!r}"
    return found[0]


def k8s_objects_of(run: ProgramRun, kind: str) -> list[dict[str, Any]]:
    return [manifest(r) for r in kubernetes_objects(run) if r.inputs.get("kind") == kind]
