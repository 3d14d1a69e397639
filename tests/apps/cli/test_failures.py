"""Expected failures end in a message and an exit code, never a traceback: auth, unreachable, degraded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apps.cli.conftest import run_cli
from tests.support.agent_core import CoreClient, Keys, make_keys, run_agent_core
from tests.support.lab_server import LabState
from tests.support.net import free_port


@pytest.fixture(scope="module")
def keys() -> Keys:
    return make_keys()


@pytest.fixture(scope="module")
def keyed(lab: tuple[str, LabState], keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreClient]:
    with run_agent_core({"lab": lab[0]}, tmp_path_factory.mktemp("keyed"), api_keys=keys.entries_json) as client:
        yield client


def test_no_key_or_a_wrong_key_exits_5_saying_so(keyed: CoreClient) -> None:
    missing = run_cli("runs", url=keyed.url)
    assert missing.returncode == 5
    assert "authentication failed (401)" in missing.stderr and "needs an API key" in missing.stderr
    assert "AGENTIC_API_KEY" in missing.stderr and "Traceback" not in missing.stderr

    wrong = run_cli("runs", "--api-key", "awp_not-a-key", url=keyed.url)
    assert wrong.returncode == 5 and "did not accept the API key" in wrong.stderr
    assert "awp_not-a-key" not in wrong.stderr, "the key is never echoed"


def test_a_key_without_the_role_exits_5_with_403(keyed: CoreClient, keys: Keys) -> None:
    result = run_cli("run", "echo text 'x'", url=keyed.url, AGENTIC_API_KEY=keys.viewer)
    assert result.returncode == 5
    assert "not allowed (403)" in result.stderr and "operator role" in result.stderr


def test_a_good_key_from_the_environment_works(keyed: CoreClient, keys: Keys) -> None:
    result = run_cli("run", 'echo text "keyed"', "--json", url=keyed.url, AGENTIC_API_KEY=keys.operator)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["owner"] == "operator-user"


def test_connection_refused_exits_5_without_a_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for args in (("runs",), ("run", "echo"), ("health",), ("show", "abc", "--follow")):
        result = run_cli(*args, url=url)
        assert result.returncode == 5, (args, result.stderr)
        assert f"cannot reach the platform at {url}" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_bad_url_is_a_usage_error() -> None:
    result = run_cli("runs", url="ftp://example")
    assert result.returncode == 2 and "--url must look like http://host:port" in result.stderr


def test_a_degraded_platform_makes_health_exit_1(lab: tuple[str, LabState], tmp_path: Path) -> None:
    gone = f"http://127.0.0.1:{free_port()}/mcp"
    with run_agent_core({"lab": lab[0], "gone": gone}, tmp_path) as core:
        result = run_cli("health", url=core.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"platform  {core.url}  degraded" in result.stdout
    [down] = [line for line in result.stdout.splitlines() if "gone" in line]
    assert down.strip().startswith("✗ gone") and "unreachable" in down
