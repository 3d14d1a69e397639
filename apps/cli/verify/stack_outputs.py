"""Reading what ``pulumi up`` exported (``pulumi stack output --json --show-secrets``) for ``verify``.

Reading the outputs from a file or stdin keeps the API key off the command line (where ``ps`` shows it)
and out of the environment. The kubeconfig output is written to a private temporary file only while
``verify`` runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from apps.cli.errors import UsageError

HIDDEN_SECRET = "[secret]"  # noqa: S105 - the placeholder pulumi prints, not a secret
"""What ``pulumi stack output --json`` prints for a secret without ``--show-secrets``."""
MAX_OUTPUTS_BYTES = 5_000_000


class StackOutputs(BaseModel):
    """The outputs ``verify`` uses; the stack exports more (infra/__main__.py)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    dashboard_url: str = Field(alias="dashboardUrl", min_length=1)
    api_key: str = Field(alias="apiKey", min_length=1)
    kubeconfig: str | dict[str, Any] | None = None

    def kubeconfig_text(self) -> str | None:
        if self.kubeconfig is None:
            return None
        return self.kubeconfig if isinstance(self.kubeconfig, str) else json.dumps(self.kubeconfig)


def read_stack_outputs(source: str, stdin: IO[str]) -> StackOutputs:
    """The outputs from ``source`` (a path, or ``-`` for stdin); ``UsageError`` saying what is wrong."""
    try:
        text = stdin.read(MAX_OUTPUTS_BYTES) if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the stack outputs from {source}: {exc}") from None
    if not text.strip():
        raise UsageError(
            f"no stack outputs in {'stdin' if source == '-' else source}: pipe in "
            "'pulumi stack output --json --show-secrets' (has pulumi up run?)"
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"the stack outputs are not JSON ({exc.msg}); use 'pulumi stack output --json'") from None
    if isinstance(document, dict) and HIDDEN_SECRET in (document.get("apiKey"), document.get("kubeconfig")):
        raise UsageError("the stack outputs hide their secrets: run 'pulumi stack output --json --show-secrets'")
    try:
        return StackOutputs.model_validate(document)
    except ValidationError as exc:
        missing = ", ".join(str(error["loc"][0]) for error in exc.errors() if error["loc"]) or "the outputs"
        raise UsageError(f"the stack outputs lack {missing}: has pulumi up finished?") from None


@contextlib.contextmanager
def private_file(text: str | None, prefix: str) -> Iterator[str | None]:
    """``text`` in a file only this user can read (mkstemp's 0600), removed on the way out; None stays None."""
    if text is None:
        yield None
        return
    descriptor, path = tempfile.mkstemp(prefix=prefix)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
