"""A stdio MCP server as a child process of the agent core: calls over one shared session, the child's
environment and stderr, a child killed mid-call and restarted, the bound on restarts, and a clean stop.

The servers are real: ``@modelcontextprotocol/server-everything`` (TypeScript SDK 1.x, installed in
tools/mcp-everything by ``make test``; ``dist/index.js stdio``) and a small server on our own SDK
(``stdio_counting_server.py``), which records every call that reaches its tool.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
from mcp_types import CallToolResult, TextContent

from apps.agent_core.gateway.breaker import CircuitBreaker
from apps.agent_core.gateway.errors import CallTimedOut, McpServerError
from apps.agent_core.gateway.retry import CallRetryPolicy
from apps.agent_core.gateway.stdio_client import StdioServerClient, StdioServerExited
from apps.agent_core.gateway.stdio_restarts import RestartPolicy
from apps.agent_core.model import ToolProgress
from tests.support.third_party_mcp import EVERYTHING_ENTRY, INSTALL_HINT

T = TypeVar("T")
COUNTING_SERVER = Path(__file__).with_name("stdio_counting_server.py")
SCENARIO_SECONDS = 60.0
QUICK_RESTARTS = RestartPolicy(max_restarts=5, window_seconds=60, base_delay_seconds=0.05, max_delay_seconds=0.2)


@pytest.fixture(autouse=True)
def _everything_installed() -> None:
    assert EVERYTHING_ENTRY.exists(), INSTALL_HINT


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    """One scenario on a fresh event loop, bounded as a whole."""

    async def bounded() -> T:
        with anyio.fail_after(SCENARIO_SECONDS):
            return await scenario()

    return anyio.run(bounded)


def everything(*, env: dict[str, str] | None = None, **options: Any) -> StdioServerClient:
    return StdioServerClient(
        "everything",
        command="node",
        args=[str(EVERYTHING_ENTRY), "stdio"],
        env=env or {},
        breaker=options.pop("breaker", CircuitBreaker()),
        restart=options.pop("restart", QUICK_RESTARTS),
        **options,
    )


def counting(call_log: Path, **options: Any) -> StdioServerClient:
    return StdioServerClient(
        "counting",
        command=sys.executable,
        args=[str(COUNTING_SERVER), str(call_log)],
        env={},
        breaker=options.pop("breaker", CircuitBreaker()),
        restart=options.pop("restart", QUICK_RESTARTS),
        **options,
    )


def text(result: CallToolResult) -> str:
    (block,) = result.content
    assert isinstance(block, TextContent)
    return block.text


def gone(pgid: int) -> bool:
    """No live process is left in the group ``pgid`` (the server and everything it started).

    A killed member whose parent died is reparented to PID 1, which may not reap it here: a zombie counts
    as gone (it runs nothing), so the group is read from /proc rather than probed with ``killpg``.
    """
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # it ended while being read
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            return False
    return True


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.02)


def test_lists_and_calls_echo_over_stdio_and_reports_health_as_stdio() -> None:
    async def scenario() -> None:
        client = everything(env={"EVERYTHING_TOKEN": "s3cret-value"})
        try:
            tools = {tool.name: tool for tool in await client.list_tools(timeout=30)}
            called = await client.call_tool("echo", {"message": "hello"}, timeout=10)
            health = await client.health(timeout=5)
        finally:
            await client.aclose()
        assert tools["echo"].server == "everything" and tools["echo"].read_only
        assert text(called.result) == "Echo: hello" and called.attempts == 1
        assert client.negotiated is not None and client.negotiated.protocol_version == "2025-11-25"
        assert health.reachable and health.transport == "stdio" and health.probe == "ping"
        assert health.url == f"stdio: node {EVERYTHING_ENTRY} stdio"
        assert "s3cret-value" not in health.model_dump_json()  # env values are never shown

    run(scenario)


def test_the_child_gets_only_its_entry_env_and_the_basics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTIC_MCP_TOKEN", "the-platform-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "an-aws-secret")

    async def scenario() -> str:
        client = everything(env={"ENTRY_SETTING": "from-the-entry"})
        try:
            called = await client.call_tool("get-env", {}, timeout=30)
        finally:
            await client.aclose()
        return text(called.result)

    seen = run(scenario)
    assert '"ENTRY_SETTING": "from-the-entry"' in seen
    assert "the-platform-secret" not in seen and "an-aws-secret" not in seen
    assert "AGENTIC_MCP_TOKEN" not in seen and "AWS_SECRET_ACCESS_KEY" not in seen
    assert '"PATH"' in seen  # a basic: the child must find its own interpreter


def test_concurrent_calls_share_one_process_and_session() -> None:
    async def scenario() -> tuple[list[str], set[int | None]]:
        client = everything()
        pids: set[int | None] = set()
        try:
            await client.list_tools(timeout=30)

            async def echo(index: int) -> str:
                called = await client.call_tool("echo", {"message": f"m{index}"}, timeout=10)
                pids.add(client.pid)
                return text(called.result)

            texts = await asyncio.gather(*(echo(index) for index in range(20)))
        finally:
            await client.aclose()
        return texts, pids

    texts, pids = run(scenario)
    assert texts == [f"Echo: m{index}" for index in range(20)]  # each answer to its own request
    assert len(pids) == 1


def test_a_child_killed_mid_call_fails_the_call_clearly_and_the_next_call_restarts_it(tmp_path: Path) -> None:
    call_log = tmp_path / "calls.txt"
    breaker = CircuitBreaker(failure_threshold=2)

    async def scenario() -> tuple[str, int, str, int, int]:
        client = counting(call_log, breaker=breaker)
        try:
            await client.list_tools(timeout=30)
            first_pid = client.pid
            assert first_pid is not None

            async def kill_once_called() -> None:
                await wait_until(lambda: call_log.exists() and call_log.read_text().count("\n") == 2)
                os.kill(first_pid, signal.SIGKILL)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(kill_once_called)
                with pytest.raises(StdioServerExited) as failed:
                    # Two calls in flight: one death is still one failure for the breaker.
                    await asyncio.gather(
                        client.call_tool("slow_write", {"label": "one", "seconds": 20}, timeout=30),
                        client.call_tool("slow_write", {"label": "two", "seconds": 20}, timeout=30),
                    )
            breaker_after_death = breaker.state
            again = await client.call_tool("slow_write", {"label": "three", "seconds": 0}, timeout=30)
            second_pid = client.pid
        finally:
            await client.aclose()
        assert second_pid is not None and second_pid != first_pid and gone(first_pid)
        return str(failed.value), failed.value.attempts, breaker_after_death, again.attempts, again.result.is_error

    message, attempts, breaker_state, attempts_again, is_error = run(scenario)
    assert message == (
        "stdio server counting exited with status -9 while tools/call was in flight; "
        "the call may or may not have been applied"
    )
    assert attempts == 1, "a tools/call that may have reached the tool is not sent again"
    assert breaker_state == "closed"
    assert attempts_again == 1 and not is_error
    labels = [line.split()[0] for line in call_log.read_text().splitlines()]
    assert sorted(labels[:2]) == ["one", "two"] and labels[2:] == ["three"], "nothing was resent"


def test_a_child_that_died_between_calls_is_restarted_by_the_next_call(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int | None]:
        client = counting(tmp_path / "calls.txt")
        try:
            await client.call_tool("slow_write", {"label": "a", "seconds": 0}, timeout=30)
            pid = client.pid
            assert pid is not None
            os.kill(pid, signal.SIGTERM)
            await wait_until(lambda: client.pid is None)
            called = await client.call_tool("slow_write", {"label": "b", "seconds": 0}, timeout=30)
            assert called.attempts == 1 and not called.result.is_error
            return pid, client.pid
        finally:
            await client.aclose()

    before, after = run(scenario)
    assert after is not None and after != before


def test_restarts_are_bounded_and_health_says_why_it_stays_stopped(tmp_path: Path) -> None:
    starts = tmp_path / "starts.txt"
    script = f"echo started >> {starts}; echo 'cannot find my config' >&2; exit 3"
    policy = RestartPolicy(max_restarts=2, window_seconds=60, base_delay_seconds=0.01, max_delay_seconds=0.05)

    async def scenario() -> tuple[list[str], str]:
        client = StdioServerClient(
            "broken",
            command="/bin/sh",
            args=["-c", script],
            env={},
            breaker=CircuitBreaker(failure_threshold=100),
            retry=CallRetryPolicy(max_attempts=1),
            restart=policy,
        )
        errors: list[str] = []
        try:
            for _ in range(6):  # more requests than the bound allows starts
                with pytest.raises(McpServerError) as failed:
                    await client.list_tools(timeout=10)
                errors.append(str(failed.value))
                await anyio.sleep(0.1)  # past each backoff
            health = await client.health(timeout=5)
        finally:
            await client.aclose()
        assert not health.reachable and health.failure == "unreachable"
        return errors, str(health.error)

    errors, health_error = run(scenario)
    assert starts.read_text().count("started") == 3, "one start and two restarts, then no more"
    assert errors[0] == "stdio server broken ended with status 3 during the initialize handshake"
    stopped = (
        "stdio server broken is stopped after 2 restarts within 60 s (the last run ended with status 3); "
        "it is not started again until the agent core restarts"
    )
    assert errors[3:] == [stopped] * 3
    assert health_error == stopped


def test_a_slow_start_is_not_cut_short_by_an_impatient_request(tmp_path: Path) -> None:
    starts = tmp_path / "starts.txt"
    # As `uvx` or `npx` fetching the server first: a second before it answers anything.
    script = f'echo started >> {starts}; sleep 1; exec node "{EVERYTHING_ENTRY}" stdio'

    async def scenario() -> tuple[str | None, int]:
        client = StdioServerClient("slow", command="/bin/sh", args=["-c", script], env={}, breaker=CircuitBreaker())
        try:
            probe = await client.health(timeout=0.3)  # gives up waiting; the start goes on
            tools = await client.list_tools(timeout=30)
        finally:
            await client.aclose()
        return probe.failure, len(tools)

    failure, tools = run(scenario)
    assert failure == "timeout" and tools > 0
    assert starts.read_text().count("started") == 1, "the probe's deadline did not cost a restart"


def test_stderr_lines_are_logged_with_the_server_name(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="apps.agent_core.gateway.stdio")

    async def scenario() -> None:
        client = everything()
        try:
            await client.list_tools(timeout=30)
        finally:
            await client.aclose()

    run(scenario)
    lines = [r for r in caplog.records if getattr(r, "stream", None) == "stderr"]
    assert [r.getMessage() for r in lines] == ["[everything] Starting default (STDIO) server..."]
    assert all(getattr(r, "server", None) == "everything" for r in lines)


def test_aclose_stops_the_child_and_everything_it_started() -> None:
    # The server runs as a grandchild, as under npx or uvx, with another process beside it in its group.
    script = f'sleep 300 & exec node "{EVERYTHING_ENTRY}" stdio'

    async def scenario() -> int:
        client = StdioServerClient("wrapped", command="/bin/sh", args=["-c", script], env={}, breaker=CircuitBreaker())
        await client.list_tools(timeout=30)
        pid = client.pid
        assert pid is not None and not gone(pid)
        await client.aclose()
        with pytest.raises(McpServerError, match="the gateway is closed"):
            await client.list_tools(timeout=5)
        return pid

    pid = run(scenario)
    assert gone(pid), "the server and the sleep it left beside it are gone"


def test_a_missing_command_is_reported_as_such() -> None:
    async def scenario() -> str:
        client = StdioServerClient(
            "missing",
            command="/nonexistent/mcp-server",
            args=[],
            env={},
            breaker=CircuitBreaker(),
            retry=CallRetryPolicy(max_attempts=1),
        )
        try:
            with pytest.raises(StdioServerExited) as failed:
                await client.list_tools(timeout=5)
        finally:
            await client.aclose()
        return str(failed.value)

    message = run(scenario)
    assert message.startswith("stdio server missing could not start (an error starting it: [Errno 2]")


def test_a_message_over_the_size_bound_ends_the_session_with_a_clear_error() -> None:
    async def scenario() -> tuple[str, str]:
        client = everything(max_message_bytes=32_768)
        try:
            await client.list_tools(timeout=30)
            with pytest.raises(StdioServerExited) as failed:
                await client.call_tool("echo", {"message": "x" * 40_000}, timeout=10)
            small = await client.call_tool("echo", {"message": "small"}, timeout=30)  # a new process
        finally:
            await client.aclose()
        return str(failed.value), text(small.result)

    message, small = run(scenario)
    assert message.startswith("stdio server everything wrote a message of more than 32768 bytes to stdout")
    assert small == "Echo: small"


def test_progress_reports_reach_the_caller_over_stdio() -> None:
    reports: list[ToolProgress] = []

    async def scenario() -> None:
        client = everything()
        try:
            await client.call_tool(
                "trigger-long-running-operation",
                {"duration": 1, "steps": 4},
                timeout=30,
                on_progress=reports.append,
            )
            with pytest.raises(CallTimedOut):
                await client.call_tool("trigger-long-running-operation", {"duration": 5, "steps": 1}, timeout=0.5)
        finally:
            await client.aclose()

    run(scenario)
    assert [report.progress for report in reports] == [1, 2, 3, 4]
