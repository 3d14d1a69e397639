"""Current weather and a short forecast from wttr.in, summarised for a model.

Safety: the location is the only caller-controlled part of the request. It is validated against a
narrow character set, percent-encoded as a single path segment, and the built URL is checked to
still point at the configured scheme, host and port — so no input can steer the request elsewhere
(SSRF). Redirects are never followed, for the same reason.

Failures raise ``ToolError`` with a message that says what to do: a place that is not found, a
service that is slow or down (after one retry), or a payload we cannot read. The service's faults (no
answer, no connection, 429, 5xx, a redirect, a payload we cannot read) are ``retryable``: they are the
service's state, not the request's; a refused location or an unknown place is not.
"""

from __future__ import annotations

import ipaddress
import json
import random
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import anyio
import httpx
from pydantic import BaseModel, Field

from apps.common.tools import ToolError

__all__ = [
    "CurrentConditions",
    "DayForecast",
    "WeatherClient",
    "WeatherLocation",
    "WeatherSummary",
    "normalise_location",
    "validate_location",
]

MAX_LOCATION_LENGTH = 100
# A j1 payload is ~40 KB; anything far larger is not wttr.in talking to us.
MAX_RESPONSE_BYTES = 1_000_000
_ALLOWED_PUNCTUATION = frozenset(" ,.-'\u2019")  # U+2019: the typographic apostrophe
_USER_AGENT = "agentic-workflows-platform/0.1 (mcp_custom weather)"
_MALFORMED = "weather service returned an unexpected response"
"""Raised as retryable: a payload of the wrong shape is the service misbehaving, which tends to pass."""


class WeatherLocation(BaseModel):
    area: str = Field(description="Name of the nearest area wttr.in matched")
    region: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class CurrentConditions(BaseModel):
    temp_c: float | None = None
    feels_like_c: float | None = None
    condition: str | None = None
    humidity_pct: int | None = None
    wind_kph: float | None = None
    wind_direction: str | None = Field(default=None, description="16-point compass, e.g. WSW")
    precip_mm: float | None = None
    observed_at_local: str | None = Field(default=None, description="Local date and time of the observation")
    observation_time_utc: str | None = None


class DayForecast(BaseModel):
    date: str
    min_c: float | None = None
    max_c: float | None = None
    avg_c: float | None = None
    midday_condition: str | None = Field(default=None, description="Conditions forecast around 12:00 local time")
    max_chance_of_rain_pct: int | None = None
    sunrise: str | None = None
    sunset: str | None = None


class WeatherSummary(BaseModel):
    location: WeatherLocation
    current: CurrentConditions
    days: list[DayForecast]
    source: str = "wttr.in"


def validate_location(location: str) -> str:
    """Return the location in canonical form (NFC, single spaces) or raise ``ToolError``."""
    text = " ".join(unicodedata.normalize("NFC", location).split())
    if not 1 <= len(text) <= MAX_LOCATION_LENGTH:
        raise ToolError(f"location must be 1 to {MAX_LOCATION_LENGTH} characters, e.g. 'London' or 'Paris, France'")
    for char in text:
        # Letters and combining marks of any script (Devanagari vowel signs are marks), decimal digits,
        # and a little punctuation; everything with meaning in a URL or to wttr.in (~ @ : / ? # %) is out.
        if unicodedata.category(char)[0] in "LM" or unicodedata.category(char) == "Nd":
            continue
        if char in _ALLOWED_PUNCTUATION:
            continue
        raise ToolError(
            f"location contains an unsupported character {char!r}; use a place name with letters, digits, "
            "spaces, commas, periods, hyphens or apostrophes, e.g. 'St. John's, Canada'"
        )
    # Without a letter or digit a segment could be '.' or '..', which URL normalisation would remove.
    if not any(unicodedata.category(c)[0] == "L" or unicodedata.category(c) == "Nd" for c in text):
        raise ToolError("location must contain a letter or digit, e.g. 'London'")
    # wttr.in would geolocate an IP address; this tool is for place names, and metadata addresses
    # such as 169.254.169.254 have no business in a request, even as a path.
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return text
    raise ToolError("location must be a place name, not an IP address")


