"""Cutting results to the cap: the shape kept, what was left out said, and work in proportion to the size."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from apps.common import result_cap
from apps.common.result_cap import MAX_ESTIMATED_ITEMS, OFF_LOOP_BYTES, cap_result, estimated_size, json_size


def structured(content: dict[str, Any]) -> dict[str, Any]:
    """A result as the SDK builds it for a tool with an output schema: the data, and its JSON as text."""
    return {"content": [{"type": "text", "text": json.dumps(content, indent=2)}], "structuredContent": content}


def note(result: dict[str, Any]) -> str:
    return str(result["content"][-1]["text"])


def test_a_result_that_fits_is_returned_as_it_is() -> None:
    result = structured({"rows": [[1, "a"]], "truncated": False})
    assert cap_result(result, 10_000, "t") == (result, False)
    assert cap_result(result, 10_000, "t")[0] is result


def test_a_long_list_keeps_its_head_and_says_how_many_items_were_left_out() -> None:
    rows = [[index, "row-" + "x" * 40] for index in range(5000)]
    capped, cut = cap_result(structured({"rows": rows, "count": 5000, "truncated": False}), 20_000, "many_rows")
    assert cut is True
    data = capped["structuredContent"]
    assert 100 < len(data["rows"]) < 5000
    assert data["rows"] == rows[: len(data["rows"])], "the head, whole rows, in order"
    assert (data["count"], data["truncated"]) == (5000, True), "small fields stay whole"
    assert f"{5000 - len(data['rows'])} of 5000 items of rows left out" in note(capped)
    assert "Narrow the call" in note(capped)
    assert json.loads(capped["content"][0]["text"]) == data
    assert json_size(capped) <= 20_000


def test_large_fields_share_the_budget_and_small_ones_stay_whole() -> None:
    content = {"a": ["x" * 100] * 1000, "b": ["y" * 100] * 1000, "name": "small", "n": 7}
    capped, _ = cap_result(structured(content), 30_000, "t")
    data = capped["structuredContent"]
    assert (data["name"], data["n"]) == ("small", 7)
    assert abs(len(data["a"]) - len(data["b"])) <= 1, "an equal share each"
    assert len(data["a"]) > 50
    assert json_size(capped) <= 30_000


def test_a_list_of_one_huge_text_keeps_the_head_of_the_text() -> None:
    log = "".join(f"line {index}\n" for index in range(200_000))
    capped, _ = cap_result(structured({"logs": [log]}), 20_000, "logs")
    kept = capped["structuredContent"]["logs"]
    assert len(kept) == 1 and log.startswith(kept[0]) and len(kept[0]) > 5000
    assert f"{len(log) - len(kept[0])} of {len(log)} characters of logs[0]" in note(capped)


@pytest.mark.parametrize("character", ["é", "🌧", "\n", "\x01", '"'])
def test_multibyte_and_escaped_characters_are_counted_as_sent(character: str) -> None:
    capped, _ = cap_result(structured({"text": character * 50_000}), 10_000, "t")
    text = capped["structuredContent"]["text"]
    assert text and set(text) == {character}
    assert json_size(capped) <= 10_000


def test_text_only_results_are_cut_too() -> None:
    result = {"content": [{"type": "text", "text": "z" * 50_000}], "isError": False}
    capped, cut = cap_result(result, 10_000, "t")
    assert cut and capped["isError"] is False and "structuredContent" not in capped
    assert capped["content"][0]["text"] == "z" * len(capped["content"][0]["text"])
    assert "characters of text left out" in note(capped)
    assert json_size(capped) <= 10_000


def test_a_result_that_cannot_be_cut_to_fit_is_an_error_naming_the_tool() -> None:
    # Hundreds of small fields: every key must stay, and numbers cannot be cut.
    content = {f"field_{index:04d}": index for index in range(2000)}
    capped, cut = cap_result(structured(content), 8_000, "wide_tool")
    assert cut and capped["isError"] is True
    assert "The result of wide_tool is too large to return (over 8000 bytes)" in capped["content"][0]["text"]
    assert "structuredContent" not in capped


def test_the_original_result_is_not_changed() -> None:
    content = {"rows": [[index] for index in range(5000)]}
    before = json.dumps(content)
    cap_result(structured(content), 8_000, "t")
    assert json.dumps(content) == before


class CountingEncoder(json.JSONEncoder):
    encoded = 0

    def encode(self, o: Any) -> str:
        text = super().encode(o)
        CountingEncoder.encoded += len(text)
        return text


@pytest.mark.parametrize(
    "content",
    [
        {"rows": [[index, "row-" + "x" * 40] for index in range(20_000)]},
        {"items": ["x" * 1000] * 2000, "pods": [{"name": f"p{i}", "labels": {"a": "b" * 50}} for i in range(5000)]},
        {"logs": ["y" * 2_000_000]},
        # Many large fields: the previous cut shortened one per round, re-encoding everything each time (~99x).
        {f"list_{index:03d}": ["x" * 100] * 100 for index in range(200)},
    ],
)
def test_measuring_and_cutting_encode_each_byte_a_bounded_number_of_times(
    content: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Time linear in the result's size: the work is counted as characters encoded, not timed.

    The previous cut re-serialized the whole remaining result on every round, and every child at every level of
    its search for the largest: 2.6 to 3.5 times the result's size for the first three, 99 times for the last.
    """
    result = structured(content)
    size = json_size(result)
    CountingEncoder.encoded = 0
    monkeypatch.setattr(result_cap, "_COMPACT", CountingEncoder(separators=(",", ":"), ensure_ascii=False, default=str))
    capped, cut = cap_result(result, 20_000, "t")
    assert cut and capped.get("isError") is not True
    assert CountingEncoder.encoded <= 2 * size, f"{CountingEncoder.encoded:,} characters encoded for {size:,}"


class Row(BaseModel):
    name: str
    tags: list[str]


def test_estimated_size_is_a_lower_bound_that_stops_early() -> None:
    values: list[Any] = [
        {"a": [1, 2.5, None, True], "b": "text", "c": {"d": []}},
        ["é" * 10, "\n" * 10],
        Row(name="x", tags=["a", "b"]),
        {"content": [{"type": "text", "text": "z" * 1000}]},
    ]
    for value in values:
        real = json_size(value.model_dump(mode="json") if isinstance(value, BaseModel) else value)
        assert estimated_size(value) <= real, value
    huge = {"pages": [["x" * 1000] * 1000 for _ in range(1000)]}  # a gigabyte as JSON
    assert OFF_LOOP_BYTES < estimated_size(huge) < 3_000_000, "it stopped after a page, not a gigabyte"
    assert estimated_size({"ids": list(range(100))}) == 1 + 4 + len("ids") + 1 + 100 + 100
    many = {"ids": [0] * (MAX_ESTIMATED_ITEMS + 1)}  # small in bytes, but reading it all would cost the loop
    assert estimated_size(many) == OFF_LOOP_BYTES + 1
    assert estimated_size(object()) > OFF_LOOP_BYTES, "what it cannot read counts as large: converted off the loop"


def test_a_small_result_is_measured_in_one_call_and_cut_the_same_way() -> None:
    rows = [[index, "row-" + "x" * 40] for index in range(2000)]
    result = structured({"rows": rows})
    assert cap_result(result, 500_000, "t", small=True) == (result, False)
    assert cap_result(result, 20_000, "t", small=True) == cap_result(result, 20_000, "t")
