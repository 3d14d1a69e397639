"""The four MCP servers as their own processes (``python -m apps.mcp_*``), each pointed at a local stand-in.

AWS is moto's server, Kubernetes the fake API server, weather the fake wttr.in; the database server gets a
private copy of the sample database. Nothing reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import RunningService, run_service

MODULES = {
    "aws": "apps.mcp_aws",
    "database": "apps.mcp_database",
    "custom": "apps.mcp_custom",
    "kubernetes": "apps.mcp_kubernetes",
}


def fleet_env(
    data_dir: Path, *, moto_endpoint: str, wttr_url: str, kubeconfig: Path, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment every server starts with; no AWS profile or file on this machine can leak in."""
    empty = data_dir / "empty"
    empty.write_text("")
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-west-2",
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AGENTIC_DATABASE_PATH": str(data_dir / "sample.db"),
        "AGENTIC_WEATHER_BASE_URL": wttr_url,
        "KUBECONFIG": str(kubeconfig),
        **(extra or {}),
    }


@dataclass(frozen=True)
class Fleet:
    services: Mapping[str, RunningService]
    data_dir: Path
    token: str | None

    def mcp_url(self, name: str) -> str:
        return self.services[name].url + "/mcp"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "sample.db"


@contextlib.contextmanager
def run_fleet(data_dir: Path, env: Mapping[str, str], *, token: str | None = None) -> Iterator[Fleet]:
    """Start every server (one after another: each waits for ``/ready``) and stop them all at the end."""
    full_env = {**env, **({"AGENTIC_MCP_TOKEN": token} if token else {})}
    with contextlib.ExitStack() as stack:
        services = {
            name: stack.enter_context(run_service(module, full_env, log_path=data_dir / f"{name}.log"))
            for name, module in MODULES.items()
        }
        yield Fleet(services, data_dir, token)
