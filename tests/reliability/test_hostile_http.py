"""Who gets in, and how much they may send: every server's HTTP edge under hostile requests.

Each MCP server (a process, with a bearer token): a body past the limit → 413, a foreign Host → 421, a
foreign Origin → 403, no token or a wrong one → 401, while the probes stay open for the kubelet. The
agent core with API keys: no key or a wrong one → 401, a key without the role → 403, a body past its
limit → 413. The kubernetes server: scaling outside its allow-list or past its maximum is refused, and
the fake cluster sees no change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apps.agent_core.api.middleware import JsonBodyLimit
from apps.agent_core.api.schemas import ErrorBody
from tests.reliability.conftest import CORE_MAX_BODY_BYTES, MAX_REPLICAS, SCALABLE_NAMESPACE, TOKEN
from tests.support import jsonrpc as rpc
from tests.support.agent_core import CoreClient, Keys, run_agent_core
from tests.support.fake_kube import FakeKube
from tests.support.mcp_fleet import MODULES, Fleet
from tests.support.servers import serve_in_thread

SERVERS = sorted(MODULES)
LIST_TOOLS = rpc.request("tools/list")
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def post_mcp(
    http: httpx.Client, url: str, body: bytes = LIST_TOOLS, extra: dict[str, str] | None = None
) -> httpx.Response:
    return http.post(url, content=body, headers={**rpc.headers("legacy", TOKEN), **(extra or {})})


@pytest.mark.parametrize("server", SERVERS)
def test_an_oversized_body_gets_413(fleet: Fleet, http: httpx.Client, server: str) -> None:
    padding = "x" * (DEFAULT_MAX_BODY_BYTES + 1)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"pad": padding}}).encode()
    assert post_mcp(http, fleet.mcp_url(server), body).status_code == 413
    # Chunked, with no Content-Length to check up front: cut off while reading.
    chunks = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
    streamed = http.post(fleet.mcp_url(server), content=chunks, headers=rpc.headers("legacy", TOKEN))
    assert streamed.status_code == 413
    assert post_mcp(http, fleet.mcp_url(server)).status_code == 200  # and the server carries on


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize(
    ("header", "value", "status"),
    [
        ("host", "evil.example", 421),
        ("host", "169.254.169.254", 421),
        ("host", "127.0.0.1.evil.example:8080", 421),
        ("origin", "https://evil.example", 403),
        ("origin", "http://127.0.0.1.evil.example", 403),
        ("origin", "null", 403),
    ],
)
def test_a_foreign_host_or_origin_is_refused(
    fleet: Fleet, http: httpx.Client, server: str, header: str, value: str, status: int
) -> None:
    assert post_mcp(http, fleet.mcp_url(server), extra={header: value}).status_code == status


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer  x", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"bearer {TOKEN}", f"Basic {TOKEN}"],
)
def test_mcp_without_the_right_token_gets_401(
    fleet: Fleet, http: httpx.Client, server: str, authorization: str | None
) -> None:
    headers = {"content-type": "application/json", "accept": rpc.ACCEPT}
    if authorization is not None:
        headers["authorization"] = authorization
    response = http.post(fleet.mcp_url(server), content=LIST_TOOLS, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in response.text
    # The probes answer without a token: the kubelet has none.
    assert http.get(fleet.services[server].url + "/health").status_code == 200


ROUTES = [
    ("GET", "/api/runs", None),
    ("GET", "/api/tools", None),
    ("GET", "/api/health", None),
    ("POST", "/api/runs", {"task": "What is the weather in London?"}),
    ("POST", "/api", {"task": "What is the weather in London?"}),
    ("POST", "/api/runs/nope/cancel", None),
    ("POST", "/api/runs/nope/approvals", {"decision": "approve"}),
    ("POST", "/api/workflows/validate", {"workflow": {"name": "x", "steps": []}}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-key", "Bearer", "Basic dXNlcjpwYXNz"])
def test_the_agent_core_refuses_a_missing_or_wrong_key(
    core: CoreClient, method: str, path: str, body: object, authorization: str | None
) -> None:
    headers = {"authorization": authorization} if authorization is not None else {}
    response = core.http.request(method, path, json=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"


def test_a_key_without_the_role_gets_403(core: CoreClient, keys: Keys) -> None:
    viewer = {"authorization": f"Bearer {keys.viewer}"}
    assert core.http.get("/api/runs", headers=viewer).status_code == 200
    assert core.http.post("/api/runs", json={"task": "hello"}, headers=viewer).status_code == 403
    operator = {"authorization": f"Bearer {keys.operator}"}
    approval = core.http.post("/api/runs/nope/approvals", json={"decision": "approve"}, headers=operator)
    assert approval.status_code == 403


def oversized_task() -> bytes:
    return json.dumps({"task": "x" * CORE_MAX_BODY_BYTES}).encode()


def assert_documented_413(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    ErrorBody.model_validate(response.json())


def test_the_agent_core_refuses_an_oversized_body_with_its_documented_413(core: CoreClient, keys: Keys) -> None:
    operator = {"authorization": f"Bearer {keys.operator}", "content-type": "application/json"}
    body = oversized_task()
    assert_documented_413(core.http.post("/api/runs", content=body, headers=operator))
    chunks = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])  # no Content-Length
    assert_documented_413(core.http.post("/api/runs", content=chunks, headers=operator))


def test_json_body_limit_answers_413_as_documented(http: httpx.Client) -> None:
    async def echo(request: Request) -> Response:
        return Response(await request.body())

    async def health(_: Request) -> Response:
        return Response("OK")

    routes = [Route("/echo", echo, methods=["POST"]), Route("/health", health)]
    with serve_in_thread(JsonBodyLimit(Starlette(routes=routes), max_body_size=1000)) as url:
        assert http.post(url + "/echo", content=b"x" * 1000).content == b"x" * 1000
        assert_documented_413(http.post(url + "/echo", content=b"x" * 1001))
        chunked = http.post(url + "/echo", content=iter([b"x" * 600, b"x" * 600]))
        assert_documented_413(chunked)
        assert http.post(url + "/echo", content=iter([b"x" * 500, b"y" * 500])).content == b"x" * 500 + b"y" * 500


SCHEMA_REFUSAL = "Invalid arguments for scale_deployment: "


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        ({"namespace": "kube-system", "name": "coredns", "replicas": 1}, SCALABLE_NAMESPACE),
        ({"namespace": "k8s-admin", "name": "web", "replicas": 1}, SCALABLE_NAMESPACE),
        ({"namespace": SCALABLE_NAMESPACE, "name": "api", "replicas": MAX_REPLICAS + 1}, SCHEMA_REFUSAL + "replicas"),
        ({"namespace": SCALABLE_NAMESPACE, "name": "api", "replicas": 50}, SCHEMA_REFUSAL + "replicas"),
        ({"namespace": SCALABLE_NAMESPACE, "name": "api", "replicas": -1}, SCHEMA_REFUSAL + "replicas"),
        ({"namespace": SCALABLE_NAMESPACE, "name": "api", "replicas": 2**40}, SCHEMA_REFUSAL + "replicas"),
        ({"namespace": SCALABLE_NAMESPACE + "\n", "name": "api", "replicas": 1}, SCHEMA_REFUSAL + "namespace"),
        ({"namespace": "*", "name": "api", "replicas": 1}, SCHEMA_REFUSAL + "namespace"),
        ({"namespace": SCALABLE_NAMESPACE, "name": "api\n", "replicas": 1}, SCHEMA_REFUSAL + "name"),
        ({"namespace": SCALABLE_NAMESPACE, "name": "../kube-system/coredns", "replicas": 1}, SCHEMA_REFUSAL + "name"),
    ],
)
def test_scaling_outside_the_allow_list_or_past_the_maximum_is_refused(
    fleet: Fleet, http: httpx.Client, fake_kube: FakeKube, arguments: dict[str, object], refusal: str
) -> None:
    applied = fake_kube.scale_patches_applied
    url = fleet.mcp_url("kubernetes")
    answer = rpc.call_tool(http, url, "scale_deployment", arguments, token=TOKEN)
    assert answer.json()["result"]["isError"] is True, answer.describe()
    assert refusal in rpc.tool_text(answer)
    assert fake_kube.scale_patches_applied == applied
    # The same server does scale inside its allow-list (dry run: the fake cluster validates, changes nothing).
    allowed = {"namespace": SCALABLE_NAMESPACE, "name": "api", "replicas": 3, "dry_run": True}
    assert rpc.call_tool(http, url, "scale_deployment", allowed, token=TOKEN).json()["result"]["isError"] is False


@pytest.fixture(scope="module")
def keyless_core(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreClient]:
    """The agent core as ``make dev`` runs it: no API keys, so it trusts only requests meant for this machine."""
    servers = {name: fleet.mcp_url(name) for name in MODULES}
    with run_agent_core(servers, tmp_path_factory.mktemp("keyless"), mcp_token=TOKEN) as client:
        yield client


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "169.254.169.254"])
def test_without_keys_a_rebound_host_gets_421(keyless_core: CoreClient, host: str) -> None:
    # DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 sends its own Host.
    response = keyless_core.http.get("/api/runs", headers={"host": host})
    assert response.status_code == 421, response.text
    started = keyless_core.http.post("/api/runs", json={"task": "scale api to 10"}, headers={"host": host})
    assert started.status_code == 421


def test_without_keys_a_foreign_origin_gets_403_and_starts_nothing(keyless_core: CoreClient) -> None:
    before = keyless_core.http.get("/api/runs").json()["runs"]
    # A page elsewhere posting a "simple" cross-site request: text/plain needs no CORS preflight.
    forged = keyless_core.http.post(
        "/api/runs",
        content=json.dumps({"task": "scale api to 10"}),
        headers={"origin": "https://evil.example", "content-type": "text/plain"},
    )
    assert forged.status_code == 403, forged.text
    assert keyless_core.http.get("/api/runs").json()["runs"] == before
    local = {"origin": keyless_core.url, "host": urlsplit(keyless_core.url).netloc.replace("127.0.0.1", "localhost")}
    body = {"workflow": {"name": "x", "steps": []}}
    assert keyless_core.http.post("/api/workflows/validate", json=body, headers=local).status_code == 200
