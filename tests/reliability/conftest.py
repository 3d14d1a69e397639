"""What the reliability suite runs against: the four MCP servers as processes, behind a bearer token,
each pointed at a local stand-in (moto, the fake Kubernetes API, the fake wttr.in), shared by the session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from apps.agent_core.auth import new_key
from tests.support.agent_core import CoreClient, Keys, make_keys, run_agent_core
from tests.support.fake_bedrock import FakeBedrock, run_fake_bedrock
from tests.support.fake_kube import FakeKube, run_fake_kube
from tests.support.fake_wttr import FakeWttr, run_fake_wttr
from tests.support.mcp_fleet import MODULES, Fleet, fleet_env, run_fleet

TOKEN = "reliability-suite-token"
SCALABLE_NAMESPACE = "agentic"
MAX_REPLICAS = 10
CORE_MAX_BODY_BYTES = 1024 * 1024  # the default; the fuzzer rarely builds a body this big (see test_hostile_http)


@pytest.fixture(scope="session")
def fake_wttr() -> Iterator[FakeWttr]:
    with run_fake_wttr() as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_kube() -> Iterator[FakeKube]:
    with run_fake_kube() as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_bedrock() -> Iterator[FakeBedrock]:
    """moto has no Converse: the aws server's invoke_bedrock_model talks to this one (it echoes, unscripted)."""
    with run_fake_bedrock() as fake:
        yield fake


@pytest.fixture(scope="session")
def fleet(
    moto_endpoint: str,
    fake_wttr: FakeWttr,
    fake_kube: FakeKube,
    fake_bedrock: FakeBedrock,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Fleet]:
    data = tmp_path_factory.mktemp("fleet")
    env = fleet_env(
        data,
        moto_endpoint=moto_endpoint,
        wttr_url=fake_wttr.base_url,
        kubeconfig=fake_kube.kubeconfig,
        extra={
            "AGENTIC_SCALABLE_NAMESPACES": SCALABLE_NAMESPACE,
            "AGENTIC_MAX_REPLICAS": str(MAX_REPLICAS),
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": fake_bedrock.base_url,
        },
    )
    with run_fleet(data, env, token=TOKEN) as running:
        yield running


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@dataclass(frozen=True)
class CoreKeys:
    roles: Keys
    """One key per role."""
    everything: str
    """A key with every role, for the fuzzer: it should reach every handler, not stop at 403."""
    entries_json: str


@pytest.fixture(scope="session")
def core_keys() -> CoreKeys:
    roles = make_keys()
    everything, entry = new_key("fuzzer", ["viewer", "operator", "approver"])
    entries = [*json.loads(roles.entries_json), entry.model_dump()]
    return CoreKeys(roles, everything, json.dumps(entries))


@pytest.fixture(scope="session")
def keys(core_keys: CoreKeys) -> Keys:
    return core_keys.roles


@pytest.fixture(scope="session")
def core(fleet: Fleet, core_keys: CoreKeys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreClient]:
    """The agent core with API keys (so every route checks them), calling the fleet with its bearer token."""
    servers = {name: fleet.mcp_url(name) for name in MODULES}
    state_dir = tmp_path_factory.mktemp("core")
    with run_agent_core(
        servers, state_dir, api_keys=core_keys.entries_json, mcp_token=TOKEN, max_body_bytes=CORE_MAX_BODY_BYTES
    ) as client:
        yield client
