"""The command line as a user runs it: ``python -m apps.cli`` in its own process, against a real agent core.

One lab MCP server and one agent core (offline reasoner, SQLite in a temporary directory) serve a
module's tests; each test starts its own runs, so they do not depend on each other's.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.agent_core import CoreClient, run_agent_core
from tests.support.lab_server import LabState, run_lab_server
from tests.support.processes import ROOT

CLI_TIMEOUT = 30.0


def cli_env(url: str | None, **extra: str) -> dict[str, str]:
    """The test's environment without AGENTIC_* settings, pointed at ``url``; UTF-8 so symbols are stable."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AGENTIC_")}
    env.pop("NO_COLOR", None)
    env.update({"PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"})
    if url is not None:
        env["AGENTIC_URL"] = url
    env.update(extra)
    return env


def run_cli(
    *args: str, url: str | None, stdin: str | None = None, timeout: float = CLI_TIMEOUT, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apps.cli", *args],
        cwd=ROOT,
        env=cli_env(url, **env),
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Background:
    """A CLI process left running (``run`` watching a run), with its stdout read line by line."""

    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def wait_for_line(self, needle: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if needle in line:
                return line
        raise AssertionError(f"no line with {needle!r} in {self.seen!r}")

    def finish(self, timeout: float = 15.0) -> tuple[int, str, str]:
        """Wait for the exit; returns (code, all of stdout, stderr)."""
        code = self.process.wait(timeout=timeout)
        assert self.process.stderr is not None
        stderr = self.process.stderr.read()
        time.sleep(0.05)  # let the reader thread drain the last lines
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, "".join(self.seen), stderr


@pytest.fixture
def background(core: CoreClient) -> Iterator[Callable[..., Background]]:
    started: list[Background] = []

    def start(*args: str) -> Background:
        process = subprocess.Popen(
            [sys.executable, "-m", "apps.cli", *args],
            cwd=ROOT,
            env=cli_env(core.url),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        watched = Background(process)

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                watched.lines.put(line)

        threading.Thread(target=read, daemon=True).start()
        started.append(watched)
        return watched

    yield start
    for watched in started:
        if watched.process.poll() is None:
            watched.process.kill()
            watched.process.wait(timeout=5)


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[str, LabState]]:
    with run_lab_server() as served:
        yield served


@pytest.fixture(scope="module")
def core(lab: tuple[str, LabState], tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoreClient]:
    with run_agent_core({"lab": lab[0]}, tmp_path_factory.mktemp("core")) as client:
        yield client


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)
