"""Names a model can call, for tools MCP names more freely.

Bedrock and OpenAI-style APIs accept tool names matching ``[a-zA-Z0-9_-]{1,64}``; MCP allows dots,
slashes and any length, and two servers may offer tools with the same name. So every tool is offered
to a model as ``<server>__<tool>``, with other characters replaced by ``_`` and, when that is longer
than 64 characters, cut and ended with a hash of the original. Names that still collide (``kv.get``
and ``kv_get`` on one server) are told apart by the same hash; a name that needed no change keeps it.

The result depends only on the set of tools, not their order, so a conversation's names stay valid
when the catalog is reloaded in a different order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from apps.agent_core.model import ToolSpec

__all__ = ["MAX_TOOL_NAME_LENGTH", "SEPARATOR", "TOOL_NAME_PATTERN", "ToolNameMap", "input_schema", "tool_description"]

MAX_TOOL_NAME_LENGTH = 64
TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
SEPARATOR = "__"

_INVALID = re.compile(r"[^a-zA-Z0-9_-]")
_HASH_LENGTH = 8
_MAX_DESCRIPTION_CHARS = 1024


def _digest(server: str, tool: str, length: int) -> str:
    # NUL cannot occur in either part, so ("a", "b_c") and ("a_b", "c") hash differently.
    return hashlib.sha256(f"{server}\0{tool}".encode()).hexdigest()[:length]


def _joined(server: str, tool: str) -> str:
    return f"{server}{SEPARATOR}{tool}" if server else tool


def _plain_name(server: str, tool: str) -> str:
    return _INVALID.sub("_", _joined(server, tool)) or "tool"


def _hashed_name(plain: str, server: str, tool: str, hash_length: int) -> str:
    suffix = "_" + _digest(server, tool, hash_length)
    return plain[: MAX_TOOL_NAME_LENGTH - len(suffix)] + suffix


class ToolNameMap:
    """Both directions between ``ToolSpec``s and the names offered to a model.

    Built from a catalog; a spec listed twice (same server and name) is kept once.
    """

    def __init__(self, tools: Iterable[ToolSpec]) -> None:
        unique: dict[tuple[str, str], ToolSpec] = {}
        for spec in tools:
            unique.setdefault((spec.server, spec.name), spec)
        keys = sorted(unique)
        names = self._assign(keys)
        self._by_name: dict[str, ToolSpec] = {names[key]: unique[key] for key in keys}
        self._by_key: dict[tuple[str, str], str] = names
        # Bare MCP names a model might use instead of ours (small models often drop the prefix);
        # only those that identify one tool are accepted.
        bare: dict[str, list[str]] = {}
        for key in keys:
            bare.setdefault(key[1], []).append(names[key])
        self._bare = {tool: found[0] for tool, found in bare.items() if len(found) == 1}

    @staticmethod
    def _assign(keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        plain = {key: _plain_name(*key) for key in keys}
        claimants: dict[str, list[tuple[str, str]]] = {}
        for key, name in plain.items():
            claimants.setdefault(name[:MAX_TOOL_NAME_LENGTH], []).append(key)
        names: dict[tuple[str, str], str] = {}
        for candidate, group in claimants.items():
            # Alone, a name keeps its sanitized form; in a collision only a name that needed no
            # sanitizing keeps it, so adding ``kv.get`` never renames an existing ``kv_get``.
            untouched = [key for key in group if plain[key] == _joined(*key)]
            keepers = group if len(group) == 1 else untouched
            keeper = keepers[0] if len(keepers) == 1 and len(plain[keepers[0]]) <= MAX_TOOL_NAME_LENGTH else None
            for key in group:
                if key == keeper:
                    names[key] = candidate
                else:
                    names[key] = _hashed_name(plain[key], *key, _HASH_LENGTH)
        # A hashed name could, in theory, equal another tool's plain name or another hash prefix:
        # lengthen the hashes of the later (sorted) colliders until every name is distinct.
        taken: set[str] = set()
        for key in keys:
            length = _HASH_LENGTH
            while names[key] in taken:
                length += 4
                names[key] = _hashed_name(plain[key], *key, length)
            taken.add(names[key])
        return names

    def __len__(self) -> int:
        return len(self._by_name)

    @property
    def names(self) -> list[str]:
        """Model-facing names, sorted by server and tool."""
        return list(self._by_name)

    @property
    def specs(self) -> list[ToolSpec]:
        """The specs in the order of ``names``."""
        return list(self._by_name.values())

    def name_for(self, spec: ToolSpec) -> str:
        """The model-facing name of ``spec``; KeyError if it is not in the map."""
        return self._by_key[(spec.server, spec.name)]

    def spec_for(self, name: str) -> ToolSpec | None:
        """The tool a model meant by ``name``, or None if no tool has that name."""
        spec = self._by_name.get(name)
        if spec is None and name in self._bare:
            spec = self._by_name[self._bare[name]]
        return spec


def tool_description(spec: ToolSpec) -> str:
    """The description to send a model: never empty (Bedrock rejects empty ones), bounded in length."""
    text = " ".join(spec.description.split())
    if not text:
        text = f"The {spec.name} tool of the {spec.server} server."
    if len(text) > _MAX_DESCRIPTION_CHARS:
        text = text[: _MAX_DESCRIPTION_CHARS - 1] + "…"
    return text


def input_schema(spec: ToolSpec) -> dict[str, Any]:
    """The tool's input schema as a JSON Schema object; an empty or non-object schema means no arguments."""
    schema = spec.input_schema
    if not schema or schema.get("type", "object") != "object":
        return {"type": "object", "properties": {}}
    if "type" not in schema:
        return {"type": "object", **schema}
    return schema
