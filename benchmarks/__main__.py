"""``python -m benchmarks [--quick] [--only NAME ...] [--out DIR]``: every comparison, in one run.

Writes ``latest.json`` (machine, samples, figures, goals), ``report.md`` and one PNG per plot to
``--out`` (``benchmarks/results`` by default). ``--quick`` sends a handful of requests per scenario:
a smoke run that proves the harness works, in seconds; its figures mean nothing.
Exit status: 0 when every comparison ran (whether or not its goals were met), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import (
    core_overhead,
    core_parallel,
    core_throughput,
    infra_program,
    mcp_endpoint,
    mcp_servers,
    planner,
    services,
    sql_sandbox,
    store,
)
from benchmarks.machine import describe
from benchmarks.report import markdown, plots
from benchmarks.results import Comparison

COMPARISONS: dict[str, Callable[[bool, Path], Comparison]] = {
    mcp_servers.NAME: mcp_servers.run,
    mcp_endpoint.NAME: mcp_endpoint.run,
    core_overhead.NAME: core_overhead.run,
    core_parallel.NAME: core_parallel.run,
    core_throughput.NAME: core_throughput.run,
    services.NAME: services.run,
    store.NAME: store.run,
    sql_sandbox.NAME: sql_sandbox.run,
    planner.NAME: planner.run,
    infra_program.NAME: infra_program.run,
}
RESULTS = Path(__file__).resolve().parent / "results"


def run_all(names: list[str], quick: bool, out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "machine": describe(),
        "comparisons": {},
        "failures": {},
    }
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        began = time.perf_counter()
        try:
            with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as scratch:
                comparison = COMPARISONS[name](quick, Path(scratch))
        except Exception as exc:  # one broken comparison must not lose the others' figures
            traceback.print_exc()
            results["failures"][name] = f"{type(exc).__name__}: {str(exc)[:500]}"
            continue
        comparison.seconds = time.perf_counter() - began
        results["comparisons"][name] = comparison.to_json()
        for goal in comparison.goals:
            print(
                f"   {'met   ' if goal.met else 'MISSED'} {goal.name}: {goal.measured:.4g} {goal.unit}", file=sys.stderr
            )
    results["seconds"] = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    plots(results, out)
    (out / "report.md").write_text(markdown(results))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few requests per scenario: a smoke run")
    parser.add_argument("--only", action="append", choices=sorted(COMPARISONS), help="run only this comparison")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write latest.json, report.md, *.png")
    args = parser.parse_args(argv)
    names = args.only or list(COMPARISONS)
    results = run_all(names, args.quick, args.out)
    print(f"wrote {args.out / 'report.md'} in {results['seconds']:.0f} s", file=sys.stderr)
    return 1 if results["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
