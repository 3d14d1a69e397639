"""Notification sinks: ``AGENTIC_NOTIFY`` read once at start into named webhooks whose URLs stay secret.

``AGENTIC_NOTIFY`` is comma-separated ``name=kind:target`` entries, e.g.
``oncall=slack:${SLACK_WEBHOOK_URL},audit=webhook:file:/run/secrets/audit-url``:

- ``name``: what schedules and alert rules list in ``notify`` (lower case letters, digits, ``-``, ``_``; ≤ 40);
- ``kind``: ``slack`` (a Slack-compatible incoming webhook) or ``webhook`` (a generic JSON POST);
- ``target``: ``${VAR}`` (the URL is that environment variable's value), ``file:/path`` (the file's content, as a
  Kubernetes Secret is mounted), or the URL itself. A Slack webhook URL is a credential: prefer the first two.

A URL must be ``https://`` (``http://`` only to a loopback host, for local use and tests). A URL is never logged,
shown or put in an error: a sink is shown as its name, kind and host (``Sink.describe``), and an error that
might quote its URL goes through ``Sink.redact`` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import urlsplit

from pydantic import SecretStr

from apps.common.settings import ConfigurationError

SinkKind = Literal["slack", "webhook"]
SINK_KINDS: tuple[str, ...] = get_args(SinkKind)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SETTING = "AGENTIC_NOTIFY"


@dataclass(frozen=True)
class Sink:
    name: str
    kind: SinkKind
    url: SecretStr = field(repr=False)
    host: str

    def describe(self) -> str:
        """How logs and errors name the sink: never its URL."""
        return f"{self.name} ({self.kind} webhook at {self.host})"

    def redact(self, text: str) -> str:
        """``text`` (an HTTP library's error, a sink's answer) with this sink's URL, or its path, taken out."""
        url = self.url.get_secret_value()
        text = text.replace(url, f"<{self.name} URL>")
        secret_part = url.split(self.host, 1)[-1]  # path and query: where a webhook's token lives
        return text.replace(secret_part, "<redacted>") if len(secret_part) > 1 else text


class NotifySinks:
    """The configured sinks by name; empty when ``AGENTIC_NOTIFY`` is not set."""

    def __init__(self, sinks: Iterable[Sink] = ()) -> None:
        self._sinks = {sink.name: sink for sink in sinks}

    def names(self) -> frozenset[str]:
        """The names a schedule's or a rule's ``notify`` may list."""
        return frozenset(self._sinks)

    def get(self, name: str) -> Sink | None:
        return self._sinks.get(name)

    def unknown(self, names: Iterable[str]) -> list[str]:
        """A problem for each name no sink has (for a request's or rules file's validation), naming the known ones."""
        known = ", ".join(sorted(self._sinks)) or f"none: {SETTING} is not set"
        return [f"no notification sink is named {name!r} (configured: {known})" for name in names if name not in self]

    def __contains__(self, name: object) -> bool:
        return name in self._sinks

    def __len__(self) -> int:
        return len(self._sinks)

    def describe(self) -> list[str]:
        return [sink.describe() for sink in self._sinks.values()]

    @classmethod
    def parse(cls, text: str | None, environ: Mapping[str, str]) -> NotifySinks:
        """Read ``AGENTIC_NOTIFY``; ``ConfigurationError`` naming every bad entry (by its name, never its URL)."""
        sinks: list[Sink] = []
        problems: list[str] = []
        for position, entry in enumerate((part.strip() for part in (text or "").split(",")), start=1):
            if not entry:
                continue
            sink = _parse_entry(entry, position, environ, problems)
            if sink is None:
                continue
            if sink.name in {s.name for s in sinks}:
                problems.append(f"sink {sink.name!r} is named twice")
                continue
            sinks.append(sink)
        if problems:
            raise ConfigurationError(f"{SETTING}: " + "; ".join(problems))
        return cls(sinks)


def _parse_entry(entry: str, position: int, environ: Mapping[str, str], problems: list[str]) -> Sink | None:
    name, equals, rest = entry.partition("=")
    name = name.strip()
    # The entry itself may hold a URL: a problem names its position or its name, never quotes it.
    if not equals:
        problems.append(f"entry {position} is not name=kind:target")
        return None
    if not _NAME.fullmatch(name):
        problems.append(
            f"entry {position}: a sink's name is 1 to 40 lower-case letters, digits, '-' or '_', starting with a "
            "letter or digit"
        )
        return None
    kind, colon, target = rest.strip().partition(":")
    if not colon or kind not in SINK_KINDS:
        problems.append(f"sink {name!r}: the kind must be one of {', '.join(SINK_KINDS)} (name=kind:target)")
        return None
    url = _resolve(name, target.strip(), environ, problems)
    if url is None:
        return None
    host = _check_url(name, url, problems)
    if host is None:
        return None
    return Sink(name=name, kind=kind, url=SecretStr(url), host=host)  # type: ignore[arg-type]  # kind checked above


def _resolve(name: str, target: str, environ: Mapping[str, str], problems: list[str]) -> str | None:
    if reference := _ENV_REF.fullmatch(target):
        variable = reference.group(1)
        value = environ.get(variable, "").strip()
        if not value:
            problems.append(f"sink {name!r}: the environment variable {variable} is not set or empty")
            return None
        return value
    if target.startswith("file:"):
        path = Path(target.removeprefix("file:"))
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"sink {name!r}: cannot read {path}: {exc.__class__.__name__}")
            return None
        if not value:
            problems.append(f"sink {name!r}: {path} is empty")
            return None
        return value
    if "${" in target:
        problems.append(f"sink {name!r}: a reference is written ${{NAME}} and is the whole target")
        return None
    return target


def _check_url(name: str, url: str, problems: list[str]) -> str | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  # raises ValueError for a port that is not a number
    except ValueError:
        host = None
    if not host or any(c.isspace() for c in url) or parts.scheme not in ("http", "https"):
        problems.append(f"sink {name!r}: the target is not an http(s) URL with a host")
        return None
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        problems.append(f"sink {name!r}: the URL must use https (http only to a loopback host, such as 127.0.0.1)")
        return None
    if parts.username or parts.password:
        problems.append(f"sink {name!r}: the URL must not carry a user name or password")
        return None
    return host
