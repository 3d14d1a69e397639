"""Fixtures for the workflow tests: the asyncio backend, and the platform's real tool catalog."""

from __future__ import annotations

import pytest

from apps.agent_core.model import ToolSpec
from tests.apps.agent_core.workflows.catalog import real_catalog


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def catalog() -> list[ToolSpec]:
    return real_catalog()
