"""``python -m apps.cli verify`` against the platform as ``make dev`` starts it (``python -m apps.local``).

One platform serves the module: every service its own process on 127.0.0.1, state in a temporary directory, an
API key with the roles of the stack's generated key, and neither AWS credentials nor a kubeconfig, so the aws and
kubernetes servers answer that they lack access (warnings). Cluster checks go to the fake Kubernetes API serving a
cluster as ``pulumi up`` leaves it. verify always runs as its own process, as a person or ``make verify`` runs it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.agent_core.auth import new_key
from tests.apps.cli.conftest import run_cli
from tests.support.agent_core import run_agent_core
from tests.support.fake_kube import FakeKube, run_fake_kube
from tests.support.fake_kube_platform import deployed_state, node_pool
from tests.support.processes import ROOT, run_service

STARTUP_TIMEOUT_SECONDS = 60.0
VERIFY_TIMEOUT_SECONDS = 120.0
SERVERS = ("aws", "database", "custom", "kubernetes")
TERMINAL = {"succeeded", "failed", "cancelled", "needs_attention"}


@dataclass(frozen=True)
class DevPlatform:
    url: str
    key: str
    mcp_urls: dict[str, str]
    env: dict[str, str]
    """The environment the services run with (no AWS credentials, no kubeconfig)."""

    def runs(self) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.url}/api/runs", params={"limit": "200"}, headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )
        assert response.status_code == 200, response.text
        runs: list[dict[str, Any]] = response.json()["runs"]
        return runs


def _consecutive_free_ports(count: int) -> int:
    """The first of ``count`` free consecutive loopback ports, below the ephemeral range (as tests/e2e does)."""
    for _ in range(50):
        base = random.randrange(20_000, 32_000)
        sockets: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no consecutive free ports")


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
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


def without_access(state_dir: Path) -> dict[str, str]:
    """This environment with no AWS credentials, kubeconfig or platform settings able to leak in."""
    empty = state_dir / "empty"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTIC_", "AWS_")) and k != "KUBECONFIG"}
    env.update(
        {
            "HOME": str(state_dir),  # no ~/.kube/config, no ~/.aws
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


@pytest.fixture(scope="module")
def dev_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevPlatform]:
    state_dir = tmp_path_factory.mktemp("verify-platform")
    key, entry = new_key("operator", ["operator", "approver"])  # the roles of the stack's generated key
    env = without_access(state_dir)
    env.update(
        {
            "AGENTIC_STATE": f"sqlite:///{state_dir / 'agent-core.db'}",
            "AGENTIC_KV_STORE": f"sqlite:///{state_dir / 'kv.db'}",
            "AGENTIC_DATABASE_PATH": str(state_dir / "sample.db"),
            "AGENTIC_API_KEYS": json.dumps([entry.model_dump()]),
        }
    )
    port, mcp_port = _consecutive_free_ports(1), _consecutive_free_ports(4)
    log_path = state_dir / "platform.log"
    command = [sys.executable, "-m", "apps.local", "--port", str(port), "--mcp-port", str(mcp_port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            url = f"http://127.0.0.1:{port}"
            mcp = {name: f"http://127.0.0.1:{mcp_port + i}" for i, name in enumerate(SERVERS)}
            for ready in (f"{url}/ready", *(f"{base}/ready" for base in mcp.values())):
                _wait_ready(ready, process, log_path)
            yield DevPlatform(url, key, {name: f"{base}/mcp" for name, base in mcp.items()}, env)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def cluster() -> Iterator[FakeKube]:
    with run_fake_kube(deployed_state()) as kube:
        yield kube


def verify(*args: str, url: str | None, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli("verify", *args, url=url, stdin=stdin, timeout=VERIFY_TIMEOUT_SECONDS, **env)


def lines_by_check(stdout: str) -> dict[str, str]:
    """``{check name: its line}`` from verify's human output (``OUTCOME  check-name  detail``)."""
    found = {}
    for line in stdout.splitlines():
        outcome, _, rest = line.partition("  ")
        if outcome in ("PASS", "WARN", "FAIL", "SKIP"):
            name = rest[:28].strip()
            found[name] = line
    return found


