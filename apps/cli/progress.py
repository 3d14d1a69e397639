"""Showing a run's progress: a live status line on a terminal, plain lines anywhere else.

On a terminal, a background thread redraws the status line (spinner, what is running, elapsed time)
ten times a second; finished steps are printed above it. The thread only reads an immutable
``Status`` the main thread replaces, and every write to the terminal holds one lock.
"""

from __future__ import annotations

import shutil
import threading
import time
from typing import Protocol

from apps.cli.narration import Line, Status
from apps.cli.output import Output
from apps.cli.text import duration, shorten, until

TICK_SECONDS = 0.1
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_SPINNER = "|/-\\"
CLEAR_LINE = "\r\x1b[2K"


class Progress(Protocol):
    def show(self, lines: list[Line], status: Status) -> None:
        """Print ``lines`` and make ``status`` the current one (after an event)."""
        ...

    def close(self) -> None: ...


class PlainProgress:
    """One line per event, no control characters: for pipes, files and CI logs."""

    def __init__(self, out: Output) -> None:
        self.out = out

    def show(self, lines: list[Line], status: Status) -> None:
        for line in lines:
            self.out.say(line.text)

    def close(self) -> None:
        return None


class QuietProgress:
    """``--json``: stdout is reserved for the result; only what needs a person goes to stderr."""

    def __init__(self, out: Output) -> None:
        self.out = out

    def show(self, lines: list[Line], status: Status) -> None:
        for line in lines:
            if line.notice:
                self.out.note(line.text)

    def close(self) -> None:
        return None


class LiveProgress:
    """The terminal display: lines scroll up, the status line stays at the bottom and keeps moving."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self._status = Status("connecting to the event stream")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._frames = SPINNER if out.style.unicode else ASCII_SPINNER
        self._frame = 0
        self._thread = threading.Thread(target=self._tick, name="cli-progress", daemon=True)
        self._thread.start()

    def show(self, lines: list[Line], status: Status) -> None:
        with self._lock:
            self._status = status
            for line in lines:
                self.out.stdout.write(CLEAR_LINE + line.text + "\n")
            self._draw()

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=1)
        # Bounded: after a Ctrl-C at an unlucky moment, leaving a status line beats hanging.
        if self._lock.acquire(timeout=1):
            try:
                self.out.stdout.write(CLEAR_LINE)
                self.out.stdout.flush()
            finally:
                self._lock.release()

    def _tick(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            with self._lock:
                self._frame += 1
                self._draw()

    def _draw(self) -> None:
        # Called with the lock held; the status line is cut to the width so it never wraps (a wrapped
        # line cannot be cleared with one carriage return).
        if self._stop.is_set():
            return
        status = self._status
        style = self.out.style
        mark = (
            style.paint(style.symbol("pause"), "yellow")
            if status.paused
            else self._frames[self._frame % len(self._frames)]
        )
        timing = ""
        if status.expires_at is not None:
            timing = f" (expires in {until(status.expires_at)})"
        elif status.since is not None:
            timing = f" ({duration((time.time() - status.since) * 1000)})"
        width = shutil.get_terminal_size((100, 24)).columns
        text = shorten(status.text + timing, max(10, width - 3), style.ellipsis)
        self.out.stdout.write(f"{CLEAR_LINE}{mark} {text}")
        self.out.stdout.flush()


def make_progress(out: Output) -> Progress:
    if out.json_mode:
        return QuietProgress(out)
    return LiveProgress(out) if out.is_tty else PlainProgress(out)
