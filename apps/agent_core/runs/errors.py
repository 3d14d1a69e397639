"""What the run service refuses, and why; the API maps each to its HTTP status (``api/http.py``)."""

from __future__ import annotations


class RunRequestError(Exception):
    """The request cannot become a run; ``problems`` lists every reason (HTTP 400)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class ConflictError(Exception):
    """The run is not in a state that allows this (HTTP 409); the message says why."""


class GoneError(Exception):
    """What was asked for has expired (HTTP 410)."""


class DrainingError(Exception):
    """This replica is shutting down and takes no new runs (HTTP 503); another replica will."""
