"""The event stream in-process, through httpx's ``MockTransport``: framing, resuming, giving up; error mapping."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import httpx
import pytest

from apps.cli.client import Platform
from apps.cli.errors import Unreachable
from apps.cli.main import main
from apps.cli.stream import MAX_RECONNECTS, follow_events, parse_frames

RUN_ID = "r1"


def frame(seq: int, kind: str, data: dict[str, object] | None = None) -> bytes:
    payload = {"seq": seq, "type": kind, "at": 1000.0 + seq, "data": data or {}}
    return f"id: {seq}\r\nevent: {kind}\r\ndata: {json.dumps(payload)}\r\n\r\n".encode()


class Dropping(httpx.SyncByteStream):
    """Sends some frames, then the connection drops (optionally halfway through one more frame)."""

    def __init__(self, chunks: list[bytes], drop: bool) -> None:
        self.chunks = chunks
        self.drop = drop

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.drop:
            raise httpx.ReadError("connection reset by peer")


def test_frames_skip_comments_and_join_data_lines() -> None:
    lines = [": ping", "", "id: 1", "event: x", 'data: {"seq": 1,', 'data: "type": "x"}', "", "data: not json", ""]
    assert list(parse_frames(lines)) == [{"seq": 1, "type": "x"}]
    assert list(parse_frames(["id: 2", 'data: {"seq": 2, "type": "y"}'])) == [], "an unterminated frame is dropped"


def test_a_dropped_stream_resumes_from_the_last_event_id() -> None:
    asked_after: list[str | None] = []
    responses = [
        # The second connection repeats event 2: a resume must not show it twice.
        [frame(1, "run_started"), frame(2, "step_started", {"step_id": "a"}), b'id: 3\r\ndata: {"seq": 3'],
        [frame(2, "step_started", {"step_id": "a"}), frame(3, "step_finished"), frame(4, "run_finished")],
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/api/runs/{RUN_ID}/events"
        asked_after.append(request.headers.get("last-event-id"))
        chunks = responses[len(asked_after) - 1]
        return httpx.Response(200, stream=Dropping(chunks, drop=len(asked_after) == 1))

    reconnects: list[int] = []
    with Platform("http://platform.test", transport=httpx.MockTransport(handler)) as platform:
        events = list(
            follow_events(
                platform, RUN_ID, on_reconnect=lambda after, _: reconnects.append(after), sleep=lambda _: None
            )
        )
    assert [event["seq"] for event in events] == [1, 2, 3, 4]
    assert asked_after == ["0", "2"]
    assert reconnects == [2]


def test_reconnects_are_bounded() -> None:
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        return httpx.Response(200, stream=Dropping([b": ping\r\n\r\n"], drop=True))

    with (
        Platform("http://platform.test", transport=httpx.MockTransport(handler)) as platform,
        pytest.raises(Unreachable, match="lost the event stream"),
    ):
        list(follow_events(platform, RUN_ID, sleep=lambda _: None))
    assert attempts == MAX_RECONNECTS + 1


def run_main(handler: httpx.MockTransport, *args: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(list(args), environ={}, stdout=stdout, stderr=stderr, transport=handler)
    return code, stdout.getvalue(), stderr.getvalue()


def test_server_errors_and_foreign_answers_exit_5() -> None:
    unavailable = httpx.MockTransport(
        lambda _: httpx.Response(
            503, json={"error": "store_unavailable", "message": "the store is down", "problems": []}
        )
    )
    code, _, stderr = run_main(unavailable, "runs")
    assert code == 5 and "the store is down" in stderr

    foreign = httpx.MockTransport(lambda _: httpx.Response(404, text="<html>nginx</html>"))
    code, _, stderr = run_main(foreign, "runs")
    assert code == 5 and "not as the platform's API does" in stderr

    timeout = httpx.MockTransport(lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=request)))
    code, stdout, stderr = run_main(timeout, "--json", "--timeout", "2", "health")
    assert code == 5 and "did not answer within 2 s" in stderr
    assert json.loads(stdout)["error"] == "Unreachable", "--json keeps stdout one JSON document"