def normalise_location(location: str) -> str:
    """The cache key: 'são  PAULO' and 'São Paulo' are the same place."""
    return validate_location(location).casefold()


class WeatherClient:
    """Fetches and summarises wttr.in's JSON (``format=j1``), with a small TTL cache and one retry."""

    def __init__(
        self,
        base_url: str = "https://wttr.in",
        *,
        timeout_seconds: float = 5.0,
        cache_ttl_seconds: float = 600,
        cache_max_entries: int = 256,
        http: httpx.AsyncClient | None = None,
        retry_backoff_seconds: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        base = httpx.URL(base_url)
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError(f"weather base_url must be an absolute http(s) URL, got {base_url!r}")
        if base.query or base.fragment or base.userinfo:
            raise ValueError(f"weather base_url must not carry a query, fragment or credentials: {base_url!r}")
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        if cache_max_entries < 1:
            raise ValueError("cache_max_entries must be at least 1")
        self._base = base
        self._base_path = base.path.rstrip("/")
        self._timeout = timeout_seconds
        self._cache_ttl = cache_ttl_seconds
        self._cache_max = cache_max_entries
        self._backoff = retry_backoff_seconds
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, WeatherSummary]] = OrderedDict()
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=timeout_seconds, follow_redirects=False, headers={"User-Agent": _USER_AGENT}
        )

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def summary(self, location: str) -> WeatherSummary:
        place = validate_location(location)
        key = place.casefold()
        cached = self._cache_get(key)
        if cached is not None:
            return cached
        url = self.url_for(place)
        payload = await self._fetch(url, place)
        result = summarise(payload, place)
        self._cache_put(key, result)
        return result

    def url_for(self, place: str) -> httpx.URL:
        """The request URL for an already validated place, refusing any that leaves base_url."""
        segment = quote(place, safe="")
        url = httpx.URL(f"{self._base.scheme}://{self._base.netloc.decode('ascii')}{self._base_path}/{segment}")
        url = url.copy_with(params={"format": "j1"})
        # Defence in depth: validation already forbids every character that could do this.
        if (url.scheme, url.host, url.port) != (self._base.scheme, self._base.host, self._base.port):
            raise ToolError("location was refused: it would send the request to another host")
        if url.raw_path.decode("ascii").split("?", 1)[0] != f"{self._base_path}/{segment}":
            raise ToolError("location was refused: it would change the request path")
        return url

    async def _fetch(self, url: httpx.URL, place: str) -> Any:
        for attempt in (1, 2):
            try:
                status, body = await self._get(url)
            except httpx.TimeoutException as exc:
                if attempt == 1:
                    await self._pause()
                    continue
                raise ToolError(
                    f"weather service did not answer within {self._timeout:g} s; try again later", retryable=True
                ) from exc
            except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
                if attempt == 1:
                    await self._pause()
                    continue
                raise ToolError("could not reach the weather service; try again later", retryable=True) from exc
            if status >= 500 and attempt == 1:
                await self._pause()
                continue
            return self._decode(status, body, place)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _get(self, url: httpx.URL) -> tuple[int, bytes]:
        # Streamed so an oversized body is cut off instead of buffered whole.
        async with self._http.stream("GET", url, timeout=self._timeout, follow_redirects=False) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise ToolError(_MALFORMED, retryable=True)
                chunks.append(chunk)
            return response.status_code, b"".join(chunks)

    async def _pause(self) -> None:
        # Jitter keeps replicas that failed together from retrying together.
        await anyio.sleep(self._backoff + random.uniform(0, self._backoff))

    def _decode(self, status: int, body: bytes, place: str) -> Any:
        text = body.decode("utf-8", errors="replace")
        not_found = (
            f"no weather for {place!r}: the place was not found; try a city name, e.g. 'Paris' or 'Paris, France'"
        )
        # wttr.in answers an unknown place with 404 and "Unknown location; please try ~<place>".
        if status == 404 or text.lstrip().lower().startswith("unknown location"):
            raise ToolError(not_found)
        if 300 <= status < 400:
            raise ToolError(
                "weather service answered with a redirect, which is not followed; try again later", retryable=True
            )
        if status == 429:
            raise ToolError("weather service is rate limiting requests; try again in a few minutes", retryable=True)
        if status >= 500:
            raise ToolError(f"weather service is unavailable (HTTP {status}); try again later", retryable=True)
        if status != 200:
            raise ToolError(f"weather service refused the request (HTTP {status})")
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ToolError(_MALFORMED, retryable=True) from exc

    def _cache_get(self, key: str) -> WeatherSummary | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return value

    def _cache_put(self, key: str, value: WeatherSummary) -> None:
        if self._cache_ttl <= 0:
            return
        self._cache[key] = (self._clock() + self._cache_ttl, value)
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_max:
            self._cache.popitem(last=False)


