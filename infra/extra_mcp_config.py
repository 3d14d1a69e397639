"""`extraMcpServers`: stdio MCP servers the stack deploys beside the platform's own, from config alone.

Each entry names an image that holds the server and the bridge (apps/mcp_bridge, built `FROM` the
platform's `mcp-bridge` image), the command that starts the server inside it, its arguments and its
environment (plain values, or `secretKeyRef`s to Secrets in the apps namespace), and optionally what
it needs of the network and AWS. Validated whole, like the rest of the stack's config (infra/config.py):
every problem is reported at once, each naming the entry and the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.config_reader import RawGetter, Reader

__all__ = ["KEY", "AwsAccess", "EnvValue", "ExtraMcpServer", "parse_extra_mcp_servers"]

KEY = "extraMcpServers"
MAX_SERVERS = 20
# A DNS label short enough that `mcp-<name>-service` stays one (63 characters).
_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
# repository[:tag][@sha256:digest]: a tag other than `latest`, or a digest, so a restart runs the same code.
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[0-9a-f]{64})?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Read by the bridge itself (or the pod's runtime): an entry must not change how the bridge runs.
_RESERVED_ENV = re.compile(r"^(AGENTIC_.*|HOST|PORT|PATH|HOME|PYTHON.*)$")
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
_POLICY_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[A-Za-z0-9+=,.@_/-]+$")
_FIELDS = {"name", "image", "command", "args", "env", "port", "replicas", "timeoutSeconds", "egressHttps", "aws"}
# Names the platform's own servers have in AGENTIC_MCP_SERVERS: an extra server may not take one.
PLATFORM_SERVER_NAMES = ("aws", "database", "custom", "kubernetes")


@dataclass(frozen=True)
class EnvValue:
    """A plain value, or a key of a Secret in the apps namespace (the value never enters the stack)."""

    value: str | None = None
    secret_name: str | None = None
    secret_key: str | None = None

    def manifest(self, name: str) -> dict[str, Any]:
        if self.value is not None:
            return {"name": name, "value": self.value}
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": self.secret_name, "key": self.secret_key}}}


@dataclass(frozen=True)
class AwsAccess:
    """An IAM role for the server's pods (EKS Pod Identity): an inline policy, managed policies, or both."""

    policy: Mapping[str, Any] | None = None
    managed_policy_arns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExtraMcpServer:
    name: str
    """Its name in AGENTIC_MCP_SERVERS (the prefix of its tools); its objects are called `mcp-<name>`."""
    image: str
    command: str
    args: tuple[str, ...] = ()
    env: Mapping[str, EnvValue] = field(default_factory=dict)
    port: int = 8000
    replicas: int = 2
    timeout_seconds: int = 30
    """How long the bridge waits for one call of its tools (AGENTIC_TOOL_TIMEOUT_SECONDS)."""
    egress_https: bool = False
    """It may open HTTPS connections anywhere (and resolve names): for servers that call internet APIs."""
    aws: AwsAccess | None = None


def parse_extra_mcp_servers(get: RawGetter, r: Reader) -> tuple[ExtraMcpServer, ...]:
    """The entries of `extraMcpServers` (a list of objects; JSON, as the CLI passes it), problems recorded in `r`."""
    raw = get(f"agentic-platform:{KEY}")
    if raw is None or raw == "":
        return ()
    try:
        entries = json.loads(raw)
    except ValueError:
        r.fail(KEY, "must be a list of objects")
        return ()
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        r.fail(KEY, "must be a list of objects, each with name, image and command")
        return ()
    if len(entries) > MAX_SERVERS:
        r.fail(KEY, f"has {len(entries)} servers; at most {MAX_SERVERS}")
    servers = [server for index, entry in enumerate(entries) if (server := _server(r, index, entry)) is not None]
    names = [server.name for server in servers]
    for name in sorted({name for name in names if names.count(name) > 1}):
        r.fail(KEY, f"the name {name!r} is used more than once")
    return tuple(servers)