def test_verify_passes_with_warnings_for_the_servers_without_access(dev_platform: DevPlatform) -> None:
    before = {run["id"] for run in dev_platform.runs()}
    result = verify(url=dev_platform.url, AGENTIC_API_KEY=dev_platform.key)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = lines_by_check(result.stdout)
    passing = ["dashboard", "api", "run store", "reasoner", "approvals", "tool call database", "tool call custom"]
    passing += [f"mcp server {name}" for name in SERVERS] + [f"tools {name}" for name in SERVERS]
    for check in passing:
        assert lines[check].startswith("PASS"), lines[check]
    # Their servers say why before any call (capability statuses), with the setting to change: no run is started.
    assert lines["tool call aws"].startswith("WARN")
    assert (
        "aws.list_s3_buckets cannot run on its server now: none found by boto3's credential" in lines["tool call aws"]
    )
    assert "→ set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in lines["tool call aws"]
    assert lines["tool call kubernetes"].startswith("WARN")
    assert "kubernetes.get_cluster_status cannot run on its server now: not configured" in lines["tool call kubernetes"]
    assert "→ set KUBECONFIG" in lines["tool call kubernetes"]
    assert lines["cluster"].startswith("SKIP")
    assert "refused a malformed decision with 422" in lines["approvals"]
    assert "offline answered" in lines["reasoner"]
    # Its task needs no tool, which the offline planner cannot answer: a failed run, and still a pass.
    assert "so the run ended failed as designed" in lines["reasoner"]
    assert result.stdout.rstrip().splitlines()[-1].startswith(f"verified: {dev_platform.url} (15 passed, 2 warnings")

    # Nothing but verify's own runs: one read-only call per server that can take one and the reasoner's task,
    # all finished, none waiting for (or given) an approval.
    started = [run for run in dev_platform.runs() if run["id"] not in before]
    assert sorted(run["title"] for run in started if run["kind"] == "workflow") == ["verify_custom", "verify_database"]
    assert len([run for run in started if run["kind"] == "task"]) == 1
    assert all(run["status"] in TERMINAL for run in started)
    assert not [run for run in dev_platform.runs() if run["status"] == "awaiting_approval"]


def test_strict_fails_and_names_the_servers_that_lack_access(dev_platform: DevPlatform) -> None:
    result = verify("--strict", "--json", url=dev_platform.url, AGENTIC_API_KEY=dev_platform.key)
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["strict"] is True
    warned = {check["server"]: check for check in report["checks"] if check["outcome"] == "warn"}
    assert sorted(warned) == ["aws", "kubernetes"]
    assert all(check["remedy"] for check in warned.values())
    assert report["summary"]["fail"] == 0
    assert report["summary"] == {"pass": 15, "warn": 2, "fail": 0, "skip": 1}


def test_without_the_key_the_api_check_fails_and_says_which_key(dev_platform: DevPlatform) -> None:
    result = verify(url=dev_platform.url)
    assert result.returncode == 5, result.stdout + result.stderr
    lines = lines_by_check(result.stdout)
    assert lines["dashboard"].startswith("PASS")  # static files need no key
    assert lines["api"].startswith("FAIL") and "authentication failed (401)" in lines["api"]
    assert "pulumi stack output apiKey --show-secrets" in lines["api"]
    assert lines["platform"].startswith("SKIP")


def test_a_stopped_mcp_server_fails_verify_and_is_named(dev_platform: DevPlatform, tmp_path: Path) -> None:
    """A small platform of its own: an agent core using the module's servers but its own custom server, stopped."""
    custom_env = {**dev_platform.env, "AGENTIC_KV_STORE": "memory"}
    with run_service("apps.mcp_custom", custom_env, log_path=tmp_path / "custom.log") as custom:
        servers = {**dev_platform.mcp_urls, "custom": f"{custom.url}/mcp"}
        with run_agent_core(servers, tmp_path, dashboard_dir=ROOT / "dashboard") as core:
            custom.process.terminate()
            custom.process.wait(timeout=10)
            result = verify("--json", url=core.url)
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    failures = [check for check in report["checks"] if check["outcome"] == "fail"]
    assert {check["check"] for check in failures} == {"mcp server custom", "tools custom"}
    assert all(check["server"] == "custom" for check in failures)
    assert (
        "custom at http://127.0.0.1:" in failures[0]["detail"]
        and "unreachable from the agent core" in failures[0]["detail"]
    )
    assert "start or fix the custom MCP server" in failures[0]["remedy"]
    outcomes = {check["check"]: check["outcome"] for check in report["checks"]}
    assert outcomes["tool call custom"] == "skip"
    assert outcomes["tool call database"] == outcomes["mcp server database"] == outcomes["reasoner"] == "pass"


def test_cluster_checks_run_with_a_kubeconfig(dev_platform: DevPlatform, cluster: FakeKube) -> None:
    cluster.reset(deployed_state())
    result = verify(url=dev_platform.url, AGENTIC_API_KEY=dev_platform.key, KUBECONFIG=str(cluster.kubeconfig))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = lines_by_check(result.stdout)
    for check in ("cluster nodepool", "cluster prometheus targets", "cluster grafana dashboard"):
        assert lines[check].startswith("PASS"), lines[check]

    cluster.state.node_pools[:] = [node_pool("default", node_class_ready=False)]
    result = verify("--kubeconfig", str(cluster.kubeconfig), url=dev_platform.url, AGENTIC_API_KEY=dev_platform.key)
    assert result.returncode == 1
    assert lines_by_check(result.stdout)["cluster nodepool"].startswith("FAIL")


