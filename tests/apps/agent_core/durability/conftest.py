"""What the durability tests share: the lab MCP server (one per module) and the two run stores they run on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apps.agent_core.durability.support import dynamodb_store
from tests.support.lab_server import LabState, run_lab_server


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[str, LabState]]:
    with run_lab_server() as served:
        yield served


@pytest.fixture(params=["sqlite", "dynamodb"])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """``AGENTIC_STATE`` and the environment for it: a SQLite file, or a table on moto's server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/runs.db", {}
    return dynamodb_store(request.getfixturevalue("aws_env"))
