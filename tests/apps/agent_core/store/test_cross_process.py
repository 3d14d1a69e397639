"""Two processes sharing one store: what one writes the other reads, and their appends never collide."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from apps.agent_core.store import open_store
from tests.apps.agent_core.conftest import BACKENDS
from tests.apps.agent_core.store.helpers import make_header

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[4]
WORKER = "tests.apps.agent_core.store.worker"
TIMEOUT = 60.0
WRITERS = ("left", "middle", "right")


def worker(*args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    # os.environ carries the aws_env variables (moto's endpoint, test credentials) to the child.
    return subprocess.Popen(
        [sys.executable, "-m", WORKER, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> Any:
    """The JSON the worker printed last; fails with its stderr if it did not succeed."""
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def read_line(process: subprocess.Popen[str], timeout: float = TIMEOUT) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the worker printed nothing in time"
    return process.stdout.readline().strip()


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
async def test_a_run_written_by_another_process_is_readable_by_id(store_url: str) -> None:
    run_id = f"run-{uuid.uuid4().hex}"
    child = finish(worker(store_url, "create", run_id, "3"))
    assert child["pid"] != os.getpid()

    store = open_store(store_url)
    try:
        header = await store.get(run_id)
        assert header is not None
        assert (header.title, header.owner, header.status) == (f"written by pid {child['pid']}", "worker", "running")
        events = await store.events(run_id)
        assert [(event.seq, event.data) for event in events] == [
            (index + 1, {"index": index, "pid": child["pid"]}) for index in range(3)
        ]
        # And the other way round: this process continues the run, a new process sees the result.
        await store.append_event(run_id, "run_finished", {"status": "succeeded"})
        await store.update(header.model_copy(update={"status": "succeeded", "final_answer": "done"}))
    finally:
        await store.close()

    seen = finish(worker(store_url, "read", run_id))
    assert seen["header"]["status"] == "succeeded" and seen["header"]["final_answer"] == "done"
    assert seen["header"]["version"] == 1
    assert [event["seq"] for event in seen["events"]] == [1, 2, 3, 4]
    assert seen["events"][-1]["type"] == "run_finished"


def run_together(store_url: str, command: str, run_id: str, count: int) -> dict[str, Any]:
    """Start a worker per name in WRITERS, release them at once, and return what each printed."""
    writers = {name: worker(store_url, command, run_id, str(count), name, stdin=subprocess.PIPE) for name in WRITERS}
    try:
        for process in writers.values():
            assert read_line(process) == "ready"
        for process in writers.values():  # release them together
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()  # communicate() closes it
        return {name: finish(process) for name, process in writers.items()}
    finally:
        for process in writers.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
async def test_processes_appending_to_one_run_get_unique_contiguous_seqs(store_url: str) -> None:
    store = open_store(store_url)
    try:
        header = make_header()
        await store.create(header)
        # Enough for the writers to interleave many times; moto answers far slower than a local file.
        per_writer = 100 if store_url.startswith("sqlite") else 40
        seqs = run_together(store_url, "append", header.id, per_writer)

        every_seq = list(range(1, len(WRITERS) * per_writer + 1))
        assert sorted(seq for numbers in seqs.values() for seq in numbers) == every_seq
        events = await store.events(header.id)
        assert [event.seq for event in events] == every_seq
        for name, numbers in seqs.items():
            mine = [event for event in events if event.data["writer"] == name]
            # Each writer's events are stored in the order it wrote them, under the numbers it was told.
            assert [event.data["index"] for event in mine] == list(range(per_writer))
            assert [event.seq for event in mine] == numbers
    finally:
        await store.close()


@pytest.mark.parametrize("store_url", BACKENDS, indirect=True)
async def test_processes_racing_for_the_same_once_keys_record_each_key_once(
    store_url: str, isolated_moto: None
) -> None:
    store = open_store(store_url)
    try:
        header = make_header()
        await store.create(header)
        keys = 30 if store_url.startswith("sqlite") else 15
        outcomes = run_together(store_url, "once", header.id, keys)

        events = await store.events(header.id)
        assert [event.seq for event in events] == list(range(1, keys + 1))
        assert sorted(event.data["index"] for event in events) == list(range(keys))
        holder = {event.data["index"]: event for event in events}
        for index in range(keys):
            tries = {name: outcomes[name][index] for name in WRITERS}
            winners = [name for name, outcome in tries.items() if "seq" in outcome]
            # Exactly one process recorded each key; the others were told which event holds it.
            assert winners == [holder[index].data["writer"]], tries
            assert {outcome.get("seq", outcome.get("held_by")) for outcome in tries.values()} == {holder[index].seq}
    finally:
        await store.close()
