"""Every content type a third-party server sends, kept from its answer to the run view and the model's request.

``@modelcontextprotocol/server-everything`` (tools/mcp-everything) over Streamable HTTP: ``get-tiny-image``
answers text, a PNG and text; ``get-resource-reference`` an embedded resource (text or blob);
``get-resource-links`` resource links. A server on the official Python SDK 1.x (tools/mcp-python-v1),
session-ful and stateless: ``gradient_image`` answers a caption and a PNG it draws (the SDK 1.x ``Image``).
The agent core is real (uvicorn on 127.0.0.1); the models are the scripted chat-completions and Converse
endpoints, which record what they were sent.
"""

from __future__ import annotations

import base64
import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.support.agent_core import TERMINAL, CoreClient, run_agent_core
from tests.support.fake_bedrock import STRAY_AWS_VARIABLES, run_fake_bedrock
from tests.support.fake_bedrock import Reply as ConverseReply
from tests.support.fake_bedrock import ToolCall as ConverseToolCall
from tests.support.fake_openai import FakeOpenAI, FunctionCall, Reply, run_fake_openai
from tests.support.third_party_mcp import (
    EVERYTHING_ENTRY,
    INSTALL_HINT,
    PYTHON_V1,
    PYTHON_V1_SERVER,
    ServerProcess,
    python_sdk_v1,
    server_everything,
)

TINY_IMAGE_SOURCE = EVERYTHING_ENTRY.parent / "tools" / "get-tiny-image.js"
IMAGE_TOOL = {"id": "image", "tool": "everything.get-tiny-image", "arguments": {}}
PYTHON_V1_SERVERS = ["pyv1", "pyv1_stateless"]
GRADIENT_CAPTION = "A 16x16 gradient: red grows to the right, green downwards."


def tiny_image() -> str:
    """The base64 PNG server-everything's image tool sends, read from its source."""
    found = re.search(r'MCP_TINY_IMAGE = "([A-Za-z0-9+/=]+)"', TINY_IMAGE_SOURCE.read_text())
    assert found is not None, f"no MCP_TINY_IMAGE in {TINY_IMAGE_SOURCE}"
    return found.group(1)


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert EVERYTHING_ENTRY.exists(), INSTALL_HINT
    process: ServerProcess = server_everything(tmp_path_factory.mktemp("everything") / "everything.log")
    process.start()
    try:
        yield process.url
    finally:
        process.stop()


