"""The SQL bypass corpus through the database server's ``/mcp``, with the database file watched byte for byte.

``tests/apps/mcp_database/test_bypasses.py`` proves each defence of the sandbox alone; this proves the
running server (a process, as deployed) refuses or bounds the same attacks, answers each with an
``isError`` that says why, stays up, and leaves its file and directory exactly as they were.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.conftest import TOKEN
from tests.reliability.profiles import PROFILES, fuzz_settings
from tests.support import jsonrpc as rpc
from tests.support.hostile_inputs import SQL_BYPASSES
from tests.support.mcp_fleet import Fleet

SDK_PREFIX = "Error executing tool execute_query: "


def file_state(path: Path) -> tuple[str, list[str]]:
    """The file's SHA-256 and its directory's listing (a -journal or -wal file would show there)."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(p.name for p in path.parent.iterdir())


def query(http: httpx.Client, fleet: Fleet, sql: str) -> tuple[bool, str]:
    answer = rpc.call_tool(http, fleet.mcp_url("database"), "execute_query", {"sql": sql}, token=TOKEN)
    assert answer.status == 200 and "error" not in answer.json(), answer.describe()
    # The SDK puts "Error executing tool <name>: " before a tool's own refusal.
    return bool(answer.json()["result"].get("isError")), rpc.tool_text(answer).removeprefix(SDK_PREFIX)


def order_count(http: httpx.Client, fleet: Fleet) -> int:
    answer = rpc.call_tool(
        http, fleet.mcp_url("database"), "execute_query", {"sql": "SELECT count(*) AS n FROM orders"}, token=TOKEN
    )
    count = answer.json()["result"]["structuredContent"]["rows"][0][0]
    assert isinstance(count, int)
    return count


def test_every_bypass_is_refused_and_the_file_is_untouched(fleet: Fleet, http: httpx.Client) -> None:
    database = fleet.database_path
    orders = order_count(http, fleet)
    before = file_state(database)
    for sql, refusal in SQL_BYPASSES:
        started = time.monotonic()
        refused, text = query(http, fleet, sql)
        assert refused and text.startswith(refusal), f"{sql!r}: {text[:300]}"
        assert "Traceback" not in text
        # Bounded: the server's query deadline is 2 s; nothing may run much past it.
        assert time.monotonic() - started < 10, sql
    assert not Path("/tmp/reliability-attach.db").exists()
    assert not Path("/tmp/reliability-vacuum.db").exists()
    assert file_state(database) == before
    assert order_count(http, fleet) == orders == 2000


def test_a_many_wildcard_like_pattern_is_answered_not_hung(fleet: Fleet, http: httpx.Client) -> None:
    sql = "SELECT replace(hex(zeroblob(45000)), '0', 'a') LIKE '" + "%a" * 45 + "b' AS hit"
    refused, text = query(http, fleet, sql)
    assert not refused and '"rows": [\n    [\n      0' in text, text[:300]


keywords = st.sampled_from(
    [
        "ATTACH",
        "DETACH",
        "PRAGMA",
        "VACUUM",
        "INSERT",
        "UPDATE",
        "DELETE",
        "REPLACE",
        "CREATE",
        "DROP",
        "ALTER",
        "BEGIN",
        "COMMIT",
        "SAVEPOINT",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r)",
        "SELECT",
        "load_extension(",
        "writable_schema",
        "query_only",
        "= 1",
        "= OFF",
        ";",
        "'x.db'",
        "AS x",
        "INTO",
        "orders",
        "sqlite_master",
        "temp.",
        "main.",
        "(",
        ")",
        "*",
        ",",
        "LIKE '%%%%a'",
        "--",
        "/*",
    ]
)


@pytest.mark.parametrize("profile", PROFILES)
def test_generated_statements_never_change_the_file(fleet: Fleet, http: httpx.Client, profile: str) -> None:
    database = fleet.database_path
    before = file_state(database)

    @fuzz_settings(profile, quick=150, soak=2500)
    @given(sql=st.lists(keywords, min_size=1, max_size=12).map(" ".join))
    def fuzz(sql: str) -> None:
        query(http, fleet, sql)  # answered (rows or a refusal), never a protocol error

    fuzz()
    assert file_state(database) == before
