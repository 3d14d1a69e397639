"""A second process using the run store, for the cross-process tests.

    python -m tests.apps.agent_core.store.worker <store url> create <run id> <events>
    python -m tests.apps.agent_core.store.worker <store url> read <run id>
    python -m tests.apps.agent_core.store.worker <store url> append <run id> <count> <writer name>
    python -m tests.apps.agent_core.store.worker <store url> once <run id> <count> <writer name>

``create`` writes a run whose title names this process, then ``events`` events. ``read`` prints the
header and events as one JSON line. ``append`` opens the store, prints ``ready``, waits for a line on
stdin (so several writers start together), appends ``count`` events and prints their seqs as JSON.
``once`` appends once for each of ``count`` keys (``once="key-<index>"``), in an order of its own
so that writers meet on the same key at the same time, and prints, by index, ``{"seq": …}`` if its
append landed or ``{"held_by": …}`` (the ``existing_seq``) if it was refused.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

import anyio

from apps.agent_core.model import RunHeader
from apps.agent_core.store import AlreadyRecorded, open_store


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
        elif command == "once":
            count, name = int(args[0]), args[1]
            print("ready", flush=True)
            sys.stdin.readline()
            order = list(range(count))
            random.Random(name).shuffle(order)
            outcomes: list[dict[str, int]] = [{} for _ in order]
            for index in order:
                try:
                    data = {"writer": name, "index": index}
                    event = await store.append_event(run_id, "approval_decided", data, once=f"key-{index}")
                    outcomes[index] = {"seq": event.seq}
                except AlreadyRecorded as refused:
                    outcomes[index] = {"held_by": refused.existing_seq}
            print(json.dumps(outcomes), flush=True)
        else:
            raise SystemExit(f"unknown command {command!r}")
    finally:
        await store.close()


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:])
