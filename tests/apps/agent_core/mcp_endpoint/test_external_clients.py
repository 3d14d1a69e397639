"""``/api/mcp`` as MCP clients nobody here wrote see it: the official TypeScript SDK's client and the MCP Inspector's
CLI (both pinned in tools/mcp-clients), each as its own node process over real HTTP on 127.0.0.1 with a bearer key.

Each lists the tools, calls a read-only tool, runs a template and reads the template's run as a ``run://`` resource.
The platform is a real agent core in front of the lab server and the database server (whose sample data the
``database_report`` template reads, so the template's run is the real one, not a stand-in).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from apps.mcp_database.server import create_app as database_app
from apps.mcp_database.settings import DatabaseSettings
from tests.support.agent_core import CoreClient, Keys, make_keys, run_agent_core
from tests.support.lab_server import run_lab_server
from tests.support.servers import serve_in_thread

ROOT = Path(__file__).resolve().parents[4]
CLIENTS = ROOT / "tools" / "mcp-clients"
TS_CLIENT = CLIENTS / "client.mjs"
INSPECTOR = CLIENTS / "node_modules" / ".bin" / "mcp-inspector-cli"
INSPECTOR_BUILD = CLIENTS / "node_modules" / "@modelcontextprotocol" / "inspector-cli" / "build"
INSTALL_HINT = "run `make test` (it installs tools/mcp-clients with npm ci)"
CLIENT_SECONDS = 120.0
"""Bounds a hung client; a healthy one takes a second or two (node start-up, a handshake, a few calls)."""
TEMPLATE = "template__database_report"


@dataclass(frozen=True)
class Platform:
    core: CoreClient
    keys: Keys

    @property
    def url(self) -> str:
        return self.core.url + "/api/mcp"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    assert TS_CLIENT.exists() and INSPECTOR.exists(), INSTALL_HINT
    keys = make_keys()
    database_path = tmp_path_factory.mktemp("database") / "sample.db"
    with (
        run_lab_server() as (lab_url, _),
        serve_in_thread(database_app(DatabaseSettings(database_path=database_path, query_workers=1))) as database,
        run_agent_core(
            {"lab": lab_url, "database": database + "/mcp"},
            tmp_path_factory.mktemp("mcp-external-clients"),
            api_keys=keys.entries_json,
        ) as core,
    ):
        yield Platform(core, keys)


def typescript_sdk(platform: Platform, key: str, *commands: str) -> dict[str, Any]:
    """Run tools/mcp-clients/client.mjs (``list``, ``call <tool> <json>``, ``read <uri>``, in order, over one
    connection); returns each command's result by its label, the handshake as ``connect``."""
    completed = subprocess.run(
        ["node", str(TS_CLIENT), platform.url, *commands],
        env={**os.environ, "MCP_BEARER_TOKEN": key},
        capture_output=True,
        text=True,
        timeout=CLIENT_SECONDS,
        check=False,
    )
    lines = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    assert completed.returncode == 0, f"{completed.stdout}\n{completed.stderr}"
    return {line["command"]: line["result"] for line in lines}


def inspector(platform: Platform, key: str, *arguments: str) -> Any:
    """The Inspector's documented CLI mode (``--cli <url> --transport http --method ... --header ...``): one method
    per process, its result as JSON on stdout."""
    # --header takes every word up to the next option, so it stays ahead of the method's own options.
    header = f"Authorization: Bearer {key}"
    completed = subprocess.run(
        [str(INSPECTOR), "--cli", platform.url, "--transport", "http", "--header", header, *arguments],
        # Inspector v1 reads its own package.json through a path it checks against the working directory (upstream
        # modelcontextprotocol/inspector#1503): from its build directory both resolve to the same file.
        cwd=INSPECTOR_BUILD,
        capture_output=True,
        text=True,
        timeout=CLIENT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, f"{completed.stdout}\n{completed.stderr}"
    return json.loads(completed.stdout)


def _run_link(result: dict[str, Any]) -> str:
    links = [block["uri"] for block in result["content"] if block["type"] == "resource_link"]
    assert links and links[0].startswith("run://"), result
    return str(links[0])


def _check_template_result(platform: Platform, result: dict[str, Any]) -> str:
    """The template answered with its run's final answer and a link to the run; returns the link."""
    assert not result.get("isError"), result
    link = _run_link(result)
    run = platform.core.run(link.removeprefix("run://"), platform.keys.viewer)
    assert run["status"] == "succeeded" and run["trigger"]["kind"] == "mcp", run
    assert run["final_answer"] and result["structuredContent"]["final_answer"] == run["final_answer"]
    assert len(run["steps"]) == 5
    return link


def _check_run_resource(read: dict[str, Any], link: str) -> None:
    (contents,) = read["contents"]
    assert contents["uri"] == link and contents["mimeType"] == "application/json"
    view = json.loads(contents["text"])
    assert view["id"] == link.removeprefix("run://") and view["status"] == "succeeded"
    assert {step["tool"] for step in view["steps"]} == {"get_schema", "execute_query"}


def _check_tools(tools: list[dict[str, Any]]) -> None:
    by_name = {tool["name"]: tool for tool in tools}
    assert {"lab__echo", "lab__apply", "database__get_schema", "run_task", TEMPLATE} <= by_name.keys()
    assert by_name["lab__echo"]["annotations"]["readOnlyHint"] is True
    assert by_name["lab__apply"]["annotations"]["destructiveHint"] is True
    assert by_name[TEMPLATE]["inputSchema"]["type"] == "object"


def test_typescript_sdk_client(platform: Platform) -> None:
    key = platform.keys.operator
    first = typescript_sdk(
        platform, key, "list", "call", "lab__echo", json.dumps({"text": "from-ts"}), "call", TEMPLATE, "{}"
    )
    # The SDK speaks 2025-11-25 (its newest); the endpoint must settle on it, not on a revision it does not know.
    assert first["connect"]["protocolVersion"] == "2025-11-25"
    assert "tools" in first["connect"]["capabilities"] and "resources" in first["connect"]["capabilities"]
    _check_tools(first["list"]["tools"])
    echo = first["call lab__echo"]
    assert not echo.get("isError") and echo["structuredContent"] == {"text": "from-ts", "items": ["from-ts", "FROM-TS"]}
    echo_run = platform.core.run(_run_link(echo).removeprefix("run://"), platform.keys.viewer)
    assert echo_run["trigger"]["kind"] == "mcp" and echo_run["owner"] == "operator-user"
    link = _check_template_result(platform, first[f"call {TEMPLATE}"])

    # A viewer may read runs: the resource is the run's own view.
    second = typescript_sdk(platform, platform.keys.viewer, "read", link)
    _check_run_resource(second[f"read {link}"], link)


def test_inspector_cli(platform: Platform) -> None:
    key = platform.keys.operator
    _check_tools(inspector(platform, key, "--method", "tools/list")["tools"])
    echo = inspector(
        platform, key, "--method", "tools/call", "--tool-name", "lab__echo", "--tool-arg", "text=inspected"
    )
    assert not echo.get("isError") and echo["structuredContent"]["text"] == "inspected"
    template = inspector(platform, key, "--method", "tools/call", "--tool-name", TEMPLATE)
    link = _check_template_result(platform, template)
    _check_run_resource(inspector(platform, platform.keys.viewer, "--method", "resources/read", "--uri", link), link)
