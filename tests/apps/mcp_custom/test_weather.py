from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from apps.common.tools import ToolError
from apps.mcp_custom.weather import WeatherClient, validate_location
from tests.support.fake_wttr import FakeWttr, load_fixture
from tests.support.hostile_inputs import SSRF_CORPUS
from tests.support.net import free_port

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def make_client(wttr: FakeWttr) -> AsyncIterator[Callable[..., WeatherClient]]:
    clients: list[WeatherClient] = []

    def make(**kwargs: Any) -> WeatherClient:
        kwargs.setdefault("retry_backoff_seconds", 0.01)
        client = WeatherClient(kwargs.pop("base_url", wttr.base_url), **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        (
            "London",
            {
                "area": "London",
                "region": "City of London, Greater London",
                "country": "United Kingdom",
                "lat": 51.517,
                "lon": -0.106,
                "temp": 11,
                "feels": 9,
                "cond": "Light rain shower",
                "hum": 76,
                "wind": 19,
                "dir": "WSW",
                "precip": 0.3,
                "obs": "2025-03-14 09:12 AM",
                "utc": "09:12 AM",
                "day0": ("2025-03-14", 6, 13, 10, "Patchy rain nearby", 84, "06:11 AM", "06:04 PM"),
                "day2": ("2025-03-16", 5, 12, 9, "Moderate rain", 92, "06:07 AM", "06:08 PM"),
            },
        ),
        (
            "Seattle",
            {
                "area": "Seattle",
                "region": "Washington",
                "country": "United States of America",
                "lat": 47.606,
                "lon": -122.332,
                "temp": 7,
                "feels": 4,
                "cond": "Overcast",
                "hum": 89,
                "wind": 11,
                "dir": "SSE",
                "precip": 0.0,
                "obs": "2025-03-14 01:53 AM",
                "utc": "08:53 AM",
                "day0": ("2025-03-14", 4, 10, 7, "Patchy light drizzle", 62, "07:18 AM", "07:10 PM"),
                "day2": ("2025-03-16", 3, 11, 7, "Sunny", 0, "07:14 AM", "07:13 PM"),
            },
        ),
        (
            "São Paulo",
            {
                "area": "Sao Paulo",
                "region": "Sao Paulo",
                "country": "Brazil",
                "lat": -23.533,
                "lon": -46.617,
                "temp": 24,
                "feels": 26,
                "cond": "Patchy rain nearby",
                "hum": 78,
                "wind": 9,
                "dir": "SE",
                "precip": 0.1,
                "obs": "2025-03-14 06:05 AM",
                "utc": "09:05 AM",
                "day0": ("2025-03-14", 19, 29, 24, "Thundery outbreaks in nearby", 80, "06:13 AM", "06:28 PM"),
                "day2": ("2025-03-16", 18, 27, 22, "Light rain", 78, "06:14 AM", "06:26 PM"),
            },
        ),
    ],
)
async def test_summary_from_each_fixture(
    make_client: Callable[..., WeatherClient], place: str, expected: dict[str, Any]
) -> None:
    summary = await make_client().summary(place)

    loc, cur = summary.location, summary.current
    assert (loc.area, loc.region, loc.country) == (expected["area"], expected["region"], expected["country"])
    assert (loc.latitude, loc.longitude) == (expected["lat"], expected["lon"])
    assert (cur.temp_c, cur.feels_like_c, cur.condition) == (expected["temp"], expected["feels"], expected["cond"])
    assert (cur.humidity_pct, cur.wind_kph, cur.wind_direction) == (expected["hum"], expected["wind"], expected["dir"])
    assert cur.precip_mm == expected["precip"]
    assert (cur.observed_at_local, cur.observation_time_utc) == (expected["obs"], expected["utc"])
    assert len(summary.days) == 3
    for index, key in ((0, "day0"), (2, "day2")):
        day = summary.days[index]
        got = (day.date, day.min_c, day.max_c, day.avg_c, day.midday_condition, day.max_chance_of_rain_pct,
               day.sunrise, day.sunset)  # fmt: skip
        assert got == expected[key]
    # The summary is compact: none of the raw payload's hourly detail travels to the model.
    assert "hourly" not in summary.model_dump_json()


