"""The planner comparison runs in quick mode and reports what it measured, nothing typed in.

No timing is asserted (``make bench`` reports the 5 ms goal): the test checks that every corpus
task was planned and timed, that the score is the share of tasks passed, and that the goals carry
the measured figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_quick_planner_comparison(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "planner", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    comparison = json.loads((tmp_path / "latest.json").read_text())["comparisons"]["planner"]
    samples = {(s["subject"], s["scenario"]): s["values"] for s in comparison["samples"]}
    tasks = len(yaml.safe_load((ROOT / "tests" / "fixtures" / "planner_tasks.yaml").read_text())["tasks"])
    corpus = samples[("offline planner", "corpus")]
    assert corpus["tasks"] == tasks
    assert corpus["score_pct"] == pytest.approx(100 * corpus["passed"] / tasks)
    timing = samples[("offline planner", "plan time")]
    assert timing["plans"] == 3 * tasks
    assert 0 < timing["p50_ms"] <= timing["p99_ms"]
    goals = {goal["name"]: goal for goal in comparison["goals"]}
    assert goals["corpus tasks planned as written"]["measured"] == pytest.approx(corpus["score_pct"])
    assert goals["plan time on the default catalog (p99)"]["measured"] == pytest.approx(timing["p99_ms"])
    assert (tmp_path / "planner_plan_time.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
