"""A running step's progress in the terminal: a line per journaled report in a pipe, the status line on a TTY."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.cli.narration import RunNarrator
from apps.cli.text import Style
from tests.apps.cli.conftest import run_cli, write
from tests.support.agent_core import CoreClient, run_agent_core
from tests.support.progress_server import run_progress_server


def event(seq: int, kind: str, **data: Any) -> dict[str, Any]:
    return {"seq": seq, "type": kind, "at": 1_700_000_000.0 + seq, "data": data}


STARTED = event(1, "step_started", step_id="copy", server="files", tool="copy", arguments={})


def test_a_pipe_gets_a_line_per_report_and_the_status_line_shows_the_last() -> None:
    narrator = RunNarrator("r1", Style(color=False, unicode=True), "python -m apps.cli")
    narrator.apply(STARTED)
    lines = narrator.apply(event(2, "step_progress", step_id="copy", progress=3, total=8, message="copying\x1b[2J b"))
    assert [line.text for line in lines] == ["· copy  files.copy  progress 3/8 (38%) · copying[2J b"]
    assert narrator.status().text == "running copy: files.copy (3/8 (38%) · copying[2J b)"
    [line] = narrator.apply(event(3, "step_progress", step_id="copy", progress=42.5))
    assert line.text == "· copy  files.copy  progress 42.5"


def test_a_terminal_gets_no_line_per_report_and_ascii_where_unicode_cannot_go() -> None:
    narrator = RunNarrator("r1", Style(color=False, unicode=False), "python -m apps.cli", show_starts=False)
    narrator.apply(STARTED)
    assert narrator.apply(event(2, "step_progress", step_id="copy", progress=1, total=4, message="one")) == []
    assert narrator.status().text == "running copy: files.copy (1/4 (25%) - one)"
    narrator.apply(event(3, "step_finished", step_id="copy", status="succeeded", result="ok", duration_ms=5))
    narrator.apply(event(4, "step_started", step_id="copy", server="files", tool="copy", attempt=2))
    assert narrator.status().text == "running copy: files.copy", "a new attempt starts without the old progress"


def test_a_report_for_a_step_not_running_is_ignored() -> None:
    narrator = RunNarrator("r1", Style(), "python -m apps.cli")
    assert narrator.apply(event(1, "step_progress", step_id="ghost", progress=1)) == []


@pytest.fixture(scope="module")
def ticker_core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreClient]:
    with run_progress_server() as ticker, run_agent_core({"ticker": ticker}, tmp_path_factory.mktemp("core")) as core:
        yield core


def test_run_prints_the_progress_of_a_long_step(ticker_core: CoreClient, tmp_path: Path) -> None:
    step = {"id": "long", "tool": "ticker.tick", "arguments": {"reports": 4, "interval": 0.4}, "timeout_seconds": 1}
    path = write(tmp_path / "long.json", json.dumps({"name": "long", "steps": [step]}))
    result = run_cli("run", "--workflow", path, url=ticker_core.url)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    progress = [line for line in lines if line.startswith("· long  ticker.tick  progress ")]
    assert progress[0] == "· long  ticker.tick  progress 1/4 (25%) · tick 1"
    assert progress[-1] == "· long  ticker.tick  progress 4/4 (100%) · tick 4"
    assert len(progress) <= 4
    started = next(i for i, line in enumerate(lines) if line.startswith("→ long"))
    finished = next(i for i, line in enumerate(lines) if line.startswith("✓ long"))
    assert started < lines.index(progress[0]) and lines.index(progress[-1]) < finished