async def test_request_goes_to_base_url_with_format_j1(
    wttr: FakeWttr, make_client: Callable[..., WeatherClient]
) -> None:
    await make_client().summary("London")

    [request] = wttr.requests
    assert (request.method, request.raw_path, request.query) == ("GET", "/London", "format=j1")
    assert request.host == wttr.base_url.removeprefix("http://")


@pytest.mark.parametrize(
    ("place", "raw_path"),
    [
        ("São Paulo", "/S%C3%A3o%20Paulo"),
        ("St. John's", "/St.%20John%27s"),
        ("Zürich,  Switzerland", "/Z%C3%BCrich%2C%20Switzerland"),
    ],
)
async def test_odd_but_valid_names_are_url_encoded(
    wttr: FakeWttr, make_client: Callable[..., WeatherClient], place: str, raw_path: str
) -> None:
    wttr.set_response(place, load_fixture("london"))

    await make_client().summary(place)

    [request] = wttr.requests
    assert request.raw_path == raw_path
    assert request.query == "format=j1"


async def test_cache_serves_repeat_calls_and_expires(wttr: FakeWttr, make_client: Callable[..., WeatherClient]) -> None:
    clock = FakeClock()
    client = make_client(cache_ttl_seconds=600, clock=clock)

    first = await client.summary("London")
    second = await client.summary("  london ")  # same place once normalised
    assert wttr.request_count == 1
    assert second == first

    clock.now += 601
    await client.summary("London")
    assert wttr.request_count == 2


async def test_cache_is_bounded(wttr: FakeWttr, make_client: Callable[..., WeatherClient]) -> None:
    client = make_client(cache_max_entries=1)
    for place in ("London", "Seattle", "London"):
        await client.summary(place)
    assert wttr.request_count == 3


async def test_failures_are_not_cached(wttr: FakeWttr, make_client: Callable[..., WeatherClient]) -> None:
    client = make_client()
    with pytest.raises(ToolError):
        await client.summary("Atlantis")
    with pytest.raises(ToolError):
        await client.summary("Atlantis")
    assert wttr.request_count == 2


async def test_retries_once_after_503(wttr: FakeWttr, make_client: Callable[..., WeatherClient]) -> None:
    wttr.fail_next(1, status=503)

    summary = await make_client().summary("Seattle")

    assert summary.location.area == "Seattle"
    assert [r.raw_path for r in wttr.requests] == ["/Seattle", "/Seattle"]


async def test_gives_up_after_second_503(wttr: FakeWttr, make_client: Callable[..., WeatherClient]) -> None:
    wttr.fail_next(2, status=503)

    with pytest.raises(ToolError, match=r"unavailable \(HTTP 503\); try again later") as caught:
        await make_client().summary("Seattle")
    assert wttr.request_count == 2
    assert caught.value.retryable is True


async def test_retries_once_after_timeout(wttr: FakeWttr, make_client: Callable[..., WeatherClient]) -> None:
    wttr.hang_next(1, seconds=1.0)

    summary = await make_client(timeout_seconds=0.2).summary("London")

    assert summary.location.area == "London"
    assert wttr.request_count == 2


async def test_timeout_failure_message(wttr: FakeWttr, make_client: Callable[..., WeatherClient]) -> None:
    wttr.hang_next(2, seconds=1.0)
    started = time.monotonic()

    with pytest.raises(ToolError, match=r"did not answer within 0\.2 s; try again later") as caught:
        await make_client(timeout_seconds=0.2).summary("London")
    assert wttr.request_count == 2
    assert caught.value.retryable is True
    assert time.monotonic() - started < 1.0  # the client gave up; it did not wait for the server


async def test_unreachable_service(make_client: Callable[..., WeatherClient]) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ToolError, match="could not reach the weather service") as caught:
        await client.summary("London")
    assert caught.value.retryable is True  # the network's state, not the call's


