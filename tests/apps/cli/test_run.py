"""``run``: workflows and tasks streamed step by step, outcomes as exit codes, validation errors listed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.apps.cli.conftest import run_cli, write
from tests.support.agent_core import CoreClient
from tests.support.lab_server import LabState

PIPELINE = {
    "name": "pipeline",
    "steps": [
        {"id": "hello", "tool": "lab.echo", "arguments": {"text": "{{ inputs.word }}"}},
        {
            "parallel": [
                {"id": "slow_a", "tool": "lab.slow_echo", "arguments": {"text": "a", "seconds": 0.4}},
                {"id": "slow_b", "tool": "lab.slow_echo", "arguments": {"text": "b", "seconds": 0.05}},
            ]
        },
        {"id": "again", "tool": "lab.echo", "arguments": {"text": "{{ steps.hello.result.text }} again"}},
    ],
    "inputs": {"word": "hello"},
}
FAILING_YAML = """\
name: failing
steps:
  - id: first
    tool: lab.echo
    arguments: {text: fine}
  - id: broken
    tool: lab.always_fails
    arguments: {reason: disk on fire}
  - id: never
    tool: lab.echo
    arguments: {text: unreachable}
"""


def test_a_workflow_file_streams_each_step_and_exits_0(core: CoreClient, tmp_path: Path) -> None:
    path = write(tmp_path / "pipeline.json", json.dumps(PIPELINE))
    result = run_cli("run", "--workflow", path, "--input", "word=howdy", url=core.url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    run_id = lines[0].removeprefix("Started run ")
    # Not a TTY: a plain line per started and per finished step, in the order they happened.
    finished = [line for line in lines[:-1] if line.startswith("✓ ")]
    assert [line.split()[1] for line in finished] == ["hello", "slow_b", "slow_a", "again"]
    assert "✓ again  lab.echo" in result.stdout and '"howdy again"' in result.stdout
    assert any(line.startswith("→ slow_a  lab.slow_echo  started") for line in lines)
    assert lines.index(next(line for line in lines if line.startswith("✓ hello"))) < lines.index(
        next(line for line in lines if line.startswith("→ slow_a"))
    )
    assert "Final answer:" in result.stdout and "Tokens: 0 input, 0 output" in result.stdout
    assert lines[-1].startswith("✓ succeeded in ") and lines[-1].endswith(run_id)
    assert "\x1b[" not in result.stdout, "no control sequences when stdout is not a terminal"
    view = core.run(run_id)
    assert view["status"] == "succeeded" and view["request"]["inputs"] == {"word": "howdy"}


def test_a_failing_yaml_workflow_exits_1_and_shows_the_error(core: CoreClient, tmp_path: Path) -> None:
    result = run_cli("run", "-w", write(tmp_path / "failing.yaml", FAILING_YAML), url=core.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✓ first  lab.echo" in result.stdout
    [broken] = [line for line in result.stdout.splitlines() if line.startswith("✗ broken")]
    assert "lab.always_fails  failed" in broken and "always fails: disk on fire" in broken
    assert not any(line.startswith(("→ never", "✓ never")) for line in result.stdout.splitlines()), "stopped"
    assert 'Error: step "broken" failed' in result.stdout
    assert result.stdout.splitlines()[-1].startswith("✗ failed")


def test_a_task_runs_with_the_offline_reasoner(core: CoreClient, lab: tuple[str, LabState]) -> None:
    before = lab[1].calls["echo"]
    result = run_cli("run", 'echo text "quokka"', url=core.url)
    assert result.returncode == 0, result.stderr
    assert "reasoner offline" in result.stdout
    assert 'turn 1 [offline]: Plan: lab.echo(text="quokka") (1 tool call)' in result.stdout
    assert "✓ call-1  lab.echo" in result.stdout and '"quokka"' in result.stdout
    assert "Answered by the offline planner" in result.stdout
    assert lab[1].calls["echo"] == before + 1


def test_a_task_whose_tool_failed_exits_1_and_says_which_step(core: CoreClient) -> None:
    result = run_cli("run", 'always fails, reason "disk on fire"', url=core.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✗ call-1  lab.always_fails  failed" in result.stdout and "always fails: disk on fire" in result.stdout
    # The answer is still shown, ending with the steps that failed; the error names the call.
    answer = result.stdout.split("Final answer:", 1)[1]
    assert "Steps that failed:\n  - call-1 lab.always_fails: always fails: disk on fire" in answer
    assert "Error: 1 of 1 tool call failed: lab.always_fails (always fails: disk on fire)." in result.stdout
    assert result.stdout.splitlines()[-1].startswith("✗ failed in ")

    as_json = run_cli("run", 'always fails, reason "disk on fire"', "--json", url=core.url)
    assert as_json.returncode == 1
    view = json.loads(as_json.stdout)
    assert view["status"] == "failed" and view["error"].startswith("1 of 1 tool call failed")


def test_a_task_no_tool_matches_exits_1(core: CoreClient) -> None:
    result = run_cli("run", "tell me a joke about penguins", url=core.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "No tool matches this task, so nothing was run" in result.stdout
    assert "Error: The reasoner could not plan this task: no tool matches this task." in result.stdout
    assert result.stdout.splitlines()[-1].startswith("✗ failed in ")


def test_validation_errors_exit_2_and_list_every_problem(core: CoreClient, tmp_path: Path) -> None:
    bad = {
        "name": "bad",
        "steps": [
            {"id": "x", "tool": "lab.nope"},
            {"id": "y", "tool": "lab.echo", "arguments": {"txt": "hi"}},
        ],
    }
    result = run_cli("run", "-w", write(tmp_path / "bad.json", json.dumps(bad)), url=core.url)
    assert result.returncode == 2
    assert "problem(s) in the workflow" in result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert any("unknown tool lab.nope" in line for line in problems)
    assert any('no argument "txt"' in line for line in problems)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_a_422_lists_its_problems_by_field(core: CoreClient) -> None:
    # The API's own 422 (here: a task over its 20,000 characters): the field and message are printed.
    result = run_cli("run", "x" * 20_001, url=core.url)
    assert result.returncode == 2
    assert "problem(s) in the request" in result.stderr
    assert "  - task: String should have at most 20000 characters" in result.stderr


def test_usage_errors_exit_2_before_anything_is_sent(core: CoreClient, tmp_path: Path) -> None:
    missing = run_cli("run", "-w", str(tmp_path / "nope.json"), url=core.url)
    assert missing.returncode == 2 and "cannot read the workflow file" in missing.stderr
    broken = run_cli("run", "-w", write(tmp_path / "broken.json", "{not json"), url=core.url)
    assert broken.returncode == 2 and "is not valid JSON" in broken.stderr and "line 1" in broken.stderr
    on_task = run_cli("run", "echo", "--input", "a=1", url=core.url)
    assert on_task.returncode == 2 and "--input applies to a workflow" in on_task.stderr
    template = run_cli("run", "--template", "no_such_template", url=core.url)
    assert template.returncode == 2 and "weather_to_store" in template.stderr
    both = run_cli("run", "a task", "--workflow", "x.json", url=core.url)
    assert both.returncode == 2 and "not allowed with" in both.stderr  # argparse's own error
    for result in (missing, broken, on_task, template, both):
        assert "Traceback" not in result.stderr


def test_json_output_is_the_final_run_view(core: CoreClient, tmp_path: Path) -> None:
    path = write(tmp_path / "pipeline.json", json.dumps(PIPELINE))
    result = run_cli("run", "-w", path, "--json", url=core.url)
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["status"] == "succeeded"
    assert sorted(step["id"] for step in view["steps"]) == ["again", "hello", "slow_a", "slow_b"]
    assert view == core.run(view["id"]), "exactly what GET /api/runs/{id} returns"

    no_wait = run_cli("--json", "run", "-w", path, "--no-wait", url=core.url)
    accepted = json.loads(no_wait.stdout)
    assert no_wait.returncode == 0 and accepted["links"]["events"] == f"/api/runs/{accepted['id']}/events"

    refused = run_cli("run", "-w", write(tmp_path / "bad.json", '{"name": "b", "steps": []}'), "--json", url=core.url)
    assert refused.returncode == 2
    error = json.loads(refused.stdout)
    assert error["status"] == 400 and error["problems"], "errors too are one JSON document"


def test_no_wait_prints_only_the_id(core: CoreClient, tmp_path: Path) -> None:
    result = run_cli("run", "--workflow", "-", "--no-wait", url=core.url, stdin=FAILING_YAML)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.strip()
    assert len(run_id) == 32 and f"show {run_id} --follow" in result.stderr
    assert core.wait_for(run_id, {"failed"})["title"] == "failing"
    # show --follow watches it like run does, and exits with its outcome.
    followed = run_cli("show", run_id, "--follow", url=core.url)
    assert followed.returncode == 1
    assert "✗ broken" in followed.stdout and followed.stdout.splitlines()[-1].startswith("✗ failed")