@pytest.fixture(scope="module")
def python_v1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The Python SDK 1.x server, session-ful and stateless: their MCP URLs by the names the agent core gives them."""
    assert PYTHON_V1.exists(), INSTALL_HINT
    logs = tmp_path_factory.mktemp("python-v1")
    processes = {
        name: python_sdk_v1(logs / f"{name}.log", logs / f"{name}-calls.txt", stateless=name.endswith("stateless"))
        for name in PYTHON_V1_SERVERS
    }
    started: list[ServerProcess] = []
    try:
        for process in processes.values():
            process.start()
            started.append(process)
        yield {name: process.url for name, process in processes.items()}
    finally:
        for process in started:
            process.stop()


@pytest.fixture(scope="module")
def gradient() -> str:
    """The base64 PNG the Python SDK 1.x server sends, drawn by its own ``gradient_png`` (in its own virtualenv)."""
    drawn = subprocess.run(
        [str(PYTHON_V1), "-c", "import sys, server; sys.stdout.buffer.write(server.gradient_png())"],
        cwd=PYTHON_V1_SERVER.parent,
        capture_output=True,
        check=True,
        timeout=30,
    )
    return base64.b64encode(drawn.stdout).decode()


def assert_gradient(data: str) -> None:
    """``data`` decodes to the server's 16x16 PNG, every pixel as drawn (and every chunk's CRC right: PIL checks)."""
    with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as image:
        assert (image.format, image.size, image.mode) == ("PNG", (16, 16), "RGB")
        pixels = image.load()
        assert pixels is not None
        assert all(pixels[x, y] == (16 * x, 16 * y, 128) for x in range(16) for y in range(16))


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeOpenAI]:
    with run_fake_openai() as fake:
        yield fake


@pytest.fixture(scope="module")
def core(
    everything: str, python_v1: dict[str, str], openai_server: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CoreClient]:
    with run_agent_core(
        {"everything": everything, **python_v1},
        tmp_path_factory.mktemp("core"),
        reasoner="openai",
        openai_base_url=openai_server.base_url,
        openai_model="llava:7b",
    ) as client:
        yield client


@pytest.fixture
def openai(openai_server: FakeOpenAI) -> FakeOpenAI:
    openai_server.clear()
    return openai_server


def workflow_run(core: CoreClient, *steps: dict[str, Any]) -> dict[str, Any]:
    run = core.wait_for(core.start({"workflow": {"name": "content", "steps": list(steps)}}), TERMINAL, timeout=30)
    assert run["status"] == "succeeded", run
    return run


def test_an_image_reaches_the_run_view_byte_for_byte(core: CoreClient) -> None:
    run = workflow_run(core, IMAGE_TOOL)

    assert run["steps"][0]["result"] == {
        "content": [
            {"type": "text", "text": "Here's the image you requested:"},
            {"type": "image", "mimeType": "image/png", "data": tiny_image()},
            {"type": "text", "text": "The image above is the MCP logo."},
        ]
    }
    png = base64.b64decode(run["steps"][0]["result"]["content"][1]["data"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png == base64.b64decode(tiny_image())


@pytest.mark.parametrize("server", PYTHON_V1_SERVERS)
def test_an_image_from_the_python_sdk_v1_reaches_the_run_view_byte_for_byte(
    core: CoreClient, gradient: str, server: str
) -> None:
    run = workflow_run(core, {"id": "image", "tool": f"{server}.gradient_image", "arguments": {}})

    assert run["steps"][0]["result"] == {
        "content": [
            {"type": "text", "text": GRADIENT_CAPTION},
            {"type": "image", "mimeType": "image/png", "data": gradient},
        ]
    }
    assert_gradient(run["steps"][0]["result"]["content"][1]["data"])


def test_embedded_resources_and_links_are_kept(core: CoreClient) -> None:
    run = workflow_run(
        core,
        {"id": "text", "tool": "everything.get-resource-reference", "arguments": {"resourceType": "Text"}},
        {"id": "blob", "tool": "everything.get-resource-reference", "arguments": {"resourceType": "Blob"}},
        {"id": "links", "tool": "everything.get-resource-links", "arguments": {"count": 2}},
    )
    results = {step["id"]: step["result"]["content"] for step in run["steps"]}

    text = results["text"][1]
    assert text["type"] == "resource" and text["resource"]["uri"] == "demo://resource/dynamic/text/1"
    assert text["resource"]["mimeType"] == "text/plain" and text["resource"]["text"]
    blob = results["blob"][1]["resource"]
    assert blob["uri"] == "demo://resource/dynamic/blob/1" and base64.b64decode(blob["blob"])
    assert [(link["type"], link["uri"], link["name"]) for link in results["links"][1:]] == [
        ("resource_link", "demo://resource/dynamic/blob/1", "Blob Resource 1"),
        ("resource_link", "demo://resource/dynamic/text/2", "Text Resource 2"),
    ]


def test_a_reasoning_step_hands_the_image_to_the_model_and_keeps_it(core: CoreClient, openai: FakeOpenAI) -> None:
    openai.script(
        Reply.calls(FunctionCall("everything__get-tiny-image", {}, "call_image")), Reply.text("It is the MCP logo.")
    )

    run = core.wait_for(core.start({"task": "What does the tiny image show?"}), TERMINAL, timeout=30)

    assert run["status"] == "succeeded", run
    assert run["final_answer"] == "It is the MCP logo."
    assert run["steps"][0]["result"]["content"][1]["data"] == tiny_image()
    *_, tool, images = openai.calls[1].messages
    assert tool == {
        "role": "tool",
        "tool_call_id": "call_image",
        "content": (
            "Here's the image you requested:\n[image: image/png, shown in the next message]\n"
            "The image above is the MCP logo."
        ),
    }
    assert images["role"] == "user"
    assert images["content"][1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{tiny_image()}"}}


@pytest.mark.parametrize("server", PYTHON_V1_SERVERS)
def test_a_reasoning_step_hands_the_python_sdk_v1_image_to_the_model(
    core: CoreClient, openai: FakeOpenAI, gradient: str, server: str
) -> None:
    openai.script(Reply.calls(FunctionCall(f"{server}__gradient_image", {}, "call_image")), Reply.text("A gradient."))

    run = core.wait_for(core.start({"task": f"What does {server}'s image show?"}), TERMINAL, timeout=30)

    assert run["status"] == "succeeded", run
    assert run["steps"][0]["result"]["content"][1]["data"] == gradient
    *_, tool, images = openai.calls[1].messages
    assert tool == {
        "role": "tool",
        "tool_call_id": "call_image",
        "content": f"{GRADIENT_CAPTION}\n[image: image/png, shown in the next message]",
    }
    assert images["role"] == "user"
    assert images["content"][1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{gradient}"}}
    assert_gradient(images["content"][1]["image_url"]["url"].removeprefix("data:image/png;base64,"))


def test_bedrock_gets_the_image_inside_the_tool_result(everything: str, tmp_path: Path) -> None:
    with run_fake_bedrock() as bedrock, pytest.MonkeyPatch.context() as env:
        for name in STRAY_AWS_VARIABLES:
            env.delenv(name, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_REGION", "us-west-2")
        env.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.base_url)
        bedrock.script(
            ConverseReply.tool_use(ConverseToolCall("everything__get-tiny-image", {}, "tu_image")),
            ConverseReply.text("The MCP logo."),
        )
        with run_agent_core(
            {"everything": everything}, tmp_path, reasoner="bedrock", bedrock_model_id="anthropic.claude-sonnet-4"
        ) as core:
            run = core.wait_for(core.start({"task": "Show me the tiny image."}), TERMINAL, timeout=30)

    assert run["status"] == "succeeded", run
    (answer,) = bedrock.calls[1].messages[-1]["content"]
    # boto3 sent the decoded bytes base64-encoded again: exactly what the server sent.
    assert answer["toolResult"]["content"][1] == {"image": {"format": "png", "source": {"bytes": tiny_image()}}}


def test_over_the_journal_limit_the_image_is_cut_with_a_note_and_the_model_still_sees_it(
    everything: str, openai: FakeOpenAI, tmp_path: Path
) -> None:
    openai.script(Reply.calls(FunctionCall("everything__get-tiny-image", {}, "call_image")), Reply.text("A logo."))
    with run_agent_core(
        {"everything": everything},
        tmp_path,
        reasoner="openai",
        openai_base_url=openai.base_url,
        openai_model="llava:7b",
        stored_result_bytes=1024,
    ) as small:
        run = small.wait_for(small.start({"task": "Show me the tiny image."}), TERMINAL, timeout=30)

    assert run["status"] == "succeeded", run
    size = len(base64.b64decode(tiny_image())) / 1024
    assert run["steps"][0]["result"] == {
        "content": [
            {"type": "text", "text": "Here's the image you requested:"},
            {
                "type": "image",
                "mimeType": "image/png",
                "omitted": f"{size:.1f} KiB not kept: over the 1.0 KiB kept of a step's result "
                "(AGENTIC_STORED_RESULT_BYTES)",
            },
            {"type": "text", "text": "The image above is the MCP logo."},
        ]
    }
    assert openai.calls[1].messages[-1]["content"][1]["image_url"]["url"].endswith(tiny_image())
