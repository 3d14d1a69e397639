"""``AGENTIC_MCP_SERVERS_FILE``: the ``mcpServers`` shape in JSON or YAML, variables, every problem named at once."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from apps.agent_core.app import create_app
from apps.agent_core.gateway.gateway import McpGateway
from apps.agent_core.gateway.servers_file import (
    RemoteServer,
    StdioServer,
    configured_servers,
    load_servers_file,
)
from apps.agent_core.model import ToolSpec
from apps.agent_core.runs.approvals import ApprovalPolicy
from apps.agent_core.settings import LOCAL_MCP_SERVERS, AgentCoreSettings
from apps.common.settings import ConfigurationError

SECRET = "s3cr3t-value-never-shown"
ENVIRON = {"THIRD_KEY": SECRET, "PATH": str(Path(sys.executable).parent)}
PYTHON = Path(sys.executable).name

GOOD = {
    "mcpServers": {
        "third": {
            "url": "https://mcp.example.com/${REGION:-eu}/mcp",
            "headers": {"X-Api-Key": "${THIRD_KEY}", "X-Note": "costs $${dollars}"},
            "tools": ["search", "fetch"],
            "timeout_seconds": 12.5,
        },
        "local": {
            "type": "stdio",
            "command": PYTHON,
            "args": ["-m", "some_server", "--key", "${THIRD_KEY}"],
            "env": {"API_KEY": "${THIRD_KEY}", "MODE": "test"},
            "cwd": "work",
            "approval": "always",
        },
    }
}

YAML_GOOD = f"""\
# The same servers as GOOD, written as YAML.
mcpServers:
  third:
    url: https://mcp.example.com/${{REGION:-eu}}/mcp
    headers:
      X-Api-Key: ${{THIRD_KEY}}
      X-Note: costs $${{dollars}}
    tools: [search, fetch]
    timeout_seconds: 12.5
  local:
    type: stdio
    command: {PYTHON}
    args: [-m, some_server, --key, "${{THIRD_KEY}}"]
    env: {{API_KEY: "${{THIRD_KEY}}", MODE: test}}
    cwd: work
    approval: always
