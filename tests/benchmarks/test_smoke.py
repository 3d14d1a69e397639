"""The benchmark harness works: a quick run writes a report whose ratios come from its own figures.

No timing is asserted here (performance goals are reported by ``make bench``, not tested): these
tests check that the runner produces well-formed results, that every figure's value and baseline are
the measured samples they name, and that the ratio is their quotient.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.http_load import percentile
from benchmarks.report import markdown
from benchmarks.results import Comparison, ratio

ROOT = Path(__file__).resolve().parents[2]


def _sample(comparison: dict[str, Any], subject: str, scenario: str) -> dict[str, float]:
    matches = [s for s in comparison["samples"] if s["subject"] == subject and s["scenario"] == scenario]
    assert len(matches) == 1, f"{comparison['name']}: {len(matches)} samples for {subject!r} / {scenario!r}"
    return dict(matches[0]["values"])


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("bench")
    # The comparisons that need no agent core or cloud stand-in: MCP servers and the Pulumi program.
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--only",
            "mcp_servers",
            "--only",
            "infra_program",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads((out / "latest.json").read_text()), out


def test_quick_run_writes_json_report_and_plots(quick_results: tuple[dict[str, Any], Path]) -> None:
    results, out = quick_results
    assert results["quick"] is True
    assert results["failures"] == {}
    assert set(results["comparisons"]) == {"mcp_servers", "infra_program"}
    machine = results["machine"]
    for key in ("cpu_model", "cores", "ram_gb", "python", "kernel"):
        assert machine[key], key
    report = (out / "report.md").read_text()
    for comparison in results["comparisons"].values():
        assert comparison["samples"] and comparison["figures"]
        assert comparison["title"] in report
        for plot in comparison["plots"]:
            png = out / plot["file"]
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", plot["file"]
            assert f"]({plot['file']})" in report


def test_every_ratio_is_computed_from_the_samples_it_names(quick_results: tuple[dict[str, Any], Path]) -> None:
    results, _ = quick_results
    for comparison in results["comparisons"].values():
        for figure in comparison["figures"]:
            value = _sample(comparison, figure["subject"], figure["scenario"])[figure["metric"]]
            baseline = _sample(comparison, figure["baseline_subject"], figure["baseline_scenario"])[figure["metric"]]
            assert figure["value"] == value
            assert figure["baseline_value"] == baseline
            if baseline:
                assert figure["ratio"] == pytest.approx(value / baseline)
            else:
                assert figure["ratio"] is None


def test_mcp_comparison_measures_every_server_tool_and_concurrency(quick_results: tuple[dict[str, Any], Path]) -> None:
    results, _ = quick_results
    comparison = results["comparisons"]["mcp_servers"]
    for subject in ("kit", "sdk", "stdlib"):
        for tool in ("query", "wait"):
            for concurrency in (1, 16, 64):
                values = _sample(comparison, subject, f"{tool} c={concurrency}")
                assert values["requests"] > 0
                # Every server answers the same calls: an error here is a broken harness, not a slow server.
                assert values["errors"] == 0, (subject, tool, concurrency)
                assert values["p50_ms"] <= values["p99_ms"]
    goals = {goal["name"]: goal for goal in comparison["goals"]}
    headline = next(goal for name, goal in goals.items() if "20 ms tool" in name)
    kit = _sample(comparison, "kit", "wait c=16")["rps"]
    stdlib = _sample(comparison, "stdlib", "wait c=16")["rps"]
    assert headline["measured"] == pytest.approx(kit / stdlib)
    assert headline["met"] == (headline["measured"] >= 10)


def test_infra_comparison_counts_the_programs_resources(quick_results: tuple[dict[str, Any], Path]) -> None:
    results, _ = quick_results
    declared = _sample(results["comparisons"]["infra_program"], "our program", "declared")
    assert declared["resources"] > 50
    assert declared["components"] > 0


def test_ratio_and_goal_arithmetic() -> None:
    comparison = Comparison("unit", "Unit", "")
    comparison.add("ours", "s", rps=300.0)
    comparison.add("theirs", "s", rps=100.0)
    comparison.add("nothing", "s", rps=0.0)
    assert comparison.compare("rps", "calls/s", "ours", "s", "theirs").ratio == pytest.approx(3.0)
    assert comparison.compare("rps", "calls/s", "ours", "s", "nothing").ratio is None
    assert comparison.goal("at least 10x", 3.0, ">=", 10, "x").met is False
    assert comparison.goal("at most 2 ms", 1.5, "<=", 2, "ms").met is True
    assert comparison.goal("exactly one", 1.0, "==", 1, "requests").met is True
    assert comparison.goal("unmeasured", math.nan, "<=", 2, "ms").met is False
    assert ratio(math.inf, 1.0) is None
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 99) == 5.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(KeyError):
        comparison.compare("rps", "calls/s", "ours", "s", "missing")


def test_report_marks_missed_goals_and_serialises_unmeasured_figures_as_null() -> None:
    comparison = Comparison("unit", "Unit comparison", "What it measures.")
    comparison.add("ours", "s", ms=math.nan)
    comparison.add("base", "s", ms=2.0)
    comparison.compare("ms", "ms", "ours", "s", "base", better="lower")
    comparison.goal("fast enough", 3.0, "<=", 2.0, "ms")
    document = comparison.to_json()
    assert json.loads(json.dumps(document, allow_nan=False))["figures"][0]["value"] is None
    results = {
        "started_at": "2025-01-01T00:00:00+00:00",
        "seconds": 1.0,
        "quick": True,
        "machine": {
            "cpu_model": "cpu",
            "cores": 2,
            "ram_gb": 1.0,
            "python": "3.11",
            "implementation": "CPython",
            "kernel": "6",
        },
        "comparisons": {"unit": document},
        "failures": {},
    }
    text = markdown(results)
    assert "| fast enough | 3 ms | <= 2 ms | **missed** |" in text
    assert "n/a" in text
