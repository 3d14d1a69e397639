"""SSRF through the weather location, end to end: the custom server as a process, a canary listening beside it.

The canary is a plain HTTP server on 127.0.0.1 that records every request; every trick is aimed at it
(and at the metadata address). Nothing may reach the canary, and every request the fake wttr.in receives
must be one path segment on its own host: the location can choose the place, never the destination.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.reliability.conftest import TOKEN
from tests.reliability.profiles import PROFILES, fuzz_settings
from tests.support import jsonrpc as rpc
from tests.support.fake_wttr import FakeWttr
from tests.support.hostile_inputs import LOOKALIKES, SSRF_CORPUS, ssrf_locations
from tests.support.json_schema_values import ODD_TEXT
from tests.support.mcp_fleet import Fleet
from tests.support.servers import serve_in_thread


class Canary:
    def __init__(self) -> None:
        self.hits: list[str] = []
        self._lock = threading.Lock()

    async def record(self, request: Request) -> Response:
        if request.url.path != "/__canary/health":
            with self._lock:
                self.hits.append(f"{request.method} {request.url}")
        return PlainTextResponse("canary")


@pytest.fixture(scope="module")
def canary() -> Iterator[tuple[Canary, int]]:
    canary = Canary()
    app = Starlette(routes=[Route("/{path:path}", canary.record, methods=["GET", "POST", "HEAD"])])
    with serve_in_thread(app, ready_path="/__canary/health") as url:
        yield canary, int(urlsplit(url).port or 0)


def weather(http: httpx.Client, fleet: Fleet, location: str) -> tuple[bool, str]:
    answer = rpc.call_tool(http, fleet.mcp_url("custom"), "get_weather", {"location": location}, token=TOKEN)
    assert answer.status == 200 and "error" not in answer.json(), answer.describe()
    return bool(answer.json()["result"].get("isError")), rpc.tool_text(answer)


def assert_only_wttr_was_asked(wttr: FakeWttr, canary: Canary, since: int) -> None:
    assert canary.hits == [], canary.hits
    wttr_host = urlsplit(wttr.base_url).netloc
    for request in wttr.requests[since:]:
        assert request.host == wttr_host, request
        segments = request.raw_path.split("?", 1)[0].split("/")
        assert len(segments) == 2 and segments[1] not in ("", ".", ".."), request
        assert request.query == "format=j1", request


def test_every_ssrf_trick_is_refused_before_any_request(
    fleet: Fleet, http: httpx.Client, fake_wttr: FakeWttr, canary: tuple[Canary, int]
) -> None:
    listener, port = canary
    before = fake_wttr.request_count
    tricks = SSRF_CORPUS + ssrf_locations("127.0.0.1", port) + ssrf_locations("localhost", port)
    for location in tricks:
        refused, text = weather(http, fleet, location)
        assert refused, f"{location!r} was not refused: {text[:200]}"
        assert "location" in text, (location, text)
    assert fake_wttr.request_count == before, fake_wttr.requests[before:]
    assert_only_wttr_was_asked(fake_wttr, listener, before)


def test_addresses_spelled_as_place_names_stay_on_the_weather_host(
    fleet: Fleet, http: httpx.Client, fake_wttr: FakeWttr, canary: tuple[Canary, int]
) -> None:
    listener, _ = canary
    before = fake_wttr.request_count
    for location in LOOKALIKES:
        weather(http, fleet, location)  # looked up (wttr.in does not know them) or refused: either is fine
    assert_only_wttr_was_asked(fake_wttr, listener, before)


url_parts = st.sampled_from(
    ["http://", "https://", "//", "@", ":", "/", "?", "#", "%2F", "%40", "%3A", "\\", "..", "\r\n", "\x00"]
)
hosts = st.sampled_from(["127.0.0.1", "localhost", "169.254.169.254", "[::1]", "2130706433", "0x7f000001"])


@pytest.mark.parametrize("profile", PROFILES)
def test_generated_locations_never_leave_the_weather_host(
    fleet: Fleet, http: httpx.Client, fake_wttr: FakeWttr, canary: tuple[Canary, int], profile: str
) -> None:
    listener, port = canary
    before = fake_wttr.request_count
    pieces = st.one_of(url_parts, hosts, st.just(str(port)), st.text(max_size=8), st.sampled_from(ODD_TEXT))

    @fuzz_settings(profile, quick=150, soak=2000)
    @given(location=st.lists(pieces, min_size=1, max_size=6).map("".join))
    def fuzz(location: str) -> None:
        weather(http, fleet, location)

    fuzz()
    assert_only_wttr_was_asked(fake_wttr, listener, before)
