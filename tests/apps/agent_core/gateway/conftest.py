"""Two real MCP servers for the gateway's tests, each behind a request log, on their own ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.apps.agent_core.gateway.support import ALPHA_TOOLS, BETA_TOOLS, FakeClock, RestartableServer, mcp_app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="package")
def alpha() -> Iterator[RestartableServer]:
    server = RestartableServer(lambda: mcp_app("alpha", ALPHA_TOOLS))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def beta() -> Iterator[RestartableServer]:
    server = RestartableServer(lambda: mcp_app("beta", BETA_TOOLS))
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_logs(request: pytest.FixtureRequest) -> None:
    """Every test starts with empty request logs and no failures armed on the shared servers."""
    for name in ("alpha", "beta"):
        if name in request.fixturenames:
            server: RestartableServer = request.getfixturevalue(name)
            server.log.clear()
