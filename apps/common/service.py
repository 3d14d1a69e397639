"""Running a service: ``python -m apps.<name> [--host H] [--port P]``, also ``HOST``/``PORT``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from starlette.applications import Starlette

from apps.common.logging import configure_logging
from apps.common.settings import ConfigurationError, ServiceSettings, load_settings

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
GRACE_SECONDS = 10
"""How long uvicorn waits for in-flight requests at shutdown; the pods' termination grace must exceed it."""
KEEP_ALIVE_SECONDS = 310
"""How long an idle connection stays open. A client that pools connections (the ALB keeps them 300 s,
infra/ingress.py) must give up on one before the server does: a server that closes first races the
client's next request on it, which then fails (the ALB answers 502). uvicorn's own default is 5 s."""


def parse_address(description: str, argv: list[str] | None = None) -> tuple[str, int]:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default=os.environ.get("HOST", DEFAULT_HOST), help="address to bind (env HOST)")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)), help="port to bind (env PORT)"
    )
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port must be between 1 and 65535, got {args.port}")
    return args.host, args.port


def serve(
    description: str,
    create_app: Callable[[SettingsT], Starlette],
    settings_class: type[SettingsT],
    check_bind: Callable[[str, Starlette], None] | None = None,
    address: tuple[str, int] | None = None,
) -> None:
    """Parse flags, read settings, configure JSON logs, build the app and run it; bad configuration exits 2.

    ``check_bind(host, app)`` may refuse an address for this app by raising ``ConfigurationError``.
    ``address`` (host, port) is given by a service that parses flags of its own (the bridge).
    """
    host, port = address or parse_address(description)
    try:
        settings = load_settings(settings_class)
        configure_logging(settings.log_level)
        for message in settings.start_warnings(os.environ):
            logging.getLogger("apps.service").warning(message)
        app = create_app(settings)
        if check_bind is not None:
            check_bind(host, app)
    except ConfigurationError as exc:
        print(f"{description}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.getLogger("apps.service").info("listening", extra={"url": f"http://{host}:{port}"})
    # log_config=None keeps uvicorn on our JSON handlers; access logs are replaced by metrics and tool-call lines.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACE_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
