"""Run the real program with no cloud, no engine and no credentials, and record what it registers.

Pulumi's mock monitor stands in for the engine; `PlatformMocks` answers like the providers would (ids,
ARNs, endpoints, zone names) and `RecordingMonitor` keeps every registration with its parent and
dependencies, which the mocks API alone does not expose. In preview mode the mocks return inputs only, so
computed outputs (ARNs, ids) are unknown exactly as in a real `pulumi preview`.

Used by `python -m infra.plan` and by tests/infra. Pulumi's runtime settings are process-global:
`run_program` resets them before each run, so runs can follow one another in one process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.config import PROJECT

__all__ = [
    "ACCOUNT_ID",
    "UNKNOWN",
    "ExportValue",
    "PlatformMocks",
    "ProgramRun",
    "Registration",
    "Secret",
    "normalise",
    "run_program",
    "stack_config",
]

INFRA_DIR = Path(__file__).resolve().parent
ROOT_DIR = INFRA_DIR.parent
ACCOUNT_ID = "123456789012"
ZONES = ("a", "b", "c", "d")
# How the engine wraps a secret value: {_SIG_KEY: _SIG_WRAPPED, "value": ...}.
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SIG_WRAPPED = "1b47061264138c4ac30d75fd1eb44270"
_EC2_ID_PREFIX = {
    "vpc": "vpc",
    "subnet": "subnet",
    "internetGateway": "igw",
    "natGateway": "nat",
    "eip": "eipalloc",
    "routeTable": "rtb",
    "securityGroup": "sg",
}


# Types the AWS provider auto-names when the program gives no name, and the property that gets it.
_AUTONAMED = {
    "aws:iam/role:Role": "name",
    "aws:iam/rolePolicy:RolePolicy": "name",
    "aws:iam/policy:Policy": "name",
    "aws:sqs/queue:Queue": "name",
    "aws:cloudwatch/eventRule:EventRule": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:dynamodb/table:Table": "name",
    "aws:eks/nodeGroup:NodeGroup": "nodeGroupName",
}


class _Unknown:
    """A value the engine would only know after the resource exists (preview)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Secret:
    """A value that reached the engine marked secret."""

    value: Any


@dataclass(frozen=True)
class Registration:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    provider: str | None
    inputs: dict[str, Any]
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    outputs: dict[str, Any] = field(default_factory=dict)
    ignore_changes: tuple[str, ...] = ()
    # customTimeouts as the engine receives them ({"delete": "30m"}); only the ones the program set.
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    retain_on_delete: bool = False


@dataclass(frozen=True)
class ExportValue:
    value: Any
    secret: bool
    known: bool


@dataclass
class ProgramRun:
    preview: bool
    resources: list[Registration]
    exports: dict[str, ExportValue]
    invokes: list[tuple[str, dict[str, Any]]]
    error: BaseException | None = None

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.resources}

    def children(self, parent: Registration) -> list[Registration]:
        return [r for r in self.resources if r.parent == parent.urn]


