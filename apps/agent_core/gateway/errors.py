"""What can go wrong between the gateway and an MCP server, written down once.

::

    McpServerError          the request produced no tool result; ``server``, ``attempts``
    ├── ServerUnavailable   the server or the path to it is down: connection refused or timed out,
    │                       HTTP 502/503/504, the connection dropped. Transient: may be retried,
    │                       and counts against the server's circuit breaker.
    ├── CircuitOpen         refused without sending anything: the breaker is open after repeated
    │                       ``ServerUnavailable``.
    ├── CallTimedOut        no answer within the call's timeout; the tool may still be running.
    └── ServerRejected      the server answered, but not with a result: another HTTP error status,
        │                   a JSON-RPC error, a result that breaks the tool's output schema.
        └── ProtocolMismatch  the server speaks no MCP revision this client does. Like every
                            rejection, it proves the server is up: it never opens the breaker.

A tool's own failure (an ``isError`` result) is not an exception: it is a result the model reads.
The gateway turns every one of these into a ``ToolOutcome`` with ``ok=False`` and ``str(error)``
as its message, so messages are written for the model and the operator alike.
"""

from __future__ import annotations

from typing import Literal

FailureKind = Literal["unreachable", "circuit_open", "timeout", "rejected", "protocol_mismatch"]


class McpServerError(Exception):
    """The request to one MCP server produced no tool result."""

    kind: FailureKind = "rejected"
    """What health and catalog reports call it."""

    def __init__(self, server: str, detail: str, *, attempts: int = 1) -> None:
        super().__init__(detail)
        self.server = server
        self.detail = detail
        self.attempts = attempts
        """How many requests were sent; set by the retry loop when it gives up."""
        self.note: str | None = None
        """Appended to the message, e.g. that the circuit is now open."""

    def describe(self) -> str:
        return f"{self.server} MCP server: {self.detail}"

    def __str__(self) -> str:
        message = self.describe()
        if self.attempts > 1:
            message += f" after {self.attempts} attempts"
        if self.note:
            message += f"; {self.note}"
        return message


class ServerUnavailable(McpServerError):
    """Transient: the server could not be reached, or a proxy in front of it answered 502/503/504."""

    kind: FailureKind = "unreachable"

    def __init__(self, server: str, detail: str, *, reached: bool, counts_against_server: bool = True) -> None:
        super().__init__(server, detail)
        self.reached = reached
        """False only when the request provably never reached the tool (so resending it is always safe)."""
        self.counts_against_server = counts_against_server
        """False for local causes (our own connection pool exhausted): they must not open the breaker."""

    def describe(self) -> str:
        return f"{self.server} MCP server is unreachable ({self.detail})"


class CircuitOpen(McpServerError):
    """Failed fast: the breaker is open, so no request was sent."""

    kind: FailureKind = "circuit_open"

    def __init__(self, server: str, retry_after: float, last_failure: str | None) -> None:
        cause = f"; last failure: {last_failure}" if last_failure else ""
        super().__init__(server, f"next attempt in {retry_after:.1f} s{cause}", attempts=0)
        self.retry_after = retry_after

    def describe(self) -> str:
        return f"{self.server} MCP server is unavailable: circuit open after repeated failures, {self.detail}"


class CallTimedOut(McpServerError):
    """The call's timeout passed; the request may have reached the tool, which may still be running."""

    kind: FailureKind = "timeout"

    def __init__(self, server: str, timeout: float, *, attempts: int) -> None:
        super().__init__(server, f"no answer within {timeout:g} s", attempts=attempts)

    def describe(self) -> str:
        return f"{self.server} MCP server gave {self.detail}; the tool may still be running"


class ServerRejected(McpServerError):
    """The server is up and answered, but with an error instead of a result."""

    def __init__(self, server: str, detail: str, *, unknown_tool: bool = False) -> None:
        super().__init__(server, detail)
        self.unknown_tool = unknown_tool

    def describe(self) -> str:
        return f"{self.server} MCP server rejected the request: {self.detail}"


class ProtocolMismatch(ServerRejected):
    """The server answered, but no MCP protocol revision is spoken by both sides."""

    kind: FailureKind = "protocol_mismatch"

    def describe(self) -> str:
        return f"{self.server} MCP server: protocol mismatch, no MCP revision in common ({self.detail})"
