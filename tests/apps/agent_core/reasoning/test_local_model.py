"""``AGENTIC_REASONER=auto`` with nothing configured: a local OpenAI-compatible server is found and used.

The stand-in (``tests/support/fake_openai.py``) serves ``GET /v1/models`` in the OpenAI shape that
Ollama and LM Studio serve too; the probe is pointed at its port through ``AGENTIC_LOCAL_MODEL_PORTS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from apps.agent_core.reasoning.factory import create_reasoner
from apps.agent_core.reasoning.local_model import LocalModel, find_local_model
from apps.agent_core.reasoning.offline import OfflineReasoner
from apps.agent_core.reasoning.openai import OpenAIReasoner
from apps.agent_core.settings import AgentCoreSettings
from apps.local import reasoner_description
from tests.apps.agent_core.api.test_agent_core_process import agent_core_env, serving
from tests.support.fake_openai import FakeOpenAI, Reply
from tests.support.net import free_port
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.anyio


def port_of(fake: FakeOpenAI) -> int:
    port = urlsplit(fake.base_url).port
    assert port is not None
    return port


@pytest.fixture
def not_a_model_server() -> Iterator[int]:
    """Something else listening on a port: /v1/models is a 404 there."""
    app = Starlette(routes=[Route("/health", lambda _: PlainTextResponse("OK"))])
    with serve_in_thread(app) as url:
        port = urlsplit(url).port
        assert port is not None
        yield port


def test_the_first_answering_server_and_its_first_model_are_found(
    fake_openai: FakeOpenAI, not_a_model_server: int
) -> None:
    nothing = free_port()
    found = find_local_model([nothing, not_a_model_server, port_of(fake_openai)])
    assert found == LocalModel(f"http://127.0.0.1:{port_of(fake_openai)}/v1", "llama3.2:1b")


def test_nothing_listening_finds_nothing(not_a_model_server: int) -> None:
    assert find_local_model([free_port(), not_a_model_server]) is None
    assert find_local_model([]) is None


async def test_auto_uses_the_local_model_it_finds(fake_openai: FakeOpenAI) -> None:
    reasoner = create_reasoner("auto", local_model_ports=[free_port(), port_of(fake_openai)])
    assert isinstance(reasoner, OpenAIReasoner)
    assert (reasoner.name, reasoner.model, reasoner.detected) == ("openai", "llama3.2:1b", True)
    assert reasoner.url == f"{fake_openai.base_url}/chat/completions"
    await reasoner.aclose()
    assert isinstance(create_reasoner("auto", local_model_ports=[free_port()]), OfflineReasoner)


def test_the_ports_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTIC_LOCAL_MODEL_PORTS", " 8081, 9000 ")
    assert AgentCoreSettings().local_model_ports == (8081, 9000)
    assert AgentCoreSettings().reasoner_kind() == "auto"
    monkeypatch.setenv("AGENTIC_LOCAL_MODEL_PORTS", "0")
    with pytest.raises(ValidationError, match="local_model_ports"):
        AgentCoreSettings()
    monkeypatch.setenv("AGENTIC_LOCAL_MODEL_PORTS", "")
    assert AgentCoreSettings().local_model_ports == ()


def test_the_banner_says_what_was_found(fake_openai: FakeOpenAI) -> None:
    found = reasoner_description({"AGENTIC_LOCAL_MODEL_PORTS": str(port_of(fake_openai))})
    assert "llama3.2:1b" in found and "found by AGENTIC_REASONER=auto" in found
    offline = reasoner_description({"AGENTIC_LOCAL_MODEL_PORTS": str(free_port())})
    assert offline.startswith("offline planner")
    assert "AGENTIC_BEDROCK_MODEL_ID=" in offline and "AGENTIC_OPENAI_MODEL=" in offline


def test_an_agent_core_process_uses_a_local_model_found_at_start(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.script(Reply.text("All good."))
    env = agent_core_env(tmp_path, AGENTIC_REASONER="auto", AGENTIC_LOCAL_MODEL_PORTS=str(port_of(fake_openai)))
    with serving("127.0.0.1", env, tmp_path / "core.log") as url:
        health = httpx.get(f"{url}/api/health", timeout=10).json()
        assert health["reasoner"] == {"name": "openai", "model": "llama3.2:1b"}
        answer = httpx.post(f"{url}/api", json={"task": "Say hello."}, timeout=30).json()
    assert answer["final_answer"] == "All good."
    assert [call.body["model"] for call in fake_openai.calls] == ["llama3.2:1b"]


def test_an_agent_core_process_with_nothing_listening_plans_offline(tmp_path: Path) -> None:
    env = agent_core_env(tmp_path, AGENTIC_REASONER="auto", AGENTIC_LOCAL_MODEL_PORTS=str(free_port()))
    with serving("127.0.0.1", env, tmp_path / "core.log") as url:
        health = httpx.get(f"{url}/api/health", timeout=10).json()
    assert health["reasoner"] == {"name": "offline", "model": None}