def normalise(value: Any) -> Any:
    """Mock inputs as plain data: secrets as `Secret`, unknowns as `UNKNOWN`, whole floats as ints."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SIG_WRAPPED:
            return Secret(normalise(value.get("value")))
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if type(value).__name__ == "Unknown":
        return UNKNOWN
    return value


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        current = merged.get(key)
        merged[key] = _merge(current, value) if isinstance(current, dict) and isinstance(value, dict) else value
    return merged


def _unknown_leaves(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unknown_leaves(v) for k, v in value.items()}
    return pulumi.runtime.rpc.UNKNOWN  # the wire form of an unknown value


def _digest(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


class PlatformMocks(pulumi.runtime.Mocks):
    """Plausible provider answers; invokes the program does not make are refused, so new ones get a mock."""

    def __init__(self, *, preview: bool, region: str) -> None:
        self.preview = preview
        self.region = region
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.invokes.append((args.token, dict(args.args)))
        if args.token not in self._INVOKES:
            raise NotImplementedError(f"no mock for invoke {args.token}")
        return self._INVOKES[args.token](self), []

    def _zones(self) -> dict[str, Any]:
        names = [f"{self.region}{z}" for z in ZONES]
        return {"names": names, "zoneIds": [f"usw2-az{i + 1}" for i in range(len(names))], "id": self.region}

    def _caller(self) -> dict[str, Any]:
        arn = f"arn:aws:iam::{ACCOUNT_ID}:user/deployer"
        return {"accountId": ACCOUNT_ID, "arn": arn, "userId": "AIDAMOCK", "id": ACCOUNT_ID}

    def _partition(self) -> dict[str, Any]:
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}

    def _ecr_token(self) -> dict[str, Any]:
        registry = f"{ACCOUNT_ID}.dkr.ecr.{self.region}.amazonaws.com"
        return {
            "authorizationToken": "QVdTOm1vY2stZWNyLXBhc3N3b3Jk",  # base64 of AWS:mock-ecr-password
            "userName": "AWS",
            "password": "mock-ecr-password",
            "proxyEndpoint": f"https://{registry}",
            "expiresAt": "2030-01-01T00:00:00Z",
            "id": registry,
        }

    _INVOKES: ClassVar[dict[str, Callable[[PlatformMocks], dict[str, Any]]]] = {
        "aws:index/getAvailabilityZones:getAvailabilityZones": _zones,
        "aws:index/getCallerIdentity:getCallerIdentity": _caller,
        "aws:index/getPartition:getPartition": _partition,
        "aws:ecr/getAuthorizationToken:getAuthorizationToken": _ecr_token,
    }

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        service = args.typ.partition(":")[2].split("/")[0]
        name_property = _AUTONAMED.get(args.typ)
        if name_property and name_property not in state:
            # The provider's auto-naming runs in Check, so names are known even in preview.
            state[name_property] = f"{args.name}-{_digest(args.name, length=7)}"
        if args.typ.startswith("kubernetes:") and "metadata" in state and not state["metadata"].get("name"):
            state["metadata"] = {**state["metadata"], "name": f"{args.name}-{_digest(args.name, length=8)}"}
        resource_id, computed = self._computed(args, state, service)
        if self.preview:
            # What a provider computes at create time is unknown in a preview, as in the engine.
            return "", _merge(state, _unknown_leaves(computed))
        return resource_id, _merge(state, computed)

    def _computed(
        self, args: pulumi.runtime.MockResourceArgs, state: dict[str, Any], service: str
    ) -> tuple[str, dict[str, Any]]:
        """The id and the output properties a provider adds to the inputs when it creates the resource."""
        resource_id = f"{args.name}-id"
        kind = args.typ.rsplit(":", 1)[-1]
        out: dict[str, Any] = {}
        if args.typ.startswith("aws:ec2/"):
            prefix = _EC2_ID_PREFIX.get(args.typ.split("/")[1].split(":")[0], "ec2")
            resource_id = f"{prefix}-{_digest(args.name, length=17)}"
        elif args.typ.startswith("aws:"):
            resource_id = state.get("name", resource_id)
            out["arn"] = self._arn(service, kind, str(resource_id))
        if args.typ == "aws:eks/cluster:Cluster":
            out["endpoint"] = f"https://{_digest(args.name, length=32).upper()}.gr7.{self.region}.eks.amazonaws.com"
            out["certificateAuthority"] = {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1PQ0sKLS0tLS0="}
            out["vpcConfig"] = {"clusterSecurityGroupId": f"sg-{_digest('cluster', length=17)}"}
        elif args.typ == "aws:ec2/eip:Eip":
            out["allocationId"] = resource_id
            out["publicIp"] = "198.51.100.10"  # TEST-NET-2: documentation addresses only
        elif args.typ == "aws:eks/podIdentityAssociation:PodIdentityAssociation":
            out["associationId"] = f"a-{_digest(args.name, length=17)}"
        elif args.typ == "aws:sqs/queue:Queue":
            out["url"] = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{state['name']}"
        elif args.typ == "random:index/randomPassword:RandomPassword":
            out["result"] = f"mock-password-{_digest(args.name, length=24)}"
        elif args.typ == "kubernetes:networking.k8s.io/v1:Ingress":
            host = f"k8s-{_digest(args.name)}.{self.region}.elb.amazonaws.com"
            out["status"] = {"loadBalancer": {"ingress": [{"hostname": host}]}}
        elif args.typ == "aws:ecr/repository:Repository":
            out["registryId"] = ACCOUNT_ID
            out["repositoryUrl"] = f"{ACCOUNT_ID}.dkr.ecr.{self.region}.amazonaws.com/{state['name']}"
        elif args.typ == "docker-build:index:Image":
            # What a registry push returns: the manifest's digest, and the first tag pinned to it.
            image_digest = (
                f"sha256:{hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()}"
            )
            out["digest"] = image_digest
            out["ref"] = f"{(state.get('tags') or [''])[0]}@{image_digest}"
            out["contextHash"] = _digest(args.name, length=64)
        elif args.typ == "kubernetes:helm.sh/v3:Release":
            out["status"] = {"name": state.get("name"), "namespace": state.get("namespace"), "status": "deployed"}
        return str(resource_id), out

    def _arn(self, service: str, kind: str, name: str) -> str:
        if service == "iam":
            return f"arn:aws:iam::{ACCOUNT_ID}:{kind[0].lower() + kind[1:]}/{name}"
        if service == "dynamodb":
            return f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{name}"
        if service == "sqs":
            return f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}"
        if service == "eks" and kind == "Cluster":
            return f"arn:aws:eks:{self.region}:{ACCOUNT_ID}:cluster/{name}"
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{kind.lower()}/{name}"


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, also keeping each registration's parent, provider and dependencies."""

    def __init__(self, mocks: PlatformMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = pulumi.runtime.rpc.deserialize_properties(request.object, keep_unknowns=True)
            urn = self.make_urn(request.parent, request.type, request.name)
            self.registrations.append(
                Registration(
                    urn=urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    custom=bool(request.custom),
                    provider=request.provider or None,
                    inputs=normalise(inputs),
                    dependencies=tuple(request.dependencies),
                    property_dependencies={k: tuple(v.urns) for k, v in request.propertyDependencies.items()},
                    outputs=normalise(dict(self.resources[urn].state)) if urn in self.resources else {},
                    ignore_changes=tuple(request.ignoreChanges),
                    custom_timeouts={
                        kind: value
                        for kind in ("create", "update", "delete")
                        if (value := getattr(request.customTimeouts, kind))
                    },
                    retain_on_delete=bool(request.retainOnDelete),
                )
            )
        return response


def stack_config(path: Path | None = None) -> dict[str, str]:
    """A stack file's config as the CLI hands it to the program: strings, with lists and maps as JSON."""
    document = yaml.safe_load((path or ROOT_DIR / "Pulumi.dev.yaml").read_text()) or {}
    values: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, bool):
            values[full] = "true" if value else "false"
        elif isinstance(value, dict | list):
            values[full] = json.dumps(value)
        else:
            values[full] = str(value)
    return values


