"""The checks over HTTP that need no run: the dashboard, the API, the run store, each MCP server, approvals.

Each function asks one thing through the base URL (the load balancer in the cluster, the agent core under
``make dev``) and returns one ``CheckResult`` per thing it judged; nothing here raises for a failed check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pydantic import ValidationError

from apps.cli.client import Platform
from apps.cli.errors import AuthFailed, CliError
from apps.cli.text import duration, shorten
from apps.cli.verify.api_views import HealthView, ToolList, ToolView
from apps.cli.verify.results import CheckResult, failed, passed, warned

DETAIL_CHARS = 300
# A run id that cannot exist: the approvals probe must never reach a real run, whatever it sends.
NO_SUCH_RUN = "verify-no-such-run"

DASHBOARD_REMEDY = (
    "the load balancer's / rule must reach the frontend: check the Ingress (kubectl -n agentic describe ingress "
    "agentic-ingress) and the frontend pods; under make dev the agent core serves it from AGENTIC_DASHBOARD_DIR"
)
URL_REMEDY = (
    "check --url: the stack's dashboardUrl (pulumi stack output dashboardUrl), whose /api rule must reach the "
    "agent-core Service; under make dev http://127.0.0.1:8080"
)
KEY_REMEDY = (
    "pass the stack's key (pulumi stack output apiKey --show-secrets) as --api-key or AGENTIC_API_KEY, "
    "or run make verify, which reads it from the stack"
)
STORE_REMEDY = (
    "the agent core cannot use its run store (AGENTIC_STATE): in the cluster check the DynamoDB runs table and "
    "agent-core's Pod Identity role; locally the SQLite file's directory"
)
APPROVER_REMEDY = "give the key the approver role (AGENTIC_API_KEYS_FILE), or decide approvals with a key that has it"


def server_remedy(server: str) -> str:
    return (
        f"start or fix the {server} MCP server: in the cluster its pods, Service and NetworkPolicy "
        "(kubectl get pods -A -l app.kubernetes.io/component=mcp-server), under make dev its process (make dev "
        "prints each URL); the agent core finds the servers in AGENTIC_MCP_SERVERS"
    )


def _elapsed(started: float) -> str:
    return duration((time.perf_counter() - started) * 1000)


def _short(text: str) -> str:
    return shorten(text, DETAIL_CHARS)


def check_dashboard(platform: Platform) -> CheckResult:
    """``GET /`` answers the dashboard's HTML; the API key is not sent, as a browser would not send it."""
    started = time.perf_counter()
    try:
        response = platform.request("GET", "/", authenticated=False)
    except CliError as exc:
        return failed("dashboard", exc.message, DASHBOARD_REMEDY)
    content_type = response.headers.get("content-type", "")
    if response.status_code != 200:
        return failed("dashboard", f"GET / answered {response.status_code} {response.reason_phrase}", DASHBOARD_REMEDY)
    if "text/html" not in content_type or "<html" not in response.text[:2000].lower():
        return failed("dashboard", f"GET / answered {content_type or 'no content type'}, not HTML", DASHBOARD_REMEDY)
    return passed("dashboard", f"GET / answered HTML, {len(response.content)} bytes in {_elapsed(started)}")


@dataclass(frozen=True)
class ApiAnswer:
    result: CheckResult
    health: HealthView | None
    """None when the API did not answer as it should: the checks behind it cannot run."""


def check_api(platform: Platform) -> ApiAnswer:
    """``GET /api/health`` with the key: the API is reachable, accepts the key and answers as the platform does."""
    started = time.perf_counter()
    try:
        raw = platform.get("/api/health")
    except AuthFailed as exc:
        return ApiAnswer(failed("api", exc.message, KEY_REMEDY), None)
    except CliError as exc:
        return ApiAnswer(failed("api", exc.message, URL_REMEDY), None)
    try:
        health = HealthView.model_validate(raw)
    except ValidationError as exc:
        detail = f"GET /api/health answered, but not as the platform's API does: {exc.errors()[0]['msg']}"
        return ApiAnswer(failed("api", detail, URL_REMEDY), None)
    model = f" ({health.reasoner.model})" if health.reasoner.model else ""
    detail = (
        f"GET /api/health answered in {_elapsed(started)}: platform {health.status}, "
        f"reasoner {health.reasoner.name}{model}, {len(health.servers)} MCP servers"
    )
    return ApiAnswer(passed("api", detail), health)


