"""Configuration read once, at start, from ``AGENTIC_*`` environment variables.

Each service has one frozen settings class. ``load_settings`` turns pydantic's validation errors
into one message that names every offending variable, so a bad deployment fails at start with
the fix in the first line of its log instead of failing at the first request.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "AGENTIC_"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
CommaList = Annotated[tuple[str, ...], NoDecode]


class ConfigurationError(ValueError):
    """The environment does not describe a valid configuration; the message names the variables."""


def env_name(field: str) -> str:
    """The environment variable that sets a settings field: ``max_body_bytes`` → ``AGENTIC_MAX_BODY_BYTES``."""
    return ENV_PREFIX + field.upper()


class ServiceSettings(BaseSettings):
    """What every service reads: logging and the request-size limit.

    Each field's docstring is its description (``use_attribute_docstrings``): the README's configuration
    tables are generated from it (``make docs``), so the meaning of a variable is written once, here.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore", use_attribute_docstrings=True)

    log_level: LogLevel = "INFO"
    """Least severe level logged; logs are JSON lines on stderr, one per tool call on an MCP server."""
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    """Largest request body accepted; a larger one gets 413."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def start_warnings(self, environ: Mapping[str, str]) -> list[str]:
        """Variables in ``environ`` that this service will not read as their setter may expect, to log at start."""
        return []


def split_comma_list(value: object) -> object:
    """``a, b,,c`` → ``("a", "b", "c")``: lists in the environment are comma-separated."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


class McpServerSettings(ServiceSettings):
    """What every MCP server reads, on top of the service basics."""

    mcp_token: SecretStr | None = None
    """Bearer token required on ``/mcp`` when set (compared in constant time)."""
    mcp_token_file: Path | None = None
    """A file holding that token, such as a mounted secret; set this or ``AGENTIC_MCP_TOKEN``, not both."""
    allowed_hosts: CommaList = ()
    """Extra ``Host`` values accepted on ``/mcp``, beyond loopback and this server's Service names."""
    allowed_origins: CommaList = ()
    """Browser origins accepted on ``/mcp``, beyond loopback; other callers send no ``Origin``."""
    namespace: str = Field(default="agentic", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    """The Kubernetes namespace of this server's Service, for its cluster DNS names."""
    tool_timeout_seconds: float = Field(default=30.0, gt=0, le=900)
    """How long a tool may run, unless it sets its own; past it the call returns an error result naming the
    timeout. The agent core's wait for a step's call is ``AGENTIC_STEP_TIMEOUT_SECONDS``."""
    max_result_bytes: int = Field(default=100_000, ge=4096, le=10 * 1024 * 1024)
    """Largest tool result sent; a larger one is cut to a valid smaller result, with a note saying what was left
    out. The agent core's own limit is ``AGENTIC_STORED_RESULT_BYTES``."""

    _split_hosts = field_validator("allowed_hosts", "allowed_origins", mode="before")(split_comma_list)

    def bearer_token(self) -> str | None:
        """The token from the environment or its file; read here, once, and never logged."""
        if self.mcp_token is not None and self.mcp_token_file is not None:
            raise ConfigurationError(f"set only one of {ENV_PREFIX}MCP_TOKEN and {ENV_PREFIX}MCP_TOKEN_FILE")
        if self.mcp_token_file is not None:
            try:
                token = self.mcp_token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigurationError(
                    f"{ENV_PREFIX}MCP_TOKEN_FILE: cannot read {self.mcp_token_file}: {exc.strerror}"
                ) from exc
            if not token:
                raise ConfigurationError(f"{ENV_PREFIX}MCP_TOKEN_FILE: {self.mcp_token_file} is empty")
            return token
        if self.mcp_token is not None:
            token = self.mcp_token.get_secret_value().strip()
            if not token:
                raise ConfigurationError(f"{ENV_PREFIX}MCP_TOKEN is set but empty")
            return token
        return None


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings(settings_class: type[SettingsT]) -> SettingsT:
    """Read ``settings_class`` from the environment, or raise ``ConfigurationError`` naming each bad variable."""
    try:
        return settings_class()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            problems.append(f"{env_name(field)}: {error['msg']}")
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None
