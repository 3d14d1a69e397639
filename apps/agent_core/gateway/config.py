"""``AGENTIC_MCP_SERVERS``: ``name=url,name=url`` → ``{name: url}``, checked entry by entry."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SERVER_NAME = re.compile(r"[a-z0-9_-]+")


def parse_mcp_servers(text: str) -> dict[str, str]:
    """Parse and validate; a ``ValueError`` names the entry that is wrong and what would be right."""
    servers: dict[str, str] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, url = (part.strip() for part in entry.partition("="))
        entry = f"{name}={_redacted(url)}" if sep else entry
        if not sep or not url:
            raise ValueError(f"entry {entry!r} must be written name=url, e.g. database=http://database-mcp/mcp")
        if not SERVER_NAME.fullmatch(name):
            raise ValueError(f"entry {entry!r}: server name {name!r} may use only a-z, 0-9, '_' and '-'")
        if name in servers:
            raise ValueError(f"entry {entry!r}: server {name!r} is listed twice")
        problem = url_problem(url)
        if problem is not None:
            raise ValueError(f"entry {entry!r}: {problem}")
        servers[name] = url
    if not servers:
        raise ValueError("no MCP server configured: write name=url,name=url")
    return servers


def _redacted(url: str) -> str:
    """The URL as error messages may show it: without a password."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if not sep or "@" not in authority:
        return url
    return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{path}"


def url_problem(url: str, *, shown: str | None = None, credentials: str = "set AGENTIC_MCP_TOKEN") -> str | None:
    """Why ``url`` cannot be an MCP endpoint, or ``None`` when it can.

    ``shown`` is how messages name it (the servers file's entries as written, variables not filled in);
    ``credentials`` says where credentials go instead of the URL.
    """
    shown = repr(_redacted(shown if shown is not None else url))
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError as exc:
        return f"{shown} is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"{shown} must start with http:// or https://"
    if not parts.hostname:
        return f"{shown} has no host"
    if parts.username is not None or parts.password is not None:
        # Credentials in a URL end up in logs and health reports; the token has its own setting.
        return f"the URL must not carry credentials: {credentials} instead"
    if parts.query or parts.fragment:
        return "the URL must not have a query or fragment (they may carry secrets, and MCP needs neither)"
    return None
