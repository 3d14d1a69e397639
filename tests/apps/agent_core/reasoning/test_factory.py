"""Choosing the reasoner from configuration: each missing or bad setting is named by its variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.agent_core.reasoning.bedrock import BedrockReasoner
from apps.agent_core.reasoning.factory import create_reasoner
from apps.agent_core.reasoning.offline import OfflineReasoner
from apps.agent_core.reasoning.openai import OpenAIReasoner
from tests.support.fake_bedrock import FakeBedrock

pytestmark = pytest.mark.anyio


async def test_offline_needs_nothing() -> None:
    reasoner = create_reasoner("offline")
    assert isinstance(reasoner, OfflineReasoner)
    assert (reasoner.name, reasoner.model) == ("offline", None)


async def test_bedrock(fake_bedrock: FakeBedrock) -> None:
    reasoner = create_reasoner("bedrock", bedrock_model_id=" amazon.nova-lite-v1:0 ")
    assert isinstance(reasoner, BedrockReasoner)
    assert (reasoner.name, reasoner.model) == ("bedrock", "amazon.nova-lite-v1:0")
    await reasoner.aclose()


async def test_openai() -> None:
    reasoner = create_reasoner("openai", openai_base_url="http://127.0.0.1:11434", openai_model="llama3.1")
    assert isinstance(reasoner, OpenAIReasoner)
    assert (reasoner.name, reasoner.model) == ("openai", "llama3.1")
    assert reasoner.url == "http://127.0.0.1:11434/v1/chat/completions"
    await reasoner.aclose()


def test_bedrock_region_falls_back_to_us_west_2(
    fake_bedrock: FakeBedrock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    reasoner = create_reasoner("bedrock", bedrock_model_id="amazon.nova-lite-v1:0")
    assert isinstance(reasoner, BedrockReasoner)
    assert reasoner._client.meta.region_name == "us-west-2"


@pytest.mark.parametrize(
    ("kind", "settings", "variable"),
    [
        ("bedrock", {}, "AGENTIC_BEDROCK_MODEL_ID"),
        ("bedrock", {"bedrock_model_id": "  "}, "AGENTIC_BEDROCK_MODEL_ID"),
        ("bedrock", {"bedrock_model_id": "claude 3 haiku"}, "AGENTIC_BEDROCK_MODEL_ID"),
        ("openai", {"openai_model": "m"}, "AGENTIC_OPENAI_BASE_URL"),
        ("openai", {"openai_base_url": "localhost:11434", "openai_model": "m"}, "AGENTIC_OPENAI_BASE_URL"),
        ("openai", {"openai_base_url": "http://127.0.0.1:11434"}, "AGENTIC_OPENAI_MODEL"),
        (
            "openai",
            {"openai_base_url": "http://127.0.0.1:11434", "openai_model": "m", "openai_api_key": " "},
            "AGENTIC_OPENAI_API_KEY",
        ),
        (
            "openai",
            {"openai_base_url": "https://api.openai.com/v1", "openai_model": "gpt-4o"},
            "AGENTIC_OPENAI_API_KEY",
        ),
        ("claude", {}, "AGENTIC_REASONER"),
    ],
)
def test_missing_or_bad_settings_name_their_variable(kind: Any, settings: dict[str, str], variable: str) -> None:
    with pytest.raises(ValueError, match=variable):
        create_reasoner(kind, **settings)
