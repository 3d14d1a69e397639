"""The stack's configuration, read from Pulumi.<stack>.yaml and validated exactly as the program validates it.

No engine is needed: infra.offline.stack_config turns the file into the strings the CLI would pass, and
infra.config.parse_config applies the program's own validation to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from infra.config import ConfigError, PlatformConfig, parse_config
from infra.offline import ROOT_DIR, stack_config
from infra.preflight.findings import Finding

__all__ = ["LoadedStack", "load_stack", "stack_file"]

NAME = "stack-config"


@dataclass(frozen=True)
class LoadedStack:
    finding: Finding
    config: PlatformConfig | None
    """None when the file is missing or invalid (the finding says why)."""


def stack_file(stack: str) -> Path:
    return ROOT_DIR / f"Pulumi.{stack}.yaml"


def load_stack(path: Path, stack: str) -> LoadedStack:
    if not path.is_file():
        fix = f"pulumi stack init {stack}, then copy the keys documented in Pulumi.dev.yaml into {path.name}"
        return LoadedStack(Finding.failed(NAME, f"{path} does not exist", fix), None)
    try:
        raw = stack_config(path)
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        # AttributeError: a document whose `config` is not a mapping.
        return LoadedStack(Finding.failed(NAME, f"{path.name} is unreadable: {exc}", f"fix the YAML in {path}"), None)
    try:
        config = parse_config(raw.get)
    except ConfigError as exc:
        problems = "; ".join(exc.problems)
        fix = f"correct the keys named in {path}"
        return LoadedStack(Finding.failed(NAME, f"{path.name} is invalid: {problems}", fix), None)
    found = (
        f"{path.name}: cluster {config.cluster.name}, Kubernetes {config.cluster.version}, region {config.region}, "
        f"{config.network.az_count} zones"
    )
    return LoadedStack(Finding.passed(NAME, found), config)
