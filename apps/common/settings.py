"""Configuration read once, at start, from ``AGENTIC_*`` environment variables.

Each service has one frozen settings class. ``load_settings`` turns pydantic's validation errors
into one message that names every offending variable, so a bad deployment fails at start with
the fix in the first line of its log instead of failing at the first request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "AGENTIC_"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
CommaList = Annotated[tuple[str, ...], NoDecode]


class ConfigurationError(ValueError):
    """The environment does not describe a valid configuration; the message names the variables."""


class ServiceSettings(BaseSettings):
    """What every service reads: logging and the request-size limit."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    log_level: LogLevel = "INFO"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def split_comma_list(value: object) -> object:
    """``a, b,,c`` → ``("a", "b", "c")``: lists in the environment are comma-separated."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


class McpServerSettings(ServiceSettings):
    """What every MCP server reads, on top of the service basics."""

    mcp_token: SecretStr | None = None
    """Bearer token required on /mcp when set; ``AGENTIC_MCP_TOKEN_FILE`` reads it from a mounted secret."""
    mcp_token_file: Path | None = None
    allowed_hosts: CommaList = ()
    """Extra Host header values accepted on /mcp, beyond loopback and this server's Service names."""
    allowed_origins: CommaList = ()
    namespace: str = Field(default="agentic", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    """The Kubernetes namespace of this server's Service, for its cluster DNS names."""
    tool_timeout_seconds: float = Field(default=30.0, gt=0, le=900)
    max_result_bytes: int = Field(default=100_000, ge=4096, le=10 * 1024 * 1024)

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
            problems.append(f"{ENV_PREFIX}{field.upper()}: {error['msg']}")
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None