class _Entry:
    """Typed reads of one entry, each failure recorded as `extraMcpServers[i] (name).field: problem`."""

    def __init__(self, r: Reader, index: int, entry: dict[str, Any]) -> None:
        self._r = r
        self._entry = entry
        self._where = f"[{index}]" + (f" ({entry['name']})" if isinstance(entry.get("name"), str) else "")
        self.ok = True

    def fail(self, item: str, problem: str) -> None:
        self._r.fail(KEY, f"{self._where}.{item}: {problem}")
        self.ok = False

    def text(self, item: str, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        value = self._entry.get(item)
        if not isinstance(value, str) or not value:
            self.fail(item, "required, a non-empty string")
            return ""
        if pattern is not None and not pattern.match(value):
            self.fail(item, f"{value!r} is malformed{': ' + hint if hint else ''}")
        return value

    def integer(self, item: str, default: int, minimum: int, maximum: int) -> int:
        value = self._entry.get(item, default)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            self.fail(item, f"must be an integer from {minimum} to {maximum}; got {value!r}")
            return default
        return value

    def strings(self, item: str) -> tuple[str, ...]:
        value = self._entry.get(item, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(item, "must be a list of strings")
            return ()
        return tuple(value)


def _server(r: Reader, index: int, entry: dict[str, Any]) -> ExtraMcpServer | None:
    e = _Entry(r, index, entry)
    for unknown in sorted(set(entry) - _FIELDS):
        e.fail(unknown, f"is not a field (expected some of {', '.join(sorted(_FIELDS))})")
    name = e.text("name", _NAME, "a lower-case DNS label of at most 40 characters")
    if name in PLATFORM_SERVER_NAMES:
        e.fail("name", f"{name!r} is one of the platform's own servers")
    image = e.text("image", _IMAGE, "repository:tag or repository@sha256:digest")
    if image and not _pinned(image):
        e.fail("image", f"{image!r} must name a tag other than latest, or a digest, so every pod runs the same code")
    egress = entry.get("egressHttps", False)
    if not isinstance(egress, bool):
        e.fail("egressHttps", "must be true or false")
    server = ExtraMcpServer(
        name=name,
        image=image,
        command=e.text("command"),
        args=e.strings("args"),
        env=_env(e, entry.get("env", {})),
        port=e.integer("port", 8000, 1024, 65535),
        replicas=e.integer("replicas", 2, 2, 10),
        timeout_seconds=e.integer("timeoutSeconds", 30, 1, 900),
        egress_https=egress is True,
        aws=_aws(e, entry.get("aws")),
    )
    return server if e.ok else None


def _pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and not last.endswith(":latest")


def _env(e: _Entry, raw: Any) -> dict[str, EnvValue]:
    if not isinstance(raw, dict):
        e.fail("env", "must be a map of variable names to values or {secretKeyRef: {name, key}}")
        return {}
    env: dict[str, EnvValue] = {}
    for name, value in raw.items():
        if not _ENV_NAME.match(name) or _RESERVED_ENV.match(name):
            e.fail(f"env.{name}", "is not a variable an entry may set (AGENTIC_*, HOST, PORT, PATH, HOME, PYTHON*)")
        elif isinstance(value, str):
            env[name] = EnvValue(value=value)
        elif isinstance(value, dict) and set(value) == {"secretKeyRef"} and isinstance(value["secretKeyRef"], dict):
            ref = value["secretKeyRef"]
            secret, key = ref.get("name"), ref.get("key")
            if set(ref) != {"name", "key"} or not isinstance(secret, str) or not isinstance(key, str):
                e.fail(f"env.{name}", "secretKeyRef takes exactly name and key")
            elif not _SECRET_NAME.match(secret) or not _SECRET_KEY.match(key):
                e.fail(f"env.{name}", f"secretKeyRef {secret!r}/{key!r} is not a valid Secret name and key")
            else:
                env[name] = EnvValue(secret_name=secret, secret_key=key)
        else:
            e.fail(f"env.{name}", "must be a string or {secretKeyRef: {name, key}}")
    return env


def _aws(e: _Entry, raw: Any) -> AwsAccess | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw or set(raw) - {"policy", "managedPolicyArns"}:
        e.fail("aws", "takes policy (an IAM policy document) and/or managedPolicyArns")
        return None
    policy = raw.get("policy")
    if policy is not None and not (
        isinstance(policy, dict) and policy.get("Version") == "2012-10-17" and isinstance(policy.get("Statement"), list)
    ):
        e.fail("aws.policy", 'must be an IAM policy document: {"Version": "2012-10-17", "Statement": [...]}')
    arns = raw.get("managedPolicyArns", [])
    if not isinstance(arns, list) or not all(isinstance(arn, str) and _POLICY_ARN.match(arn) for arn in arns):
        e.fail("aws.managedPolicyArns", "must be a list of IAM policy ARNs")
        arns = []
    return AwsAccess(policy=policy if isinstance(policy, dict) else None, managed_policy_arns=tuple(arns))
