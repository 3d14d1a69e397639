"""Configuration of the agent core (``AGENTIC_*`` variables, plus boto3's own ``AWS_*``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from apps.common.settings import CommaList, ServiceSettings, env_name, split_comma_list

LOCAL_MCP_SERVERS = (
    "aws=http://127.0.0.1:8001/mcp,database=http://127.0.0.1:8002/mcp,"
    "custom=http://127.0.0.1:8003/mcp,kubernetes=http://127.0.0.1:8004/mcp"
)

SERVER_ONLY_LIMITS = {"tool_timeout_seconds": "step_timeout_seconds", "max_result_bytes": "stored_result_bytes"}
"""An MCP server's limit → the agent core's own. The agent core once read both under the servers' names, with
other defaults; those names now configure the servers only."""


class AgentCoreSettings(ServiceSettings):
    """What the agent core reads; the field docstrings are the README's configuration table (``make docs``)."""

    mcp_servers: str = LOCAL_MCP_SERVERS
    """``name=url,…``: the platform's own MCP servers, whose tools the agent core may call. The default (the four
    local servers) applies only when ``AGENTIC_MCP_SERVERS_FILE`` is not set either."""
    mcp_servers_file: Path | None = None
    """JSON or YAML ``{"mcpServers": {name: entry}}``, as MCP clients write it: further servers, remote (``url``,
    ``headers``) or stdio (``command``, ``args``, ``env``, ``cwd``), values may use ``${NAME}``; each is sent only
    the headers its entry names. A name also in ``AGENTIC_MCP_SERVERS`` is an error."""
    mcp_token: SecretStr | None = None
    """Bearer token sent to the ``AGENTIC_MCP_SERVERS`` servers, when they require one; never to the file's (an
    entry may send it by naming ``${AGENTIC_MCP_TOKEN}`` in a header)."""

    reasoner: Literal["auto", "bedrock", "openai", "offline"] = "auto"
    """``auto``: Bedrock if a model id is set, else an OpenAI-compatible endpoint if set, else a local one
    found on ``AGENTIC_LOCAL_MODEL_PORTS`` (Ollama, LM Studio), else offline."""
    bedrock_model_id: str | None = None
    """A Bedrock model or inference-profile id, e.g. ``us.anthropic.claude-haiku-4-5-20251001-v1:0``. None is built
    in: models reach end of life on Bedrock, and without one ``auto`` falls back to the offline reasoner."""
    openai_base_url: str | None = None
    """An OpenAI-compatible endpoint, e.g. ``http://127.0.0.1:11434/v1`` for Ollama."""
    openai_model: str | None = None
    """The model to ask at ``AGENTIC_OPENAI_BASE_URL``, e.g. ``llama3.1``."""
    openai_api_key: SecretStr | None = None
    """Sent as a bearer token to ``AGENTIC_OPENAI_BASE_URL``, if the endpoint needs one."""
    local_model_ports: Annotated[tuple[int, ...], NoDecode] = (11434, 1234)
    """Loopback ports where ``auto`` looks for an OpenAI-compatible server (``GET /v1/models``); empty: none."""
    max_turns: int = Field(default=12, ge=1, le=100)
    """Model turns one task run may take; past them the run stops, saying so."""
    max_run_tokens: int = Field(default=200_000, ge=1000, le=10_000_000)
    """Model tokens (input and output) one task run may use; past them the run stops, saying so."""

    state: str = "sqlite:///var/agent-core.db"
    """``sqlite:///path`` (one machine) or ``dynamodb://table`` (shared by every replica)."""
    replica_id: str | None = Field(default=None, min_length=1, max_length=200)
    """This replica's name in run leases; default: host name (the pod's name) and process id."""
    lease_seconds: float = Field(default=15.0, ge=2, le=600)
    """A run's lease: how long a dead replica's runs wait before another replica resumes them."""
    recovery_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    """How often a replica looks for runs whose lease has expired, to take them over."""
    drain_seconds: float = Field(default=20.0, ge=0, le=600)
    """On SIGTERM, how long runs get to reach a step boundary and be handed off before they are cut off."""
    max_resumes: int = Field(default=3, ge=1, le=100)
    """Takeovers of a run (its replica stopped or stalled past the lease) with no step finished or model turn
    in between, after which the run is failed instead of being resumed again."""

    api_keys_file: Path | None = None
    """JSON or YAML list of ``{name, roles, sha256}``: keys are stored hashed, never in clear."""
    api_keys: SecretStr | None = None
    """The same list inline, as JSON; for environments without a mounted secret file."""
    cors_origins: CommaList = ()
    """Browser origins allowed to call the API from another origin; ``*`` is refused."""
    dashboard_dir: Path | None = None
    """Serve the dashboard's static files at ``/`` (one machine); in the cluster nginx serves them."""

    notify: SecretStr | None = None
    """Notification sinks that schedules and alert rules may name: ``name=kind:target,…``, ``kind`` ``slack`` (a
    Slack-compatible incoming webhook) or ``webhook`` (generic JSON), ``target`` ``${VAR}``, ``file:/path`` or the
    URL (https; http only to a loopback host), e.g. ``oncall=slack:${SLACK_WEBHOOK_URL}``. See Notifications."""
    triggers_file: Path | None = None
    """YAML or JSON ``{"rules": [...]}``: alert rules mapping Alertmanager's alerts (``POST
    /api/triggers/alertmanager``) to workflows, besides the built-in ones. See Alert triggers."""
    dashboard_url: str | None = None
    """The dashboard's address as people open it, e.g. ``https://agentic.example.com``: notifications link to
    ``<it>/#/runs/<id>``; without it they carry no link."""

    approval_ttl_seconds: int = Field(default=900, ge=1, le=7 * 86_400)
    """How long a pending approval can be decided; after it the approval expires."""
    mcp_approval_wait_seconds: float = Field(default=60.0, ge=0, le=900)
    """How long a call to the MCP endpoint (``/api/mcp``) waits, in all, for people to decide its run's approvals,
    sending progress while it waits; past it the call answers that the run waits, and where to decide it."""
    mcp_run_wait_seconds: float = Field(default=300.0, gt=0, le=3600)
    """How long a call to the MCP endpoint waits for its run to finish (approval waits not counted); past it the
    call answers with the run's id, and the run goes on."""
    require_approval: CommaList = ()
    """``server.tool`` names that need approval even though they are not annotated destructive."""
    auto_approve: CommaList = ()
    """``server.tool`` names approved without asking: only for trusted deployments."""
    step_timeout_seconds: float = Field(default=60.0, gt=0, le=900)
    """How long a step waits for its tool call's answer, unless its workflow step sets ``timeout_seconds`` (or else
    its server's entry in ``AGENTIC_MCP_SERVERS_FILE`` does); the step then fails, naming the timeout. A tool that
    reports progress moves this deadline on with each report, up to ``AGENTIC_STEP_MAX_SECONDS``. Not
    ``AGENTIC_TOOL_TIMEOUT_SECONDS``: that one is the MCP servers'."""
    step_max_seconds: float = Field(default=900.0, gt=0, le=86_400)
    """The hard limit on a step's tool call that keeps reporting progress: each report gives it the step's
    timeout again from then, but never past this many seconds after it began (nor less than the step's own
    timeout). A tool that reports no progress still fails at its timeout."""
    catalog_ttl_seconds: float = Field(default=60.0, ge=0, le=3600)
    """How long each server's tool list is cached before it is listed again; 0: before every use."""
    breaker_failures: int = Field(default=3, ge=1, le=100)
    """Consecutive failures to reach an MCP server before its circuit opens and calls fail fast."""
    breaker_reset_seconds: float = Field(default=10.0, gt=0, le=600)
    """How long a circuit stays open before one probe call is let through."""
    stored_result_bytes: int = Field(default=64_000, ge=1024, le=300_000)
    """The most of one step's result the journal keeps (its items must stay small); a larger result is kept as its
    size and a preview, while the model is handed the result itself. Not ``AGENTIC_MAX_RESULT_BYTES``: that one is
    the MCP servers'."""

    _split = field_validator("cors_origins", "require_approval", "auto_approve", "local_model_ports", mode="before")(
        split_comma_list
    )

    @field_validator("local_model_ports")
    @classmethod
    def _ports(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [str(port) for port in value if not 1 <= port <= 65535]
        if bad:
            raise ValueError(f"ports must be 1 to 65535: {', '.join(bad)}")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "*" in value:
            raise ValueError("'*' is not allowed: list the dashboard's origins")
        bad = [origin for origin in value if not origin.startswith(("http://", "https://"))]
        if bad:
            raise ValueError(f"origins must start with http:// or https://: {', '.join(bad)}")
        return value

    @field_validator("dashboard_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("require_approval", "auto_approve")
    @classmethod
    def _qualified_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in value if name.count(".") != 1]
        if bad:
            raise ValueError(f"tool names must be written server.tool: {', '.join(bad)}")
        return value

    def start_warnings(self, environ: Mapping[str, str]) -> list[str]:
        """A server-only limit set without the agent core's own name was most likely meant for the agent core; and
        notifications without the dashboard's address cannot link to their run."""
        present = {name.upper() for name in environ}
        unlinked = (
            ["AGENTIC_NOTIFY is set but AGENTIC_DASHBOARD_URL is not: notifications will carry no link to the run"]
            if self.notify is not None and self.dashboard_url is None
            else []
        )
        return unlinked + [
            f"{env_name(server)} is set but configures the MCP servers only; the agent core reads "
            f"{env_name(own)} (using {getattr(self, own):g})"
            for server, own in SERVER_ONLY_LIMITS.items()
            if env_name(server) in present and env_name(own) not in present
        ]

    def listed_mcp_servers(self) -> str | None:
        """``AGENTIC_MCP_SERVERS`` as set, or its default when the servers file is not set either; else ``None``."""
        if "mcp_servers" in self.model_fields_set or self.mcp_servers_file is None:
            return self.mcp_servers
        return None

    def reasoner_kind(self) -> Literal["auto", "bedrock", "openai", "offline"]:
        """The configured kind; ``auto`` only when nothing is configured (the factory then looks for a local model)."""
        if self.reasoner != "auto":
            return self.reasoner
        if self.bedrock_model_id:
            return "bedrock"
        return "openai" if self.openai_base_url else "auto"
