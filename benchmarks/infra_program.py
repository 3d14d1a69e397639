"""Infrastructure program: wall time of the Pulumi program under mocks, and how many resources it declares.

Measured in a fresh process (``python -m benchmarks.infra_program --child``), as ``make plan`` runs it:
importing Pulumi and the providers, then the program in preview and in update mode. The baseline is
the same mocks and monitor registering the same number of bare custom resources, so the ratio is
what our program costs beyond Pulumi's own per-resource work.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.processes import ROOT, base_env
from benchmarks.results import Comparison, Plot

NAME = "infra_program"


def _bare_program(count: int) -> float:
    """Seconds to register ``count`` bare resources under the same mocks and monitor as the real program."""
    import asyncio

    import pulumi
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from infra.config import PROJECT
    from infra.offline import PlatformMocks, RecordingMonitor

    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi_settings.reset_options(project=PROJECT, stack="bench", preview=True)
    pulumi.runtime.set_all_config({}, [])
    mocks = PlatformMocks(preview=True, region="us-west-2")
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="bench", preview=True, monitor=monitor)

    def program() -> None:
        for index in range(count):
            pulumi.CustomResource("bench:index:Thing", f"thing-{index}", {"value": index})

    started = time.perf_counter()
    _sync_await(run_pulumi_func(program))
    seconds = time.perf_counter() - started
    if len(monitor.registrations) < count:
        raise RuntimeError(f"the bare program registered {len(monitor.registrations)} of {count} resources")
    return seconds


def child() -> dict[str, Any]:
    started = time.perf_counter()
    from infra.offline import run_program, stack_config

    imported = time.perf_counter() - started
    config = stack_config()
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    # The first run also imports the providers' modules (lazily, as `make plan` does); the third is warm.
    for mode in ("preview", "update", "preview_warm"):
        began = time.perf_counter()
        run = run_program(config, preview=mode != "update")
        timings[mode] = time.perf_counter() - began
        if run.error is not None:
            raise run.error
        counts["resources"] = sum(1 for r in run.resources if r.custom)
        counts["components"] = sum(1 for r in run.resources if not r.custom)
    bare = _bare_program(counts["resources"] + counts["components"])
    return {"import_s": imported, **{f"{mode}_s": value for mode, value in timings.items()}, **counts, "bare_s": bare}


def run(quick: bool, scratch: Path) -> Comparison:
    del quick, scratch  # one run of the program is already the smallest unit
    comparison = Comparison(NAME, "Infrastructure program under mocks", __doc__ or "")
    began = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.infra_program", "--child"],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    total = time.perf_counter() - began
    figures = json.loads(output.stdout.strip().splitlines()[-1])
    declared = figures["resources"] + figures["components"]
    comparison.add("our program", "preview (cold)", s=figures["preview_s"], resources=figures["resources"])
    comparison.add("our program", "update", s=figures["update_s"], resources=figures["resources"])
    comparison.add("our program", "preview (warm)", s=figures["preview_warm_s"], resources=figures["resources"])
    comparison.add("our program", "process (import + preview + update + baseline)", s=total)
    comparison.add("our program", "import", s=figures["import_s"])
    comparison.add("bare resources", "preview (warm)", s=figures["bare_s"], resources=declared)
    comparison.add("our program", "declared", resources=figures["resources"], components=figures["components"])
    comparison.compare("s", "s", "our program", "preview (warm)", "bare resources", better="lower")
    comparison.compare("s", "s", "our program", "preview (cold)", "bare resources", "preview (warm)", better="lower")
    comparison.compare("s", "s", "our program", "update", "bare resources", "preview (warm)", better="lower")
    comparison.notes.append(
        f"The program declares {figures['resources']} resources in {figures['components']} components "
        f"({declared} registrations); the cold preview includes importing the providers' modules."
    )
    comparison.plots.append(
        Plot(
            "infra_program.png",
            "Program wall time under mocks",
            "s",
            "s",
            scenarios=["preview (cold)", "update", "preview (warm)"],
        )
    )
    return comparison


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help="measure in this process and print JSON")
    if parser.parse_args().child:
        print(json.dumps(child()))
    else:
        print(json.dumps(run(False, Path(".")).to_json(), indent=2))
