"""The platform's alert rules (infra/alerts/platform-rules.yaml, deployed as the PrometheusRule `agentic-platform`):
valid for Prometheus (`promtool check rules`), each alert fires on the series of its unit test and not on the
others (`promtool test rules`), and every series they read is one the platform's services and ServiceMonitors
produce. promtool is Debian's (2.42); the cluster runs Prometheus v3.14 (chart 88.5.3), whose PromQL accepts
everything used here."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from apps.agent_core.metrics import AgentCoreMetrics
from apps.common.metrics import McpMetrics
from infra import alerting
from infra.offline import ProgramRun
from tests.infra.support import k8s_objects_of, run_with

UNIT_TESTS = alerting.RULES_FILE.with_name("platform-rules.test.yaml")


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("Debian's promtool is not installed (make system-deps installs prometheus)")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_promtool(), *args], capture_output=True, text=True, timeout=120)


def _rules() -> list[dict[str, str]]:
    return [rule for group in alerting.platform_rule_groups() for rule in group["rules"]]


def test_promtool_checks_the_deployed_file() -> None:
    result = _run("check", "rules", str(alerting.RULES_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in result.stdout


def test_promtool_refuses_a_broken_rule(tmp_path: Path) -> None:
    broken = tmp_path / "rules.yaml"
    broken.write_text(alerting.RULES_FILE.read_text().replace("> 0.05", "> > 0.05"))
    assert _run("check", "rules", str(broken)).returncode != 0


def test_every_alert_fires_on_its_series() -> None:
    result = _run("test", "rules", str(UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"alertname: (\w+)", UNIT_TESTS.read_text()))
    assert tested == set(alerting.platform_alert_names())


@pytest.mark.parametrize(
    ("original", "changed"),
    [
        ("> 0.05", "> 0.5"),  # a threshold no longer met by the test's 9% errors
        ('route!~"/api|.*/events"', 'route!~"/api"'),  # event streams would count and make agentic slow too
        ('up{job=~".+-mcp-service|mcp-.+-service"}', 'up{job=~".+-mcp-service"}'),  # extra servers missed
        ("> 600", "> 700"),
    ],
)
def test_the_unit_tests_catch_a_changed_rule(tmp_path: Path, original: str, changed: str) -> None:
    text = alerting.RULES_FILE.read_text()
    assert original in text
    (tmp_path / alerting.RULES_FILE.name).write_text(text.replace(original, changed))
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    assert _run("test", "rules", str(tmp_path / UNIT_TESTS.name)).returncode != 0


def _exported_series() -> set[str]:
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    registries: list[CollectorRegistry] = [AgentCoreMetrics().registry, McpMetrics("test").registry]
    return {
        family.name + suffix
        for registry in registries
        for family in registry.collect()
        for suffix in suffixes.get(family.type, ("",))
    }


def test_the_rules_read_series_the_services_export() -> None:
    used = {name for rule in _rules() for name in re.findall(r"\b([a-z_][a-z0-9_]*)\{", rule["expr"])}
    assert used == {
        "agent_core_requests_total",
        "agent_core_request_duration_seconds_bucket",
        "agent_core_approval_oldest_wait_seconds",
        "up",  # Prometheus's own, per target
    }
    assert used - {"up"} <= _exported_series()


def _jobs(run: ProgramRun) -> dict[str, str]:
    """Workload name → the `job` of its targets: the Service its ServiceMonitor selects (the operator's default,
    tests/infra/test_upstream_alertmanager.py)."""
    services = k8s_objects_of(run, "Service")
    jobs = {}
    for monitor in k8s_objects_of(run, "ServiceMonitor"):
        selector = monitor["spec"]["selector"]["matchLabels"]
        (service,) = [
            s
            for s in services
            if s["metadata"]["namespace"] == monitor["metadata"]["namespace"]
            and selector.items() <= s["metadata"]["labels"].items()
        ]
        jobs[monitor["metadata"]["name"]] = service["metadata"]["name"]
    return jobs


def test_the_rules_name_the_jobs_the_platform_scrapes() -> None:
    extra = '[{"name": "github", "image": "ghcr.io/example/github-mcp:1.0", "command": "github-mcp"}]'
    run = run_with({"extraMcpServers": extra}, preview=False)
    assert run.error is None
    jobs = _jobs(run)
    (mcp_down,) = [r for r in _rules() if r["alert"] == "McpServerDown"]
    (pattern,) = re.findall(r'job=~"([^"]+)"', mcp_down["expr"])
    mcp = {name: job for name, job in jobs.items() if name.endswith("-mcp") or name.startswith("mcp-")}
    assert set(mcp) == {"aws-mcp", "database-mcp", "custom-mcp", "k8s-mcp", "mcp-github"}
    for name, job in jobs.items():
        # PromQL anchors label regexes: the whole job must match.
        assert (re.fullmatch(pattern, job) is not None) is (name in mcp), (name, job)
    agent_core_rules = [r["expr"] for r in _rules() if "agent_core_" in r["expr"]]
    assert agent_core_rules and all(f'job="{jobs["agent-core"]}"' in expr for expr in agent_core_rules)
