"""Running every check in order, reporting each as it is judged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apps.cli.client import Platform
from apps.cli.verify import platform_checks
from apps.cli.verify.results import CheckResult, Report, skipped
from apps.cli.verify.run_checks import run_checks

Record = Callable[[CheckResult], None]


@dataclass(frozen=True)
class VerifyOptions:
    strict: bool = False
    kubeconfig: str | None = None
    apps_namespace: str = "agentic"
    expect_reasoner: str | None = None
    run_timeout: float = 90.0


def verify(platform: Platform, options: VerifyOptions, record: Record | None = None) -> Report:
    """Check the platform behind ``platform`` end to end; ``record`` sees each result as soon as it is known."""
    checks: list[CheckResult] = []

    def add(*results: CheckResult) -> None:
        for result in results:
            checks.append(result)
            if record is not None:
                record(result)

    add(platform_checks.check_dashboard(platform))
    api = platform_checks.check_api(platform)
    add(api.result)
    health = api.health
    if health is None:
        add(skipped("platform", "the API did not answer as it should, so the checks behind it could not run"))
    else:
        add(platform_checks.check_store(health))
        add(*platform_checks.check_servers(health))
        tools, tools_failure = platform_checks.list_tools(platform)
        if tools_failure is not None:
            add(tools_failure)
        else:
            add(*platform_checks.check_tools(health, tools or []))
        add(
            *run_checks(
                platform,
                health,
                tools,
                run_timeout=options.run_timeout,
                expect_reasoner=options.expect_reasoner,
            )
        )
        add(platform_checks.check_approvals(platform))
    if options.kubeconfig is None:
        add(skipped("cluster", "no --kubeconfig or KUBECONFIG: the NodePool, Prometheus and Grafana were not checked"))
    else:
        # Imported here: the kubernetes client takes about a second to import, which no other command should pay.
        from apps.cli.verify.cluster_checks import cluster_checks

        add(*cluster_checks(options.kubeconfig, apps_namespace=options.apps_namespace, timeout=platform.timeout))
    return Report(url=platform.url, strict=options.strict, checks=checks, unreachable=health is None)
