"""The quick argument check never calls valid what jsonschema rejects, and passes what is valid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from apps.common.fast_schema import compile_check
from apps.common.mcp_app import sdk_tools
from apps.mcp_database.sample_data import build_sample_database
from apps.mcp_database.sandbox import ReadOnlyDatabase
from apps.mcp_database.tools import build_tools
from tests.support.lab_server import LabState, lab_tools

SYNTHETIC: list[dict[str, Any]] = [
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
            "count": {"type": "integer", "minimum": 1, "maximum": 10},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "flag": {"type": "boolean"},
            "mode": {"enum": ["fast", "slow"], "type": "string"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "minItems": 1, "maxItems": 3},
            "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
        },
        "required": ["name"],
        "additionalProperties": False,
    },
    {"required": ["a"]},
    {"type": ["string", "null"], "maxLength": 1},
]


def _real_schemas(tmp: Path) -> list[dict[str, Any]]:
    database = tmp / "sample.db"
    build_sample_database(database)
    db = ReadOnlyDatabase(database, deadline_seconds=2, max_rows=10, max_sql_length=10_000)
    return [dict(tool.parameters) for tool in sdk_tools([*build_tools(db), *lab_tools(LabState())])]


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return [*_real_schemas(tmp_path_factory.mktemp("db")), *SYNTHETIC]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-20, 20),
    st.floats(-2, 12, allow_nan=False),
    st.sampled_from([1.0, 0.5, "fast", "slow", "ab", "abc", "ABC", "a" * 6, "", "x", "echo"]),
    st.text(max_size=8),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=8)
KEYS = ["name", "count", "ratio", "flag", "mode", "tags", "maybe", "a", "text", "seconds", "sql", "params", "table"]
instances = st.one_of(values, st.dictionaries(st.sampled_from(KEYS), values, max_size=6))


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(instance=instances, index=st.integers(0, 100))
def test_a_yes_always_means_jsonschema_finds_no_error(schemas: list[dict[str, Any]], instance: Any, index: int) -> None:
    schema = schemas[index % len(schemas)]
    check = compile_check(schema)
    assert check is not None, schema
    if check(instance):
        assert list(Draft202012Validator(schema).iter_errors(instance)) == [], (schema, instance)


@pytest.mark.parametrize(
    ("index", "instance", "valid"),
    [
        (0, {"name": "abc", "count": 3, "ratio": 0.5, "flag": True, "mode": "fast", "tags": ["a"], "maybe": 1}, True),
        (0, {"name": "abc", "count": 3.0}, True),  # JSON Schema counts 3.0 as an integer
        (0, {"name": "abc", "count": True}, False),  # and a boolean as no number
        (0, {"name": "ABC"}, False),
        (0, {"name": "abc\n"}, False),  # pydantic's "$" does not match before a final newline
        (0, {"name": "abc", "extra": 1}, False),
        (0, {"count": 3}, False),
        (0, {"name": "abc", "ratio": 1}, False),
        (0, {"name": "abc", "tags": []}, False),
        (0, {"name": "abc", "mode": "medium"}, False),
        (1, {"a": 1}, True),
        (1, {"b": 1}, False),
        (1, "not an object", True),
        (2, None, True),
        (2, "ab", False),
    ],
)
def test_known_instances(index: int, instance: Any, valid: bool) -> None:
    check = compile_check(SYNTHETIC[index])
    assert check is not None
    assert check(instance) is valid
    if valid:
        assert list(Draft202012Validator(SYNTHETIC[index]).iter_errors(instance)) == []


def test_valid_calls_of_the_real_tools_take_the_quick_path(schemas: list[dict[str, Any]]) -> None:
    by_title = {schema.get("title"): schema for schema in schemas}
    query = compile_check(by_title["execute_queryArguments"])
    assert query is not None
    assert query({"sql": "SELECT 1", "params": [1, "a", 2.5, None, True]})
    assert query({"sql": "SELECT 1"})
    assert not query({"sql": ""})


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/X", "$defs": {"X": {"type": "string"}}},
        {"allOf": [{"type": "string"}]},
        {"const": 1},
        {"enum": [1, True]},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"type": "tuple"},
        {"pattern": "("},
        {"pattern": "(?=a)a"},  # Python's re has lookahead, pydantic's engine does not
    ],
)
def test_other_keywords_leave_the_check_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_check(schema) is None
