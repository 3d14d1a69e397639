"""``AGENTIC_MCP_SERVERS_FILE``: MCP servers in the ``mcpServers`` shape MCP clients already use.

The file (JSON or YAML) is ``{"mcpServers": {name: entry}}``, as in Claude Desktop, Cursor or Claude Code:

- a remote entry has ``url`` and optional ``headers`` (Streamable HTTP);
- a stdio entry has ``command`` and optional ``args``, ``env`` and ``cwd`` (a child process);
- either may add ``timeout_seconds`` (the call timeout for its tools unless a workflow step sets its own),
  ``tools`` (an allow-list: only these tools of it are offered and callable) and ``approval`` (``always``,
  ``never``, or ``annotations``: ask when the tool is annotated destructive). ``type`` (``http``,
  ``streamable-http``, ``stdio``) is accepted as other clients write it, and must agree with the entry.

String values may name environment variables, so secrets stay out of the file: ``${NAME}`` (unset is an
error), ``${NAME:-default}`` (the default when it is unset or empty), and ``$${`` for a literal ``${``.
Header and env values are secrets as far as this module is concerned: no message shows them, and an entry
is displayed as written in the file (``shown``), never with its variables filled in.

Entries from the file get only the headers they name, never ``AGENTIC_MCP_TOKEN`` (an entry may name it as
``${AGENTIC_MCP_TOKEN}``); the servers of ``AGENTIC_MCP_SERVERS`` are the platform's own and get that token.
``configured_servers`` reads both and raises one ``ConfigurationError`` naming every problem it found.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from apps.agent_core.gateway.config import SERVER_NAME, parse_mcp_servers, url_problem
from apps.common.settings import ConfigurationError

ApprovalMode = Literal["always", "never", "annotations"]
"""``always``: every call of the server waits for a person; ``never``: none does; ``annotations``: calls of
tools annotated destructive do (the default)."""

FILE_VARIABLE = "AGENTIC_MCP_SERVERS_FILE"
LIST_VARIABLE = "AGENTIC_MCP_SERVERS"

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}|\$\{")
"""``$${`` (a literal ``${``), a reference ``${NAME}`` or ``${NAME:-default}``, or a ``${`` that is neither."""
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
"""Visible ASCII, space and tab: anything else would make the HTTP client fail with the value in its message."""
_MANAGED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "accept", "connection", "transfer-encoding", "last-event-id"}
)
"""Headers the MCP client sets itself (with every ``mcp-*`` one): an entry overriding them would break calls."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Options(BaseModel):
    """What every entry may say besides how to reach the server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)
    tools: tuple[str, ...] | None = Field(default=None, min_length=1)
    approval: ApprovalMode = "annotations"

    # As written in the file, variables not filled in: the only form of an entry that is ever displayed.
    _shown: str | None = PrivateAttr(default=None)

    @property
    def shown(self) -> str:
        return self._shown if self._shown is not None else self._display()

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A filled-in value (a header, an env value, an argument, even a URL's path) may be a secret.
        yield "shown", self.shown
        yield from ((name, getattr(self, name)) for name in _Options.model_fields)

    def _display(self) -> str:
        raise NotImplementedError


class RemoteServer(_Options):
    """A server reached over Streamable HTTP."""

    type: Literal["http", "streamable-http", "streamableHttp"] | None = None
    url: str
    headers: dict[str, str] = Field(default_factory=dict)

    @property
    def transport(self) -> Literal["streamable-http"]:
        return "streamable-http"

    def _display(self) -> str:
        return self.url


class StdioServer(_Options):
    """A server the agent core starts as a child process and speaks to over stdin and stdout."""

    type: Literal["stdio"] | None = None
    command: str = Field(min_length=1)
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    cwd: Path | None = None

    @property
    def transport(self) -> Literal["stdio"]:
        return "stdio"

    def _display(self) -> str:
        # The command line only: env values may be secrets.
        return shlex.join([self.command, *self.args])


ServerEntry = RemoteServer | StdioServer


def configured_servers(
    servers: str | None, servers_file: Path | None, environ: Mapping[str, str]
) -> dict[str, str | ServerEntry]:
    """Every server: ``AGENTIC_MCP_SERVERS`` entries as their URL (the platform's own, which get the internal
    token), then the file's entries; raises ``ConfigurationError`` listing every problem."""
    problems: list[str] = []
    internal: dict[str, str] = {}
    if servers is not None and (servers.strip(" ,") or servers_file is None):
        try:
            internal = parse_mcp_servers(servers)
        except ValueError as exc:
            problems.append(f"{LIST_VARIABLE}: {exc}")
    from_file: dict[str, ServerEntry] = {}
    if servers_file is not None:
        from_file, file_problems = load_servers_file(servers_file, environ)
        problems.extend(f"{FILE_VARIABLE} ({servers_file}): {problem}" for problem in file_problems)
        problems.extend(
            f"server {name!r} is defined both in {LIST_VARIABLE} and in {FILE_VARIABLE} ({servers_file}); "
            "rename one of them"
            for name in from_file
            if name in internal
        )
    if problems:
        raise ConfigurationError("the MCP servers are misconfigured:\n  - " + "\n  - ".join(problems))
    if not internal and not from_file:
        raise ConfigurationError(f"no MCP server configured: set {LIST_VARIABLE} (name=url,…) or {FILE_VARIABLE}")
    return {**internal, **from_file}


def load_servers_file(path: Path, environ: Mapping[str, str]) -> tuple[dict[str, ServerEntry], list[str]]:
    """The file's servers with variables filled in, and every problem found (``server 'x', key 'y': …``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [f"cannot read the file: {getattr(exc, 'strerror', None) or exc}"]
    try:
        data = _decode(text, json_only=path.suffix.lower() == ".json")
    except ValueError as exc:
        return {}, [str(exc)]
    if not isinstance(data, dict) or "mcpServers" not in data:
        return {}, ['the file must be an object with "mcpServers": {name: {url or command, …}}']
    problems = [f"unknown key {key!r} at the top level (only mcpServers)" for key in data if key != "mcpServers"]
    entries = data["mcpServers"]
    if not isinstance(entries, dict):
        return {}, [*problems, "mcpServers must map server names to entries"]
    servers: dict[str, ServerEntry] = {}
    for name, raw in entries.items():
        where = f"server {name!r}"
        if not isinstance(name, str) or not SERVER_NAME.fullmatch(name):
            suggestion = re.sub(r"[^a-z0-9_-]+", "-", str(name).lower()).strip("-") or "my-server"
            problems.append(
                f"{where}: the name may use only a-z, 0-9, '_' and '-' (it prefixes tool names, server.tool); "
                f"e.g. {suggestion!r}"
            )
            continue
        before = len(problems)
        entry = _entry(raw, where, problems)
        resolved = _resolve(entry, where, environ, path.parent, problems) if entry is not None else None
        if resolved is not None and len(problems) == before:
            servers[name] = resolved
    return servers, problems


class _DuplicateKey(ValueError):
    pass


def _decode(text: str, *, json_only: bool) -> Any:
    """JSON for a ``.json`` file, YAML (which reads JSON too) otherwise; a key given twice is refused (both
    parsers would silently keep the last)."""
    if json_only:
        try:
            return json.loads(text, object_pairs_hook=_unique_pairs)
        except _DuplicateKey as exc:
            raise ValueError(str(exc)) from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise ValueError(str(exc)) from None
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid JSON or YAML: {' '.join(str(exc).split())}") from None


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(f"key {key!r} is given twice in one object")
        result[key] = value
    return result


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        twice = sorted({str(key) for key in keys if keys.count(key) > 1})
        if twice:
            raise _DuplicateKey(f"key {twice[0]!r} is given twice in one mapping (line {node.start_mark.line + 1})")
        return super().construct_mapping(node, deep=deep)


def _entry(raw: Any, where: str, problems: list[str]) -> ServerEntry | None:
    """The entry's shape checked, values still as written."""
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object with url (a remote server) or command (a stdio server)")
        return None
    if "url" in raw and "command" in raw:
        problems.append(f"{where}: has both url and command; a server is remote (url) or stdio (command), not both")
        return None
    model: type[ServerEntry]
    if "url" in raw:
        model = RemoteServer
    elif "command" in raw:
        model = StdioServer
    else:
        problems.append(f"{where}: needs url (a remote server) or command (a stdio server)")
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "?"
            if error["type"] == "extra_forbidden":
                allowed = ", ".join(sorted(model.model_fields))
                problems.append(f"{where}: unknown key {key!r} (a {_kind(model)} entry takes {allowed})")
            else:
                # ``input`` is left out on purpose: it may be a header's or env variable's value.
                problems.append(f"{where}, key {key!r}: {error['msg']}")
        bad = {error["loc"][0] for error in exc.errors() if error["loc"]}
    # Without the keys already reported, the rest of the entry can still be checked (its variables, its URL),
    # so one start names every problem.
    try:
        return model.model_validate({key: value for key, value in raw.items() if key not in bad})
    except ValidationError:
        return None


def _kind(model: type[ServerEntry]) -> str:
    return "remote" if model is RemoteServer else "stdio"


def _resolve(
    entry: ServerEntry, where: str, environ: Mapping[str, str], base: Path, problems: list[str]
) -> ServerEntry | None:
    """The entry with its variables filled in and its values checked; ``None`` (and problems) if any is wrong."""
    before = len(problems)

    def expand(value: str, key: str) -> str:
        return _expand(value, environ, lambda problem: problems.append(f"{where}, key {key!r}: {problem}"))

    resolved: ServerEntry
    if isinstance(entry, RemoteServer):
        url = expand(entry.url, "url")
        if len(problems) == before and (problem := url_problem(url, shown=entry.url, credentials="use headers")):
            problems.append(f"{where}, key 'url': {problem}")
        headers = {}
        for name, value in entry.headers.items():
            key = f"headers.{name}"
            if not _HEADER_NAME.fullmatch(name):
                problems.append(f"{where}, key {key!r}: not a valid HTTP header name")
            elif name.lower() in _MANAGED_HEADERS or name.lower().startswith("mcp-"):
                problems.append(f"{where}, key {key!r}: the MCP client sets this header itself")
            headers[name] = expanded = expand(value, key)
            if not _HEADER_VALUE.fullmatch(expanded):
                problems.append(f"{where}, key {key!r}: the value may hold only visible ASCII, spaces and tabs")
        resolved = entry.model_copy(update={"url": url, "headers": headers})
    else:
        env = {}
        for name, value in entry.env.items():
            if not _ENV_NAME.fullmatch(name):
                problems.append(f"{where}, key 'env.{name}': not a valid environment variable name")
            env[name] = expand(value, f"env.{name}")
        command = expand(entry.command, "command")
        args = tuple(expand(arg, f"args.{i}") for i, arg in enumerate(entry.args))
        cwd = None
        if entry.cwd is not None:
            # Relative to the file, so a file and the directory it names can move together.
            cwd = base / expand(str(entry.cwd), "cwd")
            if not cwd.is_dir():
                problems.append(f"{where}, key 'cwd': {str(entry.cwd)!r} is not a directory")
        search_path = env.get("PATH", environ.get("PATH"))
        if command and shutil.which(command, path=search_path) is None:
            problems.append(f"{where}, key 'command': {entry.command!r} is not an executable found on PATH")
        resolved = entry.model_copy(update={"command": command, "args": args, "env": env, "cwd": cwd})
    if len(problems) > before:
        return None
    resolved._shown = entry.shown
    return resolved


def _expand(value: str, environ: Mapping[str, str], problem: Callable[[str], None]) -> str:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        if name is None:
            problem("a '${' that is not a reference; write ${NAME}, ${NAME:-default}, or $${ for a literal ${")
            return text
        if default is not None and not environ.get(name):
            return default[2:]
        if name not in environ:
            problem(f"${{{name}}} is not set in the environment")
            return text
        return environ[name]

    return _REFERENCE.sub(replace, value)
