"""What the fake model endpoints share: a queue of scripted answers and a record of every request."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

CallT = TypeVar("CallT")
StepT = TypeVar("StepT")


@dataclass
class ScriptedEndpoint(Generic[CallT, StepT]):
    base_url: str
    strict: bool = True
    """Refuse malformed conversations as the real service would."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _calls: list[CallT] = field(default_factory=list)
    _script: deque[StepT] = field(default_factory=deque)

    @property
    def calls(self) -> list[CallT]:
        """Every request received, in order, including those answered with a fault."""
        with self._lock:
            return list(self._calls)

    @property
    def pending(self) -> int:
        """Scripted steps not yet used."""
        with self._lock:
            return len(self._script)

    def script(self, *steps: StepT) -> None:
        """Queue answers for the next requests, in order, after any already queued."""
        with self._lock:
            self._script.extend(steps)

    def clear(self) -> None:
        """Forget the calls and the script; ``strict`` goes back on."""
        with self._lock:
            self._calls.clear()
            self._script.clear()
            self.strict = True
