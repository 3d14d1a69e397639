"""Store: step-journal writes per second on SQLite and on DynamoDB, and what journaling adds to a run.

``append_event`` is called through the store API as the agent core calls it, one run per writer, at
concurrency 1 and 16. The baselines are the bare write each backend needs for one event: one
autocommitted ``INSERT`` on the same SQLite file settings (WAL, ``synchronous=NORMAL``), and one
``PutItem`` on the same DynamoDB endpoint. DynamoDB is moto's server on 127.0.0.1, so the figures
measure our code path and the protocol, not DynamoDB's service latency.

A run's journaling cost is read from the agent core itself: ``benchmarks.stubs core`` times every
store method, and the time spent in them per run is set against the run's latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from apps.agent_core.model import RunHeader
from apps.agent_core.store import RunStore, dynamodb_client
from apps.agent_core.store.dynamodb import DynamoDBRunStore, create_table
from apps.agent_core.store.sqlite import SqliteRunStore
from benchmarks.core_harness import load_runs, platform, workflow
from benchmarks.http_load import percentile
from benchmarks.processes import serve
from benchmarks.results import Comparison, Plot

NAME = "store"
TABLE = "bench-runs"
EVENT = {
    "step_id": "s1",
    "status": "succeeded",
    "result": {"text": "bench", "items": ["bench", "BENCH"]},
    "attempt": 1,
    "duration_ms": 1.234,
}
AWS_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}


def header(run_id: str) -> RunHeader:
    now = time.time()
    return RunHeader.model_validate(
        {
            "id": run_id,
            "kind": "workflow",
            "status": "running",
            "owner": "bench",
            "title": "bench",
            "request": {},
            "reasoner": "offline",
            "created_at": now,
            "updated_at": now,
        }
    )


def _values(latencies: list[float], seconds: float) -> dict[str, float]:
    return {
        "writes_per_s": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "writes": len(latencies),
    }


async def _appends(store: RunStore, prefix: str, concurrency: int, writes: int) -> dict[str, float]:
    runs = [f"{prefix}-{concurrency}-{index}" for index in range(concurrency)]
    for run_id in runs:
        await store.create(header(run_id))
    latencies: list[float] = []
    per_writer = max(1, writes // concurrency)

    async def writer(run_id: str) -> None:
        for _ in range(per_writer):
            started = time.perf_counter()
            await store.append_event(run_id, "step_finished", EVENT)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(writer(run_id) for run_id in runs))
    return _values(latencies, time.perf_counter() - started)


def _bare_sqlite(path: Path, writes: int) -> dict[str, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE events (run_id TEXT, seq INTEGER, type TEXT, data TEXT, at REAL, PRIMARY KEY (run_id, seq))"
    )
    latencies: list[float] = []
    began = time.perf_counter()
    for seq in range(1, writes + 1):
        started = time.perf_counter()
        conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?)", ("bare", seq, "step_finished", json.dumps(EVENT), time.time())
        )
        latencies.append((time.perf_counter() - started) * 1000)
    seconds = time.perf_counter() - began
    conn.close()
    return _values(latencies, seconds)


def _bare_dynamodb(writes: int) -> dict[str, float]:
    client = dynamodb_client()
    latencies: list[float] = []
    began = time.perf_counter()
    for seq in range(1, writes + 1):
        started = time.perf_counter()
        client.put_item(
            TableName=TABLE,
            Item={
                "pk": {"S": "RUN#bare"},
                "sk": {"S": f"EVENT#{seq:010d}"},
                "seq": {"N": str(seq)},
                "type": {"S": "step_finished"},
                "data": {"S": json.dumps(EVENT)},
                "at": {"N": repr(time.time())},
            },
        )
        latencies.append((time.perf_counter() - started) * 1000)
    return _values(latencies, time.perf_counter() - began)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _journaling(
    comparison: Comparison, label: str, scratch: Path, runs: int, state: str | None, env: dict[str, str]
) -> None:
    with platform(scratch, state=state, timed=True, **env) as p:
        asyncio.run(load_runs(p.core, workflow(3), concurrency=1, runs=max(2, runs // 5), max_seconds=30))
        before = p.store_report()
        result = asyncio.run(load_runs(p.core, workflow(3), concurrency=1, runs=runs, max_seconds=60))
        after = p.store_report()
    spent = sum(after["seconds"].values()) - sum(before["seconds"].values())
    appends = after["calls"].get("append_event", 0) - before["calls"].get("append_event", 0)
    done = max(1, result.requests)
    comparison.add(f"{label} store calls", "3-step run", ms=spent * 1000 / done, appends_per_run=appends / done)
    comparison.add(f"{label} whole run", "3-step run", ms=result.p50_ms, errors=result.errors)


def run(quick: bool, scratch: Path) -> Comparison:
    comparison = Comparison(NAME, "Store: journal writes, and what journaling adds to a run", __doc__ or "")
    writes, runs = (32, 3) if quick else (2000, 40)
    dynamo_writes = 16 if quick else 400

    store = SqliteRunStore(scratch / "store.db")
    try:
        for concurrency in (1, 16):
            values = asyncio.run(_appends(store, "sqlite", concurrency, writes))
            comparison.add("SqliteRunStore.append_event", f"c={concurrency}", **values)
    finally:
        asyncio.run(store.close())
    comparison.add("bare sqlite3 INSERT", "c=1", **_bare_sqlite(scratch / "bare.db", writes))
    _journaling(comparison, "sqlite", scratch, runs, None, {})

    with serve("benchmarks.stubs", ["moto"], ready_path=None) as moto:
        aws = {**AWS_ENV, "AWS_ENDPOINT_URL_DYNAMODB": moto.url}
        with _environment(aws):
            client = dynamodb_client()
            create_table(client, TABLE)
            dynamo = DynamoDBRunStore(TABLE, client)
            for concurrency in (1, 16):
                values = asyncio.run(_appends(dynamo, "dynamodb", concurrency, dynamo_writes))
                comparison.add("DynamoDBRunStore.append_event", f"c={concurrency}", **values)
            comparison.add("bare boto3 PutItem", "c=1", **_bare_dynamodb(dynamo_writes))
        _journaling(comparison, "dynamodb", scratch, runs, f"dynamodb://{TABLE}", aws)
    _figures(comparison)
    return comparison


def _figures(comparison: Comparison) -> None:
    for ours, bare in (
        ("SqliteRunStore.append_event", "bare sqlite3 INSERT"),
        ("DynamoDBRunStore.append_event", "bare boto3 PutItem"),
    ):
        comparison.compare("writes_per_s", "writes/s", ours, "c=1", bare)
        comparison.compare("p50_ms", "ms", ours, "c=1", bare, better="lower")
        comparison.compare("writes_per_s", "writes/s", ours, "c=16", ours, "c=1")
    for label in ("sqlite", "dynamodb"):
        comparison.compare("ms", "ms", f"{label} store calls", "3-step run", f"{label} whole run", better="lower")
    comparison.plots.append(
        Plot("store_writes.png", "Journal writes per second", "writes_per_s", "writes/s", log_scale=True)
    )