def test_make_verify_reads_url_key_and_kubeconfig_from_the_stack_outputs(
    dev_platform: DevPlatform, cluster: FakeKube
) -> None:
    """What ``make verify`` pipes in: ``pulumi stack output --json --show-secrets`` (dashboardUrl ends in /)."""
    cluster.reset(deployed_state())
    outputs = {
        "dashboardUrl": f"{dev_platform.url}/",
        "apiUrl": f"{dev_platform.url}/api",
        "apiKey": dev_platform.key,
        "kubeconfig": cluster.kubeconfig.read_text(),
        "clusterName": "agentic-dev",
    }
    result = verify("--stack-outputs", "-", "--json", url="http://127.0.0.1:9", stdin=json.dumps(outputs))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["url"] == dev_platform.url
    assert {check["check"]: check["outcome"] for check in report["checks"]}["cluster nodepool"] == "pass"

    hidden = verify("--stack-outputs", "-", url=None, stdin=json.dumps({**outputs, "apiKey": "[secret]"}))
    assert hidden.returncode == 2
    assert "--show-secrets" in hidden.stderr
    empty = verify("--stack-outputs", "-", url=None, stdin="")
    assert empty.returncode == 2 and "pulumi stack output --json --show-secrets" in empty.stderr


def test_an_api_url_is_taken_as_its_base(dev_platform: DevPlatform) -> None:
    result = verify("--json", url=f"{dev_platform.url}/api", AGENTIC_API_KEY=dev_platform.key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["url"] == dev_platform.url


def test_nothing_listens_there(tmp_path: Path) -> None:
    """Nothing at the URL: every request fails fast with its reason, and the exit says unreachable."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = verify("--timeout", "5", url=f"http://127.0.0.1:{port}")
    assert result.returncode == 5
    lines = lines_by_check(result.stdout)
    assert lines["dashboard"].startswith("FAIL") and "cannot reach the platform" in lines["dashboard"]
    assert lines["api"].startswith("FAIL")


def test_a_probe_that_waits_for_approval_is_cancelled_never_approved(dev_platform: DevPlatform, tmp_path: Path) -> None:
    """An agent core that requires approval for the custom server's probe: verify cancels that run and fails.

    Also: ``--expect-reasoner`` fails when the agent core reasons with something else.
    """
    with run_agent_core(dev_platform.mcp_urls, tmp_path, require_approval="custom.list_keys") as core:
        result = verify("--json", "--expect-reasoner", "bedrock", url=core.url)
        runs = core.http.get("/api/runs", params={"limit": "200"}).json()["runs"]
        probe = next(run for run in runs if run["title"] == "verify_custom")
        view = core.run(probe["id"])
    assert result.returncode == 1, result.stdout + result.stderr
    checks = {check["check"]: check for check in json.loads(result.stdout)["checks"]}
    custom = checks["tool call custom"]
    assert custom["outcome"] == "fail" and custom["server"] == "custom"
    assert "stopped to wait for an approval; verify cancelled it" in custom["detail"]
    assert "AGENTIC_REQUIRE_APPROVAL" in custom["remedy"]
    assert view["status"] == "cancelled"
    assert [(a["tool"], a["status"], a["decided_by"]) for a in view["approvals"]] == [("list_keys", "cancelled", None)]
    assert checks["reasoner"]["outcome"] == "fail"
    assert "with the offline reasoner, not bedrock" in checks["reasoner"]["detail"]


def test_make_verify_pipes_the_stack_outputs_into_a_strict_verify(
    dev_platform: DevPlatform, cluster: FakeKube, tmp_path: Path
) -> None:
    """``make verify`` with a stand-in ``pulumi`` on PATH that prints the stack's outputs as the real one does.

    The dev platform reasons offline and lacks AWS and cluster access, so the strict, Bedrock-expecting run
    must fail for exactly those reasons, having reached the platform with the key from the outputs.
    """
    cluster.reset(deployed_state())
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "dashboardUrl": f"{dev_platform.url}/",
                "apiKey": dev_platform.key,
                "kubeconfig": cluster.kubeconfig.read_text(),
            }
        )
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pulumi = bin_dir / "pulumi"
    pulumi.write_text(
        "#!/bin/sh\n"
        f'[ "$*" = "stack output --json --show-secrets" ] || {{ echo "unexpected: $*" >&2; exit 2; }}\n'
        f"cat {outputs}\n"
    )
    pulumi.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTIC_") and k != "KUBECONFIG"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    # -o: never reinstall the venv from a test, whatever changed in requirements.txt.
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "verify", "ARGS=--json"]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=VERIFY_TIMEOUT_SECONDS, check=False
    )
    assert result.returncode != 0, result.stdout + result.stderr
    assert dev_platform.key not in result.stdout + result.stderr
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["strict"] is True and report["url"] == dev_platform.url
    outcomes = {check["check"]: check["outcome"] for check in report["checks"]}
    not_passing = {name: outcome for name, outcome in outcomes.items() if outcome != "pass"}
    assert not_passing == {"tool call aws": "warn", "tool call kubernetes": "warn", "reasoner": "fail"}
