"""A second process using the run store, for the cross-process tests.

    python -m tests.apps.agent_core.store.worker <store url> create <run id> <events>
    python -m tests.apps.agent_core.store.worker <store url> read <run id>
    python -m tests.apps.agent_core.store.worker <store url> append <run id> <count> <writer name>

``create`` writes a run whose title names this process, then ``events`` events. ``read`` prints the
header and events as one JSON line. ``append`` opens the store, prints ``ready``, waits for a line on
stdin (so several writers start together), appends ``count`` events and prints their seqs as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time

import anyio

from apps.agent_core.model import RunHeader
from apps.agent_core.store import open_store


async def main(*argv: str) -> None:
    url, command, run_id, *args = argv
    store = open_store(url)
    try:
        if command == "create":
            now = time.time()
            header = RunHeader(
                id=run_id,
                kind="task",
                status="running",
                owner="worker",
                title=f"written by pid {os.getpid()}",
                request={"task": "cross-process"},
                reasoner="offline",
                created_at=now,
                updated_at=now,
            )
            await store.create(header)
            for index in range(int(args[0])):
                await store.append_event(run_id, "step_started", {"index": index, "pid": os.getpid()})
            print(json.dumps({"pid": os.getpid()}), flush=True)
        elif command == "read":
            header_or_none = await store.get(run_id)
            events = await store.events(run_id)
            print(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "header": None if header_or_none is None else header_or_none.model_dump(mode="json"),
                        "events": [event.model_dump(mode="json") for event in events],
                    }
                ),
                flush=True,
            )
        elif command == "append":
            count, name = int(args[0]), args[1]
            print("ready", flush=True)
            sys.stdin.readline()
            seqs = []
            for index in range(count):
                event = await store.append_event(run_id, "model_turn", {"writer": name, "index": index})
                seqs.append(event.seq)
            print(json.dumps(seqs), flush=True)
        else:
            raise SystemExit(f"unknown command {command!r}")
    finally:
        await store.close()


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:])
