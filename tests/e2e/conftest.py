"""The dashboard end to end: the platform started as ``make dev`` starts it, driven by real Chromium.

One platform per session (``python -m apps.local`` in a subprocess, with a fake Kubernetes API and a fake
wttr.in behind it, state in a temporary directory); one fresh browser context per test. Every page a test
opens is watched: a console error, an uncaught exception, a Content-Security-Policy violation or a
request to another origin fails the test. Screenshots go to ``test-artifacts/e2e/``.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Request, expect, sync_playwright

from tests.support.fake_kube import FakeKube, run_fake_kube
from tests.support.fake_kube_state import default_state
from tests.support.fake_wttr import FakeWttr, run_fake_wttr
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
SCALABLE_NAMESPACE = "k8s-admin"
# Below Linux's ephemeral range (32768+), so an outgoing connection cannot take one between the check and use.
MCP_PORT_RANGE = (20_000, 32_000)
TERMINAL_STATUSES = {"succeeded", "failed", "cancelled", "needs_attention"}

expect.set_options(timeout=10_000)


@dataclass(frozen=True)
class Platform:
    """The running platform and the fakes behind it."""

    url: str
    """The agent core: dashboard at ``/``, API at ``/api``."""
    mcp_servers: str
    """``AGENTIC_MCP_SERVERS`` for another agent core that should use the same MCP servers."""
    database_path: Path
    kube: FakeKube
    wttr: FakeWttr
    deployment: str
    namespace: str
    replicas: int
    """The deployment's replica count in the fake cluster at the start."""

    def api(self, method: str, path: str, json: object | None = None) -> httpx.Response:
        return httpx.request(method, f"{self.url}/api{path}", json=json, timeout=30)

    def scale_workflow(self, name: str, replicas: int, step_id: str = "call") -> dict[str, Any]:
        """A one-step workflow that scales the fake cluster's deployment: it waits for an approval."""
        arguments = {"namespace": self.namespace, "name": self.deployment, "replicas": replicas}
        return {"name": name, "steps": [{"id": step_id, "tool": "kubernetes.scale_deployment", "arguments": arguments}]}

    def start_run(self, body: dict[str, Any]) -> str:
        response = self.api("POST", "/runs", body)
        assert response.status_code == 202, response.text
        run_id: str = response.json()["id"]
        return run_id

    def finished_run(self, run_id: str, timeout: float = 15.0) -> dict[str, Any]:
        """The run once it has finished, as the API shows it."""
        deadline = time.monotonic() + timeout
        while (view := self.api("GET", f"/runs/{run_id}").json())["status"] not in TERMINAL_STATUSES:
            assert time.monotonic() < deadline, f"run {run_id} did not finish within {timeout:g}s: {view['status']}"
            time.sleep(0.05)
        return view


def consecutive_free_ports(count: int, attempts: int = 50) -> int:
    """The first of ``count`` consecutive ports that are free on 127.0.0.1, each checked by binding it."""
    for _ in range(attempts):
        base = random.randrange(*MCP_PORT_RANGE)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return base
    raise RuntimeError(f"no {count} consecutive free ports found in {attempts} attempts")


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the platform exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready within {STARTUP_TIMEOUT_SECONDS:g}s:\n{log.read_text()[-4000:]}")


