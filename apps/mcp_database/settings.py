"""Configuration of the database MCP server (``AGENTIC_*`` variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from apps.common.settings import McpServerSettings


class DatabaseSettings(McpServerSettings):
    database_path: Path = Path("var/sample.db")
    """The SQLite file queried, opened read-only."""
    build_sample_database: bool = True
    """Build the sample database (``apps/mcp_database/sample_data.py``) at ``AGENTIC_DATABASE_PATH`` when no file is
    there; off for a real database."""
    query_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    """How long one query may run; its worker process is killed just after it."""
    query_max_rows: int = Field(default=500, ge=1, le=10_000)
    """The most rows one query returns."""
    query_max_sql_length: int = Field(default=10_000, ge=100, le=10_000)
    """Longest SQL statement accepted, in characters; the tool's schema bounds it at 10,000, so this can only
    tighten it."""
    query_workers: int = Field(default=2, ge=1, le=32)
    """Worker processes that run SQL, one call each at a time; a worker is killed at its call's deadline."""
    query_worker_memory_mb: int = Field(default=256, ge=128, le=16_384)
    """Each worker's address-space limit (RLIMIT_AS); SQLite's own heap is held to a quarter of it."""
    query_queue_limit: int = Field(default=256, ge=0, le=1_000)
    """Calls that may wait for a free worker; one more is refused at once. A waiting call costs a few hundred
    bytes and waits at most ``query_queue_seconds``; 256 covers the agent core's 32 connections per replica
    over several replicas (at 32, a burst of 64 queries had 551 of 800 refused in ``make bench``)."""
    query_queue_seconds: float = Field(default=5.0, gt=0, le=60)
    """How long a call waits for a free worker before it is refused."""