def summarise(payload: Any, requested: str) -> WeatherSummary:
    """Reduce a j1 payload to a ``WeatherSummary``; odd fields become None, a wrong shape is an error."""
    if not isinstance(payload, dict):
        raise ToolError(_MALFORMED, retryable=True)
    current = _first(payload.get("current_condition"))
    if current is None:
        raise ToolError(_MALFORMED, retryable=True)
    area = _first(payload.get("nearest_area")) or {}
    days = payload.get("weather")
    return WeatherSummary(
        location=WeatherLocation(
            area=_text(area.get("areaName")) or requested,
            region=_text(area.get("region")),
            country=_text(area.get("country")),
            latitude=_bounded(_number(area.get("latitude")), 90),
            longitude=_bounded(_number(area.get("longitude")), 180),
        ),
        current=CurrentConditions(
            temp_c=_number(current.get("temp_C")),
            feels_like_c=_number(current.get("FeelsLikeC")),
            condition=_text(current.get("weatherDesc")),
            humidity_pct=_percent(current.get("humidity")),
            wind_kph=_number(current.get("windspeedKmph")),
            wind_direction=_text(current.get("winddir16Point")),
            precip_mm=_number(current.get("precipMM")),
            observed_at_local=_text(current.get("localObsDateTime")),
            observation_time_utc=_text(current.get("observation_time")),
        ),
        days=[day for raw in (days if isinstance(days, list) else []) if (day := _day(raw)) is not None],
    )


def _day(raw: Any) -> DayForecast | None:
    if not isinstance(raw, dict) or not (date := _text(raw.get("date"))):
        return None
    raw_hourly = raw.get("hourly")
    hourly = [h for h in raw_hourly if isinstance(h, dict)] if isinstance(raw_hourly, list) else []
    rain = [p for h in hourly if (p := _percent(h.get("chanceofrain"))) is not None]
    astronomy = _first(raw.get("astronomy")) or {}
    return DayForecast(
        date=date,
        min_c=_number(raw.get("mintempC")),
        max_c=_number(raw.get("maxtempC")),
        avg_c=_number(raw.get("avgtempC")),
        midday_condition=_midday(hourly),
        max_chance_of_rain_pct=max(rain) if rain else None,
        sunrise=_text(astronomy.get("sunrise")),
        sunset=_text(astronomy.get("sunset")),
    )


def _midday(hourly: list[dict[str, Any]]) -> str | None:
    """The condition of the hourly slot nearest 12:00 (times are "0", "300", … "2100")."""
    slots = [(abs(t - 1200), h) for h in hourly if (t := _number(h.get("time"))) is not None]
    if not slots:
        return None
    return _text(min(slots, key=lambda slot: slot[0])[1].get("weatherDesc"))


def _first(value: Any) -> dict[str, Any] | None:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return None


def _text(value: Any) -> str | None:
    """wttr.in writes text either plainly or as ``[{"value": "..."}]``, often with trailing spaces."""
    if isinstance(value, list):
        value = value[0].get("value") if value and isinstance(value[0], dict) else None
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _percent(value: Any) -> int | None:
    number = _number(value)
    return round(number) if number is not None and 0 <= number <= 100 else None


def _bounded(value: float | None, limit: float) -> float | None:
    return value if value is not None and -limit <= value <= limit else None