def run_program(config: Mapping[str, str], *, preview: bool, stack: str = "dev") -> ProgramRun:
    """Run infra/__main__.py once under mocks with exactly `config`; the program's error, if any, is kept."""
    # Pulumi's runtime asks asyncio for the current loop; asyncio.run (the SDK clients, anyio) leaves
    # none behind in the main thread, so each run gets a fresh one.
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi_settings.reset_options(project=PROJECT, stack=stack, preview=preview)
    pulumi.runtime.set_all_config(dict(config), [])
    mocks = PlatformMocks(preview=preview, region=config.get("aws:region") or "us-west-2")
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    error: BaseException | None = None

    def program() -> None:
        # As the CLI's Python host runs a directory program: its __main__.py, as __main__.
        runpy.run_path(str(INFRA_DIR), run_name="__main__")

    try:
        _sync_await(run_pulumi_func(program))
    except Exception as exc:
        error = exc
    exports: dict[str, ExportValue] = {}
    root = pulumi_settings.get_root_resource()
    for name, value in (getattr(root, "outputs", None) or {}).items():
        output = pulumi.Output.from_input(value)
        exports[name] = ExportValue(
            value=normalise(_sync_await(output.future())),
            secret=bool(_sync_await(output.is_secret())),
            known=bool(_sync_await(output.is_known())),
        )
    return ProgramRun(
        preview=preview, resources=list(monitor.registrations), exports=exports, invokes=mocks.invokes, error=error
    )