"""


def write(tmp_path: Path, content: Any, name: str = "servers.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "content"), [("servers.json", GOOD), ("servers.yaml", YAML_GOOD)])
def test_json_and_yaml_give_the_same_servers_with_variables_filled_in(tmp_path: Path, name: str, content: Any) -> None:
    (tmp_path / "work").mkdir()
    servers, problems = load_servers_file(write(tmp_path, content, name), ENVIRON)

    assert problems == []
    third, local = servers["third"], servers["local"]
    assert isinstance(third, RemoteServer) and isinstance(local, StdioServer)
    assert third.url == "https://mcp.example.com/eu/mcp", "the default of an unset variable"
    assert third.headers == {"X-Api-Key": SECRET, "X-Note": "costs ${dollars}"}, "$${ is a literal ${"
    assert (third.tools, third.timeout_seconds, third.approval) == (("search", "fetch"), 12.5, "annotations")
    assert local.args == ("-m", "some_server", "--key", SECRET) and local.env == {"API_KEY": SECRET, "MODE": "test"}
    assert local.cwd == tmp_path / "work", "cwd is relative to the file"
    assert local.approval == "always"
    # What reports show is the entry as written: the variables are not filled in.
    assert third.shown == "https://mcp.example.com/${REGION:-eu}/mcp"
    assert local.shown == f"{PYTHON} -m some_server --key '${{THIRD_KEY}}'"
    assert SECRET not in repr(servers), "header and env values stay out of reprs"


def test_every_problem_is_named_by_file_server_and_key_in_one_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "mcpServers": {
                "typo": {"url": "https://a.example/mcp", "header": {"X-Api-Key": "${THIRD_KEY}"}},
                "badurl": {"url": "ftp://files.example/${THIRD_KEY}"},
                "query": {"url": "https://a.example/mcp?key=${THIRD_KEY}"},
                "both": {"url": "https://a.example/mcp", "command": PYTHON},
                "neither": {"args": ["x"]},
                "mode": {"url": "https://a.example/mcp", "approval": "sometimes"},
                "unset": {"url": "https://a.example/mcp", "headers": {"Authorization": "Bearer ${NOT_SET_ANYWHERE}"}},
                "managed": {"url": "https://a.example/mcp", "headers": {"Mcp-Session-Id": "x"}},
                "nocommand": {"command": "no-such-command-here"},
                "nodir": {"command": PYTHON, "cwd": "missing"},
                "limits": {"url": "https://a.example/mcp", "timeout_seconds": 0, "tools": []},
                "Bad.Name": {"url": "https://a.example/mcp"},
                "clash": {"url": "https://a.example/mcp"},
            },
            "mcpservers": {},
        },
    )
    with pytest.raises(ConfigurationError) as raised:
        configured_servers("clash=http://127.0.0.1:9/mcp", path, ENVIRON)
    message = str(raised.value)

    expected = [
        "unknown key 'mcpservers' at the top level",
        "server 'typo': unknown key 'header' (a remote entry takes",
        "server 'badurl', key 'url': 'ftp://files.example/${THIRD_KEY}' must start with http:// or https://",
        "server 'query', key 'url': the URL must not have a query",
        "server 'both': has both url and command",
        "server 'neither': needs url (a remote server) or command (a stdio server)",
        "server 'mode', key 'approval': Input should be 'always', 'never' or 'annotations'",
        "server 'unset', key 'headers.Authorization': ${NOT_SET_ANYWHERE} is not set",
        "server 'managed', key 'headers.Mcp-Session-Id': the MCP client sets this header itself",
        "server 'nocommand', key 'command': 'no-such-command-here' is not an executable found on PATH",
        "server 'nodir', key 'cwd': 'missing' is not a directory",
        "server 'limits', key 'timeout_seconds': Input should be greater than 0",
        "server 'limits', key 'tools': Tuple should have at least 1 item",
        "server 'Bad.Name': the name may use only a-z, 0-9, '_' and '-'",
        "server 'clash' is defined both in AGENTIC_MCP_SERVERS and in AGENTIC_MCP_SERVERS_FILE",
    ]
    missing = [problem for problem in expected if problem not in message]
    assert missing == [], message
    assert message.count(f"AGENTIC_MCP_SERVERS_FILE ({path})") >= len(expected) - 1, "each problem names the file"
    assert SECRET not in message


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("servers.json", '{"mcpServers": {"a": {"url": "http://a/mcp"}, "a": {"url": "http://b/mcp"}}}'),
        ("servers.yaml", "mcpServers:\n  a: {url: http://a/mcp}\n  a: {url: http://b/mcp}\n"),
    ],
)
def test_a_name_given_twice_in_the_file_is_refused(tmp_path: Path, name: str, content: str) -> None:
    _, problems = load_servers_file(write(tmp_path, content, name), ENVIRON)
    assert problems and "key 'a' is given twice" in problems[0]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("servers.json", "{not json", "not valid JSON: Expecting property name"),
        ("servers.yaml", "{a: [", "not valid JSON or YAML"),
        ("servers.yaml", "- a\n- b\n", 'must be an object with "mcpServers"'),
        ("servers.yaml", '{"mcpServers": []}', "mcpServers must map server names to entries"),
        ("servers.yaml", '{"mcpServers": {"a": "http://a/mcp"}}', "server 'a': must be an object with url"),
    ],
)
def test_a_file_of_the_wrong_shape_says_what_shape_is_expected(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    _, problems = load_servers_file(write(tmp_path, content, name), ENVIRON)
    assert any(problem in p for p in problems), problems


def test_an_unreadable_file_is_a_named_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"AGENTIC_MCP_SERVERS_FILE \(.*nowhere.json\): cannot read"):
        configured_servers(None, tmp_path / "nowhere.json", ENVIRON)


def test_the_file_alone_names_the_servers_and_the_variable_default_applies_only_without_it(tmp_path: Path) -> None:
    path = write(tmp_path, {"mcpServers": {"third": {"url": "https://a.example/mcp"}}})
    alone = AgentCoreSettings(mcp_servers_file=path)
    both = AgentCoreSettings(mcp_servers_file=path, mcp_servers="own=http://127.0.0.1:9/mcp")
    neither = AgentCoreSettings()

    assert list(configured_servers(alone.listed_mcp_servers(), path, ENVIRON)) == ["third"]
    assert list(configured_servers(both.listed_mcp_servers(), path, ENVIRON)) == ["own", "third"]
    assert neither.listed_mcp_servers() == LOCAL_MCP_SERVERS
    with pytest.raises(ConfigurationError, match="no MCP server configured"):
        configured_servers("", write(tmp_path, {"mcpServers": {}}, "empty.json"), ENVIRON)


def test_the_agent_core_refuses_to_start_on_a_bad_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"mcpServers": {"a": {"url": "https://a.example/mcp", "approval": "maybe"}}})
    settings = AgentCoreSettings(mcp_servers_file=path, state=f"sqlite:///{tmp_path}/runs.db", reasoner="offline")
    with pytest.raises(ConfigurationError, match="server 'a', key 'approval'"):
        create_app(settings)


def test_the_gateway_reports_header_names_and_the_entry_as_written_never_a_value(tmp_path: Path) -> None:
    servers, _ = load_servers_file(write(tmp_path, {"mcpServers": {"third": GOOD["mcpServers"]["third"]}}), ENVIRON)
    gateway = McpGateway({"own": "http://127.0.0.1:9/mcp", **servers}, token="internal-token")
    statuses = {status.server: status for status in gateway.server_statuses()}

    assert statuses["own"].headers == ["Authorization"], "the platform's own server is sent the token"
    assert statuses["third"].headers == ["X-Api-Key", "X-Note"]
    assert statuses["third"].url == "https://mcp.example.com/${REGION:-eu}/mcp"
    assert gateway.servers["third"] == statuses["third"].url
    shown = json.dumps([status.model_dump() for status in statuses.values()])
    assert SECRET not in shown and "internal-token" not in shown
    assert gateway.call_timeout("third") == 12.5 and gateway.call_timeout("own") == 30.0


def spec(server: str, name: str, *, destructive: bool) -> ToolSpec:
    return ToolSpec(
        server=server, name=name, description="", input_schema={}, read_only=not destructive, destructive=destructive
    )


def test_approval_modes_and_their_precedence() -> None:
    policy = ApprovalPolicy(
        require=frozenset({"lax.reader"}),
        auto_approve=frozenset({"strict.trusted"}),
        ttl_seconds=60,
        servers={"strict": "always", "lax": "never", "plain": "annotations"},
    )
    reader, wiper = "reader", "wiper"

    assert policy.needs_approval("strict", reader, spec("strict", reader, destructive=False)), "always: every call"
    assert not policy.needs_approval("lax", wiper, spec("lax", wiper, destructive=True)), "never: no call"
    assert policy.needs_approval("plain", wiper, spec("plain", wiper, destructive=True)), "annotations: destructive"
    assert not policy.needs_approval("plain", reader, spec("plain", reader, destructive=False))
    assert policy.needs_approval("other", wiper, None), "a server not in the file: today's rule (unknown asks)"
    # A tool named in AGENTIC_AUTO_APPROVE or AGENTIC_REQUIRE_APPROVAL is the most specific setting.
    assert not policy.needs_approval("strict", "trusted", spec("strict", "trusted", destructive=True))
    assert policy.needs_approval("lax", reader, spec("lax", reader, destructive=False))