def check_store(health: HealthView) -> CheckResult:
    if health.store == "ok":
        return passed("run store", "the agent core reads and writes its run store")
    return failed("run store", _short(health.store), STORE_REMEDY)


def check_servers(health: HealthView) -> list[CheckResult]:
    """Every configured MCP server answers the agent core (its own probe, from inside the platform)."""
    if not health.servers:
        return [failed("mcp servers", "the agent core has no MCP servers configured", server_remedy("each"))]
    results = []
    for server in health.servers:
        check = f"mcp server {server.server}"
        if server.reachable:
            breaker = f", breaker {server.breaker}" if server.breaker != "closed" else ""
            detail = f"reachable from the agent core at {server.url} ({duration(server.latency_ms)}{breaker})"
            results.append(passed(check, detail, server=server.server))
        else:
            error = server.error or "no answer"
            detail = f"{server.server} at {server.url} is unreachable from the agent core: {error}"
            results.append(failed(check, _short(detail), server_remedy(server.server), server=server.server))
    return results


def list_tools(platform: Platform) -> tuple[list[ToolView] | None, CheckResult | None]:
    """The catalog, reloaded from the servers now (``refresh``), or the failed check saying why not."""
    try:
        listed = ToolList.model_validate(platform.get("/api/tools", {"refresh": "true"}))
    except CliError as exc:
        return None, failed("tools", exc.message, URL_REMEDY)
    except ValidationError as exc:
        detail = f"GET /api/tools answered, but not as the API does: {exc.errors()[0]['msg']}"
        return None, failed("tools", detail, URL_REMEDY)
    return listed.tools, None


def check_tools(health: HealthView, tools: list[ToolView]) -> list[CheckResult]:
    """Every configured server has at least one tool in the catalog."""
    results = []
    for server in health.servers:
        names = sorted(tool.name for tool in tools if tool.server == server.server)
        check = f"tools {server.server}"
        if names:
            shown = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
            results.append(passed(check, f"{len(names)} tools: {shown}", server=server.server))
        else:
            detail = f"the catalog lists no tools from {server.server}"
            results.append(failed(check, detail, server_remedy(server.server), server=server.server))
    return results


def check_approvals(platform: Platform) -> CheckResult:
    """The approvals route is served and validates what it is sent; nothing is approved or changed.

    The decision sent is malformed and names a run that cannot exist, so whatever the platform's version,
    it can only be refused (422). The runs already waiting for a person are counted, not touched.
    """
    try:
        waiting = platform.get("/api/runs", {"status": "awaiting_approval", "limit": "200"})
        runs = waiting.get("runs") if isinstance(waiting, dict) else None
        count = f"{len(runs)}{'+' if waiting.get('next_cursor') else ''}" if isinstance(runs, list) else "?"
        response = platform.request("POST", f"/api/runs/{NO_SUCH_RUN}/approvals", body={"decision": "verify"})
    except CliError as exc:
        return failed("approvals", exc.message, URL_REMEDY)
    status = response.status_code
    pending = f"{count} runs await approval (dashboard: Approvals)"
    if status == 403:
        detail = f"the route answers, but this key may not decide approvals (403); {pending}"
        return warned("approvals", detail, APPROVER_REMEDY)
    if status == 401:
        return failed("approvals", "the approvals route refused the API key (401)", KEY_REMEDY)
    if 400 <= status < 500:
        return passed("approvals", f"the route refused a malformed decision with {status}, as it should; {pending}")
    detail = f"POST /api/runs/{{id}}/approvals answered {status} {response.reason_phrase} to a malformed decision"
    return failed("approvals", detail, "read the agent core's logs: a bad request must get a 4xx, never a 5xx")
