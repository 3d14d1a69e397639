"""Model-facing tool names: valid for Bedrock and OpenAI, unique, stable, and mapped back."""

from __future__ import annotations

import itertools

import pytest

from apps.agent_core.model import ToolSpec
from apps.agent_core.reasoning.tool_names import (
    TOOL_NAME_PATTERN,
    ToolNameMap,
    input_schema,
    tool_description,
)
from tests.apps.agent_core.reasoning.helpers import spec


def test_plain_names_are_server_and_tool() -> None:
    tools = [spec("aws", "list_s3_buckets"), spec("kubernetes", "list_pods")]
    names = ToolNameMap(tools)
    assert names.names == ["aws__list_s3_buckets", "kubernetes__list_pods"]
    assert names.spec_for("kubernetes__list_pods") == tools[1]
    assert names.name_for(tools[0]) == "aws__list_s3_buckets"


def test_invalid_characters_are_replaced_and_mapped_back() -> None:
    tool = spec("my server", "kv.get/v2")
    names = ToolNameMap([tool])
    assert names.name_for(tool) == "my_server__kv_get_v2"
    assert names.spec_for("my_server__kv_get_v2") == tool


def test_long_names_are_cut_with_a_hash_and_stay_distinct() -> None:
    long_a, long_b = spec("srv", "x" * 80 + "a"), spec("srv", "x" * 80 + "b")
    names = ToolNameMap([long_a, long_b])
    first, second = names.name_for(long_a), names.name_for(long_b)
    assert first != second
    for name in (first, second):
        assert TOOL_NAME_PATTERN.fullmatch(name)
        assert len(name) == 64
        assert name.startswith("srv__xxxx")
    assert names.spec_for(first) == long_a
    assert names.spec_for(second) == long_b


def test_collisions_keep_the_untouched_name_and_hash_the_other() -> None:
    dotted, plain = spec("custom", "kv.get"), spec("custom", "kv_get")
    names = ToolNameMap([dotted, plain])
    assert names.name_for(plain) == "custom__kv_get"
    assert names.name_for(dotted).startswith("custom__kv_get_")
    assert TOOL_NAME_PATTERN.fullmatch(names.name_for(dotted))
    assert names.spec_for(names.name_for(dotted)) == dotted


def test_names_do_not_depend_on_catalog_order() -> None:
    tools = [spec("custom", "kv.get"), spec("custom", "kv_get"), spec("custom", "kv-get"), spec("a", "b" * 70)]
    expected = {(t.server, t.name): ToolNameMap(tools).name_for(t) for t in tools}
    for order in itertools.permutations(tools):
        names = ToolNameMap(list(order))
        assert {(t.server, t.name): names.name_for(t) for t in tools} == expected
    assert len(set(expected.values())) == len(tools)


def test_unknown_names_resolve_to_nothing_but_unambiguous_bare_names_resolve() -> None:
    tools = [spec("aws", "list_s3_buckets"), spec("a", "status"), spec("b", "status")]
    names = ToolNameMap(tools)
    assert names.spec_for("nope") is None
    assert names.spec_for("list_s3_buckets") == tools[0]
    assert names.spec_for("status") is None  # two servers have it: the model must say which


def test_duplicate_specs_are_kept_once() -> None:
    tool = spec("aws", "list_s3_buckets")
    assert ToolNameMap([tool, tool]).names == ["aws__list_s3_buckets"]


def test_every_name_in_the_real_catalog_is_valid_and_unique(catalog: list[ToolSpec]) -> None:
    names = ToolNameMap(catalog)
    assert len(names) == len(catalog) == 16
    assert all(TOOL_NAME_PATTERN.fullmatch(name) for name in names.names)
    assert {(s.server, s.name) for s in names.specs} == {(s.server, s.name) for s in catalog}


@pytest.mark.parametrize("description", ["", "   ", "\n"])
def test_empty_descriptions_get_a_generated_one(description: str) -> None:
    assert tool_description(spec("custom", "kv.get", description=description)) == (
        "The kv.get tool of the custom server."
    )


def test_descriptions_are_bounded_and_single_spaced() -> None:
    text = tool_description(spec("s", "t", description="word  \n " * 1000))
    assert len(text) <= 1024
    assert "  " not in text


def test_input_schema_is_always_an_object() -> None:
    no_schema = ToolSpec(server="s", name="t", description="d", input_schema={})
    assert input_schema(no_schema) == {"type": "object", "properties": {}}
    untyped = ToolSpec(server="s", name="t", description="d", input_schema={"properties": {"a": {}}})
    assert input_schema(untyped) == {"type": "object", "properties": {"a": {}}}
