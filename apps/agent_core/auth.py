"""API keys with roles: who may read, start and cancel, or approve.

Keys are random tokens kept only as SHA-256 digests (a mounted secret file or one environment
variable), so neither the configuration nor a memory dump reveals a usable key. The digests of
high-entropy random keys need no slow hash: there is nothing to brute-force.

Roles: ``viewer`` reads runs, tools and health; ``operator`` also starts and cancels runs;
``approver`` also decides approvals. ``trigger`` only delivers to the trigger endpoints (an
Alertmanager webhook), which start runs through rules: a key holding nothing else cannot read runs,
start one of its choosing, or approve. A key may hold several roles.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from apps.common.settings import ConfigurationError

Role = Literal["viewer", "operator", "approver", "trigger"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "approver", "trigger")
LOCAL_PRINCIPAL_NAME = "local"


class ApiKeyEntry(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    roles: list[Role] = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


_ENTRIES = TypeAdapter(list[ApiKeyEntry])


@dataclass(frozen=True)
class Principal:
    name: str
    roles: frozenset[Role]

    def can(self, role: Role) -> bool:
        # Every role but ``trigger`` can read (a webhook's credential should not open the run history to
        # whoever reads the alerting system's configuration); the others are granted explicitly.
        if role == "viewer":
            return bool(self.roles - {"trigger"})
        return role in self.roles


LOCAL_PRINCIPAL = Principal(LOCAL_PRINCIPAL_NAME, frozenset(ROLES))
"""Who acts when no keys are configured: only possible on a loopback bind."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    def __init__(self, entries: list[ApiKeyEntry]) -> None:
        names = [entry.name for entry in entries]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigurationError(f"API keys: duplicate names: {', '.join(duplicates)}")
        self._by_digest = {entry.sha256: Principal(entry.name, frozenset(entry.roles)) for entry in entries}

    @property
    def enabled(self) -> bool:
        return bool(self._by_digest)

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal for an ``Authorization: Bearer <key>`` header, or None."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        key = authorization.removeprefix("Bearer ").strip()
        if not key:
            return None
        return self._by_digest.get(digest(key))

    @classmethod
    def load(cls, file: Path | None, inline: str | None) -> ApiKeys:
        if file is not None and inline is not None:
            raise ConfigurationError("set only one of AGENTIC_API_KEYS_FILE and AGENTIC_API_KEYS")
        if file is not None:
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigurationError(f"AGENTIC_API_KEYS_FILE: cannot read {file}: {exc.strerror}") from None
            return cls(_parse(text, "AGENTIC_API_KEYS_FILE"))
        if inline is not None:
            return cls(_parse(inline, "AGENTIC_API_KEYS"))
        return cls([])


def _parse(text: str, variable: str) -> list[ApiKeyEntry]:
    try:
        data = yaml.safe_load(text)  # YAML is a superset of JSON: both forms are accepted
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{variable}: not valid JSON or YAML ({exc.__class__.__name__})") from None
    if isinstance(data, dict) and "keys" in data:
        data = data["keys"]
    try:
        return _ENTRIES.validate_python(data or [])
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"{variable}: {problems}") from None


def new_key(name: str, roles: list[Role]) -> tuple[str, ApiKeyEntry]:
    """A fresh random key and the entry to store for it (the key itself is shown once, never stored)."""
    key = "awp_" + secrets.token_urlsafe(32)
    return key, ApiKeyEntry(name=name, roles=roles, sha256=digest(key))


def main(argv: list[str] | None = None) -> int:
    """``python -m apps.agent_core.auth NAME ROLE [ROLE…]``: print a new key and its entry for the keys file."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("name")
    parser.add_argument("roles", nargs="+", choices=ROLES)
    args = parser.parse_args(argv)
    key, entry = new_key(args.name, args.roles)
    print(f"key (give it to {args.name}; it is not stored anywhere): {key}")
    print("entry for AGENTIC_API_KEYS_FILE:")
    print(json.dumps(entry.model_dump(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
