"""The SQL sandbox comparison runs in quick mode and reports what it measured, nothing typed in.

No timing is asserted (``make bench`` reports goals): the test checks that both paths answered every
query, and that the goal's figure is the difference of the two measured p50s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_quick_sql_sandbox_comparison(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "sql_sandbox", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads((tmp_path / "latest.json").read_text())
    comparison = results["comparisons"]["sql_sandbox"]
    samples = {(s["subject"], s["scenario"]): s["values"] for s in comparison["samples"]}
    for concurrency in (1, 4):
        for subject in ("in-thread (old path)", "worker process (sandbox)"):
            values = samples[(subject, f"small query c={concurrency}")]
            assert values["queries"] >= 20 and values["p50_ms"] <= values["p99_ms"]
    assert samples[("worker process (sandbox)", "pool start (2 workers)")]["seconds"] > 0
    assert samples[("worker process (sandbox)", "one more worker")]["ms"] > 0
    (goal,) = comparison["goals"]
    pool = samples[("worker process (sandbox)", "small query c=1")]["p50_ms"]
    thread = samples[("in-thread (old path)", "small query c=1")]["p50_ms"]
    assert goal["measured"] == pytest.approx(pool - thread)
    assert (tmp_path / "sql_sandbox_latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
