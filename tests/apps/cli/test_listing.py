"""``runs``, ``show``, ``tools``, ``health`` and ``templates`` against a real agent core."""

from __future__ import annotations

import json

from tests.apps.cli.conftest import run_cli
from tests.support.agent_core import TERMINAL, CoreClient

ECHO = {"name": "echo_once", "steps": [{"id": "say", "tool": "lab.echo", "arguments": {"text": "wombat"}}]}
FAILS = {"name": "fails_once", "steps": [{"id": "boom", "tool": "lab.always_fails", "arguments": {"reason": "nope"}}]}


def test_runs_lists_recent_runs_in_a_table(core: CoreClient) -> None:
    ok = core.start({"workflow": ECHO})
    failed = core.start({"workflow": FAILS})
    core.wait_for(ok, TERMINAL)
    core.wait_for(failed, TERMINAL)

    result = run_cli("runs", "--limit", "50", url=core.url)
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "STATUS", "KIND", "AGE", "TITLE"]
    by_id = {row.split()[0]: row.split() for row in rows}
    assert by_id[ok][1:3] == ["succeeded", "workflow"] and by_id[ok][-1] == "echo_once"
    assert by_id[failed][1] == "failed"
    assert rows.index(next(r for r in rows if r.startswith(failed))) < rows.index(
        next(r for r in rows if r.startswith(ok))
    ), "newest first"

    only_failed = run_cli("runs", "--status", "failed", "--json", url=core.url)
    listed = json.loads(only_failed.stdout)["runs"]
    assert failed in {run["id"] for run in listed} and {run["status"] for run in listed} == {"failed"}

    bad = run_cli("runs", "--status", "sideways", url=core.url)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_show_prints_steps_final_answer_and_errors(core: CoreClient) -> None:
    failed = core.start({"workflow": FAILS})
    core.wait_for(failed, TERMINAL)
    result = run_cli("show", failed, url=core.url)
    assert result.returncode == 0, "show reports; it does not judge"
    assert result.stdout.startswith(f"Run {failed} · workflow · failed")
    [step] = [line for line in result.stdout.splitlines() if "boom" in line and "lab.always_fails" in line]
    assert step.strip().startswith("✗ boom") and "failed" in step and "always fails: nope" in step
    assert 'Error: step "boom" failed' in result.stdout
    assert "Final answer:" in result.stdout

    as_json = run_cli("show", failed, "--json", url=core.url)
    assert json.loads(as_json.stdout) == core.run(failed)

    unknown = run_cli("show", "0" * 32, url=core.url)
    assert unknown.returncode == 2 and "no run with this id" in unknown.stderr


def test_tools_are_grouped_by_server_with_marks(core: CoreClient) -> None:
    result = run_cli("tools", url=core.url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "lab (6 tools)"
    marks = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert marks == {
        "always_fails": "read-only",
        "apply": "destructive",
        "echo": "read-only",
        "flaky": "read-only",
        "scale": "destructive",
        "slow_echo": "read-only",
    }
    assert json.loads(run_cli("tools", "--server", "lab", "--json", url=core.url).stdout)["tools"][0]["server"] == "lab"
    unknown = run_cli("tools", "--server", "aws", url=core.url)
    assert unknown.returncode == 2 and "servers: lab" in unknown.stderr


def test_health_shows_reasoner_store_and_each_server(core: CoreClient) -> None:
    result = run_cli("health", url=core.url)
    assert result.returncode == 0, result.stderr
    assert f"platform  {core.url}  ok" in result.stdout
    assert "reasoner  offline" in result.stdout and "store     ok" in result.stdout
    [lab] = [line for line in result.stdout.splitlines() if line.strip().startswith("✓ lab")]
    assert "/mcp" in lab and " ms" in lab
    report = json.loads(run_cli("--json", "health", url=core.url).stdout)
    assert report["servers"][0]["reachable"] is True


def test_templates_lists_the_built_in_workflows(core: CoreClient) -> None:
    result = run_cli("templates", url=core.url)
    assert result.returncode == 0, result.stderr
    for template_id in ("s3_inventory", "database_report", "cluster_health", "weather_to_store"):
        assert any(line.startswith(template_id + "  ") for line in result.stdout.splitlines())
    assert "inputs: location (default 'London')" in result.stdout
    assert (
        "steps: custom.get_weather then custom.get_data then custom.store_data then custom.replace_data"
        in result.stdout
    )


def test_a_template_runs_by_id_and_the_platform_checks_it(core: CoreClient) -> None:
    # The lab core has no 'custom' server, so the template's own steps are refused by validation.
    result = run_cli("run", "--template", "weather_to_store", "--input", "location=Paris", url=core.url)
    assert result.returncode == 2
    assert 'steps[0] (id "weather"): unknown server "custom"; servers: lab' in result.stderr