def stop_platform(process: subprocess.Popen[bytes]) -> None:
    """Stop it as a service manager would; it must stop its services and exit in time.

    SIGTERM rather than Ctrl-C's SIGINT: a job started in the background by a shell without job control
    inherits SIGINT ignored, and Python then keeps ignoring it; apps.local handles SIGTERM itself.
    """
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own process group: the services it started go too
        process.wait()
        raise AssertionError(f"the platform did not stop within {STOP_TIMEOUT_SECONDS:g}s of SIGTERM") from None


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    state_dir = tmp_path_factory.mktemp("platform")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = next(d for d in default_state().deployments if d.metadata.namespace == SCALABLE_NAMESPACE)
    port = free_port()
    mcp_port = consecutive_free_ports(4)
    database_path = state_dir / "sample.db"
    log_path = ARTIFACTS / "platform.log"
    with run_fake_kube() as kube, run_fake_wttr() as wttr, log_path.open("wb") as log:
        env = {
            **os.environ,
            "AGENTIC_STATE": f"sqlite:///{state_dir / 'agent-core.db'}",
            "AGENTIC_KV_STORE": f"sqlite:///{state_dir / 'kv.db'}",
            "AGENTIC_DATABASE_PATH": str(database_path),
            "KUBECONFIG": str(kube.kubeconfig),
            "AGENTIC_SCALABLE_NAMESPACES": SCALABLE_NAMESPACE,
            "AGENTIC_WEATHER_BASE_URL": wttr.base_url,
            # Every weather step reaches the fake wttr.in, so a test can slow it down whatever ran before.
            "AGENTIC_WEATHER_CACHE_SECONDS": "0",
            "AGENTIC_DASHBOARD_DIR": str(ROOT / "dashboard"),
            "AGENTIC_REASONER": "offline",
            # Credentials that exist, not ones that work: the aws tools are offered (and their forms shown) as on
            # a machine set up for AWS, whatever this shell has. No e2e test calls AWS.
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        for variable in ("AGENTIC_API_KEYS", "AGENTIC_API_KEYS_FILE", "AGENTIC_LOG_LEVEL", "AWS_PROFILE"):
            env.pop(variable, None)  # the local defaults, whatever this shell has set
        command = [sys.executable, "-m", "apps.local", "--port", str(port), "--mcp-port", str(mcp_port)]
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        url = f"http://127.0.0.1:{port}"
        try:
            # The agent core answers before the MCP servers do (kubernetes is the slowest to import); a run
            # started in between would find a server down and its breaker open. So wait for all of them, as
            # apps.local does before it says the platform is running.
            for ready in (f"{url}/ready", *(f"http://127.0.0.1:{mcp_port + i}/ready" for i in range(4))):
                wait_until_ready(ready, process, log_path)
            names = ("aws", "database", "custom", "kubernetes")
            yield Platform(
                url=url,
                mcp_servers=",".join(f"{name}=http://127.0.0.1:{mcp_port + i}/mcp" for i, name in enumerate(names)),
                database_path=database_path,
                kube=kube,
                wttr=wttr,
                deployment=target.metadata.name,
                namespace=SCALABLE_NAMESPACE,
                replicas=target.spec.replicas,
            )
        finally:
            if process.poll() is None:
                stop_platform(process)
    assert process.returncode == 0, f"the platform exited with {process.returncode}; see {log_path}"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (the e2e tests never download a browser)")
    browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


# Reports Content-Security-Policy violations to the test (init scripts are not subject to the page's CSP).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


@dataclass
class Dashboard:
    """A page on the dashboard, and everything it did that a test may want to check."""

    page: Page
    base_url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    allowed_console: list[re.Pattern[str]] = field(default_factory=list)
    """Console errors a test expects (a 401 it provokes, say)."""

    def open(self, route: str = "/") -> None:
        """Open a hash route, e.g. ``/health`` or ``/runs/<id>``, and wait for its heading."""
        self.page.goto(f"{self.base_url}/#{route}")
        expect(self.page.locator("main h1")).to_be_visible()

    def wait_for(self, condition: Callable[[], object], timeout: float = 10.0) -> None:
        """Poll a Python-side condition; Playwright's own wait lets page events reach Python meanwhile."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"condition not met within {timeout:g}s"
            self.page.wait_for_timeout(50)

    def screenshot(self, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def foreign_requests(self) -> list[str]:
        return [url for url in self.requests if not (url == self.base_url or url.startswith(self.base_url + "/"))]

    def unexpected_console_errors(self) -> list[str]:
        return [text for text in self.console_errors if not any(p.search(text) for p in self.allowed_console)]

    def has_no_horizontal_overflow(self) -> bool:
        return bool(self.page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def open_dashboard(
    browser: Browser,
    base_url: str,
    *,
    width: int = 1280,
    height: int = 860,
    allowed_console: tuple[re.Pattern[str], ...] = (),
) -> Iterator[Dashboard]:
    """A fresh browser context on the dashboard; on the way out, asserts the page behaved."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    dashboard = Dashboard(page=page, base_url=base_url, allowed_console=list(allowed_console))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            dashboard.console_errors.append(message.text)

    def on_request(request: Request) -> None:
        dashboard.requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: dashboard.page_errors.append(str(error)))
    page.on("request", on_request)

    def on_csp_violation(description: str) -> None:
        dashboard.csp_violations.append(description)

    page.expose_function("__reportCspViolation", on_csp_violation)
    page.add_init_script(CSP_LISTENER)
    try:
        yield dashboard
        # Every test's page is held to these, not only the test that checks them by name.
        assert dashboard.csp_violations == [], "Content-Security-Policy violations"
        assert dashboard.page_errors == [], "uncaught errors in the page"
        assert dashboard.unexpected_console_errors() == [], "console errors"
        assert dashboard.foreign_requests() == [], "requests outside the dashboard's origin"
    finally:
        context.close()


@pytest.fixture
def dashboard(browser: Browser, platform: Platform) -> Iterator[Dashboard]:
    """The dashboard of the session's platform at desktop width."""
    yield from open_dashboard(browser, platform.url)


@pytest.fixture
def narrow_dashboard(browser: Browser, platform: Platform) -> Iterator[Dashboard]:
    """The same at 375 px wide, a small phone."""
    yield from open_dashboard(browser, platform.url, width=375, height=740)
