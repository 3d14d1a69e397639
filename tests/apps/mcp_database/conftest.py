"""The sample database, built once per session; tests that could change a file get their own copy.

Tests of the process sandbox (``SandboxedDatabase``) start real worker processes; they run on asyncio,
which is what the server runs.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from apps.mcp_database.protocol import WorkerLimits
from apps.mcp_database.sample_data import build_sample_database
from apps.mcp_database.sandbox import ReadOnlyDatabase

FileState = tuple[str, tuple[str, ...]]


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "sample.db"
    build_sample_database(path)
    return path


@pytest.fixture
def db_file(sample_db: Path, tmp_path: Path) -> Path:
    """A private copy alone in its directory, so a test can also see any file appearing beside it."""
    directory = tmp_path / "db"
    directory.mkdir()
    path = directory / "shop.db"
    shutil.copyfile(sample_db, path)
    return path


@pytest.fixture
def file_state(db_file: Path) -> Callable[[], FileState]:
    """The copy's SHA-256 and the names in its directory (a -journal or -wal file would show up here)."""

    def state() -> FileState:
        digest = hashlib.sha256(db_file.read_bytes()).hexdigest()
        return digest, tuple(sorted(path.name for path in db_file.parent.iterdir()))

    return state


@pytest.fixture
def database(db_file: Path) -> ReadOnlyDatabase:
    return ReadOnlyDatabase(db_file)


@pytest.fixture
def shared_database(sample_db: Path) -> ReadOnlyDatabase:
    """The session's file itself, for tests that only read."""
    return ReadOnlyDatabase(sample_db)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def worker_limits(
    path: Path, *, deadline_seconds: float = 2.0, max_rows: int = 500, memory_mb: int = 256
) -> WorkerLimits:
    """The server's defaults unless a test says otherwise."""
    return WorkerLimits(
        path=path,
        deadline_seconds=deadline_seconds,
        max_rows=max_rows,
        max_sql_length=10_000,
        max_reply_bytes=400_000,
        memory_bytes=memory_mb * 1024 * 1024,
    )


def compile_bomb(levels: int) -> str:
    """About 1 KB of SQL whose compile time and memory double with each level (each CTE joins the last twice)."""
    ctes = ["c0 AS (SELECT 1 x UNION ALL SELECT 2)"]
    ctes += [f"c{level} AS (SELECT a.x FROM c{level - 1} a, c{level - 1} b)" for level in range(1, levels + 1)]
    return "WITH " + ", ".join(ctes) + f" SELECT count(*) FROM c{levels}"
