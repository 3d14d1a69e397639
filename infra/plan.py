"""`python -m infra.plan`: the resource tree `pulumi up` would create, printed without credentials.

The real program runs under mocks in preview mode (infra/offline.py), so nothing reaches AWS or a cluster and
values only a provider could know are shown as `(known after apply)`. Exit status 2 means the stack's
configuration was rejected; the message names the key.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from infra.config import ConfigError
from infra.offline import ROOT_DIR, UNKNOWN, ProgramRun, Registration, Secret, run_program, stack_config

__all__ = ["main", "render_tree"]

# The inputs worth a glance per type; other types show their first few plain values.
KEY_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": ("cidrBlock", "enableDnsHostnames"),
    "aws:ec2/subnet:Subnet": ("cidrBlock", "availabilityZone"),
    "aws:ec2/route:Route": ("destinationCidrBlock",),
    "aws:eks/cluster:Cluster": ("name", "version", "accessConfig.authenticationMode"),
    "aws:eks/nodeGroup:NodeGroup": ("instanceTypes", "scalingConfig"),
    "aws:eks/addon:Addon": ("addonName", "addonVersion"),
    "aws:eks/accessEntry:AccessEntry": ("type", "principalArn"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": ("namespace", "serviceAccount"),
    "aws:iam/role:Role": ("description",),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("policyArn",),
    "aws:dynamodb/table:Table": ("hashKey", "rangeKey", "billingMode"),
    "aws:sqs/queue:Queue": ("messageRetentionSeconds", "sqsManagedSseEnabled"),
    "aws:cloudwatch/eventRule:EventRule": ("eventPattern",),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    "kubernetes:helm.sh/v3:Release": ("name", "chart", "version", "namespace"),
    "random:index/randomPassword:RandomPassword": ("length",),
    "aws:ecr/repository:Repository": ("name", "imageTagMutability"),
    "docker-build:index:Image": ("dockerfile.location", "tags", "push"),
}
_SKIP = ("assumeRolePolicy", "policy", "values", "kubeconfig", "tags", "spec", "stringData", "registries")


def _lookup(inputs: dict[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _show(value: Any) -> str:
    if value is UNKNOWN:
        return "(known after apply)"
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, dict | list):
        text = json.dumps(value, default=_show, separators=(",", ":"))
        return text if len(text) <= 80 else text[:77] + "..."
    return str(value)


def _summary(resource: Registration) -> str:
    inputs = resource.inputs
    keys = KEY_INPUTS.get(resource.type)
    if keys is not None:
        pairs = [(key, _lookup(inputs, key)) for key in keys]
    elif resource.type.startswith("kubernetes:"):
        pairs = [
            (key, _lookup(inputs, path))
            for key, path in (("kind", "kind"), ("name", "metadata.name"), ("namespace", "metadata.namespace"))
        ]
    else:
        plain = [k for k, v in inputs.items() if k not in _SKIP and not isinstance(v, dict | list)]
        pairs = [(key, inputs[key]) for key in plain[:3]]
    return "  ".join(f"{key}={_show(value)}" for key, value in pairs if value is not None)


def render_tree(run: ProgramRun) -> list[str]:
    """One line per resource, indented under its parent component."""
    children: dict[str | None, list[Registration]] = {}
    known = {r.urn for r in run.resources}
    for resource in run.resources:
        parent = resource.parent if resource.parent in known else None
        children.setdefault(parent, []).append(resource)
    lines: list[str] = []

    def walk(parent: str | None, prefix: str) -> None:
        items = sorted(children.get(parent, []), key=lambda r: (r.custom, r.type, r.name))
        for index, resource in enumerate(items):
            last = index == len(items) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            summary = _summary(resource)
            lines.append(f"{prefix}{branch}{resource.type}  {resource.name}" + (f"  {summary}" if summary else ""))
            walk(resource.urn, prefix + ("" if parent is None else ("   " if last else "│  ")))

    walk(None, "")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.plan", description=__doc__.splitlines()[0])
    parser.add_argument("--config-file", type=Path, default=ROOT_DIR / "Pulumi.dev.yaml", help="stack config file")
    parser.add_argument("--stack", default="dev", help="stack name used in resource URNs")
    args = parser.parse_args(argv)

    run = run_program(stack_config(args.config_file), preview=True, stack=args.stack)
    if isinstance(run.error, ConfigError):
        print(run.error, file=sys.stderr)
        return 2
    if run.error is not None:
        raise run.error
    components = sum(1 for r in run.resources if not r.custom)
    print(
        f"Stack {args.stack!r} from {args.config_file.name}: {len(run.resources) - components} resources "
        f"in {components} components (offline preview: no credentials, nothing created)"
    )
    print("\n".join(render_tree(run)))
    print("\nOutputs:")
    for name, value in run.exports.items():
        shown = "[secret]" if value.secret else _show(value.value) if value.known else "(known after apply)"
        print(f"  {name}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
