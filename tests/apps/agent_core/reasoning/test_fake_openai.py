"""The fake chat-completions server rejects what real servers reject, so reasoner tests can fail."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.fake_openai import FakeOpenAI, Fault, FunctionCall, Reply, conversation_error

ASKED = {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {}}]}


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([], "at least one message"),
        ([{"role": "user", "content": "hi"}, ASKED, {"role": "user", "content": "?"}], "c1"),
        ([{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "c9", "content": "x"}], "c9"),
        ([{"role": "user", "content": "hi"}, ASKED, {"role": "tool", "tool_call_id": "c1", "content": {}}], "string"),
    ],
)
def test_malformed_conversations_are_rejected(messages: list[dict[str, Any]], problem: str) -> None:
    error = conversation_error({"messages": messages})
    assert error is not None
    assert problem in error


def test_a_valid_tool_exchange_and_tool_names() -> None:
    messages = [{"role": "user", "content": "hi"}, ASKED, {"role": "tool", "tool_call_id": "c1", "content": "ok"}]
    assert conversation_error({"messages": messages}) is None
    bad_tool = {"type": "function", "function": {"name": "kv.get"}}
    assert "kv.get" in (conversation_error({"messages": messages, "tools": [bad_tool]}) or "")


def test_scripted_replies_errors_and_echo(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(
        Fault.rate_limited(retry_after="1"), Reply.calls(FunctionCall("t", '{"a": ', "c1")), Reply.text("hi")
    )
    url = f"{fake_openai.base_url}/chat/completions"
    body = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}

    limited = httpx.post(url, json=body)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "1")
    call = httpx.post(url, json=body).json()["choices"][0]
    assert call["message"]["tool_calls"][0]["function"]["arguments"] == '{"a": '
    assert call["finish_reason"] == "tool_calls"
    assert httpx.post(url, json=body).json()["choices"][0]["message"]["content"] == "hi"
    echoed = httpx.post(url, json=body).json()
    assert echoed["choices"][0]["message"]["content"] == "echo: hello there"
    assert echoed["usage"]["prompt_tokens"] == 2
    assert len(fake_openai.calls) == 4