async def test_unknown_place_is_not_found(wttr: FakeWttr, make_client: Callable[..., WeatherClient]) -> None:
    with pytest.raises(ToolError) as caught:
        await make_client().summary("Atlantis")
    message = str(caught.value)
    assert "'Atlantis'" in message
    assert "not found" in message
    assert "try a city name" in message
    assert wttr.request_count == 1  # a 404 is an answer, not a failure to retry
    assert caught.value.retryable is False


async def test_redirect_is_not_followed(wttr: FakeWttr, make_client: Callable[..., WeatherClient]) -> None:
    wttr.set_response("London", "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    with pytest.raises(ToolError, match="redirect"):
        await make_client().summary("London")
    assert wttr.request_count == 1


@pytest.mark.parametrize("place", SSRF_CORPUS)
async def test_hostile_locations_are_refused_before_any_request(
    wttr: FakeWttr, make_client: Callable[..., WeatherClient], place: str
) -> None:
    with pytest.raises(ToolError, match="location"):
        await make_client().summary(place)
    assert wttr.request_count == 0


@pytest.mark.parametrize(
    "place",
    ["São Paulo", "St. John's", "St. John\u2019s", "'s-Hertogenbosch", "東京", "नई दिल्ली", "51.5,-0.12", "10001"],
)
def test_valid_place_names_are_accepted(place: str) -> None:
    assert validate_location(f"  {place}\t") == place


def test_url_check_refuses_a_path_that_normalisation_would_change() -> None:
    # validate_location never lets '..' through; url_for must hold even if a caller skips validation.
    client = WeatherClient("http://127.0.0.1:9/base")
    with pytest.raises(ToolError, match="refused"):
        client.url_for("..")
    assert str(client.url_for("São Paulo")) == "http://127.0.0.1:9/base/S%C3%A3o%20Paulo?format=j1"
    # One path segment, always: even a slash is encoded.
    assert client.url_for("a/b").raw_path == b"/base/a%2Fb?format=j1"


@pytest.mark.parametrize(
    "body",
    ["<html>not json</html>", [], {"current_condition": []}, {"current_condition": "sunny"}, {"weather": []}],
)
async def test_malformed_payload(wttr: FakeWttr, make_client: Callable[..., WeatherClient], body: Any) -> None:
    wttr.set_response("London", body)
    with pytest.raises(ToolError, match=r"^weather service returned an unexpected response$"):
        await make_client().summary("London")


async def test_odd_fields_do_not_crash(wttr: FakeWttr, make_client: Callable[..., WeatherClient]) -> None:
    payload = load_fixture("london")
    current = payload["current_condition"][0]
    current.update(temp_C="N/A", FeelsLikeC=None, humidity="250", weatherDesc=[], windspeedKmph="12.5")
    del current["winddir16Point"]
    del payload["nearest_area"]
    payload["weather"][0]["hourly"] = "none"
    payload["weather"][0]["astronomy"] = [{}]
    payload["weather"][1] = {"mintempC": "3"}  # no date: skipped
    payload["weather"].append("junk")
    wttr.set_response("London", payload)

    summary = await make_client().summary("London")

    assert summary.location.area == "London"  # falls back to the requested name
    assert summary.location.country is None
    cur = summary.current
    assert (cur.temp_c, cur.feels_like_c, cur.humidity_pct, cur.condition) == (None, None, None, None)
    assert (cur.wind_kph, cur.wind_direction) == (12.5, None)
    assert [d.date for d in summary.days] == ["2025-03-14", "2025-03-16"]
    first = summary.days[0]
    assert (first.min_c, first.midday_condition, first.max_chance_of_rain_pct, first.sunrise) == (6, None, None, None)


async def test_injected_http_client_is_not_closed(wttr: FakeWttr) -> None:
    async with httpx.AsyncClient() as http:
        client = WeatherClient(wttr.base_url, http=http)
        await client.aclose()
        assert not http.is_closed
        assert (await client.summary("London")).location.area == "London"


@pytest.mark.parametrize("base_url", ["ftp://wttr.in", "wttr.in", "https://wttr.in/?x=1", "https://u:p@wttr.in"])
def test_bad_base_url_is_refused(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        WeatherClient(base_url)
