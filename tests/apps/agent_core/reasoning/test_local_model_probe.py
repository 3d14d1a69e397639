"""``/api/health``'s fresh look for a local model: bounded, kept for a while, and sees a model that came later.

The stand-in (``tests/support/fake_openai.py``) serves ``GET /v1/models`` in the OpenAI shape Ollama and LM Studio
serve; listing no model models a server with nothing pulled yet.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from apps.agent_core.reasoning.local_model import LocalModelProbe
from tests.support.fake_openai import FakeOpenAI
from tests.support.net import free_port

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_model_pulled_later_is_seen_once_the_kept_answer_is_old(fake_openai: FakeOpenAI) -> None:
    port = urlsplit(fake_openai.base_url).port
    assert port is not None
    clock = Clock()
    probe = LocalModelProbe([free_port(), port], cache_seconds=30, clock=clock)
    fake_openai.listed_models = ()
    try:
        first = await probe.report()
        assert first.detected is None and first.ports[1] == port

        fake_openai.listed_models = ("qwen2.5:0.5b",)
        clock.now += 29
        assert (await probe.report()) == first, "asked again within 30 s: the kept answer, no probe"

        clock.now += 2
        later = await probe.report()
    finally:
        fake_openai.listed_models = ("llama3.2:1b",)
    assert later.detected is not None
    assert (later.detected.model, later.detected.base_url) == ("qwen2.5:0.5b", fake_openai.base_url)


async def test_nothing_to_ask_finds_nothing() -> None:
    report = await LocalModelProbe([]).report()
    assert (report.ports, report.detected) == ([], None)
