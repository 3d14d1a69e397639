"""``verify``: the platform end to end, one line per check; exit 0 only when every check passed."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from apps.cli.context import Context
from apps.cli.verify.report import check_line, print_report
from apps.cli.verify.results import CheckResult
from apps.cli.verify.runner import VerifyOptions, verify
from apps.cli.verify.stack_outputs import private_file, read_stack_outputs

REASONERS = ("bedrock", "openai", "offline")


def _run_timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= 900:
        raise argparse.ArgumentTypeError("must be between 1 and 900 seconds")
    return value


def add_parsers(subparsers: Any, common: list[argparse.ArgumentParser], **kwargs: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        parents=common,
        help="check a running platform end to end (exit 1 when a check fails)",
        description=(
            "Check a running platform end to end through its base URL (the stack's dashboardUrl, or the agent core "
            "under make dev): the dashboard, the API and its key, the run store, every MCP server and its tools, a "
            "read-only tool call on each server, one answer from the reasoner, the approvals route; with cluster "
            "access also Karpenter's NodePool, Prometheus's targets and Grafana's dashboard. One line per check "
            "(PASS, WARN, FAIL, SKIP) with what to do. Exit 0 when nothing failed (warnings too with --strict), "
            "1 when a check failed, 5 when the API cannot be reached or refuses the key. Nothing is approved or "
            "changed: the only runs started are verify's own, read-only."
        ),
        **kwargs,
    )
    parser.add_argument(
        "--strict", action="store_true", help="warnings fail too (a server without credentials or cluster access)"
    )
    parser.add_argument(
        "--kubeconfig",
        metavar="PATH",
        help="also check the cluster: Karpenter's NodePool, Prometheus's targets, Grafana's dashboard (env KUBECONFIG)",
    )
    parser.add_argument(
        "--namespace",
        default="agentic",
        metavar="NS",
        help="the apps' namespace, for Prometheus's scrape pools (the stack's appsNamespace; default agentic)",
    )
    parser.add_argument(
        "--expect-reasoner", choices=REASONERS, help="fail unless the agent core uses it (make verify: bedrock)"
    )
    parser.add_argument(
        "--run-timeout",
        type=_run_timeout,
        default=90.0,
        metavar="SECONDS",
        help="how long each of verify's runs may take before it is cancelled (default 90)",
    )
    parser.add_argument(
        "--stack-outputs",
        metavar="FILE",
        help="take the URL, API key and kubeconfig from 'pulumi stack output --json --show-secrets' ('-': stdin)",
    )
    parser.set_defaults(handler=verify_command, prepare=prepare_verify, stack_kubeconfig=None)


def _base_url(url: str) -> str:
    """The stack's apiUrl (or any URL ending in /api) names the same platform as its base URL."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        return urlunsplit(parts._replace(path=path[: -len("/api")]))
    return url


def prepare_verify(args: argparse.Namespace, environ: Mapping[str, str], stdin: IO[str]) -> None:
    """Before connecting: the URL and key from the stack's outputs when given, the kubeconfig from the env."""
    if args.stack_outputs:
        outputs = read_stack_outputs(args.stack_outputs, stdin)
        args.url, args.api_key = outputs.dashboard_url, outputs.api_key
        args.stack_kubeconfig = outputs.kubeconfig_text()
    if args.kubeconfig is None and args.stack_kubeconfig is None:
        args.kubeconfig = environ.get("KUBECONFIG") or None
    args.url = _base_url(args.url)


def verify_command(ctx: Context, args: argparse.Namespace) -> int:
    printed = False

    def record(result: CheckResult) -> None:
        nonlocal printed
        if not ctx.out.json_mode:
            ctx.out.say(check_line(result, ctx.out))
            printed = True

    with private_file(args.stack_kubeconfig if args.kubeconfig is None else None, "verify-kubeconfig-") as written:
        options = VerifyOptions(
            strict=args.strict,
            kubeconfig=args.kubeconfig or written,
            apps_namespace=args.namespace,
            expect_reasoner=args.expect_reasoner,
            run_timeout=args.run_timeout,
        )
        report = verify(ctx.platform, options, record)
    print_report(report, ctx.out, lines_printed=printed)
    return report.exit_code()
