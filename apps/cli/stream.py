"""Following a run's Server-Sent Events, resuming with ``Last-Event-ID`` when the connection drops.

The server sends ``id: <seq>``, ``event: <type>`` and ``data: {"seq", "type", "at", "data"}`` per event,
``: ping`` comments while idle, and closes the stream after ``run_finished``. Only ``data`` is needed:
it repeats the id and type, so a frame is parsed from it alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx

from apps.cli.client import Platform
from apps.cli.errors import Unreachable

MAX_RECONNECTS = 5
"""Consecutive failed attempts before giving up; any event received resets the count."""
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0)

Event = dict[str, Any]
Tick = Callable[[], None]


def parse_frames(lines: Iterable[str], on_line: Tick | None = None) -> Iterator[Event]:
    """Events from SSE text lines; ``on_line`` runs for every line (pings too), so callers can check clocks."""
    data: list[str] = []
    for line in lines:
        if on_line is not None:
            on_line()
        if line == "":
            if data:
                event = _decode("\n".join(data))
                data = []
                if event is not None:
                    yield event
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    # A frame cut off by a closed connection is incomplete: it is dropped and re-read on resume.


def _decode(text: str) -> Event | None:
    try:
        event = json.loads(text)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("seq"), int) or not isinstance(event.get("type"), str):
        return None
    return event


def follow_events(
    platform: Platform,
    run_id: str,
    after: int = 0,
    *,
    on_line: Tick | None = None,
    on_reconnect: Callable[[int, str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Event]:
    """Every event after ``after`` until ``run_finished``, across dropped connections (bounded retries)."""
    failures = 0
    while True:
        try:
            with platform.event_lines(run_id, after) as lines:
                for event in parse_frames(lines, on_line):
                    if event["seq"] <= after:
                        continue  # already seen before a reconnect
                    after = event["seq"]
                    failures = 0
                    yield event
                    if event["type"] == "run_finished":
                        return
            reason = "the server closed the stream before the run finished"
        except (httpx.ReadError, httpx.ReadTimeout, httpx.RemoteProtocolError) as exc:
            reason = f"the connection dropped ({type(exc).__name__})"
        except Unreachable as exc:
            reason = exc.message
        failures += 1
        if failures > MAX_RECONNECTS:
            raise Unreachable(
                f"lost the event stream of run {run_id} after {MAX_RECONNECTS} reconnects: {reason}. "
                "The run goes on on the server."
            )
        if on_reconnect is not None:
            on_reconnect(after, reason)
        sleep(BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1])
